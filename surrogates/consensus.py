"""`Consensus`: the weighted mean of several diverse models' standardised predictions.

A search fits its surrogate on the designs evaluated so far and then asks it about the region it is moving
into, where no single model family is reliably best and where cross-validation on the data at hand says little
about which will be. Averaging diverse models (a Gaussian process, a pairwise ranking network, a linear model on
one-hot genes, boosted trees) cancels much of each one's error there. Each member's predictions are standardised
by the mean and standard deviation of its predictions on the training rows, so that members whose outputs are
scores rather than values (RankNet) can be averaged too; the mean is mapped back to the unit of y.

The default members are the four that ranked the searched networks of real search archives best, for accuracy
and for latency, when fitted on the design of experiments (the shift protocol of
`benchmarks/surrogate_accuracy.py`); a random forest in place of RankNet ranked latency worse (benchmarks/RESULTS.md,
issue 18). It fits in a quarter of AdaptiveSwitching's time, but searches steered by it reached a lower
hypervolume than with AdaptiveSwitching, so it is not `run_search`'s default.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike
from sklearn.base import BaseEstimator, RegressorMixin, clone

from surrogates.base import (
    check_query,
    check_training_data,
    clone_with_seed,
    draw_seeds,
    held_out_taus,
    min_training_rows,
    named_models,
    shrunk_folds,
)
from surrogates.registry import register_surrogate

DEFAULT_MEMBERS = ("gp", "ranknet", "ridge_onehot", "xgb")
WEIGHTINGS = ("equal", "cv", "top")
MIN_HELD_OUT_ROWS = 2  # a Kendall tau compares at least two predictions


@register_surrogate("consensus")
class Consensus(RegressorMixin, BaseEstimator):
    """Mean of the members' standardised predictions, weighted, in the unit of y.

    Parameters
    ----------
    members : sequence of (name, estimator) or None
        The models to average; None: the registered surrogates named in `DEFAULT_MEMBERS`.
    weighting : {'equal', 'cv', 'top'}
        'equal': every member counts the same. 'cv': each member weighted by its mean Kendall tau on the
        held-out folds of a K-fold split (negative taus count zero). 'top': each member weighted by its Kendall
        tau on the best `top_fraction` of the rows (lowest y, the region a minimising search moves into) when
        fitted on the others.
    n_folds : int
        Folds of the 'cv' weighting (fewer on a small table).
    top_fraction : float
        Share of the rows held out by the 'top' weighting, in (0, 1).
    random_state : int, RandomState or None
        Seed of the folds and of every member (each member's `random_state` parameters get their own seed).

    Attributes
    ----------
    members_ : list of (name, fitted estimator)
    weights_ : dict of name -> weight (summing to 1)
    """

    def __init__(self, members: Sequence[tuple[str, BaseEstimator]] | None = None, weighting: str = "equal",
                 n_folds: int = 5, top_fraction: float = 0.3,
                 random_state: int | np.random.RandomState | None = None):
        self.members = members
        self.weighting = weighting
        self.n_folds = n_folds
        self.top_fraction = top_fraction
        self.random_state = random_state

    def fit(self, X: ArrayLike, y: ArrayLike) -> Consensus:
        """Fit every member on all rows, weight them, and record each one's standardisation."""
        X, y = check_training_data(self, X, y)
        if self.weighting not in WEIGHTINGS:
            raise ValueError(f"weighting = {self.weighting!r}, expected one of {list(WEIGHTINGS)}.")
        if not 0 < self.top_fraction < 1:
            raise ValueError(f"top_fraction = {self.top_fraction!r}, expected a number in (0, 1).")
        named = named_models(self.members, DEFAULT_MEMBERS, "members")
        split_seed, *seeds = draw_seeds(self.random_state, 1 + len(named))
        seeded = [(name, clone_with_seed(model, seed)) for (name, model), seed in zip(named, seeds, strict=True)]
        raw = self._raw_weights(seeded, X, y, split_seed)
        self.members_, self.weights_, self.scales_ = [], {}, []
        for name, model in seeded:
            fitted = clone(model).fit(X, y)
            inside = fitted.predict(X)
            constant = bool(np.all(inside == inside[0]))  # a constant member carries no order
            spread = 1.0 if constant else float(np.std(inside))
            self.members_.append((name, fitted))
            self.weights_[name] = 0.0 if constant else raw[name]
            self.scales_.append((float(np.mean(inside)), spread))
        total = sum(self.weights_.values())
        self.weights_ = {name: (w / total if total > 0 else 1 / len(seeded)) for name, w in self.weights_.items()}
        self.y_mean_, self.y_std_ = float(np.mean(y)), float(np.std(y))
        return self

    def predict(self, X: ArrayLike) -> np.ndarray:
        """The weighted mean of the members' standardised predictions, mapped to the unit of y."""
        X = check_query(self, X)
        combined = np.zeros(len(X))
        for (name, member), (mean, spread) in zip(self.members_, self.scales_, strict=True):
            if self.weights_[name] > 0:
                combined += self.weights_[name] * (member.predict(X) - mean) / spread
        return self.y_mean_ + self.y_std_ * combined

    def min_training_rows(self) -> int:
        """What the members need, and for a weighting by held-out Kendall tau two folds of two rows."""
        named = named_models(self.members, DEFAULT_MEMBERS, "members")
        members = max(min_training_rows(model) for _, model in named)
        return members if self.weighting == "equal" else max(members, 2 * MIN_HELD_OUT_ROWS)

    def _raw_weights(self, seeded: list[tuple[str, BaseEstimator]], X: np.ndarray, y: np.ndarray,
                     split_seed: int) -> dict[str, float]:
        """Unnormalised weight of each member: 1, or its held-out Kendall tau (at least 0)."""
        if self.weighting == "equal":
            return {name: 1.0 for name, _ in seeded}
        if self.weighting == "cv":
            folds = shrunk_folds(len(X), self.n_folds, MIN_HELD_OUT_ROWS, split_seed)
        else:
            n_top = min(len(X) - MIN_HELD_OUT_ROWS, max(MIN_HELD_OUT_ROWS, round(self.top_fraction * len(X))))
            order = np.argsort(y, kind="stable")
            folds = [(order[n_top:], order[:n_top])]
        return {name: max(0.0, float(np.mean(held_out_taus(model, X, y, folds)))) for name, model in seeded}
