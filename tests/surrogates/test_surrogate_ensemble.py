"""Ensemble: K-fold experts whose spread grows away from the training data."""

from __future__ import annotations

import numpy as np
import pytest
from gene_problems import mutants

from surrogates import Ensemble, RidgeSurrogate

N_GENES = 8


def target(genes: np.ndarray) -> np.ndarray:
    return np.sin(genes).sum(axis=1) + 0.1 * genes[:, 0] * genes[:, 1]


def test_spread_is_larger_far_from_the_data_than_near_it():
    """Trained around one architecture (1-2 genes changed), queried 1 gene away vs all genes away."""
    rng = np.random.default_rng(0)
    reference = np.zeros(N_GENES, dtype=int)
    train = np.vstack([mutants(reference, 1, 60, rng), mutants(reference, 2, 90, rng)])
    ensemble = Ensemble(random_state=0).fit(train, target(train))
    _, near_spread = ensemble.predict(mutants(reference, 1, 100, rng), return_std=True)
    _, far_spread = ensemble.predict(mutants(reference, N_GENES, 100, rng), return_std=True)
    assert far_spread.mean() > 3 * near_spread.mean()


def test_prediction_is_the_mean_and_spread_of_one_expert_per_fold(smooth_problem):
    ensemble = Ensemble(RidgeSurrogate(), n_folds=4, random_state=0).fit(smooth_problem.X_train,
                                                                          smooth_problem.y_train)
    assert len(ensemble.experts_) == 4
    expert_predictions = np.stack([expert.predict(smooth_problem.X_test) for expert in ensemble.experts_])
    assert not np.allclose(expert_predictions[0], expert_predictions[1]), "experts must see different folds"
    mean, std = ensemble.predict(smooth_problem.X_test, return_std=True)
    np.testing.assert_allclose(mean, expert_predictions.mean(axis=0))
    np.testing.assert_allclose(std, expert_predictions.std(axis=0))
    np.testing.assert_array_equal(ensemble.predict(smooth_problem.X_test), mean)


def test_fewer_rows_than_folds_give_one_expert_per_row_and_two_rows_a_clear_error():
    genes = np.arange(6).reshape(3, 2)
    ensemble = Ensemble(RidgeSurrogate(), n_folds=5, random_state=0).fit(genes, np.arange(3.0))
    assert len(ensemble.experts_) == 3 and ensemble.min_training_rows() == 3
    with pytest.raises(ValueError, match="Found array with 1 sample"):
        Ensemble(RidgeSurrogate()).fit(genes[:2], np.arange(2.0))
