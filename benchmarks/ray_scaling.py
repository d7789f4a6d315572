"""What Ray buys on this machine (issue 21): a search's wall time on 1 and 2 Ray workers, Ray's overhead per
candidate, and retraining 2 networks on 1 and 2 workers.

Real work on synthetic data: the demo's supernet (`moseg/jobs/demo.yaml`, here on 128x160 scenes, trained
briefly: weights do not change the cost of scoring), searched with true evaluations of supernet-inherited networks
(BN recalibration and search_val mIoU; the analytic cost as the latency objective, so no timing competes with the
workers), and two networks of its front retrained from scratch under the demo's recipe, shortened. Every worker
and the serial reference use one thread. The overhead per candidate is measured with a trivial evaluation (a
batch of closed-form objectives), Ray against the serial evaluator, the actors already started.

    python benchmarks/ray_scaling.py --out runs/ray_scaling
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from markdown_table import markdown

from moseg.jobs.demo import DEMO_CONFIG
from moseg.jobs.pipeline import load_pipeline_config, stage_configs
from moseg.jobs.retrain import retrain
from moseg.jobs.search import EvaluatorSettings, search_supernet
from moseg.search.evaluators import SerialEvaluator
from moseg.search.ray_evaluator import RayEvaluator
from moseg.train import train


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default="runs/ray_scaling")
    p.add_argument("--budget", type=int, default=60)
    p.add_argument("--size", type=int, nargs=2, default=[128, 160], help="synthetic scene height and width")
    p.add_argument("--retrain-iterations", type=int, default=200)
    p.add_argument("--trivial", type=int, default=400, help="candidates of the overhead measurement")
    p.add_argument("--search-only", action="store_true", help="the searches on 1 and 2 Ray workers, nothing else")
    return p.parse_args()


def stages(out: Path, args: argparse.Namespace) -> dict:
    """The demo's stage configs under `out` on `--size` scenes: supernet trained 30 steps; search of `--budget`
    evaluations, each scoring 3x the demo's calibration and search_val images, in batches of 20 (flops objective,
    the ridge surrogate: the driver's own work stays small); retraining of 2 spaced networks for
    `--retrain-iterations` steps, no baselines."""
    height, width = args.size
    data = [f"{stage}.data.{key}=[{height}, {width}]" for stage in ("supernet", "retrain.recipe")
            for key in ("crop_size", "options.size")]
    # a candidate's scoring reads the supernet's data and eval settings: 3x the demo's images each
    data += ["supernet.data.options.length=768", "supernet.eval.calib_images=48"]
    return stage_configs(load_pipeline_config(DEMO_CONFIG, [
        f"out_dir={out}", "supernet.train.iterations=30", "supernet.train.progress=false", *data,
        f"search.budget={args.budget}", "search.n_doe=20", "search.n_infill=20", "search.latency.kind=flops",
        "search.surrogate=ridge_onehot", f"search.latency.resolution=[{height}, {width}]",
        "retrain.n_select=2", "retrain.baselines=[]", "retrain.onnx=false", "retrain.latency.min_time_s=0.1",
        f"retrain.latency.resolution=[{height}, {width}]",
        f"retrain.recipe.train.iterations={args.retrain_iterations}", "retrain.recipe.train.progress=false"]))


def timed(run) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def trivial(X: np.ndarray) -> np.ndarray:
    return np.column_stack([X.sum(axis=1), -X.sum(axis=1)]).astype(float)


def overhead_ms(n: int, workers: int) -> float:
    """Milliseconds per candidate of Ray over the serial evaluator on a trivial evaluation, actors started."""
    X = np.random.default_rng(0).integers(0, 9, size=(n, 5))
    serial = SerialEvaluator(lambda: trivial)
    serial_s = timed(lambda: list(serial.evaluate(X)))
    ray_evaluator = RayEvaluator(lambda: trivial, workers=workers)
    try:
        list(ray_evaluator.evaluate(X[:workers]))  # the actors start and build the evaluation
        ray_s = timed(lambda: list(ray_evaluator.evaluate(X)))
    finally:
        ray_evaluator.close()
    return 1e3 * (ray_s - serial_s) / n


def main() -> None:
    args = parse_args()
    torch.set_num_threads(1)
    out = Path(args.out)
    base = stages(out / "base", args)
    if not (out / "base" / "supernet" / "checkpoint.pt").is_file():
        train(base["supernet"])
    import ray

    ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
    rows = []
    searches = (("serial, in this process", EvaluatorSettings()),
                ("Ray, 1 worker", EvaluatorSettings("ray", {"workers": 1})),
                ("Ray, 2 workers", EvaluatorSettings("ray", {"workers": 2})))
    for name, evaluator in searches[1:] if args.search_only else searches:
        config = dataclasses.replace(base["search"], out_dir=str(out / name.replace(" ", "_").replace(",", "")),
                                     evaluator=evaluator, device="cpu")
        seconds = timed(lambda config=config: search_supernet(config))
        archive = pd.read_csv(Path(config.out_dir) / "archive.csv")
        stats = pd.read_csv(Path(config.out_dir) / "stats.csv")
        rows.append({"run": f"search, {name}", "seconds": round(seconds, 1), "evaluations": len(archive),
                     "candidate seconds (sum)": round(archive["seconds"].sum(), 1),
                     "in-fill evaluation seconds": round(stats["eval_seconds"].sum(), 1)})
    search_dir = str(out / "Ray_2_workers")  # the front the retraining runs select from
    retrainings = (("serial, in this process", None), ("Ray, 1 worker", {"workers": 1}),
                   ("Ray, 2 workers", {"workers": 2}))
    for name, pool in () if args.search_only else retrainings:
        config = dataclasses.replace(base["retrain"], search_dir=search_dir, ray=pool,
                                     out_dir=str(out / ("retrain_" + name.replace(" ", "_").replace(",", ""))))
        seconds = timed(lambda config=config: retrain(config, log=None))
        table = pd.read_csv(Path(config.out_dir) / "retrained.csv")
        rows.append({"run": f"retrain 2 networks, {name}", "seconds": round(seconds, 1), "evaluations": len(table),
                     "candidate seconds (sum)": round(table["train_seconds"].sum(), 1)})
    frame = pd.DataFrame(rows).set_index("run")
    print(markdown(frame.fillna("-"), "run"))
    for what, column in (("search", "seconds"), ("search", "in-fill evaluation seconds"),
                         ("retrain 2 networks", "seconds")):
        if f"{what}, Ray, 1 worker" in frame.index:
            one, two = (frame.loc[f"{what}, Ray, {n}", column] for n in ("1 worker", "2 workers"))
            print(f"{what}, {column}: speed-up of 2 Ray workers over 1: {one / two:.2f}x")
    for workers in () if args.search_only else (1, 2):
        print(f"Ray overhead per candidate, trivial evaluation, {workers} worker(s): "
              f"{overhead_ms(args.trivial, workers):.2f} ms")
    ray.shutdown()


if __name__ == "__main__":
    main()
