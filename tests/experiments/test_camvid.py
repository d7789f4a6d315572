"""experiments/camvid.py and its configs: every stage's settings valid, one recipe for every retrained network."""

import importlib.util
from pathlib import Path

import pytest
import torch

from moseg.jobs.pipeline import load_pipeline_config, stage_configs

EXPERIMENTS = Path(__file__).resolve().parents[2] / "experiments"
spec = importlib.util.spec_from_file_location("camvid_experiment", EXPERIMENTS / "camvid.py")
camvid = importlib.util.module_from_spec(spec)
spec.loader.exec_module(camvid)


@pytest.mark.parametrize("name", ["camvid.yaml", "camvid_reduced.yaml"])
def test_configs_are_valid_and_share_data_splits_and_protocol(name, tmp_path):
    config = load_pipeline_config(EXPERIMENTS / "configs" / name,
                                  [f"out_dir={tmp_path}", *camvid.data_overrides("/data/camvid")])
    stages = stage_configs(config)
    supernet, search, retrain = stages["supernet"], stages["search"], stages["retrain"]
    assert supernet.data.dataset == "camvid" and supernet.data.root == "/data/camvid"
    assert (supernet.data.train_split, supernet.data.val_split) == ("search_train", "search_val")  # never test
    assert search.data_root == "/data/camvid" and search.checkpoint == str(tmp_path / "supernet" / "checkpoint.pt")
    assert retrain.recipe["data"]["root"] == "/data/camvid" and retrain.test_split == "test"
    assert retrain.baselines and retrain.latency.resolution == search.latency.resolution == (360, 480)
    assert (retrain.latency.dtype, retrain.latency.mode) == (search.latency.dtype, search.latency.mode)


def test_the_script_runs_chosen_stages_and_names_a_bad_one(tmp_path, capsys):
    assert camvid.main(["--stages", "report", f"out_dir={tmp_path}"]) == 0
    assert (tmp_path / "pipeline.yaml").exists() and (tmp_path / "timings.csv").read_text().count("report") == 1
    assert camvid.main(["--stages", "supernet,train", f"out_dir={tmp_path}"]) == 2
    assert "stages = ('supernet', 'train'): expected names among" in capsys.readouterr().err


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error on a machine without a GPU")
def test_a_latency_device_this_machine_lacks_fails_before_training(tmp_path, capsys):
    assert camvid.main([f"out_dir={tmp_path}"]) == 2  # the reduced config times networks with CUDA graphs
    assert "no CUDA GPU is available here" in capsys.readouterr().err and not (tmp_path / "supernet").exists()
