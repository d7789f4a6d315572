"""Lookup-table latency: learned or filled tables, and the residual correction."""

from __future__ import annotations

import re

import numpy as np
import pytest

from surrogates import BaselineResidualModel, BlockLatencyModel, BlockLookupTable
from surrogates.metrics import rmse

N_BLOCKS, N_CHOICES = 5, 4
TRUE_TABLE = np.random.default_rng(0).uniform(0.5, 3.0, size=(N_BLOCKS, N_CHOICES))


def networks(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, N_CHOICES, size=(n, N_BLOCKS))


def table_latency(genes: np.ndarray) -> np.ndarray:
    return TRUE_TABLE[np.arange(N_BLOCKS), genes].sum(axis=1)


def test_learned_table_recovers_an_additive_latency():
    train, test = networks(120, seed=1), networks(300, seed=2)
    table = BlockLookupTable().fit(train, 2.0 + table_latency(train))
    assert rmse(2.0 + table_latency(test), table.predict(test)) < 1e-2
    learned = table.table().pivot(index="gene", columns="choice", values="time").to_numpy()
    # each block's times are identified up to a shift that moves into the overhead
    np.testing.assert_allclose(learned - learned.mean(axis=1, keepdims=True),
                               TRUE_TABLE - TRUE_TABLE.mean(axis=1, keepdims=True), atol=1e-2)


def test_table_filled_from_block_timings_fits_only_scale_and_overhead():
    train = networks(30, seed=3)
    table = BlockLookupTable(block_latency=TRUE_TABLE.tolist()).fit(train, 1.5 * table_latency(train) + 4.0)
    assert table.scale_ == pytest.approx(1.5)
    assert table.overhead_ == pytest.approx(4.0)
    np.testing.assert_allclose(table.table()["time"], 1.5 * TRUE_TABLE.ravel())


def test_residual_model_corrects_what_the_table_cannot_express():
    """Choice 3 in blocks 0 and 1 together costs 6 ms more (say, the two no longer fuse)."""
    def latency(genes: np.ndarray) -> np.ndarray:
        return table_latency(genes) + 6.0 * ((genes[:, 0] == 3) & (genes[:, 1] == 3))

    train, test = networks(300, seed=4), networks(500, seed=5)
    with_residual = BlockLatencyModel(random_state=0).fit(train, latency(train))
    table_only = BlockLatencyModel(residual="drop").fit(train, latency(train))
    assert table_only.residual_ is None
    assert rmse(latency(test), with_residual.predict(test)) < 0.5 * rmse(latency(test), table_only.predict(test))


def test_baseline_residual_calibrates_the_estimate_and_learns_what_it_misses():
    """Isolated-part timings overestimate by 20 % plus 1 ms; choice 3 in blocks 0 and 1 together costs 6 ms more."""
    def features(genes: np.ndarray) -> np.ndarray:
        return np.column_stack([1.2 * table_latency(genes) + 1.0, genes])

    def latency(genes: np.ndarray) -> np.ndarray:
        return table_latency(genes) + 6.0 * ((genes[:, 0] == 3) & (genes[:, 1] == 3))

    train, test = networks(300, seed=6), networks(500, seed=7)
    line_only = BaselineResidualModel(residual="drop").fit(features(train), latency(train))
    assert line_only.residual_ is None
    with_residual = BaselineResidualModel(random_state=0).fit(features(train), latency(train))
    assert rmse(latency(test), with_residual.predict(features(test))) < 0.5 * rmse(
        latency(test), line_only.predict(features(test)))
    additive = BaselineResidualModel(residual="drop").fit(features(train), table_latency(train))
    assert (additive.scale_, additive.offset_) == pytest.approx((1 / 1.2, -1 / 1.2))
    np.testing.assert_allclose(additive.predict(features(test)), table_latency(test))


@pytest.mark.parametrize(
    ("model", "genes", "message"),
    [
        (BlockLookupTable(block_latency=[[1.0, 2.0]] * 2), [[0, 1, 1]] * 3,
         "block_latency has tables for 2 genes, but X has 3 features."),
        (BlockLookupTable(block_latency=[[1.0, 2.0], []]), [[0, 1]] * 3,
         "block_latency[1] must be a non-empty sequence of finite times"),
        (BlockLookupTable(block_latency=[[1.0, 2.0], [1.0, 2.0]]), [[0, 1], [0, 2], [1, 1]],
         "gene 1 of sample 1 is 2; expected an integer in [0, 1]."),
        (BlockLatencyModel(residual="none"), [[0, 1]] * 5,
         "residual must be an estimator, 'drop' or None; got 'none'."),
    ],
)
def test_bad_tables_and_options_are_named(model, genes, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        model.fit(genes, np.arange(len(genes), dtype=float))
