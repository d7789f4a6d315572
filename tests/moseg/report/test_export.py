"""ONNX export and ONNX Runtime latency: tested where the onnx extra is installed (CI installs it)."""

import json
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from moseg.latency import measure_onnx_latency
from moseg.nn import Supernet
from moseg.nn.zoo import build_baseline
from moseg.report.export import BUNDLE_FILES, export_bundle, export_onnx, load_network
from moseg.space import SearchSpace

ort = pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")

SMALL_OPTIONS = {"stem_widths": [8], "branch_widths": [[16], [24]], "head_widths": [16], "max_depth": 2}
SMALL = SearchSpace(**SMALL_OPTIONS)


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


def test_bundle_runs_without_moseg_and_rebuilds_in_moseg(network, tmp_path):
    arch = SMALL.encode(SMALL.max_arch())
    arch[SMALL.index("b0.k0.op")] = 1  # as the `network` fixture
    description = {"name": "net1", "kind": "searched", "arch": SMALL.decode(arch).to_dict(), "baseline": None,
                   "space": SMALL_OPTIONS, "num_classes": 5, "class_names": ["a", "b", "c", "d", "e"]}
    paths = export_bundle(network, tmp_path / "bundle", (1, 3, 72, 88), description)
    assert set(paths) == set(BUNDLE_FILES) and all(p.is_file() for p in paths.values())
    loader = paths["load.py"].read_text()
    assert "moseg" not in loader.split('"""', 2)[2]  # the script itself imports torch and pillow only
    image = tmp_path / "scene.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (60, 80, 3), dtype=np.uint8)).save(image)
    run = subprocess.run([sys.executable, str(paths["load.py"]), str(image)], capture_output=True, text=True,
                         cwd=tmp_path, timeout=120)
    assert run.returncode == 0, run.stderr
    shares = [float(line.split()[-2]) for line in run.stdout.splitlines()]
    assert len(shares) == 5 and abs(sum(shares) - 100) < 0.1
    rebuilt = load_network(tmp_path / "bundle")
    x = torch.randn(1, 3, 72, 88)
    with torch.no_grad():
        torch.testing.assert_close(rebuilt(x), network(x))
        program = torch.export.load(paths["model.pt2"]).module()
        torch.testing.assert_close(program(x), network(x), atol=1e-5, rtol=1e-4)


def test_bundle_of_a_baseline_without_onnx(tmp_path):
    net = build_baseline("lraspp_mobilenetv3_small", 3).eval()
    paths = export_bundle(net, tmp_path, (1, 3, 64, 64), {"baseline": "lraspp_mobilenetv3_small", "num_classes": 3},
                          onnx=False)
    assert "model.onnx" not in paths and not (tmp_path / "model.onnx").exists()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(load_network(tmp_path)(x), net(x))
    (tmp_path / "network.json").write_text(json.dumps({"num_classes": 3}))
    with pytest.raises(ValueError, match="names neither an arch nor a baseline"):
        load_network(tmp_path)
