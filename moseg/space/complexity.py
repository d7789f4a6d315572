"""Analytic parameter and FLOP counts of a decoded network, without building or running it.

FLOPs follow the convention of most real-time segmentation papers: one multiply-accumulate counts as one
FLOP, over convolutions and the two attention matrix products; BatchNorm (foldable into the convolution),
activations, pooling, additions and bilinear upsampling are not counted. A block is counted by its operator
family's cost rule (`moseg.space.ops`). The parts counted are those of
`moseg.space.topology.network_parts`, the one enumeration of the network; tests check that the network
(`moseg.nn.network`) runs exactly those parts and compare the counts with the extracted networks.
"""

from __future__ import annotations

from moseg.space.arch import Arch
from moseg.space.layer_cost import conv_cost, sum_costs
from moseg.space.ops import operator_of
from moseg.space.topology import STEM_LAYERS, Part, halved, network_parts


def part_cost(part: Part) -> tuple[int, int]:
    """(params, MACs) of one part of the network."""
    _, h, w = part.input_shape
    if part.kind == "block":
        return operator_of(part.block).cost(part.block, part.widths[0], (h, w))
    if part.kind == "stem":
        stem_width, out_width = part.widths
        size, cin, params, macs = (h, w), 3, 0, 0
        for cout in [stem_width] * (STEM_LAYERS - 1) + [out_width]:
            size = halved(size)
            cost = conv_cost(cin, cout, 3, size[0] * size[1])
            params, macs, cin = params + cost[0], macs + cost[1], cout
        return params, macs
    if part.kind == "transition":
        out = halved((h, w))
        return conv_cost(part.widths[0], part.widths[1], 3, out[0] * out[1])
    if part.kind == "fuse":  # the projection, before upsampling
        return conv_cost(part.widths[0], part.widths[1], 1, h * w)
    assert part.kind == "head", part.kind
    in_width, head_width, num_classes = part.widths
    return sum_costs(conv_cost(in_width, head_width, 3, h * w),
                     conv_cost(head_width, num_classes, 1, h * w, bn=False, bias=True))


def _count(arch: Arch, num_classes: int, input_size: tuple[int, int]) -> tuple[int, int]:
    return sum_costs(*(part_cost(part) for part in network_parts(arch, num_classes, input_size)))


def count_params(arch: Arch, num_classes: int) -> int:
    """Trainable parameters of the standalone network (BatchNorm affine parameters included)."""
    return _count(arch, num_classes, (64, 64))[0]


def count_flops(arch: Arch, num_classes: int, input_size: tuple[int, int]) -> int:
    """Multiply-accumulates of one forward pass on a (height, width) input, batch 1."""
    height, width = input_size
    if height < 1 or width < 1:
        raise ValueError(f"input_size = {input_size!r}, expected positive (height, width)")
    return _count(arch, num_classes, (height, width))[1]
