"""`moseg search` end to end on the synthetic dataset: a tiny supernet, then a short search of it."""

import pandas as pd
import pytest

from moseg.cli import main
from moseg.train import train

SEARCH = ["budget=10", "n_doe=6", "n_infill=2", "surrogate=ridge_onehot", "pop_size=10", "n_gen=3",
          "device=cpu", "latency.resolution=[48, 64]"]


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    from moseg.train import load_train_config

    out = tmp_path_factory.mktemp("supernet")
    tiny = {"stem_widths": [8], "branch_widths": [[16, 24], [24, 32]], "head_widths": [16], "max_depth": 2,
            "expand_ratios": [2, 4], "heads": [1, 2], "kv_pools": [4]}
    config = load_train_config(None, [
        f"out_dir={out}", "device=cpu", f"model.space={tiny}", "data.options={size: [48, 64], length: 8}",
        "data.crop_size=[48, 64]", "data.batch_size=4", "data.workers=0", "train.iterations=2",
        "train.progress=false", "optim.warmup_iters=1", "eval.calib_images=2", "eval.calib_batch_size=2"])
    train(config)
    return out / "checkpoint.pt"


@pytest.mark.parametrize("latency", ["flops", "table"])
def test_search_runs_on_the_supernet_evaluator_and_resumes(tmp_path, checkpoint, capsys, latency):
    args = ["search", f"checkpoint={checkpoint}", f"out_dir={tmp_path}", f"latency.kind={latency}",
            "latency.threads=1", "latency.min_time_s=0", *SEARCH]
    assert main(args) == 0
    output = capsys.readouterr()
    assert "10 evaluations (0 failed)" in output.out
    assert "search: 100%" in output.err and "10/10" in output.err and "hypervolume=" in output.err  # the bar
    archive = pd.read_csv(tmp_path / "archive.csv")
    assert len(archive) == 10 and (archive["status"] == "ok").all()
    assert (tmp_path / "front.csv").exists() and (tmp_path / "search.yaml").exists()
    objective = "gmacs" if latency == "flops" else "latency_ms"  # the table sums measured parts
    assert list(pd.read_csv(tmp_path / "front.csv").columns) == ["genes", "miou_error", objective]
    if latency == "table":
        assert len(pd.read_csv(tmp_path / "latency_parts.csv")) > 0
    assert main(args) == 0  # resumed: nothing left to evaluate
    assert len(pd.read_csv(tmp_path / "archive.csv")) == 10


def test_bad_settings_are_reported_with_exit_2(tmp_path, capsys):
    assert main(["search", "prescreen=best", f"out_dir={tmp_path}"]) == 2
    assert "prescreen = 'best'" in capsys.readouterr().err
    assert main(["search", f"checkpoint={tmp_path / 'none.pt'}"]) == 2
    assert "does not exist; train a supernet first" in capsys.readouterr().err


def test_a_design_as_large_as_the_budget_is_refused_before_the_supernet_is_loaded(tmp_path, capsys, monkeypatch):
    from moseg.oneshot import candidates

    def never(*args, **kwargs):
        raise AssertionError("the supernet and its data must not be loaded for a refused search")

    monkeypatch.setattr(candidates.CandidateEvaluator, "from_checkpoint", never)
    checkpoint = tmp_path / "supernet.pt"
    checkpoint.write_bytes(b"")
    assert main(["search", f"checkpoint={checkpoint}", f"out_dir={tmp_path}", "budget=10", "n_doe=10"]) == 2
    assert "n_doe = 10 >= budget = 10: the design of experiments would spend the whole budget" in (
        capsys.readouterr().err)


@pytest.mark.parametrize(("setting", "message"), [
    ("latency.dtype=float8", "float8"), ("latency.mode=turbo", "turbo"), ("latency.device=cuda:7", "cuda")])
def test_latency_settings_are_checked_before_the_supernet_is_loaded(tmp_path, capsys, monkeypatch, setting,
                                                                    message):
    from moseg.oneshot import candidates

    def never(*args, **kwargs):
        raise AssertionError("the supernet and its data must not be loaded for a refused search")

    monkeypatch.setattr(candidates.CandidateEvaluator, "from_checkpoint", never)
    (tmp_path / "supernet.pt").write_bytes(b"")
    args = ["search", f"checkpoint={tmp_path / 'supernet.pt'}", f"out_dir={tmp_path}", "latency.kind=flops", setting]
    assert main(args) == 2
    assert message in capsys.readouterr().err


def test_a_true_evaluation_decodes_its_vector_once(tmp_path, checkpoint, monkeypatch):
    """Scoring and timing a candidate share one decoded arch and one extracted network; the arch is checked once,
    when the supernet activates it (the one more decode and encode: the supernet activating its max arch when it
    is built). FLOPs and table objectives also decode the candidates the optimiser predicts: those are not true
    evaluations, so this counts a measured objective."""
    from moseg.space import SearchSpace

    calls = {"decode": 0, "encode": 0}
    decode, encode = SearchSpace.decode, SearchSpace.encode

    def counted(name, method):
        def wrapper(self, *args, **kwargs):
            calls[name] += 1
            return method(self, *args, **kwargs)
        return wrapper

    monkeypatch.setattr(SearchSpace, "decode", counted("decode", decode))
    monkeypatch.setattr(SearchSpace, "encode", counted("encode", encode))
    assert main(["search", f"checkpoint={checkpoint}", f"out_dir={tmp_path}", "latency.kind=measured",
                 "latency.threads=1", "latency.min_time_s=0", *SEARCH]) == 0
    evaluations = len(pd.read_csv(tmp_path / "archive.csv"))
    assert calls == {"decode": evaluations + 1, "encode": evaluations + 1}


def test_a_search_on_two_ray_workers_writes_the_serial_archive(tmp_path, checkpoint, local_ray):
    """Each worker loads the checkpoint and its data once; one thread each, like the serial run here."""
    common = [f"checkpoint={checkpoint}", "latency.kind=flops", *SEARCH]
    assert main(["--threads", "1", "search", f"out_dir={tmp_path / 'serial'}", *common]) == 0
    assert main(["--threads", "1", "search", f"out_dir={tmp_path / 'ray'}", "evaluator.kind=ray",
                 "evaluator.options={workers: 2}", *common]) == 0
    contents = [set(pd.read_csv(tmp_path / name / "archive.csv")[["genes", "objectives", "iteration", "slot"]]
                    .itertuples(index=False)) for name in ("serial", "ray")]
    assert contents[0] == contents[1] and len(contents[0]) == 10


def test_a_misspelt_ray_option_is_named(tmp_path, checkpoint, capsys):
    assert main(["search", f"checkpoint={checkpoint}", f"out_dir={tmp_path}", "evaluator.kind=ray",
                 "evaluator.options={worker: 2}", *SEARCH]) == 2
    assert "evaluator 'ray' has no option(s) ['worker']; expected some of ['address'" in capsys.readouterr().err
    assert main(["search", f"checkpoint={checkpoint}", f"out_dir={tmp_path}", "latency.ray_resources={device_test: 1}",
                 *SEARCH]) == 2
    assert "latency.ray_resources = {'device_test': 1} times networks on a Ray node, which latency.kind = " \
           "'measured' does" in capsys.readouterr().err
