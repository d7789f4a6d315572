"""Is the built-in synthetic dataset hard enough to separate networks? Trains the min, a median-FLOPs and the max
arch of the search space standalone from scratch with the same recipe (moseg's trainer, model.arch set) on the
synthetic train split, then reports whole-image test mIoU and the IoU of the small, rare classes.

    python benchmarks/synthetic_difficulty.py --iterations 600                    # GPU: all three
    python benchmarks/synthetic_difficulty.py --iterations 600 --archs min,median --device cpu   # 2 CPU cores
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from moseg.data import build_dataset
from moseg.data.loader import eval_loader
from moseg.data.synthetic import SYNTHETIC_CLASSES
from moseg.metrics.segmentation import evaluate
from moseg.space import SearchSpace, count_flops
from moseg.train import Trainer, load_train_config


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--iterations", type=int, default=600)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--device", default="auto")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--archs", default="min,median,max", help="which of min, median, max to train")
    p.add_argument("--out", default="runs/bench_synthetic")
    return p.parse_args()


def main() -> None:
    args = parse_args()
    space = SearchSpace()
    sampled = [space.decode(x) for x in space.sample(64, args.seed)]
    median = sorted(sampled, key=lambda a: count_flops(a, 8, (128, 160)))[len(sampled) // 2]
    test = build_dataset("synthetic", None, "test")
    rows = []
    candidates = {"min": space.min_arch(), "median": median, "max": space.max_arch()}
    names = args.archs.split(",")
    unknown = sorted(set(names) - set(candidates))
    if unknown:
        raise SystemExit(f"--archs {args.archs!r}: unknown {unknown}; expected names from {list(candidates)}")
    for name in names:
        arch = candidates[name]
        out = Path(args.out) / name
        config = load_train_config(None, [
            f"out_dir={out}", f"device={args.device}", f"seed={args.seed}", f"train.iterations={args.iterations}",
            f"data.batch_size={args.batch}", "data.train_split=train", "data.val_split=null",
            f"model.arch={json.dumps(arch.to_dict())}", "train.log_every=50", "optim.warmup_iters=50",
        ])
        trainer = Trainer(config, resume=True)
        trainer.run()
        scores = evaluate(trainer.net, eval_loader(test, 8, workers=2))
        rows.append((name, arch, scores))

    print(f"\nsynthetic (8 classes, 128x160): train split 512 scenes, {args.iterations} iterations, batch "
          f"{args.batch}, seed {args.seed}; whole-image mIoU on the 128 test scenes")
    small = [SYNTHETIC_CLASSES.index(c) for c in ("pedestrian", "pole")]
    print("\n| arch | GFLOPs @128x160 | test mIoU (%) | pixel acc (%) | pedestrian IoU (%) | pole IoU (%) |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, arch, s in rows:
        iou = np.array(s["per_class_iou"]) * 100
        print(f"| {name} | {count_flops(arch, 8, (128, 160)) / 1e9:.3f} | {100 * s['miou']:.2f} | "
              f"{100 * s['pixel_acc']:.2f} | {iou[small[0]]:.2f} | {iou[small[1]]:.2f} |")


if __name__ == "__main__":
    main()
