from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from moseg.data import TrainTransform, build_dataset
from moseg.data.synthetic import SYNTHETIC_CLASSES
from moseg.metrics.segmentation import IGNORE_INDEX


def stems(dataset) -> set[str]:
    return {image.stem for image, _ in dataset.pairs}


def test_camvid_splits_and_search_holdout_by_sequence(camvid_root):
    sizes = {s: len(build_dataset("camvid", camvid_root, s)) for s in ("train", "val", "test", "trainval")}
    assert sizes == {"train": 367, "val": 101, "test": 233, "trainval": 468}
    search_train = build_dataset("camvid", camvid_root, "search_train")
    search_val = build_dataset("camvid", camvid_root, "search_val")
    assert (len(search_train), len(search_val)) == (266, 101)
    assert {s.split("_")[0] for s in stems(search_val)} == {"0006R0"}
    assert not stems(search_train) & stems(search_val)
    assert stems(search_train) | stems(search_val) == stems(build_dataset("camvid", camvid_root, "train"))
    other = build_dataset("camvid", camvid_root, "search_val", holdout_sequences=("0001TP", "0006R0"))
    assert len(other) == 163


def test_camvid_item_maps_void_to_ignore(camvid_root):
    dataset = build_dataset("camvid", camvid_root, "val")
    image, label = dataset[0]
    assert image.shape == (3, 360, 480) and image.dtype == torch.float32
    assert label.shape == (360, 480) and label.dtype == torch.int64
    raw = np.asarray(Image.open(dataset.pairs[0][1]))
    assert np.array_equal(label.numpy() == IGNORE_INDEX, raw == 11)
    assert set(label.unique().tolist()) <= set(range(11)) | {IGNORE_INDEX}
    assert dataset.num_classes == 11 and dataset.class_names[3] == "road"


def test_camvid_at_half_resolution_keeps_void_void_and_names_the_protocol(camvid_root):
    full, half = (build_dataset("camvid", camvid_root, "test", scale=s) for s in (1.0, 0.5))
    image, label = half[0]
    assert image.shape == (3, 180, 240) and label.shape == (180, 240)
    raw = full.load(0)[1]
    void_share = (label.numpy() == IGNORE_INDEX).mean()
    assert abs(void_share - (raw == IGNORE_INDEX).mean()) < 0.01  # void stays void, in the same proportion
    assert set(label.unique().tolist()) <= set(np.unique(raw).tolist())  # nearest neighbour: no new values
    assert half.protocol == "CamVid-11 at 240x180 (scale 0.5 of the stored 480x360)"
    assert full.protocol == "CamVid-11 at 480x360 (the stored resolution)"


def test_scale_resizes_images_bilinearly_and_labels_by_nearest_neighbour(tmp_path):
    label = np.zeros((8, 12), np.uint8)
    label[:, 6:] = 11  # void on the right half
    label[2:4, 2:4] = 3
    write_pair(tmp_path / "test" / "0001TP_000001.png", tmp_path / "testannot" / "0001TP_000001.png", label)
    image, mapped = build_dataset("camvid", tmp_path, "test", scale=0.5).load(0)
    assert image.shape == (4, 6, 3) and mapped.shape == (4, 6)
    assert (mapped[:, 3:] == IGNORE_INDEX).all() and (mapped[:, :3] != IGNORE_INDEX).all()
    assert set(np.unique(mapped)) <= {0, 3, IGNORE_INDEX}
    for bad in (0, -0.5, 1.5, True, "half"):
        with pytest.raises(ValueError, match=f"scale = {bad!r}, expected a number in \\(0, 1\\]"):
            build_dataset("camvid", tmp_path, "test", scale=bad)


@pytest.mark.parametrize(("value", "shape"), [(12, (8, 12)), (255, (8, 12)), (3, (8, 12, 3))])
def test_a_camvid_label_outside_its_classes_is_named_with_the_file(tmp_path, value, shape):
    label = np.zeros(shape, np.uint8)
    label[1, 1] = value
    write_pair(tmp_path / "test" / "0001TP_000001.png", tmp_path / "testannot" / "0001TP_000001.png", label)
    expected = (r"has 3 channels; expected a single-channel label image of class ids 0-11" if len(shape) == 3 else
                rf"holds label value {value}; expected class ids 0-11 \(CamVid: sky, building, .*, then void\)")
    with pytest.raises(ValueError, match=rf"testannot/0001TP_000001.png {expected}"):
        build_dataset("camvid", tmp_path, "test")[0]


def test_camvid_bad_root_and_holdout_are_named(camvid_root, tmp_path):
    with pytest.raises(ValueError, match=f"{tmp_path}/train does not exist; expected the layout train/ val/ test/"):
        build_dataset("camvid", tmp_path, "train")
    with pytest.raises(ValueError, match="split 'search_val' is empty: holdout_sequences=\\['Seq99'\\]"):
        build_dataset("camvid", camvid_root, "search_val", holdout_sequences=("Seq99",))
    with pytest.raises(ValueError, match="split = 'validation'"):
        build_dataset("camvid", camvid_root, "validation")


def write_pair(image_path: Path, label_path: Path, label: np.ndarray) -> None:
    image_path.parent.mkdir(parents=True, exist_ok=True)
    label_path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((*label.shape[:2], 3), 100, np.uint8)).save(image_path)
    Image.fromarray(label.astype(np.uint8)).save(label_path)


def test_cityscapes_fixture_maps_label_ids_to_train_ids(tmp_path):
    label = np.array([[7, 26, 0, 33], [24, 1, 11, 23]])
    for split, city in (("train", "aachen"), ("train", "zurich"), ("val", "lindau")):
        stem = f"{city}_000000_000019"
        write_pair(tmp_path / "leftImg8bit" / split / city / f"{stem}_leftImg8bit.png",
                   tmp_path / "gtFine" / split / city / f"{stem}_gtFine_labelIds.png", label)
    _, mapped = build_dataset("cityscapes", tmp_path, "val")[0]
    assert mapped.tolist() == [[0, 13, IGNORE_INDEX, 18], [11, IGNORE_INDEX, 2, 10]]
    assert len(build_dataset("cityscapes", tmp_path, "train")) == 2
    held = build_dataset("cityscapes", tmp_path, "search_val")
    assert [p[0].parent.name for p in held.pairs] == ["zurich"]
    assert build_dataset("cityscapes", tmp_path, "search_train").num_classes == 19
    (tmp_path / "gtFine" / "val" / "lindau" / "lindau_000000_000019_gtFine_labelIds.png").unlink()
    with pytest.raises(ValueError, match="has no label .*lindau_000000_000019_gtFine_labelIds.png"):
        build_dataset("cityscapes", tmp_path, "val")
    with pytest.raises(ValueError, match="leftImg8bit/test does not exist"):
        build_dataset("cityscapes", tmp_path, "test")


def test_ade20k_fixture_ignores_zero_and_shifts_classes(tmp_path):
    label = np.array([[0, 1, 150]])
    for i in range(40):
        write_pair(tmp_path / "images" / "training" / f"ADE_train_{i:08d}.jpg",
                   tmp_path / "annotations" / "training" / f"ADE_train_{i:08d}.png", label)
    write_pair(tmp_path / "images" / "validation" / "ADE_val_00000001.jpg",
               tmp_path / "annotations" / "validation" / "ADE_val_00000001.png", label)
    val = build_dataset("ade20k", tmp_path, "val")
    assert val[0][1].tolist() == [[IGNORE_INDEX, 0, 149]] and val.num_classes == 150
    held, rest = (build_dataset("ade20k", tmp_path, s, holdout_fraction=0.25) for s in ("search_val", "search_train"))
    assert len(held) + len(rest) == 40 and 3 <= len(held) <= 17
    assert not stems(held) & stems(rest)
    assert stems(held) == stems(build_dataset("ade20k", tmp_path, "search_val", holdout_fraction=0.25))


def test_unknown_dataset_and_missing_root():
    with pytest.raises(ValueError, match=r"unknown dataset 'voc'; registered: ade20k, camvid, cityscapes, synthetic\."):
        build_dataset("voc", None, "train")
    with pytest.raises(ValueError, match="needs a root folder laid out as"):
        build_dataset("ade20k", None, "train")
    with pytest.raises(ValueError, match="root must be None"):
        build_dataset("synthetic", "/data", "train")


def test_synthetic_is_deterministic_and_covers_every_class():
    a = build_dataset("synthetic", None, "train", size=(64, 96), length=60)
    b = build_dataset("synthetic", None, "train", size=(64, 96), length=60)
    image, label = a.load(3)
    assert image.shape == (64, 96, 3) and label.shape == (64, 96)
    assert np.array_equal(image, b.load(3)[0]) and np.array_equal(label, b.load(3)[1])
    assert not np.array_equal(image, a.load(4)[0])
    assert not np.array_equal(image, build_dataset("synthetic", None, "search_val", size=(64, 96)).load(3)[0])
    assert not np.array_equal(image, build_dataset("synthetic", None, "train", size=(64, 96), seed=1).load(3)[0])
    counts = np.bincount(np.stack([a.load(i)[1] for i in range(60)]).ravel(), minlength=len(SYNTHETIC_CLASSES))
    share = counts / counts.sum()
    assert np.all(share > 0), share
    assert share[6] < 0.02 and share[7] < 0.02  # pedestrians and poles are small and rare
    tensor_image, tensor_label = a[0]
    assert tensor_image.shape == (3, 64, 96) and tensor_label.dtype == torch.int64


def test_synthetic_bad_arguments():
    with pytest.raises(ValueError, match="split = 'valid'"):
        build_dataset("synthetic", None, "valid")
    with pytest.raises(ValueError, match="size = \\(8, 8\\)"):
        build_dataset("synthetic", None, "train", size=(8, 8))
    with pytest.raises(IndexError):
        build_dataset("synthetic", None, "val", length=2).load(2)


def test_train_transform_through_the_registry():
    dataset = build_dataset("synthetic", None, "train", size=(48, 64), length=4,
                            transform=TrainTransform((56, 40), scale_range=(0.5, 0.5)))
    image, label = dataset[0]
    assert image.shape == (3, 56, 40) and label.shape == (56, 40)
    assert (label[-8:] == IGNORE_INDEX).all()  # 48 * 0.5 = 24 rows of data, the rest is ignore padding
