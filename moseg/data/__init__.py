"""Datasets by name: `build_dataset(name, root, split, **kw)`; new ones join with `@register_dataset("name")`.

All datasets yield (normalised float image (3, H, W), int64 label (H, W)) with ignored pixels set to
`moseg.metrics.segmentation.IGNORE_INDEX` (255), and offer the search splits `search_train` / `search_val` (see
`moseg.data.ondisk`).
"""

from __future__ import annotations

from torch.utils.data import Dataset

from moseg.data import ondisk, synthetic  # noqa: F401  (their datasets register themselves)
from moseg.data.registry import DATASETS, build_dataset, register_dataset
from moseg.data.synthetic import SyntheticScenes
from moseg.data.transforms import EvalTransform, TrainTransform


def data_protocol(dataset: Dataset) -> str:
    """The dataset's protocol in words with its resolution (its `protocol`), or its class name for a dataset
    that does not describe itself."""
    return getattr(dataset, "protocol", type(dataset).__name__)


__all__ = ["DATASETS", "EvalTransform", "SyntheticScenes", "TrainTransform", "build_dataset", "data_protocol",
           "register_dataset"]
