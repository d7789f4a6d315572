"""`moseg demo`: the whole pipeline on the built-in synthetic scenes, small enough for 2 CPU cores in minutes.

A small search space on 64x80 scenes whose networks range from a 2 k-parameter one (an 8-channel 1/8 branch)
to a 0.3 M-parameter one (three branches of up to 3 blocks), so that capacity shows in the scores: a supernet
trained for 400 steps, a search of 20 true evaluations with latency measured on this CPU, three evenly spaced
trade-off networks of distinct sizes and the LR-ASPP MobileNetV3-Small baseline retrained from scratch for 250
steps each, then the figures and a table. The rare classes (cars, pedestrians, poles) are weighted by softened
median-frequency weights. It runs on 1 CPU thread (`moseg demo`'s default; `moseg --threads N demo` to change),
which was faster than 2 threads for its small tensors and keeps it from slowing down many times on a busy
machine. The figures are real but the training is short; `experiments/` holds the configs a paper uses.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from moseg.pipeline import load_pipeline_config, run_pipeline
from moseg.retrain import summary_table

SPACE = {"stem_widths": [4, 16], "branch_widths": [[8, 32], [16, 48], [32, 64]], "head_widths": [8, 32],
         "max_depth": 3, "kernels": [3, 5], "dilations": [1, 2], "expand_ratios": [2, 4], "heads": [1, 2],
         "head_dims": [8, 16], "kv_pools": [4, 8]}
DATA = {"dataset": "synthetic", "options": {"size": [64, 80], "length": 256}, "crop_size": [64, 80],
        "batch_size": 8, "workers": 0}
EVAL = {"calib_images": 16, "calib_batch_size": 8, "batch_size": 8}
LOSS = {"class_weights": "median_frequency", "class_weight_power": 0.5}  # cars, pedestrians, poles are rare
LATENCY = {"resolution": [64, 80], "device": "cpu", "threads": 1}
DEMO = {
    "out_dir": "runs/demo",
    "supernet": {"device": "cpu", "data": DATA, "model": {"space": SPACE}, "eval": EVAL, "loss": LOSS,
                 "optim": {"warmup_iters": 10}, "train": {"iterations": 400, "checkpoint_every": 100, "log_every": 10}},
    "search": {"device": "cpu", "budget": 20, "n_doe": 10, "n_infill": 5, "pop_size": 40, "n_gen": 10,
               "latency": {**LATENCY, "kind": "measured", "min_time_s": 0.05}},
    "retrain": {"select": "spaced", "n_select": 3, "baselines": ["lraspp_mobilenetv3_small"],
                "recipe": {"device": "cpu", "data": DATA, "eval": EVAL, "loss": LOSS, "optim": {"warmup_iters": 10},
                           "train": {"iterations": 250, "checkpoint_every": 125, "log_every": 10}},
                "latency": {**LATENCY, "min_time_s": 0.2}},
}


def run_demo(overrides: list[str] | tuple[str, ...] = ()) -> pd.DataFrame | None:
    """Run (or resume) the demo with `key=value` overrides of `DEMO` (e.g. out_dir=..., search.budget=30);
    prints and returns the table of retrained networks (None when the retraining stage was left out)."""
    config = load_pipeline_config(None, overrides, defaults=DEMO)
    retrained = run_pipeline(config)
    if retrained is not None:
        print(f"\n{summary_table(retrained)}")
    print(f"\nOutputs in {Path(config.out_dir)}: front.csv, archive.csv, "
          "pareto.png/.pdf; each network's weights, ONNX, torch.export program and load.py in "
          "retrain/networks/NAME/export")
    return retrained
