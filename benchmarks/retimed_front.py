"""Time every retrained network of a pipeline run again, each in a fresh state of this process, under the run's
own latency protocol (retrain.yaml), next to the latency the retraining stage recorded right after training.

The retraining stage times a network in the process that has just trained it; this script loads the exported
weights instead (`moseg.report.export.load_network`), so the two columns show how much that process state weighs.

    python benchmarks/retimed_front.py --run runs/camvid_cpu
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd
from markdown_table import markdown

from moseg.jobs.retrain import load_retrain_config
from moseg.latency import LatencySettings
from moseg.report.export import load_network


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", type=Path, required=True, help="out_dir of experiments/camvid.py")
    run = parser.parse_args().run
    latency: LatencySettings = load_retrain_config(run / "retrain" / "retrain.yaml").latency
    retrained = pd.read_csv(run / "retrain" / "retrained.csv").sort_values("latency_ms")
    rows = []
    for network in retrained.itertuples():
        result = latency.measure(load_network(run / "retrain" / "networks" / network.name / "export"))
        rows.append({"network": network.name, "test mIoU": f"{100 * network.test_miou:.2f}",
                     "ms after training (retrain stage)": f"{network.latency_ms:.2f}",
                     "ms from the export": f"{result.median_ms:.2f}", "p90 ms": f"{result.p90_ms:.2f}"})
    print(f"protocol: {latency.describe()}, min_time_s {latency.min_time_s}\n")
    print(markdown(pd.DataFrame(rows).set_index("network"), "network"))


if __name__ == "__main__":
    main()
