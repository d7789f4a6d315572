"""Export of an extracted network for deployment runtimes (ONNX), so its latency can be measured outside
PyTorch and it can be run without moseg's supernet. Needs the `onnx` extra (onnx, onnxscript)."""

from __future__ import annotations

import copy
from pathlib import Path

import torch
from torch import nn

from moseg.supernet.network import set_final_upsample


def export_onnx(net: nn.Module, path: str | Path, input_shape: tuple[int, int, int, int], *,
                final_upsample: bool = True, opset: int = 18) -> Path:
    """Write `net` (eval mode, float32, CPU copy) to `path` as ONNX with input 'image' and output 'logits'.

    Uses torch's `torch.export`-based exporter: it handles the adaptive pooling of the attention blocks at
    any input size, which the older TorchScript exporter refuses."""
    try:
        import onnxscript  # noqa: F401  (the exporter's dependency; imported here for a clear error)
    except ImportError as err:
        raise ImportError("ONNX export needs the onnx extra: pip install 'moseg[onnx]'") from err
    model = copy.deepcopy(net).eval().float().cpu()
    set_final_upsample(model, final_upsample)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.onnx.export(model, (torch.randn(input_shape),), path, dynamo=True, opset_version=opset,
                      input_names=["image"], output_names=["logits"], verbose=False)
    return path
