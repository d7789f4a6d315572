import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from moseg.metrics.segmentation import IGNORE_INDEX
from moseg.train.losses import distillation_loss, segmentation_loss
from moseg.train.optim import build_optimizer, build_scheduler, poly_warmup_factor


@pytest.fixture
def batch():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(2, 5, 6, 7, generator=g) * 3
    target = torch.randint(0, 5, (2, 6, 7), generator=g)
    target[0, :2] = IGNORE_INDEX
    return logits, target


def test_cross_entropy_matches_torch_with_and_without_class_weights(batch):
    logits, target = batch
    weight = torch.tensor([0.5, 1.0, 2.0, 0.1, 3.0])
    assert torch.allclose(segmentation_loss(logits, target), F.cross_entropy(logits, target, ignore_index=255))
    expected = F.cross_entropy(logits, target, weight=weight, ignore_index=255)
    assert torch.allclose(segmentation_loss(logits, target, weight=weight), expected)


def test_ohem_averages_only_hard_pixels_but_at_least_min_kept(batch):
    logits, target = batch
    pixel = F.cross_entropy(logits, target, ignore_index=255, reduction="none")[target != 255]
    prob = torch.exp(-pixel)
    hard = prob <= 0.7
    assert 0 < hard.sum() < pixel.numel()
    assert torch.allclose(segmentation_loss(logits, target, ohem=True, ohem_thresh=0.7, ohem_min_kept=0.0),
                          pixel[hard].mean())
    # a threshold nobody passes still keeps the hardest half
    kept = pixel.sort(descending=True).values[: pixel.numel() // 2]
    assert torch.allclose(segmentation_loss(logits, target, ohem=True, ohem_thresh=0.0, ohem_min_kept=0.5),
                          kept.mean())


def test_losses_are_zero_not_nan_without_labelled_pixels(batch):
    logits, _ = batch
    empty = torch.full((2, 6, 7), IGNORE_INDEX)
    assert segmentation_loss(logits, empty).item() == 0
    assert segmentation_loss(logits, empty, ohem=True).item() == 0
    assert distillation_loss(logits, logits.flip(1), empty).item() == 0


def test_distillation_is_masked_kl_and_teaches_only_the_student(batch):
    student, target = batch
    teacher = torch.randn_like(student, requires_grad=True)
    assert distillation_loss(student, student, target).abs().item() < 1e-6
    valid = target != IGNORE_INDEX
    for t in (1.0, 2.0):
        kl = F.kl_div(F.log_softmax(student / t, 1), F.log_softmax(teacher / t, 1), log_target=True,
                      reduction="none").sum(1)
        expected = kl[valid].mean() * t * t
        assert torch.allclose(distillation_loss(student, teacher, target, temperature=t), expected, atol=1e-6)
    student = student.clone().requires_grad_()
    distillation_loss(student, teacher, target).backward()
    assert teacher.grad is None and student.grad.abs().sum() > 0
    assert student.grad.permute(0, 2, 3, 1)[~valid].abs().max() == 0  # ignored pixels teach nothing


def test_poly_schedule_with_warmup():
    assert poly_warmup_factor(0, 100, 10, 0.9) == pytest.approx(0.1)
    assert poly_warmup_factor(9, 100, 10, 0.9) == pytest.approx(1.0)
    assert poly_warmup_factor(10, 100, 10, 0.9) == pytest.approx(1.0)
    assert poly_warmup_factor(55, 100, 10, 0.9) == pytest.approx(0.5**0.9)
    assert poly_warmup_factor(100, 100, 10, 0.9) == 0.0
    model = nn.Linear(3, 3)
    optimizer = build_optimizer(model, 0.1, 0.9, 1e-4)
    scheduler = build_scheduler(optimizer, total=20, warmup=0, power=1.0)
    lrs = []
    for _ in range(20):
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    assert lrs[0] == pytest.approx(0.1) and lrs[10] == pytest.approx(0.05) and math.isclose(lrs[-1], 0.005)


def test_weight_decay_skips_norms_and_biases():
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4))
    decayed, plain = build_optimizer(model, 0.1, 0.9, 5e-4).param_groups
    assert decayed["weight_decay"] == 5e-4 and [p.shape for p in decayed["params"]] == [(4, 3, 3, 3)]
    assert plain["weight_decay"] == 0 and len(plain["params"]) == 3  # conv bias, BN weight and bias
