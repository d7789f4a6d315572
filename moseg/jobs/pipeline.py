"""The whole job, data to paper figure: supernet training -> search -> retraining from scratch -> figures.

Each stage writes into its own folder of `out_dir` (`supernet/`, `search/`, `retrain/`) and is resumable: a
finished supernet is not trained again, the search and the retraining skip what they have done, so a pipeline
cut into pieces of a few minutes (a lent GPU, a preempted job) ends where an uninterrupted one would. The
report stage writes `front.csv` (the retrained searched networks that no other retrained searched network beats
on both test mIoU and latency; baselines are compared in the figure), `archive.csv` (every true evaluation of
the search), `pareto.png`/`.pdf` and the other figures. `pipeline.yaml` holds the config of the latest run,
`runs.jsonl` one line per run (its config, stages, versions, start time), and `timings.csv` one row per stage
run. A finished stage is skipped only when its settings are the ones it ran with; otherwise it resumes, and
refuses settings that would change what it already computed.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pandas as pd

from moseg.util.config import ConfigError, check, dump_yaml, from_dict, load_config, to_dict
from moseg.util.csvlog import CsvLog, read_table
from moseg.util.provenance import versions
from moseg.util.schema import GENES, RENAMED_IN

STAGES = ("supernet", "search", "retrain", "report")
TIMING_COLUMNS = ["stage", "status", "seconds", "finished"]
Stage = Literal["supernet", "search", "retrain", "report"]


@dataclass
class PipelineConfig:
    """Settings of each stage as in its own config (`moseg/train/config.py`, `moseg/jobs/search.py`,
    `moseg/jobs/retrain.py`); the folders and the links between stages are set by the pipeline."""

    out_dir: str = "runs/pipeline"
    supernet: dict = field(default_factory=dict)  # TrainConfig keys except out_dir and model.arch/baseline
    search: dict = field(default_factory=dict)  # SearchJobConfig keys except checkpoint and out_dir
    retrain: dict = field(default_factory=dict)  # RetrainConfig keys except search_dir and out_dir
    stages: tuple[str, ...] = field(default=STAGES, metadata=check(lambda v: set(v) <= set(STAGES),
                                                                   f"names among {list(STAGES)}"))


def load_pipeline_config(path: str | Path | None = None, overrides: list[str] | tuple[str, ...] = (),
                         defaults: dict | None = None) -> PipelineConfig:
    """`defaults` < the YAML file < overrides; every stage's section is checked by its own schema now, so a bad
    key of the last stage fails before the first one trains."""
    config = load_config(PipelineConfig, path, overrides, defaults=defaults)
    stage_configs(config)
    return config


def run_and_report(config: PipelineConfig, say: Callable[[str], None] = print) -> pd.DataFrame | None:
    """`run_pipeline`, then the retrained networks' table and where the outputs are, as the commands print them."""
    from moseg.jobs.retrain import retrained_report

    retrained = run_pipeline(config)
    if retrained is not None:
        say(f"\n{retrained_report(retrained)}")
    say(f"\nOutputs in {Path(config.out_dir)}: front.csv, archive.csv, pareto.png/.pdf; each network's weights, ONNX, "
        "torch.export program and load.py in retrain/networks/NAME/export")
    return retrained


def stage_configs(config: PipelineConfig) -> dict:
    """The typed config of each stage, its folders linked to the pipeline's."""
    from moseg.jobs.retrain import RetrainConfig, check_retrain_config
    from moseg.jobs.search import SearchJobConfig
    from moseg.train.config import TrainConfig, check_train_config

    out = Path(config.out_dir)
    for section in ("supernet", "search", "retrain"):
        linked = {"out_dir", "checkpoint", "search_dir"} & set(getattr(config, section))
        if linked:
            raise ConfigError(f"{section}.{sorted(linked)[0]} is set by the pipeline (folders under out_dir); "
                              "remove it")
    model = config.supernet.get("model", {})
    if model.get("arch") is not None or model.get("baseline") is not None:
        raise ConfigError("supernet.model.arch / supernet.model.baseline: the supernet stage trains a supernet")
    return {
        "supernet": check_train_config(from_dict(TrainConfig, {**config.supernet, "out_dir": str(out / "supernet")},
                                                 "supernet")),
        "search": from_dict(SearchJobConfig, {**config.search, "checkpoint": str(out / "supernet" / "checkpoint.pt"),
                                              "out_dir": str(out / "search")}, "search"),
        "retrain": check_retrain_config(from_dict(RetrainConfig, {**config.retrain, "search_dir": str(out / "search"),
                                                              "out_dir": str(out / "retrain")}, "retrain")),
    }


def run_pipeline(config: PipelineConfig, log: Callable[[str], None] = print) -> pd.DataFrame | None:
    """Run the configured stages in order, each resumed or skipped as its outputs allow; returns the retrained
    networks (retrained.csv as a table) when the retraining stage has run."""
    out = Path(config.out_dir)
    stages = stage_configs(config)
    if "search" in config.stages and stages["search"].latency.kind != "flops":
        stages["search"].latency.check()  # a latency device this machine lacks fails now, not after training
    if "retrain" in config.stages:
        stages["retrain"].latency.check()
    out.mkdir(parents=True, exist_ok=True)
    (out / "pipeline.yaml").write_text(dump_yaml(config))
    with (out / "runs.jsonl").open("a") as runs:
        runs.write(json.dumps({"started": time.strftime("%Y-%m-%dT%H:%M:%S"), "stages": list(config.stages),
                               "config": to_dict(config), "versions": versions()}) + "\n")
    timings = CsvLog(out / "timings.csv", TIMING_COLUMNS)
    result = None
    for stage in (s for s in STAGES if s in config.stages):
        log(f"== {stage} ==")
        started = time.perf_counter()
        status = "failed"
        try:
            status, value = RUNNERS[stage](stages, out, log)
            result = value if stage == "retrain" else result
        finally:
            timings.append({"stage": stage, "status": status, "seconds": round(time.perf_counter() - started, 1),
                            "finished": time.strftime("%Y-%m-%dT%H:%M:%S")})
    return result


def _supernet(stages: dict, out: Path, log: Callable[[str], None]) -> tuple[str, None]:
    from moseg.train import Trainer
    from moseg.train.checkpoint import load_checkpoint
    from moseg.train.distributed import shutdown
    from moseg.train.trainer import EVAL_COLUMNS, config_differences, saved_config

    config = stages["supernet"]
    checkpoint = Path(config.out_dir) / "checkpoint.pt"
    state = load_checkpoint(checkpoint) if checkpoint.exists() else None
    evaluated = {row["iteration"] for row in CsvLog(Path(config.out_dir) / "eval.csv", EVAL_COLUMNS).rows()}
    final_evaluated = config.data.val_split is None or str(config.train.iterations) in evaluated
    if state is not None and state["iteration"] >= config.train.iterations and final_evaluated and not (
            config_differences(saved_config(state), to_dict(config))):
        log(f"supernet: {checkpoint} is trained ({config.train.iterations} iterations), skipped")
        return "skipped", None
    trainer = Trainer(config, resume=True)  # refuses a changed recipe, naming the keys
    try:
        for name, scores in trainer.run().items():
            log(f"supernet {name} arch: mIoU {100 * scores['miou']:.2f} on {config.data.val_split}")
    finally:
        shutdown(trainer.process)
    return "ran", None


def _search(stages: dict, out: Path, log: Callable[[str], None]) -> tuple[str, None]:
    from moseg.jobs.search import load_search_config, search_supernet
    from moseg.search.archive import Archive

    config = stages["search"]
    folder = Path(config.out_dir)
    archive, settings = folder / "archive.csv", folder / "search.yaml"
    if (folder / "front.csv").exists() and archive.exists() and len(Archive(archive).rows) >= config.budget \
            and settings.exists() and load_search_config(settings) == config:  # keys added since: defaults
        log(f"search: {archive} holds the whole budget ({config.budget}), skipped")
        return "skipped", None
    result = search_supernet(config)
    log(f"search: {len(result.X)} evaluations, {len(result.front_X)} networks on the supernet front")
    return "ran", None


def _retrain(stages: dict, out: Path, log: Callable[[str], None]) -> tuple[str, pd.DataFrame]:
    from moseg.jobs.retrain import retrain

    return "ran", retrain(stages["retrain"], log=log)


def _report(stages: dict, out: Path, log: Callable[[str], None]) -> tuple[str, None]:
    """front.csv, archive.csv and every figure the outputs allow."""
    from moseg.jobs.retrain import ok_searched
    from moseg.report import plot
    from moseg.search.outputs import search_reference_point

    search, retrained_csv = Path(stages["search"].out_dir), Path(stages["retrain"].out_dir) / "retrained.csv"
    written: list[Path] = []
    if (search / "archive.csv").exists():
        shutil.copyfile(search / "archive.csv", out / "archive.csv")
        written += plot.hypervolume_figure({"search": search / "archive.csv"}, out / "hypervolume",
                                           ref_point=search_reference_point(search))
    predictions = search / "predictions.csv"
    if predictions.exists() and len(pd.read_csv(predictions)):
        written += plot.predictions_figure(predictions, out / "predictions",
                                           objective_names={0: "1 - mIoU", 1: "latency objective"})
    if retrained_csv.exists():
        retrained = read_table(retrained_csv, "retraining's table", dtype={GENES: str},
                               renamed=RENAMED_IN["retrained.csv"])
        searched = int(ok_searched(retrained).sum())
        if searched:
            plot.pareto_networks(retrained).to_csv(out / "front.csv", index=False)
            written.append(out / "front.csv")
        if (retrained["status"] == "ok").any():
            written += plot.pareto_figure(retrained_csv, out / "pareto")
        if searched >= 2:
            written += plot.scratch_figure(retrained, out / "supernet_vs_scratch")
    log("report: " + (", ".join(p.name for p in written) or "nothing to report yet"))
    return "ran", None


RUNNERS: dict[str, Callable[[dict, Path, Callable[[str], None]], tuple[str, object]]] = {
    "supernet": _supernet, "search": _search, "retrain": _retrain, "report": _report,
}
