"""ONNX export and ONNX Runtime latency: tested where the onnx extra is installed (CI installs it)."""

import numpy as np
import pytest
import torch

from moseg.export import export_onnx
from moseg.latency import measure_onnx_latency
from moseg.space import SearchSpace
from moseg.supernet import Supernet

ort = pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")

SMALL = SearchSpace(stem_widths=(8,), branch_widths=((16,), (24,)), head_widths=(16,), max_depth=2)


@pytest.fixture(scope="module")
def network():
    torch.manual_seed(0)
    space = SMALL
    # attention in the 1/8 branch: its adaptive pooling (8x8 keys from a 9x11 map) is the hard case to export
    x = space.encode(space.max_arch())
    x[space.index("b0.k0.op")] = 1
    return Supernet(space, 5).extract(x).eval()


@pytest.fixture(scope="module")
def onnx_path(network, tmp_path_factory):
    return export_onnx(network, tmp_path_factory.mktemp("onnx") / "net.onnx", (1, 3, 72, 88))


def test_onnx_runtime_computes_what_pytorch_computes(network, onnx_path, tmp_path):
    image = torch.randn(1, 3, 72, 88)
    path = onnx_path
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (out,) = session.run(None, {"image": image.numpy()})
    with torch.no_grad():
        expected = network(image).numpy()
    assert out.shape == (1, 5, 72, 88) and np.abs(out - expected).max() < 1e-4
    low = export_onnx(network, tmp_path / "low.onnx", (1, 3, 72, 88), final_upsample=False)
    (out,) = ort.InferenceSession(str(low), providers=["CPUExecutionProvider"]).run(None, {"image": image.numpy()})
    assert out.shape == (1, 5, 9, 11)


def test_onnx_latency_protocol(onnx_path, tmp_path):
    path = onnx_path
    result = measure_onnx_latency(path, (1, 3, 72, 88), threads=1, min_repeats=5, min_time_s=0.0,
                                  warmup_chunk=2, max_warmup_chunks=2)
    p = result.protocol
    assert result.repeats >= 5 and 0 < result.median_ms <= result.p90_ms
    assert (p["backend"], p["threads"], p["onnxruntime"]) == ("onnxruntime", 1, ort.__version__)
    assert p["providers"] == ["CPUExecutionProvider"] and p["input_shape"] == [1, 3, 72, 88]
    with pytest.raises(FileNotFoundError, match="does not exist"):
        measure_onnx_latency(tmp_path / "none.onnx", (1, 3, 72, 88))
    with pytest.raises(ValueError, match="threads = 0"):
        measure_onnx_latency(path, (1, 3, 72, 88), threads=0)
    with pytest.raises(ValueError, match="needs a moseg network"):
        export_onnx(torch.nn.Conv2d(3, 3, 1), tmp_path / "x.onnx", (1, 3, 8, 8), final_upsample=False)
