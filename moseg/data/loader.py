"""Data loaders whose stream is a pure function of (seed, step), so training resumes exactly where it stopped.

The training sampler walks an endless sequence of epochs, each a seeded permutation of the dataset, and can
start at any step without loading the samples before it. Every sample's augmentation is seeded by
(seed, epoch, index), so the images a step sees do not depend on the number of workers, on prefetching or on
whether the run was interrupted. Batches are split across processes (DistributedDataParallel): the global
batch is the same for any number of processes.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler


class StepBatchSampler(Sampler[list[tuple[int, int]]]):
    """Yields, for step = `start_step`, `start_step` + 1, ..., this process's share of the global batch as
    (epoch, index) keys. Epochs drop their last incomplete global batch."""

    def __init__(self, length: int, global_batch: int, seed: int, start_step: int = 0, rank: int = 0,
                 world_size: int = 1) -> None:
        if global_batch % world_size:
            raise ValueError(f"batch size {global_batch} is not divisible by {world_size} processes")
        if length < global_batch:
            raise ValueError(f"the dataset has {length} samples, fewer than one batch of {global_batch}")
        self.length, self.global_batch, self.seed = length, global_batch, seed
        self.start_step, self.rank, self.world_size = start_step, rank, world_size
        self.steps_per_epoch = length // global_batch

    def batch_of(self, step: int) -> list[tuple[int, int]]:
        epoch, position = divmod(step, self.steps_per_epoch)
        order = np.random.default_rng([self.seed, 0, epoch]).permutation(self.length)
        share = self.global_batch // self.world_size
        start = position * self.global_batch + self.rank * share
        return [(epoch, int(i)) for i in order[start:start + share]]

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        step = self.start_step
        while True:
            yield self.batch_of(step)
            step += 1


class SeededItems(Dataset):
    """`dataset[index]` with torch's random generator seeded by (seed, epoch, index) for the transform, and
    restored afterwards, so augmentation is reproducible in any worker and in the main process."""

    def __init__(self, dataset: Dataset, seed: int) -> None:
        self.dataset, self.seed = dataset, seed

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, key: tuple[int, int]):
        epoch, index = key
        item_seed = int(np.random.SeedSequence([self.seed, 2, epoch, index]).generate_state(1)[0])
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(item_seed)
            return self.dataset[index]


def train_loader(dataset: Dataset, global_batch: int, seed: int, *, start_step: int = 0, rank: int = 0,
                 world_size: int = 1, workers: int = 2, pin_memory: bool = False) -> DataLoader:
    """An endless loader of augmented training batches starting at `start_step` (see module docstring)."""
    sampler = StepBatchSampler(len(dataset), global_batch, seed, start_step, rank, world_size)
    return DataLoader(SeededItems(dataset, seed), batch_sampler=sampler, num_workers=workers,
                      pin_memory=pin_memory, persistent_workers=workers > 0,
                      prefetch_factor=4 if workers > 0 else None)


def eval_loader(dataset: Dataset, batch_size: int, *, workers: int = 2, pin_memory: bool = False,
                rank: int = 0, world_size: int = 1) -> DataLoader:
    """Whole images in a fixed order; with several processes each takes every `world_size`-th image."""
    indices = list(range(rank, len(dataset), world_size))
    subset = torch.utils.data.Subset(dataset, indices)
    return DataLoader(subset, batch_size=batch_size, shuffle=False, num_workers=workers, pin_memory=pin_memory,
                      collate_fn=stack_same_size)


def stack_same_size(items: list[tuple[torch.Tensor, torch.Tensor]]) -> tuple[torch.Tensor, torch.Tensor]:
    """Batch whole images; images of different sizes (e.g. ADE20K) need an evaluation batch size of 1."""
    sizes = {tuple(image.shape[-2:]) for image, _ in items}
    if len(sizes) > 1:
        raise ValueError(f"evaluation images of different sizes {sorted(sizes)} cannot share a batch; "
                         "use an evaluation batch size of 1 for this dataset")
    images, labels = zip(*items, strict=True)
    return torch.stack(images), torch.stack(labels)
