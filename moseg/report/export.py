"""Export of a trained network for use outside moseg: a `torch.export` program and a loader script that need
torch alone, ONNX for deployment runtimes (the `onnx` extra: onnx, onnxscript), and the plain weights with a
JSON description from which moseg rebuilds the module."""

from __future__ import annotations

import copy
import json
import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import torch
from torch import nn

from moseg.data.transforms import MEAN, STD
from moseg.nn.network import set_final_upsample
from moseg.space import Arch, SearchSpace

BUNDLE_FILES = ("weights.pt", "network.json", "model.pt2", "model.onnx", "load.py")


def _deployable(net: nn.Module, final_upsample: bool) -> nn.Module:
    model = copy.deepcopy(net).eval().float().cpu()
    set_final_upsample(model, final_upsample)
    return model


@contextmanager
def _quiet_exporter() -> Iterator[None]:
    """Silence torch's exporter chatter (its FutureWarnings and the notes on torchvision operators, which moseg
    networks never use) so that progress output stays readable; errors still raise."""
    logger = logging.getLogger("torch.onnx")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            yield
    finally:
        logger.setLevel(level)


def export_program(net: nn.Module, input_shape: tuple[int, int, int, int], *,
                   final_upsample: bool = True) -> torch.export.ExportedProgram:
    """`net` (eval mode, float32, CPU copy) traced by `torch.export` for inputs of exactly `input_shape`."""
    with _quiet_exporter():
        return torch.export.export(_deployable(net, final_upsample), (torch.randn(input_shape),))


def export_onnx(net: nn.Module | torch.export.ExportedProgram, path: str | Path,
                input_shape: tuple[int, int, int, int], *, final_upsample: bool = True, opset: int = 18) -> Path:
    """Write `net` (eval mode, float32, CPU copy; or a program from `export_program`) to `path` as ONNX with
    input 'image' and output 'logits'.

    Uses torch's `torch.export`-based exporter: it handles the adaptive pooling of the attention blocks at
    any input size, which the older TorchScript exporter refuses."""
    try:
        import onnxscript  # noqa: F401  (the exporter's dependency; imported here for a clear error)
    except ImportError as err:
        raise ImportError("ONNX export needs the onnx extra: pip install 'moseg[onnx]'") from err
    model = net if isinstance(net, torch.export.ExportedProgram) else _deployable(net, final_upsample)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with _quiet_exporter():
        torch.onnx.export(model, (torch.randn(input_shape),), path, dynamo=True, opset_version=opset,
                          input_names=["image"], output_names=["logits"], verbose=False)
    return path


def export_bundle(net: nn.Module, folder: str | Path, input_shape: tuple[int, int, int, int], description: dict,
                  *, onnx: bool = True) -> dict[str, Path]:
    """Write everything a user needs to run `net` without moseg's supernet into `folder`:

    - `weights.pt`: the state dict; `network.json`: `description` (e.g. name, arch or baseline, num_classes,
      class names, search space) plus the input shape and normalisation, enough for `load_network`;
    - `model.pt2`: a `torch.export` program for inputs of `input_shape`, loadable with torch alone;
    - `model.onnx` (if `onnx`): the same program as ONNX;
    - `load.py`: a script that loads `model.pt2` and segments an image, importing only torch, numpy and pillow.
    Returns the written paths by file name."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {name: folder / name for name in BUNDLE_FILES if onnx or name != "model.onnx"}
    torch.save(net.state_dict(), paths["weights.pt"])
    info = {**description, "input_shape": list(input_shape), "mean": MEAN.flatten().tolist(),
            "std": STD.flatten().tolist()}
    paths["network.json"].write_text(json.dumps(info, indent=2) + "\n")
    program = export_program(net, input_shape)
    with _quiet_exporter():
        torch.export.save(program, paths["model.pt2"])
    if onnx:
        export_onnx(program, paths["model.onnx"], input_shape)
    paths["load.py"].write_text(LOADER)
    return paths


def load_network(folder: str | Path) -> nn.Module:
    """The network of an `export_bundle` folder as a moseg module (eval mode) with its trained weights: an arch
    of a search space rebuilt from `network.json`, or a `moseg.nn.zoo` baseline."""
    from moseg.nn import build_network
    from moseg.nn.zoo import build_baseline

    folder = Path(folder)
    info = json.loads((folder / "network.json").read_text())
    if info.get("baseline"):
        net = build_baseline(info["baseline"], info["num_classes"])
    elif info.get("arch"):
        net = build_network(Arch.from_dict(info["arch"]), info["num_classes"], SearchSpace(**info.get("space", {})))
    else:
        raise ValueError(f"{folder / 'network.json'} names neither an arch nor a baseline")
    net.load_state_dict(torch.load(folder / "weights.pt", map_location="cpu", weights_only=True))
    return net.eval()


LOADER = '''"""Run the segmentation network exported beside this file without moseg: torch, numpy and pillow are enough.

    python load.py IMAGE            # prints the share of pixels predicted for each class

From Python: `net, info = load()`, then `labels = segment(net, info, rgb)` for an RGB uint8 array (H, W, 3).
"""

import json
import sys
from pathlib import Path

import torch
import torch.nn.functional as F

HERE = Path(__file__).resolve().parent


def load():
    """The exported program (inputs of exactly info["input_shape"]) and the network's description."""
    info = json.loads((HERE / "network.json").read_text())
    return torch.export.load(HERE / "model.pt2").module(), info


@torch.inference_mode()
def segment(net, info, rgb):
    """Class index of every pixel of `rgb`, resized to the exported input size and back."""
    x = torch.tensor(rgb).permute(2, 0, 1).float().div(255)
    x = (x - torch.tensor(info["mean"]).view(3, 1, 1)) / torch.tensor(info["std"]).view(3, 1, 1)
    height, width = info["input_shape"][2:]
    logits = net(F.interpolate(x[None], size=(height, width), mode="bilinear", align_corners=False))
    return F.interpolate(logits, size=rgb.shape[:2], mode="bilinear", align_corners=False).argmax(1)[0]


if __name__ == "__main__":
    import numpy as np
    from PIL import Image

    net, info = load()
    labels = segment(net, info, np.asarray(Image.open(sys.argv[1]).convert("RGB")))
    names = info.get("class_names") or [str(c) for c in range(info["num_classes"])]
    for c, name in enumerate(names):
        print(f"{name:>16} {100 * (labels == c).float().mean():6.2f} %")
'''
