"""Pareto dominance and hypervolume of objective vectors (all objectives minimised)."""

from __future__ import annotations

import numpy as np
from pymoo.indicators.hv import HV
from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting


def non_dominated(F: np.ndarray) -> np.ndarray:
    """Indices of the rows of F that no other row dominates (duplicates all kept), in row order."""
    F = np.asarray(F, dtype=float)
    if len(F) == 0:
        return np.zeros(0, dtype=int)
    return np.sort(NonDominatedSorting().do(F, only_non_dominated_front=True))


def front_ranks(F: np.ndarray) -> np.ndarray:
    """Non-domination rank of each row of F (0: the non-dominated set)."""
    ranks = np.empty(len(F), dtype=int)
    for rank, front in enumerate(NonDominatedSorting().do(np.asarray(F, dtype=float))):
        ranks[front] = rank
    return ranks


def hypervolume(F: np.ndarray, ref_point: np.ndarray) -> float:
    """Hypervolume dominated by the rows of F and bounded by `ref_point`; rows not better than it add nothing."""
    F = np.asarray(F, dtype=float)
    inside = F[np.all(F < ref_point, axis=1)] if len(F) else F
    return float(HV(ref_point=np.asarray(ref_point, dtype=float))(inside)) if len(inside) else 0.0


def reference_point(F: np.ndarray, margin: float = 0.1) -> np.ndarray:
    """The worst value of each objective in F plus `margin` of its range (a fixed point for a whole run)."""
    F = np.asarray(F, dtype=float)
    low, high = F.min(axis=0), F.max(axis=0)
    return high + margin * np.where(high > low, high - low, np.maximum(np.abs(high), 1.0))
