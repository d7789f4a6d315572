"""The topology of the network every arch describes, enumerated once: its parts with their shapes.

A stride-8 stem (three stride-2 3x3 convolutions) feeds the 1/8 branch; each lower branch takes the previous
branch's output through a stride-2 3x3 transition, runs its blocks, and is projected by a 1x1 fusion to the 1/8
width and upsampled into the 1/8 stream; the head (3x3 convolution, 1x1 classifier) turns the 1/8 stream into
logits, upsampled to the input size unless told otherwise. `network_parts` lists these parts with their input
shapes; the analytic cost (`moseg.space.complexity`) and the per-part latency table (`moseg.latency.table`) both
read them from here. The network's forward pass (`moseg.nn.network`) keeps its own loop, for speed; a test
checks that it runs exactly these parts.
"""

from __future__ import annotations

from dataclasses import dataclass

from moseg.space.arch import Arch, Block
from moseg.space.ops import operator_of

STEM_LAYERS = 3  # three stride-2 3x3 convolutions take the input to 1/8


@dataclass(frozen=True)
class Part:
    """One piece of a network, as run: its `kind` ("stem", "block", "transition", "fuse", "head"), where it sits
    (`branch`: 0 is the 1/8 branch; `index`: a block's position in its branch), its channel widths (stem:
    stem width and 1/8 width; block: its width; transition: in and out; fuse: branch width and 1/8 width; head:
    1/8 width, head width, classes), its block for a block, its (channels, height, width) input and the size its
    output is upsampled to (fuse: the 1/8 grid; head: the input size, or None for logits at 1/8)."""

    kind: str
    widths: tuple[int, ...]
    input_shape: tuple[int, int, int]
    branch: int | None = None
    index: int | None = None
    block: Block | None = None
    upsampled_to: tuple[int, int] | None = None

    @property
    def key(self) -> str:
        """A stable name of the part's kind, configuration and input shape: equal parts of different networks
        share it (the latency table stores one measurement per key)."""
        c, h, w = self.input_shape
        return f"{self.kind} {self.config} @ {c}x{h}x{w}"

    @property
    def config(self) -> str:
        """The part's configuration in words, e.g. 'conv k3 d1 e4' or '32->64'."""
        if self.kind == "block":
            return operator_of(self.block).label(self.block)
        arrows = "->".join(str(w) for w in self.widths)
        up = f" up {self.upsampled_to[0]}x{self.upsampled_to[1]}" if self.upsampled_to is not None else ""
        return f"{arrows}{up}"


def halved(size: tuple[int, int]) -> tuple[int, int]:
    """Spatial size after a stride-2 3x3 convolution with padding 1."""
    return (size[0] + 1) // 2, (size[1] + 1) // 2


def network_parts(arch: Arch, num_classes: int, resolution: tuple[int, int],
                  final_upsample: bool = True) -> list[Part]:
    """The parts of `arch`'s network on a (height, width) input: the stem, the 1/8 branch's blocks, then per
    lower branch its transition, blocks and fusion, then the head."""
    hr = arch.branches[0]
    hr_size = resolution
    for _ in range(STEM_LAYERS):
        hr_size = halved(hr_size)
    parts = [Part("stem", (arch.stem_width, hr.width), (3, *resolution))]
    parts += [Part("block", (hr.width,), (hr.width, *hr_size), 0, k, block) for k, block in enumerate(hr.blocks)]
    in_width, in_size = hr.width, hr_size
    for b, branch in enumerate(arch.branches[1:], start=1):
        size = halved(in_size)
        parts.append(Part("transition", (in_width, branch.width), (in_width, *in_size), b))
        parts += [Part("block", (branch.width,), (branch.width, *size), b, k, block)
                  for k, block in enumerate(branch.blocks)]
        parts.append(Part("fuse", (branch.width, hr.width), (branch.width, *size), b, upsampled_to=hr_size))
        in_width, in_size = branch.width, size
    parts.append(Part("head", (hr.width, arch.head_width, num_classes), (hr.width, *hr_size),
                      upsampled_to=tuple(resolution) if final_upsample else None))
    return parts
