"""Ridge regression on one-hot genes: the additive baseline every other surrogate should beat."""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import Ridge

from surrogates.base import GeneSurrogate
from surrogates.registry import register_surrogate


@register_surrogate("ridge_onehot")
class RidgeSurrogate(GeneSurrogate):
    """Predict the target as a sum of one learned value per (gene, choice) plus an intercept.

    Parameters
    ----------
    alpha : float
        L2 penalty on the per-choice values; keeps the fit defined when there are fewer samples than columns.
    encoding : {'onehot', 'ordinal'}
        Gene encoding; 'ordinal' makes this a linear model in the genes themselves.
    """

    def __init__(self, alpha: float = 1.0, encoding: str = "onehot"):
        self.alpha = alpha
        self.encoding = encoding

    def _fit_encoded(self, Z: np.ndarray, y: np.ndarray) -> None:
        self.model_ = Ridge(alpha=self.alpha).fit(Z, y)

    def _predict_encoded(self, Z: np.ndarray) -> np.ndarray:
        return self.model_.predict(Z)
