"""Cheap candidate evaluation: score any arch of a trained supernet in seconds.

For each arch the evaluator extracts the sub-network with its inherited weights, re-estimates its BatchNorm
statistics on a fixed calibration subset of the training split (whole images, the evaluation resolution),
and measures mIoU on the validation split. Calibration and validation images are decoded once and kept on
the device, so the per-arch cost is forward passes only.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.utils.data import Dataset, Subset

from moseg.config import from_dict
from moseg.data import build_dataset
from moseg.data.loader import eval_loader
from moseg.devices import resolve_device
from moseg.evaluate import evaluate, recalibrate_bn
from moseg.space import Arch, SearchSpace
from moseg.supernet import Supernet
from moseg.supernet.supernet import ArchLike


@dataclass(frozen=True)
class CandidateScore:
    """One arch's validation scores with inherited weights, and the seconds its evaluation took: in all, and
    split into extracting the sub-network, recalibrating its BatchNorm and the validation pass."""

    arch: Arch
    miou: float
    pixel_acc: float
    per_class_iou: list[float]
    seconds: float
    split: str
    extract_seconds: float = float("nan")
    calibrate_seconds: float = float("nan")
    validate_seconds: float = float("nan")


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
        """`moseg.evaluate.evaluate` of `net` on the validation batches, after BN recalibration if asked; with
        the seconds of each step (`calibrate_seconds`, `validate_seconds`)."""
        if self.channels_last:
            net = net.to(memory_format=torch.channels_last)
        with autocast(self.device, self.amp):
            start = clock(self.device)
            if recalibrate:
                recalibrate_bn(net, self.calibration, len(self.calibration))
            calibrated = clock(self.device)
            result = evaluate(net, self.validation, num_classes=self.num_classes)
        return {**result, "calibrate_seconds": calibrated - start, "validate_seconds": clock(self.device) - calibrated}


class CandidateEvaluator:
    """Scores archs of a trained `supernet` on `data` (see module docstring)."""

    def __init__(self, supernet: Supernet, data: EvaluationData) -> None:
        self.supernet, self.data = supernet, data

    def score(self, arch: ArchLike) -> CandidateScore:
        """Extract `arch` (an Arch or a gene vector), recalibrate its BN, evaluate it."""
        start = clock(self.data.device)
        if not isinstance(arch, Arch):
            arch = self.supernet.space.decode(arch)
        net = self.supernet.extract(arch)
        extracted = clock(self.data.device)
        result = self.data.evaluate_network(net)
        return CandidateScore(arch, result["miou"], result["pixel_acc"], result["per_class_iou"],
                              clock(self.data.device) - start, self.data.split, extracted - start,
                              result["calibrate_seconds"], result["validate_seconds"])

    def evaluate(self, archs: Sequence[ArchLike] | np.ndarray) -> list[CandidateScore]:
        """Score every arch (Arch objects or gene vectors, one per row) in order."""
        return [self.score(arch) for arch in archs]

    @classmethod
    def from_checkpoint(cls, path: str | Path, *, device: str | torch.device = "cpu", root: str | None = None,
                        split: str | None = None, **kw) -> CandidateEvaluator:
        """An evaluator for the supernet in a `moseg train-supernet` checkpoint, on the dataset and splits of
        its training config (`root` and `split` override the dataset folder and the validation split).
        Further keywords go to `EvaluationData.from_datasets`; by default they come from the config."""
        from moseg.train.checkpoint import load_checkpoint
        from moseg.train.config import TrainConfig

        state = load_checkpoint(path)
        config = from_dict(TrainConfig, state["config"])
        if config.standalone:
            raise ValueError(f"{path} holds a standalone network, not a supernet")
        data = config.data
        root = data.root if root is None else root
        split = split or data.val_split
        if split is None:
            raise ValueError(f"{path} was trained without a validation split; pass split=")
        device = resolve_device(device)
        supernet = Supernet(SearchSpace(**config.model.space), state["num_classes"])
        supernet.load_state_dict(state["model"])
        options = {"calib_images": config.eval.calib_images, "calib_batch_size": config.eval.calib_batch_size,
                   "batch_size": config.eval.batch_size, "seed": config.seed,
                   "channels_last": config.train.uses_channels_last, **kw}
        evaluation = EvaluationData.from_datasets(
            build_dataset(data.dataset, root, data.train_split, **data.options),
            build_dataset(data.dataset, root, split, **data.options), split=split, device=device, **options)
        return cls(supernet.to(device), evaluation)
