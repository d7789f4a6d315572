"""Analytic parameter and FLOP counts of a decoded network, without building or running it.

FLOPs follow the convention of most real-time segmentation papers: one multiply-accumulate counts as one
FLOP, over convolutions and the two attention matrix products; BatchNorm (foldable into the convolution),
activations, pooling, additions and bilinear upsampling are not counted. The parts counted are those of
`moseg.space.topology.network_parts`, the one enumeration of the network; tests check that the network
(`moseg.supernet.network`) runs exactly those parts and compare the counts with the extracted networks.
"""

from __future__ import annotations

from moseg.space.arch import Arch, AttentionBlock, Block, ConvBlock
from moseg.space.topology import STEM_LAYERS, Part, halved, network_parts


def _conv(cin: int, cout: int, k: int, pixels: int, groups: int = 1, bn: bool = True, bias: bool = False):
    """(params, MACs) of a k x k convolution producing `pixels` output positions, plus its BatchNorm."""
    params = cout * (cin // groups) * k * k + (2 * cout if bn else 0) + (cout if bias else 0)
    return params, pixels * cout * (cin // groups) * k * k


def _block(block: Block, width: int, size: tuple[int, int]) -> tuple[int, int]:
    pixels = size[0] * size[1]
    if isinstance(block, ConvBlock):
        return _inverted_residual(width, block.expand, block.kernel, pixels)
    assert isinstance(block, AttentionBlock)
    inner = block.heads * block.head_dim
    tokens = min(block.kv_pool, size[0]) * min(block.kv_pool, size[1])
    params, macs = 2 * width, 0  # pre-norm BatchNorm
    for cost in (  # q on every pixel; k and v on pooled tokens; output projection back to width
        _conv(width, inner, 1, pixels, bn=False),
        _conv(width, inner, 1, tokens, bn=False),
        _conv(width, inner, 1, tokens, bn=False),
        _conv(inner, width, 1, pixels),
    ):
        params, macs = params + cost[0], macs + cost[1]
    macs += 2 * block.heads * pixels * tokens * block.head_dim  # q @ k^T and attention @ v
    ffn = _inverted_residual(width, block.expand, 3, pixels)
    return params + ffn[0], macs + ffn[1]


def _inverted_residual(width: int, expand: int, kernel: int, pixels: int) -> tuple[int, int]:
    hidden = width * expand
    parts = (
        _conv(width, hidden, 1, pixels),
        _conv(hidden, hidden, kernel, pixels, groups=hidden),
        _conv(hidden, width, 1, pixels),
    )
    return sum(p for p, _ in parts), sum(m for _, m in parts)


def part_cost(part: Part) -> tuple[int, int]:
    """(params, MACs) of one part of the network."""
    _, h, w = part.input_shape
    if part.kind == "block":
        return _block(part.block, part.widths[0], (h, w))
    if part.kind == "stem":
        stem_width, out_width = part.widths
        size, cin, params, macs = (h, w), 3, 0, 0
        for cout in [stem_width] * (STEM_LAYERS - 1) + [out_width]:
            size = halved(size)
            cost = _conv(cin, cout, 3, size[0] * size[1])
            params, macs, cin = params + cost[0], macs + cost[1], cout
        return params, macs
    if part.kind == "transition":
        out = halved((h, w))
        return _conv(part.widths[0], part.widths[1], 3, out[0] * out[1])
    if part.kind == "fuse":  # the projection, before upsampling
        return _conv(part.widths[0], part.widths[1], 1, h * w)
    assert part.kind == "head", part.kind
    in_width, head_width, num_classes = part.widths
    conv, classifier = _conv(in_width, head_width, 3, h * w), _conv(head_width, num_classes, 1, h * w, bn=False,
                                                                     bias=True)
    return conv[0] + classifier[0], conv[1] + classifier[1]


def _count(arch: Arch, num_classes: int, input_size: tuple[int, int]) -> tuple[int, int]:
    costs = [part_cost(part) for part in network_parts(arch, num_classes, input_size)]
    return sum(p for p, _ in costs), sum(m for _, m in costs)


def count_params(arch: Arch, num_classes: int) -> int:
    """Trainable parameters of the standalone network (BatchNorm affine parameters included)."""
    return _count(arch, num_classes, (64, 64))[0]


def count_flops(arch: Arch, num_classes: int, input_size: tuple[int, int]) -> int:
    """Multiply-accumulates of one forward pass on a (height, width) input, batch 1."""
    height, width = input_size
    if height < 1 or width < 1:
        raise ValueError(f"input_size = {input_size!r}, expected positive (height, width)")
    return _count(arch, num_classes, (height, width))[1]
