"""Evaluators: the search hands them whole batches and records results in the order they arrive; what it
finds does not depend on that order."""

import sys

import numpy as np
import pandas as pd
import pytest
from search_problems import FAST, XL, XU, Counted, zdt1_like

from moseg.search import run_search
from moseg.search.evaluators import EVALUATORS, Evaluator, SerialEvaluator, register_evaluator, timed_outcome


class Reversed(Evaluator):
    """Evaluates each batch last candidate first, as a pool of workers might return it; records the batches."""

    def __init__(self, make_evaluate):
        self.make_evaluate, self.batches = make_evaluate, []

    def evaluate(self, X):
        self.batches.append(len(X))
        evaluate = self.make_evaluate()
        for index in reversed(range(len(X))):
            yield timed_outcome(index, evaluate, X[index])


def archive_contents(folder):
    archive = pd.read_csv(folder / "archive.csv")
    return {(row.genes, row.objectives, row.status, row.iteration, row.slot) for row in archive.itertuples()}


def test_results_arriving_in_another_order_give_the_same_search(tmp_path):
    serial = run_search(zdt1_like, XL, XU, 40, seed=2, out_dir=tmp_path / "serial", n_doe=20, n_infill=5, **FAST)
    reversed_order = Reversed(lambda: zdt1_like)
    other = run_search(reversed_order, XL, XU, 40, seed=2, out_dir=tmp_path / "reversed", n_doe=20, n_infill=5,
                       **FAST)
    assert reversed_order.batches == [20, 5, 5, 5, 5]  # the design, then each in-fill, as whole batches
    assert archive_contents(tmp_path / "serial") == archive_contents(tmp_path / "reversed")
    assert not np.array_equal(serial.X, other.X)  # the same vectors, recorded in another order
    assert sorted(map(tuple, serial.front_X)) == sorted(map(tuple, other.front_X))


def test_a_failing_candidate_of_a_batch_is_recorded_and_the_rest_of_the_batch_goes_on(tmp_path):
    evaluate = Counted(fails=lambda x: x[0] == 0)
    result = run_search(SerialEvaluator(lambda: evaluate), XL, XU, 30, seed=0, out_dir=tmp_path, n_doe=20,
                        n_infill=5, **FAST)
    archive = pd.read_csv(tmp_path / "archive.csv")
    assert len(archive) == 30 == evaluate.calls and (archive["status"] == "failed").sum() == len(result.failed) > 0
    assert archive["error"].dropna().str.startswith("RuntimeError: cannot evaluate").all()


def test_an_archive_written_before_slots_resumes_without_re_evaluating(tmp_path):
    reference = run_search(zdt1_like, XL, XU, 40, seed=1, out_dir=tmp_path, n_doe=20, n_infill=5, **FAST)
    archive = pd.read_csv(tmp_path / "archive.csv").drop(columns="slot")
    archive.iloc[:30].to_csv(tmp_path / "archive.csv", index=False)  # an older moseg, killed at 30
    (tmp_path / "stats.csv").unlink()
    resumed = Counted()
    result = run_search(resumed, XL, XU, 40, seed=1, out_dir=tmp_path, n_doe=20, n_infill=5, **FAST)
    assert resumed.calls == 10
    np.testing.assert_array_equal(result.X, reference.X)


def test_the_serial_evaluator_is_registered_and_an_evaluator_name_is_taken_once():
    assert EVALUATORS["serial"] is SerialEvaluator
    with pytest.raises(ValueError, match="an evaluator named 'serial' is already registered"):
        register_evaluator("serial")(Reversed)


def test_an_archive_begun_before_slots_and_killed_mid_iteration_resumes_to_the_same_search(tmp_path):
    """Rows without a slot were evaluated first in their iteration, in batch order; the resumed rows get slots."""
    reference = run_search(zdt1_like, XL, XU, 40, seed=1, out_dir=tmp_path / "a", n_doe=20, n_infill=5, **FAST)
    old = pd.read_csv(tmp_path / "a" / "archive.csv").drop(columns="slot").iloc[:27]  # mid-way through iteration 2
    (tmp_path / "b").mkdir()
    old.to_csv(tmp_path / "b" / "archive.csv", index=False)
    (tmp_path / "b" / "config.json").write_text((tmp_path / "a" / "config.json").read_text())
    resumed = Counted()
    result = run_search(resumed, XL, XU, 40, seed=1, out_dir=tmp_path / "b", n_doe=20, n_infill=5, **FAST)
    assert resumed.calls == 13
    np.testing.assert_array_equal(result.X, reference.X)


def test_asking_for_ray_without_the_extra_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError, as where it is not installed
    with pytest.raises(ValueError, match=r'running on Ray needs Ray, an optional extra of moseg: pip install -e '
                                         r'"\.\[ray\]"'):
        EVALUATORS["ray"](lambda: None, workers=2)
