"""Reproduce the CamVid mIoU / latency front end to end: supernet -> search -> retraining -> figures and table.

    python experiments/camvid.py --config experiments/configs/camvid_reduced.yaml --data ../shared/data/camvid
    python experiments/camvid.py --config experiments/configs/camvid.yaml --data ../shared/data/camvid

Every stage resumes or skips itself from what `out_dir` already holds, so the same command can be run again
after an interruption, or in pieces (`--stages supernet`, then `--stages search,retrain`, ...) on a lent GPU. The
reduced config fits one GPU session; `camvid.yaml` is the paper's. Any key can be overridden as KEY=VALUE
(see moseg/jobs/pipeline.py, e.g. search.budget=200). The run writes pipeline.yaml (the exact config), run.json
(versions), timings.csv (seconds per stage) and, per stage, its own config, seeds and logs.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from moseg.jobs.pipeline import STAGES, load_pipeline_config, run_and_report


def data_overrides(root: str) -> list[str]:
    """The one dataset folder, given to every stage that reads it."""
    return [f"supernet.data.root={root}", f"search.data_root={root}", f"retrain.recipe.data.root={root}"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default=str(Path(__file__).parent / "configs" / "camvid_reduced.yaml"))
    parser.add_argument("--data", help="CamVid folder (SegNet layout), e.g. ../shared/data/camvid")
    parser.add_argument("--stages", help=f"comma-separated stages to run, among {','.join(STAGES)} (default: all)")
    parser.add_argument("overrides", nargs="*", metavar="KEY=VALUE")
    args = parser.parse_args(argv)
    overrides = [*(data_overrides(args.data) if args.data else []), *args.overrides]
    if args.stages:
        overrides.append(f"stages=[{args.stages}]")
    try:
        run_and_report(load_pipeline_config(args.config, overrides))
    except ValueError as err:  # ConfigError included
        print(f"{Path(__file__).name}: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
