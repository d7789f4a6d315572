"""What the zero-cost proxies cost per network (issue 18: at most 1 s on a CPU at the search resolution).

For the min arch, the max arch and N networks sampled from moseg's default search space, extracted from one
supernet: each proxy of `moseg.oneshot.proxies` and all of them together (`zero_cost_scores`, what `ProxyCache` computes
for an arch it has not seen), on a batch of random images at the search resolution, torch on one thread. Prints the
median and worst wall and CPU seconds per network; CPU seconds hold on a machine that is busy with other work.

    OMP_NUM_THREADS=1 python benchmarks/proxy_cost.py --resolution 180x240 --images 4 --n 20
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np
import torch

from moseg.nn import Supernet
from moseg.oneshot.proxies import PROXIES, zero_cost_scores
from moseg.space import SearchSpace


def resolution(text: str) -> tuple[int, int]:
    height, _, width = text.partition("x")
    if not (height.isdigit() and width.isdigit() and int(height) > 0 and int(width) > 0):
        raise argparse.ArgumentTypeError(f"{text!r} is not HEIGHTxWIDTH, e.g. 180x240")
    return int(height), int(width)


def timed(call, net: torch.nn.Module) -> tuple[float, float]:
    """(wall, CPU) seconds of `call(net)`."""
    wall, cpu = time.perf_counter(), time.process_time()
    call(net)
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--resolution", type=resolution, default=(180, 240), help="HEIGHTxWIDTH (default 180x240)")
    parser.add_argument("--images", type=int, default=4, help="images per batch (ProxyCache's CamVid use: 4)")
    parser.add_argument("--n", type=int, default=20, help="sampled networks besides the min and max arch")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    space = SearchSpace()
    supernet = Supernet(space, num_classes=11)
    archs = [space.min_arch(), space.max_arch(), *(space.decode(x) for x in space.sample(args.n, seed=args.seed))]
    images = torch.randn(args.images, 3, *args.resolution)
    labels = torch.randint(0, 11, (args.images, *args.resolution))
    calls = {name: (lambda net, fn=fn: fn(net, images, labels, 255)) for name, fn in PROXIES.items()}
    calls["all (zero_cost_scores)"] = lambda net: zero_cost_scores(net, images, labels)
    seconds = {name: [] for name in calls}
    for arch in archs:
        net = supernet.extract(arch)
        for name, call in calls.items():
            seconds[name].append(timed(call, net))
    print(f"command: python benchmarks/proxy_cost.py --resolution {args.resolution[0]}x{args.resolution[1]} "
          f"--images {args.images} --n {args.n} --seed {args.seed}")
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
          f"1 thread; load average at the end {os.getloadavg()[0]:.2f}; {len(archs)} networks (min, max, "
          f"{args.n} sampled)\n")
    print("| proxy | wall s median | wall s max | CPU s median | CPU s max |\n|---|---|---|---|---|")
    for name, values in seconds.items():
        wall, cpu = np.array(values).T
        print(f"| {name} | {np.median(wall):.2f} | {wall.max():.2f} | {np.median(cpu):.2f} | {cpu.max():.2f} |")


if __name__ == "__main__":
    main()
