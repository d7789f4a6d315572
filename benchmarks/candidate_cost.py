"""Where the seconds of one candidate evaluation go, and its overhead over a pure forward of the same images.

A candidate of the search is scored by extracting its sub-network from the supernet, recalibrating its
BatchNorm on a fixed search_train subset (a forward pass in training mode) and a validation pass over
search_val (forward, argmax, confusion matrix). This script times each step for the min, the max and
`--archs` sampled archs, and a pure forward (eval mode, no gradients) of the same calibration and validation
images by the same extracted network, side by side, under each memory layout of `--layouts`. The supernet's
weights do not change the cost, so an untrained supernet serves unless `--checkpoint` names one.

    python benchmarks/candidate_cost.py --data ../shared/data/camvid --scale 0.5 --threads 2
"""

from __future__ import annotations

import argparse
import statistics
import time

import pandas as pd
import torch
from markdown_table import markdown

from moseg.data import build_dataset, data_protocol
from moseg.metrics.scoring import EvaluationData
from moseg.nn import Supernet
from moseg.oneshot.candidates import CandidateEvaluator
from moseg.space import SearchSpace, count_flops
from moseg.train.checkpoint import load_checkpoint
from moseg.util.provenance import device_info


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default="../shared/data/camvid", help="CamVid root (SegNet layout)")
    p.add_argument("--scale", type=float, default=0.5, help="resolution protocol: fraction of 480x360")
    p.add_argument("--checkpoint", help="a supernet checkpoint (default: an untrained supernet, same cost)")
    p.add_argument("--archs", type=int, default=6, help="sampled archs besides the min and the max")
    p.add_argument("--calib-images", type=int, default=64)
    p.add_argument("--calib-batch", type=int, default=16)
    p.add_argument("--batch", type=int, default=16, help="validation batch size")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--layouts", nargs="+", default=["contiguous", "channels_last"])
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args()


@torch.no_grad()
def pure_forward_seconds(net: torch.nn.Module, data: EvaluationData) -> float:
    """Seconds of eval-mode forward passes over the calibration and validation images, nothing else."""
    net.eval()
    start = time.perf_counter()
    for image, *_ in [*data.calibration, *data.validation]:
        net(image)
    return time.perf_counter() - start


def main() -> None:
    args = parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    if args.checkpoint:
        state = load_checkpoint(args.checkpoint)
        space = SearchSpace(**state["config"]["model"]["space"])
        supernet = Supernet(space, state["num_classes"])
        supernet.load_state_dict(state["model"])
    else:
        space = SearchSpace()
        supernet = Supernet(space, 11)
    calibration = build_dataset("camvid", args.data, "search_train", scale=args.scale)
    validation = build_dataset("camvid", args.data, "search_val", scale=args.scale)
    archs = [("min", space.min_arch()), ("max", space.max_arch())]
    archs += [(f"sample {i}", space.decode(x)) for i, x in enumerate(space.sample(args.archs, args.seed))]
    height, width = validation[0][0].shape[-2:]
    rows = []
    for layout in args.layouts:
        data = EvaluationData.from_datasets(
            calibration, validation, split="search_val", device=torch.device("cpu"), calib_images=args.calib_images,
            calib_batch_size=args.calib_batch, batch_size=args.batch, seed=args.seed, workers=0,
            channels_last=layout == "channels_last")
        evaluator = CandidateEvaluator(supernet, data)
        evaluator.score(space.min_arch())  # warm-up (allocator, kernel selection), not reported
        for name, arch in archs:
            score = evaluator.score(arch)
            net = supernet.extract(arch)
            if layout == "channels_last":
                net = net.to(memory_format=torch.channels_last)
            pure = pure_forward_seconds(net, data)
            rows.append({"layout": layout, "arch": name, "GFLOPs": count_flops(arch, 11, (height, width)) / 1e9,
                         "extract_s": score.extract_seconds, "calibrate_s": score.calibrate_seconds,
                         "validate_s": score.validate_seconds, "total_s": score.seconds, "pure_forward_s": pure,
                         "overhead": score.seconds / pure})
    table = pd.DataFrame(rows)
    print(f"\ncandidate evaluation on {data_protocol(validation)}: BN recalibration on {args.calib_images} "
          f"search_train images (batch {args.calib_batch}), validation on the {len(validation)} search_val images "
          f"(batch {args.batch}), float32, {args.threads} threads, "
          f"{device_info(torch.device('cpu'))['device_name']}, torch {torch.__version__}\n")
    shown = table.set_index(["layout", "arch"]).round({"GFLOPs": 3, "extract_s": 3, "calibrate_s": 2, "validate_s": 2,
                                                       "total_s": 2, "pure_forward_s": 2, "overhead": 3})
    print(markdown(shown, "layout, arch"))
    summary = table.groupby("layout", sort=False).agg(
        median_total_s=("total_s", "median"), median_pure_forward_s=("pure_forward_s", "median"),
        median_overhead=("overhead", "median"), max_overhead=("overhead", "max")).round(3)
    print(f"\n{markdown(summary, 'layout')}")
    if len(args.layouts) == 2:
        first, second = (table[table["layout"] == name].set_index("arch")["total_s"] for name in args.layouts)
        print(f"\n{args.layouts[0]} / {args.layouts[1]} total seconds, median over archs: "
              f"{statistics.median(first / second):.2f}x")


if __name__ == "__main__":
    main()
