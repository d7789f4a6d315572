"""Every registered surrogate, with its default hyper-parameters, learns a smooth function of integer genes."""

from __future__ import annotations

import pytest

from surrogates import list_surrogates, make_surrogate
from surrogates.base import clone_with_seed
from surrogates.metrics import kendall_tau

REQUIRED_TAU = 0.9
# Trees approximate a smooth additive function by axis-aligned steps; averaging bootstrapped CART trees gets
# 0.83 here with 200 samples (XGBoost's boosted trees 0.92), so the forest is held to a lower bar.
REQUIRED_TAU_EXCEPTIONS = {"random_forest": 0.8}


@pytest.mark.parametrize("name", list_surrogates())
def test_learns_a_smooth_function_from_200_samples(name, smooth_problem):
    surrogate = clone_with_seed(make_surrogate(name), 0).fit(smooth_problem.X_train, smooth_problem.y_train)
    tau = kendall_tau(smooth_problem.y_test, surrogate.predict(smooth_problem.X_test))
    assert tau >= REQUIRED_TAU_EXCEPTIONS.get(name, REQUIRED_TAU), f"{name}: Kendall tau {tau:.3f}"
