"""`moseg search`: the supernet's candidate evaluation wired into `moseg.search.run_search` through an evaluator
(`evaluator.kind`, serial by default), which is handed whole batches of candidates.

Objectives, both minimised: 1 - mIoU on the search validation split (weights inherited from a trained supernet,
BatchNorm recalibrated) and latency, which is either analytic GFLOPs (`flops`, exact, computed directly), the sum
of a per-part latency table (`table`, exact given the table; every part of the space is timed once before the
search starts, so the search only looks latencies up), or measured end to end on the
device for every candidate (`measured`, predicted by a surrogate during the search).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
import torch

from moseg.core.plugins import load_plugins, loaded_plugins
from moseg.core.registry import unknown_options
from moseg.latency import LatencySettings
from moseg.oneshot.candidates import CandidateEvaluator, SupernetCheckpoint
from moseg.search import DEFAULT_SURROGATE, PRESCREENERS, SearchResult, run_search
from moseg.search.evaluators import EVALUATORS, EvaluateFn, Evaluator
from moseg.search.loop import check_settings
from moseg.search.vectors import check_bounds
from moseg.space import SearchSpace
from moseg.train.config import TEST_SPLIT
from moseg.util.config import ConfigError, check, choices, dump_yaml, load_config, non_negative, positive
from moseg.util.devices import device_name, resolve_device
from moseg.util.schema import objective_names
from surrogates.registry import SURROGATES

if TYPE_CHECKING:
    from torch import nn

    from moseg.space import Arch


@dataclass
class LatencyObjective(LatencySettings):
    """The latency protocol (resolution also that of the FLOPs objective) and how the search obtains latency."""

    min_time_s: float = field(default=0.5, metadata=non_negative())
    kind: Literal["flops", "table", "measured"] = "flops"
    table: str | None = None  # parts CSV of the `table` kind (default: OUT_DIR/latency_parts.csv)


@dataclass
class EvaluatorSettings:
    """Which evaluator runs the true evaluations (`moseg.search.evaluators`; a registered name) and its keywords."""

    kind: str = field(default="serial", metadata=choices(EVALUATORS))
    options: dict = field(default_factory=dict)


@dataclass
class SearchJobConfig:
    checkpoint: str = "runs/supernet/checkpoint.pt"  # written by `moseg train-supernet`
    out_dir: str = "runs/search"
    device: str = field(default="auto", metadata=device_name())  # where candidates are scored; auto: cuda if any
    data_root: str | None = None  # overrides the dataset folder stored in the checkpoint
    split: str | None = None  # validation split (default: the checkpoint's, i.e. search_val)
    seed: int = 0
    budget: int = field(default=300, metadata=positive())
    n_doe: int | None = field(default=None, metadata=check(lambda v: v >= 2, ">= 2"))  # None: from the budget
    n_infill: int = field(default=8, metadata=positive())
    prescreen: str = field(default="spacing", metadata=choices(PRESCREENERS))
    surrogate: str = field(default=DEFAULT_SURROGATE, metadata=choices(SURROGATES))
    pop_size: int = field(default=100, metadata=check(lambda v: v >= 2, ">= 2"))
    n_gen: int = field(default=30, metadata=positive())
    latency: LatencyObjective = field(default_factory=LatencyObjective)
    evaluator: EvaluatorSettings = field(default_factory=EvaluatorSettings)


def load_search_config(path: str | Path | None, overrides: list[str] = ()) -> SearchJobConfig:
    """The search settings from a YAML file and `key=value` overrides; ConfigError names a bad key or value."""
    return load_config(SearchJobConfig, path, overrides)


def search_supernet(config: SearchJobConfig) -> SearchResult:
    """Run (or resume) the search the config describes; writes search.yaml beside the search outputs."""
    if Path(config.checkpoint).is_dir():
        raise ConfigError(f"checkpoint = {config.checkpoint!r} is a folder, not a checkpoint file; give the "
                          "checkpoint.pt that moseg train-supernet wrote")
    if not Path(config.checkpoint).is_file():
        raise ConfigError(f"checkpoint = {config.checkpoint!r} does not exist; train a supernet first "
                          "(moseg train-supernet)")
    if config.split == TEST_SPLIT:
        raise ConfigError(f"split = {config.split!r}: a search chooses networks, so it never reads the test split; "
                          "use search_val (the default) or val")
    check_settings(config.budget, config.seed, config.n_doe, config.n_infill, config.prescreen, config.surrogate,
                   config.pop_size, config.n_gen, 1, 0, None, None, n_var=None)  # before the expensive set-up
    try:  # every kind records the protocol, so even `flops` refuses one it cannot measure
        config.latency.check()
    except ValueError as err:
        raise ConfigError(f"latency.{err}") from None
    if config.latency.ray_resources is not None and config.latency.kind != "measured":
        raise ConfigError(f"latency.ray_resources = {config.latency.ray_resources!r} times networks on a Ray node, "
                          f"which latency.kind = 'measured' does; the {config.latency.kind!r} kind times nothing per "
                          "candidate (a table's parts are timed where the search runs)")
    checkpoint = SupernetCheckpoint.read(config.checkpoint, config.data_root, config.split)
    checkpoint.datasets()  # the data the candidates are scored on exists, before anything is written
    space = checkpoint.space
    measuring = config  # search.yaml keeps the settings as given; the protocol is resolved for every process
    if config.latency.kind == "table" and config.latency.threads is None:
        measuring = dataclasses.replace(config, latency=dataclasses.replace(config.latency,
                                                                            threads=torch.get_num_threads()))
    _, exact = _latency_objective(measuring, space, checkpoint.num_classes, fill_table=True)
    evaluator = _evaluator(measuring)
    out = Path(config.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "search.yaml").write_text(dump_yaml(config))
    xl, xu = check_bounds(space.xl, space.xu)
    return run_search(evaluator, xl, xu, config.budget, seed=config.seed, out_dir=out, n_doe=config.n_doe,
                      n_infill=config.n_infill, prescreen=config.prescreen, surrogate=config.surrogate,
                      canonicalize=lambda X: np.stack([space.canonical(x) for x in X]),
                      exact_objectives={1: exact} if exact else None, cheap_objective=1,
                      accuracy_objective=0, pop_size=config.pop_size, n_gen=config.n_gen, progress=True,
                      objective_names=objective_names(config.latency.kind))


def _evaluator(config: SearchJobConfig) -> Evaluator:
    """The configured evaluator, given the job's evaluation as a picklable factory that carries the plug-ins this
    process loaded; ConfigError for an option the evaluator does not take."""
    kind, options = config.evaluator.kind, config.evaluator.options
    factory = EVALUATORS[kind]
    unknown, accepted = unknown_options(factory, options, fixed=("make_evaluate",))
    if unknown:
        raise ConfigError(f"evaluator.options = {options!r}: evaluator {kind!r} has no option(s) {unknown}; "
                          + (f"expected some of {accepted}" if accepted else "it takes none"))
    try:
        return factory(functools.partial(candidate_evaluation, config, loaded_plugins()), **options)
    except ValueError as err:  # a bad option value, or an extra that is not installed
        raise ConfigError(f"evaluator.options = {options!r}: {err}") from None


def candidate_evaluation(config: SearchJobConfig, plugins: tuple[str, ...] = ()) -> EvaluateFn:
    """The true evaluation of the job's candidates, built where it runs (an evaluator's worker calls this through
    a picklable `functools.partial`, loading the driver's `plugins` first): the supernet and its evaluation data
    loaded once; per candidate one decode and one extracted network, scored (1 - mIoU) and costed (the latency
    objective)."""
    load_plugins(plugins)
    evaluator = CandidateEvaluator.from_checkpoint(config.checkpoint, device=resolve_device(config.device),
                                                   root=config.data_root, split=config.split)
    supernet = evaluator.supernet
    latency, _ = _latency_objective(config, supernet.space, supernet.num_classes, fill_table=False)

    def evaluate(X: np.ndarray) -> np.ndarray:
        rows = []
        for x in X:
            arch = supernet.space.decode(x)  # once per true evaluation: scoring and latency share it and its net
            network = supernet.extract(arch)
            rows.append([1.0 - evaluator.score(arch, network).miou, latency(arch, network)])
        return np.array(rows)

    return evaluate


def _latency_objective(config: SearchJobConfig, space: SearchSpace, num_classes: int, fill_table: bool
                       ) -> tuple[Callable[[Arch, nn.Module], float], Callable[[np.ndarray], np.ndarray] | None]:
    """The latency objective of one evaluated network (its arch and its extracted module), and, where latency is
    computed rather than measured (FLOPs, a part table), the same objective of gene rows, which the search then
    uses exactly instead of predicting it. Networks are timed as extracted (weights do not change latency).
    `fill_table`: time the parts the table lacks first (the search's driver does, before any evaluation)."""
    from moseg.space import count_flops

    objective = config.latency
    if objective.kind == "flops":
        def gflops(arch: Arch) -> float:
            return count_flops(arch, num_classes, objective.resolution) / 1e9

        return (lambda arch, network: gflops(arch)), (lambda X: np.array([gflops(space.decode(x)) for x in X]))
    if objective.kind == "table":
        from moseg.latency.table import LatencyTable

        path = objective.table or str(Path(config.out_dir) / "latency_parts.csv")
        table = LatencyTable(path, space, num_classes=num_classes, resolution=objective.resolution,
                             device=objective.device, dtype=objective.dtype, mode=objective.mode,
                             batch=objective.batch, threads=objective.threads, min_time_s=objective.min_time_s,
                             final_upsample=objective.final_upsample)
        if fill_table:
            table.fill_space()  # every part timed once, up front and resumably: the search only looks values up
        return (lambda arch, network: float(table.predict([arch])[0])), table.predict
    return (lambda arch, network: objective.measure(network).median_ms), None
