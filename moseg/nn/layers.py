"""Elastic layers: one set of maximum-size weights, of which a configured sub-network uses a slice.

Each layer is configured with the active sizes (`configure`), runs on the slice (`forward`), and exports a
plain PyTorch layer holding a copy of that slice (`extract`), so the standalone network computes exactly what
the supernet computes with the same arch active.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def _check_active(name: str, value: int, maximum: int) -> int:
    if not 1 <= value <= maximum:
        raise ValueError(f"{name} = {value}, expected 1 to {maximum} (the supernet's maximum)")
    return value


class ElasticConv2d(nn.Module):
    """Convolution with elastic input/output channels (leading slices), kernel size (centre slice of the
    largest kernel) and dilation (same weights, wider sampling). `depthwise` ties groups to channels."""

    def __init__(
        self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1,
        depthwise: bool = False, bias: bool = False,
    ) -> None:
        super().__init__()
        self.max_in, self.max_out, self.max_kernel = in_channels, out_channels, kernel_size
        self.stride, self.depthwise = stride, depthwise
        self.weight = nn.Parameter(torch.empty(out_channels, 1 if depthwise else in_channels, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        nn.init.kaiming_normal_(self.weight, mode="fan_out", nonlinearity="relu")
        self.configure(in_channels, out_channels, kernel_size, 1)

    def configure(self, in_channels: int, out_channels: int, kernel_size: int | None = None, dilation: int = 1) -> None:
        kernel_size = self.max_kernel if kernel_size is None else kernel_size
        if self.depthwise and in_channels != out_channels:
            raise ValueError(f"depthwise: in_channels ({in_channels}) must equal out_channels ({out_channels})")
        if kernel_size % 2 == 0:
            raise ValueError(f"kernel_size = {kernel_size}, expected an odd size")
        self.in_channels = _check_active("in_channels", in_channels, self.max_in)
        self.out_channels = _check_active("out_channels", out_channels, self.max_out)
        self.kernel_size = _check_active("kernel_size", kernel_size, self.max_kernel)
        self.dilation = dilation

    def active_weight(self) -> torch.Tensor:
        start = (self.max_kernel - self.kernel_size) // 2
        end = start + self.kernel_size
        in_slice = 1 if self.depthwise else self.in_channels
        return self.weight[: self.out_channels, :in_slice, start:end, start:end]

    def _conv_args(self) -> dict:
        return {
            "stride": self.stride,
            "padding": self.dilation * (self.kernel_size - 1) // 2,
            "dilation": self.dilation,
            "groups": self.out_channels if self.depthwise else 1,
        }

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        bias = None if self.bias is None else self.bias[: self.out_channels]
        return F.conv2d(x, self.active_weight(), bias, **self._conv_args())

    @torch.no_grad()
    def extract(self) -> nn.Conv2d:
        w = self.weight
        conv = nn.Conv2d(
            self.in_channels, self.out_channels, self.kernel_size, bias=self.bias is not None,
            device=w.device, dtype=w.dtype, **self._conv_args(),
        )
        conv.weight.copy_(self.active_weight())
        if self.bias is not None:
            conv.bias.copy_(self.bias[: self.out_channels])
        return conv


class ElasticBatchNorm2d(nn.BatchNorm2d):
    """BatchNorm whose affine parameters and running statistics are sliced to the active channels, so each
    width keeps (and recalibration re-estimates) statistics in the same leading slots."""

    def __init__(self, num_features: int) -> None:
        super().__init__(num_features)
        self.channels = num_features

    def configure(self, channels: int) -> None:
        self.channels = _check_active("channels", channels, self.num_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c = self.channels
        factor = 0.0
        if self.training and self.track_running_stats:
            self.num_batches_tracked.add_(1)
            factor = 1.0 / float(self.num_batches_tracked) if self.momentum is None else self.momentum
        use_batch_stats = self.training or self.running_mean is None
        return F.batch_norm(
            x, self.running_mean[:c], self.running_var[:c], self.weight[:c], self.bias[:c],
            use_batch_stats, factor, self.eps,
        )

    @torch.no_grad()
    def extract(self) -> nn.BatchNorm2d:
        c = self.channels
        bn = nn.BatchNorm2d(c, self.eps, self.momentum, device=self.weight.device, dtype=self.weight.dtype)
        for name in ("weight", "bias", "running_mean", "running_var"):
            getattr(bn, name).copy_(getattr(self, name)[:c])
        bn.num_batches_tracked.copy_(self.num_batches_tracked)
        return bn


class HeadConv1x1(nn.Module):
    """1x1 projection into (`to_heads=True`) or out of (`to_heads=False`) a multi-head layout.

    The weight is stored head-structured, (heads, head_dim, channels) or (channels, heads, head_dim), and a
    sub-network with h heads of dimension d uses heads[:h], dims[:d]: its head i is a prefix of the full
    network's head i. Slicing the flattened heads*head_dim axis instead would mix heads.
    """

    def __init__(self, channels: int, heads: int, head_dim: int, to_heads: bool) -> None:
        super().__init__()
        self.to_heads = to_heads
        self.max_channels, self.max_heads, self.max_head_dim = channels, heads, head_dim
        shape = (heads, head_dim, channels) if to_heads else (channels, heads, head_dim)
        self.weight = nn.Parameter(torch.empty(shape))
        fan_in = channels if to_heads else heads * head_dim
        nn.init.normal_(self.weight, std=1.0 / math.sqrt(fan_in))
        self.configure(channels, heads, head_dim)

    def configure(self, channels: int, heads: int, head_dim: int) -> None:
        self.channels = _check_active("channels", channels, self.max_channels)
        self.heads = _check_active("heads", heads, self.max_heads)
        self.head_dim = _check_active("head_dim", head_dim, self.max_head_dim)

    def active_weight(self) -> torch.Tensor:
        """The active slice as a (out, in, 1, 1) convolution weight, heads-major on the multi-head side."""
        c, h, d = self.channels, self.heads, self.head_dim
        if self.to_heads:
            return self.weight[:h, :d, :c].reshape(h * d, c, 1, 1)
        return self.weight[:c, :h, :d].reshape(c, h * d, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.active_weight())

    @torch.no_grad()
    def extract(self) -> nn.Conv2d:
        w = self.active_weight()
        conv = nn.Conv2d(w.shape[1], w.shape[0], 1, bias=False, device=w.device, dtype=w.dtype)
        conv.weight.copy_(w)
        return conv


def extract(module: nn.Module | None) -> nn.Module | None:
    """Standalone copy of an elastic module's active part (None stays None)."""
    return None if module is None else module.extract()
