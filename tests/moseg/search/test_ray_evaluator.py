"""The `ray` evaluator on a local Ray instance started by the tests (CPU resources only): the same archive as a
serial search, a killed worker's candidate retried, failures recorded, a killed driver resumed with nothing lost and
nothing evaluated twice."""

from __future__ import annotations

import functools
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import search_problems
from search_problems import FAST, XL, XU, zdt1_like

from moseg.search import run_search
from moseg.search.evaluators import EVALUATORS, SerialEvaluator
from moseg.search.ray_evaluator import RayEvaluator


@pytest.fixture(autouse=True)
def helpers_travel(local_ray):
    """The local Ray instance; the helpers of this file travel to its workers by value."""
    for module in (search_problems, sys.modules[__name__]):
        local_ray.cloudpickle.register_pickle_by_value(module)


def evaluation(marker: str | None = None, die_on: tuple | None = None, always: bool = False,
               fail_on: tuple | None = None):
    """zdt1_like, except that the worker process exits on the vector `die_on` (the first time only, recorded by the
    file `marker`, unless `always`), and that the vector `fail_on` raises."""

    def evaluate(X: np.ndarray) -> np.ndarray:
        x = tuple(int(v) for v in X[0])
        time.sleep(0.03 * (sum(x) % 3))  # results arrive out of batch order
        if x == die_on and (always or not os.path.exists(marker)):
            Path(marker).touch()
            os._exit(1)  # the worker dies mid-evaluation, as when its node is lost
        if x == fail_on:
            raise ValueError(f"cannot evaluate {list(x)}")
        return zdt1_like(X)

    return evaluate


def archive_contents(folder: Path) -> set:
    archive = pd.read_csv(folder / "archive.csv", keep_default_na=False)
    return set(archive[["genes", "objectives", "status", "error", "iteration", "slot"]].itertuples(index=False))


def search(evaluator, folder: Path, budget: int = 24):
    return run_search(evaluator, XL, XU, budget, seed=2, out_dir=folder, n_doe=10, n_infill=4, **FAST)


def test_two_ray_workers_give_the_serial_archive(tmp_path):
    make = functools.partial(evaluation, fail_on=(9, 9, 9, 9, 9))  # the design's upper bound fails in both
    search(SerialEvaluator(make), tmp_path / "serial")
    evaluator = RayEvaluator(make, workers=2)
    try:
        search(evaluator, tmp_path / "ray")
    finally:
        evaluator.close()
    contents = archive_contents(tmp_path / "ray")
    assert contents == archive_contents(tmp_path / "serial") and len(contents) == 24
    failed = [row for row in contents if row.status == "failed"]
    assert [row.error for row in failed] == ["ValueError: cannot evaluate [9, 9, 9, 9, 9]"]


def test_a_worker_killed_mid_evaluation_is_replaced_and_its_candidate_retried(tmp_path):
    marker = str(tmp_path / "died_once")
    evaluator = RayEvaluator(functools.partial(evaluation, marker, die_on=(0, 0, 0, 0, 0)), workers=2)
    try:
        result = search(evaluator, tmp_path / "run", budget=14)
    finally:
        evaluator.close()
    assert os.path.exists(marker) and not result.failed and len(result.X) == 14
    assert [0, 0, 0, 0, 0] in result.X.tolist()  # evaluated by the replacement


def test_a_worker_that_dies_on_every_attempt_is_recorded_failed_and_the_search_goes_on(tmp_path):
    marker = str(tmp_path / "died")
    evaluator = RayEvaluator(functools.partial(evaluation, marker, die_on=(0, 0, 0, 0, 0), always=True), workers=2)
    try:
        result = search(evaluator, tmp_path / "run", budget=14)
    finally:
        evaluator.close()
    assert len(result.failed) == 1 and result.failed[0]["genes"] == "0 0 0 0 0"
    error = result.failed[0]["error"]
    assert re.fullmatch(r"WorkerDied: the Ray worker evaluating it died 2 times \(\w+Error\)", error)
    assert len(result.X) == 13


def failing_factory():
    raise OSError("checkpoint.pt is not readable on this node")


def test_a_worker_that_cannot_build_the_evaluation_stops_the_search_with_its_error(tmp_path):
    evaluator = RayEvaluator(failing_factory, workers=1)
    try:
        with pytest.raises(RuntimeError, match="a Ray worker could not build the evaluation: OSError: checkpoint.pt "
                                               "is not readable on this node"):
            search(evaluator, tmp_path / "run")
    finally:
        evaluator.close()


@pytest.mark.parametrize(("options", "message"), [
    ({"workers": 3}, r"workers = 3 asking for \{'CPU': 1.0\} each need \{'CPU': 3.0\} at once; the Ray cluster has "
                     r"\{'CPU': 2.0\}"),
    ({"gpus_per_worker": 1}, r"no node of the Ray cluster can hold a worker asking for \{'CPU': 1.0, 'GPU': 1\}"),
    ({"resources": {"device_jetson": 1}}, r"asking for \{'CPU': 1.0, 'device_jetson': 1\}; its nodes offer"),
])
def test_workers_the_cluster_cannot_hold_are_refused_rather_than_waited_for(tmp_path, options, message):
    evaluator = RayEvaluator(lambda: zdt1_like, **options)
    try:
        with pytest.raises(ValueError, match=message):
            search(evaluator, tmp_path / "run")
    finally:
        evaluator.close()


@pytest.mark.parametrize(("options", "message"), [
    ({"workers": 0}, r"workers = 0, expected an integer >= 1"),
    ({"cpus_per_worker": -1}, r"cpus_per_worker = -1, expected a number >= 0"),
    ({"resources": {"device_jetson": 0}}, r"resources = \{'device_jetson': 0\}, expected a mapping"),
    ({"address": ""}, r"address = '', expected None"),
    ({"retries": -1}, r"retries = -1, expected an integer >= 0"),
])
def test_bad_options_are_named_before_any_worker_starts(options, message):
    with pytest.raises(ValueError, match=message):
        EVALUATORS["ray"](zdt1_like, **options)


DRIVER = """
import sys, time
sys.path.insert(0, {tests!r})
import ray
from search_problems import FAST, XL, XU, zdt1_like
from moseg.search import run_search
from moseg.search.ray_evaluator import RayEvaluator

def logged(X):
    time.sleep(0.2)
    with open({log!r}, "a") as f:
        f.write(" ".join(str(int(v)) for v in X[0]) + "\\n")
    return zdt1_like(X)

ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
import search_problems
ray.cloudpickle.register_pickle_by_value(search_problems)
evaluator = RayEvaluator(lambda: logged, workers=2)
run_search(evaluator, XL, XU, 24, seed=2, out_dir={out!r}, n_doe=10, n_infill=4, **FAST)
evaluator.close()
"""


def test_a_driver_killed_mid_batch_resumes_with_nothing_lost_and_nothing_evaluated_twice(tmp_path):
    log, out = tmp_path / "evaluated.txt", tmp_path / "run"
    script = tmp_path / "driver.py"
    script.write_text(textwrap.dedent(DRIVER.format(tests=str(Path(__file__).parent), log=str(log), out=str(out))))
    driver = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              start_new_session=True)
    archive = out / "archive.csv"
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and driver.poll() is None and (
            not archive.exists() or len(archive.read_text().splitlines()) < 1 + 12):
        time.sleep(0.05)
    assert driver.poll() is None, driver.stderr.read().decode()[-2000:]
    os.killpg(driver.pid, signal.SIGKILL)  # the driver and the Ray instance it started
    driver.wait()
    kept = pd.read_csv(archive)["genes"].tolist()
    assert 12 <= len(kept) < 24
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    final = pd.read_csv(archive)
    assert len(final) == 24 and final["genes"].is_unique  # nothing lost
    assert final["genes"].tolist()[:len(kept)] == kept  # the rows written before the kill are kept as they were
    evaluated = log.read_text().split("\n")[:-1]
    assert all(evaluated.count(key) == 1 for key in kept)  # no kept row evaluated again
    serial = tmp_path / "serial"
    search(SerialEvaluator(lambda: zdt1_like), serial)
    contents = {(r.genes, r.objectives, r.iteration) for r in final.itertuples()}
    assert contents == {(r.genes, r.objectives, r.iteration) for r in pd.read_csv(serial / "archive.csv").itertuples()}
