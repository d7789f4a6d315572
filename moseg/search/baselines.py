"""Baselines under the same budget accounting, archive and outputs as `run_search`.

* `random_search`: uniformly random integer vectors (the design of experiments first, as in `run_search`).
* `nsga2_search`: NSGA-II (pymoo, same operators as `run_search`) on true evaluations; the design of
  experiments is its initial population.
The third baseline, the surrogate loop without pre-screening, is `run_search(..., prescreen="none")`.

Every true evaluation counts against the budget, failed ones included; a vector evaluated before is looked up,
not evaluated again, and costs nothing. Both replay deterministically from the seed, so a killed run resumes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from pymoo.core.problem import Problem
from pymoo.termination.max_eval import MaximumFunctionCallTermination

from moseg.search.archive import Archive
from moseg.search.doe import design_of_experiments
from moseg.search.evaluators import EvaluateFn
from moseg.search.outputs import (
    SearchResult,
    check_objective_names,
    search_result,
    write_front,
    write_or_check_config,
)
from moseg.search.vectors import canonicalizer, check_bounds, check_integer, integer_nsga2, unique_rows
from moseg.util.csvlog import vector_key
from moseg.util.schema import OBJECTIVES

FAILED_OBJECTIVE = 1e30  # what NSGA-II sees for a failed candidate: dominated by everything that worked
STALE_LIMIT = 50  # rounds in a row without a new evaluation after which a (small, exhausted) space is done


def _start(method: str, xl: np.ndarray, xu: np.ndarray, budget: int, seed: int, out_dir: str | Path,
           canonicalize: Callable[[np.ndarray], np.ndarray] | None,
           **settings: int) -> tuple[np.ndarray, np.ndarray, Path, Archive, Callable[[np.ndarray], np.ndarray]]:
    xl, xu = check_bounds(xl, xu)
    for name, value in {"budget": budget, **settings}.items():
        check_integer(name, value, 1)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    write_or_check_config(out / "config.json", {"method": method, "budget": int(budget), "seed": int(seed),
                                                **settings, "xl": xl.tolist(), "xu": xu.tolist()})
    archive = Archive(out / "archive.csv")
    archive.check_bounds(xl, xu)
    return xl, xu, out, archive, canonicalizer(canonicalize, xl, xu)


def _evaluate_or_look_up(archive: Archive, x: np.ndarray, iteration: int, evaluate_fn: EvaluateFn) -> list | None:
    """Objectives of x from the archive, or from a new evaluation; None when it failed."""
    row = archive.by_key.get(vector_key(x)) or archive.evaluate(x, iteration, evaluate_fn)
    return row[OBJECTIVES] if row["status"] == "ok" else None


def random_search(evaluate_fn: EvaluateFn, xl: np.ndarray, xu: np.ndarray, budget: int, *, seed: int,
                  out_dir: str | Path, n_doe: int = 100,
                  canonicalize: Callable[[np.ndarray], np.ndarray] | None = None,
                  objective_names: Sequence[str] | None = None) -> SearchResult:
    """The design of experiments, then uniformly random vectors, until `budget` evaluations."""
    names = check_objective_names(objective_names)
    xl, xu, out, archive, canonical = _start("random", xl, xu, budget, seed, out_dir, canonicalize, n_doe=n_doe)
    rng = np.random.default_rng([seed, 1])
    batches = [design_of_experiments(n_doe, xl, xu, seed)]
    seen: set[str] = set()
    iteration = stale = 0
    while len(archive.rows) < budget and stale < STALE_LIMIT:
        before = len(archive.rows)
        for x in unique_rows(canonical(batches[-1])):
            if len(archive.rows) >= budget:
                break
            if vector_key(x) not in seen:
                seen.add(vector_key(x))
                _evaluate_or_look_up(archive, x, iteration, evaluate_fn)
        stale = stale + 1 if len(archive.rows) == before else 0
        iteration += 1
        batches.append(rng.integers(xl, xu + 1, size=(n_doe, len(xl))))
    write_front(out / "front.csv", archive, names)
    return search_result(archive, out)


def nsga2_search(evaluate_fn: EvaluateFn, xl: np.ndarray, xu: np.ndarray, budget: int, *, seed: int,
                 out_dir: str | Path, n_doe: int = 100, pop_size: int = 20,
                 canonicalize: Callable[[np.ndarray], np.ndarray] | None = None,
                 objective_names: Sequence[str] | None = None) -> SearchResult:
    """NSGA-II on true evaluations, started from the design of experiments, until `budget` evaluations."""
    names = check_objective_names(objective_names)
    xl, xu, out, archive, canonical = _start("nsga2", xl, xu, budget, seed, out_dir, canonicalize, n_doe=n_doe,
                                             pop_size=pop_size)
    doe = unique_rows(canonical(design_of_experiments(n_doe, xl, xu, seed)))
    first = [_evaluate_or_look_up(archive, x, 0, evaluate_fn) for x in doe[:budget]]
    n_obj = next((len(f) for f in first if f is not None), None)
    if n_obj is None:
        raise RuntimeError(f"every one of the {len(first)} design-of-experiments candidates failed")
    problem = Problem(n_var=len(xl), n_obj=n_obj, xl=xl, xu=xu, vtype=int)
    algorithm = integer_nsga2(pop_size, doe[: len(first)])
    algorithm.setup(problem, termination=MaximumFunctionCallTermination(10**9), seed=seed, verbose=False)
    generation = stale = 0
    while len(archive.rows) < budget and stale < STALE_LIMIT:
        before = len(archive.rows)
        population = algorithm.ask()
        if population is None or len(population) == 0:  # no new offspring left (a small, exhausted space)
            break
        X = canonical(np.round(population.get("X")).astype(np.int64))
        objectives = []
        for x in X:
            if len(archive.rows) >= budget and x not in archive:
                break
            objectives.append(_evaluate_or_look_up(archive, x, generation, evaluate_fn))
        if len(objectives) < len(X):
            break
        population.set("F", np.array([f if f is not None else [FAILED_OBJECTIVE] * n_obj for f in objectives]))
        algorithm.tell(infills=population)
        stale = stale + 1 if len(archive.rows) == before else 0
        generation += 1
    write_front(out / "front.csv", archive, names)
    return search_result(archive, out)
