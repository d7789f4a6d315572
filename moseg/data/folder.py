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


def check_scale(scale: float) -> float:
    """`scale` as a float if it is a usable resize factor of the stored images, else ValueError naming it."""
    if isinstance(scale, bool) or not isinstance(scale, int | float) or not 0 < scale <= 1:
        raise ValueError(f"scale = {scale!r}, expected a number in (0, 1]: the fraction of the stored resolution "
                         "at which images and labels are read (0.5: half the height and width)")
    return float(scale)


def scaled_size(height: int, width: int, scale: float) -> tuple[int, int]:
    """(height, width) of an image of `height` x `width` read at `scale` (rounded, at least 1 pixel)."""
    return max(1, round(height * scale)), max(1, round(width * scale))


class SegmentationFolder(Dataset):
    """(image, label) pairs from files. `label_map` is a 256-entry lookup from stored label values to train
    ids (ignore = 255). Items are (image tensor, label tensor) after `transform` (default: evaluation).

    `scale` < 1 reads every image and label at a reduced resolution (a protocol of its own, e.g. CamVid at
    240x180 on a CPU): images are resized with antialiased bilinear filtering, labels by nearest neighbour so
    that every pixel keeps a stored value (void stays void). Training, BN recalibration, validation and test
    all read through here, so they share the resolution."""

    def __init__(self, pairs: Sequence[tuple[Path, Path]], label_map: np.ndarray, class_names: Sequence[str],
                 split: str, transform: Transform | None = None, scale: float = 1.0, name: str = "dataset",
                 same_size: bool = True, stored_ids: str | None = None) -> None:
        self.pairs = list(pairs)
        self.label_map = np.asarray(label_map, dtype=np.uint8)
        self.stored_ids = stored_ids  # e.g. '0-11': the label values the format stores; any other is refused
        self.class_names = tuple(class_names)
        self.split = split
        self.transform = transform or EvalTransform()
        self.scale = check_scale(scale)
        self.name, self.same_size = name, same_size  # same_size: every stored image has the first one's size

    @property
    def protocol(self) -> str:
        """The data protocol in words, resolution included, e.g. 'CamVid-11 at 240x180 (scale 0.5 of the stored
        480x360)': run files, tables and figures report it, so that no figure is compared across resolutions."""
        name = f"{self.name}-{self.num_classes}"
        if not self.same_size:
            return f"{name} at scale {self.scale:g} of the stored image sizes"
        with Image.open(self.pairs[0][0]) as first:
            width, height = first.size
        if self.scale == 1:
            return f"{name} at {width}x{height} (the stored resolution)"
        h, w = scaled_size(height, width, self.scale)
        return f"{name} at {w}x{h} (scale {self.scale:g} of the stored {width}x{height})"

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def __len__(self) -> int:
        return len(self.pairs)

    def load(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """The raw uint8 image (H, W, 3) and mapped label (H, W) of item `index`."""
        image_path, label_path = self.pairs[index]
        with Image.open(image_path) as im, Image.open(label_path) as lab:
            if im.size != lab.size:
                raise ValueError(f"{image_path} is {im.size[1]}x{im.size[0]} (HxW) but its label {label_path} is "
                                 f"{lab.size[1]}x{lab.size[0]}")
            rgb = im.convert("RGB")
            if self.scale != 1:
                height, width = scaled_size(im.size[1], im.size[0], self.scale)
                rgb = rgb.resize((width, height), Image.Resampling.BILINEAR, reducing_gap=None)
                lab = lab.resize((width, height), Image.Resampling.NEAREST)
            image = np.array(rgb)  # writable copy
            stored = np.asarray(lab)
            if self.stored_ids is not None:
                self._check_stored(stored, label_path)
            label = self.label_map[stored]
        return image, label

    def _check_stored(self, stored: np.ndarray, label_path: Path) -> None:
        low, high = (int(v) for v in self.stored_ids.split("-"))
        if stored.ndim != 2:
            raise ValueError(f"{label_path} has {stored.shape[-1]} channels; expected a single-channel label image "
                             f"of class ids {self.stored_ids}")
        if stored.size and (stored.min() < low or stored.max() > high):
            bad = int(stored.max()) if stored.max() > high else int(stored.min())
            raise ValueError(f"{label_path} holds label value {bad}; expected class ids {self.stored_ids} "
                             f"({self.name}: {', '.join(self.class_names)}, then void)")

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
