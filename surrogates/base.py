"""What every surrogate shares: input checks, seeding, chunked prediction, and the base of the single models.

The checks are scikit-learn's own (`validate_data`, `check_is_fitted`), so errors read the same as in
scikit-learn: "Input X contains NaN.", "X has 5 features, but MLPSurrogate is expecting 6 features as input.",
"This MLPSurrogate instance is not fitted yet."
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext

import numpy as np
from numpy.typing import ArrayLike
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.model_selection import KFold
from sklearn.utils.validation import check_is_fitted, check_random_state, validate_data
from threadpoolctl import threadpool_limits

from surrogates.encoders import make_gene_encoder
from surrogates.metrics import kendall_tau
from surrogates.registry import make_surrogate

Prediction = np.ndarray | tuple[np.ndarray, ...]
PREDICT_CHUNK_ROWS = 2048  # rows encoded and predicted at once: kernel matrices and encodings stay small


def check_training_data(estimator: BaseEstimator, X: ArrayLike, y: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Validate a training table (finite, numeric, 2-d X, 1-d y, at least 2 rows) and record n_features_in_ and
    whether every value of X is an integer (`integer_genes_`: gene vectors, which queries must then be too)."""
    X, y = validate_data(estimator, X, y, dtype=np.float64, y_numeric=True, ensure_min_samples=2)
    estimator.integer_genes_ = bool(np.all(X == np.round(X)))
    return X, y.astype(np.float64)


def check_query(estimator: BaseEstimator, X: ArrayLike) -> np.ndarray:
    """Validate X for prediction: the estimator is fitted, X is finite with the features seen in fit, and holds
    integers where the training genes did (a fractional gene is no network; round or canonicalise it first)."""
    check_is_fitted(estimator)
    X = validate_data(estimator, X, reset=False, dtype=np.float64)
    fractional = X != np.round(X)
    if getattr(estimator, "integer_genes_", False) and fractional.any():
        row, column = (int(i) for i in np.argwhere(fractional)[0])
        raise ValueError(f"X[{row}, {column}] = {X[row, column]!r}: this surrogate was fitted on integer genes; "
                         "expected integer gene values (round or canonicalise the vectors first)")
    return X


def min_training_rows(estimator: BaseEstimator) -> int:
    """The fewest rows `estimator.fit` accepts: its own `min_training_rows()` where it declares one (models that
    cross-validate internally), else 2, the minimum of every surrogate."""
    declared = getattr(estimator, "min_training_rows", None)
    return 2 if declared is None else int(declared())


def shrunk_folds(n_rows: int, n_folds: int, min_test_rows: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Shuffled K-fold (train, test) index pairs with K = min(n_folds, n_rows // min_test_rows), so that a small
    table still gets folds of at least `min_test_rows` held-out rows each; ValueError when not even 2 fit."""
    k = min(n_folds, n_rows // min_test_rows)
    if k < 2:
        raise ValueError(f"{n_rows} training rows are too few for 2 folds of at least {min_test_rows} held-out "
                         f"rows each; at least {2 * min_test_rows} are needed.")
    return list(KFold(n_splits=k, shuffle=True, random_state=seed).split(np.zeros((n_rows, 1))))


def named_models(models: Sequence[tuple[str, BaseEstimator]] | None, default_names: Sequence[str],
                 parameter: str) -> list[tuple[str, BaseEstimator]]:
    """The (name, estimator) pairs a meta-model combines: `models`, checked to be non-empty with unique names,
    or the registered surrogates `default_names` when it is None (`parameter` names the argument in errors)."""
    if models is None:
        return [(name, make_surrogate(name)) for name in default_names]
    models = list(models)
    names = [name for name, _ in models]
    if not models or len(set(names)) != len(names):
        raise ValueError(f"{parameter} must be a non-empty list of (name, estimator) with unique names; got names "
                         f"{names}.")
    return models


def held_out_taus(model: BaseEstimator, X: np.ndarray, y: np.ndarray,
                  folds: Sequence[tuple[np.ndarray, np.ndarray]]) -> list[float]:
    """Kendall tau on each held-out part of `folds` of a clone of `model` fitted on the rest."""
    fitted = fit_each([clone(model) for _ in folds], X, y, [train for train, _ in folds])
    return [kendall_tau(y[test], expert.predict(X[test])) for expert, (_, test) in zip(fitted, folds, strict=True)]


def draw_seeds(random_state: int | np.random.RandomState | None, n: int) -> list[int]:
    """`n` integer seeds drawn from `random_state`, for the parts of a model that take their own seed."""
    return check_random_state(random_state).randint(0, 2**31 - 1, size=n).tolist()


def clone_with_seed(estimator: BaseEstimator, seed: int) -> BaseEstimator:
    """An unfitted clone whose every `random_state` parameter, nested ones included, is set to `seed`."""
    copy = clone(estimator)
    seeded = {key: seed for key in copy.get_params(deep=True) if key.split("__")[-1] == "random_state"}
    return copy.set_params(**seeded)


def fit_each(models: Sequence[BaseEstimator], X: np.ndarray, y: np.ndarray,
             subsets: Sequence[np.ndarray]) -> list[BaseEstimator]:
    """models[g] fitted on rows subsets[g] of X, y, for every g (cross-validation folds, ensemble experts).

    Models of one class that share every parameter but `random_state` are trained together when the class can
    (a `fit_side_by_side` classmethod, as the torch MLPs have), at about the cost of one fit; the result is the
    same as fitting each alone.
    """
    first = models[0]
    if (hasattr(first, "fit_side_by_side") and all(type(model) is type(first) for model in models)
            and all(_params_but_seed(model) == _params_but_seed(first) for model in models)):
        return type(first).fit_side_by_side(models, X, y, subsets)
    return [model.fit(X[rows], y[rows]) for model, rows in zip(models, subsets, strict=True)]


def _params_but_seed(model: BaseEstimator) -> dict:
    return {key: value for key, value in model.get_params(deep=False).items() if key != "random_state"}


def fit_line(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Least-squares (scale, offset) of y ~ scale * x + offset."""
    (scale, offset), *_ = np.linalg.lstsq(np.column_stack([x, np.ones_like(x)]), y, rcond=None)
    return float(scale), float(offset)


def predict_in_chunks(predict: Callable[[np.ndarray], Prediction], X: np.ndarray) -> Prediction:
    """Apply `predict` to blocks of PREDICT_CHUNK_ROWS rows and concatenate the results.

    `predict` returns an array, or a tuple of arrays (mean, std) that are concatenated element by element.
    """
    parts = [predict(X[start : start + PREDICT_CHUNK_ROWS]) for start in range(0, len(X), PREDICT_CHUNK_ROWS)]
    if isinstance(parts[0], tuple):
        return tuple(np.concatenate(column) for column in zip(*parts, strict=True))
    return np.concatenate(parts)


class GeneSurrogate(RegressorMixin, BaseEstimator):
    """Base of the single-model surrogates: checks the data, encodes the genes, then defers to the model.

    Subclasses take an `encoding` hyper-parameter ('ordinal' or 'onehot', see `surrogates.encoders`) and
    implement `_fit_encoded(Z, y)` and `_predict_encoded(Z)` on the encoded features Z. The encoder is fitted
    on the training genes, so raw integer genes can be passed straight in.
    """

    encoding: str

    def fit(self, X: ArrayLike, y: ArrayLike) -> GeneSurrogate:
        """Fit on genes X of shape (n_samples, n_genes) and targets y of shape (n_samples,)."""
        X, y = check_training_data(self, X, y)
        self.encoder_ = make_gene_encoder(self.encoding).fit(X)
        with self._fitting_threads():
            self._fit_encoded(self.encoder_.transform(X), y)
        return self

    def predict(self, X: ArrayLike) -> np.ndarray:
        """Predicted targets, shape (n_samples,); rows are encoded and predicted in blocks to bound memory."""
        return self._predict_genes(X, self._predict_encoded)

    def _predict_genes(self, X: ArrayLike, predict_encoded: Callable[[np.ndarray], Prediction]) -> Prediction:
        """Check X, then apply `predict_encoded` to the encoded genes block by block under the thread limits."""
        X = check_query(self, X)
        with self._prediction_threads():
            return predict_in_chunks(lambda rows: predict_encoded(self.encoder_.transform(rows)), X)

    def _fitting_threads(self) -> AbstractContextManager:
        """Thread limits held for a whole `fit` call; none by default."""
        return nullcontext()

    def _prediction_threads(self) -> AbstractContextManager:
        """Thread limits held for a whole `predict` call; none by default."""
        return nullcontext()

    def _fit_encoded(self, Z: np.ndarray, y: np.ndarray) -> None:
        raise NotImplementedError

    def _predict_encoded(self, Z: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class BlasThreads:
    """Thread policy of the surrogates whose cost is dense linear algebra (GP, RBF): `fit` uses one BLAS
    thread, so that many fits can run side by side and the many small factorisations of a fit do not stall
    on a busy machine; `predict`, whose large kernel products scale with cores, uses `predict_threads`
    (None: all cores)."""

    predict_threads: int | None

    def _fitting_threads(self) -> AbstractContextManager:
        return threadpool_limits(limits=1, user_api="blas")

    def _prediction_threads(self) -> AbstractContextManager:
        return threadpool_limits(limits=self.predict_threads, user_api="blas")
