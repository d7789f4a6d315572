import numpy as np
import pytest
import torch

from moseg.data.transforms import MEAN, STD, EvalTransform, TrainTransform
from moseg.metrics.segmentation import IGNORE_INDEX


def column_scene(height=20, width=30):
    """Label = column index mod 7; the image's red channel encodes the same, so flips can be checked."""
    label = np.tile(np.arange(width) % 7, (height, 1)).astype(np.uint8)
    image = np.zeros((height, width, 3), np.uint8)
    image[..., 0] = label * 30
    return image, label


def test_eval_transform_normalises_the_whole_image():
    image, label = column_scene()
    img, lab = EvalTransform()(image, label)
    assert img.shape == (3, 20, 30) and torch.equal(lab, torch.from_numpy(label).long())
    assert torch.allclose(img[1], (0 - MEAN[1]) / STD[1])


def test_train_transform_is_reproducible_and_keeps_image_and_label_aligned():
    image, label = column_scene()
    transform = TrainTransform((16, 24), scale_range=(0.75, 1.5), jitter=0.0)
    torch.manual_seed(3)
    first = transform(image, label)
    torch.manual_seed(3)
    second = transform(image, label)
    assert torch.equal(first[0], second[0]) and torch.equal(first[1], second[1])
    flipped = 0
    for seed in range(20):
        torch.manual_seed(seed)
        img, lab = transform(image, label)
        assert img.shape == (3, 16, 24) and lab.shape == (16, 24)
        assert set(lab.unique().tolist()) <= set(range(7)) | {IGNORE_INDEX}  # nearest: no invented labels
        torch.manual_seed(seed)
        img, lab = TrainTransform((16, 24), scale_range=(1, 1), jitter=0.0)(image, label)
        red = (img[0] * STD[0] + MEAN[0]) * 255 / 30
        assert torch.allclose(red, lab.float(), atol=0.01)  # crop and flip move image and label together
        flipped += bool(lab[0, 1] == (lab[0, 0] - 1) % 7)
    assert 0 < flipped < 20


def test_photometric_jitter_changes_only_the_image():
    image, label = column_scene()
    torch.manual_seed(0)
    plain = TrainTransform((20, 30), scale_range=(1, 1), flip=False, jitter=0.0)(image, label)
    torch.manual_seed(0)
    jittered = TrainTransform((20, 30), scale_range=(1, 1), flip=False, jitter=0.4)(image, label)
    assert torch.equal(plain[1], jittered[1]) and not torch.allclose(plain[0], jittered[0])


@pytest.mark.parametrize("kwargs, message", [
    ({"crop_size": (0, 10)}, "crop_size"),
    ({"crop_size": (10, 10), "scale_range": (2.0, 1.0)}, "scale_range"),
    ({"crop_size": (10, 10), "jitter": 1.5}, "jitter"),
])
def test_bad_transform_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        TrainTransform(**kwargs)
