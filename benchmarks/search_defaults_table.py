"""The table of RESULTS' "Hypervolume of the defaults" (issue 18), from the committed result rows alone.

Each variant's median hypervolume ratio per problem at budget 100 (seeds run), how often it beat both random
search and NSGA-II on the same (problem, seed), and its CPU seconds per search; random search and NSGA-II from the
issue-6 rows.

    python benchmarks/search_defaults_table.py
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

RESULTS = Path(__file__).parent / "results"
PROBLEMS = ["nb201-1080ti_1", "nb201-pixel3", "nb201-raspi4", "tnb101-micro", "tnb101-macro", "zdt1", "zdt2", "zdt3"]
BUDGET = 100


def main() -> None:
    issue6 = pd.read_csv(RESULTS / "search_efficiency.csv")
    baselines = issue6[issue6["method"].isin(["random", "nsga2"]) & (issue6["budget"] == BUDGET)]
    variants = pd.read_csv(RESULTS / "search_defaults.csv")
    best_baseline = baselines.pivot_table(index=["problem", "seed"], columns="method", values="hv_ratio").max(axis=1)
    print(f"| variant | {' | '.join(PROBLEMS)} | beats both | CPU s, median (max) |")
    print("|---|" + "---|" * (len(PROBLEMS) + 2))
    for name, rows in variants.groupby("variant", sort=False):
        median, runs = rows.groupby("problem")["hv_ratio"].median(), rows.groupby("problem").size()
        ratio = rows.set_index(["problem", "seed"])["hv_ratio"]
        paired = pd.concat([ratio, best_baseline.rename("baseline")], axis=1, join="inner")
        won = paired["hv_ratio"] > paired["baseline"]
        cpu = pd.to_numeric(rows["cpu_seconds"], errors="coerce").dropna()
        cost = f"{cpu.median():.0f} ({cpu.max():.0f})" if len(cpu) else "not recorded"
        cells = " | ".join(f"{median[p]:.4f} ({runs[p]})" for p in PROBLEMS)
        print(f"| {name} | {cells} | {int(won.sum())}/{len(won)} ({100 * won.mean():.0f} %) | {cost} |")
    for method in ("nsga2", "random"):
        median = baselines[baselines["method"] == method].groupby("problem")["hv_ratio"].median()
        print(f"| {method} | " + " | ".join(f"{median[p]:.4f} (10)" for p in PROBLEMS) + " | - | - |")


if __name__ == "__main__":
    main()
