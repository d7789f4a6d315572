"""Building blocks of the segmentation network.

Every block is written once and runs either on elastic layers (inside the supernet, resized by
`configure`) or on plain PyTorch layers (in an extracted network, made by `extract`): the forward code is the
same in both, so an extracted network computes what the supernet computes.

Each operator family of the search space (`moseg.space.ops`) has its module registered here under its op name
(`register_block_module`): a class with `build(width, choices)` (the elastic block that holds every
configuration of the family, `choices` being the space's choices of each of its genes), `configure(width,
block)` (make one configuration active), `forward` and `extract` (a plain copy of the active configuration); and,
for a block with a residual branch, optionally `start_as_identity()`, which zeroes the branch's last BatchNorm
scale for training (`moseg.nn.supernet.init_for_training`).
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
import torch.nn.functional as F
from torch import nn

from moseg.core.registry import Registry
from moseg.nn.layers import ElasticBatchNorm2d, ElasticConv2d, HeadConv1x1
from moseg.space import SearchSpace
from moseg.space.arch import AttentionBlock, Block, ConvBlock

BLOCK_MODULES: Registry[type[nn.Module]] = Registry("block module")


def register_block_module(op: str):
    """Class decorator: the supernet module of the operator family `op` (see the module docstring)."""
    return BLOCK_MODULES.register(op)


class ConvBN(nn.Module):
    """Convolution, BatchNorm and (optionally) ReLU."""

    def __init__(self, conv: nn.Module, bn: nn.Module, relu: bool = True) -> None:
        super().__init__()
        self.conv, self.bn, self.relu = conv, bn, relu

    @classmethod
    def elastic(
        cls, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1,
        depthwise: bool = False, relu: bool = True,
    ) -> ConvBN:
        conv = ElasticConv2d(in_channels, out_channels, kernel_size, stride, depthwise)
        return cls(conv, ElasticBatchNorm2d(out_channels), relu)

    def configure(self, in_channels: int, out_channels: int, kernel_size: int | None = None, dilation: int = 1) -> None:
        self.conv.configure(in_channels, out_channels, kernel_size, dilation)
        self.bn.configure(out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.bn(self.conv(x))
        return F.relu(x) if self.relu else x

    def extract(self) -> ConvBN:
        return ConvBN(self.conv.extract(), self.bn.extract(), self.relu)


@register_block_module(ConvBlock.op)
class InvertedResidual(nn.Module):
    """1x1 expansion, k x k depthwise (dilated) convolution, 1x1 projection, identity shortcut."""

    def __init__(self, pw_expand: ConvBN, dw: ConvBN, pw_project: ConvBN) -> None:
        super().__init__()
        self.pw_expand, self.dw, self.pw_project = pw_expand, dw, pw_project

    @classmethod
    def elastic(cls, width: int, max_expand: int, max_kernel: int) -> InvertedResidual:
        hidden = width * max_expand
        return cls(
            ConvBN.elastic(width, hidden, 1),
            ConvBN.elastic(hidden, hidden, max_kernel, depthwise=True),
            ConvBN.elastic(hidden, width, 1, relu=False),
        )

    @classmethod
    def build(cls, width: int, choices: Mapping[str, tuple[int, ...]]) -> InvertedResidual:
        return cls.elastic(width, max(choices["expand"]), max(choices["kernel"]))

    def configure(self, width: int, spec: ConvBlock) -> None:
        hidden = width * spec.expand
        self.pw_expand.configure(width, hidden)
        self.dw.configure(hidden, hidden, spec.kernel, spec.dilation)
        self.pw_project.configure(hidden, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.pw_project(self.dw(self.pw_expand(x)))

    def start_as_identity(self) -> None:
        self.pw_project.bn.weight.zero_()

    def extract(self) -> InvertedResidual:
        return InvertedResidual(self.pw_expand.extract(), self.dw.extract(), self.pw_project.extract())


class TokenAttention(nn.Module):
    """Softmax attention of queries over keys/values, (batch, heads, tokens, dim) layout. A module of its own
    so that cost-counting hooks see the two matrix products."""

    def forward(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        return F.scaled_dot_product_attention(q, k, v)

    def extract(self) -> TokenAttention:
        return TokenAttention()


@register_block_module(AttentionBlock.op)
class PooledSelfAttention(nn.Module):
    """Multi-head self-attention whose keys and values come from the feature map average-pooled to at most
    kv_pool x kv_pool tokens: memory and time grow linearly with the pixels, so it can run at 1/8
    resolution. Followed by an inverted-residual feed-forward with a 3x3 depthwise convolution, which also
    gives the block its sense of position."""

    def __init__(
        self, norm: nn.Module, q: nn.Module, k: nn.Module, v: nn.Module, out_proj: nn.Module, out_bn: nn.Module,
        ffn: InvertedResidual, heads: int, head_dim: int, kv_pool: int,
    ) -> None:
        super().__init__()
        self.norm, self.q, self.k, self.v = norm, q, k, v
        self.attend = TokenAttention()
        self.out_proj, self.out_bn, self.ffn = out_proj, out_bn, ffn
        self.heads, self.head_dim, self.kv_pool = heads, head_dim, kv_pool

    @classmethod
    def elastic(
        cls, width: int, max_heads: int, max_head_dim: int, max_kv_pool: int, max_expand: int
    ) -> PooledSelfAttention:
        def projection(to_heads: bool) -> HeadConv1x1:
            return HeadConv1x1(width, max_heads, max_head_dim, to_heads)

        return cls(
            ElasticBatchNorm2d(width), projection(True), projection(True), projection(True),
            projection(False), ElasticBatchNorm2d(width), InvertedResidual.elastic(width, max_expand, 3),
            max_heads, max_head_dim, max_kv_pool,
        )

    @classmethod
    def build(cls, width: int, choices: Mapping[str, tuple[int, ...]]) -> PooledSelfAttention:
        return cls.elastic(width, max(choices["heads"]), max(choices["head_dim"]), max(choices["kv_pool"]),
                           max(choices["expand"]))

    def configure(self, width: int, spec: AttentionBlock) -> None:
        self.norm.configure(width)
        for projection in (self.q, self.k, self.v, self.out_proj):
            projection.configure(width, spec.heads, spec.head_dim)
        self.out_bn.configure(width)
        self.ffn.configure(width, ConvBlock(kernel=3, dilation=1, expand=spec.expand))
        self.heads, self.head_dim, self.kv_pool = spec.heads, spec.head_dim, spec.kv_pool

    def _split_heads(self, t: torch.Tensor) -> torch.Tensor:
        """(B, heads*dim, H, W) -> (B, heads, H*W, dim), heads-major as the projections lay them out."""
        b, _, h, w = t.shape
        return t.reshape(b, self.heads, self.head_dim, h * w).transpose(2, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, _, h, w = x.shape
        y = self.norm(x)
        pooled = F.adaptive_avg_pool2d(y, (min(self.kv_pool, h), min(self.kv_pool, w)))
        q, k, v = self._split_heads(self.q(y)), self._split_heads(self.k(pooled)), self._split_heads(self.v(pooled))
        out = self.attend(q, k, v)
        out = out.transpose(2, 3).reshape(b, self.heads * self.head_dim, h, w)
        return self.ffn(x + self.out_bn(self.out_proj(out)))

    def start_as_identity(self) -> None:
        self.out_bn.weight.zero_()  # the feed-forward, an InvertedResidual, starts as one by its own method

    def extract(self) -> PooledSelfAttention:
        parts = (self.norm, self.q, self.k, self.v, self.out_proj, self.out_bn, self.ffn)
        return PooledSelfAttention(*(m.extract() for m in parts), self.heads, self.head_dim, self.kv_pool)


class ChoiceBlock(nn.Module):
    """One block position of the supernet: holds one block of every operator family of the space and runs the
    active one. Families share no weights; within a family every configuration shares them."""

    def __init__(self, width: int, space: SearchSpace) -> None:
        super().__init__()
        self.ops = nn.ModuleDict({op: BLOCK_MODULES[op].build(width, space.op_choices(op)) for op in space.ops})
        self.active = space.ops[0]

    def configure(self, width: int, spec: Block) -> None:
        self.ops[spec.op].configure(width, spec)
        self.active = spec.op

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.ops[self.active](x)

    def extract(self) -> nn.Module:
        return self.ops[self.active].extract()
