"""Training and evaluation transforms in torch (no torchvision): random scale, crop with ignore padding,
horizontal flip, photometric jitter, normalisation. Randomness comes from torch's generator, which
DataLoader seeds per worker, so a fixed `torch.manual_seed` gives a reproducible stream."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from moseg.metrics.segmentation import IGNORE_INDEX

MEAN = torch.tensor([0.485, 0.456, 0.406]).view(3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225]).view(3, 1, 1)


def raw_tensors(image: np.ndarray, label: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    """uint8 (H, W, 3) image and (H, W) label to a float (3, H, W) tensor in [0, 1] and an int64 (H, W) one."""
    img = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1).float().div_(255)
    return img, torch.from_numpy(np.ascontiguousarray(label)).long()


def normalise(img: torch.Tensor) -> torch.Tensor:
    return (img - MEAN) / STD


def to_tensors(image: np.ndarray, label: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    """`raw_tensors` with the image normalised."""
    img, lab = raw_tensors(image, label)
    return normalise(img), lab


class EvalTransform:
    """Whole image, normalised: evaluation never crops or rescales."""

    def __call__(self, image: np.ndarray, label: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        return to_tensors(image, label)


class TrainTransform:
    """Random scale in `scale_range`, random crop to `crop_size` (padding the image with the mean colour and
    the label with the ignore index), horizontal flip, brightness/contrast/saturation jitter, normalisation."""

    def __init__(self, crop_size: tuple[int, int], scale_range: tuple[float, float] = (0.5, 2.0),
                 flip: bool = True, jitter: float = 0.2) -> None:
        if len(crop_size) != 2 or min(crop_size) < 1:
            raise ValueError(f"crop_size = {crop_size!r}, expected (height, width) positive integers")
        if not 0 < scale_range[0] <= scale_range[1]:
            raise ValueError(f"scale_range = {scale_range!r}, expected 0 < low <= high")
        if not 0 <= jitter < 1:
            raise ValueError(f"jitter = {jitter!r}, expected 0 <= jitter < 1")
        self.crop_size, self.scale_range, self.flip, self.jitter = tuple(crop_size), scale_range, flip, jitter

    def __call__(self, image: np.ndarray, label: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        img, lab = self._rescale(*raw_tensors(image, label))
        img = normalise(self._photometric(img))  # padding with 0 below is padding with the mean colour
        img, lab = self._crop(img, lab)
        if self.flip and torch.rand(()) < 0.5:
            img, lab = img.flip(-1), lab.flip(-1)
        return img.contiguous(), lab.contiguous()

    def _rescale(self, img: torch.Tensor, lab: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        low, high = self.scale_range
        scale = low + (high - low) * float(torch.rand(()))
        size = (max(1, round(img.shape[1] * scale)), max(1, round(img.shape[2] * scale)))
        img = F.interpolate(img[None], size=size, mode="bilinear", align_corners=False)[0]
        lab = F.interpolate(lab[None, None].float(), size=size, mode="nearest")[0, 0].long()
        return img, lab

    def _photometric(self, img: torch.Tensor) -> torch.Tensor:
        if self.jitter == 0:
            return img
        brightness, contrast, saturation = (1 + self.jitter * (2 * torch.rand(3) - 1)).tolist()
        img = img * brightness
        mean = img.mean()
        img = (img - mean) * contrast + mean
        grey = img.mean(0, keepdim=True)
        return ((img - grey) * saturation + grey).clamp_(0, 1)

    def _crop(self, img: torch.Tensor, lab: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        ch, cw = self.crop_size
        pad_h, pad_w = max(0, ch - img.shape[1]), max(0, cw - img.shape[2])
        if pad_h or pad_w:
            img = F.pad(img, (0, pad_w, 0, pad_h), value=0.0)
            lab = F.pad(lab, (0, pad_w, 0, pad_h), value=IGNORE_INDEX)
        top = int(torch.randint(0, img.shape[1] - ch + 1, ()))
        left = int(torch.randint(0, img.shape[2] - cw + 1, ()))
        return img[:, top:top + ch, left:left + cw], lab[top:top + ch, left:left + cw]
