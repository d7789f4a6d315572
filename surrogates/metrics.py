"""How well a surrogate ranks and predicts: rank correlations, errors, and overlap of the top-k.

A search mostly needs the order of candidates right, so `kendall_tau`, `spearman` and `precision_at_k`
are the headline metrics; `rmse` and `mape` measure the values themselves (latency constraints need them).
Every function takes (y_true, y_pred) as 1-d arrays of equal length with finite values.
"""

from __future__ import annotations

import numbers

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats


def _paired(y_true: ArrayLike, y_pred: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Validate and return the two vectors as float arrays."""
    a, b = np.asarray(y_true, dtype=np.float64), np.asarray(y_pred, dtype=np.float64)
    if a.ndim != 1 or b.ndim != 1 or a.shape != b.shape:
        raise ValueError(f"y_true and y_pred must be 1-d of equal length; got shapes {a.shape} and {b.shape}.")
    if a.size < 2:
        raise ValueError(f"need at least 2 values to compare; got {a.size}.")
    for name, values in (("y_true", a), ("y_pred", b)):
        if not np.all(np.isfinite(values)):
            raise ValueError(f"{name} contains {values[~np.isfinite(values)][0]} at index "
                             f"{int(np.flatnonzero(~np.isfinite(values))[0])}; expected finite values.")
    return a, b


def _is_constant(values: np.ndarray) -> bool:
    return bool(np.all(values == values[0]))


def kendall_tau(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Kendall's tau-b. 0.0 when either vector is constant: a constant carries no order (scipy gives NaN)."""
    a, b = _paired(y_true, y_pred)
    return 0.0 if _is_constant(a) or _is_constant(b) else float(stats.kendalltau(a, b).statistic)


def spearman(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Spearman's rank correlation (ties get average ranks). 0.0 when either vector is constant."""
    a, b = _paired(y_true, y_pred)
    return 0.0 if _is_constant(a) or _is_constant(b) else float(stats.spearmanr(a, b).statistic)


def rmse(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Root mean squared error, in the unit of y."""
    a, b = _paired(y_true, y_pred)
    return float(np.sqrt(np.mean((a - b) ** 2)))


def mape(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Mean absolute percentage error as a fraction (0.05 means 5 %); y_true must not contain zeros."""
    a, b = _paired(y_true, y_pred)
    if np.any(a == 0):
        raise ValueError(f"mape is undefined: y_true is 0 at index {int(np.flatnonzero(a == 0)[0])}.")
    return float(np.mean(np.abs((a - b) / a)))


def precision_at_k(y_true: ArrayLike, y_pred: ArrayLike, k: int) -> float:
    """Fraction of the k largest y_true that are also among the k largest y_pred (ties broken by position).

    For a quantity to minimise (latency, error), pass both vectors negated.
    """
    a, b = _paired(y_true, y_pred)
    if not isinstance(k, numbers.Integral) or not 1 <= k <= a.size:
        raise ValueError(f"k must be an integer in [1, {a.size}] (the number of values); got {k!r}.")
    true_top = np.argsort(-a, kind="stable")[:k]
    pred_top = np.argsort(-b, kind="stable")[:k]
    return len(np.intersect1d(true_top, pred_top)) / k
