"""The topology is enumerated once (`moseg.space.topology.network_parts`): the analytic cost and the latency
table read their parts from it, and the network runs exactly those parts, each with the parameters and input the
enumeration says."""

import pytest
import torch
from torch import nn

from moseg.latency.table import part_modules
from moseg.nn import Supernet
from moseg.space import SearchSpace, count_params
from moseg.space.complexity import part_cost
from moseg.space.topology import network_parts

SPACE = SearchSpace(stem_widths=(8, 12), branch_widths=((8, 16), (16, 24), (24, 32), (32, 40)),
                    head_widths=(16,), max_depth=3)
RESOLUTION = (50, 70)  # odd sizes: each stride-2 step rounds up
NUM_CLASSES = 5


def archs() -> list:
    return [SPACE.min_arch(), SPACE.max_arch(), *(SPACE.decode(x) for x in SPACE.sample(6, seed=3))]


def leaves_with_weights(module: nn.Module) -> list[nn.Module]:
    return [m for m in module.modules() if not list(m.children()) and list(m.parameters(recurse=False))]


@pytest.mark.parametrize("index", range(8))
def test_the_network_runs_exactly_the_parts_that_cost_and_latency_tables_count(index):
    arch = archs()[index]
    net = Supernet(SPACE, NUM_CLASSES).extract(arch).eval()
    pairs = part_modules(net, arch, NUM_CLASSES, RESOLUTION)
    assert [part for part, _ in pairs] == network_parts(arch, NUM_CLASSES, RESOLUTION)

    owner = {}  # every weighted layer of the network belongs to exactly one part
    for part, module in pairs:
        for leaf in leaves_with_weights(module):
            assert id(leaf) not in owner, f"{part.key} shares a layer with {owner[id(leaf)]}"
            owner[id(leaf)] = part.key
    ran = []
    hooks = [leaf.register_forward_hook(lambda m, args, out: ran.append(id(m))) for leaf in leaves_with_weights(net)]
    with torch.no_grad():
        net(torch.randn(1, 3, *RESOLUTION))
    for hook in hooks:
        hook.remove()
    assert set(ran) == set(owner), "the network runs layers outside the enumerated parts, or parts it never runs"

    for part, module in pairs:  # each part's analytic parameters are its layers'
        assert part_cost(part)[0] == sum(p.numel() for p in module.parameters()), part.key
    assert count_params(arch, NUM_CLASSES) == sum(p.numel() for p in net.parameters())


def test_part_keys_name_kind_configuration_and_input():
    arch = SPACE.max_arch()
    keys = [part.key for part in network_parts(arch, NUM_CLASSES, RESOLUTION)]
    assert keys[0] == f"stem {arch.stem_width}->{arch.branches[0].width} @ 3x50x70"
    assert keys[-1] == f"head {arch.branches[0].width}->{arch.head_width}->5 up 50x70 @ {arch.branches[0].width}x7x9"
    assert network_parts(arch, NUM_CLASSES, RESOLUTION, final_upsample=False)[-1].key.startswith(
        f"head {arch.branches[0].width}->{arch.head_width}->5 @")
