import pytest
import torch

from moseg.latency import measure_latency
from moseg.nn import Supernet
from moseg.space import SearchSpace

SPACE = SearchSpace()


@pytest.fixture(scope="module")
def networks():
    torch.manual_seed(0)
    supernet = Supernet(SPACE, 11)
    return supernet.extract(SPACE.min_arch()), supernet.extract(SPACE.max_arch())


def test_protocol_is_recorded_and_truthful(networks):
    small, _ = networks
    result = measure_latency(small, (1, 3, 64, 96), device="cpu", dtype="float32", threads=1,
                             min_repeats=12, min_time_s=0.0, warmup_chunk=3)
    proto = result.protocol
    assert proto["device"] == "cpu" and proto["dtype"] == "float32" and proto["mode"] == "eager"
    assert proto["input_shape"] == [1, 3, 64, 96] and proto["batch"] == 1 and proto["threads"] == 1
    assert proto["torch"] == torch.__version__ and proto["timer"] == "perf_counter"
    assert proto["warmup_calls"] >= 6 and proto["warmup_calls"] % 3 == 0  # at least two chunks to judge stability
    assert result.repeats >= 12
    assert 0 < result.median_ms <= result.p90_ms
    assert result.to_dict()["protocol"] == proto
    assert torch.get_num_threads() >= 1  # restored after the measurement


def test_final_upsample_is_an_explicit_choice(networks, monkeypatch):
    from moseg.latency import backends

    small, _ = networks
    timed_outputs = []

    class RecordingEager(backends.Eager):
        def runner(self, model, x):
            timed_outputs.append(model(x).shape)
            return super().runner(model, x)

    monkeypatch.setitem(backends.LATENCY_BACKENDS, "eager", RecordingEager)
    kw = dict(input_shape=(1, 3, 64, 96), threads=1, min_repeats=3, min_time_s=0.0, warmup_chunk=2)
    assert measure_latency(small, **kw).protocol["final_upsample"] is True
    assert measure_latency(small, final_upsample=False, **kw).protocol["final_upsample"] is False
    assert [tuple(shape[-2:]) for shape in timed_outputs] == [(64, 96), (8, 12)]  # what was timed
    assert small.upsample_output is True  # the measured copy was changed, not the network
    with pytest.raises(ValueError, match="needs a moseg network"):
        measure_latency(torch.nn.Conv2d(3, 3, 1), final_upsample=False, **kw)


def test_min_time_extends_the_repeats(networks):
    small, _ = networks
    result = measure_latency(small, (1, 3, 32, 32), min_repeats=4, min_time_s=0.2, warmup_chunk=2)
    assert result.mean_ms * result.repeats >= 199.0


def test_larger_network_measures_slower(networks):
    small, large = networks
    kw = dict(input_shape=(1, 3, 96, 128), min_repeats=5, min_time_s=0.0, warmup_chunk=2, max_warmup_chunks=3)
    assert measure_latency(large, **kw).median_ms > 3 * measure_latency(small, **kw).median_ms


def test_model_is_not_modified(networks):
    small, _ = networks
    small.train()
    measure_latency(small, (1, 3, 32, 32), dtype="bfloat16", min_repeats=2, min_time_s=0.0, warmup_chunk=1)
    assert small.training and next(small.parameters()).dtype == torch.float32


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"device": "tpu"}, "device = 'tpu'"),
        ({"device": "cuda:0"} if not torch.cuda.is_available() else {"device": "cuda:99"}, "cuda"),
        ({"mode": "tensorrt"}, r"mode = 'tensorrt', expected one of \['eager', 'cuda_graph', 'compile'\]"),
        ({"mode": "cuda_graph", "device": "cpu"}, "'cuda_graph' needs a CUDA device"),
        ({"dtype": "int8"}, "dtype = 'int8'"),
        ({"dtype": "float16"}, "'float16' is not a CPU deployment dtype"),
        ({"input_shape": (3, 64, 64)}, r"input_shape = \(3, 64, 64\)"),
        ({"threads": 0}, "threads = 0"),
    ],
)
def test_bad_arguments_are_named(networks, kwargs, message):
    args = {"model": networks[0], "input_shape": (1, 3, 32, 32), **kwargs}
    with pytest.raises(ValueError, match=message):
        measure_latency(**args)


def test_latency_survey_csv_resumes_and_records_failures(tmp_path, monkeypatch, capsys):
    import csv
    import json

    from moseg.cli import main
    from moseg.latency import survey

    out = tmp_path / "lat.csv"
    args = ["latency", "--n", "2", "--resolution", "32x48", "--threads", "1", "--min-time", "0", "--out", str(out)]
    assert main(args) == 0
    with open(out, newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["name"] for r in rows] == ["min", "max", "sample 0", "sample 1"]
    assert all(r["status"] == "ok" and float(r["median_ms"]) > 0 for r in rows)
    protocol = json.loads(rows[0]["protocol"])
    assert protocol["input_shape"] == [1, 3, 32, 48] and protocol["final_upsample"] is True

    def fails(*a, **kw):
        raise RuntimeError("CUDA out of memory")

    monkeypatch.setattr(survey, "measure_latency", fails)
    assert main([*args[:2], "3", *args[3:]]) == 0  # one more sampled arch: only it is measured (and fails)
    with open(out, newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 5 and rows[-1]["status"] == "failed" and "out of memory" in rows[-1]["error"]
    assert main([*args[:2], "3", *args[3:]]) == 0 and len(out.read_text().splitlines()) == 6  # never retried
    assert main(["latency", "--device", "tpu", "--out", str(out)]) == 2
    assert "device = 'tpu'" in capsys.readouterr().err


def test_latency_is_timed_on_the_ray_node_that_offers_the_resource(local_ray):
    """The local instance's node offers `device_test`, standing for a target device; the protocol names the host."""
    import socket

    from moseg.latency import LatencySettings

    settings = LatencySettings(resolution=(32, 48), threads=1, min_time_s=0, ray_resources={"device_test": 1})
    result = settings.measure(torch.nn.Conv2d(3, 4, 3))
    assert result.median_ms > 0 and result.protocol["host"] == socket.gethostname()
    assert settings.describe() == "cpu of the Ray node offering device_test=1, float32 eager, batch 1 at 48x32"
    elsewhere = LatencySettings(resolution=(32, 48), min_time_s=0, ray_resources={"device_jetson": 1})
    with pytest.raises(ValueError, match=r"no node of the Ray cluster can hold a worker asking for "
                                         r"\{'device_jetson': 1\}; its nodes offer .*; start the target's node with "
                                         r"ray start"):
        elsewhere.measure(torch.nn.Conv2d(3, 4, 3))
