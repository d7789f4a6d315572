"""How a network trained alone is initialised, and what it changes in training it from scratch (issue 20).

Until issue 20, a network trained alone (`model.arch`, the retraining stage) was extracted from a freshly built
supernet: each layer's random initialisation was scaled to the supernet's largest layer at that position (Kaiming,
fan-out of the largest width and kernel) and then sliced. `moseg.nn.build_network` builds the network without
the supernet, either drawing each layer at its own size (so scaled to itself), or, given the space (what training
does), drawing only the network's own layers at the supernet's size and slicing them: the former distribution. All
three then get the same BatchNorm zero-init of residual branches.

This trains the demo space's min and max arch and two sampled archs alone under the demo's retraining recipe
(synthetic scenes, 64x80, 250 steps, 1 thread), each way, with two seeds each, and reports the final validation
mIoU and the weights' starting scale. The trainer's builder is swapped for each way. It also times building the
default space's min, median and max network both ways (building the supernet, or the network's own layers).

    python benchmarks/standalone_init.py --out runs/standalone_init
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from markdown_table import markdown

import moseg.train.trainer as trainer_module
from moseg.jobs.demo import DATA, EVAL, LOSS, SPACE
from moseg.nn import Supernet, build_network
from moseg.space import Arch, SearchSpace, count_params
from moseg.train import train

BUILDERS = {  # (arch, num_classes, space) -> network, as the trainer calls build_network
    "sliced from a built supernet (before)":
        lambda arch, num_classes, space: Supernet(space, num_classes).extract(arch),
    "each layer drawn at its own size": lambda arch, num_classes, space: build_network(arch, num_classes),
    "own layers drawn at supernet size (now)": build_network,
}
SLUGS = dict(zip(BUILDERS, ("before", "own_size", "now"), strict=True))


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--iterations", type=int, default=250)
    p.add_argument("--seeds", type=int, nargs="*", default=[0, 1])
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", default="runs/standalone_init")
    p.add_argument("--results", default="benchmarks/results/standalone_init.csv")
    return p.parse_args()


def archs() -> dict[str, Arch]:
    space = SearchSpace(**SPACE)
    sampled = [space.decode(x) for x in space.sample(2, seed=0)]
    return {"min": space.min_arch(), "sampled 1": sampled[0], "sampled 2": sampled[1], "max": space.max_arch()}


def weight_scale(net: torch.nn.Module) -> float:
    """Root mean square of the convolution weights at initialisation."""
    weights = [p.detach().flatten() for name, p in net.named_parameters() if p.dim() == 4]
    return float(torch.cat(weights).pow(2).mean().sqrt())


def run_one(arch_name: str, arch: Arch, builder: str, seed: int, args: argparse.Namespace) -> dict:
    folder = Path(args.out) / f"{arch_name.replace(' ', '_')}_{SLUGS[builder]}_s{seed}"
    folder.mkdir(parents=True, exist_ok=True)
    arch_file = folder / "arch.json"
    arch_file.write_text(json.dumps(arch.to_dict()))
    trainer_module.build_network = BUILDERS[builder]
    torch.manual_seed(seed)
    scale = weight_scale(BUILDERS[builder](arch, 11, SearchSpace(**SPACE)))
    config = {"out_dir": str(folder), "seed": seed, "device": "cpu", "data": DATA, "eval": EVAL, "loss": LOSS,
              "model": {"space": SPACE, "arch": str(arch_file)}, "optim": {"warmup_iters": 10},
              "train": {"iterations": args.iterations, "checkpoint_every": args.iterations, "log_every": 50,
                        "progress": False}}
    train(config, resume=(folder / "checkpoint.pt").exists())
    miou = float(pd.read_csv(folder / "eval.csv")["miou"].iloc[-1])
    return {"arch": arch_name, "init": builder, "seed": seed, "weight_rms": round(scale, 4),
            "val_miou": round(100 * miou, 2)}


def build_cost(repeats: int = 3) -> pd.DataFrame:
    """Seconds and parameters allocated to build the default space's min, median and max network for training
    alone: through a supernet (before), and through `build_network` with the space (now); best of `repeats`."""
    space, rows = SearchSpace(), []
    sampled = sorted((space.decode(x) for x in space.sample(101, seed=0)), key=lambda a: count_params(a, 11))
    for name, arch in (("min", space.min_arch()), ("median", sampled[50]), ("max", space.max_arch())):
        for way, build in (("through a supernet (before)", lambda arch=arch: Supernet(space, 11).extract(arch)),
                           ("own layers only (now)", lambda arch=arch: build_network(arch, 11, space))):
            seconds = []
            for _ in range(repeats):
                start = time.perf_counter()
                build()
                seconds.append(time.perf_counter() - start)
            allocated = sum(p.numel() for p in Supernet(space, 11).parameters()) if "before" in way else "-"
            rows.append({"arch": name, "way": way, "seconds": round(min(seconds), 3),
                         "network params": count_params(arch, 11), "supernet params": allocated})
    return pd.DataFrame(rows).set_index(["arch", "way"])


def main() -> None:
    args = parse_args()
    torch.set_num_threads(args.threads)
    print(markdown(build_cost(), "arch, way"), "\n")
    rows = [run_one(name, arch, builder, seed, args) for name, arch in archs().items() for builder in BUILDERS
            for seed in args.seeds]
    frame = pd.DataFrame(rows)
    Path(args.results).parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(args.results, index=False)
    table = frame.groupby(["arch", "init"], sort=False).agg(
        weight_rms=("weight_rms", lambda v: round(v.mean(), 4)),
        val_miou_mean=("val_miou", lambda v: round(v.mean(), 2)),
        val_miou_seeds=("val_miou", lambda v: " / ".join(f"{x:.2f}" for x in v)))
    print(markdown(table, "arch, init"))
    before = frame[frame["init"] == next(iter(BUILDERS))]["val_miou"].to_numpy()
    for builder in list(BUILDERS)[1:]:
        other = frame[frame["init"] == builder]["val_miou"].to_numpy()
        print(f"{builder}: mean val mIoU {other.mean():.2f} over {len(other)} runs against {before.mean():.2f} before "
              f"(paired difference {np.mean(other - before):+.2f}, spread {np.std(other - before):.2f})")


if __name__ == "__main__":
    main()
