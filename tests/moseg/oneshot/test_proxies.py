"""Zero-cost proxies: finite, deterministic, leave the network alone, ordered by capacity where theory says
so, cached once per canonical arch."""

import numpy as np
import pandas as pd
import pytest
import torch

from moseg.nn import Supernet
from moseg.oneshot.proxies import PROXIES, ProxyCache, zero_cost_scores
from moseg.space import SearchSpace

SPACE = SearchSpace(stem_widths=(8,), branch_widths=((8, 16), (16, 24), (24, 32)), head_widths=(16,),
                    max_depth=2)
NUM_CLASSES = 5


@pytest.fixture(scope="module")
def supernet() -> Supernet:
    torch.manual_seed(0)
    return Supernet(SPACE, NUM_CLASSES)


@pytest.fixture(scope="module")
def batch() -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    labels = torch.randint(0, NUM_CLASSES, (3, 40, 56), generator=generator)
    labels[:, :4] = 255  # void pixels are ignored by grad_norm
    return torch.randn(3, 3, 40, 56, generator=generator), labels


def test_every_proxy_is_finite_deterministic_and_leaves_the_network_as_it_was(supernet, batch):
    net = supernet.extract(SPACE.sample(1, 0)[0]).train()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    scores = zero_cost_scores(net, *batch)
    assert set(scores) == set(PROXIES) == {"synflow", "nwot", "grad_norm"}
    assert all(np.isfinite(v) for v in scores.values())
    assert zero_cost_scores(net, *batch) == scores
    assert net.training and all(torch.equal(before[k], v) for k, v in net.state_dict().items())
    assert all(p.grad is None for p in net.parameters())


def test_synflow_grows_with_capacity(supernet, batch):
    """Synflow sums |theta * dR/dtheta| over parameters: the widest, deepest network scores highest."""
    small, large = (zero_cost_scores(supernet.extract(arch), *batch, names=["synflow"])["synflow"]
                    for arch in (SPACE.min_arch(), SPACE.max_arch()))
    assert large > 1.5 * small


def test_nwot_of_a_batch_of_identical_images_is_not_a_number(supernet, batch):
    images, labels = batch
    same = images[:1].repeat(3, 1, 1, 1)
    assert np.isnan(zero_cost_scores(supernet.extract(SPACE.max_arch()), same, labels, names=["nwot"])["nwot"])


def test_an_unknown_proxy_is_named(supernet, batch):
    with pytest.raises(ValueError, match=r"unknown proxies \['snip'\]; registered: \['grad_norm', 'nwot'"):
        zero_cost_scores(supernet.extract(SPACE.min_arch()), *batch, names=["snip", "nwot"])


def test_the_cache_scores_each_canonical_arch_once_and_reads_its_csv_back(supernet, batch, tmp_path, monkeypatch):
    X = np.vstack([SPACE.sample(3, 1), SPACE.sample(1, 1)])  # the last row repeats the first
    path = tmp_path / "proxies.csv"
    cache = ProxyCache(path, supernet, *batch)
    first = cache(X)
    assert first.shape == (4, 3) and np.all(np.isfinite(first)) and np.array_equal(first[0], first[3])
    calls = []
    monkeypatch.setitem(PROXIES, "nwot", lambda *args: calls.append(1) or 0.0)
    np.testing.assert_array_equal(ProxyCache(path, supernet, *batch)(X[::-1]), first[::-1])
    assert not calls  # every arch came from the CSV
    assert len(pd.read_csv(path)) == 3
