"""Where the CPU time of each stage of the CamVid CPU protocol goes: cProfile of a short piece of every stage.

Runs, under cProfile, a few steps of each stage with the settings of `experiments/configs/camvid_cpu.yaml`:
supernet training (`--steps` sandwich steps, data loaded in the main process so that decoding shows up),
scoring candidates with inherited weights (min, max and a sampled arch), measuring their latency with the
search's protocol, and training one network standalone as the retraining stage does. Prints, per stage, the
wall time and the functions with the most time of their own (`--top`), and writes the same to `--out`.

    python benchmarks/profile_stages.py --data ../shared/data/camvid --steps 30
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from moseg.data import build_dataset
from moseg.jobs.pipeline import load_pipeline_config, stage_configs
from moseg.oneshot.candidates import CandidateEvaluator
from moseg.train import Trainer
from moseg.train.config import TrainConfig, check_train_config
from moseg.train.distributed import shutdown
from moseg.util.config import load_config

CONFIG = "experiments/configs/camvid_cpu.yaml"


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default="../shared/data/camvid", help="CamVid root (SegNet layout)")
    p.add_argument("--steps", type=int, default=30, help="training steps per training stage and per setting")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--top", type=int, default=12)
    p.add_argument("--work", default="runs/profile_stages", help="scratch folder for the trainers' outputs")
    p.add_argument("--out", default="benchmarks/results/camvid_cpu/profile.txt")
    return p.parse_args()


def profiled(name: str, run: Callable[[], object], top: int) -> str:
    """The wall time and the `top` functions by own time of `run()`, as text."""
    profile = cProfile.Profile()
    start = time.perf_counter()
    profile.runcall(run)
    wall = time.perf_counter() - start
    text = io.StringIO()
    pstats.Stats(profile, stream=text).sort_stats("tottime").print_stats(top)
    body = text.getvalue()
    body = body[body.index("ncalls"):] if "ncalls" in body else body
    return f"## {name}: {wall:.1f} s wall\n\n{body.rstrip()}\n"


def trainer_for(args: argparse.Namespace, section: dict, folder: str, *overrides: str) -> Trainer:
    """A fresh trainer of `section` (a TrainConfig mapping) for `--steps` steps, data loaded in-process."""
    config = check_train_config(load_config(TrainConfig, None, [
        f"data.root={args.data}", f"out_dir={Path(args.work) / folder}", f"train.iterations={args.steps}",
        f"train.checkpoint_every={args.steps}", "train.eval_every=0", "data.workers=0", "data.val_split=null",
        "train.progress=false", *overrides], defaults=section))
    for stale in ("checkpoint.pt", "log.csv"):
        (Path(config.out_dir) / stale).unlink(missing_ok=True)
    return Trainer(config)


def seconds_per_step(args: argparse.Namespace, section: dict, folder: str, *overrides: str) -> float:
    """Median seconds per training step of a fresh `--steps`-step run (10-step windows after the first)."""
    trainer = trainer_for(args, section, folder, "train.log_every=10", *overrides)
    trainer.run()
    shutdown(trainer.process)
    rates = pd.read_csv(Path(trainer.config.out_dir) / "log.csv")["images_per_s"].to_numpy()[1:]
    return trainer.config.data.batch_size / float(np.median(rates))


def side_by_side(args: argparse.Namespace, section: dict) -> str:
    """Supernet sandwich steps under the settings a cheap win changes, one after the other in one run."""
    settings = {
        "contiguous layout, data in the main process": ["train.channels_last=false", "data.workers=0"],
        "channels_last, data in the main process": ["train.channels_last=true", "data.workers=0"],
        "channels_last, 1 loader worker": ["train.channels_last=true", "data.workers=1"],
    }
    rows = [f"| {name} | {seconds_per_step(args, section, 'side_by_side', *overrides):.3f} |"
            for name, overrides in settings.items()]
    return ("## supernet training: seconds per sandwich step, side by side\n\n| setting | s / step |\n|---|---|\n"
            + "\n".join(rows) + "\n")


def main() -> None:
    args = parse_args()
    torch.set_num_threads(args.threads)
    pipeline = load_pipeline_config(CONFIG, [f"supernet.data.root={args.data}",
                                             f"retrain.recipe.data.root={args.data}"])
    stages = stage_configs(pipeline)
    reports = [f"# cProfile of the CamVid CPU stages ({CONFIG}), {args.threads} threads, torch {torch.__version__}\n"]

    reports.append(side_by_side(args, pipeline.supernet))
    supernet = trainer_for(args, pipeline.supernet, "supernet")
    reports.append(profiled(f"supernet training, {args.steps} sandwich steps", supernet.run, args.top))
    shutdown(supernet.process)

    d = supernet.config.data
    search_val = build_dataset(d.dataset, d.root, "search_val", **d.options)
    evaluator = CandidateEvaluator(supernet.net, supernet.evaluation_data(val_data=search_val, split="search_val"))
    space = supernet.space
    archs = [space.min_arch(), space.max_arch(), space.decode(space.sample(1, 0)[0])]
    reports.append(profiled("candidate scoring, 3 archs (min, max, sampled)",
                            lambda: [evaluator.score(a) for a in archs], args.top))

    latency = stages["search"].latency
    reports.append(profiled(f"latency measurement, 3 archs ({latency.device}, {latency.threads} thread, "
                            f"{latency.resolution[0]}x{latency.resolution[1]})",
                            lambda: [latency.measure(supernet.net.extract(a)) for a in archs], args.top))

    recipe = stages["retrain"].recipe
    standalone = trainer_for(args, recipe, "retrain", "model.baseline=lraspp_mobilenetv3_small")
    reports.append(profiled(f"retraining (LR-ASPP MobileNetV3-Small), {args.steps} steps", standalone.run, args.top))
    shutdown(standalone.process)

    text = "\n".join(reports)
    print(text)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text)


if __name__ == "__main__":
    main()
