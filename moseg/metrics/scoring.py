"""How moseg scores a network: calibration and validation batches kept on the device, BatchNorm recalibrated,
then mIoU. Training (its periodic evaluation), the one-shot candidate evaluator and retraining all score this one
way, so their numbers compare."""

from __future__ import annotations

import time
from collections.abc import Iterable
from contextlib import AbstractContextManager, nullcontext

import numpy as np
import torch
from torch import nn
from torch.utils.data import Dataset, Subset

from moseg.data.loader import eval_loader
from moseg.metrics.segmentation import evaluate, recalibrate_bn


def calibration_subset(dataset: Dataset, images: int, seed: int) -> Subset:
    """A fixed random subset of `images` items of `dataset` (all of it if smaller), the same on every machine."""
    chosen = np.random.default_rng([seed, 3]).permutation(len(dataset))[: min(images, len(dataset))]
    return Subset(dataset, sorted(int(i) for i in chosen))


def clock(device: torch.device) -> float:
    """`time.perf_counter()` once the work queued on `device` is done, so that a step's seconds are its own."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter()


def autocast(device: torch.device, amp: torch.dtype | None) -> AbstractContextManager:
    """Mixed precision in `amp` on `device`, or nothing when `amp` is None."""
    return torch.autocast(device.type, dtype=amp) if amp is not None else nullcontext()


class EvaluationData:
    """Calibration and validation batches kept on `device`, and the one way moseg scores a network on them.
    `calibration` and `validation` are iterables of (image, label) batches. `amp` is the autocast dtype of
    the forward passes (None: full precision)."""

    def __init__(self, calibration: Iterable, validation: Iterable, *, device: torch.device, num_classes: int,
                 split: str, amp: torch.dtype | None = None, channels_last: bool = False) -> None:
        self.device, self.num_classes, self.split = torch.device(device), num_classes, split
        self.amp, self.channels_last = amp, channels_last
        self.calibration = [(self._to_device(image),) for image, *_ in calibration]
        self.validation = [(self._to_device(image), label.to(self.device)) for image, label in validation]
        if not self.calibration or not self.validation:
            raise ValueError("the calibration and validation data must each hold at least one batch")

    @classmethod
    def from_datasets(cls, calibration_data: Dataset, validation_data: Dataset, *, split: str,
                      device: torch.device, calib_images: int = 64, calib_batch_size: int = 16,
                      batch_size: int = 4, seed: int = 0, workers: int = 2, rank: int = 0, world_size: int = 1,
                      amp: torch.dtype | None = None, channels_last: bool = False) -> EvaluationData:
        """Calibrate on a fixed `calib_images` subset of `calibration_data` (every process the same), validate
        on `validation_data` (each process its share; mIoU is summed across processes)."""
        subset = calibration_subset(calibration_data, calib_images, seed)
        return cls(eval_loader(subset, calib_batch_size, workers=workers),
                   eval_loader(validation_data, batch_size, workers=workers, rank=rank, world_size=world_size),
                   device=device, num_classes=validation_data.num_classes, split=split, amp=amp,
                   channels_last=channels_last)

    def _to_device(self, image: torch.Tensor) -> torch.Tensor:
        image = image.to(self.device, non_blocking=True)
        return image.contiguous(memory_format=torch.channels_last) if self.channels_last else image

    def evaluate_network(self, net: nn.Module, recalibrate: bool = True) -> dict:
        """`moseg.metrics.segmentation.evaluate` of `net` on the validation batches, after BN recalibration if asked;
        with the seconds of each step (`calibrate_seconds`, `validate_seconds`)."""
        if self.channels_last:
            net = net.to(memory_format=torch.channels_last)
        with autocast(self.device, self.amp):
            start = clock(self.device)
            if recalibrate:
                recalibrate_bn(net, self.calibration, len(self.calibration))
            calibrated = clock(self.device)
            result = evaluate(net, self.validation, num_classes=self.num_classes)
        return {**result, "calibrate_seconds": calibrated - start, "validate_seconds": clock(self.device) - calibrated}
