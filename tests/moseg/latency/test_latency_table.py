"""Per-part latency tables: the parts are the network's, measured once per protocol, summed to predict."""

import numpy as np
import pytest
import torch

from moseg.latency import table as latency_table
from moseg.latency.table import (
    FusionPart,
    HeadPart,
    LatencyTable,
    covering_archs,
    network_parts,
    part_modules,
    table_features,
)
from moseg.nn import Supernet
from moseg.space import SearchSpace

SPACE = SearchSpace(stem_widths=(8,), branch_widths=((8, 16), (16, 24), (24, 32)), head_widths=(16,),
                    max_depth=2)
RESOLUTION = (50, 70)  # odd sizes: each stride-2 step rounds up
FAST = {"min_repeats": 2, "warmup_chunk": 1, "max_warmup_chunks": 2, "min_time_s": 0.0, "threads": 1}


def archs() -> list:
    return [SPACE.min_arch(), SPACE.max_arch(), *(SPACE.decode(x) for x in SPACE.sample(3, seed=0))]


def inputs_seen(net: torch.nn.Module, parts_and_modules: list) -> dict[str, tuple[int, ...]]:
    """Shape (C, H, W) of the input each part's module receives when the whole network runs."""
    seen: dict[str, tuple[int, ...]] = {}

    def hook(part):
        def record(module, args):
            seen.setdefault(part.key, tuple(args[0].shape[1:]))
        return record

    for part, module in parts_and_modules:
        wrapped = {FusionPart: "fuse", HeadPart: "head"}.get(type(module))  # wrappers are not in the network
        inner = getattr(module, wrapped) if wrapped else module
        inner.register_forward_pre_hook(hook(part))
    with torch.no_grad():
        net(torch.randn(1, 3, *RESOLUTION))
    return seen


@pytest.mark.parametrize("index", range(5))
def test_parts_are_the_networks_modules_with_the_inputs_they_receive(index):
    arch = archs()[index]
    net = Supernet(SPACE, 5).extract(arch).eval()
    pairs = part_modules(net, arch, 5, RESOLUTION)
    assert [part for part, _ in pairs] == network_parts(arch, 5, RESOLUTION)
    n_lower = len(arch.branches) - 1
    assert len(pairs) == 1 + sum(b.depth for b in arch.branches) + 2 * n_lower + 1
    assert inputs_seen(net, pairs) == {part.key: part.input_shape for part, _ in pairs}


def test_final_upsample_is_part_of_the_head_key():
    arch = SPACE.min_arch()
    with_up, without = network_parts(arch, 5, RESOLUTION), network_parts(arch, 5, RESOLUTION, final_upsample=False)
    assert with_up[:-1] == without[:-1] and with_up[-1].key != without[-1].key
    assert "up 50x70" in with_up[-1].key


def test_fill_times_each_distinct_part_once_and_predict_sums_them(tmp_path):
    path = tmp_path / "parts.csv"
    table = LatencyTable(path, SPACE, num_classes=5, resolution=RESOLUTION, **FAST)
    genes = np.stack([SPACE.encode(a) for a in archs()])
    distinct = {p.key for a in archs() for p in network_parts(a, 5, RESOLUTION)}
    assert table.fill(genes) == len(distinct) == len(table.entries())
    assert table.fill(genes) == 0  # resumed: nothing measured twice
    again = LatencyTable(path, SPACE, num_classes=5, resolution=RESOLUTION, **FAST)
    assert again.fill(archs()) == 0 and again.protocol_id == table.protocol_id
    parts = table.part_ms(archs()[1])
    assert all(ms > 0 for _, ms in parts)
    predicted = table.predict(genes)
    assert predicted[1] == pytest.approx(sum(ms for _, ms in parts))
    assert predicted[1] > predicted[0]  # the max arch costs more than the min arch
    np.testing.assert_array_equal(table_features(table, genes), np.column_stack([predicted, genes]))


@pytest.mark.parametrize("space", [SPACE, SearchSpace()], ids=["small", "default"])
def test_covering_archs_hold_every_part_of_the_space(space):
    cover = covering_archs(space)
    covered = {p.key for arch in cover for p in network_parts(arch, 5, RESOLUTION)}
    for arch in cover:
        space.encode(arch)  # each is an arch of the space
    seen = {p.key for x in space.sample(1000, seed=1) for p in network_parts(space.decode(x), 5, RESOLUTION)}
    seen |= {p.key for arch in (space.min_arch(), space.max_arch()) for p in network_parts(arch, 5, RESOLUTION)}
    assert seen <= covered
    blocks = sum(len(w) for w in space.branch_widths) * space.num_block_configs()
    slots = space.num_branches * space.max_depth
    assert len(cover) <= blocks / slots + 5  # packed: few archs beyond the block slots' lower bound
    pairs = len(space.stem_widths) * len(space.branch_widths[0]) + len(space.branch_widths[0]) * len(space.head_widths)
    pairs += sum(len(space.branch_widths[b - 1]) * len(w) + len(w) * len(space.branch_widths[0])
                 for b, w in enumerate(space.branch_widths) if b)
    assert len(covered) == blocks + pairs  # every block, transition, fusion, stem and head the space allows


def test_fill_space_times_every_part_once_then_predict_only_looks_up(tmp_path, monkeypatch):
    table = LatencyTable(tmp_path / "parts.csv", SPACE, num_classes=5, resolution=RESOLUTION, **FAST)
    measured = table.fill_space(progress=False)
    assert measured == len(table.entries()) == len({p.key for a in covering_archs(SPACE)
                                                    for p in network_parts(a, 5, RESOLUTION)})
    monkeypatch.setattr(latency_table, "measure_latency", None)  # any timing from here on would fail
    assert table.fill_space(progress=False) == 0
    X = SPACE.sample(200, seed=2)
    assert np.all(table.predict(X) > 0)


def test_protocols_do_not_mix_and_missing_parts_are_named(tmp_path):
    path = tmp_path / "parts.csv"
    LatencyTable(path, SPACE, num_classes=5, resolution=RESOLUTION, **FAST).fill([SPACE.min_arch()])
    other = LatencyTable(path, SPACE, num_classes=5, resolution=RESOLUTION, **{**FAST, "threads": 2})
    assert other.entries() == {}
    with pytest.raises(KeyError, match="no successful measurement under protocol .*stem 8->8"):
        other.predict([SPACE.min_arch()])


def test_a_failed_part_is_recorded_and_not_retried(tmp_path, monkeypatch):
    def out_of_memory(*args, **kwargs):
        raise RuntimeError("CUDA out of memory")

    monkeypatch.setattr(latency_table, "measure_latency", out_of_memory)
    table = LatencyTable(tmp_path / "parts.csv", SPACE, num_classes=5, resolution=RESOLUTION, **FAST)
    n = table.fill([SPACE.min_arch()])
    rows = list(table.entries().values())
    assert n == len(rows) == 3 and all(r["status"] == "failed" and "out of memory" in r["error"] for r in rows)
    assert table.fill([SPACE.min_arch()]) == 0
    with pytest.raises(KeyError, match="3 part"):
        table.predict([SPACE.min_arch()])


@pytest.mark.parametrize(("kwargs", "message"), [({"device": "tpu"}, "device = 'tpu'"),
                                                   ({"mode": "cuda_graph"}, "needs a CUDA device"),
                                                   ({"batch": 0}, "batch = 0")])
def test_bad_settings_are_named_before_any_work(tmp_path, kwargs, message):
    with pytest.raises(ValueError, match=message):
        LatencyTable(tmp_path / "parts.csv", SPACE, num_classes=5, resolution=RESOLUTION, **kwargs)
