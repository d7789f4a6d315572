"""The multi-resolution segmentation network that every arch of the space describes.

A stride-8 stem feeds the high-resolution (1/8) branch. A chain of lower branches (1/16, 1/32, 1/64) each
takes the previous one's output through a stride-2 convolution; each lower branch is projected to the 1/8
width, upsampled, and added into the 1/8 stream after the high-resolution block its arch names. A light head
(3x3 convolution, 1x1 classifier) turns the 1/8 stream into logits, upsampled to the input size.
`moseg.space.complexity` counts this graph analytically.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from moseg.nn.blocks import ConvBN
from moseg.nn.layers import extract
from moseg.space.arch import Arch
from moseg.space.arch import Branch as BranchSpec


def upsample(x: torch.Tensor, size: tuple[int, int] | torch.Size) -> torch.Tensor:
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False)


class Stem(nn.Module):
    """Three stride-2 3x3 convolutions: input to 1/8 resolution."""

    def __init__(self, layers: list[ConvBN]) -> None:
        super().__init__()
        self.layers = nn.ModuleList(layers)

    def configure(self, stem_width: int, out_width: int) -> None:
        widths = [3] + [stem_width] * (len(self.layers) - 1) + [out_width]
        for layer, cin, cout in zip(self.layers, widths[:-1], widths[1:], strict=True):
            layer.configure(cin, cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = layer(x)
        return x

    def extract(self) -> Stem:
        return Stem([layer.extract() for layer in self.layers])


class Branch(nn.Module):
    """A resolution stream: optional stride-2 transition in, `depth` blocks, optional fusion projection out."""

    def __init__(
        self, transition: ConvBN | None, blocks: list[nn.Module], fuse: ConvBN | None, fuse_after: int | None,
    ) -> None:
        super().__init__()
        self.transition, self.fuse = transition, fuse
        self.blocks = nn.ModuleList(blocks)
        self.depth, self.fuse_after = len(blocks), fuse_after

    def configure(self, in_width: int, spec: BranchSpec, hr_width: int) -> None:
        if self.transition is not None:
            self.transition.configure(in_width, spec.width)
        for block, block_spec in zip(self.blocks, spec.blocks, strict=False):  # blocks beyond the depth stay idle
            block.configure(spec.width, block_spec)
        if self.fuse is not None:
            self.fuse.configure(spec.width, hr_width)
        self.depth, self.fuse_after = spec.depth, spec.fuse_after

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.transition is not None:
            x = self.transition(x)
        for block in self.blocks[: self.depth]:
            x = block(x)
        return x

    def extract(self) -> Branch:
        blocks = [block.extract() for block in self.blocks[: self.depth]]
        return Branch(extract(self.transition), blocks, extract(self.fuse), self.fuse_after)


class Head(nn.Module):
    """3x3 convolution then a 1x1 classifier on the fused 1/8 features; logits upsampled to the input size."""

    def __init__(self, conv: ConvBN, classifier: nn.Module) -> None:
        super().__init__()
        self.conv, self.classifier = conv, classifier

    def configure(self, in_width: int, head_width: int) -> None:
        self.conv.configure(in_width, head_width)
        self.classifier.configure(head_width, self.classifier.max_out)

    def forward(self, x: torch.Tensor, size: torch.Size | None) -> torch.Tensor:
        """Logits upsampled to `size`, or at 1/8 resolution when `size` is None."""
        logits = self.classifier(self.conv(x))
        return logits if size is None else upsample(logits, size)

    def extract(self) -> Head:
        return Head(self.conv.extract(), self.classifier.extract())


def set_final_upsample(model: nn.Module, final_upsample: bool) -> None:
    """Make `model` output logits at the input size (True) or at 1/8 resolution (False, moseg networks only),
    as latency measurements and exports must state."""
    if final_upsample:
        return
    if not hasattr(model, "upsample_output"):
        raise ValueError("final_upsample = False needs a moseg network (with `upsample_output`); got "
                         f"{type(model).__name__}")
    model.upsample_output = False


class SegmentationNetwork(nn.Module):
    """Stem, the 1/8 branch, the first `n_lower` lower branches, head. Input (B, 3, H, W), output logits
    (B, num_classes, H, W); with `upsample_output` False, logits at 1/8 resolution (latency is then
    measured without the final upsampling, as some papers report it)."""

    def __init__(self, stem: Stem, hr: Branch, lower: list[Branch], head: Head, n_lower: int | None = None) -> None:
        super().__init__()
        self.stem, self.hr, self.head = stem, hr, head
        self.lower = nn.ModuleList(lower)
        self.n_lower = len(lower) if n_lower is None else n_lower
        self.upsample_output = True

    def configure(self, arch: Arch) -> None:
        """Resize every elastic layer to `arch` (only meaningful on elastic layers, i.e. in the supernet)."""
        hr_spec = arch.branches[0]
        self.stem.configure(arch.stem_width, hr_spec.width)
        self.hr.configure(hr_spec.width, hr_spec, hr_spec.width)
        in_width = hr_spec.width
        for branch, spec in zip(self.lower, arch.branches[1:], strict=False):  # absent branches stay idle
            branch.configure(in_width, spec, hr_spec.width)
            in_width = spec.width
        self.head.configure(hr_spec.width, arch.head_width)
        self.n_lower = len(arch.branches) - 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size = x.shape[-2:]
        h = self.stem(x)
        lower_out, y = [], h
        for branch in self.lower[: self.n_lower]:
            y = branch(y)
            lower_out.append((branch, y))
        for position in range(self.hr.depth + 1):
            if position > 0:
                h = self.hr.blocks[position - 1](h)
            for branch, y in lower_out:
                if branch.fuse_after == position:
                    h = h + upsample(branch.fuse(y), h.shape[-2:])
        return self.head(h, size if self.upsample_output else None)

    def extract(self) -> SegmentationNetwork:
        """A standalone network of plain PyTorch layers holding copies of the active weights only."""
        lower = [branch.extract() for branch in self.lower[: self.n_lower]]
        net = SegmentationNetwork(self.stem.extract(), self.hr.extract(), lower, self.head.extract())
        return net.train(self.training)
