"""Random search and NSGA-II on true evaluations: same budget accounting, outputs and resume as run_search."""

import numpy as np
import pandas as pd
import pytest
from search_problems import XL, XU, Counted, zdt1_like

from moseg.search import nsga2_search, random_search


@pytest.mark.parametrize(("search", "kwargs"), [(random_search, {}), (nsga2_search, {"pop_size": 10})])
def test_spends_exactly_the_budget_and_resumes_without_re_evaluating(tmp_path, search, kwargs):
    reference = search(zdt1_like, XL, XU, 45, seed=0, out_dir=tmp_path / "a", n_doe=20, **kwargs)
    assert len(reference.X) == 45 and len({tuple(x) for x in reference.X}) == 45
    np.testing.assert_array_equal(reference.X[:2], [XL, XU])  # the design of experiments comes first
    with pytest.raises(KeyboardInterrupt):
        search(Counted(interrupt_after=31), XL, XU, 45, seed=0, out_dir=tmp_path / "b", n_doe=20, **kwargs)
    resumed = Counted()
    result = search(resumed, XL, XU, 45, seed=0, out_dir=tmp_path / "b", n_doe=20, **kwargs)
    assert resumed.calls == 14
    np.testing.assert_array_equal(result.X, reference.X)
    assert {p.name for p in (tmp_path / "b").iterdir()} >= {"archive.csv", "front.csv", "config.json"}


def test_nsga2_records_failures_and_goes_on(tmp_path):
    evaluate = Counted(fails=lambda x: x[1] == 9)
    result = nsga2_search(evaluate, XL, XU, 40, seed=0, out_dir=tmp_path, n_doe=20, pop_size=10)
    archive = pd.read_csv(tmp_path / "archive.csv")
    assert len(archive) == 40 == evaluate.calls and len(result.failed) == (archive["status"] == "failed").sum() > 0


def test_a_small_space_ends_when_exhausted(tmp_path):
    result = random_search(zdt1_like, [0, 0], [2, 2], 50, seed=0, out_dir=tmp_path, n_doe=5)
    assert len(result.X) == 9  # every vector of the 3 x 3 grid, once


def test_bad_settings_are_named(tmp_path):
    with pytest.raises(ValueError, match="pop_size = 0, expected an integer >= 1"):
        nsga2_search(zdt1_like, XL, XU, 40, seed=0, out_dir=tmp_path, pop_size=0)
