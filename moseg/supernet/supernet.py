"""The one-shot weight-sharing supernet: one set of weights for every network of a `SearchSpace`."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from moseg.space import Arch, SearchSpace
from moseg.supernet.blocks import ChoiceBlock, ConvBN, InvertedResidual, PooledSelfAttention
from moseg.supernet.layers import ElasticConv2d
from moseg.supernet.network import Branch, Head, SegmentationNetwork, Stem

ArchLike = Arch | np.ndarray | Sequence[int]


class Supernet(SegmentationNetwork):
    """Elastic depth, width, kernel size, dilation and expansion; head-structured attention weights; sliced
    BatchNorm. `set_active` chooses the sub-network that `forward` runs; `extract` copies it out.

    Block positions hold one block per operator family; widths, kernels and heads are leading slices of the
    largest, so a small network's weights are a prefix of a large one's.
    """

    def __init__(self, space: SearchSpace, num_classes: int) -> None:
        if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
            raise ValueError(f"num_classes = {num_classes!r}, expected a positive integer")
        widths = [max(w) for w in space.branch_widths]
        stem_width = max(space.stem_widths)
        head_width = max(space.head_widths)

        def blocks(width: int) -> list[ChoiceBlock]:
            return [
                ChoiceBlock(width, max(space.kernels), max(space.expand_ratios), max(space.heads),
                            max(space.head_dims), max(space.kv_pools))
                for _ in range(space.max_depth)
            ]

        stem = Stem([ConvBN.elastic(3, stem_width, 3, 2), ConvBN.elastic(stem_width, stem_width, 3, 2),
                     ConvBN.elastic(stem_width, widths[0], 3, 2)])
        hr = Branch(None, blocks(widths[0]), None, None)
        lower = [
            Branch(ConvBN.elastic(widths[b - 1], widths[b], 3, 2), blocks(widths[b]),
                   ConvBN.elastic(widths[b], widths[0], 1, relu=False), 0)
            for b in range(1, space.num_branches)
        ]
        head = Head(ConvBN.elastic(widths[0], head_width, 3), ElasticConv2d(head_width, num_classes, 1, bias=True))
        super().__init__(stem, hr, lower, head)
        self.space, self.num_classes = space, num_classes
        self._init_for_training()
        self.set_active(space.max_arch())

    @torch.no_grad()
    def _init_for_training(self) -> None:
        """Every residual branch and lower-branch fusion starts as a no-op (its last BatchNorm scale is zero,
        as BigNAS recommends for training big and small sub-networks together), and the classifier starts
        near zero, so every sub-network starts at uniform class probabilities with a well-scaled gradient."""
        for module in self.modules():
            if isinstance(module, InvertedResidual):
                module.pw_project.bn.weight.zero_()
            elif isinstance(module, PooledSelfAttention):
                module.out_bn.weight.zero_()
        for branch in self.lower:
            branch.fuse.bn.weight.zero_()
        nn.init.normal_(self.head.classifier.weight, std=0.01)

    def set_active(self, arch: ArchLike) -> Arch:
        """Make `arch` (an Arch or a gene vector) the sub-network that `forward` runs; returns the Arch."""
        if isinstance(arch, Arch):
            self.space.encode(arch)  # raises ValueError for any value the space does not offer
        else:
            arch = self.space.decode(arch)  # validates the vector
        self.configure(arch)
        self.active_arch = arch
        return arch

    def sample_active(self, rng: np.random.Generator | int | None = None) -> Arch:
        """Activate a hierarchically sampled arch (network level, then per block the family uniformly, then
        its configuration uniformly; see `SearchSpace.sample`) and return it."""
        return self.set_active(self.space.sample(1, rng)[0])

    def activate_max(self) -> Arch:
        """Activate the largest network (the sandwich rule's upper bound)."""
        return self.set_active(self.space.max_arch())

    def activate_min(self) -> Arch:
        """Activate the smallest network (the sandwich rule's lower bound)."""
        return self.set_active(self.space.min_arch())

    def extract(self, arch: ArchLike | None = None) -> SegmentationNetwork:
        """A standalone network (plain PyTorch layers, copied weights) for `arch`, or for the active arch when
        `arch` is None. The supernet's active arch is left as it was."""
        previous = self.active_arch
        if arch is not None:
            self.set_active(arch)
        try:
            with torch.no_grad():
                return super().extract()
        finally:  # the arch that was active is valid: reconfigure without checking it again
            self.configure(previous)
            self.active_arch = previous
