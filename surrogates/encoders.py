"""Encoders for integer gene vectors, as scikit-learn transformers.

An architecture in an integer-encoded NAS space is a vector of genes, gene j taking the integers
lower_j..upper_j. Models that measure distances or fit linear terms need the genes re-expressed:

* `OrdinalGeneEncoder` maps each gene to [0, 1] and keeps its order (widths, depths, kernel sizes);
* `OneHotGeneEncoder` gives every choice its own 0/1 column and assumes no order (operation types).

With `bounds` the encoders check every value against them and raise an error naming the sample, the gene and
the allowed range. Without `bounds` they learn the range (ordinal) or the set of seen values (one-hot) from
the data given to `fit`; a value not seen in `fit` then encodes as all zeros in the one-hot case.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data


def parse_bounds(bounds: ArrayLike, n_genes: int) -> tuple[np.ndarray, np.ndarray]:
    """Split `bounds` of shape (n_genes, 2), rows (lower, upper) inclusive, into integer lower and upper arrays."""
    table = np.asarray(bounds, dtype=np.float64)
    if table.ndim != 2 or table.shape[1] != 2:
        raise ValueError(f"bounds must have shape (n_genes, 2), rows (lower, upper); got shape {table.shape}.")
    if table.shape[0] != n_genes:
        raise ValueError(f"bounds describe {table.shape[0]} genes, but X has {n_genes} features.")
    if not np.all(np.isfinite(table)) or np.any(table != np.round(table)):
        raise ValueError(f"bounds must be finite integers; got {table.tolist()}.")
    lower, upper = table[:, 0], table[:, 1]
    inverted = np.flatnonzero(lower > upper)
    if inverted.size:
        j = int(inverted[0])
        raise ValueError(f"bounds of gene {j} are inverted: lower {lower[j]:g} > upper {upper[j]:g}.")
    return lower, upper


def check_genes_within(X: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> None:
    """Raise ValueError naming the first value of X that is not an integer within [lower, upper] of its gene."""
    bad = (X != np.round(X)) | (X < lower) | (X > upper)
    if bad.any():
        i, j = (int(k) for k in np.argwhere(bad)[0])
        raise ValueError(
            f"gene {j} of sample {i} is {X[i, j]:g}; expected an integer in [{lower[j]:g}, {upper[j]:g}]."
        )


class _GeneEncoder(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Shared fit/transform of the gene encoders: validation, bounds, and the `_learn`/`_encode` hooks."""

    def __init__(self, bounds: ArrayLike | None = None):
        self.bounds = bounds

    def fit(self, X: ArrayLike, y: object = None) -> _GeneEncoder:
        """Learn the gene ranges from `bounds`, or from X when `bounds` is None."""
        X = validate_data(self, X, dtype=np.float64)
        if self.bounds is None:
            self.lower_, self.upper_ = X.min(axis=0), X.max(axis=0)
        else:
            self.lower_, self.upper_ = parse_bounds(self.bounds, X.shape[1])
            check_genes_within(X, self.lower_, self.upper_)
        self._learn(X)
        return self

    def transform(self, X: ArrayLike) -> np.ndarray:
        """Encode the gene vectors in X (one row per architecture)."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float64)
        if self.bounds is not None:
            check_genes_within(X, self.lower_, self.upper_)
        return self._encode(X)

    def _learn(self, X: np.ndarray) -> None:
        """Learn anything beyond the gene ranges (nothing by default)."""

    def _encode(self, X: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class OrdinalGeneEncoder(_GeneEncoder):
    """Scale gene j linearly from [lower_j, upper_j] to [0, 1]; a gene with a single value maps to 0.

    Parameters
    ----------
    bounds : array-like of shape (n_genes, 2) or None
        Inclusive (lower, upper) integer range of each gene. None: use the minimum and maximum seen in `fit`
        (later values outside that range extrapolate beyond [0, 1]).
    """

    def _encode(self, X: np.ndarray) -> np.ndarray:
        span = self.upper_ - self.lower_
        return (X - self.lower_) / np.where(span > 0, span, 1.0)


class OneHotGeneEncoder(_GeneEncoder):
    """One 0/1 column per (gene, value): the per-block features of additive models and lookup tables.

    Parameters
    ----------
    bounds : array-like of shape (n_genes, 2) or None
        Inclusive (lower, upper) integer range of each gene; every integer in it gets a column. None: one
        column per distinct value seen in `fit`; unseen values encode as all zeros.

    Attributes
    ----------
    categories_ : list of ndarray
        The values of each gene, in column order.
    """

    def _learn(self, X: np.ndarray) -> None:
        if self.bounds is None:
            self.categories_ = [np.unique(column) for column in X.T]
        else:
            self.categories_ = [np.arange(lo, hi + 1) for lo, hi in zip(self.lower_, self.upper_, strict=True)]

    def _encode(self, X: np.ndarray) -> np.ndarray:
        encoded = np.zeros((len(X), sum(len(values) for values in self.categories_)))
        offset = 0
        for j, values in enumerate(self.categories_):
            encoded[:, offset : offset + len(values)] = X[:, [j]] == values
            offset += len(values)
        return encoded

    def get_feature_names_out(self, input_features: ArrayLike | None = None) -> np.ndarray:
        """Column names of the form 'gene=value'."""
        genes = super().get_feature_names_out(input_features)
        names = [f"{gene}={value:g}" for gene, values in zip(genes, self.categories_, strict=True) for value in values]
        return np.asarray(names, dtype=object)


GENE_ENCODERS: dict[str, type[_GeneEncoder]] = {"ordinal": OrdinalGeneEncoder, "onehot": OneHotGeneEncoder}


def make_gene_encoder(encoding: str) -> _GeneEncoder:
    """A fresh, bound-free encoder by name: 'ordinal' or 'onehot'."""
    if encoding not in GENE_ENCODERS:
        raise ValueError(f"encoding must be one of {sorted(GENE_ENCODERS)}; got {encoding!r}.")
    return GENE_ENCODERS[encoding]()
