"""Consensus: the weighted mean of standardised member predictions, in the unit of y."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.dummy import DummyRegressor

from surrogates import Consensus, RandomForestSurrogate, RankNetSurrogate, RidgeSurrogate, min_training_rows


def additive_problem() -> tuple[np.ndarray, np.ndarray]:
    """Eight genes, each choice adding its own amount: one-hot ridge is exact, a small forest is not."""
    rng = np.random.default_rng(0)
    genes = rng.integers(0, 5, size=(120, 8))
    effects = rng.normal(size=(8, 5))
    return genes, effects[np.arange(8), genes].sum(axis=1)


def members() -> list[tuple[str, object]]:
    return [("ridge", RidgeSurrogate()), ("forest", RandomForestSurrogate(n_estimators=20))]


def test_equal_weights_average_the_standardised_members_in_the_unit_of_y():
    genes, target = additive_problem()
    model = Consensus(members(), random_state=0).fit(genes[:80], target[:80])
    assert model.weights_ == {"ridge": 0.5, "forest": 0.5}
    z = [(m.predict(genes[80:]) - m.predict(genes[:80]).mean()) / m.predict(genes[:80]).std()
         for _, m in model.members_]
    expected = target[:80].mean() + target[:80].std() * (z[0] + z[1]) / 2
    np.testing.assert_allclose(model.predict(genes[80:]), expected)


@pytest.mark.parametrize("weighting", ["cv", "top"])
def test_held_out_weighting_favours_the_member_that_ranks_better(weighting):
    genes, target = additive_problem()
    model = Consensus(members(), weighting=weighting, random_state=0).fit(genes, target)
    assert model.weights_["ridge"] > model.weights_["forest"] and sum(model.weights_.values()) == pytest.approx(1)
    assert model.min_training_rows() == 4


def test_a_score_model_and_a_constant_model_can_be_members():
    """RankNet outputs scores, not values; a constant member carries no order and gets no weight."""
    genes, target = additive_problem()
    model = Consensus([("ranknet", RankNetSurrogate(n_steps=50)), ("constant", DummyRegressor())],
                      random_state=0).fit(genes, target)
    assert model.weights_ == {"ranknet": 1.0, "constant": 0.0}
    assert abs(model.predict(genes).mean() - target.mean()) < 0.5 * target.std()


@pytest.mark.parametrize(("params", "message"), [
    ({"weighting": "best"}, r"weighting = 'best', expected one of \['equal', 'cv', 'top'\]"),
    ({"top_fraction": 1.0}, r"top_fraction = 1.0, expected a number in \(0, 1\)"),
    ({"members": [("a", RidgeSurrogate()), ("a", RidgeSurrogate())]}, "unique names; got names"),
])
def test_bad_parameters_are_named(params, message):
    genes, target = additive_problem()
    with pytest.raises(ValueError, match=message):
        Consensus(**params).fit(genes, target)


def test_equal_weighting_needs_only_what_its_members_need():
    assert min_training_rows(Consensus(members())) == 2
