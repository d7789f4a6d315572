"""AdaptiveSwitching picks the family that wins on the data, refits it, and records why."""

from __future__ import annotations

import numpy as np
import pytest

from surrogates import AdaptiveSwitching, RandomForestSurrogate, RidgeSurrogate, make_surrogate

N_SAMPLES, N_CHOICES = 150, 5


def additive_problem() -> tuple[np.ndarray, np.ndarray]:
    """Ten genes, each choice adding its own random amount: one-hot ridge is exact, trees need many splits."""
    rng = np.random.default_rng(0)
    genes = rng.integers(0, N_CHOICES, size=(N_SAMPLES, 10))
    effects = rng.normal(size=(10, N_CHOICES))
    return genes, effects[np.arange(10), genes].sum(axis=1)


def interaction_problem() -> tuple[np.ndarray, np.ndarray]:
    """An exclusive-or of two genes: invisible to any additive model, two splits for a tree."""
    rng = np.random.default_rng(1)
    genes = rng.integers(0, N_CHOICES, size=(N_SAMPLES, 4))
    return genes, 2.0 * ((genes[:, 0] >= 2) ^ (genes[:, 1] >= 2)) + 0.5 * (genes[:, 2] >= 3)


def candidates() -> list[tuple[str, object]]:
    return [("ridge", RidgeSurrogate()), ("forest", RandomForestSurrogate(n_estimators=50))]


@pytest.mark.parametrize(("problem", "winner"), [(additive_problem, "ridge"), (interaction_problem, "forest")])
def test_picks_the_family_that_clearly_wins(problem, winner):
    genes, target = problem()
    switching = AdaptiveSwitching(candidates(), random_state=0).fit(genes, target)
    assert switching.chosen_ == winner
    scores = switching.cv_scores_
    assert list(scores.index) == [winner, "ridge" if winner == "forest" else "forest"]
    assert scores.loc[winner, "selection_score"] > scores.iloc[1]["selection_score"] + 0.2
    assert winner in switching.selection_reason_ and "runner-up" in switching.selection_reason_


def test_records_fold_scores_and_refits_the_winner_on_all_data():
    genes, target = additive_problem()
    switching = AdaptiveSwitching(candidates(), n_folds=4, random_state=0).fit(genes, target)
    scores = switching.cv_scores_
    folds = [f"fold_{k}" for k in range(1, 5)]
    assert list(scores.columns) == [*folds, "mean", "std", "selection_score"]
    np.testing.assert_allclose(scores["mean"], scores[folds].mean(axis=1))
    np.testing.assert_allclose(scores["selection_score"], scores["mean"] - scores[folds].std(axis=1, ddof=0))
    refitted_on_all = RidgeSurrogate().fit(genes, target)
    np.testing.assert_allclose(switching.predict(genes), refitted_on_all.predict(genes))


def test_default_candidates_are_registered_surrogates(smooth_problem):
    switching = AdaptiveSwitching(n_folds=3, random_state=0).fit(smooth_problem.X_train[:60],
                                                                  smooth_problem.y_train[:60])
    assert {"gp", "mlp", "ranknet", "xgb"} <= set(switching.cv_scores_.index)
    assert switching.chosen_ == switching.cv_scores_.index[0]
    assert type(switching.best_estimator_) is type(make_surrogate(switching.chosen_))


def test_duplicate_candidate_names_are_rejected():
    genes, target = additive_problem()
    with pytest.raises(ValueError, match=r"unique names; got names \['ridge', 'ridge'\]"):
        AdaptiveSwitching([("ridge", RidgeSurrogate()), ("ridge", RidgeSurrogate(alpha=2.0))]).fit(genes, target)


def test_a_small_table_gets_fewer_folds_and_too_small_a_table_a_clear_error():
    genes, target = additive_problem()
    switching = AdaptiveSwitching(candidates(), n_folds=5, random_state=0).fit(genes[:7], target[:7])
    assert switching.n_folds_ == 3 and list(switching.cv_scores_.columns[:3]) == ["fold_1", "fold_2", "fold_3"]
    assert "over 3 folds" in switching.selection_reason_ and switching.min_training_rows() == 4
    with pytest.raises(ValueError, match="3 training rows are too few for 2 folds of at least 2 held-out rows"):
        AdaptiveSwitching(candidates(), random_state=0).fit(genes[:3], target[:3])
