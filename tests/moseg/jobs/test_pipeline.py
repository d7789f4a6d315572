"""`moseg demo` end to end (a shortened run of the real pipeline), its resumption, and `moseg plot`."""

import json

import pandas as pd
import pytest

from moseg.cli import main
from moseg.jobs.pipeline import load_pipeline_config
from moseg.util.config import ConfigError

# the demo, shortened to seconds: tiny scenes, a few steps, a search of 7 evaluations, no ONNX
SHORT = ["supernet.train.iterations=4", "supernet.train.progress=false", "supernet.data.batch_size=4",
         "supernet.data.options={size: [48, 64], length: 12}", "supernet.data.crop_size=[48, 64]",
         "search.budget=7", "search.n_doe=4", "search.n_infill=2", "search.surrogate=ridge_onehot",
         "search.pop_size=10", "search.n_gen=3", "search.latency.min_time_s=0",
         "retrain.n_select=2", "retrain.onnx=false", "retrain.latency.min_time_s=0",
         "retrain.recipe.train.iterations=3", "retrain.recipe.train.progress=false", "retrain.recipe.data.batch_size=4",
         "retrain.recipe.data.options={size: [48, 64], length: 12}", "retrain.recipe.data.crop_size=[48, 64]"]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    assert main(["demo", f"out_dir={out}", *SHORT]) == 0
    return out


def test_the_demo_writes_the_front_the_archive_figures_and_exports(demo):
    for name in ("front.csv", "archive.csv", "pareto.png", "pareto.pdf", "hypervolume.png", "predictions.png",
                 "pipeline.yaml", "runs.jsonl", "timings.csv"):
        assert (demo / name).stat().st_size > 0, name
    assert len(pd.read_csv(demo / "archive.csv")) == 7
    retrained = pd.read_csv(demo / "retrain" / "retrained.csv", dtype={"genes": str})
    search_front = pd.read_csv(demo / "search" / "front.csv").sort_values("latency_ms")
    assert list(search_front.columns) == ["genes", "miou_error", "latency_ms"]
    n = min(2, len(search_front))  # a few steps of training may leave one network on the supernet front
    assert list(retrained["name"]) == [f"net{k}" for k in range(1, n + 1)] + ["lraspp_mobilenetv3_small"]
    assert retrained["genes"][:n].tolist() == [search_front["genes"].iloc[0], search_front["genes"].iloc[-1]][:n]
    assert pd.isna(retrained["genes"].iloc[-1])  # the baseline has no genes
    assert (retrained["status"] == "ok").all() and retrained["test_miou"].between(0, 1).all()
    assert (retrained["latency_ms"] > 0).all() and (retrained["params"] > 0).all()
    assert retrained["supernet_miou"].notna().tolist() == [True] * n + [False]
    front = pd.read_csv(demo / "front.csv")
    assert set(front["name"]) <= {"net1", "net2"} and len(front) >= 1
    for name in retrained["name"]:
        export = demo / "retrain" / "networks" / name / "export"
        assert {p.name for p in export.iterdir()} >= {"weights.pt", "network.json", "model.pt2", "load.py"}
        latency = json.loads((demo / "retrain" / "networks" / name / "latency.json").read_text())
        assert latency["protocol"]["threads"] == 1 and latency["protocol"]["input_shape"] == [1, 3, 64, 80]
    summary = json.loads((demo / "retrain" / "summary.json").read_text())
    assert summary["n"] == n and summary["data_protocol"] == "synthetic scenes-8 at 64x48"
    assert summary["latency_protocol"].endswith("float32 eager, 1 thread, batch 1 at 80x64")
    class_iou = json.loads(retrained["test_class_iou"].iloc[0])
    assert list(class_iou)[:2] == ["sky", "building"] and 0 <= class_iou["sky"] <= 1
    timings = pd.read_csv(demo / "timings.csv")
    assert timings["stage"].tolist()[:4] == ["supernet", "search", "retrain", "report"]
    assert (timings["status"][:4] == "ran").all()


def test_a_rerun_skips_what_is_done_and_a_lost_row_resumes_from_its_checkpoint(demo, capsys):
    retrained_csv = demo / "retrain" / "retrained.csv"
    table = pd.read_csv(retrained_csv, dtype={"genes": str})
    table.iloc[:-1].to_csv(retrained_csv, index=False)  # as if killed after training the baseline, before its row
    baseline_log = demo / "retrain" / "networks" / "lraspp_mobilenetv3_small" / "log.csv"
    steps_before = len(pd.read_csv(baseline_log))
    assert main(["demo", f"out_dir={demo}", *SHORT]) == 0
    out = capsys.readouterr().out
    assert "net1: done before, skipped" in out and "lraspp_mobilenetv3_small (baseline" in out
    assert "lraspp_mobilenetv3_small: done before" not in out
    timings = pd.read_csv(demo / "timings.csv").tail(4)
    assert timings["status"].tolist() == ["skipped", "skipped", "ran", "ran"]
    again = pd.read_csv(retrained_csv, dtype={"genes": str})
    assert len(again) == len(table) and again.iloc[-1]["test_miou"] == pytest.approx(table.iloc[-1]["test_miou"])
    assert len(pd.read_csv(baseline_log)) == steps_before  # nothing trained again


def test_retraining_refuses_a_folder_whose_names_mean_other_archs(demo, capsys):
    retrained_csv = demo / "retrain" / "retrained.csv"
    table = pd.read_csv(retrained_csv, dtype={"genes": str})
    changed = table.copy()
    changed.loc[0, "genes"] = "9 9 9"
    changed.to_csv(retrained_csv, index=False)
    try:
        assert main(["demo", f"out_dir={demo}", *SHORT]) == 2
        assert "holds net1 = '9 9 9'" in capsys.readouterr().err
    finally:
        table.to_csv(retrained_csv, index=False)


def test_a_finished_stage_is_not_skipped_under_changed_settings(demo, capsys):
    assert main(["demo", f"out_dir={demo}", *SHORT, "supernet.optim.lr=0.5"]) == 2
    assert "the config differs in ['optim.lr']" in capsys.readouterr().err


def test_the_demo_is_a_pipeline_config_like_any_other(demo, capsys):
    """`moseg pipeline --config demo.yaml` is the demo: on the demo's folder it finds every stage done."""
    from moseg.jobs.demo import DEMO_CONFIG

    before = (demo / "retrain" / "retrained.csv").read_text()
    assert main(["pipeline", "--config", str(DEMO_CONFIG), f"out_dir={demo}", *SHORT]) == 0
    out = capsys.readouterr().out
    assert "Kendall tau, supernet vs from-scratch test mIoU" in out and f"Outputs in {demo}" in out
    assert (demo / "retrain" / "retrained.csv").read_text() == before


def test_retraining_on_two_ray_workers_gives_the_serial_table(demo, tmp_path, local_ray):
    """Each network trains as a Ray task (one thread, like the serial run here); latency is timed afterwards here."""
    from dataclasses import replace

    import torch

    from moseg.jobs.demo import DEMO_CONFIG
    from moseg.jobs.pipeline import stage_configs
    from moseg.jobs.retrain import retrain

    config = stage_configs(load_pipeline_config(DEMO_CONFIG, [f"out_dir={demo}", *SHORT]))["retrain"]
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        serial = retrain(replace(config, out_dir=str(tmp_path / "serial")), log=None)
        parallel = retrain(replace(config, out_dir=str(tmp_path / "ray"), ray={"workers": 2}), log=None)
    finally:
        torch.set_num_threads(threads)
    same = ["name", "kind", "genes", "supernet_miou", "val_miou", "test_miou", "params", "macs", "status",
            "test_class_iou"]
    pd.testing.assert_frame_equal(parallel[same], serial[same])
    assert (parallel["status"] == "ok").all() and (parallel["latency_ms"] > 0).all() and len(parallel) >= 2
    assert (tmp_path / "ray" / "networks" / "net1" / "latency.json").is_file()


def test_plot_command_draws_from_the_csv_outputs(demo, tmp_path, capsys):
    retrained = demo / "retrain" / "retrained.csv"
    assert main(["plot", "pareto", str(retrained), "--out", str(tmp_path / "p")]) == 0
    two = pd.read_csv(retrained, dtype={"genes": str}).head(1)  # a short demo may leave a single searched network
    two = pd.concat([two, two.assign(name="net2", supernet_miou=two["supernet_miou"] / 2, test_miou=0.01)])
    two.to_csv(tmp_path / "two.csv", index=False)
    assert main(["plot", "scratch", str(tmp_path / "two.csv"), "--out", str(tmp_path / "s")]) == 0
    assert main(["plot", "fronts", f"demo={demo / 'search' / 'front.csv'}", str(demo / "search" / "front.csv"),
                 "--out", str(tmp_path / "f")]) == 0
    assert main(["plot", "hypervolume", str(demo / "archive.csv"), "--out", str(tmp_path / "h")]) == 0
    assert main(["plot", "predictions", str(demo / "search" / "predictions.csv"), "--out", str(tmp_path / "q")]) == 0
    assert all((tmp_path / f"{stem}.{suffix}").stat().st_size for stem in "psfhq" for suffix in ("png", "pdf"))
    assert main(["plot", "pareto", str(retrained), str(retrained), "--out", str(tmp_path / "x")]) == 2
    front = str(demo / "search" / "front.csv")
    assert main(["plot", "fronts", front, front, "--out", str(tmp_path / "x")]) == 2
    assert "label 'search' names both" in capsys.readouterr().err
    assert main(["plot", "pareto", str(tmp_path / "none.csv"), "--out", str(tmp_path / "x")]) == 2
    assert "none.csv" in capsys.readouterr().err
    search_archive = str(demo / "search" / "archive.csv")  # its own reference point, as the search printed
    assert main(["plot", "hypervolume", search_archive, "--out", str(tmp_path / "own")]) == 0
    assert main(["plot", "hypervolume", search_archive, "--ref-point", "1", "1e9", "--out", str(tmp_path / "r")]) == 0
    assert main(["plot", "hypervolume", search_archive, "--ref-point", "1", "--out", str(tmp_path / "x")]) == 2
    assert "ref_point [1.0] has 1 values; expected 2" in capsys.readouterr().err
    assert main(["plot", "pareto", str(retrained), "--ref-point", "1", "2", "--out", str(tmp_path / "x")]) == 2
    assert "--ref-point is for fronts and hypervolume" in capsys.readouterr().err


@pytest.mark.parametrize("overrides, message", [
    (["search.out_dir=elsewhere"], "search.out_dir is set by the pipeline"),
    (["supernet.model.baseline=lraspp_mobilenetv3_small"], "the supernet stage trains a supernet"),
    (["retrain.baselines=[unet]"], "retrain.baselines = ('unet',): expected distinct names among"),
    (["retrain.recipe.optim.lr=-1"], "recipe.optim.lr = -1.0: expected > 0"),
    (["retrain.recipe.out_dir=x"], "recipe sets out_dir"),
    (["search.budget=0"], "search.budget = 0: expected > 0"),
    (["stages=[search, train]"], "stages = ('search', 'train'): expected names among"),
])
def test_bad_pipeline_settings_fail_before_any_work_and_name_the_key(overrides, message, tmp_path, capsys):
    from moseg.jobs.demo import DEMO_CONFIG

    with pytest.raises(ConfigError) as err:
        load_pipeline_config(DEMO_CONFIG, [f"out_dir={tmp_path}", *overrides])
    assert message in str(err.value)
    assert main(["demo", f"out_dir={tmp_path}", *overrides]) == 2
    assert message in capsys.readouterr().err and not (tmp_path / "supernet").exists()
    assert main(["pipeline", "--config", str(DEMO_CONFIG), f"out_dir={tmp_path}", *overrides]) == 2
    error = capsys.readouterr().err
    assert error.startswith("moseg pipeline: ") and message in error and not (tmp_path / "supernet").exists()
