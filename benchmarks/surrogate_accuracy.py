"""How well the `surrogates` predictors rank real architectures, and what they cost (issue 4).

Three sections, each printing markdown tables (copied into benchmarks/RESULTS.md):

  segmentation  TransNAS-Bench-101 semantic segmentation, micro and macro subsets of NAS-Bench-Suite-Zero
                (target: validation pixel accuracy). For each train size, random splits train on n networks and
                test on all the others: Kendall tau, Spearman and precision at the top 10 % of every surrogate,
                and of the training-free baselines in the same files (FLOPs, params, 9 zero-cost proxies).
  latency       HELP's NAS-Bench-201 latency tables (15,625 networks, 27 device settings): Spearman and MAPE per
                device and their mean over devices; baseline FLOPs (Spearman of FLOPs itself; MAPE of a
                least-squares line latency = a * FLOPs + b fitted on the training networks).
  cost          fit on 1,000 samples x 50 genes and predict 100,000 candidates, timed, for every surrogate.
  shift         the region a search moves into: fit on the design-of-experiments rows of real search archives
                (iteration 0), rank the rows the search chose afterwards. Archives: budget-200 `surrogate-spacing`
                runs of benchmarks/search_efficiency.py on the five NAS tables (made by --make-archives when
                missing, resumably), and any CamVid search archive given with --camvid-archive. Targets: the
                accuracy objective (f0) and the cost objective (f1: latency, or FLOPs on TransNAS-Bench-101).

Surrogates see only the integer genes (TNB101 op indices; NAS-Bench-201 per-edge operations). Every split of
size n, number k, permutes the rows with numpy.random.default_rng([seed, n, k]) and every surrogate gets
random_state = seed + k, so runs are repeatable and all models see the same splits.

    python benchmarks/surrogate_accuracy.py                      # the issue's protocol
    python benchmarks/surrogate_accuracy.py --splits 3 --latency-splits 2 --sections segmentation
    python benchmarks/surrogate_accuracy.py --sections shift --make-archives --archives runs/search_efficiency \
        --camvid-archive runs/camvid_cpu/search/archive.csv
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import re
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import markdown_table
import numpy as np
import pandas as pd
import sklearn
import torch
import xgboost
import yaml
from benchdata import DEFAULT_DATA, NB201_OPS, nb201_genes, tnb101_segmentation
from joblib import Parallel, delayed
from sklearn.base import BaseEstimator
from threadpoolctl import threadpool_limits

from moseg.search import DEFAULT_SURROGATE
from moseg.util.csvlog import parse_vectors, read_table
from moseg.util.schema import GENES, OBJECTIVES, RENAMED_IN
from surrogates import OneHotGeneEncoder, list_surrogates, make_surrogate
from surrogates.base import clone_with_seed
from surrogates.metrics import kendall_tau, mape, precision_at_k, spearman

SEGMENTATION_SIZES = (25, 50, 100, 200)
LATENCY_SIZES = (10, 25, 50, 100, 200)
TNB101_SPACES = ("micro", "macro")
TNB101_BASELINES = ("flops", "params", "grasp", "fisher", "grad_norm", "l2_norm", "plain", "nwot", "epe_nas",
                    "jacov", "snip")
META_SURROGATES = ("adaptive_switching", "consensus", "ensemble")  # not "single models" in the target
DEFAULT_LATENCY_MODELS = ("block_latency", "gp", "ridge_onehot", "xgb")
TARGET_SIZE = 100  # the train size at which the issue states its accuracy targets
SHIFT_PROBLEMS = ("nb201-1080ti_1", "nb201-pixel3", "nb201-raspi4", "tnb101-micro", "tnb101-macro")
SHIFT_TARGETS = {problem: ("100 - accuracy", "latency ms" if problem.startswith("nb201") else "FLOPs")
                 for problem in SHIFT_PROBLEMS}
SHIFT_METHOD, SHIFT_BUDGET = "surrogate-spacing", 200
SHIFT_ARCHIVE_SURROGATE = "adaptive_switching"  # the default when the archives were first made


@dataclass(frozen=True)
class RankingTask:
    """Genes and target of one benchmark problem, plus training-free scores to compare against."""

    name: str
    genes: np.ndarray
    target: np.ndarray
    baselines: pd.DataFrame  # one column per training-free score, higher = predicted better


@dataclass(frozen=True)
class ShiftTask:
    """One objective of one search archive: the design rows to fit on, the rows the search chose to rank."""

    name: str
    objective: int
    target: str
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    features_train: pd.DataFrame  # per-network features (FLOPs, params, zero-cost proxies; may have no columns)
    features_test: pd.DataFrame


# ----------------------------------------------------------------------------------------------------- data


def load_tnb101(data: Path, space: str) -> RankingTask:
    """TransNAS-Bench-101 segmentation subset: genes from `op_indices`, target the validation pixel accuracy."""
    table, genes = tnb101_segmentation(data, space)
    return RankingTask(f"TNB101-{space}", genes, table["valid_pixel_acc"].to_numpy(float),
                       table[list(TNB101_BASELINES)].astype(float))


def nb201_flops(data: Path, genes: np.ndarray) -> np.ndarray:
    """NAS-Bench-201 CIFAR-10 MFLOPs of every gene vector.

    The 725-network subset lists FLOPs; they are exactly additive in the per-edge operations (checked here:
    a least-squares fit on per-edge one-hot features must reproduce them), so that fit gives the FLOPs of
    all 15,625 networks.
    """
    subset = pd.read_csv(data / "naslib_zc_subsets" / "nb201_subset_acc_latency.csv")

    encoder = OneHotGeneEncoder(bounds=[(0, len(NB201_OPS) - 1)] * genes.shape[1]).fit(genes)

    def design(g: np.ndarray) -> np.ndarray:
        return np.column_stack([encoder.transform(g), np.ones(len(g))])

    subset_design = design(nb201_genes(subset["arch_str"]))
    flops = subset["flops_cifar10_M"].to_numpy(float)
    coef, *_ = np.linalg.lstsq(subset_design, flops, rcond=None)
    misfit = np.abs(subset_design @ coef - flops).max()
    if misfit > 1e-6:
        raise RuntimeError(f"NAS-Bench-201 FLOPs are not additive per edge operation (misfit {misfit:g} MFLOPs).")
    return design(genes) @ coef


def load_help_nb201(data: Path) -> tuple[np.ndarray, pd.DataFrame, np.ndarray]:
    """HELP NAS-Bench-201 latency: genes (15,625 x 6), latency in ms per device setting, FLOPs."""
    table = pd.read_csv(data / "help_latency" / "nb201_latency_help.csv.gz")
    genes = nb201_genes(table["arch_str"])
    devices = [c for c in table.columns if c.endswith("_ms")]
    latency = table[devices].rename(columns=lambda c: c.removesuffix("_ms")).astype(float)
    return genes, latency, nb201_flops(data, genes)


# ---------------------------------------------------------------------------------------------- protocol


def split(n_total: int, n_train: int, k: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Split number k of size n_train: a seeded permutation, the first n_train rows train, the rest test."""
    order = np.random.default_rng([seed, n_train, k]).permutation(n_total)
    return order[:n_train], order[n_train:]


def seeded_surrogate(spec: str, seed: int) -> BaseEstimator:
    """The surrogate a model spec names, with every random_state parameter set to `seed`. A spec is a
    registered name, optionally with parameters: `consensus:weighting=top,top_fraction=0.2`; a list of registered
    names stands for those models (`adaptive_switching:candidates=[gp,xgb],n_folds=3`)."""
    name, params = parse_spec(spec)
    return clone_with_seed(make_surrogate(name, **params), seed)


def parse_spec(spec: str) -> tuple[str, dict]:
    """(registered name, parameters) of a model spec (see `seeded_surrogate`)."""
    name, items = spec_items(spec)
    params = {}
    for item in items:
        key, _, value = item.partition("=")
        params[key] = yaml.safe_load(value)
        if isinstance(params[key], list) and all(v in list_surrogates() for v in params[key]):
            params[key] = [(v, make_surrogate(v)) for v in params[key]]
    return name, params


def spec_items(spec: str) -> tuple[str, list[str]]:
    """The name of a model spec and its `key=value` items (commas inside [...] belong to a list value)."""
    name, _, text = spec.partition(":")
    return name, re.split(r",(?![^\[]*\])", text) if text else []


def model_spec(text: str) -> str:
    """A registered surrogate name, optionally with `:key=value,...` parameters; argparse's error otherwise."""
    name, items = spec_items(text)
    if name not in list_surrogates() or any("=" not in item for item in items):
        raise argparse.ArgumentTypeError(f"{text!r} is not a model spec; expected one of {', '.join(list_surrogates())}"
                                         ", optionally followed by :key=value,... (its parameters)")
    return text


def ranking_scores(y_true: np.ndarray, score: np.ndarray) -> dict[str, float]:
    """Kendall tau, Spearman and precision at the top 10 % of a predicted score (higher = better)."""
    k = math.ceil(0.1 * len(y_true))
    return {"kendall_tau": kendall_tau(y_true, score), "spearman": spearman(y_true, score),
            "precision_at_10pct": precision_at_k(y_true, score, k)}


def fit_and_score(task: RankingTask, model: str, n_train: int, k: int, seed: int) -> dict[str, object]:
    """One surrogate on one split: fit on the training rows, rank the test rows."""
    train, test = split(len(task.target), n_train, k, seed)
    with threadpool_limits(limits=1), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # optimiser convergence notes from small GP fits
        started = time.perf_counter()
        surrogate = seeded_surrogate(model, seed + k).fit(task.genes[train], task.target[train])
        predicted = surrogate.predict(task.genes[test])
    row = {"task": task.name, "model": model, "n": n_train, "split": k,
           "seconds": time.perf_counter() - started, **ranking_scores(task.target[test], predicted)}
    if hasattr(surrogate, "chosen_"):
        row["chosen"] = surrogate.chosen_
    return row


def baseline_rows(task: RankingTask, sizes: tuple[int, ...], n_splits: int, seed: int) -> list[dict[str, object]]:
    """The training-free scores on exactly the test rows the surrogates see."""
    rows = []
    for n_train in sizes:
        for k in range(n_splits):
            _, test = split(len(task.target), n_train, k, seed)
            for column in task.baselines:
                rows.append({"task": task.name, "model": f"{column} (baseline)", "n": n_train, "split": k,
                             **ranking_scores(task.target[test], task.baselines[column].to_numpy()[test])})
    return rows


def latency_device_rows(genes: np.ndarray, latency: np.ndarray, device: str, models: list[str],
                        sizes: tuple[int, ...], n_splits: int, seed: int) -> list[dict[str, object]]:
    """Every latency surrogate on every split of one device: Spearman and MAPE on the test networks."""
    rows = []
    for n_train in sizes:
        for k in range(n_splits):
            train, test = split(len(latency), n_train, k, seed)
            for model in models:
                with threadpool_limits(limits=1), warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    surrogate = seeded_surrogate(model, seed + k).fit(genes[train], latency[train])
                    predicted = surrogate.predict(genes[test])
                rows.append({"device": device, "model": model, "n": n_train, "split": k,
                             "spearman": spearman(latency[test], predicted), "mape": mape(latency[test], predicted)})
    return rows


def flops_latency_rows(flops: np.ndarray, latency: pd.DataFrame, sizes: tuple[int, ...], n_splits: int,
                       seed: int) -> list[dict[str, object]]:
    """FLOPs baseline: Spearman of FLOPs; MAPE of a line fitted to the training networks' latency."""
    rows = []
    for device in latency:
        y = latency[device].to_numpy()
        for n_train in sizes:
            for k in range(n_splits):
                train, test = split(len(y), n_train, k, seed)
                slope, intercept = np.polyfit(flops[train], y[train], 1)
                rows.append({"device": device, "model": "FLOPs (baseline)", "n": n_train, "split": k,
                             "spearman": spearman(y[test], flops[test]),
                             "mape": mape(y[test], slope * flops[test] + intercept)})
    return rows


def run_parallel(jobs: int, calls: list[tuple[Callable[..., object], tuple]]) -> list:
    """Run the (function, arguments) calls in `jobs` worker processes, results in call order."""
    return Parallel(n_jobs=jobs)(delayed(function)(*arguments) for function, arguments in calls)


# ----------------------------------------------------------------------------------------------- tables


def mean_std_table(rows: pd.DataFrame, metric: str, index: str, percent: bool = False,
                   with_median: bool = False) -> str:
    """Markdown table: one row per `index` value, one column per train size, cells 'mean ± std' over rows."""
    stats = rows.groupby([index, "n"])[metric].agg(["mean", "std", "median"])
    scale = 100.0 if percent else 1.0

    def cell(r: pd.Series) -> str:
        text = f"{scale * r['mean']:.3f} ± {scale * r['std']:.3f}"
        return f"{text} (median {scale * r['median']:.3f})" if with_median else text

    cells = stats.apply(cell, axis=1).unstack("n")
    order = rows.groupby(index)[metric].mean().sort_values(ascending=False).index
    return markdown(cells.loc[order], index)


def markdown(frame: pd.DataFrame, index_name: str) -> str:
    """A markdown table whose integer columns (training-set sizes) are headed n=SIZE."""
    return markdown_table.markdown(frame, index_name, lambda c: f"n={c}" if isinstance(c, int | np.integer) else str(c))


# --------------------------------------------------------------------------------------------- sections


def segmentation_section(args: argparse.Namespace) -> None:
    print("\n## Segmentation: TransNAS-Bench-101 (target: validation pixel accuracy)\n")
    print(f"Train sizes {SEGMENTATION_SIZES}, {args.splits} random splits each, test on all other networks. "
          f"Cells: mean ± std over splits. Surrogates: {', '.join(args.models)}.\n")
    for space in TNB101_SPACES:
        task = load_tnb101(args.data, space)
        started = time.perf_counter()
        calls = [(fit_and_score, (task, m, n, k, args.seed))
                 for n in SEGMENTATION_SIZES for k in range(args.splits) for m in args.models]
        rows = pd.DataFrame(run_parallel(args.jobs, calls) + baseline_rows(task, SEGMENTATION_SIZES, args.splits,
                                                                           args.seed))
        print(f"### {task.name}: {len(task.target)} networks, {task.genes.shape[1]} genes "
              f"(wall {time.perf_counter() - started:.0f} s)\n")
        for metric, title in (("kendall_tau", "Kendall tau"), ("spearman", "Spearman"),
                              ("precision_at_10pct", "Precision at top 10 %")):
            print(f"#### {title}\n\n{mean_std_table(rows, metric, 'model')}\n")
        report_segmentation_targets(task.name, rows)
        report_switching_choices(rows)
        report_fit_seconds(rows)


def report_segmentation_targets(name: str, rows: pd.DataFrame) -> None:
    at_target = rows[rows["n"] == TARGET_SIZE].groupby("model")["kendall_tau"].mean()
    baselines = at_target[at_target.index.str.endswith("(baseline)")]
    surrogates = at_target.drop(baselines.index)
    singles = surrogates.drop([m for m in META_SURROGATES if m in surrogates.index])
    zero_cost = baselines.drop(["flops (baseline)", "params (baseline)"])
    print(f"Targets at n={TARGET_SIZE} ({name}), mean Kendall tau:\n")
    print(f"- best surrogate {surrogates.idxmax()} {surrogates.max():.3f} vs best baseline {baselines.idxmax()} "
          f"{baselines.max():.3f} (FLOPs {baselines['flops (baseline)']:.3f}, params "
          f"{baselines['params (baseline)']:.3f}, best zero-cost proxy {zero_cost.idxmax()} {zero_cost.max():.3f}): "
          f"{'met' if surrogates.max() > baselines.max() else 'NOT met'}")
    if "adaptive_switching" in surrogates.index and len(singles):
        gap = singles.max() - surrogates["adaptive_switching"]
        print(f"- adaptive_switching {surrogates['adaptive_switching']:.3f} vs best single model {singles.idxmax()} "
              f"{singles.max():.3f}: gap {gap:.3f}, {'met' if gap <= 0.02 else 'NOT met'} (target <= 0.02)")
    print()


def report_switching_choices(rows: pd.DataFrame) -> None:
    if "chosen" not in rows:
        return
    chosen = rows.dropna(subset=["chosen"]).groupby("n")["chosen"].value_counts().unstack(fill_value=0)
    print(f"AdaptiveSwitching choices (number of splits):\n\n{markdown(chosen, 'n')}\n")


def report_fit_seconds(rows: pd.DataFrame) -> None:
    seconds = rows.dropna(subset=["seconds"]).groupby(["model", "n"])["seconds"].mean().unstack("n")
    print(f"Mean fit + predict seconds per split (one BLAS thread per worker):\n\n"
          f"{markdown(seconds.map(lambda s: f'{s:.2f}'), 'model')}\n")


def latency_section(args: argparse.Namespace) -> None:
    genes, latency, flops = load_help_nb201(args.data)
    print(f"\n## Latency: HELP NAS-Bench-201, {len(genes)} networks, {latency.shape[1]} device settings\n")
    print(f"Train sizes {LATENCY_SIZES}, {args.latency_splits} random splits each, test on all other networks. "
          f"Genes: the operation of each of the 6 edges. Surrogates: {', '.join(args.latency_models)}.\n")
    started = time.perf_counter()
    calls = [(latency_device_rows, (genes, latency[d].to_numpy(), d, args.latency_models, LATENCY_SIZES,
                                    args.latency_splits, args.seed)) for d in latency]
    per_call = run_parallel(args.jobs, calls)
    rows = pd.DataFrame([row for rows in per_call for row in rows]
                        + flops_latency_rows(flops, latency, LATENCY_SIZES, args.latency_splits, args.seed))
    print(f"(wall {time.perf_counter() - started:.0f} s)\n")
    per_device = rows.groupby(["model", "n", "device"])[["spearman", "mape"]].mean().reset_index()
    for metric, title, percent in (("spearman", "Spearman", False), ("mape", "MAPE (%)", True)):
        table = mean_std_table(per_device, metric, "model", percent=percent, with_median=percent)
        print(f"#### {title}: mean ± std over the {latency.shape[1]} devices (each device: mean over splits)\n\n"
              f"{table}\n")
    at_target = per_device[per_device["n"] == TARGET_SIZE]
    wide = at_target.pivot(index="device", columns="model", values=["spearman", "mape"])
    wide = wide.apply(lambda col: col.map(lambda v: f"{100 * v:.1f} %" if col.name[0] == "mape" else f"{v:.3f}"))
    wide.columns = [f"{model} {metric}" for metric, model in wide.columns]
    print(f"#### Per device at n={TARGET_SIZE}\n\n{markdown(wide, 'device')}\n")
    best = at_target.groupby("model")["spearman"].mean()
    default = best.get("block_latency", float("nan"))
    print(f"Target at n={TARGET_SIZE}: block_latency mean Spearman {default:.3f} over {latency.shape[1]} devices "
          f"(FLOPs {best['FLOPs (baseline)']:.3f}): {'met' if default >= 0.95 else 'NOT met'} (target >= 0.95)\n")


def cost_section(args: argparse.Namespace) -> None:
    n_fit, n_predict, n_genes, n_choices = 1000, 100_000, 50, 5
    rng = np.random.default_rng(args.seed)
    genes = rng.integers(0, n_choices, size=(n_fit + n_predict, n_genes))
    effects = rng.normal(size=(n_genes, n_choices))
    target = effects[np.arange(n_genes), genes].sum(axis=1) + 0.3 * genes[:, 0] * genes[:, 1]
    target += rng.normal(scale=0.5, size=len(target))
    print(f"\n## Cost: fit on {n_fit} x {n_genes} genes ({n_choices} choices each), predict {n_predict:,} "
          f"candidates\n")
    print(f"Default hyper-parameters, random_state={args.seed}, in this process with the libraries' default "
          f"threading on {os.cpu_count()} cores. Predict: median of 3 calls.\n")
    print("| model | fit (s) | predict 100k (s) | fit < 30 s | predict < 2 s |\n|---|---|---|---|---|")
    for name in args.models:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            surrogate = seeded_surrogate(name, args.seed)
            started = time.perf_counter()
            surrogate.fit(genes[:n_fit], target[:n_fit])
            fit_seconds = time.perf_counter() - started
            predict_seconds = []
            for _ in range(3):
                started = time.perf_counter()
                surrogate.predict(genes[n_fit:])
                predict_seconds.append(time.perf_counter() - started)
        predict_median = float(np.median(predict_seconds))
        print(f"| {name} | {fit_seconds:.2f} | {predict_median:.2f} | {'yes' if fit_seconds < 30 else 'NO'} | "
              f"{'yes' if predict_median < 2 else 'NO'} |", flush=True)
    print()


def shift_tasks(args: argparse.Namespace) -> list[ShiftTask]:
    """One task per archive and objective: the search-efficiency archives of the NAS tables (made first where
    missing and --make-archives is given) and the CamVid archives given."""
    import search_efficiency

    tasks = []
    for problem in SHIFT_PROBLEMS:
        features = table_features(args.data, problem)
        for seed in range(args.shift_seeds):
            folder = search_efficiency.run_folder(args.archives, problem, SHIFT_METHOD, SHIFT_BUDGET, seed)
            if not (folder / "front.csv").exists():
                if not args.make_archives:
                    print(f"- missing {folder} (run with --make-archives to make it)")
                    continue
                search_efficiency.run_one(problem, SHIFT_METHOD, SHIFT_BUDGET, seed, args.archives,
                                          SHIFT_ARCHIVE_SURROGATE)
            tasks += archive_tasks(f"{problem} s{seed}", folder / "archive.csv", SHIFT_TARGETS[problem], features)
    for path in args.camvid_archive:
        features = camvid_features(path, args.camvid_checkpoint) if args.camvid_checkpoint else None
        tasks += archive_tasks(f"camvid {Path(path).parent.parent.name}", Path(path), ("1 - mIoU", "latency ms"),
                               features)
    return tasks


def table_features(data: Path, problem: str) -> Callable[[np.ndarray], pd.DataFrame]:
    """The per-network features of a NAS table, looked up by genes: FLOPs and params, and on
    TransNAS-Bench-101 the zero-cost proxies its subset lists."""
    if problem.startswith("nb201"):
        table = pd.read_csv(data / "naslib_zc_subsets" / "nb201_subset_acc_latency.csv")
        genes = nb201_genes(table["arch_str"])
        columns = table[["flops_cifar10_M", "params_cifar10_M"]].set_axis(["flops", "params"], axis=1)
    else:
        table, genes = tnb101_segmentation(data, problem.removeprefix("tnb101-"))
        columns = table[list(TNB101_BASELINES)]
    rows = {tuple(g): i for i, g in enumerate(genes)}
    return lambda X: columns.iloc[[rows[tuple(x)] for x in X]].reset_index(drop=True).astype(float)


def camvid_features(archive: Path, checkpoint: Path) -> Callable[[np.ndarray], pd.DataFrame]:
    """MACs and params at the search resolution, and the zero-cost proxies of each network with the
    supernet's trained weights and at initialisation, on 4 images of the checkpoint's validation split (cached
    beside the archive)."""
    from moseg.data import build_dataset
    from moseg.nn import Supernet
    from moseg.oneshot.proxies import ProxyCache
    from moseg.space import SearchSpace, count_flops, count_params
    from moseg.train.checkpoint import load_checkpoint
    from moseg.train.config import TrainConfig
    from moseg.util.config import from_dict

    state = load_checkpoint(checkpoint)
    config = from_dict(TrainConfig, state["config"])
    space, num_classes = SearchSpace(**config.model.space), state["num_classes"]
    dataset = build_dataset(config.data.dataset, config.data.root, config.data.val_split, **config.data.options)
    items = [dataset[i] for i in np.random.default_rng([0, 7]).choice(len(dataset), 4, replace=False)]
    images, labels = torch.stack([image for image, _ in items]), torch.stack([label for _, label in items])
    trained = Supernet(space, num_classes)
    trained.load_state_dict(state["model"])
    torch.manual_seed(0)
    caches = {"trained": ProxyCache(archive.parent / "proxies_trained.csv", trained, images, labels),
              "init": ProxyCache(archive.parent / "proxies_init.csv", Supernet(space, num_classes), images, labels)}
    resolution = tuple(images.shape[-2:])

    def features(X: np.ndarray) -> pd.DataFrame:
        archs = [space.decode(x) for x in X]
        table = pd.DataFrame({"macs": [count_flops(a, num_classes, resolution) for a in archs],
                              "params": [count_params(a, num_classes) for a in archs]})
        for weights, cache in caches.items():
            with threadpool_limits(limits=1):
                scores = cache(X)
            for j, name in enumerate(cache.names):
                table[f"{name} ({weights})"] = scores[:, j]
        return table

    return features


def archive_tasks(name: str, path: Path, targets: tuple[str, str],
                  features: Callable[[np.ndarray], pd.DataFrame] | None) -> list[ShiftTask]:
    """The two ranking tasks of one search archive: train on iteration 0, test on every later successful row."""
    archive = read_table(path, "a search's archive", renamed=RENAMED_IN["archive.csv"])
    archive = archive[archive["status"] == "ok"]
    genes = parse_vectors(archive[GENES].tolist(), source=path)
    F = np.array([json.loads(f) for f in archive[OBJECTIVES]], dtype=float)
    design = (archive["iteration"] == 0).to_numpy()
    table = features(genes) if features else pd.DataFrame(index=range(len(genes)))
    return [ShiftTask(name, j, target, genes[design], F[design, j], genes[~design], F[~design, j],
                      table[design].reset_index(drop=True), table[~design].reset_index(drop=True))
            for j, target in enumerate(targets)]


def shift_scores(task: ShiftTask, model: str, seed: int) -> dict[str, object]:
    """One surrogate fitted on the task's design rows, ranking its searched rows (lower objective = better).
    `MODEL+features`: the model on ordinal genes and the task's per-network features side by side."""
    name, with_features = model.removesuffix("+features"), model.endswith("+features")
    X_train, X_test = task.X_train, task.X_test
    surrogate = seeded_surrogate(name, seed)
    if with_features:
        X_train = np.hstack([X_train, task.features_train.fillna(0).to_numpy()])
        X_test = np.hstack([X_test, task.features_test.fillna(0).to_numpy()])
        surrogate.set_params(encoding="ordinal")
    with threadpool_limits(limits=1), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        started = time.perf_counter()
        predicted = surrogate.fit(X_train, task.y_train).predict(X_test)
    return {"task": task.name, "objective": task.objective, "target": task.target, "model": model,
            "seconds": time.perf_counter() - started, **ranking_scores(-task.y_test, -predicted)}


def shift_baseline_rows(task: ShiftTask) -> list[dict[str, object]]:
    """Each per-network feature as a training-free ranking of the searched rows: larger predicts more accurate
    (objective 0) and, for FLOPs, MACs and params, costlier (objective 1)."""
    rows = []
    for column in task.features_test:
        values = task.features_test[column].to_numpy(float)
        if task.objective == 1 and column not in ("flops", "macs", "params"):
            continue  # a proxy of accuracy is no predictor of cost
        if not np.all(np.isfinite(values)):
            continue
        score = values if task.objective == 0 else -values
        rows.append({"task": task.name, "objective": task.objective, "target": task.target,
                     "model": f"{column} (baseline)", **ranking_scores(-task.y_test, score)})
    return rows


def shift_section(args: argparse.Namespace) -> None:
    print("\n## Shift: fit on the design of experiments, rank what the search chose afterwards\n")
    tasks = shift_tasks(args)
    if not tasks:
        print("No archives found.\n")
        return
    print(f"Archives: budget-{SHIFT_BUDGET} {SHIFT_METHOD} searches (surrogate {SHIFT_ARCHIVE_SURROGATE}, "
          f"n_doe {SHIFT_BUDGET // 2}) of benchmarks/search_efficiency.py, seeds 0..{args.shift_seeds - 1}, under "
          f"{args.archives}; CamVid: {', '.join(map(str, args.camvid_archive)) or 'none'}. Train: the design rows "
          "(iteration 0); test: every later successful row. Surrogates get random_state = --seed. Precision at "
          "the top 10 % of the lowest objective values.\n")
    print("| archive | objective | train rows | test rows |\n|---|---|---|---|")
    for task in tasks:
        print(f"| {task.name} | {task.target} | {len(task.y_train)} | {len(task.y_test)} |")
    started = time.perf_counter()
    models = [*args.shift_models, *(f"{m}+features" for m in args.feature_models)]
    calls = [(shift_scores, (task, model, args.seed)) for task in tasks for model in models
             if not model.endswith("+features") or task.features_train.shape[1]]
    rows = pd.DataFrame(run_parallel(args.jobs, calls) + [row for task in tasks for row in shift_baseline_rows(task)])
    print(f"\n(wall {time.perf_counter() - started:.0f} s)\n")
    if args.shift_csv:
        rows.to_csv(args.shift_csv, index=False)
    rows["problem"] = rows["task"].str.replace(r" s\d+$", "", regex=True)
    for objective, kind in ((0, "accuracy"), (1, "cost (latency or FLOPs)")):
        part = rows[rows["objective"] == objective]
        for metric, title in (("kendall_tau", "Kendall tau"), ("precision_at_10pct", "Precision at top 10 %")):
            per_problem = part.groupby(["model", "problem"])[metric].mean().unstack("problem")
            per_problem["mean over problems"] = per_problem.mean(axis=1)
            per_problem = per_problem.sort_values("mean over problems", ascending=False)
            print(f"#### {kind}: {title} (mean over seeds)\n\n"
                  f"{markdown(per_problem.map(lambda v: f'{v:.3f}'), 'model')}\n")
        report_shift_target(part, kind, args.shift_default)
    seconds = rows.dropna(subset=["seconds"]).groupby("model")["seconds"].mean().sort_values()
    print("Mean fit + predict seconds per task (one thread):\n\n"
          f"{markdown(seconds.map(lambda v: f'{v:.2f}').to_frame('seconds'), 'model')}\n")


def report_shift_target(rows: pd.DataFrame, kind: str, default: str) -> None:
    """The issue's test of the default: at least the best single model's mean tau over problems (chosen in
    hindsight), and on no problem below the worst-but-one model."""
    if default not in set(rows["model"]):
        return
    per_problem = rows.groupby(["model", "problem"])["kendall_tau"].mean().unstack("problem")
    singles = per_problem.loc[[m for m in per_problem.index
                               if m in list_surrogates() and m not in (*META_SURROGATES, default)]]
    mean = per_problem.mean(axis=1)
    best = mean[singles.index].idxmax()
    worst_but_one = singles.apply(lambda column: column.sort_values().iloc[1] if len(column) > 1 else column.min())
    below = [p for p in per_problem.columns if per_problem.loc[default, p] < worst_but_one[p]]
    print(f"Target ({kind}): {default} mean tau {mean[default]:.3f} vs best single model in hindsight {best} "
          f"{mean[best]:.3f}: {'met' if mean[default] >= mean[best] else 'NOT met'}; below the worst-but-one "
          f"single model on {len(below)} of {per_problem.shape[1]} problems{': ' + ', '.join(below) if below else ''}"
          f"\n")


# ------------------------------------------------------------------------------------------------- main


def machine_description() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() else ""
    return (f"{cpu}, {os.cpu_count()} cores; Python {platform.python_version()}, torch {torch.__version__}, "
            f"scikit-learn {sklearn.__version__}, xgboost {xgboost.__version__}, numpy {np.__version__}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="benchdata folder (default: %(default)s)")
    parser.add_argument("--sections", nargs="+", default=["segmentation", "latency", "cost", "shift"],
                        choices=["segmentation", "latency", "cost", "shift"])
    parser.add_argument("--models", nargs="+", default=list_surrogates(), choices=list_surrogates(),
                        help="surrogates for the segmentation and cost sections (default: all registered)")
    parser.add_argument("--latency-models", nargs="+", default=list(DEFAULT_LATENCY_MODELS),
                        choices=list_surrogates())
    parser.add_argument("--splits", type=int, default=20, help="random splits per train size (segmentation)")
    parser.add_argument("--latency-splits", type=int, default=10, help="random splits per size and device")
    parser.add_argument("--shift-models", nargs="+", default=[m for m in list_surrogates() if m != "block_latency"],
                        type=model_spec, help="surrogates of the shift section: registered names, each optionally "
                        "with parameters (consensus:weighting=top)")
    parser.add_argument("--shift-default", default=DEFAULT_SURROGATE, type=model_spec,
                        help="the model the shift target is checked for (default: run_search's, %(default)s)")
    parser.add_argument("--shift-seeds", type=int, default=3, help="search seeds per NAS table (shift section)")
    parser.add_argument("--archives", type=Path, default=Path("runs/search_efficiency"),
                        help="search_efficiency output folder holding (or to hold) the archives")
    parser.add_argument("--make-archives", action="store_true", help="run the missing archive searches first")
    parser.add_argument("--camvid-archive", nargs="*", type=Path, default=[], help="CamVid search archive.csv")
    parser.add_argument("--camvid-checkpoint", type=Path, help="supernet checkpoint of the CamVid archives: adds "
                        "MACs, params and zero-cost proxies as features and baselines")
    parser.add_argument("--feature-models", nargs="*", default=["xgb", "random_forest"], type=model_spec,
                        help="surrogates also fitted on genes plus per-network features (shift section)")
    parser.add_argument("--shift-csv", type=Path, help="write the shift section's per-task rows here")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=os.cpu_count(), help="worker processes for the splits")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    started = time.perf_counter()
    print("# Surrogate accuracy and cost (issue 4)\n")
    print(f"command: python benchmarks/surrogate_accuracy.py {' '.join(sys.argv[1:])}".rstrip())
    print(f"date: {datetime.date.today().isoformat()}; machine: {machine_description()}")
    print(f"seeds: --seed {args.seed}; split (n, k) = numpy.random.default_rng([{args.seed}, n, k]).permutation; "
          f"surrogates get random_state = {args.seed} + k; data: {args.data}")
    print(f"load average (1, 5, 15 min) at the start: {', '.join(f'{load:.2f}' for load in os.getloadavg())}")
    sections = {"segmentation": segmentation_section, "latency": latency_section, "cost": cost_section,
                "shift": shift_section}
    for section in args.sections:
        sections[section](args)
    print(f"Total wall time: {(time.perf_counter() - started) / 60:.1f} min; load average (1, 5, 15 min) at the "
          f"end: {', '.join(f'{load:.2f}' for load in os.getloadavg())}")


if __name__ == "__main__":
    main()
