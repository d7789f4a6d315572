"""Cheap candidate evaluation: score any arch of a trained supernet in seconds.

For each arch the evaluator extracts the sub-network with its inherited weights, re-estimates its BatchNorm
statistics on a fixed calibration subset of the training split (whole images, the evaluation resolution),
and measures mIoU on the validation split. Calibration and validation images are decoded once and kept on
the device, so the per-arch cost is forward passes only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.utils.data import Dataset

from moseg.data import build_dataset
from moseg.metrics.scoring import EvaluationData, clock
from moseg.nn import Supernet
from moseg.nn.supernet import ArchLike
from moseg.space import Arch, SearchSpace
from moseg.train.checkpoint import load_checkpoint
from moseg.train.config import TrainConfig
from moseg.util.config import from_dict
from moseg.util.devices import resolve_device


@dataclass(frozen=True)
class CandidateScore:
    """One arch's validation scores with inherited weights, and the seconds its evaluation took: in all, and
    split into extracting the sub-network (0 when it was extracted beforehand and passed in), recalibrating its
    BatchNorm and the validation pass."""

    arch: Arch
    miou: float
    pixel_acc: float
    per_class_iou: list[float]
    seconds: float
    split: str
    extract_seconds: float = float("nan")
    calibrate_seconds: float = float("nan")
    validate_seconds: float = float("nan")


class CandidateEvaluator:
    """Scores archs of a trained `supernet` on `data` (see module docstring)."""

    def __init__(self, supernet: Supernet, data: EvaluationData) -> None:
        self.supernet, self.data = supernet, data

    def score(self, arch: ArchLike, network: nn.Module | None = None) -> CandidateScore:
        """Extract `arch` (an Arch or a gene vector), recalibrate its BN, evaluate it. `network`: the sub-network
        already extracted for `arch` (its BatchNorm statistics are recalibrated in place)."""
        start = clock(self.data.device)
        if not isinstance(arch, Arch):
            arch = self.supernet.space.decode(arch)
        net = self.supernet.extract(arch) if network is None else network
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
        checkpoint = SupernetCheckpoint.read(path, root, split)
        config, device = checkpoint.config, resolve_device(device)
        supernet = Supernet(checkpoint.space, checkpoint.num_classes)
        supernet.load_state_dict(checkpoint.state["model"])
        options = {"calib_images": config.eval.calib_images, "calib_batch_size": config.eval.calib_batch_size,
                   "batch_size": config.eval.batch_size, "seed": config.seed,
                   "channels_last": config.train.uses_channels_last, **kw}
        evaluation = EvaluationData.from_datasets(*checkpoint.datasets(), split=checkpoint.split, device=device,
                                                  **options)
        return cls(supernet.to(device), evaluation)


@dataclass(frozen=True)
class SupernetCheckpoint:
    """A `moseg train-supernet` checkpoint of a supernet, with the dataset folder and validation split its
    candidates are scored on (the training config's, unless overridden)."""

    state: dict
    config: TrainConfig
    root: str | None
    split: str

    @classmethod
    def read(cls, path: str | Path, root: str | None = None, split: str | None = None) -> SupernetCheckpoint:
        """The checkpoint at `path`; ValueError for a standalone network or a run without a validation split."""
        state = load_checkpoint(path)
        config = from_dict(TrainConfig, state["config"])
        if config.standalone:
            raise ValueError(f"{path} holds a standalone network, not a supernet")
        split = split or config.data.val_split
        if split is None:
            raise ValueError(f"{path} was trained without a validation split; pass split=")
        return cls(state, config, config.data.root if root is None else root, split)

    @property
    def space(self) -> SearchSpace:
        return SearchSpace(**self.config.model.space)

    @property
    def num_classes(self) -> int:
        return self.state["num_classes"]

    def datasets(self) -> tuple[Dataset, Dataset]:
        """The calibration (training split) and validation datasets; an error names a missing folder or split."""
        data = self.config.data
        return (build_dataset(data.dataset, self.root, data.train_split, **data.options),
                build_dataset(data.dataset, self.root, self.split, **data.options))
