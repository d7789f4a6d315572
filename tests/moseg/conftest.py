"""Fixtures of seconds-long CPU training runs, shared by the tests of training and of one-shot evaluation."""

import pytest

from moseg.space import SearchSpace
from moseg.train import load_train_config

TINY_SPACE = {"stem_widths": [8, 16], "branch_widths": [[16, 24], [24, 32]], "head_widths": [16, 32],
              "max_depth": 2, "expand_ratios": [2, 4], "heads": [1, 2], "kv_pools": [4, 8]}


@pytest.fixture
def tiny_space():
    return SearchSpace(**TINY_SPACE)


@pytest.fixture
def tiny_config(tmp_path):
    """A config for seconds-long CPU runs on small synthetic scenes with a small search space."""

    def make(*overrides: str, out: str = "run"):
        base = [
            f"out_dir={tmp_path / out}", "device=cpu", f"model.space={TINY_SPACE}",
            "data.options={size: [48, 64], length: 16}", "data.crop_size=[48, 64]", "data.batch_size=4",
            "data.workers=0", "train.iterations=6", "train.log_every=1", "train.checkpoint_every=3",
            "train.progress=false", "optim.warmup_iters=2", "eval.calib_images=4", "eval.calib_batch_size=2",
        ]
        return load_train_config(None, [*base, *overrides])

    return make
