"""Gene encoders: values, column layout, bounds checking, and use in a pipeline."""

from __future__ import annotations

import re

import numpy as np
import pytest
from sklearn.pipeline import make_pipeline

from surrogates import OneHotGeneEncoder, OrdinalGeneEncoder, RidgeSurrogate

GENES = np.array([[0, 2, 1], [3, 2, 0], [1, 2, 2]])
BOUNDS = [(0, 3), (0, 4), (0, 2)]


def test_ordinal_maps_the_bounds_to_0_and_1():
    encoded = OrdinalGeneEncoder(bounds=BOUNDS).fit_transform(GENES)
    np.testing.assert_allclose(encoded, [[0, 0.5, 0.5], [1, 0.5, 0], [1 / 3, 0.5, 1]])


def test_ordinal_without_bounds_uses_the_seen_range_and_maps_a_constant_gene_to_0():
    encoder = OrdinalGeneEncoder().fit(GENES)
    np.testing.assert_allclose(encoder.transform(GENES)[:, 1], 0.0)
    np.testing.assert_allclose(encoder.transform([[6, 2, 4]]), [[2.0, 0.0, 2.0]])  # extrapolates


def test_one_hot_has_a_column_per_allowed_value_even_if_unseen():
    encoder = OneHotGeneEncoder(bounds=BOUNDS).fit(GENES)
    assert list(encoder.get_feature_names_out()) == [
        "x0=0", "x0=1", "x0=2", "x0=3", "x1=0", "x1=1", "x1=2", "x1=3", "x1=4", "x2=0", "x2=1", "x2=2"]
    encoded = encoder.transform(GENES)
    np.testing.assert_array_equal(encoded[0], [1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0])
    np.testing.assert_array_equal(encoded.sum(axis=1), 3)


def test_one_hot_without_bounds_encodes_unseen_values_as_zeros():
    encoder = OneHotGeneEncoder().fit(GENES)
    assert [list(values) for values in encoder.categories_] == [[0, 1, 3], [2], [0, 1, 2]]
    np.testing.assert_array_equal(encoder.transform([[2, 2, 0]]), [[0, 0, 0, 1, 1, 0, 0]])


@pytest.mark.parametrize("encoder_type", [OrdinalGeneEncoder, OneHotGeneEncoder])
@pytest.mark.parametrize(
    ("bounds", "genes", "message"),
    [
        (BOUNDS, [[0, 5, 1]], "gene 1 of sample 0 is 5; expected an integer in [0, 4]."),
        (BOUNDS, [[0, 1, 1], [1.5, 1, 1]], "gene 0 of sample 1 is 1.5; expected an integer in [0, 3]."),
        ([(0, 3), (0, 4)], [[0, 1, 1]], "bounds describe 2 genes, but X has 3 features."),
        ([0, 3, 4], [[0, 1, 1]], "bounds must have shape (n_genes, 2), rows (lower, upper); got shape (3,)."),
        ([(0, 3), (4, 0), (0, 2)], [[0, 1, 1]], "bounds of gene 1 are inverted: lower 4 > upper 0."),
    ],
)
def test_bad_genes_or_bounds_are_named(encoder_type, bounds, genes, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        encoder_type(bounds=bounds).fit(genes)


def test_transform_checks_new_genes_against_the_bounds():
    encoder = OneHotGeneEncoder(bounds=BOUNDS).fit(GENES)
    with pytest.raises(ValueError, match=re.escape("gene 2 of sample 0 is -1; expected an integer in [0, 2].")):
        encoder.transform([[0, 0, -1]])


def test_one_hot_pipeline_equals_the_surrogates_own_one_hot_encoding(smooth_problem):
    bounds = [(0, 4)] * smooth_problem.X_train.shape[1]
    pipeline = make_pipeline(OneHotGeneEncoder(bounds=bounds), RidgeSurrogate(encoding="ordinal"))
    pipeline.fit(smooth_problem.X_train, smooth_problem.y_train)
    own = RidgeSurrogate(encoding="onehot").fit(smooth_problem.X_train, smooth_problem.y_train)
    np.testing.assert_allclose(pipeline.predict(smooth_problem.X_test), own.predict(smooth_problem.X_test))
