"""Shared problems for the surrogate tests: integer genes with known targets."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

N_GENES, N_CHOICES = 6, 5
GENE_BOUNDS = [(0, N_CHOICES - 1)] * N_GENES


@dataclass(frozen=True)
class Problem:
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray


def random_genes(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, N_CHOICES, size=(n, N_GENES))


def smooth_target(genes: np.ndarray) -> np.ndarray:
    """A smooth function of the genes scaled to [0, 1]: mostly additive, one mild interaction."""
    z = genes / (N_CHOICES - 1)
    return (np.sin(2.5 * z[:, 0]) + (z[:, 1] - 0.3) ** 2 + 0.8 * z[:, 2] - 0.6 * z[:, 3] + 0.4 * np.cos(3 * z[:, 4])
            + 0.3 * z[:, 5] + 0.3 * z[:, 0] * z[:, 2])


@pytest.fixture(scope="session")
def smooth_problem() -> Problem:
    """200 training and 500 test architectures of the smooth target."""
    X_train, X_test = random_genes(200, seed=1), random_genes(500, seed=2)
    return Problem(X_train, smooth_target(X_train), X_test, smooth_target(X_test))
