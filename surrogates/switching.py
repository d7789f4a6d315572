"""`AdaptiveSwitching`: choose the surrogate family by cross-validated ranking quality, then refit it.

No surrogate family wins on every search space or sample size, so the choice is made on the data at hand:
each candidate is scored by Kendall's tau on the held-out fold of a K-fold split, and the candidate with the
best mean minus standard deviation over the folds (good and reliably so) is refitted on all the data.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from sklearn.base import BaseEstimator, RegressorMixin, clone

from surrogates.base import (
    check_query,
    check_training_data,
    clone_with_seed,
    draw_seeds,
    held_out_taus,
    named_models,
    shrunk_folds,
)
from surrogates.registry import register_surrogate

MIN_HELD_OUT_ROWS = 2  # a Kendall tau compares at least two predictions
DEFAULT_CANDIDATES = ("gp", "mlp", "random_forest", "ranknet", "rbf", "ridge_onehot", "xgb")


@register_surrogate("adaptive_switching")
class AdaptiveSwitching(RegressorMixin, BaseEstimator):
    """Pick among candidate surrogates by K-fold Kendall tau (mean minus std), refit the winner on all data.

    Parameters
    ----------
    candidates : sequence of (name, estimator) or None
        The models to choose from; None: the registered surrogates named in `DEFAULT_CANDIDATES`.
    n_folds : int
        Folds of the cross-validation (at least 2); fewer on a small table, so that every held-out fold has at
        least the 2 rows a Kendall tau needs (4 rows at the least).
    random_state : int, RandomState or None
        Seed of the folds and of every candidate (each candidate's `random_state` parameters are set to a
        seed drawn from this one, the same in every fold and in the final refit).

    Attributes
    ----------
    cv_scores_ : pandas.DataFrame
        One row per candidate, best first: the Kendall tau of each fold, their mean and std, and the
        selection score mean - std.
    n_folds_ : int
        Folds actually used: `n_folds`, or fewer on a small table.
    chosen_ : str
        Name of the chosen candidate.
    selection_reason_ : str
        The choice in words, with the runner-up.
    best_estimator_ : estimator
        The chosen candidate, refitted on all the data; `predict` uses it.
    """

    def __init__(self, candidates: Sequence[tuple[str, BaseEstimator]] | None = None, n_folds: int = 5,
                 random_state: int | np.random.RandomState | None = None):
        self.candidates = candidates
        self.n_folds = n_folds
        self.random_state = random_state

    def fit(self, X: ArrayLike, y: ArrayLike) -> AdaptiveSwitching:
        """Cross-validate every candidate, record the scores, refit the best on all of X, y."""
        X, y = check_training_data(self, X, y)
        candidates = named_models(self.candidates, DEFAULT_CANDIDATES, "candidates")
        fold_seed, *seeds = draw_seeds(self.random_state, 1 + len(candidates))
        seeded = {name: clone_with_seed(model, seed) for (name, model), seed in zip(candidates, seeds, strict=True)}
        folds = shrunk_folds(len(X), self.n_folds, MIN_HELD_OUT_ROWS, fold_seed)
        self.n_folds_ = len(folds)
        fold_scores = {name: held_out_taus(model, X, y, folds) for name, model in seeded.items()}
        table = pd.DataFrame.from_dict(fold_scores, orient="index",
                                       columns=[f"fold_{k}" for k in range(1, self.n_folds_ + 1)])
        table["mean"], table["std"] = table.mean(axis=1), table.std(axis=1, ddof=0)
        table["selection_score"] = table["mean"] - table["std"]
        self.cv_scores_ = table.sort_values("selection_score", ascending=False, kind="stable")
        self.chosen_ = str(self.cv_scores_.index[0])
        self.selection_reason_ = self._describe_choice()
        self.best_estimator_ = clone(seeded[self.chosen_]).fit(X, y)
        return self

    def min_training_rows(self) -> int:
        """Two held-out folds of two rows each."""
        return 2 * MIN_HELD_OUT_ROWS

    def predict(self, X: ArrayLike) -> np.ndarray:
        """Predictions of the chosen, refitted candidate."""
        X = check_query(self, X)
        return self.best_estimator_.predict(X)

    def _describe_choice(self) -> str:
        def summary(name: str) -> str:
            row = self.cv_scores_.loc[name]
            return (f"{name} (Kendall tau {row['mean']:.3f} +- {row['std']:.3f} over {self.n_folds_} folds, "
                    f"mean - std {row['selection_score']:.3f})")

        names = list(self.cv_scores_.index)
        runner_up = f"; runner-up {summary(names[1])}" if len(names) > 1 else ""
        return f"chose {summary(names[0])}, best of {len(names)} candidates{runner_up}"
