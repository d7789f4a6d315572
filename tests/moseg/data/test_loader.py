import numpy as np
import pytest
import torch

from moseg.data import SyntheticScenes, TrainTransform
from moseg.data.balance import class_pixel_counts, median_frequency_weights
from moseg.data.loader import StepBatchSampler, eval_loader, train_loader
from moseg.metrics.segmentation import IGNORE_INDEX


def batches(loader, n):
    it = iter(loader)
    return [next(it) for _ in range(n)]


def test_sampler_covers_each_epoch_once_and_can_start_anywhere():
    sampler = StepBatchSampler(length=10, global_batch=3, seed=5)
    assert sampler.steps_per_epoch == 3
    first_epoch = [key for step in range(3) for key in sampler.batch_of(step)]
    assert {e for e, _ in first_epoch} == {0} and len({i for _, i in first_epoch}) == 9
    assert [k for s in range(3, 6) for k in sampler.batch_of(s)] != [(1, i) for _, i in first_epoch]  # reshuffled
    late = StepBatchSampler(10, 3, 5, start_step=4)
    assert next(iter(late)) == sampler.batch_of(4)


def test_processes_split_the_global_batch():
    whole = StepBatchSampler(12, 4, seed=0).batch_of(2)
    shares = [StepBatchSampler(12, 4, seed=0, rank=r, world_size=2).batch_of(2) for r in range(2)]
    assert shares[0] + shares[1] == whole
    with pytest.raises(ValueError, match="not divisible by 3 processes"):
        StepBatchSampler(12, 4, seed=0, world_size=3)
    with pytest.raises(ValueError, match="fewer than one batch"):
        StepBatchSampler(3, 4, seed=0)


def test_augmented_stream_is_independent_of_workers_and_of_the_start_step():
    data = SyntheticScenes("train", size=(32, 40), length=8, transform=TrainTransform((24, 32)))
    reference = batches(train_loader(data, 4, seed=1, workers=0), 5)
    with_workers = batches(train_loader(data, 4, seed=1, workers=2), 5)
    resumed = batches(train_loader(data, 4, seed=1, start_step=3, workers=0), 2)
    for (a, b), (c, d) in zip(reference, with_workers, strict=True):
        # workers run single-threaded kernels: same crops and labels, images equal up to float rounding
        assert torch.equal(b, d) and torch.allclose(a, c, atol=1e-5, rtol=0)
    for (a, b), (c, d) in zip(reference[3:], resumed, strict=True):
        assert torch.equal(a, c) and torch.equal(b, d)
    assert not torch.equal(reference[0][0], reference[2][0])
    other_seed = batches(train_loader(data, 4, seed=2, workers=0), 1)
    assert not torch.equal(reference[0][0], other_seed[0][0])


def test_eval_loader_shards_in_order_and_rejects_mixed_sizes():
    data = SyntheticScenes("val", size=(32, 40), length=5)
    shards = [list(eval_loader(data, 2, workers=0, rank=r, world_size=2)) for r in range(2)]
    assert [len(b[0]) for b in shards[0]] == [2, 1] and [len(b[0]) for b in shards[1]] == [2]
    assert torch.equal(shards[1][0][0][0], data[1][0])

    class Mixed(torch.utils.data.Dataset):
        def __len__(self):
            return 2

        def __getitem__(self, i):
            return torch.zeros(3, 8 + i, 8), torch.zeros(8 + i, 8, dtype=torch.long)

    with pytest.raises(ValueError, match="use an evaluation batch size of 1"):
        list(eval_loader(Mixed(), 2, workers=0))


class FixedLabels:
    def __init__(self, labels):
        self.labels = labels

    def __len__(self):
        return len(self.labels)

    def load(self, i):
        return None, self.labels[i]


def test_median_frequency_weights_by_hand():
    a = np.array([[0, 0, 0, 1]])  # class 0: 3 px, class 1: 1 px, image of 4 labelled px
    b = np.array([[0, 2, IGNORE_INDEX, IGNORE_INDEX]])  # class 0: 1, class 2: 1, 2 labelled px
    pixels, image_pixels = class_pixel_counts(FixedLabels([a, b]), 4)
    assert pixels.tolist() == [4, 1, 1, 0] and image_pixels.tolist() == [6, 4, 2, 0]
    freq = np.array([4 / 6, 1 / 4, 1 / 2])
    expected = np.median(freq) / freq
    assert np.allclose(median_frequency_weights(FixedLabels([a, b]), 4), [*expected, 0.0])
    with pytest.raises(ValueError, match="no labelled pixels"):
        median_frequency_weights(FixedLabels([np.full((2, 2), IGNORE_INDEX)]), 3)
