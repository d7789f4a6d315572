"""The registry: names, fresh instances, overrides, and registering a new model."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import BaseEstimator

from surrogates import min_training_rows, registry
from surrogates.registry import list_surrogates, make_surrogate, register_surrogate

ISSUE_FAMILIES = {"mlp", "rbf", "gp", "xgb", "random_forest", "ranknet", "ridge_onehot", "ensemble",
                  "adaptive_switching", "block_latency"}


def test_every_model_family_of_the_issue_is_registered_and_listed_sorted():
    names = list_surrogates()
    assert ISSUE_FAMILIES <= set(names)
    assert names == sorted(names)


def test_make_surrogate_returns_fresh_instances_with_overrides():
    first, second = make_surrogate("xgb", max_depth=2), make_surrogate("xgb")
    assert first is not second
    assert first.max_depth == 2 and second.max_depth != 2


def test_unknown_name_lists_the_registered_ones():
    with pytest.raises(ValueError, match=r"unknown surrogate 'svm'; registered: .*ridge_onehot"):
        make_surrogate("svm")


@pytest.fixture
def registry_restored(restore_registries):
    """Surrogates a test registers are removed after it."""
    restore_registries(registry.SURROGATES)


def test_register_surrogate_adds_a_factory_and_rejects_a_taken_name(registry_restored):
    @register_surrogate("constant")
    class ConstantSurrogate(BaseEstimator):
        def __init__(self, value: float = 1.0):
            self.value = value

    assert "constant" in list_surrogates()
    assert make_surrogate("constant", value=3.0).value == 3.0
    with pytest.raises(ValueError, match="a surrogate named 'constant' is already registered"):
        register_surrogate("constant")(ConstantSurrogate)


def test_every_registered_surrogate_fits_on_as_few_rows_as_it_declares():
    """`min_training_rows` is what `run_search` checks a design against before paying for it."""
    rng = np.random.default_rng(0)
    for name in list_surrogates():
        model = make_surrogate(name)
        rows = min_training_rows(model)
        genes = rng.integers(0, 4, size=(rows, 5))
        prediction = model.fit(genes, rng.random(rows)).predict(genes)
        assert prediction.shape == (rows,), name
