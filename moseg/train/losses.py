"""Per-pixel training losses: cross-entropy (class-weighted, optionally with online hard example mining) and
the in-place distillation loss through which the largest sub-network teaches the others.

All losses ignore pixels labelled `IGNORE_INDEX`, compute in float32 whatever the autocast dtype, and return
0 (not NaN) for a batch without a labelled pixel.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from moseg.metrics.segmentation import IGNORE_INDEX


def segmentation_loss(logits: torch.Tensor, target: torch.Tensor, *, weight: torch.Tensor | None = None,
                      ohem: bool = False, ohem_thresh: float = 0.7, ohem_min_kept: float = 1 / 16,
                      ignore_index: int = IGNORE_INDEX) -> torch.Tensor:
    """Mean (class-weighted) cross-entropy over labelled pixels.

    With `ohem`, only hard pixels count: those whose predicted probability of the true class is below
    `ohem_thresh`, and at least the `ohem_min_kept` fraction of labelled pixels with the lowest probability.
    """
    logits = logits.float()
    pixel_loss = F.cross_entropy(logits, target, reduction="none", ignore_index=ignore_index)
    valid = target != ignore_index
    pixel_loss, labels = pixel_loss[valid], target[valid]
    pixel_weight = torch.ones_like(pixel_loss) if weight is None else weight.float()[labels]
    if ohem and pixel_loss.numel():
        true_prob = torch.exp(-pixel_loss)  # the unweighted CE of a pixel is -log p(true class)
        min_kept = max(1, int(ohem_min_kept * pixel_loss.numel()))
        threshold = torch.maximum(torch.kthvalue(true_prob, min_kept).values,
                                  true_prob.new_tensor(ohem_thresh))
        hard = true_prob <= threshold
        pixel_loss, pixel_weight = pixel_loss[hard], pixel_weight[hard]
    return (pixel_loss * pixel_weight).sum() / pixel_weight.sum().clamp_min(1e-12)


def distillation_loss(student: torch.Tensor, teacher: torch.Tensor, target: torch.Tensor, *,
                      temperature: float = 1.0, ignore_index: int = IGNORE_INDEX) -> torch.Tensor:
    """Per-pixel KL(teacher || student) of the softened class distributions, averaged over labelled pixels
    and scaled by temperature^2 (so its gradients keep their size as the temperature changes). The teacher's
    logits are treated as constants."""
    t = temperature
    teacher_log_prob = F.log_softmax(teacher.detach().float() / t, dim=1)
    student_log_prob = F.log_softmax(student.float() / t, dim=1)
    kl = (teacher_log_prob.exp() * (teacher_log_prob - student_log_prob)).sum(1)
    valid = target != ignore_index
    return kl[valid].sum() / valid.sum().clamp_min(1) * t * t
