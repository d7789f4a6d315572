"""`moseg demo`: the pipeline config `demo.yaml` beside this file (what it runs and why is written there), with the
summary a new user reads at the end. It runs on 1 CPU thread (`moseg demo`'s default; `moseg --threads N demo` to
change), which was faster than 2 threads for its small tensors and keeps it from slowing down many times on a busy
machine."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import yaml

from moseg.jobs.pipeline import load_pipeline_config, run_and_report

DEMO_CONFIG = Path(__file__).with_name("demo.yaml")
DEMO = yaml.safe_load(DEMO_CONFIG.read_text())
# the demo's recipe by part, for studies that reuse it (benchmarks/standalone_init.py)
SPACE, DATA = DEMO["supernet"]["model"]["space"], DEMO["supernet"]["data"]
EVAL, LOSS = DEMO["supernet"]["eval"], DEMO["supernet"]["loss"]


def run_demo(overrides: list[str] | tuple[str, ...] = ()) -> pd.DataFrame | None:
    """Run (or resume) the demo with `key=value` overrides of `demo.yaml` (e.g. out_dir=..., search.budget=30);
    prints and returns the table of retrained networks (None when the retraining stage was left out)."""
    return run_and_report(load_pipeline_config(DEMO_CONFIG, overrides))
