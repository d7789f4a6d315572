"""Hand-designed real-time segmentation baselines, trained and measured exactly like searched networks.

A searched network is only better than a hand-designed one if both were trained with the same recipe
(schedule, augmentation, crop size, no pretraining) and timed with the same latency protocol; numbers copied
from papers mix recipes and hardware. This module builds the reference baseline of the MobileNetV3 paper,
LR-ASPP on a MobileNetV3-Large or -Small backbone, from scratch (no pretrained weights), as plain modules
that moseg's trainer, evaluator and latency protocol accept like any extracted network (logits at the input
size, or at 1/8 resolution when `upsample_output` is False).

Reference: A. Howard, M. Sandler, G. Chu, L.-C. Chen, B. Chen, M. Tan, W. Wang, Y. Zhu, R. Pang,
V. Vasudevan, Q. V. Le, H. Adam, "Searching for MobileNetV3", ICCV 2019 (arXiv:1905.02244).
The backbones follow its Tables 1 (Large) and 2 (Small) without the classification layers; Section 6.4's
segmentation changes are applied: the last stage uses dilation 2 instead of stride 2 (output stride 16) and,
with `reduced_tail`, halves its channels (the paper's "RF2"). The LR-ASPP head is its Figure 10, with a
global average pool in the gating branch.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from moseg.core.registry import Registry

BASELINES: Registry[Callable[[int], nn.Module]] = Registry("baseline")
register_baseline = BASELINES.register  # @register_baseline("name") on `builder(num_classes) -> nn.Module`


@dataclass(frozen=True)
class BlockSpec:
    """One bottleneck row of the paper's tables: depthwise `kernel`, `expanded` (expansion size), `out`
    channels, squeeze-and-excitation or not, hardswish (True) or ReLU (False), and `stride`."""

    kernel: int
    expanded: int
    out: int
    se: bool
    hardswish: bool
    stride: int


STEM_CHANNELS = 16  # both tables: conv2d 3x3, 16 channels, hardswish, stride 2
LAST_CONV_EXPANSION = 6  # the final 1x1 conv has 6x the last stage's output channels (960 = 6 * 160, 576 = 6 * 96)

# Table 1 of the paper, bneck rows (kernel, expansion size, #out, SE, NL = HS/RE, stride).
MOBILENETV3_LARGE: tuple[BlockSpec, ...] = (
    BlockSpec(3, 16, 16, False, False, 1),
    BlockSpec(3, 64, 24, False, False, 2),
    BlockSpec(3, 72, 24, False, False, 1),
    BlockSpec(5, 72, 40, True, False, 2),
    BlockSpec(5, 120, 40, True, False, 1),
    BlockSpec(5, 120, 40, True, False, 1),
    BlockSpec(3, 240, 80, False, True, 2),
    BlockSpec(3, 200, 80, False, True, 1),
    BlockSpec(3, 184, 80, False, True, 1),
    BlockSpec(3, 184, 80, False, True, 1),
    BlockSpec(3, 480, 112, True, True, 1),
    BlockSpec(3, 672, 112, True, True, 1),
    BlockSpec(5, 672, 160, True, True, 2),
    BlockSpec(5, 960, 160, True, True, 1),
    BlockSpec(5, 960, 160, True, True, 1),
)

# Table 2 of the paper, bneck rows.
MOBILENETV3_SMALL: tuple[BlockSpec, ...] = (
    BlockSpec(3, 16, 16, True, False, 2),
    BlockSpec(3, 72, 24, False, False, 2),
    BlockSpec(3, 88, 24, False, False, 1),
    BlockSpec(5, 96, 40, True, True, 2),
    BlockSpec(5, 240, 40, True, True, 1),
    BlockSpec(5, 240, 40, True, True, 1),
    BlockSpec(5, 120, 48, True, True, 1),
    BlockSpec(5, 144, 48, True, True, 1),
    BlockSpec(5, 288, 96, True, True, 2),
    BlockSpec(5, 576, 96, True, True, 1),
    BlockSpec(5, 576, 96, True, True, 1),
)


def make_divisible(value: float, divisor: int = 8) -> int:
    """`value` rounded to the nearest multiple of `divisor` (at least `divisor`), never more than 10 % below it:
    the channel rounding of the MobileNet family."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


def _activation(hardswish: bool) -> nn.Module:
    return nn.Hardswish(inplace=True) if hardswish else nn.ReLU(inplace=True)


def _conv_bn_act(in_ch: int, out_ch: int, kernel: int, stride: int = 1, dilation: int = 1, groups: int = 1,
                 act: nn.Module | None = None) -> nn.Sequential:
    """Conv (no bias) + BatchNorm, then `act` if given; 'same' padding for odd kernels."""
    layers: list[nn.Module] = [
        nn.Conv2d(in_ch, out_ch, kernel, stride, padding=(kernel - 1) // 2 * dilation, dilation=dilation,
                  groups=groups, bias=False),
        nn.BatchNorm2d(out_ch),
    ]
    if act is not None:
        layers.append(act)
    return nn.Sequential(*layers)


class SqueezeExcite(nn.Module):
    """Channel gating: global average pool, 1x1 conv to make_divisible(channels / 4) + ReLU, 1x1 conv back +
    hardsigmoid, multiplied into the input."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        squeezed = make_divisible(channels / 4)
        self.gate = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            nn.Conv2d(channels, squeezed, 1),
            nn.ReLU(inplace=True),
            nn.Conv2d(squeezed, channels, 1),
            nn.Hardsigmoid(inplace=True),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gate(x)


class Bottleneck(nn.Module):
    """MobileNetV3 inverted residual: 1x1 expansion (skipped when the expansion size equals the input
    channels), depthwise kxk, optional squeeze-and-excitation, linear 1x1 projection; identity shortcut when
    the stride is 1 and the channel count is unchanged."""

    def __init__(self, in_ch: int, spec: BlockSpec, dilation: int = 1) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        if spec.expanded != in_ch:
            layers.append(_conv_bn_act(in_ch, spec.expanded, 1, act=_activation(spec.hardswish)))
        layers.append(_conv_bn_act(spec.expanded, spec.expanded, spec.kernel, spec.stride, dilation,
                                   groups=spec.expanded, act=_activation(spec.hardswish)))
        if spec.se:
            layers.append(SqueezeExcite(spec.expanded))
        layers.append(_conv_bn_act(spec.expanded, spec.out, 1))
        self.body = nn.Sequential(*layers)
        self.residual = spec.stride == 1 and in_ch == spec.out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.body(x)
        return x + y if self.residual else y


def segmentation_blocks(blocks: Sequence[BlockSpec], reduced_tail: bool) -> list[tuple[BlockSpec, int]]:
    """The table's blocks adapted for segmentation (Section 6.4), each with its dilation: the last stage
    (from the last stride-2 block on) gets stride 1 and dilation 2, so features stay at 1/16; with
    `reduced_tail` its output channels are halved, and so are the expansion sizes of the blocks whose input
    was halved (the first block still expands the unreduced input). ValueError unless the table has exactly
    four stride-2 blocks (with the stem: output stride 32)."""
    strided = [i for i, spec in enumerate(blocks) if spec.stride == 2]
    if len(strided) != 4 or any(spec.stride not in (1, 2) for spec in blocks):
        raise ValueError(f"expected bottleneck strides of 1 or 2 with exactly four 2s (output stride 32), got "
                         f"strides {[spec.stride for spec in blocks]}")
    tail = strided[-1]
    divider = 2 if reduced_tail else 1
    adapted = [(spec, 1) for spec in blocks[:tail]]
    for i, spec in enumerate(blocks[tail:]):
        expanded = spec.expanded if i == 0 else spec.expanded // divider
        adapted.append((BlockSpec(spec.kernel, expanded, spec.out // divider, spec.se, spec.hardswish, 1), 2))
    return adapted


class MobileNetV3Backbone(nn.Module):
    """MobileNetV3 feature extractor for segmentation. forward(image) -> (low, high): `low` is the deepest
    1/8-resolution feature map (the output of the last block before the stride-2 block to 1/16), `high` the
    output of the final 1x1 conv (hardswish) at 1/16, the last stage being dilated (see `segmentation_blocks`)."""

    def __init__(self, blocks: Sequence[BlockSpec], reduced_tail: bool = False) -> None:
        super().__init__()
        adapted = segmentation_blocks(blocks, reduced_tail)
        to_sixteenth = [i for i, (spec, _) in enumerate(adapted) if spec.stride == 2][2]
        low: list[nn.Module] = [_conv_bn_act(3, STEM_CHANNELS, 3, stride=2, act=nn.Hardswish(inplace=True))]
        high: list[nn.Module] = []
        in_ch = STEM_CHANNELS
        for i, (spec, dilation) in enumerate(adapted):
            if i == to_sixteenth:
                self.low_channels = in_ch
            (low if i < to_sixteenth else high).append(Bottleneck(in_ch, spec, dilation))
            in_ch = spec.out
        self.high_channels = LAST_CONV_EXPANSION * in_ch
        high.append(_conv_bn_act(in_ch, self.high_channels, 1, act=nn.Hardswish(inplace=True)))
        self.low, self.high = nn.Sequential(*low), nn.Sequential(*high)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        low = self.low(x)
        return low, self.high(low)


class LRASPPHead(nn.Module):
    """Lite R-ASPP: relu(bn(conv1x1(high))) gated by sigmoid(conv1x1(global_avg_pool(high))), upsampled to the
    1/8 map and classified by a 1x1 conv, plus a 1x1 classifier on the 1/8 low-level features."""

    def __init__(self, low_channels: int, high_channels: int, num_classes: int, channels: int = 128) -> None:
        super().__init__()
        self.features = _conv_bn_act(high_channels, channels, 1, act=nn.ReLU(inplace=True))
        self.gate = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            nn.Conv2d(high_channels, channels, 1, bias=False),
            nn.Sigmoid(),
        )
        self.high_classifier = nn.Conv2d(channels, num_classes, 1)
        self.low_classifier = nn.Conv2d(low_channels, num_classes, 1)

    def forward(self, low: torch.Tensor, high: torch.Tensor) -> torch.Tensor:
        x = self.features(high) * self.gate(high)
        x = F.interpolate(x, size=low.shape[-2:], mode="bilinear", align_corners=False)
        return self.high_classifier(x) + self.low_classifier(low)


def _check_num_classes(num_classes: int) -> None:
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
        raise ValueError(f"num_classes = {num_classes!r}, expected a positive int")


class LRASPPMobileNetV3(nn.Module):
    """LR-ASPP segmentation network on a MobileNetV3 backbone, randomly initialised (Kaiming normal, fan_out,
    for convs; BatchNorm weight 1, bias 0). Input (B, 3, H, W) with any H, W; output logits
    (B, num_classes, H, W), or at 1/8 resolution (ceil(H / 8), ceil(W / 8)) when `upsample_output` is False,
    as moseg's latency protocol sets it to time the network without the final upsampling."""

    def __init__(self, blocks: Sequence[BlockSpec], num_classes: int, *, reduced_tail: bool = False,
                 head_channels: int = 128) -> None:
        super().__init__()
        _check_num_classes(num_classes)
        self.backbone = MobileNetV3Backbone(blocks, reduced_tail)
        self.head = LRASPPHead(self.backbone.low_channels, self.backbone.high_channels, num_classes,
                               head_channels)
        self.upsample_output = True
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out")
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits = self.head(*self.backbone(x))
        if not self.upsample_output:
            return logits
        return F.interpolate(logits, size=x.shape[-2:], mode="bilinear", align_corners=False)


@register_baseline("lraspp_mobilenetv3_large")
def lraspp_mobilenetv3_large(num_classes: int, *, reduced_tail: bool = False) -> LRASPPMobileNetV3:
    """LR-ASPP on MobileNetV3-Large (Table 1), output stride 16. The last stage is full width by default, as in
    the widely used torchvision `lraspp_mobilenet_v3_large` (the issue's yardstick, 3.2 M parameters with 11
    classes); `reduced_tail` halves it as in the paper's segmentation experiments (1.7 M)."""
    return LRASPPMobileNetV3(MOBILENETV3_LARGE, num_classes, reduced_tail=reduced_tail)


@register_baseline("lraspp_mobilenetv3_small")
def lraspp_mobilenetv3_small(num_classes: int, *, reduced_tail: bool = False) -> LRASPPMobileNetV3:
    """LR-ASPP on MobileNetV3-Small (Table 2), output stride 16; full-width last stage by default (1.1 M
    parameters with 11 classes), halved with `reduced_tail` as in the paper's segmentation experiments."""
    return LRASPPMobileNetV3(MOBILENETV3_SMALL, num_classes, reduced_tail=reduced_tail)


def build_baseline(name: str, num_classes: int) -> nn.Module:
    """A freshly initialised baseline `name` (a key of BASELINES) with `num_classes` outputs; ValueError for
    an unknown name or a num_classes that is not a positive int."""
    builder = BASELINES[name]
    _check_num_classes(num_classes)
    return builder(num_classes)
