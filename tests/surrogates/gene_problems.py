"""Gene vectors around a reference architecture, for tests of predicted uncertainty."""

import numpy as np


def mutants(reference: np.ndarray, n_changed: int, n: int, rng: np.random.Generator, n_choices: int = 5) -> np.ndarray:
    """n gene vectors that differ from `reference` in exactly `n_changed` genes (genes take 0..n_choices-1)."""
    rows = np.tile(reference, (n, 1))
    for row in rows:
        genes = rng.choice(len(reference), size=n_changed, replace=False)
        row[genes] = (reference[genes] + rng.integers(1, n_choices, size=n_changed)) % n_choices
    return rows
