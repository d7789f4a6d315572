"""Latency as a per-block lookup table plus a learned correction for what the table misses.

    latency(x) = overhead + scale * sum_j table_j[x_j] + residual(x)

Gene j picks the operation of block j, and table_j[v] is the time of choice v in block j.

* `BlockLookupTable` is the additive part. Its table is either learned from measured networks, by ridge
  least squares on per-block one-hot features (penalty chosen by leave-one-out), or filled from per-block
  timings, in which case only `scale` and `overhead` are fitted (isolated block timings are usually off by a
  common factor and a fixed cost).
* `BlockLatencyModel` adds a residual model for the interactions an additive table cannot express (fusion,
  caching, blocks that vanish). The residual model learns from out-of-fold errors of the table: a table
  fitted on the same networks can reproduce them exactly when there are fewer networks than table entries,
  which would leave nothing to learn.
* `BaselineResidualModel` is for tables that are not one entry per gene (a block's time depends on several
  genes, its resolution and its width): the caller computes the table latency of each network and passes it
  as the first column of X, before the genes; the model calibrates it and learns the residual.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.linear_model import RidgeCV
from sklearn.model_selection import cross_val_predict
from sklearn.utils.validation import check_is_fitted

from surrogates.base import (
    check_query,
    check_training_data,
    clone_with_seed,
    draw_seeds,
    fit_line,
    predict_in_chunks,
    shrunk_folds,
)
from surrogates.encoders import OneHotGeneEncoder
from surrogates.models.trees import RandomForestSurrogate
from surrogates.registry import register_surrogate

RIDGE_ALPHAS = (1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0)


def _check_block_tables(block_latency: Sequence[ArrayLike], n_genes: int) -> list[np.ndarray]:
    """The per-gene timing tables as finite 1-d arrays, one per gene."""
    tables = [np.asarray(table, dtype=np.float64) for table in block_latency]
    if len(tables) != n_genes:
        raise ValueError(f"block_latency has tables for {len(tables)} genes, but X has {n_genes} features.")
    for j, table in enumerate(tables):
        if table.ndim != 1 or table.size == 0 or not np.all(np.isfinite(table)):
            raise ValueError(f"block_latency[{j}] must be a non-empty sequence of finite times; got {table}.")
    return tables


def resolve_residual(residual: BaseEstimator | str | None) -> BaseEstimator | None:
    """The residual model an option names: None gives the default small random forest, 'drop' gives none."""
    if residual is None:
        return RandomForestSurrogate(n_estimators=50, min_samples_leaf=3)
    if isinstance(residual, str):
        if residual != "drop":
            raise ValueError(f"residual must be an estimator, 'drop' or None; got {residual!r}.")
        return None
    return residual


class BlockLookupTable(RegressorMixin, BaseEstimator):
    """Additive latency model: overhead + scale * (sum over genes of the time of the chosen block).

    Parameters
    ----------
    block_latency : sequence of sequences of float, or None
        None: learn the table from (X, y) by ridge regression on per-block one-hot features (scale fixed
        to 1). Otherwise `block_latency[j][v]` is the measured time of choice v of gene j; X must then hold
        integers in [0, len(block_latency[j]) - 1], and only scale and overhead are fitted.
    alphas : tuple of float
        Candidate ridge penalties of the learned table; the one with the best leave-one-out error is used
        (scikit-learn's efficient RidgeCV). A fixed small penalty would leave the table unstable when the
        number of networks is close to the number of table entries.

    Attributes
    ----------
    encoder_ : OneHotGeneEncoder
        Per-block one-hot features; `block_times_[k]` is the time of the k-th column.
    block_times_ : ndarray
    scale_, overhead_ : float
    """

    def __init__(self, block_latency: Sequence[ArrayLike] | None = None, alphas: tuple[float, ...] = RIDGE_ALPHAS):
        self.block_latency = block_latency
        self.alphas = alphas

    def fit(self, X: ArrayLike, y: ArrayLike) -> BlockLookupTable:
        """Learn the table (or calibrate the given one) on networks X with measured latencies y."""
        X, y = check_training_data(self, X, y)
        if self.block_latency is None:
            self.encoder_ = OneHotGeneEncoder().fit(X)
            table = RidgeCV(alphas=np.array(self.alphas, dtype=np.float64)).fit(self.encoder_.transform(X), y)
            self.block_times_, self.scale_, self.overhead_ = table.coef_, 1.0, float(table.intercept_)
        else:
            tables = _check_block_tables(self.block_latency, X.shape[1])
            self.encoder_ = OneHotGeneEncoder(bounds=[(0, len(table) - 1) for table in tables]).fit(X)
            self.block_times_ = np.concatenate(tables)
            self.scale_, self.overhead_ = fit_line(self.encoder_.transform(X) @ self.block_times_, y)
        return self

    def predict(self, X: ArrayLike) -> np.ndarray:
        """Table latency of each network."""
        X = check_query(self, X)
        return predict_in_chunks(
            lambda rows: self.overhead_ + self.scale_ * (self.encoder_.transform(rows) @ self.block_times_), X)

    def table(self) -> pd.DataFrame:
        """The fitted table as rows (gene, choice, time), times multiplied by `scale_`; `overhead_` comes on top."""
        check_is_fitted(self)
        categories = self.encoder_.categories_
        return pd.DataFrame({
            "gene": np.repeat(np.arange(len(categories)), [len(values) for values in categories]),
            "choice": np.concatenate(categories).astype(int),
            "time": self.scale_ * self.block_times_,
        })


@register_surrogate("block_latency")
class BlockLatencyModel(RegressorMixin, BaseEstimator):
    """Per-block lookup table (`BlockLookupTable`) plus a residual model learned from its out-of-fold errors.

    Parameters
    ----------
    block_latency, alphas
        As in `BlockLookupTable`.
    residual : estimator, 'drop' or None
        Model of the table's errors, fitted on the genes; 'drop': the table alone. None: a small random
        forest, `RandomForestSurrogate(n_estimators=50, min_samples_leaf=3)`, chosen on development tables
        (HELP's FBNet and OFA-MobileNetV3 latencies, not the NAS-Bench-201 table of the benchmark): trees
        capture interactions such as input resolution times blocks, which the table misses, and cost little
        where the table is already right; 100 trees or single-sample leaves ranked no better there.
    n_folds : int
        Folds for the table's out-of-fold errors that the residual model learns from (one per row on a table
        of fewer rows).
    random_state : int, RandomState or None
        Seed of the folds and of the residual model's `random_state` parameters.

    Attributes
    ----------
    table_ : BlockLookupTable
        Fitted on all the data.
    residual_ : fitted estimator or None
    """

    def __init__(self, block_latency: Sequence[ArrayLike] | None = None, alphas: tuple[float, ...] = RIDGE_ALPHAS,
                 residual: BaseEstimator | str | None = None, n_folds: int = 5,
                 random_state: int | np.random.RandomState | None = None):
        self.block_latency = block_latency
        self.alphas = alphas
        self.residual = residual
        self.n_folds = n_folds
        self.random_state = random_state

    def fit(self, X: ArrayLike, y: ArrayLike) -> BlockLatencyModel:
        """Fit the table on all networks, then the residual model on the table's out-of-fold errors."""
        X, y = check_training_data(self, X, y)
        table = BlockLookupTable(block_latency=self.block_latency, alphas=self.alphas)
        self.table_ = table.fit(X, y)
        residual = resolve_residual(self.residual)
        if residual is None:
            self.residual_ = None
            return self
        fold_seed, residual_seed = draw_seeds(self.random_state, 2)
        out_of_fold = cross_val_predict(table, X, y, cv=shrunk_folds(len(X), self.n_folds, 1, fold_seed))
        self.residual_ = clone_with_seed(residual, residual_seed).fit(X, y - out_of_fold)
        return self

    def min_training_rows(self) -> int:
        """With a residual model: two folds, each out-of-fold table fitted on at least 2 rows."""
        return 2 if resolve_residual(self.residual) is None else 3

    def predict(self, X: ArrayLike) -> np.ndarray:
        """Predicted latency: table plus residual correction."""
        X = check_query(self, X)
        prediction = self.table_.predict(X)
        return prediction if self.residual_ is None else prediction + self.residual_.predict(X)


class BaselineResidualModel(RegressorMixin, BaseEstimator):
    """y = scale * b + offset + residual(genes), where column 0 of X is a physical estimate b of the target.

    Built for latency: b is the sum of per-part lookup-table timings of each network, which ranks networks
    well but is off by a common factor and a fixed cost (isolated parts pay their own call overhead and miss
    the caching between parts). Scale and offset are a least-squares line on b; the residual model learns
    from the line's errors what the table cannot express, from the genes in columns 1 onwards. Not in the
    registry: its X is not a plain gene table.

    Parameters
    ----------
    residual : estimator, 'drop' or None
        Model of the line's errors on the genes; 'drop': the calibrated line alone. None: the default of
        `BlockLatencyModel`, a small random forest.
    random_state : int, RandomState or None
        Seed given to the residual model's `random_state` parameters.

    Attributes
    ----------
    scale_, offset_ : float
    residual_ : fitted estimator or None
    """

    def __init__(self, residual: BaseEstimator | str | None = None,
                 random_state: int | np.random.RandomState | None = None):
        self.residual = residual
        self.random_state = random_state

    def fit(self, X: ArrayLike, y: ArrayLike) -> BaselineResidualModel:
        """Fit the line on X[:, 0], then the residual model on the genes X[:, 1:] (if any)."""
        X, y = check_training_data(self, X, y)
        self.scale_, self.offset_ = fit_line(X[:, 0], y)
        residual = resolve_residual(self.residual)
        if residual is None or X.shape[1] == 1:
            self.residual_ = None
            return self
        (seed,) = draw_seeds(self.random_state, 1)
        self.residual_ = clone_with_seed(residual, seed).fit(X[:, 1:], y - (self.scale_ * X[:, 0] + self.offset_))
        return self

    def predict(self, X: ArrayLike) -> np.ndarray:
        """Calibrated estimate plus residual correction."""
        X = check_query(self, X)
        line = self.offset_ + self.scale_ * X[:, 0]
        return line if self.residual_ is None else line + self.residual_.predict(X[:, 1:])
