"""Datasets by name: `build_dataset(name, root, split, **kw)`.

All datasets yield (normalised float image (3, H, W), int64 label (H, W)) with ignored pixels set to
`moseg.evaluate.IGNORE_INDEX` (255), and offer the search splits `search_train` / `search_val` (see
`moseg.data.ondisk`).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path

from torch.utils.data import Dataset

from moseg.data.ondisk import ade20k, camvid, cityscapes
from moseg.data.synthetic import SyntheticScenes
from moseg.data.transforms import EvalTransform, TrainTransform


def _synthetic(root: str | Path | None, split: str, **kw) -> SyntheticScenes:
    if root is not None:
        raise ValueError(f"the synthetic dataset is generated, not read: root must be None, got {root!r}")
    return SyntheticScenes(split, **kw)


_synthetic.__wrapped__ = SyntheticScenes  # its options are the scenes' keywords (inspect.signature reads them)


DATASETS: dict[str, Callable[..., Dataset]] = {
    "synthetic": _synthetic, "camvid": camvid, "cityscapes": cityscapes, "ade20k": ade20k,
}


def build_dataset(name: str, root: str | Path | None, split: str, **kw) -> Dataset:
    """The dataset `name` ('synthetic', 'camvid', 'cityscapes', 'ade20k') read from `root` (None for synthetic).
    Keyword arguments go to the dataset (e.g. `transform`, `holdout_sequences`, `size`)."""
    if name not in DATASETS:
        raise ValueError(f"dataset {name!r} is not known; expected one of {sorted(DATASETS)}")
    accepted = set(inspect.signature(DATASETS[name]).parameters) - {"root", "split"}
    unknown = sorted(set(kw) - accepted)
    if unknown:
        raise ValueError(f"dataset {name!r} has no option(s) {unknown} (data.options); expected some of "
                         f"{sorted(accepted - {'transform'})}")
    return DATASETS[name](root, split, **kw)


def data_protocol(dataset: Dataset) -> str:
    """The dataset's protocol in words with its resolution (its `protocol`), or its class name for a dataset
    that does not describe itself."""
    return getattr(dataset, "protocol", type(dataset).__name__)


__all__ = ["DATASETS", "EvalTransform", "SyntheticScenes", "TrainTransform", "build_dataset", "data_protocol"]
