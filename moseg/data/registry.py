"""The dataset plug-in point: `@register_dataset("name")` on a factory `(root, split, *, transform=None, **options)
-> Dataset` whose items are (normalised float image (3, H, W), int64 label (H, W)) with ignored pixels at
`moseg.metrics.segmentation.IGNORE_INDEX`, and whose splits include `search_train` and `search_val`. The factory's
keyword parameters are the options a config may give it (`data.options`; a factory taking `**options` checks its
own); `data.dataset` accepts the name from then on."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from torch.utils.data import Dataset

from moseg.core.registry import Registry, unknown_options

DATASETS: Registry[Callable[..., Dataset]] = Registry("dataset")
register_dataset = DATASETS.register


def build_dataset(name: str, root: str | Path | None, split: str, **kw) -> Dataset:
    """The registered dataset `name` (e.g. 'synthetic', 'camvid', 'cityscapes', 'ade20k') read from `root` (None
    for a generated one). Keyword arguments go to the dataset (e.g. `transform`, `holdout_sequences`, `size`);
    one its factory does not take is a ValueError naming it and the ones it does."""
    factory = DATASETS[name]
    unknown, accepted = unknown_options(factory, kw, fixed=("root", "split", "transform"))
    if unknown:
        raise ValueError(f"dataset {name!r} has no option(s) {unknown} (data.options); expected some of {accepted}")
    return factory(root, split, **kw)
