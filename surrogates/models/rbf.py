"""Radial basis function interpolation: cubic kernel with a linear tail, the classic expensive-optimisation surrogate.

    s(z) = sum_i lambda_i * |z - z_i|^3 + c_0 + c^T z

The weights solve the augmented system [[Phi + smoothing * I, P], [P^T, 0]] [lambda; c] = [y; 0], with
Phi_ij = |z_i - z_j|^3 and P = [1, Z]. It is solved by least squares, so the model stays defined when the
linear tail has more terms than there are samples, or when samples repeat.
"""

from __future__ import annotations

import numpy as np
from scipy import linalg
from sklearn.metrics.pairwise import euclidean_distances

from surrogates.base import BlasThreads, GeneSurrogate
from surrogates.registry import register_surrogate


def _cubic_kernel(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """|a - b|^3 for every row a of A and b of B."""
    kernel = euclidean_distances(A, B, squared=True)
    kernel *= np.sqrt(kernel)
    return kernel


def _with_constant(Z: np.ndarray) -> np.ndarray:
    return np.hstack([np.ones((len(Z), 1)), Z])


@register_surrogate("rbf")
class RBFSurrogate(BlasThreads, GeneSurrogate):
    """Cubic RBF interpolant with a linear polynomial tail.

    Parameters
    ----------
    smoothing : float
        Added to the kernel diagonal; 0 interpolates the training targets exactly, larger values smooth
        noisy targets.
    encoding : {'onehot', 'ordinal'}
        Gene encoding; distances are measured between encoded vectors (one-hot: they count differing genes).
    predict_threads : int or None
        BLAS threads for `predict`, whose large kernel products scale with cores; None: all cores. `fit`
        uses one, like the other surrogates, so that many fits can run side by side.
    """

    def __init__(self, smoothing: float = 0.0, encoding: str = "onehot", predict_threads: int | None = None):
        self.smoothing = smoothing
        self.encoding = encoding
        self.predict_threads = predict_threads

    def _fit_encoded(self, Z: np.ndarray, y: np.ndarray) -> None:
        n, tail = len(Z), Z.shape[1] + 1
        P = _with_constant(Z)
        system = np.zeros((n + tail, n + tail))
        system[:n, n:] = P
        system[n:, :n] = P.T
        system[:n, :n] = _cubic_kernel(Z, Z) + self.smoothing * np.eye(n)
        solution = linalg.lstsq(system, np.concatenate([y, np.zeros(tail)]))[0]
        self.centers_ = Z
        self.kernel_weights_, self.tail_weights_ = solution[:n], solution[n:]

    def _predict_encoded(self, Z: np.ndarray) -> np.ndarray:
        return _cubic_kernel(Z, self.centers_) @ self.kernel_weights_ + _with_constant(Z) @ self.tail_weights_
