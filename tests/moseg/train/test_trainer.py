import csv
import json
import re

import pytest
import torch

from moseg.nn import Supernet
from moseg.train import Trainer, load_train_config, train
from moseg.train.checkpoint import load_checkpoint, save_checkpoint
from moseg.train.trainer import LOG_COLUMNS
from moseg.util.config import ConfigError


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def weights_of(out_dir):
    return load_checkpoint(out_dir / "checkpoint.pt")["model"]


def test_stop_and_resume_reaches_the_weights_of_an_uninterrupted_run(tiny_config, tmp_path, monkeypatch):
    config = tiny_config("data.workers=1", "train.random_archs=0", out="whole")
    train(config)
    whole = weights_of(tmp_path / "whole")

    killed = tiny_config("data.workers=1", "train.random_archs=0", out="killed")
    original_step = Trainer._optimizer_step
    calls = {"n": 0}

    def dies_at_step_five(self):
        calls["n"] += 1
        if calls["n"] == 5:  # after the checkpoint at step 3 and the log row of step 4
            raise KeyboardInterrupt
        return original_step(self)

    monkeypatch.setattr(Trainer, "_optimizer_step", dies_at_step_five)
    with pytest.raises(KeyboardInterrupt):
        train(killed)
    assert load_checkpoint(tmp_path / "killed" / "checkpoint.pt")["iteration"] == 3
    assert [r["iteration"] for r in read_csv(tmp_path / "killed" / "log.csv")] == ["1", "2", "3", "4"]
    monkeypatch.setattr(Trainer, "_optimizer_step", original_step)

    with pytest.raises(FileExistsError, match="pass --resume"):
        Trainer(killed)
    train(killed, resume=True)
    resumed = weights_of(tmp_path / "killed")
    assert whole.keys() == resumed.keys()
    for name in whole:
        assert torch.equal(whole[name], resumed[name]), name
    rows = read_csv(tmp_path / "killed" / "log.csv")
    reference = read_csv(tmp_path / "whole" / "log.csv")
    assert [r["iteration"] for r in rows] == [str(i) for i in range(1, 7)]  # no duplicated rows
    for a, b in zip(rows, reference, strict=True):
        assert a["loss"] == b["loss"] and a["lr"] == b["lr"]
    run = json.loads((tmp_path / "killed" / "run.json").read_text())
    assert run["resumed_from_iteration"] == 3 and run["seed"] == 0 and run["versions"]["torch"] == torch.__version__


def test_outputs_of_a_supernet_run(tiny_config, tmp_path):
    config = tiny_config("train.random_archs=1", "loss.class_weights=median_frequency", "loss.ohem=true")
    result = train(config)
    out = tmp_path / "run"
    assert set(result) == {"max", "min"} and all(0 <= r["miou"] <= 1 for r in result.values())
    log = read_csv(out / "log.csv")
    assert list(log[0]) == LOG_COLUMNS and len(log) == 6
    assert all(float(r["images_per_s"]) > 0 and float(r["grad_norm"]) > 0 for r in log)
    assert [r["arch"] for r in read_csv(out / "eval.csv")] == ["max", "min"]
    state = load_checkpoint(out / "checkpoint.pt")
    assert state["finished"] and state["kind"] == "supernet" and state["num_classes"] == 8
    assert state["config"]["train"]["random_archs"] == 1
    run = json.loads((out / "run.json").read_text())
    weights = run["class_weights"]
    assert len(weights) == 8 and min(weights) > 0 and weights == state["class_weights"]
    assert load_train_config(out / "config.yaml") == config  # the resolved config, complete


def test_softened_class_weights_and_the_distillation_ramp(tiny_config):
    full = Trainer(tiny_config("loss.class_weights=median_frequency"))
    root = Trainer(tiny_config("loss.class_weights=median_frequency", "loss.class_weight_power=0.5",
                               "loss.distill_alpha=0.8", "loss.distill_warmup_iters=4", out="root"))
    assert root.class_weights == pytest.approx([w ** 0.5 for w in full.class_weights])
    assert [root.distill_weight(step) for step in range(6)] == pytest.approx([0.2, 0.4, 0.6, 0.8, 0.8, 0.8])
    assert [full.distill_weight(step) for step in (0, 5)] == [1.0, 1.0]  # no ramp by default
    with pytest.raises(ConfigError, match=re.escape("loss.class_weight_power = 0.0: expected in (0, 1]")):
        tiny_config("loss.class_weight_power=0")


def test_the_cpu_camvid_config_reads_every_split_at_half_resolution(camvid_root, tmp_path):
    from moseg.jobs.pipeline import load_pipeline_config, stage_configs

    stages = stage_configs(load_pipeline_config("experiments/configs/camvid_cpu.yaml", [
        f"supernet.data.root={camvid_root}", f"retrain.recipe.data.root={camvid_root}", f"out_dir={tmp_path}"]))
    supernet, retrain = stages["supernet"], stages["retrain"]
    assert supernet.data.options == retrain.recipe["data"]["options"] == {"scale": 0.5}
    config = load_train_config(None, [
        "data.dataset=camvid", f"data.root={camvid_root}", f"out_dir={tmp_path / 'run'}", "device=cpu",
        "data.options={scale: 0.5}", "data.crop_size=[90, 120]", "data.batch_size=2", "data.workers=0",
        "train.iterations=1",
        "train.progress=false", "data.val_split=null", "train.random_archs=0"])
    trainer = Trainer(config)
    assert trainer.calibration_data[0][0].shape == (3, 180, 240)
    run = json.loads((tmp_path / "run" / "run.json").read_text())
    assert run["data_protocol"] == "CamVid-11 at 240x180 (scale 0.5 of the stored 480x360)"


def test_sandwich_archs_are_max_min_and_seeded_samples(tiny_config, tiny_space):
    trainer = Trainer(tiny_config("train.random_archs=3"))
    space = tiny_space
    archs = trainer.step_archs(4)
    assert archs[0] == space.max_arch() and archs[1] == space.min_arch() and len(archs) == 5
    assert trainer.step_archs(4) == archs and trainer.step_archs(5) != archs


def test_a_checkpoint_from_before_a_new_config_key_resumes(tiny_config, tmp_path):
    train(tiny_config("train.iterations=3"))
    path = tmp_path / "run" / "checkpoint.pt"
    state = load_checkpoint(path)
    for key in ("class_weight_power", "distill_warmup_iters"):  # keys added after such checkpoints were written
        del state["config"]["loss"][key]
    save_checkpoint(path, state)
    assert Trainer(tiny_config("train.iterations=4"), resume=True).start_step == 3


def test_resume_refuses_a_changed_recipe(tiny_config):
    train(tiny_config("train.iterations=3"))
    with pytest.raises(ConfigError, match=r"differs in \['optim.lr'\]"):
        Trainer(tiny_config("optim.lr=0.5"), resume=True)
    Trainer(tiny_config("train.iterations=4", "train.log_every=2"), resume=True)  # allowed changes


def test_a_run_folder_moved_elsewhere_resumes(tiny_config, tmp_path):
    train(tiny_config("train.iterations=3"))
    (tmp_path / "run").rename(tmp_path / "moved")
    assert Trainer(tiny_config("train.iterations=4", out="moved"), resume=True).start_step == 3


def test_a_checkpoint_beyond_the_schedule_is_refused(tiny_config):
    train(tiny_config("train.iterations=3"))
    with pytest.raises(ConfigError, match=r"it is at iteration 3, beyond train.iterations = 2; raise"):
        Trainer(tiny_config("train.iterations=2"), resume=True)


def test_a_kill_during_the_final_evaluation_is_made_good_on_resume(tiny_config, tmp_path, monkeypatch):
    original = Trainer.evaluate

    def killed_at_the_end(self, iteration):
        if iteration == 6:
            raise KeyboardInterrupt
        return original(self, iteration)

    monkeypatch.setattr(Trainer, "evaluate", killed_at_the_end)
    with pytest.raises(KeyboardInterrupt):
        train(tiny_config("train.eval_every=3"))
    assert [r["iteration"] for r in read_csv(tmp_path / "run" / "eval.csv")] == ["3", "3"]
    monkeypatch.setattr(Trainer, "evaluate", original)
    result = train(tiny_config("train.eval_every=3"), resume=True)
    assert set(result) == {"max", "min"}
    assert [r["iteration"] for r in read_csv(tmp_path / "run" / "eval.csv")] == ["3", "3", "6", "6"]
    assert train(tiny_config("train.eval_every=3"), resume=True) == {}  # nothing left to do


def test_a_diverging_loss_stops_training_with_the_iteration(tiny_config, monkeypatch):
    original = Trainer._forward_backward

    def diverges(self, images, labels, step):
        losses = original(self, images, labels, step)
        return losses * float("nan") if step >= 2 else losses

    monkeypatch.setattr(Trainer, "_forward_backward", diverges)
    with pytest.raises(ValueError, match=r"training diverged by iteration 3: the loss is \[nan"):
        train(tiny_config())


def test_standalone_training_of_one_arch_learns(tiny_config, tiny_space, tmp_path, monkeypatch):
    def no_supernet(*args, **kwargs):
        raise AssertionError("a network trained alone is built without building the supernet")

    monkeypatch.setattr(Supernet, "__init__", no_supernet)
    space = tiny_space
    arch_file = tmp_path / "arch.json"
    arch_file.write_text(json.dumps({"name": "min", "arch": space.min_arch().to_dict()}))
    result = train(tiny_config(f"model.arch={arch_file}", "train.iterations=12", "train.checkpoint_every=12",
                               "optim.lr=0.1"))
    state = load_checkpoint(tmp_path / "run" / "checkpoint.pt")
    assert state["kind"] == "standalone" and state["arch"] == space.min_arch().to_dict()
    assert not any("ops." in k for k in state["model"])  # plain layers, no supernet choice blocks
    log = read_csv(tmp_path / "run" / "log.csv")
    assert log[0]["loss_min"] == "" and float(log[-1]["loss"]) < float(log[0]["loss"])
    assert set(result) == {"model"} and result["model"]["miou"] > 0


def test_a_hand_designed_baseline_trains_with_the_same_recipe(tiny_config, tmp_path):
    result = train(tiny_config("model.baseline=lraspp_mobilenetv3_small", "train.iterations=8",
                               "train.checkpoint_every=8", "optim.lr=0.1"))
    state = load_checkpoint(tmp_path / "run" / "checkpoint.pt")
    assert state["kind"] == "standalone" and state["baseline"] == "lraspp_mobilenetv3_small"
    assert state["arch"] is None and any(k.startswith("backbone.") for k in state["model"])
    log = read_csv(tmp_path / "run" / "log.csv")
    assert float(log[-1]["loss"]) < float(log[0]["loss"]) and set(result) == {"model"}


@pytest.mark.parametrize("overrides, message", [
    (["model.baseline=unet"], "model.baseline = 'unet': expected one of ['lraspp_mobilenetv3_large',"),
    (["model.baseline=lraspp_mobilenetv3_small", "model.arch={}"], "model.arch and model.baseline"),
])
def test_bad_baseline_settings_are_named(tiny_config, overrides, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        tiny_config(*overrides)


def test_the_documented_camvid_config_trains(camvid_root, tmp_path):
    """The README's CamVid command, shrunk to two CPU steps on small crops."""
    config = load_train_config("experiments/configs/camvid_supernet.yaml", [
        f"data.root={camvid_root}", f"out_dir={tmp_path / 'camvid'}", "device=cpu", "data.crop_size=[64, 80]",
        "data.batch_size=2", "data.workers=0", "train.iterations=2", "train.progress=false", "data.val_split=null"])
    assert config.data.train_split == "search_train" and config.data.val_split is None
    train(config)
    run = json.loads((tmp_path / "camvid" / "run.json").read_text())
    assert run["num_classes"] == 11 and run["train_images"] == 266 and len(run["class_weights"]) == 11
    assert [r["iteration"] for r in read_csv(tmp_path / "camvid" / "log.csv")] == ["2"]


def test_workers_beyond_the_cores_are_lowered_with_one_note(tiny_config, capsys, monkeypatch):
    from moseg.train import trainer as trainer_module

    monkeypatch.setattr(trainer_module, "usable_cores", lambda: 1)
    trainer = Trainer(tiny_config("data.workers=3", "train.iterations=2", "data.val_split=null"))
    assert trainer.workers == 1
    trainer.run()
    out = capsys.readouterr().out
    assert out.count("data.workers = 3 lowered to 1, the cores this process may use") == 1


def test_the_first_log_row_says_what_the_run_will_cost(tiny_config, capsys):
    trainer = Trainer(tiny_config("train.iterations=3", "data.val_split=null"))
    trainer.run()
    note = [line for line in capsys.readouterr().out.splitlines() if line.startswith("note: 2 steps to go at")]
    assert len(note) == 1 and " s/step on cpu: about 0.0 h" in note[0] and "camvid_cpu.yaml" not in note[0]
    assert "use experiments/configs/camvid_cpu.yaml" in trainer._cost_note(40000, 18.0)
    assert "40000 steps to go at 18.00 s/step on cpu: about 200.0 h" in trainer._cost_note(40000, 18.0)
