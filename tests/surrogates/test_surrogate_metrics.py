"""Metrics against scipy, scikit-learn and hand-computed references."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from sklearn.metrics import mean_absolute_percentage_error

from surrogates.metrics import kendall_tau, mape, precision_at_k, rmse, spearman


@pytest.fixture(scope="module")
def tied_pair() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    y_true = rng.integers(0, 20, size=100).astype(float)  # ties on purpose
    return y_true, y_true + rng.normal(scale=5.0, size=100)


def test_rank_correlations_match_scipy(tied_pair):
    y_true, y_pred = tied_pair
    assert kendall_tau(y_true, y_pred) == pytest.approx(stats.kendalltau(y_true, y_pred).statistic)
    assert spearman(y_true, y_pred) == pytest.approx(stats.spearmanr(y_true, y_pred).statistic)


def test_rank_correlations_by_hand():
    assert kendall_tau([1, 2, 3, 4], [1, 2, 4, 3]) == pytest.approx((5 - 1) / 6)
    assert spearman([1, 2, 3, 4], [1, 2, 4, 3]) == pytest.approx(1 - 6 * 2 / (4 * 15))
    assert kendall_tau([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)


def test_constant_predictions_carry_no_order():
    assert kendall_tau([1, 2, 3], [5, 5, 5]) == 0.0
    assert spearman([1, 2, 3], [5, 5, 5]) == 0.0


def test_errors_by_hand_and_against_scikit_learn(tied_pair):
    assert rmse([1, 2, 3], [1, 2, 5]) == pytest.approx(np.sqrt(4 / 3))
    assert mape([2, 4], [1, 5]) == pytest.approx((0.5 + 0.25) / 2)
    y_true, y_pred = tied_pair
    y_true = y_true + 1.0  # no zeros
    assert mape(y_true, y_pred) == pytest.approx(mean_absolute_percentage_error(y_true, y_pred))


def test_precision_at_k_is_the_overlap_of_the_top_k():
    y_true = [10, 9, 8, 7, 1, 0]
    y_pred = [10, 0, 9, 8, 7, 1]  # the predicted top 3 are items 0, 2, 3; the true top 3 are 0, 1, 2
    assert precision_at_k(y_true, y_pred, 3) == pytest.approx(2 / 3)
    assert precision_at_k(y_true, y_true, 2) == 1.0
    assert precision_at_k(y_true, [-v for v in y_true], 3) == 0.0


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: kendall_tau([1, 2, 3], [1, 2]), r"equal length; got shapes \(3,\) and \(2,\)"),
        (lambda: spearman([1, np.nan, 3], [1, 2, 3]), "y_true contains nan at index 1; expected finite values"),
        (lambda: rmse([1, 2], [1, np.inf]), "y_pred contains inf at index 1"),
        (lambda: mape([1, 0, 2], [1, 1, 1]), "y_true is 0 at index 1"),
        (lambda: precision_at_k([1, 2, 3], [1, 2, 3], 4), r"k must be an integer in \[1, 3\].*got 4"),
        (lambda: precision_at_k([1, 2, 3], [1, 2, 3], 0.5), r"got 0.5"),
        (lambda: kendall_tau([1], [1]), "need at least 2 values"),
    ],
)
def test_bad_inputs_are_named(call, message):
    with pytest.raises(ValueError, match=message):
        call()
