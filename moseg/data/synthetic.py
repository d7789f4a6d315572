"""Procedurally generated street-like scenes: the built-in dataset (no download), deterministic per seed,
any resolution.

Each scene has a horizon, sky, textured buildings with windows and shop signs, a perspective road with lane
marks, sidewalks, grass and tree canopies, cars at every distance, pedestrians and poles with signs. The scenes
are made so that network capacity shows in the score:
- colour does not name a class: every class draws its colour from a wide range that overlaps other classes
  (grey, green or brown facades; grey, beige or dark sidewalks; cars and clothes of any colour; overcast skies);
- texture, shape and context do: window grids on facades, tiles on sidewalks, leaf speckle on vegetation,
  lane marks on the road, wheels and windows on cars, heads on pedestrians, the perspective of the street;
- clutter and occlusion: brightly coloured shop signs and posters on facades (building), shadows across road
  and sidewalk, cars, pedestrians and poles drawn in a random depth order so that they hide one another;
- small and thin things: distant cars near the horizon, pedestrians, one-pixel poles with small signs.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from torch.utils.data import Dataset

from moseg.data.folder import Transform
from moseg.data.registry import register_dataset
from moseg.data.transforms import EvalTransform

SYNTHETIC_CLASSES = ("sky", "building", "road", "sidewalk", "vegetation", "car", "pedestrian", "pole")
SKY, BUILDING, ROAD, SIDEWALK, VEGETATION, CAR, PEDESTRIAN, POLE = range(len(SYNTHETIC_CLASSES))
# independent random streams per split; the search splits are disjoint from each other and from test
_STREAMS = {"train": 0, "val": 1, "test": 2, "search_train": 0, "search_val": 3}
_DEFAULT_LENGTH = {"train": 512, "search_train": 512, "val": 128, "search_val": 128, "test": 128}


class SyntheticScenes(Dataset):
    """`length` scenes of `size` (height, width); scene i of a split is the same on every machine."""

    class_names = SYNTHETIC_CLASSES

    def __init__(self, split: str = "train", size: tuple[int, int] = (128, 160), length: int | None = None,
                 seed: int = 0, transform: Transform | None = None) -> None:
        if split not in _STREAMS:
            raise ValueError(f"split = {split!r}, expected one of {list(_STREAMS)}")
        if len(size) != 2 or min(size) < 16:
            raise ValueError(f"size = {size!r}, expected (height, width) of at least 16 pixels each")
        length = _DEFAULT_LENGTH[split] if length is None else length
        if length < 1:
            raise ValueError(f"length = {length!r}, expected >= 1")
        self.split, self.size, self.length, self.seed = split, tuple(size), length, seed
        self.transform = transform or EvalTransform()

    @property
    def num_classes(self) -> int:
        return len(SYNTHETIC_CLASSES)

    @property
    def protocol(self) -> str:
        """The data protocol in words, resolution included (see `moseg.data.folder.SegmentationFolder.protocol`)."""
        return f"synthetic scenes-{self.num_classes} at {self.size[1]}x{self.size[0]}"

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int):
        return self.transform(*self.load(index))

    def load(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """The uint8 (H, W, 3) image and (H, W) label of scene `index`."""
        if not 0 <= index < self.length:
            raise IndexError(f"index {index} out of range for {self.length} scenes")
        rng = np.random.default_rng([self.seed, _STREAMS[self.split], index])
        return _Scene(rng, *self.size).render()


class _Scene:
    """Paints one scene back to front into an image and its label."""

    def __init__(self, rng: np.random.Generator, height: int, width: int) -> None:
        self.rng, self.h, self.w = rng, height, width
        self.yy, self.xx = np.mgrid[0:height, 0:width].astype(np.float32)
        self.image = np.zeros((height, width, 3), np.float32)
        self.label = np.zeros((height, width), np.uint8)
        self.horizon = height * rng.uniform(0.3, 0.5)
        self.vanish_x = width * rng.uniform(0.3, 0.7)

    def paint(self, mask: np.ndarray, cls: int, colour, noise: float = 0.03) -> None:
        colour = np.clip(np.asarray(colour, np.float32), 0, 1)
        texture = self.rng.normal(0, noise, size=(int(mask.sum()), 1)).astype(np.float32)
        self.image[mask] = np.clip(colour + texture, 0, 1)
        self.label[mask] = cls

    def depth_scale(self, y: float) -> float:
        """Apparent size at image row y: 0 at the horizon, 1 at the bottom edge."""
        return max(0.05, (y - self.horizon) / (self.h - self.horizon))

    def render(self) -> tuple[np.ndarray, np.ndarray]:
        rng, yy, xx = self.rng, self.yy, self.xx
        sky = _colour(rng, [(0.45, 0.6, 0.85), (0.7, 0.72, 0.75), (0.85, 0.8, 0.7)], 0.1)
        self.image[:] = sky + (yy / self.h)[..., None] * rng.uniform(0, 0.25)  # brighter towards the horizon
        self.label[:] = SKY
        self._buildings()
        ground = yy >= self.horizon
        spread = np.clip((yy - self.horizon) / (self.h - self.horizon), 0, 1)
        road_half = self.w * rng.uniform(0.2, 0.45) * spread + 1
        walk_half = road_half * rng.uniform(1.3, 1.8)
        offset = np.abs(xx - self.vanish_x)
        self._vegetation(ground & (offset >= walk_half), 0.3)
        walk = ground & (offset >= road_half) & (offset < walk_half)
        self.paint(walk, SIDEWALK, _colour(rng, [(0.55, 0.55, 0.55), (0.7, 0.65, 0.55), (0.35, 0.33, 0.3)], 0.12))
        period = rng.integers(2, 5)
        tiles = walk & ((np.floor(yy / period) + np.floor(xx / (period + 1))) % 2 == 0)
        self.image[tiles] *= rng.uniform(0.8, 0.92)
        road = ground & (offset < road_half)
        self.paint(road, ROAD, _colour(rng, [(0.3, 0.3, 0.3), (0.45, 0.44, 0.42), (0.22, 0.22, 0.25)], 0.08))
        lane = road & (offset < 0.04 * road_half + 0.5) & (np.floor(yy / 4) % 2 == 0)
        self.image[lane] = rng.uniform(0.75, 0.95)
        self._shadows(ground)
        self._trees()
        near_limit = self.horizon + 0.05 * (self.h - self.horizon)
        objects = [("car", bottom) for bottom in rng.uniform(near_limit, 1.1 * self.h, size=rng.integers(0, 6))]
        objects += [("pedestrian", None)] * int(rng.integers(0, 4)) + [("pole", None)] * int(rng.integers(0, 4))
        for kind, bottom in [objects[i] for i in rng.permutation(len(objects))]:  # random depth order: occlusion
            if kind == "car":
                self._car(road_half, bottom)
            elif kind == "pedestrian":
                self._pedestrian(road_half, walk_half)
            else:
                self._pole(road_half, walk_half)
        self.image *= rng.uniform(0.7, 1.2)  # global illumination
        self.image += rng.normal(0, 0.03, self.image.shape)
        return (np.clip(self.image, 0, 1) * 255).astype(np.uint8), self.label

    def _buildings(self) -> None:
        rng, yy, xx = self.rng, self.yy, self.xx
        for _ in range(rng.integers(3, 8)):
            left = rng.uniform(-0.1, 0.9) * self.w
            right = left + rng.uniform(0.1, 0.35) * self.w
            top = self.horizon - rng.uniform(0.1, 0.9) * self.horizon
            mask = (xx >= left) & (xx < right) & (yy >= top) & (yy < self.horizon + 1)
            self.paint(mask, BUILDING, _colour(rng, [(0.6, 0.55, 0.5), (0.55, 0.55, 0.55), (0.35, 0.45, 0.3),
                                                      (0.5, 0.35, 0.25), (0.75, 0.72, 0.65)], 0.12), 0.03)
            period_x, period_y = rng.integers(3, 8), rng.integers(4, 9)
            windows = mask & ((xx - left) % period_x < period_x / 2) & ((yy - top) % period_y < period_y / 2)
            self.image[windows] *= rng.uniform(0.3, 0.7) if rng.random() < 0.7 else rng.uniform(1.3, 1.6)
            for _ in range(rng.integers(0, 3)):  # shop signs and posters: car-like colours on a facade
                sign_top = rng.uniform(top, self.horizon)
                sign_left = rng.uniform(left, right)
                sign = mask & (yy >= sign_top) & (yy < sign_top + rng.uniform(2, 0.1 * self.h + 2)) & \
                    (xx >= sign_left) & (xx < sign_left + rng.uniform(3, 0.12 * self.w + 3))
                self.image[sign] = rng.uniform(0, 1, 3)

    def _vegetation(self, mask: np.ndarray, noise: float) -> None:
        """Leaves: green, olive or autumn brown with a coarse speckle that no other class has."""
        colour = _colour(self.rng, [(0.25, 0.5, 0.2), (0.4, 0.45, 0.2), (0.5, 0.35, 0.15)], 0.1)
        self.paint(mask, VEGETATION, colour, noise)
        speckle = mask & (self.rng.random(mask.shape) < 0.3)
        self.image[speckle] *= self.rng.uniform(0.5, 0.8)

    def _shadows(self, ground: np.ndarray) -> None:
        """Dark bands across road and sidewalk (cast by buildings); they change colour, not class."""
        for _ in range(self.rng.integers(0, 3)):
            slope, start = self.rng.uniform(-1.5, 1.5), self.rng.uniform(0, self.w)
            width = self.rng.uniform(0.05, 0.25) * self.w
            band = ground & (np.abs(self.xx - start - slope * (self.yy - self.horizon)) < width / 2)
            self.image[band] *= self.rng.uniform(0.45, 0.75)

    def _trees(self) -> None:
        rng = self.rng
        for _ in range(rng.integers(0, 4)):
            cx, cy = rng.uniform(0, self.w), self.horizon - rng.uniform(0, 0.25) * self.h
            rx, ry = rng.uniform(0.05, 0.15) * self.w, rng.uniform(0.08, 0.2) * self.h
            blob = ((self.xx - cx) / rx) ** 2 + ((self.yy - cy) / ry) ** 2 < 1 + rng.normal(0, 0.15, self.xx.shape)
            self._vegetation(blob, 0.12)

    def _car(self, road_half: np.ndarray, bottom: float) -> None:
        rng = self.rng
        scale = self.depth_scale(bottom)
        row = int(min(self.h - 1, bottom))
        half_road = road_half[row, 0]
        cx = self.vanish_x + rng.uniform(-0.8, 0.8) * half_road
        width, height = 0.3 * self.w * scale, 0.16 * self.w * scale
        body = (np.abs(self.xx - cx) < width / 2) & (self.yy < bottom) & (self.yy >= bottom - height)
        colour = rng.uniform(0, 1, 3) if rng.random() < 0.6 else [rng.uniform(0.1, 0.5)] * 3  # road-like greys
        self.paint(body, CAR, colour, 0.03)
        glass = body & (self.yy < bottom - 0.55 * height) & (np.abs(self.xx - cx) < 0.35 * width)
        self.image[glass] = rng.uniform(0.1, 0.3, 3)
        for side in (-1, 1):  # wheels: dark discs at the bottom corners
            wheel = ((self.xx - cx - side * 0.3 * width) ** 2 + (self.yy - bottom + 0.1 * height) ** 2
                     < (0.13 * width) ** 2) & body
            self.image[wheel] = 0.05

    def _pedestrian(self, road_half: np.ndarray, walk_half: np.ndarray) -> None:
        rng = self.rng
        bottom = rng.uniform(self.horizon + 0.1 * (self.h - self.horizon), self.h)
        row = int(min(self.h - 1, bottom))
        side = rng.choice([-1, 1])
        cx = self.vanish_x + side * rng.uniform(0.8 * road_half[row, 0], walk_half[row, 0])
        height = max(3.0, 0.35 * self.h * self.depth_scale(bottom))
        cy, rx, ry = bottom - 0.45 * height, max(0.8, 0.14 * height), 0.45 * height
        body = ((self.xx - cx) / rx) ** 2 + ((self.yy - cy) / ry) ** 2 < 1
        self.paint(body, PEDESTRIAN, rng.uniform(0.05, 0.95, 3), 0.05)
        head_r = max(0.7, 0.09 * height)
        head = (self.xx - cx) ** 2 + (self.yy - (bottom - 0.92 * height)) ** 2 < head_r ** 2
        self.paint(head, PEDESTRIAN, np.array([0.8, 0.6, 0.45]) * rng.uniform(0.5, 1.1), 0.03)

    def _pole(self, road_half: np.ndarray, walk_half: np.ndarray) -> None:
        rng = self.rng
        bottom = rng.uniform(self.horizon + 0.1 * (self.h - self.horizon), self.h)
        row = int(min(self.h - 1, bottom))
        side = rng.choice([-1, 1])
        x = self.vanish_x + side * (road_half[row, 0] + 0.5 * (walk_half[row, 0] - road_half[row, 0]))
        scale = self.depth_scale(bottom)
        height, half_width = 0.6 * self.h * scale + 4, max(0.5, 0.006 * self.w * scale)
        pole = (np.abs(self.xx - x) <= half_width) & (self.yy < bottom) & (self.yy >= bottom - height)
        self.paint(pole, POLE, [rng.uniform(0.3, 0.7)] * 3, 0.02)
        sign_size = max(1.5, 0.04 * self.w * scale)
        top = bottom - height
        sign = (np.abs(self.xx - x) < sign_size) & (self.yy >= top) & (self.yy < top + 1.5 * sign_size)
        self.paint(sign, POLE, rng.uniform(0, 1, 3), 0.02)


def _colour(rng: np.random.Generator, palette: list[tuple[float, float, float]], spread: float) -> np.ndarray:
    """One of `palette`'s colours, each channel moved by up to `spread`: classes share parts of colour space."""
    base = np.asarray(palette[rng.integers(len(palette))], np.float32)
    return np.clip(base + rng.uniform(-spread, spread, 3), 0, 1)


@register_dataset("synthetic")
def synthetic_scenes(root: str | Path | None, split: str, **kw) -> SyntheticScenes:
    """The generated scenes as a dataset plug-in: there is nothing to read, so `root` must be None."""
    if root is not None:
        raise ValueError(f"the synthetic dataset is generated, not read: root must be None, got {root!r}")
    return SyntheticScenes(split, **kw)


synthetic_scenes.__wrapped__ = SyntheticScenes  # its options are the scenes' keywords (inspect.signature reads them)
