"""Cost of the search space and the supernet: inference latency and peak memory of extracted networks, and the
training-step overhead of weight sharing.

For the min, a median (by analytic FLOPs among sampled archs) and the max arch:
  1. latency (median, p90) and peak GPU memory of the extracted network at each resolution, batch 1;
  2. one training step (forward, cross-entropy, backward, SGD) of the supernet with that arch active vs the
     extracted network, same batch and resolution.
Prints markdown tables (pasted into benchmarks/RESULTS.md) and checks the targets of the supernet issue.

GPU (the issue's protocol):  python benchmarks/supernet_cost.py
CPU (2 cores):               python benchmarks/supernet_cost.py --device cpu --dtype float32 --mode eager \
                                 --train-dtype float32 --train-batch 2 --train-resolution 180x240
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F

from moseg.cli import resolution
from moseg.latency import DTYPES, measure_latency
from moseg.latency.survey import reference_archs
from moseg.nn import Supernet
from moseg.space import SearchSpace, count_flops, count_params


def peak_memory_mb(device: torch.device) -> float | None:
    return torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else None


def train_step_ms(model: torch.nn.Module, batch: int, size: tuple[int, int], num_classes: int,
                  device: torch.device, dtype: torch.dtype, steps: int) -> float:
    """Median wall time of one SGD step (forward, cross-entropy, backward, update)."""
    model.train().to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
    x = torch.randn(batch, 3, *size, device=device)
    y = torch.randint(0, num_classes, (batch, *size), device=device)
    times = []
    for i in range(steps + 3):  # three warm-up steps
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        t0 = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast(device.type, dtype=dtype, enabled=dtype != torch.float32):
            loss = F.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        if i >= 3:
            times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def fmt(value: float | None, spec: str = ".2f") -> str:
    return "n/a" if value is None else format(value, spec)


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--dtype", default="float16", choices=sorted(DTYPES))
    parser.add_argument("--mode", default="cuda_graph", choices=["eager", "cuda_graph", "compile"])
    parser.add_argument("--resolutions", type=resolution, nargs="+",
                        default=[(360, 480), (720, 960), (1024, 2048)])
    parser.add_argument("--train-batch", type=int, default=16)
    parser.add_argument("--train-resolution", type=resolution, default=(360, 480))
    parser.add_argument("--train-dtype", default="bfloat16", choices=sorted(DTYPES))
    parser.add_argument("--train-steps", type=int, default=10)
    parser.add_argument("--num-classes", type=int, default=11)
    parser.add_argument("--threads", type=int, default=None, help="CPU threads (default: torch's setting)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    device = torch.device(args.device)
    space = SearchSpace()
    archs = reference_archs(space, args.num_classes, n_sample=201, seed=args.seed)
    supernet = Supernet(space, args.num_classes)

    print(f"device: {args.device}, torch {torch.__version__}, seed {args.seed}")
    print(f"\n### Inference, batch 1, {args.dtype}, mode {args.mode}\n")
    print("| arch | resolution | params (M) | GFLOPs | median (ms) | p90 (ms) | peak memory (MiB) |")
    print("|---|---|---|---|---|---|---|")
    latency: dict[tuple[str, tuple[int, int]], float] = {}
    peak: dict[tuple[str, tuple[int, int]], float | None] = {}
    protocol = None
    for h, w in args.resolutions:
        for name, arch in archs.items():
            net = supernet.extract(arch)
            if device.type == "cuda":
                torch.cuda.empty_cache()
                torch.cuda.reset_peak_memory_stats(device)
            try:
                result = measure_latency(net, (1, 3, h, w), device, args.dtype, args.mode, threads=args.threads)
            except torch.cuda.OutOfMemoryError:
                print(f"| {name} | {h}x{w} | out of memory |")
                continue
            protocol = result.protocol
            latency[name, (h, w)] = result.median_ms
            peak[name, (h, w)] = peak_memory_mb(device)
            print(f"| {name} | {h}x{w} | {count_params(arch, args.num_classes) / 1e6:.3f} | "
                  f"{count_flops(arch, args.num_classes, (h, w)) / 1e9:.2f} | {result.median_ms:.2f} | "
                  f"{result.p90_ms:.2f} | {fmt(peak[name, (h, w)], '.0f')} |")
    print(f"\nprotocol: {protocol}")

    th, tw = args.train_resolution
    train_dtype = DTYPES[args.train_dtype]
    print(f"\n### Training step, batch {args.train_batch}, {th}x{tw}, autocast {args.train_dtype}, SGD\n")
    print("| arch | supernet step (ms) | extracted step (ms) | supernet / extracted |")
    print("|---|---|---|---|")
    ratios = []
    for name, arch in archs.items():
        supernet.set_active(arch)
        extracted = supernet.extract(arch)
        step = {label: train_step_ms(model, args.train_batch, (th, tw), args.num_classes, device, train_dtype,
                                     args.train_steps)
                for label, model in (("supernet", supernet), ("extracted", extracted))}
        ratios.append(step["supernet"] / step["extracted"])
        print(f"| {name} | {step['supernet']:.1f} | {step['extracted']:.1f} | {ratios[-1]:.2f} |")

    print("\n### Targets\n")
    for h, w in args.resolutions:
        if ("min", (h, w)) in latency and ("max", (h, w)) in latency:
            ratio = latency["min", (h, w)] / latency["max", (h, w)]
            print(f"- min / max latency at {h}x{w}: {ratio:.3f} (target <= 0.333): {verdict(ratio <= 1 / 3)}")
    big = peak.get(("max", (1024, 2048)))
    if big is not None:
        print(f"- max arch peak memory at 1024x2048: {big:.0f} MiB (target <= 8192): {verdict(big <= 8192)}")
    worst = max(ratios)
    print(f"- worst supernet / extracted training step: {worst:.2f} (target <= 1.25): {verdict(worst <= 1.25)}")


if __name__ == "__main__":
    main()
