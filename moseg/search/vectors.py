"""Integers of a search: settings, bounds, deduplication of vectors, the user's canonical form and the NSGA-II
that searches integer vectors."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from pymoo.algorithms.moo.nsga2 import NSGA2
from pymoo.operators.crossover.sbx import SBX
from pymoo.operators.mutation.pm import PM
from pymoo.operators.repair.rounding import RoundingRepair


def check_integer(name: str, value: object, minimum: int) -> int:
    """`value` as an int, or ValueError naming `name` when it is not an integer >= minimum."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ValueError(f"{name} = {value!r}, expected an integer >= {minimum}")
    return int(value)


def check_bounds(xl: np.ndarray, xu: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """xl, xu as integer vectors of equal length with xl <= xu, or ValueError naming the first bad variable."""
    lower, upper = np.asarray(xl), np.asarray(xu)
    if lower.ndim != 1 or lower.shape != upper.shape or lower.size == 0:
        raise ValueError(f"xl and xu must be 1-d and of equal, non-zero length; got shapes {lower.shape} and "
                         f"{upper.shape}")
    for name, bound in (("xl", lower), ("xu", upper)):
        if not np.all(np.isfinite(bound.astype(float))) or np.any(bound != np.round(bound)):
            raise ValueError(f"{name} must hold integers; got {bound.tolist()}")
    lower, upper = lower.astype(np.int64), upper.astype(np.int64)
    inverted = np.flatnonzero(lower > upper)
    if inverted.size:
        j = int(inverted[0])
        raise ValueError(f"variable {j} has xl = {lower[j]} > xu = {upper[j]}")
    return lower, upper


def unique_rows(X: np.ndarray) -> np.ndarray:
    """Rows of X without repeats, first occurrence kept, order preserved."""
    if len(X) == 0:
        return X
    _, first = np.unique(X, axis=0, return_index=True)
    return X[np.sort(first)]


def integer_nsga2(pop_size: int, sampling: np.ndarray) -> NSGA2:
    """pymoo's NSGA-II for integer vectors, the one operator set of every moseg search: simulated binary
    crossover and polynomial mutation on the real line, rounded back to integers, duplicates eliminated;
    the first population is `sampling`."""
    return NSGA2(pop_size=pop_size, sampling=sampling, eliminate_duplicates=True,
                 crossover=SBX(prob=0.9, eta=15, vtype=float, repair=RoundingRepair()),
                 mutation=PM(eta=20, vtype=float, repair=RoundingRepair()))


def canonicalizer(canonicalize: Callable[[np.ndarray], np.ndarray] | None, xl: np.ndarray,
                   xu: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """The user's canonicalisation (checked for shape and bounds) or the identity."""
    if canonicalize is None:
        return lambda X: np.asarray(X, dtype=np.int64)

    def checked(X: np.ndarray) -> np.ndarray:
        result = np.asarray(canonicalize(np.asarray(X, dtype=np.int64)))
        if result.shape != np.shape(X) or result.dtype.kind not in "biuf":
            raise ValueError(f"canonicalize returned an array of shape {result.shape} and dtype {result.dtype}; "
                             f"expected integers of shape {np.shape(X)}, one canonical vector per row")
        if np.any(result != np.round(result)):
            bad = result[np.nonzero(result != np.round(result))[0][0]]
            raise ValueError(f"canonicalize returned the non-integer vector {bad.tolist()}; expected integers")
        if np.any(result < xl) or np.any(result > xu):
            bad = result[np.nonzero(np.any((result < xl) | (result > xu), axis=1))[0][0]]
            raise ValueError(f"canonicalize returned {bad.tolist()}, outside the bounds xl = {xl.tolist()}, "
                             f"xu = {xu.tolist()}")
        return result.astype(np.int64)

    return checked
