"""Behaviour specific to single models: RankNet's loss, torch models fitted side by side, RBF interpolation, the GP's
hyper-parameter subset."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from gene_problems import mutants
from sklearn.base import clone

from surrogates import GPSurrogate, MLPSurrogate, RankNetSurrogate, RBFSurrogate
from surrogates.base import clone_with_seed, fit_each
from surrogates.metrics import kendall_tau
from surrogates.models.neural import pairwise_ranking_loss


def test_pairwise_ranking_loss_rewards_the_right_order_and_halves_ties():
    targets = torch.tensor([3.0, 2.0, 1.0])
    right_order = pairwise_ranking_loss(torch.tensor([30.0, 20.0, 10.0]), targets)
    wrong_order = pairwise_ranking_loss(torch.tensor([10.0, 20.0, 30.0]), targets)
    assert right_order < 1e-4 < 5.0 < wrong_order
    tie = pairwise_ranking_loss(torch.tensor([0.0, 0.0]), torch.tensor([1.0, 1.0]))
    assert tie.item() == pytest.approx(np.log(2.0))


def test_ranknet_outputs_are_mapped_to_the_target_scale(smooth_problem):
    model = RankNetSurrogate(n_steps=200, random_state=0).fit(smooth_problem.X_train, smooth_problem.y_train)
    predicted = model.predict(smooth_problem.X_train)
    assert kendall_tau(smooth_problem.y_train, predicted) > 0.9
    assert predicted.mean() == pytest.approx(smooth_problem.y_train.mean(), abs=1e-6)


@pytest.mark.parametrize("encoding", ["ordinal", "onehot"])
def test_rbf_without_smoothing_interpolates_the_training_targets(encoding, smooth_problem):
    model = RBFSurrogate(encoding=encoding).fit(smooth_problem.X_train, smooth_problem.y_train)
    np.testing.assert_allclose(model.predict(smooth_problem.X_train), smooth_problem.y_train, atol=1e-6)


def test_rbf_smoothing_stops_interpolating_noise(smooth_problem):
    noisy = smooth_problem.y_train + np.random.default_rng(0).normal(scale=0.3, size=len(smooth_problem.y_train))
    model = RBFSurrogate(smoothing=10.0).fit(smooth_problem.X_train, noisy)
    assert np.abs(model.predict(smooth_problem.X_train) - noisy).mean() > 0.05


def test_gp_tunes_on_a_subset_but_conditions_on_every_row(smooth_problem):
    model = GPSurrogate(max_tuning_samples=50, random_state=0).fit(smooth_problem.X_train, smooth_problem.y_train)
    assert model.model_.X_train_.shape[0] == len(smooth_problem.X_train)
    assert model.model_.optimizer is None  # the kernel came from the 50-row search
    assert kendall_tau(smooth_problem.y_test, model.predict(smooth_problem.X_test)) > 0.9


def test_gp_standard_deviation_grows_away_from_the_data():
    """Trained on networks that differ from one reference in at most 2 genes; queried 1 vs all 6 genes away."""
    rng = np.random.default_rng(0)
    reference = np.zeros(6, dtype=int)
    train = np.vstack([mutants(reference, 1, 30, rng), mutants(reference, 2, 60, rng)])
    model = GPSurrogate(random_state=0).fit(train, np.sin(train).sum(axis=1))
    near, far = mutants(reference, 1, 50, rng), mutants(reference, 6, 2500, rng)  # 2,500 rows: two blocks
    mean, near_std = model.predict(near, return_std=True)
    far_mean, far_std = model.predict(far, return_std=True)
    assert far_std.shape == far_mean.shape == (2500,)
    assert far_std.mean() > 2 * near_std.mean()
    np.testing.assert_array_equal(mean, model.predict(near))


@pytest.mark.parametrize("model", [MLPSurrogate(n_steps=80, batch_size=16),
                                   RankNetSurrogate(n_steps=80, batch_size=40)])
def test_torch_models_fitted_side_by_side_equal_each_fitted_alone(model):
    """Subsets of different sizes (some below the batch size) whose one-hot encodings differ in width."""
    rng = np.random.default_rng(0)
    genes = rng.integers(0, 4, size=(60, 5))
    target = np.sin(genes).sum(axis=1) + rng.normal(scale=0.1, size=60)
    subsets = [np.arange(60), np.arange(35), np.flatnonzero(genes[:, 0] != 3), np.arange(10, 60, 2)]
    models = [clone_with_seed(model, seed) for seed in (0, 1, 2, 2)]
    together = fit_each(models, genes, target, subsets)
    assert [len(m.encoder_.get_feature_names_out()) for m in together] == [20, 20, 19, 20]
    for fitted, rows, seed in zip(together, subsets, (0, 1, 2, 2), strict=True):
        alone = clone_with_seed(model, seed).fit(genes[rows], target[rows])
        np.testing.assert_allclose(fitted.predict(genes), alone.predict(genes), atol=1e-4)


def test_fit_each_fits_models_that_differ_beyond_their_seed_one_by_one():
    rng = np.random.default_rng(0)
    genes, target = rng.integers(0, 4, size=(40, 5)), rng.normal(size=40)
    models = [MLPSurrogate(n_steps=20, random_state=0), MLPSurrogate(n_steps=40, random_state=0)]
    fitted = fit_each(models, genes, target, [np.arange(30), np.arange(10, 40)])
    for model, rows in zip(fitted, [np.arange(30), np.arange(10, 40)], strict=True):
        alone = clone(model).fit(genes[rows], target[rows])
        np.testing.assert_array_equal(model.predict(genes), alone.predict(genes))
