"""Class weights against class imbalance: median-frequency balancing (Eigen and Fergus, ICCV 2015)."""

from __future__ import annotations

import numpy as np

from moseg.metrics.segmentation import IGNORE_INDEX


def class_pixel_counts(dataset, num_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """Per class: labelled pixels of that class, and total pixels of the images in which it appears.

    Reads raw labels through `dataset.load(i)` (no augmentation)."""
    pixels = np.zeros(num_classes, np.int64)
    image_pixels = np.zeros(num_classes, np.int64)
    for i in range(len(dataset)):
        label = np.asarray(dataset.load(i)[1]).ravel()
        label = label[label != IGNORE_INDEX].astype(np.int64)
        counts = np.bincount(label, minlength=num_classes)[:num_classes]
        pixels += counts
        image_pixels[counts > 0] += label.size
    return pixels, image_pixels


def median_frequency_weights(dataset, num_classes: int) -> np.ndarray:
    """weight_c = median(freq) / freq_c, with freq_c = pixels of class c / pixels of images containing c.
    Classes absent from the dataset get weight 0 (they cannot be learned from it)."""
    pixels, image_pixels = class_pixel_counts(dataset, num_classes)
    present = pixels > 0
    if not present.any():
        raise ValueError("the dataset has no labelled pixels; cannot compute class weights")
    freq = np.zeros(num_classes)
    freq[present] = pixels[present] / image_pixels[present]
    weights = np.zeros(num_classes)
    weights[present] = np.median(freq[present]) / freq[present]
    return weights
