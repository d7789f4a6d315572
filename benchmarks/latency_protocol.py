"""Latency protocol and latency predictors for the search space (issue 5); prints markdown tables.

  modes          eager vs cuda_graph vs compile for the min, median-FLOPs and max arch at each resolution
                 (needs a GPU; rows appended to OUT/modes.csv, so a rerun resumes).
  repeatability  the median arch measured --repeat-runs separate times: coefficient of variation of the medians.
  predictor      --n-archs sampled archs measured end to end (OUT/archs.csv, resumable), every part of them
                 timed in isolation (OUT/parts.csv, resumable), then --splits random splits that train on
                 --n-train archs and test on the others: Spearman and MAPE of the part-table sum alone, of the
                 table sum calibrated and corrected by a learned residual, of surrogates on the genes only, and
                 of a line in analytic FLOPs.

GPU (the issue's protocol, in several commands that each fit the 10-minute limit; reruns resume):
    python benchmarks/latency_protocol.py --sections modes --out runs/latency_gpu
    python benchmarks/latency_protocol.py --sections repeatability predictor --out runs/latency_gpu
CPU (2 cores, fp32, 360x480):
    python benchmarks/latency_protocol.py --device cpu --dtype float32 --mode eager --threads 2 \\
        --sections repeatability predictor --n-archs 200 --n-train 100 --min-repeats 10 --warmup-chunk 5 \\
        --min-time 0.5 --out runs/latency_cpu
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch

from moseg.cli import resolution
from moseg.latency import DTYPES, LATENCY_BACKENDS, measure_latency
from moseg.latency.survey import COLUMNS, measure_archs, reference_archs, survey_archs
from moseg.latency.table import LatencyTable
from moseg.nn import Supernet
from moseg.space import SearchSpace, count_flops
from moseg.util.csvlog import CsvLog, parse_vectors
from moseg.util.schema import GENES, RENAMED_IN
from surrogates import BaselineResidualModel, make_surrogate
from surrogates.base import clone_with_seed
from surrogates.metrics import mape, spearman

MODE_COLUMNS = ["arch", "resolution", "mode", "median_ms", "p90_ms", "repeats", "status", "error", "protocol"]
GENE_SURROGATES = ("block_latency", "gp", "ridge_onehot")

MODES = tuple(LATENCY_BACKENDS)  # the built-in latency backends: eager, cuda_graph, compile


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sections", nargs="+", default=["modes", "repeatability", "predictor"],
                   choices=["modes", "repeatability", "predictor"])
    p.add_argument("--out", type=Path, required=True, help="folder of the resumable CSVs")
    p.add_argument("--device", default="cuda")
    p.add_argument("--dtype", default="float16", choices=sorted(DTYPES))
    p.add_argument("--mode", default="cuda_graph", choices=MODES, help="mode of repeatability and predictor")
    p.add_argument("--threads", type=int, default=None, help="CPU threads (default: torch's setting)")
    p.add_argument("--resolution", type=resolution, default=(360, 480), help="of repeatability and predictor")
    p.add_argument("--mode-resolutions", type=resolution, nargs="+",
                   default=[(360, 480), (720, 960), (1024, 2048)])
    p.add_argument("--num-classes", type=int, default=11)
    p.add_argument("--repeat-runs", type=int, default=5)
    p.add_argument("--n-archs", type=int, default=300)
    p.add_argument("--n-train", type=int, default=100)
    p.add_argument("--splits", type=int, default=10)
    p.add_argument("--min-repeats", type=int, default=30)
    p.add_argument("--warmup-chunk", type=int, default=10)
    p.add_argument("--min-time", type=float, default=1.0, help="minimum timed seconds per measurement")
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args()


def measure_kw(args: argparse.Namespace) -> dict:
    return {"threads": args.threads, "min_repeats": args.min_repeats, "warmup_chunk": args.warmup_chunk,
            "min_time_s": args.min_time}


def modes_section(args: argparse.Namespace, space: SearchSpace, supernet: Supernet) -> None:
    print(f"\n## Modes: batch 1, {args.dtype}\n")
    log = CsvLog(args.out / "modes.csv", MODE_COLUMNS)
    done = {(r["arch"], r["resolution"], r["mode"]) for r in log.rows()}
    archs = reference_archs(space, args.num_classes, seed=args.seed)
    for h, w in args.mode_resolutions:
        for name, arch in archs.items():
            for mode in MODES:
                key = (name, f"{h}x{w}", mode)
                if key in done:
                    continue
                row = dict(zip(("arch", "resolution", "mode"), key, strict=True))
                try:
                    result = measure_latency(supernet.extract(arch), (1, 3, h, w), args.device, args.dtype, mode,
                                             **measure_kw(args))
                    row.update(median_ms=round(result.median_ms, 4), p90_ms=round(result.p90_ms, 4),
                               repeats=result.repeats, status="ok", protocol=json.dumps(result.protocol))
                except RuntimeError as err:  # CUDA out of memory included
                    row.update(status="failed", error=f"{type(err).__name__}: {err}"[:300])
                log.append(row)
    rows = {(r["arch"], r["resolution"], r["mode"]): r for r in log.rows()}
    print("| arch | resolution | " + " | ".join(f"{m} median (p90) ms" for m in MODES) + " | eager / cuda_graph |")
    print("|---|---|" + "---|" * (len(MODES) + 1))
    for h, w in args.mode_resolutions:
        for name in archs:
            cells, medians = [], {}
            for mode in MODES:
                r = rows.get((name, f"{h}x{w}", mode))
                if r is None or r["status"] != "ok":
                    cells.append("-" if r is None else "failed")
                    continue
                medians[mode] = float(r["median_ms"])
                cells.append(f"{float(r['median_ms']):.2f} ({float(r['p90_ms']):.2f})")
            ratio = (f"{medians['eager'] / medians['cuda_graph']:.2f}" if {"eager", "cuda_graph"} <= set(medians)
                     else "-")
            print(f"| {name} | {h}x{w} | " + " | ".join(cells) + f" | {ratio} |")


def repeatability_section(args: argparse.Namespace, space: SearchSpace, supernet: Supernet) -> None:
    arch = reference_archs(space, args.num_classes, seed=args.seed)["median"]
    h, w = args.resolution
    medians = [measure_latency(supernet.extract(arch), (1, 3, h, w), args.device, args.dtype, args.mode,
                               **measure_kw(args)).median_ms for _ in range(args.repeat_runs)]
    cv = float(np.std(medians) / np.mean(medians))
    print(f"\n## Repeatability: median arch, {h}x{w}, {args.dtype}, {args.mode}, {args.repeat_runs} separate "
          f"measurements\n")
    print("| run medians (ms) | mean (ms) | coefficient of variation |\n|---|---|---|")
    print(f"| {', '.join(f'{m:.3f}' for m in medians)} | {np.mean(medians):.3f} | {100 * cv:.2f} % |")


def predictor_rows(features: dict[str, np.ndarray], y: np.ndarray, n_train: int, split: int,
                   seed: int) -> list[dict]:
    """Spearman and MAPE on the test archs of one split for every predictor."""
    order = np.random.default_rng([seed, split]).permutation(len(y))
    train, test = order[:n_train], order[n_train:]
    genes, table_sum, flops = features["genes"], features["table_sum"], features["flops"]
    with_sum = np.column_stack([table_sum, genes])
    models = {
        "table sum, calibrated line": (BaselineResidualModel(residual="drop"), with_sum),
        "table sum, line + residual forest": (BaselineResidualModel(random_state=split), with_sum),
        "FLOPs, line": (BaselineResidualModel(residual="drop"), flops[:, None]),
        **{f"genes only: {name}": (clone_with_seed(make_surrogate(name), split), genes) for name in GENE_SURROGATES},
    }
    rows = [{"predictor": "table sum alone (no fit)", "spearman": spearman(y[test], table_sum[test]),
             "mape": mape(y[test], table_sum[test])}]
    for name, (model, X) in models.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            predicted = model.fit(X[train], y[train]).predict(X[test])
        rows.append({"predictor": name, "spearman": spearman(y[test], predicted), "mape": mape(y[test], predicted)})
    return rows


def predictor_section(args: argparse.Namespace, space: SearchSpace) -> None:
    h, w = args.resolution
    kw = measure_kw(args)
    started = time.perf_counter()
    measure_archs(space, survey_archs(space, args.n_archs - 2, args.seed), args.out / "archs.csv",
                  num_classes=args.num_classes, resolution=(h, w), device=args.device, dtype=args.dtype,
                  mode=args.mode, **kw)
    survey = CsvLog(args.out / "archs.csv", COLUMNS, RENAMED_IN["latency survey"])
    measured = [r for r in survey.rows() if r["status"] == "ok"]
    end_to_end_s = time.perf_counter() - started
    genes = parse_vectors([r[GENES] for r in measured])
    y = np.array([float(r["median_ms"]) for r in measured])
    table = LatencyTable(args.out / "parts.csv", space, num_classes=args.num_classes, resolution=(h, w),
                         device=args.device, dtype=args.dtype, mode=args.mode, **kw)
    started = time.perf_counter()
    n_parts = table.fill(genes)
    table_s = time.perf_counter() - started
    features = {"genes": genes, "table_sum": table.predict(genes),
                "flops": np.array([count_flops(space.decode(x), args.num_classes, (h, w)) for x in genes], float)}
    rows = [row for split in range(args.splits)
            for row in predictor_rows(features, y, args.n_train, split, args.seed)]
    print(f"\n## Predictors: {len(y)} archs measured end to end, {h}x{w}, {args.dtype}, {args.mode}; "
          f"{len(table.entries())} distinct parts timed in isolation\n")
    print(f"This run: {end_to_end_s:.0f} s end to end, {table_s:.0f} s for {n_parts} new parts. Latency of the "
          f"measured archs: {y.min():.2f} to {y.max():.2f} ms (median {np.median(y):.2f}).\n")
    print(f"Train on {args.n_train}, test on the other {len(y) - args.n_train}; {args.splits} random splits "
          f"(numpy.random.default_rng([{args.seed}, split])); mean ± std over splits.\n")
    print("| predictor | Spearman | MAPE (%) |\n|---|---|---|")
    for name in dict.fromkeys(r["predictor"] for r in rows):
        sp = np.array([r["spearman"] for r in rows if r["predictor"] == name])
        mp = 100 * np.array([r["mape"] for r in rows if r["predictor"] == name])
        print(f"| {name} | {sp.mean():.3f} ± {sp.std():.3f} | {mp.mean():.2f} ± {mp.std():.2f} |")


def main() -> None:
    args = parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    space = SearchSpace()
    torch.manual_seed(args.seed)
    supernet = Supernet(space, args.num_classes)
    print(f"command: python benchmarks/latency_protocol.py {' '.join(sys.argv[1:])}")
    print(f"device {args.device}, torch {torch.__version__}, seed {args.seed}")
    if "modes" in args.sections:
        if not args.device.startswith("cuda"):
            print("\n## Modes: skipped (cuda_graph needs a GPU)")
        else:
            modes_section(args, space, supernet)
    if "repeatability" in args.sections:
        repeatability_section(args, space, supernet)
    if "predictor" in args.sections:
        predictor_section(args, space)


if __name__ == "__main__":
    main()
