"""Procedurally generated street-like scenes: the built-in dataset (no download), deterministic per seed,
any resolution.

Each scene has a horizon, sky, textured buildings with windows, a perspective road with lane marks, sidewalks,
grass and tree canopies, and scale-varying cars; pedestrians and poles with signs are small and rare. Colours
overlap between classes (grey sidewalk vs grey facade, dark car vs road), so texture, shape and context are
needed to separate them, and small objects reward high-resolution features.
"""

from __future__ import annotations

import numpy as np
from torch.utils.data import Dataset

from moseg.data.folder import Transform
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
        sky = np.array([0.45, 0.6, 0.85]) * rng.uniform(0.7, 1.1)
        self.image[:] = sky + (yy / self.h)[..., None] * 0.25  # brighter towards the horizon
        self.label[:] = SKY
        self._buildings()
        ground = yy >= self.horizon
        spread = np.clip((yy - self.horizon) / (self.h - self.horizon), 0, 1)
        road_half = self.w * rng.uniform(0.25, 0.45) * spread + 1
        walk_half = road_half * rng.uniform(1.3, 1.7)
        offset = np.abs(xx - self.vanish_x)
        self.paint(ground & (offset >= walk_half), VEGETATION, [0.25, 0.5, 0.2] * rng.uniform(0.7, 1.2, 3), 0.08)
        walk = ground & (offset >= road_half) & (offset < walk_half)
        grey = rng.uniform(0.45, 0.65)
        self.paint(walk, SIDEWALK, [grey] * 3, 0.02)
        tiles = walk & ((np.floor(yy / 3) + np.floor(xx / 5)) % 2 == 0)
        self.image[tiles] *= 0.9
        road = ground & (offset < road_half)
        self.paint(road, ROAD, [rng.uniform(0.2, 0.35)] * 3, 0.03)
        lane = road & (offset < 0.04 * road_half + 0.5) & (np.floor(yy / 4) % 2 == 0)
        self.image[lane] = 0.9
        self._trees()
        near_limit = self.horizon + 0.1 * (self.h - self.horizon)
        for bottom in np.sort(rng.uniform(near_limit, 1.1 * self.h, size=rng.integers(0, 5))):
            self._car(road_half, bottom)  # far to near, so near cars occlude far ones
        if rng.random() < 0.5:
            for _ in range(rng.integers(1, 3)):
                self._pedestrian(road_half, walk_half)
        for _ in range(rng.integers(0, 3)):
            self._pole(road_half, walk_half)
        self.image *= rng.uniform(0.7, 1.2)  # global illumination
        self.image += rng.normal(0, 0.02, self.image.shape)
        return (np.clip(self.image, 0, 1) * 255).astype(np.uint8), self.label

    def _buildings(self) -> None:
        rng, yy, xx = self.rng, self.yy, self.xx
        for _ in range(rng.integers(3, 8)):
            left = rng.uniform(-0.1, 0.9) * self.w
            right = left + rng.uniform(0.1, 0.35) * self.w
            top = self.horizon - rng.uniform(0.1, 0.9) * self.horizon
            mask = (xx >= left) & (xx < right) & (yy >= top) & (yy < self.horizon + 1)
            base = rng.uniform(0.35, 0.7)
            self.paint(mask, BUILDING, [base * rng.uniform(0.9, 1.2), base, base * rng.uniform(0.8, 1.0)], 0.02)
            period_x, period_y = rng.integers(4, 9), rng.integers(5, 10)
            windows = mask & ((xx - left) % period_x < period_x / 2) & ((yy - top) % period_y < period_y / 2)
            self.image[windows] *= rng.uniform(0.4, 0.7)

    def _trees(self) -> None:
        rng = self.rng
        for _ in range(rng.integers(0, 4)):
            cx, cy = rng.uniform(0, self.w), self.horizon - rng.uniform(0, 0.25) * self.h
            rx, ry = rng.uniform(0.05, 0.15) * self.w, rng.uniform(0.08, 0.2) * self.h
            blob = ((self.xx - cx) / rx) ** 2 + ((self.yy - cy) / ry) ** 2 < 1 + rng.normal(0, 0.15, self.xx.shape)
            self.paint(blob, VEGETATION, [0.15, 0.4, 0.12] * rng.uniform(0.7, 1.3, 3), 0.1)

    def _car(self, road_half: np.ndarray, bottom: float) -> None:
        rng = self.rng
        scale = self.depth_scale(bottom)
        row = int(min(self.h - 1, bottom))
        half_road = road_half[row, 0]
        cx = self.vanish_x + rng.uniform(-0.8, 0.8) * half_road
        width, height = 0.3 * self.w * scale, 0.16 * self.w * scale
        body = (np.abs(self.xx - cx) < width / 2) & (self.yy < bottom) & (self.yy >= bottom - height)
        colour = rng.uniform(0, 1, 3) if rng.random() < 0.6 else [rng.uniform(0.1, 0.3)] * 3
        self.paint(body, CAR, colour, 0.03)
        glass = body & (self.yy < bottom - 0.55 * height) & (np.abs(self.xx - cx) < 0.35 * width)
        self.image[glass] = [0.15, 0.2, 0.25]

    def _pedestrian(self, road_half: np.ndarray, walk_half: np.ndarray) -> None:
        rng = self.rng
        bottom = rng.uniform(self.horizon + 0.15 * (self.h - self.horizon), self.h)
        row = int(min(self.h - 1, bottom))
        side = rng.choice([-1, 1])
        cx = self.vanish_x + side * rng.uniform(road_half[row, 0], walk_half[row, 0])
        height = max(4.0, 0.35 * self.h * self.depth_scale(bottom))
        cy, rx, ry = bottom - height / 2, max(1.0, 0.15 * height), height / 2
        body = ((self.xx - cx) / rx) ** 2 + ((self.yy - cy) / ry) ** 2 < 1
        self.paint(body, PEDESTRIAN, rng.uniform(0.1, 0.9, 3), 0.05)

    def _pole(self, road_half: np.ndarray, walk_half: np.ndarray) -> None:
        rng = self.rng
        bottom = rng.uniform(self.horizon + 0.1 * (self.h - self.horizon), self.h)
        row = int(min(self.h - 1, bottom))
        side = rng.choice([-1, 1])
        x = self.vanish_x + side * (road_half[row, 0] + 0.5 * (walk_half[row, 0] - road_half[row, 0]))
        scale = self.depth_scale(bottom)
        height, half_width = 0.6 * self.h * scale + 4, max(0.5, 0.006 * self.w * scale)
        pole = (np.abs(self.xx - x) <= half_width) & (self.yy < bottom) & (self.yy >= bottom - height)
        self.paint(pole, POLE, [0.55, 0.55, 0.5], 0.02)
        sign_size = max(1.5, 0.04 * self.w * scale)
        top = bottom - height
        sign = (np.abs(self.xx - x) < sign_size) & (self.yy >= top) & (self.yy < top + 1.5 * sign_size)
        self.paint(sign, POLE, [0.8, 0.1, 0.1] if rng.random() < 0.5 else [0.1, 0.2, 0.8], 0.02)
