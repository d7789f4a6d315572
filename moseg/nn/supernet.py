"""The one-shot weight-sharing supernet: one set of weights for every network of a `SearchSpace`; and one network
of it built alone, at its own size, for training from scratch."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import nn

from moseg.nn.blocks import BLOCK_MODULES, ChoiceBlock, ConvBN
from moseg.nn.layers import ElasticConv2d
from moseg.nn.network import Branch, Head, SegmentationNetwork, Stem
from moseg.space import Arch, Block, SearchSpace
from moseg.space.ops import OPERATORS

ArchLike = Arch | np.ndarray | Sequence[int]


def check_num_classes(num_classes: int) -> None:
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
        raise ValueError(f"num_classes = {num_classes!r}, expected a positive integer")


def elastic_skeleton(stem_width: int, widths: Sequence[int], head_width: int, num_classes: int,
                     blocks: Callable[[int, int], list[nn.Module]]) -> tuple[Stem, Branch, list[Branch], Head]:
    """Stem, 1/8 branch, lower branches and head of elastic layers at the given (maximum) widths; `blocks(branch,
    width)` makes each branch's blocks. Built in the order the network runs, so the random initialisation draws are
    taken in that order."""
    stem = Stem([ConvBN.elastic(3, stem_width, 3, 2), ConvBN.elastic(stem_width, stem_width, 3, 2),
                 ConvBN.elastic(stem_width, widths[0], 3, 2)])
    hr = Branch(None, blocks(0, widths[0]), None, None)
    lower = [
        Branch(ConvBN.elastic(widths[b - 1], widths[b], 3, 2), blocks(b, widths[b]),
               ConvBN.elastic(widths[b], widths[0], 1, relu=False), 0)
        for b in range(1, len(widths))
    ]
    head = Head(ConvBN.elastic(widths[0], head_width, 3), ElasticConv2d(head_width, num_classes, 1, bias=True))
    return stem, hr, lower, head


@torch.no_grad()
def init_for_training(net: SegmentationNetwork) -> None:
    """Every residual branch and lower-branch fusion starts as a no-op (its last BatchNorm scale is zero, as BigNAS
    recommends for training big and small sub-networks together), and the classifier starts near zero, so every
    network starts at uniform class probabilities with a well-scaled gradient."""
    for module in net.modules():
        if hasattr(module, "start_as_identity"):  # a block module (see moseg.nn.blocks) with a residual branch
            module.start_as_identity()
    for branch in net.lower:
        branch.fuse.bn.weight.zero_()
    nn.init.normal_(net.head.classifier.weight, std=0.01)


def build_network(arch: Arch, num_classes: int, space: SearchSpace | None = None) -> SegmentationNetwork:
    """The standalone network of `arch` (plain PyTorch layers), initialised for training from scratch as the supernet
    initialises its sub-networks, without building the supernet.

    With `space` (which must offer every value of `arch`), each layer is drawn at the size of the supernet's layer at
    its position and sliced, so the network starts from the weights' distribution that a network extracted from a
    fresh supernet of `space` has; only the network's own layers are built. Without, each layer is drawn at its own
    size (enough when trained weights are loaded next). At 250 steps of the demo's recipe, drawing at their own size
    cost the smallest network 4.2 points of mIoU (benchmarks/standalone_init.py)."""
    check_num_classes(num_classes)
    if space is not None:
        space.encode(arch)  # raises ValueError for any value the space does not offer

    def block_at_position(width: int, block: Block) -> nn.Module:
        choices = space.op_choices(block.op) if space is not None else {
            gene: (getattr(block, gene),) for gene in OPERATORS[block.op].genes}
        return BLOCK_MODULES[block.op].build(width, choices)

    n = len(arch.branches)
    if space is None:
        stem, widths, head = arch.stem_width, [b.width for b in arch.branches], arch.head_width
    else:
        stem, widths, head = (max(space.stem_widths), [max(w) for w in space.branch_widths[:n]],
                              max(space.head_widths))
    net = SegmentationNetwork(*elastic_skeleton(
        stem, widths, head, num_classes,
        lambda branch, width: [block_at_position(width, block) for block in arch.branches[branch].blocks]))
    net.configure(arch)
    init_for_training(net)
    with torch.no_grad():
        return net.extract()


class Supernet(SegmentationNetwork):
    """Elastic depth, width, kernel size, dilation and expansion; head-structured attention weights; sliced
    BatchNorm. `set_active` chooses the sub-network that `forward` runs; `extract` copies it out.

    Block positions hold one block per operator family; widths, kernels and heads are leading slices of the
    largest, so a small network's weights are a prefix of a large one's.
    """

    def __init__(self, space: SearchSpace, num_classes: int) -> None:
        check_num_classes(num_classes)
        super().__init__(*elastic_skeleton(
            max(space.stem_widths), [max(w) for w in space.branch_widths], max(space.head_widths), num_classes,
            lambda branch, width: [ChoiceBlock(width, space) for _ in range(space.max_depth)]))
        self.space, self.num_classes = space, num_classes
        init_for_training(self)
        self.set_active(space.max_arch())

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
