"""Retraining from scratch: the networks a search selected, and hand-designed baselines, under one recipe.

The supernet's inherited-weight mIoU only ranks candidates; the figures a paper reports come from each selected
network trained alone from random initialisation (the standalone trainer, no inherited weights), scored on the
test split and timed with one recorded latency protocol. Baselines of `moseg.nn.zoo` go through exactly the same
recipe, data and protocol, so the comparison is like with like.

Outputs in `out_dir`: `retrain.yaml` (the resolved config), `retrained.csv` (one row per network, appended when
the network is finished or has failed; `macs` counts multiply-accumulates as `moseg.space.count_flops` does,
`train_seconds` the training time logged over every resumed run, `test_class_iou` the test IoU of each class as
JSON), `summary.json` (Kendall tau of supernet-estimated vs from-scratch test mIoU over the retrained searched
networks; the data and latency protocols in words), and per network
`networks/NAME/` with the trainer's outputs, `latency.json` and the export bundle of
`moseg.report.export.export_bundle`. A rerun skips every network with a row in `retrained.csv` and resumes an
interrupted training from its checkpoint; a failed network is recorded with its error (delete its row to try it
again) and the others go on.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from copy import deepcopy
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Literal

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.utils.data import Dataset
from torch.utils.flop_counter import FlopCounterMode

from moseg.core.ray_cluster import RayWorkers, import_ray
from moseg.core.registry import unknown_options
from moseg.data import build_dataset, data_protocol
from moseg.latency import LatencySettings
from moseg.metrics.scoring import EvaluationData
from moseg.nn.zoo import BASELINES
from moseg.report.export import export_bundle, load_network
from moseg.space import Arch, SearchSpace, count_flops, count_params
from moseg.train import TrainConfig, Trainer
from moseg.train.config import check_train_config
from moseg.train.distributed import shutdown
from moseg.util.config import ConfigError, check, dump_yaml, from_dict, load_config, merge, positive
from moseg.util.csvlog import CsvLog, parse_vectors, read_table
from moseg.util.schema import GENES, LATENCY_MS, MACS, PARAMS, RENAMED_IN, objective_columns
from surrogates.metrics import kendall_tau

RETRAINED_COLUMNS = ["name", "kind", GENES, "supernet_miou", "val_miou", "test_miou", LATENCY_MS,
                     "latency_p90_ms", PARAMS, MACS, "train_seconds", "status", "error", "test_class_iou"]
# the retraining recipe's defaults where they differ from the supernet's: the standard splits
RECIPE_DEFAULTS = {"data": {"train_split": "train", "val_split": "val"}}


@dataclass
class RetrainConfig:
    search_dir: str | None = "runs/search"  # a `moseg search` output folder; None: baselines only
    out_dir: str = "runs/retrain"
    select: Literal["front", "spaced"] = "front"  # the whole non-dominated set, or n_select trade-off points
    n_select: int = field(default=5, metadata=positive())  # spaced: evenly spaced along the latency objective
    baselines: tuple[str, ...] = field(default=(), metadata=check(
        lambda v: set(v) <= set(BASELINES) and len(set(v)) == len(v),
        lambda: f"distinct names among {sorted(BASELINES)}"))
    recipe: dict = field(default_factory=dict)  # TrainConfig keys (seed, device, data, loss, optim, train, eval)
    test_split: str = "test"
    latency: LatencySettings = field(default_factory=LatencySettings)
    onnx: bool = True  # also export ONNX (needs the onnx extra)
    # train the networks in parallel, each a Ray task: the pool's keys ({workers: 2, gpus_per_worker: 1, address:
    # auto}, see moseg.core.ray_cluster.RayWorkers); None: one after another in this process. Latency is measured
    # afterwards, one network at a time, so training never shares the machine with a timing
    ray: dict | None = None


@dataclass(frozen=True)
class Network:
    """One network to retrain: a searched arch (with its supernet-estimated mIoU) or a baseline."""

    name: str
    kind: Literal["searched", "baseline"]
    genes: str = ""  # the gene vector ("1 0 3 ...") of a searched arch; empty for a baseline
    arch: Arch | None = None
    supernet_miou: float | None = None


def load_retrain_config(path: str | Path | None = None, overrides: list[str] | tuple[str, ...] = ()) -> RetrainConfig:
    """The retraining settings from a YAML file and `key=value` overrides, the recipe checked as a TrainConfig."""
    return check_retrain_config(load_config(RetrainConfig, path, overrides))


def check_retrain_config(config: RetrainConfig) -> RetrainConfig:
    """`config` itself once its recipe makes a valid TrainConfig and there is something to retrain."""
    recipe_config(config, Path(config.out_dir) / "networks" / "check", {})  # raises ConfigError naming a bad key
    if config.onnx:
        try:
            import onnxscript  # noqa: F401
        except ImportError:
            raise ConfigError("onnx = true needs the onnx extra (pip install 'moseg[onnx]'); or set onnx=false "
                              "to export without ONNX") from None
    if config.ray is not None:
        ray_workers(config)
    if config.search_dir is None and not config.baselines:
        raise ConfigError("search_dir = None and baselines = []: nothing to retrain; give a search folder or "
                          f"baselines among {sorted(BASELINES)}")
    return config


def recipe_config(config: RetrainConfig, out_dir: Path, model: dict) -> TrainConfig:
    """The standalone TrainConfig of one network: RECIPE_DEFAULTS < config.recipe < out_dir and model."""
    recipe = merge(RECIPE_DEFAULTS, config.recipe)
    if "out_dir" in recipe or set(recipe.get("model", {})) & {"arch", "baseline", "space"}:
        raise ConfigError("recipe sets out_dir or model.arch / baseline / space: retraining sets them per network "
                          "(the space is the searched supernet's)")
    recipe["out_dir"] = str(out_dir)
    recipe["model"] = {**recipe.get("model", {}), **model}
    return check_train_config(from_dict(TrainConfig, recipe, "recipe"))


def search_space_of(search_dir: Path) -> dict:
    """The search space options (`SearchSpace(**options)`) of a `moseg search` output folder, read from the
    config of the supernet checkpoint it names."""
    from moseg.jobs.search import load_search_config
    from moseg.train.checkpoint import load_checkpoint

    search = load_search_config(search_dir / "search.yaml")
    if not Path(search.checkpoint).is_file():
        raise ConfigError(f"{search_dir / 'search.yaml'} names checkpoint {search.checkpoint!r}, which does not "
                          "exist; the search space is read from it")
    return load_checkpoint(search.checkpoint)["config"]["model"]["space"]


def spaced_indices(values: np.ndarray, n: int) -> list[int]:
    """Indices of up to n entries of `values` nearest to n evenly spaced targets between its extremes (each
    index once): the trade-off points a paper shows when the front is too dense to retrain whole."""
    values = np.asarray(values, dtype=float)
    chosen: list[int] = []
    for target in np.linspace(values.min(), values.max(), min(n, len(values))):
        free = [i for i in np.argsort(np.abs(values - target), kind="stable") if i not in chosen]
        chosen.append(int(free[0]))
    return sorted(chosen, key=lambda i: (values[i], i))


def selected_networks(config: RetrainConfig, space: SearchSpace) -> list[Network]:
    """The searched archs to retrain (front.csv, by increasing latency objective: net1, net2, ...). Archs of
    equal size (parameters and multiply-accumulates; e.g. differing only in a dilation) are one choice to a
    reader, so only the most accurate of them can be selected."""
    path = Path(config.search_dir) / "front.csv"
    if not path.is_file():
        raise ConfigError(f"{path} does not exist: the search has not finished (rerun it to complete it)")
    front = read_table(path, "a search's front", renamed=RENAMED_IN["front.csv"])
    if front.empty:
        raise ValueError(f"{path} holds no network")
    names = objective_columns(front.columns)
    if GENES not in front or len(names) != 2:
        raise ValueError(f"{path} has columns {list(front.columns)}; expected {GENES}, then two objectives: 1 - mIoU "
                         "and latency (or cost), as `moseg search` writes front.csv")
    for name in names:
        values = pd.to_numeric(front[name], errors="coerce")
        bad = values[~np.isfinite(values.to_numpy(float))]
        if len(bad):
            raw = front[name][bad.index[0]]
            raw = raw.item() if isinstance(raw, np.generic) else raw
            raise ValueError(f"{path}, line {bad.index[0] + 2}: {name} = {raw!r}; expected a "
                             "finite number (is the front from a search that finished?)")
        front[name] = values
    error, latency = names
    front["arch"] = decoded(parse_vectors(front[GENES].tolist(), space.n_var, source=path), space, path)
    front = front.drop_duplicates(GENES).reset_index(drop=True)
    # the classifier adds the same to every arch, so one class compares sizes
    front["size"] = [(count_params(arch, 1), count_flops(arch, 1, config.latency.resolution)) for arch in front["arch"]]
    front = front.sort_values(error, kind="stable").drop_duplicates("size")
    front = front.sort_values([latency, error], kind="stable").reset_index(drop=True)
    rows = spaced_indices(front[latency].to_numpy(), config.n_select) if config.select == "spaced" \
        else list(range(len(front)))
    return [Network(f"net{k}", "searched", front[GENES][i], front["arch"][i], 1.0 - float(front[error][i]))
            for k, i in enumerate(rows, start=1)]


def decoded(vectors: np.ndarray, space: SearchSpace, source: Path) -> list[Arch]:
    """The archs of gene vectors read from rows of `source`; a vector the space refuses names its line."""
    archs = []
    for line, x in enumerate(vectors, start=2):
        try:
            archs.append(space.decode(x))
        except ValueError as err:
            raise ValueError(f"{source}, line {line}: {err}") from None
    return archs


def count_macs(net: nn.Module, input_shape: tuple[int, int, int, int]) -> int:
    """Multiply-accumulates of one forward pass (torch's FLOP counter / 2; equal to `moseg.space.count_flops`
    for moseg networks), so searched networks and baselines are counted alike. Counted on a copy in the default
    memory layout: in channels_last (how networks train) the counter misses part of the attention's products."""
    copy = deepcopy(net).eval().to(memory_format=torch.contiguous_format)
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        copy(torch.zeros(input_shape, device=next(copy.parameters()).device))
    return int(counter.get_total_flops() // 2)


def retrain(config: RetrainConfig, log: Callable[[str], None] | None = print) -> pd.DataFrame:
    """Retrain (or resume retraining) every selected network and baseline; returns retrained.csv as a table."""
    out = Path(config.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    config.latency.check()
    recipe = recipe_config(config, out / "networks" / "check", {}).data
    test_data = build_dataset(recipe.dataset, recipe.root, config.test_split, **recipe.options)  # fails now
    (out / "retrain.yaml").write_text(dump_yaml(config))
    say = log or (lambda message: None)
    space = None
    networks = [Network(name, "baseline") for name in config.baselines]
    if config.search_dir is not None:
        space = search_space_of(Path(config.search_dir))
        networks = selected_networks(config, SearchSpace(**space)) + networks
    table = CsvLog(out / "retrained.csv", RETRAINED_COLUMNS, RENAMED_IN["retrained.csv"])
    done = {row["name"]: row[GENES] for row in table.rows()}
    for network in networks:
        if network.kind == "searched" and done.get(network.name, network.genes) != network.genes:
            raise ValueError(f"{out} holds {network.name} = {done[network.name]!r}, but the selection now gives "
                             f"{network.genes!r}; retrain into another out_dir")
    todo = [network for network in networks if network.name not in done]
    for network in networks:
        say(f"{network.name} ({network.kind}{' ' + network.genes if network.genes else ''}): training from scratch"
            if network in todo else f"{network.name}: done before, skipped")
    if config.ray is None:
        for network in todo:
            row, net = train_network(network, config, space, out / "networks" / network.name, test_data)
            table.append(timed_row(row, net, config, out / "networks" / network.name))
    elif todo:
        pool = ray_workers(config)
        ray, owns_connection = pool.connect()  # kept until the timings are done: they may run on a Ray node too
        try:
            trained = train_on_ray(ray, pool, todo, config, space, out, test_data, say)
            for network in todo:  # timed one at a time, once no network trains any more
                folder = out / "networks" / network.name
                row = trained[network.name]
                table.append(timed_row(row, _exported(row, folder), config, folder))
        finally:
            if owns_connection:
                ray.shutdown()
    result = pd.read_csv(out / "retrained.csv", dtype={GENES: str})
    summary = {**supernet_vs_scratch(result), "test_split": config.test_split,
               "data_protocol": data_protocol(test_data), "latency_protocol": config.latency.describe()}
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    if summary["kendall_tau"] is not None:
        say(f"Kendall tau, supernet vs from-scratch test mIoU over {summary['n']} networks: "
            f"{summary['kendall_tau']:.3f}")
    return result


def train_network(network: Network, config: RetrainConfig, space: dict | None, folder: Path,
                  test_data: Dataset) -> tuple[dict, nn.Module | None]:
    """Train one network from scratch (resuming its checkpoint), score it on val and test and export it: its
    retrained.csv row without latency, and the trained network (None, and status `failed` with the error, when
    anything fails). `space`: the search space options of a searched arch."""
    row = {**_identity(network), "status": "ok", "error": ""}
    model = {"baseline": network.name} if network.arch is None else {"arch": network.arch.to_dict()}
    if space is not None:
        model["space"] = space
    trainer = None
    try:
        trainer = Trainer(recipe_config(config, folder, model), resume=True, label=f"retrain {network.name}")
        val = trainer.run() or (trainer.evaluate(trainer.config.train.iterations) if trainer.val_data else {})
        row["train_seconds"] = round(training_seconds(folder / "log.csv"), 1)
        net = trainer.net.eval()
        row["val_miou"] = val["model"]["miou"] if val else None
        test = _test_scores(trainer, test_data, config.test_split)
        row["test_miou"] = test["miou"]
        row["test_class_iou"] = json.dumps({name: None if np.isnan(iou) else round(iou, 5) for name, iou in
                                            zip(trainer.train_data.class_names, test["per_class_iou"], strict=True)})
        description = {"name": network.name, "kind": network.kind, "arch": model.get("arch"),
                       "baseline": model.get("baseline"), "space": model.get("space", {}),
                       "num_classes": trainer.num_classes, "class_names": list(trainer.train_data.class_names),
                       "test_miou": row["test_miou"]}
        export_bundle(net, folder / "export", (1, 3, *config.latency.resolution), description, onnx=config.onnx)
        return row, net
    except ConfigError:
        raise  # the config is wrong for every network: stop, do not record each one as failed
    except Exception as err:  # noqa: BLE001 - one network failing (OOM, export) must not stop the others
        row.update(status="failed", error=f"{type(err).__name__}: {err}"[:500])
        return row, None
    finally:
        if trainer is not None:
            shutdown(trainer.process)


def timed_row(row: dict, net: nn.Module | None, config: RetrainConfig, folder: Path) -> dict:
    """`row` with the latency (the `latency` protocol, also written to latency.json), parameters and
    multiply-accumulates of the trained `net` (None: a network that failed, left as it is)."""
    if net is None:
        return row
    try:
        latency = config.latency.measure(net)
        (folder / "latency.json").write_text(json.dumps(latency.to_dict(), indent=2) + "\n")
        row.update({LATENCY_MS: round(latency.median_ms, 4), "latency_p90_ms": round(latency.p90_ms, 4),
                    PARAMS: sum(p.numel() for p in net.parameters()),
                    MACS: count_macs(net, (1, 3, *config.latency.resolution))})
    except Exception as err:  # noqa: BLE001 - a network that cannot be timed is recorded, the others go on
        row.update(status="failed", error=f"{type(err).__name__}: {err}"[:500])
    return row


def ray_workers(config: RetrainConfig) -> RayWorkers:
    """The Ray pool of `config.ray`; ConfigError naming a bad key or value, or saying how to install Ray."""
    unknown, accepted = unknown_options(RayWorkers, config.ray)
    if unknown:
        raise ConfigError(f"ray = {config.ray!r}: unknown key(s) {unknown}; expected some of {accepted}")
    try:
        pool = RayWorkers(**config.ray)
        import_ray()
    except ValueError as err:  # RayNotInstalled included
        raise ConfigError(f"ray = {config.ray!r}: {err}") from None
    return pool


def train_on_ray(ray: ModuleType, pool: RayWorkers, networks: list[Network], config: RetrainConfig,
                 space: dict | None, out: Path, test_data: Dataset, say: Callable[[str], None]) -> dict[str, dict]:
    """Train, score and export `networks` in parallel on `ray`, each a Ray task on a worker of `pool` (at most
    `workers` at a time, each resuming its checkpoint; a task whose worker dies is run once more); their rows by
    name, a failure recorded in its row. A ConfigError in any task stops the job."""
    try:
        pool.check_fits(ray, together=False)  # a task no node can hold would be waited for forever
    except ValueError as err:
        raise ConfigError(f"ray = {config.ray!r}: {err}") from None
    task = ray.remote(max_retries=1, runtime_env={"env_vars": pool.env()}, **pool.options())(_train_remotely)
    data_ref = ray.put(test_data)  # sent to the object store once, not once per task
    rows: dict[str, dict] = {}
    queue, pending = list(networks), {}
    try:
        while queue or pending:
            while queue and len(pending) < pool.workers:
                network = queue.pop(0)
                pending[task.remote(network, config, space, out / "networks" / network.name, data_ref)] = network
            [ref], _ = ray.wait(list(pending), num_returns=1)
            network = pending.pop(ref)
            try:
                rows[network.name] = ray.get(ref)
            except ray.exceptions.RayTaskError as err:
                if isinstance(err.cause, ConfigError):
                    raise err.cause from None
                rows[network.name] = _failed_row(network, err)
            except ray.exceptions.RayError as err:  # its worker died twice, or its node was lost
                rows[network.name] = _failed_row(network, err)
            say(f"{network.name}: trained on Ray ({rows[network.name]['status']})")
    finally:
        for ref in pending:
            ray.cancel(ref, force=True)
    return rows


def _exported(row: dict, folder: Path) -> nn.Module | None:
    """The network a Ray task trained and exported, loaded here to be timed; None (and the row failed) when it
    failed or its export cannot be read here (e.g. no shared file system)."""
    if row["status"] != "ok":
        return None
    try:
        return load_network(folder / "export")
    except Exception as err:  # noqa: BLE001 - recorded in its row, the other networks go on
        row.update(status="failed", error=f"{type(err).__name__}: {err}"[:500])
        return None


def _train_remotely(network: Network, config: RetrainConfig, space: dict | None, folder: Path,
                    test_data: Dataset) -> dict:
    """`train_network` in a Ray task: the row only (the network is in its export folder)."""
    return train_network(network, config, space, folder, test_data)[0]


def _identity(network: Network) -> dict:
    """The columns of a retrained.csv row that say which network it is."""
    return {"name": network.name, "kind": network.kind, GENES: network.genes, "supernet_miou": network.supernet_miou}


def _failed_row(network: Network, err: BaseException) -> dict:
    return {**_identity(network), "status": "failed", "error": f"{type(err).__name__}: {err}"[:500]}


def training_seconds(log_csv: Path) -> float:
    """Seconds of training logged in a trainer's log.csv, summed over the runs of a resumed training (each run
    restarts its `elapsed_s` clock)."""
    elapsed = pd.read_csv(log_csv)["elapsed_s"].to_numpy(float) if log_csv.exists() else np.zeros(0)
    run_ends = np.append(elapsed[1:] < elapsed[:-1], True) if len(elapsed) else np.zeros(0, dtype=bool)
    return float(elapsed[run_ends].sum())


def _test_scores(trainer: Trainer, test_data: Dataset, split: str) -> dict:
    """Scores of the trained network (its own BatchNorm statistics) on `test_data`, the recipe's `split`."""
    e = trainer.config.eval
    data = EvaluationData.from_datasets(trainer.calibration_data, test_data, split=split, device=trainer.device,
                                        calib_images=1, batch_size=e.batch_size, seed=trainer.config.seed,
                                        workers=trainer.workers, amp=trainer.amp, channels_last=trainer.channels_last)
    return data.evaluate_network(trainer.net, recalibrate=False)


def ok_searched(table: pd.DataFrame) -> pd.Series:
    """Which rows of a retrained.csv table are searched networks retrained successfully."""
    return (table["kind"] == "searched") & (table["status"] == "ok")


def supernet_vs_scratch(table: pd.DataFrame) -> dict:
    """Kendall tau between supernet-estimated and from-scratch test mIoU over the ok searched networks: how
    far the one-shot ranking can be trusted (None with fewer than two networks)."""
    ok = table[ok_searched(table)]
    tau = kendall_tau(ok["supernet_miou"].to_numpy(float), ok["test_miou"].to_numpy(float)) if len(ok) >= 2 \
        else None
    return {"kendall_tau": None if tau is None or np.isnan(tau) else round(float(tau), 4), "n": int(len(ok))}


def retrained_report(retrained: pd.DataFrame) -> str:
    """`summary_table` and the Kendall tau of supernet against from-scratch test mIoU, as the commands print them."""
    tau = supernet_vs_scratch(retrained)["kendall_tau"]
    return (f"{summary_table(retrained)}\n\nKendall tau, supernet vs from-scratch test mIoU: "
            f"{'n/a' if tau is None else f'{tau:.3f}'}")


def summary_table(retrained: pd.DataFrame) -> str:
    """The retrained networks as a short text table, fastest first; `*` marks the searched front."""
    from moseg.report.plot import pareto_networks

    front = set(pareto_networks(retrained)["name"]) if ok_searched(retrained).any() else set()
    lines = [f"{'network':<26} {'supernet mIoU':>13} {'test mIoU':>9} {'latency ms':>10} {'params k':>8} "
             f"{'MMACs':>7}  front"]
    for row in retrained.sort_values("latency_ms", na_position="last").itertuples():
        if row.status != "ok":
            lines.append(f"{row.name:<26} failed: {row.error}")
            continue
        supernet = f"{100 * row.supernet_miou:.1f}" if pd.notna(row.supernet_miou) else "-"
        lines.append(f"{row.name:<26} {supernet:>13} {100 * row.test_miou:>9.1f} {row.latency_ms:>10.2f} "
                     f"{row.params / 1e3:>8.0f} {row.macs / 1e6:>7.1f}  {'*' if row.name in front else ''}")
    return "\n".join(lines)
