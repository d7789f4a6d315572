"""`moseg demo`: the whole pipeline on the built-in synthetic scenes, small enough for 2 CPU cores in minutes.

A small search space (two widths per stage, two blocks per branch) on 64x80 scenes: a supernet trained for
300 steps, a search of 20 true evaluations with latency measured on this CPU, three evenly spaced trade-off
networks and the LR-ASPP MobileNetV3-Small baseline retrained from scratch for 200 steps each, then the
figures and a table. The figures are real but the training is short; `experiments/` holds the configs a paper uses.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from moseg.pipeline import load_pipeline_config, run_pipeline
from moseg.retrain import summary_table

SPACE = {"stem_widths": [8, 16], "branch_widths": [[16, 24], [24, 32], [32, 48]], "head_widths": [16, 32],
         "max_depth": 2, "kernels": [3, 5], "dilations": [1, 2], "expand_ratios": [2, 4], "heads": [1, 2],
         "head_dims": [8, 16], "kv_pools": [4, 8]}
DATA = {"dataset": "synthetic", "options": {"size": [64, 80], "length": 256}, "crop_size": [64, 80],
        "batch_size": 8, "workers": 0}
EVAL = {"calib_images": 16, "calib_batch_size": 8, "batch_size": 8}
LATENCY = {"resolution": [64, 80], "device": "cpu", "threads": 1}
DEMO = {
    "out_dir": "runs/demo",
    "supernet": {"device": "cpu", "data": DATA, "model": {"space": SPACE}, "eval": EVAL, "optim": {"warmup_iters": 10},
                 "train": {"iterations": 300, "checkpoint_every": 100, "log_every": 10}},
    "search": {"device": "cpu", "budget": 20, "n_doe": 10, "n_infill": 5, "pop_size": 40, "n_gen": 10,
               "latency": {**LATENCY, "kind": "measured", "min_time_s": 0.05}},
    "retrain": {"select": "spaced", "n_select": 3, "baselines": ["lraspp_mobilenetv3_small"],
                "recipe": {"device": "cpu", "data": DATA, "eval": EVAL, "optim": {"warmup_iters": 10},
                           "train": {"iterations": 200, "checkpoint_every": 100, "log_every": 10}},
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
