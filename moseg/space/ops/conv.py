"""The inverted-residual convolution family: 1x1 expand, k x k depthwise (dilated), 1x1 project, residual."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from moseg.space.layer_cost import inverted_residual_cost
from moseg.space.ops.base import BlockSpec, Operator, register_operator


@dataclass(frozen=True)
class ConvBlock(BlockSpec):
    """Inverted-residual convolution: 1x1 expand, k x k depthwise (dilated), 1x1 project, residual."""

    kernel: int
    dilation: int
    expand: int
    op: ClassVar[str] = "conv"


@register_operator
class Conv(Operator):
    block = ConvBlock
    choices = {"kernel": (3, 5, 7), "dilation": (1, 2), "expand": (2, 4, 6)}

    def check_choices(self, gene: str, values: tuple[int, ...]) -> str | None:
        return "expected odd kernel sizes" if gene == "kernel" and any(v % 2 == 0 for v in values) else None

    def label(self, block: ConvBlock) -> str:
        return f"conv k{block.kernel} d{block.dilation} e{block.expand}"

    def cost(self, block: ConvBlock, width: int, size: tuple[int, int]) -> tuple[int, int]:
        return inverted_residual_cost(width, block.expand, block.kernel, size[0] * size[1])
