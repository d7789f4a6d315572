"""Cost and sanity of supernet training and cheap candidate evaluation on CamVid.

1. Trains the supernet with the CamVid recipe (experiments/configs/camvid_supernet.yaml: sandwich rule with
   max + min + `--random-archs` sampled archs per step, in-place distillation, bf16 on a GPU) for
   `--iterations` steps on search_train and reports the training throughput (images/s, median over logging
   windows after the first).
2. Scores the max, the min and `--candidates` sampled archs with inherited weights: BN recalibrated on a fixed
   subset of search_train (`--calib-images`), mIoU on the 101 search_val images; reports mIoU and seconds per
   candidate. The max arch must clearly beat the min arch if the supernet learned.
Training resumes from `--out` if interrupted (rerun the same command).

GPU (the issue's protocol):
    python benchmarks/train_eval_cost.py --data ../shared/data/camvid --iterations 2000
CPU (2 cores; smaller crops and batches, fewer steps):
    python benchmarks/train_eval_cost.py --data ../shared/data/camvid --device cpu --batch 4 --crop 180x240 \
        --iterations 150 --random-archs 1 --workers 1 --candidates 2 --calib-images 16
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from moseg.cli import resolution
from moseg.data import build_dataset
from moseg.metrics.scoring import EvaluationData
from moseg.oneshot.candidates import CandidateEvaluator
from moseg.space import count_flops, count_params
from moseg.train import Trainer, load_train_config
from moseg.train.trainer import LOG_COLUMNS
from moseg.util.csvlog import CsvLog
from moseg.util.provenance import device_info

CONFIG = "experiments/configs/camvid_supernet.yaml"


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default="../shared/data/camvid", help="CamVid root (SegNet layout)")
    p.add_argument("--device", default="auto")
    p.add_argument("--iterations", type=int, default=2000)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--crop", type=resolution, default=(360, 480), help="training crop HxW")
    p.add_argument("--random-archs", type=int, default=2, help="sampled archs per step besides max and min")
    p.add_argument("--workers", type=int, default=8)
    p.add_argument("--calib-images", type=int, default=64)
    p.add_argument("--candidates", type=int, default=8, help="sampled archs to score besides max and min")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="runs/bench_train_eval")
    return p.parse_args()


def main() -> None:
    args = parse_args()
    config = load_train_config(CONFIG, [
        f"data.root={args.data}", f"device={args.device}", f"out_dir={args.out}", f"seed={args.seed}",
        f"train.iterations={args.iterations}", f"data.batch_size={args.batch}",
        f"data.crop_size=[{args.crop[0]}, {args.crop[1]}]", f"train.random_archs={args.random_archs}",
        f"data.workers={args.workers}", "data.val_split=null", "train.log_every=10",
        f"train.checkpoint_every={max(args.iterations // 4, 1)}",
        f"optim.warmup_iters={min(200, args.iterations // 10)}",  # short runs: warm-up stays a tenth of the run
    ])
    trainer = Trainer(config, resume=True)
    start = time.perf_counter()
    trainer.run()
    train_s = time.perf_counter() - start
    log = CsvLog(trainer.out_dir / "log.csv", LOG_COLUMNS).rows()
    throughput = statistics.median(float(r["images_per_s"]) for r in log[1:]) if len(log) > 1 else float("nan")
    step_archs = 2 + args.random_archs

    evaluation = EvaluationData.from_datasets(
        build_dataset("camvid", args.data, "search_train"), build_dataset("camvid", args.data, "search_val"),
        split="search_val", device=trainer.device, calib_images=args.calib_images,
        calib_batch_size=config.eval.calib_batch_size, batch_size=config.eval.batch_size, seed=args.seed,
        workers=args.workers, amp=trainer.amp, channels_last=trainer.channels_last)
    evaluator = CandidateEvaluator(trainer.net, evaluation)
    space = trainer.space
    archs = [("max", space.max_arch()), ("min", space.min_arch())]
    archs += [(f"sample {i}", space.decode(x)) for i, x in enumerate(space.sample(args.candidates, args.seed + 1))]
    evaluator.score(space.min_arch())  # warm-up (kernel selection), not reported
    scores = [(name, evaluator.score(arch)) for name, arch in archs]

    device = f"{trainer.device} ({device_info(trainer.device)['device_name']})"
    print(f"\nsupernet training: CamVid search_train (266 images), crop {args.crop[0]}x{args.crop[1]}, "
          f"batch {args.batch}, {step_archs} archs per step, amp {config.train.amp}->{trainer.amp}, "
          f"{args.iterations} iterations, seed {args.seed}, device {device}")
    print("\n| metric | value |\n| --- | --- |")
    print(f"| training throughput (images/s, median over 10-step windows) | {throughput:.1f} |")
    print(f"| sub-network forward+backward passes per second | {throughput * step_archs:.1f} |")
    print(f"| wall time of this run's training (s) | {train_s:.0f} |")
    seconds = [s.seconds for _, s in scores]
    print(f"| seconds per candidate evaluation (median / max over {len(seconds)}) | "
          f"{statistics.median(seconds):.2f} / {max(seconds):.2f} |")
    print(f"\ncandidates scored with inherited weights: BN recalibrated on {args.calib_images} search_train "
          "images, mIoU on the 101 search_val images (full 360x480)")
    print("\n| arch | params (M) | GFLOPs @360x480 | search_val mIoU (%) | pixel acc (%) | seconds |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, s in scores:
        print(f"| {name} | {count_params(s.arch, 11) / 1e6:.3f} | {count_flops(s.arch, 11, (360, 480)) / 1e9:.2f} | "
              f"{100 * s.miou:.2f} | {100 * s.pixel_acc:.2f} | {s.seconds:.2f} |")
    sampled = [s.miou for name, s in scores if name.startswith("sample")]
    if sampled:
        print(f"\nsampled archs: mIoU mean {100 * np.mean(sampled):.2f}, range {100 * min(sampled):.2f} to "
              f"{100 * max(sampled):.2f}")
    gap = 100 * (scores[0][1].miou - scores[1][1].miou)
    print(f"max - min mIoU: {gap:+.2f} points")


if __name__ == "__main__":
    main()
