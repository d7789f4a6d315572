"""Design of experiments for integer problems: a Latin hypercube on the integers plus both bound vectors."""

from __future__ import annotations

import numpy as np


def integer_lhs(n: int, xl: np.ndarray, xu: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """n integer vectors whose every variable is spread over its range in n equal strata (Latin hypercube)."""
    strata = np.stack([rng.permutation(n) for _ in range(len(xl))], axis=1)
    unit = (strata + rng.random((n, len(xl)))) / n
    return np.minimum(xl + np.floor(unit * (xu - xl + 1)).astype(np.int64), xu)


def design_of_experiments(n: int, xl: np.ndarray, xu: np.ndarray, seed: int) -> np.ndarray:
    """The lower and upper bound vectors, then an integer Latin hypercube of n - 2 points (duplicates are
    removed later, when candidates are canonicalised)."""
    rng = np.random.default_rng([seed, 0])
    return np.vstack([xl, xu, integer_lhs(max(n - 2, 0), xl, xu, rng)])
