"""Segmentation metrics and the BatchNorm recalibration that makes a weight-sharing sub-network scoreable.

The confusion matrix is built on the model's device with one `bincount` per batch and summed across
processes when torch.distributed is initialised, so every rank reports the same mIoU.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
import torch.distributed as dist
from torch import nn

IGNORE_INDEX = 255  # every moseg dataset maps its void/unlabelled pixels to this value


def confusion_matrix(pred: torch.Tensor, target: torch.Tensor, num_classes: int,
                     ignore_index: int = IGNORE_INDEX) -> torch.Tensor:
    """(num_classes, num_classes) int64 counts, rows = true class, columns = predicted; ignored pixels skipped."""
    if pred.shape != target.shape:
        raise ValueError(f"pred shape {tuple(pred.shape)} differs from target shape {tuple(target.shape)}")
    valid = target != ignore_index
    outside = valid & ((target < 0) | (target >= num_classes))
    if outside.any():
        bad = target[outside][0].item()
        raise ValueError(f"label {bad} is outside [0, {num_classes}) and is not the ignore index {ignore_index}")
    # ignored pixels go to one extra bin, cut off below: no masked copies of the (large) label and prediction
    cells = torch.where(valid, target.long() * num_classes + pred.long(), num_classes**2)
    counts = torch.bincount(cells.flatten(), minlength=num_classes**2 + 1)
    return counts[: num_classes**2].reshape(num_classes, num_classes)


def scores(confusion: torch.Tensor) -> dict:
    """mIoU over the classes present in prediction or ground truth, per-class IoU (NaN where a class is absent
    from both) and pixel accuracy."""
    confusion = confusion.double()
    true_positive = confusion.diag()
    union = confusion.sum(0) + confusion.sum(1) - true_positive
    iou = torch.where(union > 0, true_positive / union.clamp_min(1), torch.full_like(union, float("nan")))
    total = confusion.sum()
    return {
        "miou": float(iou.nanmean()) if (union > 0).any() else float("nan"),
        "per_class_iou": iou.tolist(),
        "pixel_acc": float(true_positive.sum() / total) if total > 0 else float("nan"),
    }


def _device_of(model: nn.Module) -> torch.device:
    param = next(model.parameters(), None)
    return param.device if param is not None else torch.device("cpu")


@torch.no_grad()
def evaluate(model: nn.Module, loader: Iterable, *, ignore_index: int = IGNORE_INDEX,
             num_classes: int | None = None) -> dict:
    """Score `model` (eval mode, whole images) on a loader of (image, label) batches.

    The number of classes is read from the logits unless given. Returns `miou`, `per_class_iou`, `pixel_acc`
    and `pixels` (labelled pixels counted), summed over all processes when running distributed.
    """
    device = _device_of(model)
    was_training = model.training
    model.eval()
    confusion = None
    try:
        for image, label in loader:
            logits = model(image.to(device, non_blocking=True))
            classes = num_classes or logits.shape[1]
            batch = confusion_matrix(logits.argmax(1), label.to(device, non_blocking=True), classes, ignore_index)
            confusion = batch if confusion is None else confusion + batch
    finally:
        model.train(was_training)
    if confusion is None:
        raise ValueError("the evaluation loader yielded no batches")
    if dist.is_available() and dist.is_initialized():
        dist.all_reduce(confusion)
    result = scores(confusion)
    result["pixels"] = int(confusion.sum())
    return result


@torch.no_grad()
def recalibrate_bn(model: nn.Module, loader: Iterable, num_batches: int) -> nn.Module:
    """Reset every BatchNorm's running statistics and re-estimate them as a cumulative (equal-weight) average
    over the first `num_batches` batches of `loader`.

    A sub-network of a supernet must be scored with statistics of its own: the shared running statistics mix
    every sub-network trained. Use the evaluation resolution in `loader`. Momenta and train/eval mode are
    restored afterwards.
    """
    if num_batches < 1:
        raise ValueError(f"num_batches = {num_batches}, expected >= 1")
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    momenta = [m.momentum for m in norms]
    was_training = model.training
    device = _device_of(model)
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative moving average
    model.train()
    seen = 0
    try:
        for image, *_ in loader:
            if seen == num_batches:
                break
            model(image.to(device, non_blocking=True))
            seen += 1
    finally:
        for m, momentum in zip(norms, momenta, strict=True):
            m.momentum = momentum
        model.train(was_training)
    if seen == 0:
        raise ValueError("the calibration loader yielded no batches")
    return model
