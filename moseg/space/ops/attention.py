"""The pooled multi-head self-attention family, followed by an inverted-residual feed-forward."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from moseg.space.layer_cost import conv_cost, inverted_residual_cost, sum_costs
from moseg.space.ops.base import BlockSpec, Operator, register_operator


@dataclass(frozen=True)
class AttentionBlock(BlockSpec):
    """Multi-head self-attention whose keys/values are pooled to at most kv_pool x kv_pool tokens, so memory
    grows linearly with the number of pixels; followed by an inverted-residual feed-forward (3x3 depthwise)."""

    heads: int
    head_dim: int
    kv_pool: int
    expand: int
    op: ClassVar[str] = "attention"


@register_operator
class Attention(Operator):
    block = AttentionBlock
    choices = {"heads": (1, 2, 4), "head_dim": (16, 32), "kv_pool": (8, 16), "expand": (2, 4, 6)}

    def label(self, block: AttentionBlock) -> str:
        return f"attention h{block.heads} hd{block.head_dim} kv{block.kv_pool} e{block.expand}"

    def cost(self, block: AttentionBlock, width: int, size: tuple[int, int]) -> tuple[int, int]:
        pixels = size[0] * size[1]
        inner = block.heads * block.head_dim
        tokens = min(block.kv_pool, size[0]) * min(block.kv_pool, size[1])
        params, macs = sum_costs(  # q on every pixel; k and v on pooled tokens; output projection back to width
            conv_cost(width, inner, 1, pixels, bn=False),
            conv_cost(width, inner, 1, tokens, bn=False),
            conv_cost(width, inner, 1, tokens, bn=False),
            conv_cost(inner, width, 1, pixels),
            inverted_residual_cost(width, block.expand, 3, pixels),  # the feed-forward
        )
        params += 2 * width  # the pre-norm BatchNorm
        macs += 2 * block.heads * pixels * tokens * block.head_dim  # q @ k^T and attention @ v
        return params, macs
