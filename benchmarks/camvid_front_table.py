"""The tables RESULTS.md shows for one end-to-end CamVid run of experiments/camvid.py, read from its outputs only.

Prints, as markdown: the seconds of every stage; the supernet's periodic search_val mIoU of its largest and
smallest network; what the search found (the spread of search_val mIoU over its evaluations, the hypervolume
and the surrogates' Kendall tau per iteration); every retrained network with its search_val mIoU under
inherited weights, its from-scratch val and test mIoU, the test IoU of the rare classes, latency, params and
MACs; the rank agreement between supernet and from-scratch scores; and which searched networks dominate or
match each hand-designed baseline (test mIoU at least as high, latency at most as high).

    python benchmarks/camvid_front_table.py --run runs/camvid_cpu
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd
from markdown_table import markdown

from moseg.util.csvlog import read_table
from moseg.util.schema import OBJECTIVES, RENAMED_IN

RARE_CLASSES = ("pole", "sign_symbol", "pedestrian", "bicyclist")


def stage_seconds(run: Path) -> str:
    """The last `ran` row of each stage in timings.csv (a resumed stage counts its final, completing run)."""
    timings = pd.read_csv(run / "timings.csv")
    ran = timings[timings["status"] == "ran"].groupby("stage", sort=False).last()
    table = ran[["seconds"]].assign(minutes=(ran["seconds"] / 60).round(1))
    return markdown(table, "stage")


def supernet_curve(run: Path) -> str:
    """search_val mIoU (%) of the largest and smallest network at each evaluation of supernet training."""
    curve = pd.read_csv(run / "supernet" / "eval.csv").pivot(index="iteration", columns="arch", values="miou")
    return markdown((100 * curve).round(2), "iteration")


def search_summary(run: Path) -> tuple[str, str]:
    """The spread of search_val mIoU over the evaluated networks, and the per-iteration statistics."""
    archive = read_table(run / "search" / "archive.csv", "a search's archive", renamed=RENAMED_IN["archive.csv"])
    ok = archive[archive["status"] == "ok"]
    miou = 100 * (1 - ok[OBJECTIVES].map(lambda f: json.loads(f)[0]))
    latency = ok[OBJECTIVES].map(lambda f: json.loads(f)[1])
    spread = (f"{len(archive)} evaluations ({len(archive) - len(ok)} failed); search_val mIoU from {miou.min():.2f} "
              f"to {miou.max():.2f} % (max - min {miou.max() - miou.min():.2f} points); latency objective from "
              f"{latency.min():.3g} to {latency.max():.3g}")
    stats = pd.read_csv(run / "search" / "stats.csv").set_index("iteration")
    columns = ["evaluations", "new", "hypervolume", "kendall_tau", "surrogates", "fit_seconds", "eval_seconds"]
    return spread, markdown(stats[columns].fillna(""), "iteration")


def retrained_table(run: Path) -> tuple[str, pd.DataFrame]:
    """Every retrained network, by latency; percentages for the scores."""
    retrained = pd.read_csv(run / "retrain" / "retrained.csv").sort_values("latency_ms")
    rows = []
    for r in retrained.itertuples():
        class_iou = json.loads(r.test_class_iou) if isinstance(r.test_class_iou, str) else {}
        rows.append({"network": r.name, "kind": r.kind,
                     "supernet mIoU (search_val)": "" if pd.isna(r.supernet_miou) else f"{100 * r.supernet_miou:.2f}",
                     "val mIoU": f"{100 * r.val_miou:.2f}", "test mIoU": f"{100 * r.test_miou:.2f}",
                     **{f"test IoU {c}": f"{100 * class_iou.get(c, float('nan')):.1f}" for c in RARE_CLASSES},
                     "latency ms (p90)": f"{r.latency_ms:.2f} ({r.latency_p90_ms:.2f})",
                     "params k": f"{r.params / 1e3:.0f}", "MACs M": f"{r.macs / 1e6:.0f}",
                     "train s": f"{r.train_seconds:.0f}"})
    return markdown(pd.DataFrame(rows).set_index("network"), "network"), retrained


def dominance(retrained: pd.DataFrame) -> list[str]:
    """For each baseline: the searched networks at least as accurate on test and at most as slow."""
    searched = retrained[retrained["kind"] == "searched"]
    lines = []
    for base in retrained[retrained["kind"] == "baseline"].itertuples():
        better = searched[(searched["test_miou"] >= base.test_miou) & (searched["latency_ms"] <= base.latency_ms)]
        names = ", ".join(f"{r.name} ({100 * r.test_miou:.2f} % at {r.latency_ms:.2f} ms)"
                          for r in better.itertuples()) or "none"
        lines.append(f"- {base.name} ({100 * base.test_miou:.2f} % at {base.latency_ms:.2f} ms): dominated or "
                     f"matched by {names}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", type=Path, required=True, help="out_dir of experiments/camvid.py")
    run = parser.parse_args().run
    summary = json.loads((run / "retrain" / "summary.json").read_text())
    print(f"# {run}\n\ndata: {summary['data_protocol']}; latency: {summary['latency_protocol']}; test split "
          f"{summary['test_split']!r}\n")
    print(f"## Seconds per stage\n\n{stage_seconds(run)}\n")
    print(f"## Supernet: search_val mIoU (%) during training\n\n{supernet_curve(run)}\n")
    spread, stats = search_summary(run)
    print(f"## Search\n\n{spread}\n\n{stats}\n")
    table, retrained = retrained_table(run)
    print(f"## Retrained from scratch\n\n{table}\n")
    print(f"Kendall tau, supernet search_val mIoU vs from-scratch test mIoU over the {summary['n']} searched "
          f"networks: {summary['kendall_tau']}\n")
    print("\n".join(dominance(retrained)))


if __name__ == "__main__":
    main()
