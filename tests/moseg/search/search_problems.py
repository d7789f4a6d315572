"""A small integer bi-objective problem with a known trade-off, and a counter of true evaluations."""

import numpy as np

N_VAR, UPPER = 5, 9
XL, XU = np.zeros(N_VAR, dtype=int), np.full(N_VAR, UPPER)
FAST = {"surrogate": "ridge_onehot", "pop_size": 20, "n_gen": 8, "log": None}


def zdt1_like(X: np.ndarray) -> np.ndarray:
    """ZDT1 on the integer grid 0..9: f1 = x0 / 9, f2 = g (1 - sqrt(f1 / g)), g = 1 + 9 mean(x1..) / 9."""
    z = np.asarray(X, dtype=float) / UPPER
    g = 1 + 9 * z[:, 1:].mean(axis=1)
    return np.column_stack([z[:, 0], g * (1 - np.sqrt(z[:, 0] / g))])


class Counted:
    """evaluate_fn that counts its calls, optionally failing for some vectors or interrupting after n calls."""

    def __init__(self, fails=None, interrupt_after=None):
        self.calls, self.fails, self.interrupt_after = 0, fails, interrupt_after

    def __call__(self, X):
        if self.interrupt_after is not None and self.calls >= self.interrupt_after:
            raise KeyboardInterrupt("simulated kill")
        self.calls += 1
        if self.fails is not None and self.fails(X[0]):
            raise RuntimeError(f"cannot evaluate {X[0].tolist()}")
        return zdt1_like(X)
