"""How close each search method gets to a known Pareto front with a given budget of true evaluations (issue 6).

Problems (all objectives minimised, every exact front known):
  zdt1, zdt2, zdt3   the ZDT problems on the integer grid 0..9 in 10 variables; the front is x1..x9 = 0.
  nb201-DEVICE       725 NAS-Bench-201 networks: 100 - CIFAR-10 validation accuracy vs measured latency on DEVICE
                     (HELP tables); genes are the 6 edge operations; any vector is canonicalised to the nearest
                     table row (fewest differing genes, then lowest row index), so only table rows are evaluated.
  tnb101-SPACE       TransNAS-Bench-101 segmentation (micro 711, macro 725 networks): 100 - pixel accuracy vs
                     FLOPs, canonicalised to table rows the same way.
Methods: `default`, run_search with every setting at its default (the design size, surrogate and pre-screening
a user gets); `default-doeF`, the same with n_doe = round(F * budget) (how the default design size was chosen);
`surrogate-PRESCREEN`, run_search with each pre-screening, n_doe = min(100, budget / 2) and the surrogate given by
--surrogate (the issue-6 protocol); random search and NSGA-II on true evaluations. Each run of (problem, method,
budget, seed) has its own resumable output folder under OUT/runs, and one result row in OUT/results.csv; a rerun
skips finished runs. Runs go budget by budget in the order given, seed by seed within a budget, so a benchmark
stopped part way holds whole seeds of the first budgets.
Hypervolume ratio = found / exact, both against the exact front's nadir + 10 % of its range. Each result row
also records the run's wall seconds and the CPU seconds of its process (one core's worth when run with
OMP_NUM_THREADS=1, as below, whatever else the machine is doing).

    OMP_NUM_THREADS=1 python benchmarks/search_efficiency.py --out runs/search_efficiency --jobs 2
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from benchdata import DEFAULT_DATA, NB201_OPS, nb201_genes, tnb101_segmentation
from joblib import Parallel, delayed

from moseg.search import nsga2_search, random_search, run_search
from moseg.search.indicators import hypervolume, non_dominated
from moseg.util.csvlog import CsvLog

PRESCREENS = ("spacing", "hvi", "optimistic", "none")
METHODS = ("default", *(f"surrogate-{p}" for p in PRESCREENS), "random", "nsga2")
SEARCHES = ("default", "surrogate-")  # prefixes of the surrogate-assisted methods
KEY = ["problem", "budget", "method"]  # one cell of the tables below
RESULT_COLUMNS = ["problem", "method", "budget", "seed", "evaluations", "hv_ratio", "seconds", "cpu_seconds"]


@dataclass(frozen=True)
class Benchmark:
    """An integer problem with its exact front."""

    name: str
    xl: np.ndarray
    xu: np.ndarray
    evaluate: Callable[[np.ndarray], np.ndarray]
    canonicalize: Callable[[np.ndarray], np.ndarray] | None
    front: np.ndarray

    def reference_point(self) -> np.ndarray:
        ideal, nadir = self.front.min(axis=0), self.front.max(axis=0)
        return nadir + 0.1 * np.where(nadir > ideal, nadir - ideal, 1.0)


def zdt(kind: int) -> Benchmark:
    def evaluate(X: np.ndarray) -> np.ndarray:
        z = np.asarray(X, dtype=float) / 9.0
        f1, g = z[:, 0], 1 + 9 * z[:, 1:].mean(axis=1)
        h = {1: 1 - np.sqrt(f1 / g), 2: 1 - (f1 / g) ** 2,
             3: 1 - np.sqrt(f1 / g) - f1 / g * np.sin(10 * np.pi * f1)}[kind]
        return np.column_stack([f1, g * h])

    optimal = np.zeros((10, 10), dtype=int)
    optimal[:, 0] = np.arange(10)
    F = evaluate(optimal)
    return Benchmark(f"zdt{kind}", np.zeros(10, int), np.full(10, 9), evaluate, None, F[non_dominated(F)])


def tabular(name: str, genes: np.ndarray, F: np.ndarray, n_choices: int) -> Benchmark:
    """A table of networks as a problem: vectors are canonicalised to the nearest row, evaluated by lookup."""
    rows = {tuple(g): i for i, g in enumerate(genes)}

    def nearest(X: np.ndarray) -> np.ndarray:
        return np.stack([x if tuple(x) in rows else genes[int(np.argmin((genes != x).sum(axis=1)))] for x in X])

    def evaluate(X: np.ndarray) -> np.ndarray:
        return F[[rows[tuple(x)] for x in X]]

    return Benchmark(name, np.zeros(genes.shape[1], int), np.full(genes.shape[1], n_choices - 1), evaluate, nearest,
                     F[non_dominated(F)])


def nb201(device: str) -> Benchmark:
    table = pd.read_csv(DEFAULT_DATA / "naslib_zc_subsets" / "nb201_subset_acc_latency.csv")
    genes = nb201_genes(table["arch_str"])
    F = np.column_stack([100 - table["cifar10_val_acc"].to_numpy(float), table[f"{device}_ms"].to_numpy(float)])
    return tabular(f"nb201-{device}", genes, F, len(NB201_OPS))


def tnb101(space: str) -> Benchmark:
    table, genes = tnb101_segmentation(DEFAULT_DATA, space)
    F = np.column_stack([100 - table["valid_pixel_acc"].to_numpy(float), table["flops"].to_numpy(float)])
    return tabular(f"tnb101-{space}", genes, F, int(genes.max()) + 1)


PROBLEMS: dict[str, Callable[[], Benchmark]] = {
    "zdt1": lambda: zdt(1), "zdt2": lambda: zdt(2), "zdt3": lambda: zdt(3),
    "nb201-1080ti_1": lambda: nb201("1080ti_1"), "nb201-pixel3": lambda: nb201("pixel3"),
    "nb201-raspi4": lambda: nb201("raspi4"), "tnb101-micro": lambda: tnb101("micro"),
    "tnb101-macro": lambda: tnb101("macro"),
}


def run_folder(out: Path, problem_name: str, method: str, budget: int, seed: int) -> Path:
    """The output folder of one run of (problem, method, budget, seed)."""
    return out / "runs" / f"{problem_name}_{method}_{budget}_{seed}"


def run_one(problem_name: str, method: str, budget: int, seed: int, out: Path, surrogate: str) -> dict:
    """One search; its hypervolume ratio against the exact front."""
    problem = PROBLEMS[problem_name]()
    folder = run_folder(out, problem_name, method, budget, seed)
    common = {"seed": seed, "out_dir": folder, "n_doe": min(100, budget // 2), "canonicalize": problem.canonicalize}
    started, cpu_started = time.perf_counter(), time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if method.startswith("default"):
            doe = {"n_doe": round(float(method.removeprefix("default-doe")) * budget)} if "-doe" in method else {}
            result = run_search(problem.evaluate, problem.xl, problem.xu, budget, seed=seed, out_dir=folder,
                                canonicalize=problem.canonicalize, log=None, **doe)
        elif method == "random":
            result = random_search(problem.evaluate, problem.xl, problem.xu, budget, **common)
        elif method == "nsga2":
            result = nsga2_search(problem.evaluate, problem.xl, problem.xu, budget, pop_size=20, **common)
        else:
            result = run_search(problem.evaluate, problem.xl, problem.xu, budget, prescreen=method.split("-")[1],
                                surrogate=surrogate, log=None, **common)
    ref = problem.reference_point()
    ratio = hypervolume(result.F, ref) / hypervolume(problem.front, ref)
    return {"problem": problem_name, "method": method, "budget": budget, "seed": seed,
            "evaluations": len(result.X) + len(result.failed), "hv_ratio": round(ratio, 5),
            "seconds": round(time.perf_counter() - started, 1),
            "cpu_seconds": round(time.process_time() - cpu_started, 1)}


def method_name(text: str) -> str:
    """A method of METHODS or default-doeF with 0 < F < 1; argparse's error otherwise."""
    fraction = text.removeprefix("default-doe")
    if text in METHODS or (fraction != text and fraction.replace(".", "", 1).isdigit() and 0 < float(fraction) < 1):
        return text
    raise argparse.ArgumentTypeError(f"{text!r} is not a method; expected one of {', '.join(METHODS)} or "
                                     "default-doeF with 0 < F < 1")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--problems", nargs="+", default=list(PROBLEMS), choices=list(PROBLEMS))
    p.add_argument("--methods", nargs="+", default=list(METHODS), type=method_name,
                   help=f"among {', '.join(METHODS)} and default-doeF (F a fraction of the budget, e.g. 0.5)")
    p.add_argument("--budgets", type=int, nargs="+", default=[50, 100, 200])
    p.add_argument("--seeds", type=int, default=10)
    p.add_argument("--surrogate", default="adaptive_switching", help="surrogate of the surrogate-* methods")
    p.add_argument("--jobs", type=int, default=1)
    p.add_argument("--report-only", action="store_true", help="print the table of the finished runs, run nothing")
    args = p.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    results = CsvLog(args.out / "results.csv", RESULT_COLUMNS)
    done = {(r["problem"], r["method"], int(r["budget"]), int(r["seed"])) for r in results.rows()}
    todo = [(pr, m, b, s) for b in args.budgets for s in range(args.seeds) for pr in args.problems
            for m in args.methods if (pr, m, b, s) not in done]
    print(f"command: python benchmarks/search_efficiency.py {' '.join(sys.argv[1:])}")
    print(f"{len(done)} runs done, {len(todo)} to go; surrogate {args.surrogate}", flush=True)
    if not args.report_only:
        for row in Parallel(n_jobs=args.jobs, return_as="generator_unordered")(
                delayed(run_one)(*job, args.out, args.surrogate) for job in todo):
            results.append(row)
    table = pd.DataFrame(results.rows()).astype({"budget": int, "seed": int, "hv_ratio": float})
    table = table[table["problem"].isin(args.problems) & table["method"].isin(args.methods)
                  & table["budget"].isin(args.budgets)]
    summary = table.groupby(["problem", "budget", "method"])["hv_ratio"].agg(["median", "min", "count"])
    print_table("Hypervolume ratio found / exact: median / worst over seeds (runs)",
                summary.apply(lambda r: f"{r['median']:.4f} / {r['min']:.4f} ({int(r['count'])})", axis=1))
    if {"random", "nsga2"} <= set(table["method"]):
        print_table("Seeds on which the surrogate variant beats both random search and NSGA-II (seeds with all "
                    "three)", paired_wins(table))
        print(f"\nAll surrogate methods together beat both on {overall_wins(table)} (problem, seed) pairs.")
    timed = table[pd.to_numeric(table["cpu_seconds"], errors="coerce").notna()] if "cpu_seconds" in table else table[:0]
    if len(timed):
        cpu = timed.astype({"cpu_seconds": float}).groupby(["problem", "budget", "method"])["cpu_seconds"]
        print_table("CPU seconds per run: median / max over seeds", cpu.agg(["median", "max"]).apply(
            lambda r: f"{r['median']:.1f} / {r['max']:.1f}", axis=1))
    stats = run_stats(args.out, table)
    taus = surrogate_taus(stats)
    if len(taus):
        print_table("Surrogate Kendall tau on the vectors each in-fill iteration chose, f0 / f1, mean over iterations "
                    "and seeds (NaN where an iteration chose fewer than 2 or all ties)", taus)
    short = short_infills(stats)
    if len(short):
        print_table("In-fill iterations that evaluated fewer than n_infill new vectors: short / all (runs); each "
                    "run's last iteration, which the budget may cut, left out; only runs whose folder is there", short)


def paired_wins(table: pd.DataFrame) -> pd.Series:
    """Per (problem, budget, surrogate method): 'wins/seeds', a win being a higher ratio than random search's and
    NSGA-II's on the same seed."""
    wide = table.pivot_table(index=["problem", "budget", "seed"], columns="method", values="hv_ratio")
    rows = {}
    for method in (m for m in wide.columns if m.startswith(SEARCHES)):
        paired = wide[[method, "random", "nsga2"]].dropna()
        wins = paired[method].gt(paired[["random", "nsga2"]].max(axis=1))
        for key, won in wins.groupby(level=["problem", "budget"]):
            rows[(*key, method)] = f"{int(won.sum())}/{len(won)}"
    return pd.Series(rows).rename_axis(["problem", "budget", "method"])


def overall_wins(table: pd.DataFrame) -> str:
    """Per surrogate method and budget: 'wins/pairs' over every problem and seed."""
    wide = table.pivot_table(index=["budget", "problem", "seed"], columns="method", values="hv_ratio")
    parts = []
    for method in (m for m in wide.columns if m.startswith(SEARCHES)):
        for budget, group in wide[[method, "random", "nsga2"]].dropna().groupby(level="budget"):
            won = group[method].gt(group[["random", "nsga2"]].max(axis=1))
            parts.append(f"{method} at budget {budget}: {int(won.sum())}/{len(won)} ({100 * won.mean():.0f} %)")
    return "; ".join(parts)


def run_stats(out: Path, table: pd.DataFrame) -> list[tuple[tuple[str, int, str], pd.DataFrame, int]]:
    """((problem, budget, method), stats.csv, n_infill) of each surrogate-assisted run of `table` whose folder is
    still under OUT/runs: what the in-fill tables below are computed from, read once."""
    found = []
    for run in table[table["method"].str.startswith(SEARCHES)].itertuples():
        folder = run_folder(out, run.problem, run.method, run.budget, run.seed)
        if (folder / "stats.csv").exists():
            n_infill = json.loads((folder / "config.json").read_text())["settings"]["n_infill"]
            found.append(((run.problem, run.budget, run.method), pd.read_csv(folder / "stats.csv"), n_infill))
    return found


def short_infills(stats: list[tuple[tuple[str, int, str], pd.DataFrame, int]]) -> pd.Series:
    """Per (problem, budget, surrogate method): 'short/all (runs)' over the in-fill iterations of `run_stats`. A
    short iteration found fewer unevaluated candidates than n_infill; it shows how often the optimiser's final
    population had (almost) nothing new to offer."""
    tallies = []
    for key, rows, n_infill in stats:
        new = rows["new"].iloc[1:-1]
        tallies.append({**dict(zip(KEY, key, strict=True)), "short": int((new < n_infill).sum()), "all": len(new)})
    if not tallies:
        return pd.Series(dtype=object)
    grouped = pd.DataFrame(tallies).groupby(KEY)
    sums, runs = grouped[["short", "all"]].sum(), grouped.size()
    return sums["short"].astype(str) + "/" + sums["all"].astype(str) + " (" + runs.astype(str) + ")"


def surrogate_taus(stats: list[tuple[tuple[str, int, str], pd.DataFrame, int]]) -> pd.Series:
    """Per (problem, budget, surrogate method): the mean Kendall tau, over the in-fill iterations of `run_stats`,
    between each iteration's predictions and the true objectives of the vectors it chose ('f0 / f1'): how well
    the surrogates ranked the candidates they sent to evaluation."""
    taus = [{**dict(zip(KEY, key, strict=True)), **{f"f{j}": float(v) for j, v in enumerate(str(cell).split())}}
            for key, rows, _ in stats for cell in rows["kendall_tau"].dropna()]
    if not taus:
        return pd.Series(dtype=object)
    means = pd.DataFrame(taus).groupby(KEY)[["f0", "f1"]].mean()
    return means.apply(lambda r: f"{r['f0']:.2f} / {r['f1']:.2f}", axis=1)


def print_table(title: str, cells: pd.Series) -> None:
    """A markdown table of `cells` (indexed by problem, budget, method), one column per method."""
    wide = cells.unstack("method")
    print(f"\n{title}\n")
    print("| problem | budget | " + " | ".join(wide.columns) + " |")
    print("|---|---|" + "---|" * len(wide.columns))
    for (problem, budget), row in wide.iterrows():
        print(f"| {problem} | {budget} | " + " | ".join(str(v) for v in row) + " |")

if __name__ == "__main__":
    main()
