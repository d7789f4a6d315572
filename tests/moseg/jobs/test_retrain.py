"""Retraining from scratch: selection of trade-off points, baselines under the same recipe, failures recorded."""

import json
import sys

import numpy as np
import pandas as pd
import pytest
import torch

import moseg.jobs.retrain as retrain_module
from moseg.jobs.retrain import (
    RetrainConfig,
    count_macs,
    load_retrain_config,
    retrain,
    selected_networks,
    spaced_indices,
    summary_table,
    supernet_vs_scratch,
    training_seconds,
)
from moseg.nn import Supernet
from moseg.space import SearchSpace, count_flops
from moseg.util.config import ConfigError

RECIPE = ["recipe.device=cpu", "recipe.train.iterations=2", "recipe.train.progress=false",
          "recipe.data.options={size: [48, 64], length: 8}", "recipe.data.crop_size=[48, 64]",
          "recipe.data.batch_size=4", "recipe.data.workers=0", "recipe.eval.calib_images=4",
          "latency.resolution=[48, 64]", "latency.min_time_s=0", "latency.threads=1", "onnx=false"]


def test_spaced_indices_pick_evenly_spaced_trade_offs_once_each():
    values = np.array([0.0, 0.1, 0.45, 0.5, 0.55, 1.0])
    assert spaced_indices(values, 3) == [0, 3, 5]
    assert spaced_indices(values, 10) == [0, 1, 2, 3, 4, 5]  # never more than there are
    assert spaced_indices(np.array([2.0, 2.0, 2.0]), 2) == [0, 1]  # ties: each index once


def test_selection_names_networks_by_increasing_latency_objective(tmp_path):
    space = SearchSpace()
    X = space.sample(4, 0)
    keys = [" ".join(str(v) for v in x) for x in X]
    pd.DataFrame({"x": keys, "f0": [0.2, 0.5, 0.3, 0.4], "f1": [9.0, 1.0, 5.0, 2.0]}).to_csv(
        tmp_path / "front.csv", index=False)
    front = selected_networks(RetrainConfig(search_dir=str(tmp_path), select="front"), space)
    assert [n.name for n in front] == ["net1", "net2", "net3", "net4"]
    assert [n.genes for n in front] == [keys[1], keys[3], keys[2], keys[0]]
    assert [n.supernet_miou for n in front] == pytest.approx([0.5, 0.6, 0.7, 0.8])
    assert front[0].arch == space.decode(X[1])
    spaced = selected_networks(RetrainConfig(search_dir=str(tmp_path), select="spaced", n_select=2), space)
    assert [n.genes for n in spaced] == [keys[1], keys[0]]


def test_selection_keeps_one_network_of_each_size(tmp_path):
    space = SearchSpace()
    x = space.sample(1, 3)[0]
    x[space.index("b0.k0.op")] = 0  # a convolution, whose dilation changes neither parameters nor MACs
    twin = x.copy()
    twin[space.index("b0.k0.dilation")] = 1 - x[space.index("b0.k0.dilation")]
    other = space.canonical(space.xl)
    assert space.decode(twin) != space.decode(x)
    keys = [" ".join(str(v) for v in v_) for v_ in (x, twin, other)]
    pd.DataFrame({"x": keys, "f0": [0.4, 0.3, 0.6], "f1": [2.0, 2.1, 1.0]}).to_csv(tmp_path / "front.csv",
                                                                                   index=False)
    chosen = selected_networks(RetrainConfig(search_dir=str(tmp_path), select="spaced", n_select=3), space)
    assert [n.genes for n in chosen] == [keys[2], keys[1]]  # of the equal-size pair, the more accurate one
    x[space.index("b0.k0.op")] = 1  # attention: kv_pool 8 and 16 cost the same at small inputs, not at 360x480
    pooled = x.copy()
    pooled[space.index("b0.k0.kv_pool")] = 1 - x[space.index("b0.k0.kv_pool")]
    keys = [" ".join(str(v) for v in v_) for v_ in (x, pooled)]
    pd.DataFrame({"x": keys, "f0": [0.4, 0.3], "f1": [2.0, 2.1]}).to_csv(tmp_path / "front.csv", index=False)
    assert len(selected_networks(RetrainConfig(search_dir=str(tmp_path), select="front"), space)) == 2


@pytest.mark.parametrize(("front", "message"), [
    ({"x": ["KEY"], "f0": [float("nan")], "f1": [1.0]}, r"front.csv, line 2: f0 = nan; expected a finite number"),
    ({"x": ["KEY", "KEY"], "f0": [0.2, 0.3], "f1": [1.0, "fast"]}, r"line 3: f1 = 'fast'; expected a finite"),
    ({"x": ["KEY"], "f0": [0.2], "f1": [float("inf")]}, r"line 2: f1 = inf; expected a finite number"),
    ({"x": ["KEY"], "miou": [0.2]}, r"front.csv has columns \['genes', 'miou'\]; expected genes, then two"),
])
def test_a_front_with_missing_or_non_finite_objectives_is_named(tmp_path, front, message):
    space = SearchSpace()
    key = " ".join(str(v) for v in space.canonical(space.xl))
    pd.DataFrame({c: [key if v == "KEY" else v for v in vs] for c, vs in front.items()}).to_csv(
        tmp_path / "front.csv", index=False)
    with pytest.raises(ValueError, match=message):
        selected_networks(RetrainConfig(search_dir=str(tmp_path)), space)


def test_kendall_tau_of_supernet_against_scratch_counts_ok_searched_networks_only():
    table = pd.DataFrame({
        "kind": ["searched"] * 4 + ["baseline"], "status": ["ok", "ok", "ok", "failed", "ok"],
        "supernet_miou": [0.3, 0.4, 0.5, 0.9, np.nan], "test_miou": [0.5, 0.6, 0.55, np.nan, 0.9]})
    assert supernet_vs_scratch(table) == {"kendall_tau": pytest.approx(1 / 3, abs=1e-4), "n": 3}
    assert supernet_vs_scratch(table.iloc[[0, 4]]) == {"kendall_tau": None, "n": 1}


def test_macs_are_counted_alike_for_searched_networks_and_baselines():
    space = SearchSpace()
    arch = space.decode(space.sample(1, 3)[0])
    net = Supernet(space, 11).extract(arch)
    assert count_macs(net, (1, 3, 96, 128)) == count_flops(arch, 11, (96, 128))
    assert net.training  # the count leaves the mode as it was
    attention = space.decode(space.xu)  # every block attention: channels_last once hid part of its products
    trained_layout = Supernet(space, 11).extract(attention).to(memory_format=torch.channels_last)
    assert count_macs(trained_layout, (1, 3, 96, 128)) == count_flops(attention, 11, (96, 128))


def test_baselines_train_under_the_recipe_and_a_failure_is_recorded_while_the_rest_go_on(tmp_path, monkeypatch):
    config = load_retrain_config(None, [f"out_dir={tmp_path}", "search_dir=null",
                                        "baselines=[lraspp_mobilenetv3_small, lraspp_mobilenetv3_large]", *RECIPE])
    measure = retrain_module.LatencySettings.measure

    def fail_for_the_small_one(self, model):
        if sum(p.numel() for p in model.parameters()) < 2e6:
            raise RuntimeError("out of memory (simulated)")
        return measure(self, model)

    monkeypatch.setattr(retrain_module.LatencySettings, "measure", fail_for_the_small_one)
    table = retrain(config, log=None)
    assert table["name"].tolist() == ["lraspp_mobilenetv3_small", "lraspp_mobilenetv3_large"]
    assert table["status"].tolist() == ["failed", "ok"]
    assert "RuntimeError: out of memory (simulated)" in table["error"][0]
    large = table.iloc[1]
    assert 0 <= large["test_miou"] <= 1 and large["latency_ms"] > 0 and large["params"] > 3e6
    trained = torch.load(tmp_path / "networks" / "lraspp_mobilenetv3_large" / "checkpoint.pt", weights_only=False)
    assert trained["baseline"] == "lraspp_mobilenetv3_large" and trained["config"]["data"]["train_split"] == "train"
    monkeypatch.undo()
    again = retrain(config, log=None)  # a failed network is not retried: delete its row to retry it
    assert again["status"].tolist() == ["failed", "ok"]


def test_a_retraining_where_every_network_fails_still_reports(tmp_path, monkeypatch):
    config = load_retrain_config(None, [f"out_dir={tmp_path}", "search_dir=null",
                                        "baselines=[lraspp_mobilenetv3_small]", *RECIPE])

    def out_of_memory(self, model):
        raise RuntimeError("out of memory (simulated)")

    monkeypatch.setattr(retrain_module.LatencySettings, "measure", out_of_memory)
    table = retrain(config, log=None)
    assert table["status"].tolist() == ["failed"]
    assert "failed: RuntimeError: out of memory (simulated)" in summary_table(table)


def test_a_bad_test_split_fails_before_any_training(tmp_path):
    config = load_retrain_config(None, [f"out_dir={tmp_path}", "search_dir=null", "test_split=tset",
                                        "baselines=[lraspp_mobilenetv3_small]", *RECIPE])
    with pytest.raises(ValueError, match="tset"):
        retrain(config, log=None)
    assert not (tmp_path / "networks").exists()


def test_training_seconds_add_up_the_runs_of_a_resumed_training(tmp_path):
    log = tmp_path / "log.csv"
    pd.DataFrame({"elapsed_s": [1.0, 2.0, 3.5, 0.5, 1.5]}).to_csv(log, index=False)  # resumed after 3.5 s
    assert training_seconds(log) == pytest.approx(5.0)
    assert training_seconds(tmp_path / "none.csv") == 0.0


@pytest.mark.parametrize("overrides, message", [
    (["search_dir=null"], "nothing to retrain"),
    (["baselines=[unet]"], "baselines = ('unet',): expected distinct names among ['lraspp_mobilenetv3_large',"),
    (["baselines=[lraspp_mobilenetv3_small, lraspp_mobilenetv3_small]"], "expected distinct names"),
    (["recipe.model.space={max_depth: 2}"], "retraining sets them per network"),
    (["recipe.model.baseline=x"], "recipe sets out_dir or model.arch / baseline / space"),
    (["recipe.optim.momentum=2"], "recipe.optim.momentum = 2.0: expected in [0, 1)"),
    (["select=all"], "select = 'all': expected one of ['front', 'spaced']"),
    (["n_select=0"], "n_select = 0: expected > 0"),
])
def test_bad_retraining_settings_are_named(overrides, message):
    with pytest.raises(ConfigError) as err:
        load_retrain_config(None, overrides)
    assert message in str(err.value)


def test_a_search_folder_without_its_supernet_checkpoint_is_named(tmp_path):
    (tmp_path / "search.yaml").write_text(f"checkpoint: {tmp_path / 'gone.pt'}\n")
    with pytest.raises(ConfigError, match="gone.pt"):
        retrain(RetrainConfig(search_dir=str(tmp_path), out_dir=str(tmp_path / "r")), log=None)


def test_a_network_cut_off_mid_training_resumes_from_its_checkpoint(tmp_path, monkeypatch):
    config = load_retrain_config(None, [f"out_dir={tmp_path}", "search_dir=null",
                                        "baselines=[lraspp_mobilenetv3_small]", *RECIPE,
                                        "recipe.train.iterations=4", "recipe.train.checkpoint_every=2",
                                        "recipe.train.log_every=1"])
    save = retrain_module.Trainer.save

    def killed_after_the_first_checkpoint(self, iteration):
        save(self, iteration)
        raise KeyboardInterrupt("simulated kill")

    monkeypatch.setattr(retrain_module.Trainer, "save", killed_after_the_first_checkpoint)
    with pytest.raises(KeyboardInterrupt):
        retrain(config, log=None)
    assert not (tmp_path / "retrained.csv").exists()
    monkeypatch.undo()
    table = retrain(config, log=None)
    assert table["status"].tolist() == ["ok"]
    folder = tmp_path / "networks" / "lraspp_mobilenetv3_small"
    assert pd.read_csv(folder / "log.csv")["iteration"].tolist() == [1, 2, 3, 4]
    assert json.loads((folder / "run.json").read_text())["resumed_from_iteration"] == 2  # not trained again


def test_retraining_on_ray_without_the_extra_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError, as where it is not installed
    with pytest.raises(ConfigError, match=r"ray = \{'workers': 2\}: running on Ray needs Ray, an optional extra"):
        load_retrain_config(None, ["search_dir=null", "baselines=[lraspp_mobilenetv3_small]", "ray={workers: 2}",
                                   "onnx=false"])
    with pytest.raises(ConfigError, match=r"ray = \{'worker': 2\}: unknown key\(s\) \['worker'\]; expected some of "
                                          r"\['address', 'cpus_per_worker'"):
        load_retrain_config(None, ["search_dir=null", "baselines=[lraspp_mobilenetv3_small]", "ray={worker: 2}",
                                   "onnx=false"])
