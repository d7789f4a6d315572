"""The on-disk datasets: CamVid (SegNet layout), Cityscapes (fine labels) and ADE20K (SceneParsing).

Every dataset offers the splits `train`, `val`, `test` (where labels exist) and the two search splits:
`search_train` (the training data minus a held-out group) and `search_val` (that group). The supernet trains
on `search_train` and the search scores candidates on `search_val`, so the search signal comes from images
the supernet never saw and `test` stays untouched until the final report. The held-out group is a recording
sequence (CamVid), cities (Cityscapes) or a fixed hash-chosen fraction of images (ADE20K).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from moseg.data.folder import SegmentationFolder, Transform, images_by_stem, pair_by_stem, require_dirs, stable_fraction
from moseg.data.registry import register_dataset
from moseg.metrics.segmentation import IGNORE_INDEX

SEARCH_SPLITS = ("search_train", "search_val")


def _label_map(stored_ids) -> np.ndarray:
    """256-entry lookup: the i-th stored id becomes train id i, every other value the ignore index."""
    label_map = np.full(256, IGNORE_INDEX, dtype=np.uint8)
    label_map[list(stored_ids)] = np.arange(len(stored_ids))
    return label_map


def _check_split(split: str, allowed: Sequence[str]) -> None:
    if split not in allowed:
        raise ValueError(f"split = {split!r}, expected one of {list(allowed)}")


def _search_subset(pairs: list[tuple[Path, Path]], split: str, held_out: Callable[[Path], bool],
                   what: str) -> list[tuple[Path, Path]]:
    keep = [p for p in pairs if held_out(p[0]) == (split == "search_val")]
    if not keep:
        raise ValueError(f"split {split!r} is empty: {what} selects {'no' if split == 'search_val' else 'every'} "
                         "training image")
    return keep


CAMVID_CLASSES = ("sky", "building", "pole", "road", "sidewalk", "tree", "sign_symbol", "fence", "car",
                  "pedestrian", "bicyclist")
CAMVID_LAYOUT = "train/ val/ test/ (images) with trainannot/ valannot/ testannot/ (labels 0-11, same file stem)"


@register_dataset("camvid")
def camvid(root: str | Path, split: str, transform: Transform | None = None,
           holdout_sequences: Sequence[str] = ("0006R0",), scale: float = 1.0) -> SegmentationFolder:
    """CamVid, 11 classes, label 11 (void) ignored. Frames are grouped into sequences by the file-name prefix
    (0001TP, 0006R0, 0016E5, Seq05VD). The official val frames all come from 0016E5, which also supplies 204
    training frames, so `search_val` holds out a whole training sequence (default 0006R0) instead. `scale`
    reads every split at a fraction of SegNet's 480x360 (0.5: 240x180), see `SegmentationFolder`."""
    _check_split(split, ("train", "val", "test", "trainval", *SEARCH_SPLITS))
    source = {"trainval": ("train", "val"), **{s: ("train",) for s in SEARCH_SPLITS}}.get(split, (split,))
    root = require_dirs(root, [d for s in source for d in (s, s + "annot")], CAMVID_LAYOUT)
    pairs = [p for s in source for p in pair_by_stem(root / s, root / (s + "annot"), CAMVID_LAYOUT)]
    if split in SEARCH_SPLITS:
        held = set(holdout_sequences)
        pairs = _search_subset(pairs, split, lambda path: path.stem.split("_")[0] in held,
                               f"holdout_sequences={sorted(held)}")
    return SegmentationFolder(pairs, _label_map(range(len(CAMVID_CLASSES))), CAMVID_CLASSES, split, transform,
                              scale, "CamVid", stored_ids=f"0-{len(CAMVID_CLASSES)}")


CITYSCAPES_CLASSES = ("road", "sidewalk", "building", "wall", "fence", "pole", "traffic_light", "traffic_sign",
                      "vegetation", "terrain", "sky", "person", "rider", "car", "truck", "bus", "train",
                      "motorcycle", "bicycle")
# labelIds of the 19 evaluated classes, in train-id order (Cityscapes scripts, labels.py)
CITYSCAPES_LABEL_IDS = (7, 8, 11, 12, 13, 17, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 31, 32, 33)
CITYSCAPES_LAYOUT = ("leftImg8bit/{split}/{city}/*_leftImg8bit.png with "
                     "gtFine/{split}/{city}/*_gtFine_labelIds.png")


@register_dataset("cityscapes")
def cityscapes(root: str | Path, split: str, transform: Transform | None = None,
               holdout_cities: Sequence[str] = ("zurich",), scale: float = 1.0) -> SegmentationFolder:
    """Cityscapes fine annotations, labelIds mapped to the 19 train ids, everything else ignored (255).
    `search_val` holds out whole training cities. `scale`: a fraction of the stored 2048x1024."""
    _check_split(split, ("train", "val", "test", *SEARCH_SPLITS))
    source = "train" if split in SEARCH_SPLITS else split
    root = require_dirs(root, [f"leftImg8bit/{source}", f"gtFine/{source}"], CITYSCAPES_LAYOUT)
    pairs = []
    for city in sorted(p.name for p in (root / "leftImg8bit" / source).iterdir() if p.is_dir()):
        images = images_by_stem(root / "leftImg8bit" / source / city)
        for stem, image in images.items():
            label = root / "gtFine" / source / city / (stem.replace("_leftImg8bit", "") + "_gtFine_labelIds.png")
            if not label.is_file():
                raise ValueError(f"{image} has no label {label}; expected the layout {CITYSCAPES_LAYOUT}")
            pairs.append((image, label))
    if not pairs:
        raise ValueError(f"no images under {root / 'leftImg8bit' / source}; expected the layout {CITYSCAPES_LAYOUT}")
    if split in SEARCH_SPLITS:
        held = set(holdout_cities)
        pairs = _search_subset(pairs, split, lambda path: path.parent.name in held, f"holdout_cities={sorted(held)}")
    return SegmentationFolder(pairs, _label_map(CITYSCAPES_LABEL_IDS), CITYSCAPES_CLASSES, split, transform,
                              scale, "Cityscapes")


ADE20K_LAYOUT = "images/{training,validation}/*.jpg with annotations/{training,validation}/*.png (0 = unlabelled)"


@register_dataset("ade20k")
def ade20k(root: str | Path, split: str, transform: Transform | None = None,
           holdout_fraction: float = 0.1, scale: float = 1.0) -> SegmentationFolder:
    """ADEChallengeData2016 (SceneParsing), 150 classes; stored label 0 (unlabelled) ignored, 1..150 become
    0..149. `search_val` holds out a fixed fraction of training images chosen by a hash of the file name.
    `scale`: a fraction of each stored image's own size."""
    _check_split(split, ("train", "val", *SEARCH_SPLITS))
    if not 0 < holdout_fraction < 1:
        raise ValueError(f"holdout_fraction = {holdout_fraction!r}, expected 0 < fraction < 1")
    folder = "validation" if split == "val" else "training"
    root = require_dirs(root, [f"images/{folder}", f"annotations/{folder}"], ADE20K_LAYOUT)
    pairs = pair_by_stem(root / "images" / folder, root / "annotations" / folder, ADE20K_LAYOUT)
    if split in SEARCH_SPLITS:
        pairs = _search_subset(pairs, split, lambda path: stable_fraction(path.stem) < holdout_fraction,
                               f"holdout_fraction={holdout_fraction}")
    return SegmentationFolder(pairs, _label_map(range(1, 151)), [f"class_{i}" for i in range(150)], split, transform,
                              scale, "ADE20K", same_size=False)
