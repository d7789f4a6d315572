"""The pieces of the search: design of experiments, dominance, hypervolume, the level-2 selectors."""

import numpy as np
import pytest

from moseg.search.doe import design_of_experiments, integer_lhs
from moseg.search.indicators import front_ranks, hypervolume, non_dominated, reference_point
from moseg.search.prescreen import gap_unevenness, select_hvi, select_none, select_optimistic, select_spacing


def test_integer_latin_hypercube_fills_every_stratum_of_every_variable():
    X = integer_lhs(10, np.array([0, 5]), np.array([9, 14]), np.random.default_rng(0))
    assert sorted(X[:, 0]) == list(range(10)) and sorted(X[:, 1]) == list(range(5, 15))
    doe = design_of_experiments(12, np.array([0, 0, 0]), np.array([3, 1, 7]), seed=0)
    assert doe.shape == (12, 3) and doe[0].tolist() == [0, 0, 0] and doe[1].tolist() == [3, 1, 7]
    assert np.all(doe >= 0) and np.all(doe <= [3, 1, 7])
    np.testing.assert_array_equal(doe, design_of_experiments(12, np.array([0, 0, 0]), np.array([3, 1, 7]), seed=0))


def test_dominance_ranks_and_hypervolume_by_hand():
    F = np.array([[1.0, 4.0], [2.0, 2.0], [3.0, 3.0], [4.0, 1.0], [2.0, 2.0]])
    assert non_dominated(F).tolist() == [0, 1, 3, 4]
    assert front_ranks(F).tolist() == [0, 0, 1, 0, 0]
    # boxes up to (5, 5): [1,2]x[4,5] + [2,4]x[2,5] + [4,5]x[1,5] = 1 + 6 + 4
    assert hypervolume(F, np.array([5.0, 5.0])) == pytest.approx(11.0)
    assert hypervolume(np.array([[6.0, 1.0]]), np.array([5.0, 5.0])) == 0.0
    np.testing.assert_allclose(reference_point(F), [4.3, 4.3])


FRONT = np.array([[0.0, 1.0], [1.0, 0.0]])  # (error, latency), true front: latency 0 and 1
CANDIDATES = np.array([[0.6, 0.5], [0.7, 0.9], [0.2, 0.52], [0.9, 0.1]])


def test_spacing_fills_the_largest_latency_gap_then_tops_up_by_accuracy():
    picked = select_spacing(CANDIDATES, None, FRONT, 2, np.array([2.0, 2.0]), cheap=1, accuracy=0)
    assert picked[0] in (0, 2)  # latency near 0.5 halves the only gap
    assert picked[1] == 2 if picked[0] == 0 else picked[1] == 0  # best predicted error among the rest
    assert gap_unevenness(np.array([0.0, 0.5, 1.0])) == 0.0 < gap_unevenness(np.array([0.0, 0.9, 1.0]))


def test_hvi_picks_the_largest_predicted_improvement_first():
    picked = select_hvi(CANDIDATES, None, FRONT, 2, np.array([2.0, 2.0]), cheap=1, accuracy=0)
    assert picked[0] == 2  # (0.2, 0.52) adds the most area below the front
    assert len(set(picked)) == 2


def test_optimistic_uses_the_spread_and_needs_it():
    spread = np.array([[0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [0.8, 0.0]])  # only candidate 3 is uncertain
    assert select_optimistic(CANDIDATES, spread, FRONT, 1, np.array([2.0, 2.0]), cheap=1, accuracy=0) == [3]
    with pytest.raises(ValueError, match="needs the surrogates' spread"):
        select_optimistic(CANDIDATES, None, FRONT, 1, np.array([2.0, 2.0]), cheap=1, accuracy=0)
    assert select_none(CANDIDATES, None, FRONT, 3, np.array([2.0, 2.0]), cheap=1, accuracy=0) == [0, 1, 2]


def test_every_purpose_and_objective_of_an_iteration_gets_its_own_seed():
    from moseg.search.loop import _seed

    seeds = {_seed(0, 1, "ensemble", 0), _seed(0, 1, "ensemble", 1), _seed(0, 1, "population"), _seed(0, 1, "nsga2"),
             _seed(0, 2, "ensemble", 0), _seed(1, 1, "ensemble", 0)}
    assert len(seeds) == 6
