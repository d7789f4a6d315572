"""SIGKILL the pipeline inside each stage at seeded random moments and rerun it: nothing is lost and nothing is
done twice, and the outputs equal those of an uninterrupted run (the supernet's weights and evaluations, the
search archive, the retrained table; timings and measured latencies aside)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

# the demo shortened to seconds, with FLOPs as the search's latency objective so that the search is a
# deterministic function of the seed (measured latency is not)
SETTINGS = ["supernet.train.iterations=12", "supernet.train.checkpoint_every=3", "supernet.train.eval_every=6",
            "supernet.train.log_every=1", "supernet.train.progress=false", "supernet.data.batch_size=4",
            "supernet.data.options={size: [48, 64], length: 12}", "supernet.data.crop_size=[48, 64]",
            "search.budget=12", "search.n_doe=6", "search.n_infill=2", "search.surrogate=ridge_onehot",
            "search.pop_size=10", "search.n_gen=3", "search.latency.kind=flops", "retrain.n_select=2",
            "retrain.baselines=[]", "retrain.onnx=false", "retrain.latency.min_time_s=0",
            "retrain.recipe.train.iterations=6", "retrain.recipe.train.checkpoint_every=2",
            "retrain.recipe.train.progress=false", "retrain.recipe.data.batch_size=4",
            "retrain.recipe.data.options={size: [48, 64], length: 12}", "retrain.recipe.data.crop_size=[48, 64]"]
STAGE_STARTED = {"supernet": "supernet/run.json", "search": "search/search.yaml", "retrain": "retrain/retrain.yaml"}


def demo(out: Path) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-m", "moseg.cli", "demo", f"out_dir={out}", *SETTINGS], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def finish(process: subprocess.Popen) -> None:
    _, err = process.communicate(timeout=600)
    assert process.returncode == 0, err


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("whole")
    finish(demo(out))
    return out


def run_count(out: Path) -> int:
    """Runs of the pipeline started in `out` so far (one line of runs.jsonl each)."""
    path = out / "runs.jsonl"
    return len(path.read_text().splitlines()) if path.exists() else 0


def stage_seconds(out: Path) -> dict[str, float]:
    timings = pd.read_csv(out / "timings.csv")
    return timings[timings["status"] == "ran"].set_index("stage")["seconds"].to_dict()


@pytest.mark.parametrize("stage", ["supernet", "search", "retrain"])
def test_sigkill_inside_a_stage_loses_nothing_and_repeats_nothing(uninterrupted, tmp_path, stage):
    rng = np.random.default_rng(["supernet", "search", "retrain"].index(stage))
    seconds = stage_seconds(uninterrupted)[stage]
    out = tmp_path / "killed"
    for _ in range(2):  # two kills at random moments of the stage, the second after a restart
        runs = run_count(out)
        process = demo(out)
        started = out / STAGE_STARTED[stage]
        while not (started.exists() and run_count(out) > runs) and process.poll() is None:
            time.sleep(0.05)  # until this run is past its imports and inside (or past) the stage
        if process.poll() is not None:
            break  # the stage was finished by an earlier restart
        time.sleep(rng.uniform(0.1, 0.9) * seconds)
        process.send_signal(signal.SIGKILL)
        process.wait()
    finish(demo(out))
    assert_same_outputs(uninterrupted, out)


def assert_same_outputs(whole: Path, killed: Path) -> None:
    a, b = (torch.load(p / "supernet" / "checkpoint.pt", weights_only=False)["model"] for p in (whole, killed))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    for name, columns in (("supernet/eval.csv", ["iteration", "arch", "miou"]),
                          ("supernet/log.csv", ["iteration", "loss", "lr"]),
                          ("search/archive.csv", ["eval", "iteration", "genes", "objectives", "status"]),
                          ("search/stats.csv", ["iteration", "evaluations", "hypervolume"]),
                          ("retrain/retrained.csv", ["name", "genes", "supernet_miou", "val_miou", "test_miou",
                                                     "params", "macs", "status"])):
        expected, got = (pd.read_csv(p / name, dtype={"genes": str})[columns] for p in (whole, killed))
        pd.testing.assert_frame_equal(got, expected, check_exact=False, rtol=1e-6, obj=name)
    summary = json.loads((killed / "retrain" / "summary.json").read_text())
    assert summary["kendall_tau"] == json.loads((whole / "retrain" / "summary.json").read_text())["kendall_tau"]
