"""A segmentation dataset read from image/label file pairs, shared by every on-disk dataset."""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from PIL import Image
from torch.utils.data import Dataset

from moseg.data.transforms import EvalTransform

Transform = Callable[[np.ndarray, np.ndarray], tuple]
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")


class SegmentationFolder(Dataset):
    """(image, label) pairs from files. `label_map` is a 256-entry lookup from stored label values to train
    ids (ignore = 255). Items are (image tensor, label tensor) after `transform` (default: evaluation)."""

    def __init__(self, pairs: Sequence[tuple[Path, Path]], label_map: np.ndarray, class_names: Sequence[str],
                 split: str, transform: Transform | None = None) -> None:
        self.pairs = list(pairs)
        self.label_map = np.asarray(label_map, dtype=np.uint8)
        self.class_names = tuple(class_names)
        self.split = split
        self.transform = transform or EvalTransform()

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def __len__(self) -> int:
        return len(self.pairs)

    def load(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """The raw uint8 image (H, W, 3) and mapped label (H, W) of item `index`."""
        image_path, label_path = self.pairs[index]
        with Image.open(image_path) as im:
            image = np.array(im.convert("RGB"))  # writable copy
        with Image.open(label_path) as lab:
            label = self.label_map[np.asarray(lab)]
        if image.shape[:2] != label.shape:
            raise ValueError(f"{image_path} is {image.shape[:2]} but its label {label_path} is {label.shape}")
        return image, label

    def __getitem__(self, index: int):
        return self.transform(*self.load(index))


def require_dirs(root: str | Path, subdirs: Sequence[str], layout: str) -> Path:
    """`root` as a Path, or ValueError naming the first missing folder and the layout expected."""
    if root is None:
        raise ValueError(f"this dataset needs a root folder laid out as: {layout}")
    root = Path(root)
    for sub in subdirs:
        if not (root / sub).is_dir():
            raise ValueError(f"{root / sub} does not exist; expected the layout {layout} under {root}")
    return root


def images_by_stem(folder: Path) -> dict[str, Path]:
    """Image files of `folder` keyed by file stem (any of .png .jpg .jpeg .webp)."""
    return {p.stem: p for p in sorted(folder.iterdir()) if p.suffix.lower() in IMAGE_SUFFIXES}


def pair_by_stem(image_dir: Path, label_dir: Path, layout: str) -> list[tuple[Path, Path]]:
    """Pairs of image and label with the same stem; a missing label is an error naming the image."""
    images, labels = images_by_stem(image_dir), images_by_stem(label_dir)
    if not images:
        raise ValueError(f"no images (.png .jpg .jpeg .webp) in {image_dir}; expected the layout {layout}")
    missing = sorted(set(images) - set(labels))
    if missing:
        raise ValueError(f"{len(missing)} image(s) in {image_dir} have no label in {label_dir}, e.g. {missing[0]!r}")
    return [(images[s], labels[s]) for s in sorted(images)]


def stable_fraction(name: str) -> float:
    """A number in [0, 1) fixed by `name` alone, for reproducible held-out subsets across machines."""
    return zlib.crc32(name.encode()) / 2**32
