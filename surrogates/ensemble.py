"""`Ensemble`: a K-fold pool of experts whose disagreement estimates the uncertainty of a prediction."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from sklearn.base import BaseEstimator, RegressorMixin

from surrogates.base import check_query, check_training_data, clone_with_seed, draw_seeds, fit_each, shrunk_folds
from surrogates.models.neural import MLPSurrogate
from surrogates.registry import register_surrogate


@register_surrogate("ensemble")
class Ensemble(RegressorMixin, BaseEstimator):
    """K experts, expert k being a clone of `estimator` fitted on all folds but fold k.

    The prediction is the experts' mean; with `return_std=True` also their standard deviation. Experts agree
    where the training data pins the function down and diverge away from it, which makes the spread a cheap
    uncertainty for acquisition functions.

    Parameters
    ----------
    estimator : estimator or None
        The base model; None: `MLPSurrogate()` (neural experts extrapolate differently, trees would not).
    n_folds : int
        Number of folds, hence of experts (at least 2); on a table of fewer rows, one fold per row.
    random_state : int, RandomState or None
        Seed of the fold assignment and of every expert (each expert's `random_state` parameters are set to
        its own seed drawn from this one).

    Attributes
    ----------
    experts_ : list of fitted estimators
    """

    def __init__(self, estimator: BaseEstimator | None = None, n_folds: int = 5,
                 random_state: int | np.random.RandomState | None = None):
        self.estimator = estimator
        self.n_folds = n_folds
        self.random_state = random_state

    def fit(self, X: ArrayLike, y: ArrayLike) -> Ensemble:
        """Fit one expert per fold."""
        X, y = check_training_data(self, X, y)
        base = MLPSurrogate() if self.estimator is None else self.estimator
        fold_seed, *expert_seeds = draw_seeds(self.random_state, 1 + self.n_folds)
        folds = shrunk_folds(len(X), self.n_folds, 1, fold_seed)
        self.experts_ = fit_each([clone_with_seed(base, seed) for seed in expert_seeds[: len(folds)]], X, y,
                                 [train for train, _ in folds])
        return self

    def min_training_rows(self) -> int:
        """Two folds, and each expert fitted on at least the 2 rows a surrogate needs."""
        return 3

    def predict(self, X: ArrayLike, return_std: bool = False) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        """Mean prediction of the experts; with `return_std`, the tuple (mean, standard deviation)."""
        X = check_query(self, X)
        predictions = np.stack([expert.predict(X) for expert in self.experts_])
        mean = predictions.mean(axis=0)
        return (mean, predictions.std(axis=0)) if return_std else mean
