"""Tree ensembles on genes: gradient-boosted trees (XGBoost) and a random forest of CART trees.

Trees split on single gene values, so they need no scaling and capture interactions between genes; they
predict a constant outside the training data (they do not extrapolate).
"""

from __future__ import annotations

import numpy as np
from sklearn.ensemble import RandomForestRegressor
from xgboost import XGBRegressor

from surrogates.base import GeneSurrogate, draw_seeds
from surrogates.registry import register_surrogate


@register_surrogate("xgb")
class XGBSurrogate(GeneSurrogate):
    """Gradient-boosted regression trees (XGBoost, histogram method), shrunk and subsampled for small tables.

    Parameters
    ----------
    n_estimators, max_depth, learning_rate, subsample, colsample_bytree, min_child_weight, reg_lambda
        As in `xgboost.XGBRegressor`.
    encoding : {'ordinal', 'onehot'}
        Gene encoding.
    n_jobs : int or None
        Threads for XGBoost; None uses all cores. 1 by default: on surrogate-sized tables (up to thousands of
        rows) thread start-up and synchronisation cost more than they save.
    random_state : int, RandomState or None
        Seed of the row and column subsampling.
    """

    def __init__(self, n_estimators: int = 300, max_depth: int = 4, learning_rate: float = 0.05,
                 subsample: float = 0.8, colsample_bytree: float = 0.8, min_child_weight: float = 1.0,
                 reg_lambda: float = 1.0, encoding: str = "ordinal", n_jobs: int | None = 1,
                 random_state: int | np.random.RandomState | None = None):
        self.n_estimators = n_estimators
        self.max_depth = max_depth
        self.learning_rate = learning_rate
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.min_child_weight = min_child_weight
        self.reg_lambda = reg_lambda
        self.encoding = encoding
        self.n_jobs = n_jobs
        self.random_state = random_state

    def _fit_encoded(self, Z: np.ndarray, y: np.ndarray) -> None:
        (seed,) = draw_seeds(self.random_state, 1)
        self.model_ = XGBRegressor(
            n_estimators=self.n_estimators, max_depth=self.max_depth, learning_rate=self.learning_rate,
            subsample=self.subsample, colsample_bytree=self.colsample_bytree,
            min_child_weight=self.min_child_weight, reg_lambda=self.reg_lambda, tree_method="hist",
            n_jobs=self.n_jobs, random_state=seed,
        ).fit(Z, y)

    def _predict_encoded(self, Z: np.ndarray) -> np.ndarray:
        return self.model_.predict(Z).astype(np.float64)


@register_surrogate("random_forest")
class RandomForestSurrogate(GeneSurrogate):
    """Random forest: bootstrapped CART trees, each split drawn from a random subset of the genes.

    Parameters
    ----------
    n_estimators, max_features, min_samples_leaf
        As in `sklearn.ensemble.RandomForestRegressor`.
    encoding : {'ordinal', 'onehot'}
        Gene encoding.
    n_jobs : int or None
        Parallel jobs; None means one.
    random_state : int, RandomState or None
        Seed of the bootstrap and of the feature subsets.
    """

    def __init__(self, n_estimators: int = 100, max_features: float | str | None = 0.5, min_samples_leaf: int = 1,
                 encoding: str = "ordinal", n_jobs: int | None = None,
                 random_state: int | np.random.RandomState | None = None):
        self.n_estimators = n_estimators
        self.max_features = max_features
        self.min_samples_leaf = min_samples_leaf
        self.encoding = encoding
        self.n_jobs = n_jobs
        self.random_state = random_state

    def _fit_encoded(self, Z: np.ndarray, y: np.ndarray) -> None:
        (seed,) = draw_seeds(self.random_state, 1)
        self.model_ = RandomForestRegressor(
            n_estimators=self.n_estimators, max_features=self.max_features,
            min_samples_leaf=self.min_samples_leaf, n_jobs=self.n_jobs, random_state=seed,
        ).fit(Z, y)

    def _predict_encoded(self, Z: np.ndarray) -> np.ndarray:
        return self.model_.predict(Z)
