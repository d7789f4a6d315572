import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import nn

from moseg.metrics.segmentation import IGNORE_INDEX, confusion_matrix, evaluate, recalibrate_bn, scores
from moseg.nn import Supernet
from moseg.space import SearchSpace


def numpy_reference(preds, targets, num_classes, ignore=IGNORE_INDEX):
    """Plain per-class counting, independent of the bincount implementation."""
    tp = np.zeros(num_classes)
    fp = np.zeros(num_classes)
    fn = np.zeros(num_classes)
    for p, t in zip(preds, targets, strict=True):
        keep = t != ignore
        p, t = p[keep], t[keep]
        for c in range(num_classes):
            tp[c] += np.sum((p == c) & (t == c))
            fp[c] += np.sum((p == c) & (t != c))
            fn[c] += np.sum((p != c) & (t == c))
    denom = tp + fp + fn
    iou = np.where(denom > 0, tp / np.maximum(denom, 1), np.nan)
    return np.nanmean(iou), iou, tp.sum() / (tp.sum() + fn.sum())


class LookupModel(nn.Module):
    """Returns fixed logits per batch index carried in the image tensor (channel 0, pixel 0)."""

    def __init__(self, logits: list[torch.Tensor]) -> None:
        super().__init__()
        self.logits = logits
        self.dummy = nn.Parameter(torch.zeros(1))

    def forward(self, x):
        return torch.stack([self.logits[int(i)] for i in x[:, 0, 0, 0]])


def make_batches(seed, n_batches=4, num_classes=6, size=(9, 13)):
    g = torch.Generator().manual_seed(seed)
    logits, batches, labels = [], [], []
    for b in range(n_batches):
        label = torch.randint(0, num_classes, (2, *size), generator=g)
        label[torch.rand(label.shape, generator=g) < 0.2] = IGNORE_INDEX
        label[label == 5] = 4  # class 5 absent from ground truth
        out = torch.randn(2, num_classes, *size, generator=g)
        logits += list(out)
        image = torch.zeros(2, 3, *size)
        image[:, 0, 0, 0] = torch.tensor([2 * b, 2 * b + 1], dtype=torch.float)
        batches.append((image, label))
        labels.append(label)
    return LookupModel(logits), batches, labels, num_classes


def test_evaluate_matches_numpy_reference():
    model, batches, labels, num_classes = make_batches(0)
    result = evaluate(model, batches)
    preds = [torch.stack(model.logits[2 * b: 2 * b + 2]).argmax(1).numpy() for b in range(len(batches))]
    miou, iou, acc = numpy_reference(preds, [lab.numpy() for lab in labels], num_classes)
    assert result["miou"] == pytest.approx(miou)
    assert np.allclose(result["per_class_iou"], iou, equal_nan=True)
    assert result["pixel_acc"] == pytest.approx(acc)
    assert result["pixels"] == sum(int((lab != IGNORE_INDEX).sum()) for lab in labels)


def test_perfect_prediction_and_absent_classes():
    target = torch.tensor([[0, 1, IGNORE_INDEX], [1, 1, 0]])
    result = scores(confusion_matrix(target.clone(), target, num_classes=4))
    assert result["miou"] == 1.0 and result["pixel_acc"] == 1.0
    assert result["per_class_iou"][:2] == [1.0, 1.0] and all(np.isnan(result["per_class_iou"][2:]))
    pred = torch.tensor([[0, 3, 2], [1, 1, 0]])  # class 3 predicted but absent: IoU 0, counted in the mean
    result = scores(confusion_matrix(pred, target, num_classes=4))
    assert result["per_class_iou"][3] == 0.0 and result["miou"] == pytest.approx((1 + 2 / 3 + 0) / 3)


def test_bad_labels_and_shapes_are_named():
    with pytest.raises(ValueError, match="label 7 is outside \\[0, 4\\)"):
        confusion_matrix(torch.zeros(3, dtype=torch.long), torch.tensor([0, 7, 1]), 4)
    with pytest.raises(ValueError, match="pred shape"):
        confusion_matrix(torch.zeros(3), torch.zeros(4), 4)


def _distributed_worker(rank, world, path, result_path):
    dist.init_process_group("gloo", init_method=f"file://{path}", rank=rank, world_size=world)
    model, batches, _, _ = make_batches(0)
    torch.save(evaluate(model, batches[rank::world]), f"{result_path}.{rank}")
    dist.destroy_process_group()


def test_confusion_is_reduced_across_processes(tmp_path):
    mp.spawn(_distributed_worker, args=(2, tmp_path / "init", tmp_path / "result"), nprocs=2)
    model, batches, _, _ = make_batches(0)
    single = evaluate(model, batches)
    for rank in range(2):
        reduced = torch.load(f"{tmp_path / 'result'}.{rank}")
        assert reduced.keys() == single.keys()
        for key, value in single.items():
            assert reduced[key] == pytest.approx(value, nan_ok=True), key


def test_recalibrate_bn_takes_a_cumulative_average_and_restores_state():
    bn = nn.BatchNorm2d(3, momentum=0.3)
    model = nn.Sequential(bn).eval()
    batches = [(torch.randn(4, 3, 5, 5) * (i + 1) + i, None) for i in range(5)]
    recalibrate_bn(model, batches, num_batches=3)
    expected = torch.stack([b[0].mean((0, 2, 3)) for b in batches[:3]]).mean(0)
    assert torch.allclose(bn.running_mean, expected, atol=1e-5)
    assert bn.momentum == 0.3 and not model.training and int(bn.num_batches_tracked) == 3
    with pytest.raises(ValueError, match="num_batches = 0"):
        recalibrate_bn(model, batches, 0)


def test_recalibration_replaces_the_supernets_shared_statistics():
    torch.manual_seed(0)
    space = SearchSpace()
    supernet = Supernet(space, 4)
    supernet.set_active(space.min_arch())
    bn = supernet.stem.layers[0].bn
    bn.running_mean.fill_(5.0)
    data = [(torch.randn(2, 3, 32, 32), None) for _ in range(2)]
    recalibrate_bn(supernet.eval(), data, num_batches=2)
    assert bn.running_mean[:16].abs().max() < 5.0 and not supernet.training
