"""Analytic parameter and FLOP counts of a decoded network, without building or running it.

FLOPs follow the convention of most real-time segmentation papers: one multiply-accumulate counts as one
FLOP, over convolutions and the two attention matrix products; BatchNorm (foldable into the convolution),
activations, pooling, additions and bilinear upsampling are not counted. The network these formulas describe
is `moseg.supernet.network.SegmentationNetwork`; tests compare the two on extracted networks.
"""

from __future__ import annotations

from moseg.space.arch import Arch, AttentionBlock, Block, ConvBlock

STEM_LAYERS = 3  # three stride-2 3x3 convolutions take the input to 1/8


def _conv(cin: int, cout: int, k: int, pixels: int, groups: int = 1, bn: bool = True, bias: bool = False):
    """(params, MACs) of a k x k convolution producing `pixels` output positions, plus its BatchNorm."""
    params = cout * (cin // groups) * k * k + (2 * cout if bn else 0) + (cout if bias else 0)
    return params, pixels * cout * (cin // groups) * k * k


def _downsample(size: tuple[int, int]) -> tuple[int, int]:
    """Output size of a stride-2, padding-1 3x3 convolution."""
    return (size[0] + 1) // 2, (size[1] + 1) // 2


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


def _count(arch: Arch, num_classes: int, input_size: tuple[int, int]) -> tuple[int, int]:
    total_params = total_macs = 0

    def add(cost: tuple[int, int]) -> None:
        nonlocal total_params, total_macs
        total_params += cost[0]
        total_macs += cost[1]

    size, cin = input_size, 3
    widths = [arch.stem_width] * (STEM_LAYERS - 1) + [arch.branches[0].width]
    for cout in widths:
        size = _downsample(size)
        add(_conv(cin, cout, 3, size[0] * size[1]))
        cin = cout
    hr_size, hr_width = size, cin
    for block in arch.branches[0].blocks:
        add(_block(block, hr_width, hr_size))
    for branch in arch.branches[1:]:
        size = _downsample(size)
        add(_conv(cin, branch.width, 3, size[0] * size[1]))
        for block in branch.blocks:
            add(_block(block, branch.width, size))
        add(_conv(branch.width, hr_width, 1, size[0] * size[1]))  # fusion projection, before upsampling
        cin = branch.width
    hr_pixels = hr_size[0] * hr_size[1]
    add(_conv(hr_width, arch.head_width, 3, hr_pixels))
    add(_conv(arch.head_width, num_classes, 1, hr_pixels, bn=False, bias=True))
    return total_params, total_macs


def count_params(arch: Arch, num_classes: int) -> int:
    """Trainable parameters of the standalone network (BatchNorm affine parameters included)."""
    return _count(arch, num_classes, (64, 64))[0]


def count_flops(arch: Arch, num_classes: int, input_size: tuple[int, int]) -> int:
    """Multiply-accumulates of one forward pass on a (height, width) input, batch 1."""
    height, width = input_size
    if height < 1 or width < 1:
        raise ValueError(f"input_size = {input_size!r}, expected positive (height, width)")
    return _count(arch, num_classes, (height, width))[1]
