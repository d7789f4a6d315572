"""SGD with weight decay on convolution weights only, and the poly learning-rate schedule with linear warm-up."""

from __future__ import annotations

import torch
from torch import nn


def build_optimizer(model: nn.Module, lr: float, momentum: float, weight_decay: float,
                    nesterov: bool = False) -> torch.optim.SGD:
    """Weight decay applies to multi-dimensional weights (convolutions, projections); BatchNorm parameters and
    biases are not decayed, as usual for segmentation networks trained from scratch."""
    decay = [p for p in model.parameters() if p.requires_grad and p.ndim > 1]
    no_decay = [p for p in model.parameters() if p.requires_grad and p.ndim <= 1]
    groups = [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.SGD(groups, lr=lr, momentum=momentum, nesterov=nesterov and momentum > 0)


def poly_warmup_factor(step: int, total: int, warmup: int, power: float) -> float:
    """Multiplier of the base learning rate at `step` (0-based) of `total`: linear from 1/warmup to 1 over
    the first `warmup` steps, then (1 - progress)^power down to 0 at `total`."""
    if step < warmup:
        return (step + 1) / warmup
    remaining = max(total - warmup, 1)
    return max(0.0, 1 - (step - warmup) / remaining) ** power


def build_scheduler(optimizer: torch.optim.Optimizer, total: int, warmup: int,
                    power: float) -> torch.optim.lr_scheduler.LambdaLR:
    warmup = min(warmup, total)
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: poly_warmup_factor(step, total, warmup, power))
