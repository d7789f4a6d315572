import json

import numpy as np
import pytest
import torch

from moseg.data import SyntheticScenes
from moseg.metrics.scoring import EvaluationData, calibration_subset
from moseg.metrics.segmentation import evaluate, recalibrate_bn
from moseg.oneshot.candidates import CandidateEvaluator
from moseg.train import train


@pytest.fixture
def checkpoint(tiny_config, tmp_path):
    train(tiny_config("train.iterations=4", "data.val_split=null"))
    return tmp_path / "run" / "checkpoint.pt"


def test_scores_match_extract_recalibrate_evaluate_by_hand(checkpoint, tiny_space):
    evaluator = CandidateEvaluator.from_checkpoint(checkpoint, split="val", calib_images=4, calib_batch_size=2)
    archs = tiny_space.sample(3, seed=1)
    scores = evaluator.evaluate(archs)
    assert [s.arch for s in scores] == [tiny_space.decode(x) for x in archs]
    assert all(s.split == "val" and s.seconds > 0 and len(s.per_class_iou) == 8 for s in scores)

    supernet = evaluator.supernet
    before = {k: v.clone() for k, v in supernet.state_dict().items()}
    again = evaluator.score(tiny_space.decode(archs[1]))
    assert again.miou == scores[1].miou  # deterministic, and scoring left no trace in the supernet
    assert all(torch.equal(before[k], v) for k, v in supernet.state_dict().items())

    train_data = SyntheticScenes("search_train", size=(48, 64), length=16)
    chosen = [train_data[i][0] for i in calibration_subset(train_data, 4, seed=0).indices]
    net = supernet.extract(archs[1])
    recalibrate_bn(net, [(torch.stack(chosen[:2]),), (torch.stack(chosen[2:]),)], 2)
    val = SyntheticScenes("val", size=(48, 64), length=16)
    by_hand = evaluate(net, [(image[None], label[None]) for image, label in val])
    assert by_hand["miou"] == pytest.approx(scores[1].miou, abs=1e-12)


def test_calibration_subset_is_fixed_and_bounded():
    data = list(range(10))
    assert calibration_subset(data, 4, seed=0).indices == calibration_subset(data, 4, seed=0).indices
    assert calibration_subset(data, 4, seed=0).indices != calibration_subset(data, 4, seed=1).indices
    assert calibration_subset(data, 50, seed=0).indices == list(range(10))


def test_evaluator_errors(checkpoint, tiny_config, tmp_path, tiny_space):
    with pytest.raises(ValueError, match="validation split"):
        CandidateEvaluator.from_checkpoint(checkpoint)
    with pytest.raises(ValueError, match="at least one batch"):
        EvaluationData([], [(torch.zeros(1, 3, 8, 8), torch.zeros(1, 8, 8, dtype=torch.long))],
                       device=torch.device("cpu"), num_classes=2, split="val")
    arch_file = tmp_path / "a.json"
    arch_file.write_text(json.dumps(tiny_space.min_arch().to_dict()))
    train(tiny_config(f"model.arch={arch_file}", "train.iterations=1", "data.val_split=null", out="alone"))
    with pytest.raises(ValueError, match="standalone network, not a supernet"):
        CandidateEvaluator.from_checkpoint(tmp_path / "alone" / "checkpoint.pt", split="val")
    evaluator = CandidateEvaluator.from_checkpoint(checkpoint, split="val", calib_images=2)
    bad = np.array(tiny_space.xu) + 1
    with pytest.raises(ValueError):
        evaluator.score(bad)
