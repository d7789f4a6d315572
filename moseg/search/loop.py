"""`run_search`: surrogate-assisted NSGA-II with hierarchical pre-screening over any integer problem.

Each iteration fits one surrogate per predicted objective on the archive, runs NSGA-II (pymoo) on the
predictions from a population seeded with the archive's true front, pre-screens the final population (level 1:
non-dominated under the predictions and not evaluated yet; level 2: a `moseg.search.prescreen` selector) and
hands the chosen candidates to the evaluator as one batch, appending each result to the archive as it arrives.
Everything an iteration decides is a function of the seed, the iteration number and the archive rows of earlier
iterations (in batch order, whatever order they arrived in), so a killed run that is started again replays the
interrupted iteration to the same candidates and evaluates only those still missing.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from pymoo.core.problem import Problem
from pymoo.optimize import minimize
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from tqdm import tqdm

from moseg.search.archive import Archive
from moseg.search.doe import design_of_experiments
from moseg.search.evaluators import EvaluateFn, Evaluator, as_evaluator
from moseg.search.indicators import front_ranks, hypervolume, non_dominated
from moseg.search.outputs import (
    PREDICTION_COLUMNS,
    STATS_COLUMNS,
    SearchResult,
    check_objective_names,
    hypervolume_reference,
    search_result,
    stored_setting,
    write_front,
    write_or_check_config,
)
from moseg.search.prescreen import PRESCREENERS
from moseg.search.vectors import canonicalizer, check_bounds, check_integer, integer_nsga2, unique_rows
from moseg.util.csvlog import CsvLog, parse_vectors, vector_key
from moseg.util.schema import GENES, OBJECTIVES, RENAMED_IN
from surrogates import Ensemble, make_surrogate, min_training_rows
from surrogates.base import clone_with_seed
from surrogates.metrics import kendall_tau

DOE_FRACTION = 0.5  # of the budget: see default_n_doe
DOE_MAX = 100
DEFAULT_SURROGATE = "adaptive_switching"  # best hypervolume; passes the shift test (benchmarks/RESULTS.md, issue 18)


@dataclass(frozen=True)
class SearchSettings:
    """The parameters a search is resumed under; a rerun with different ones is refused."""

    budget: int
    seed: int
    n_doe: int | None
    n_infill: int
    prescreen: str
    surrogate: str
    pop_size: int
    n_gen: int
    cheap_objective: int
    accuracy_objective: int
    ref_point: list[float] | None
    exact_objectives: list[int]


class PredictedProblem(Problem):
    """The objectives as the surrogates (or exact functions) predict them, on canonical integer vectors."""

    def __init__(self, xl: np.ndarray, xu: np.ndarray, predict: Callable[[np.ndarray], np.ndarray], n_obj: int):
        super().__init__(n_var=len(xl), n_obj=n_obj, xl=xl, xu=xu, vtype=int)
        self.predict = predict

    def _evaluate(self, X: np.ndarray, out: dict, *args, **kwargs) -> None:
        out["F"] = self.predict(np.round(X).astype(np.int64))


def run_search(evaluate_fn: EvaluateFn | Evaluator, xl: np.ndarray, xu: np.ndarray, budget: int, *, seed: int,
               out_dir: str | Path, n_doe: int | None = None, n_infill: int = 8, prescreen: str = "spacing",
               surrogate: str = DEFAULT_SURROGATE, canonicalize: Callable[[np.ndarray], np.ndarray] | None = None,
               exact_objectives: Mapping[int, EvaluateFn] | None = None, cheap_objective: int = -1,
               accuracy_objective: int = 0, pop_size: int = 100, n_gen: int = 30,
               ref_point: np.ndarray | None = None, log: Callable[[str], None] | None = print,
               progress: bool = False, objective_names: Sequence[str] | None = None) -> SearchResult:
    """Minimise the objectives `evaluate_fn(X) -> F` over integer vectors xl <= x <= xu with `budget` true
    evaluations; resumes from `out_dir` when it holds an earlier run of the same search. `evaluate_fn` may be a
    `moseg.search.evaluators.Evaluator`, which is handed whole batches (the design, each in-fill) and whose results
    are recorded as they arrive, in any order.

    `n_doe` (default: `default_n_doe(budget)`) random designs are evaluated before the first
    surrogate is fitted; it must leave part of the budget to the surrogate and give the surrogate the rows it
    needs to fit (both checked before anything is evaluated).
    `canonicalize(X) -> X` maps equal designs to one vector (evaluated once). `exact_objectives` maps an
    objective's column to a cheap exact function of X used instead of a surrogate. `cheap_objective` and
    `accuracy_objective` are the columns the `spacing` pre-screening spaces out and tops up by. `ref_point`
    (default: from the design of experiments) fixes the hypervolume's reference point for the whole run.
    `progress` shows a bar of evaluations done out of the budget, with the hypervolume so far.
    `objective_names` name front.csv's objective columns (default f0, f1, ...; see `moseg.util.schema`).
    """
    xl, xu = check_bounds(xl, xu)
    out = Path(out_dir)
    if n_doe is None:  # a resumed search keeps the design it was started with, whatever today's default
        n_doe = stored_setting(out / "config.json", "n_doe")
    settings = check_settings(budget, seed, n_doe, n_infill, prescreen, surrogate, pop_size, n_gen,
                               cheap_objective, accuracy_objective, ref_point, exact_objectives, len(xl))
    names = check_objective_names(objective_names)
    canonical = canonicalizer(canonicalize, xl, xu)
    doe = unique_rows(canonical(design_of_experiments(settings.n_doe, xl, xu, settings.seed)))
    min_rows = min_training_rows(make_surrogate(settings.surrogate))
    _check_design_fits_surrogate(len(doe), settings, min_rows)
    out.mkdir(parents=True, exist_ok=True)
    write_or_check_config(out / "config.json", {"method": "surrogate", **asdict(settings), "xl": xl.tolist(),
                                                "xu": xu.tolist()})
    archive = Archive(out / "archive.csv")
    archive.check_bounds(xl, xu)
    bar = tqdm(total=budget, initial=len(archive.rows), desc="search", unit="eval", disable=not progress,
               dynamic_ncols=True)
    say = (bar.write if progress else log) if log else (lambda message: None)

    evaluator = as_evaluator(evaluate_fn)
    run = _Run(settings, xl, xu, canonical, exact_objectives or {}, archive, evaluator, lambda row: bar.update(1),
               names)
    try:
        return _search(run, doe, ref_point, out, say, bar, min_rows)
    finally:
        bar.close()
        evaluator.close()


@dataclass(frozen=True)
class _Run:
    """What every step of one search shares: its settings, the bounds and canonical form of its vectors, the
    objectives computed exactly instead of predicted, the archive, the evaluator of true evaluations, what to
    do after each (the progress bar) and the objectives' names in front.csv."""

    settings: SearchSettings
    xl: np.ndarray
    xu: np.ndarray
    canonical: Callable[[np.ndarray], np.ndarray]
    exact: Mapping[int, EvaluateFn]
    archive: Archive
    evaluator: Evaluator
    after_each: Callable[[dict], None]
    objective_names: list[str] | None

    def seed(self, iteration: int, purpose: int | str, *index: int) -> int:
        return _seed(self.settings.seed, iteration, purpose, *index)

    def evaluate(self, candidates: np.ndarray, iteration: int,
                 after_each: Callable[[dict], None] = lambda row: None) -> None:
        """True evaluations of the candidates not in the archive yet, as one batch, as many as the budget has
        room for (in the order given), each recorded as it arrives with its position among `candidates`."""
        room = self.settings.budget - len(self.archive.rows)
        slots = [i for i, x in enumerate(candidates) if x not in self.archive][: max(room, 0)]
        if slots:
            def each(row: dict) -> None:
                self.after_each(row)
                after_each(row)

            self.archive.evaluate_batch(candidates[slots], iteration, self.evaluator, slots, each)


@dataclass(frozen=True)
class _Fitted:
    """One iteration's surrogates (by objective), the archive rows they were fitted on, and the predictor of
    every objective (exact ones computed, the others predicted) of canonical vectors."""

    models: dict[int, BaseEstimator]
    X: np.ndarray
    F: np.ndarray
    predict: Callable[[np.ndarray], np.ndarray]


def _search(run: _Run, doe: np.ndarray, ref_point: np.ndarray | None, out: Path, say: Callable[[str], None],
            bar: tqdm, min_rows: int) -> SearchResult:
    """The design of experiments, then the iterations, until the budget is spent (see `run_search`)."""
    archive, settings, budget = run.archive, run.settings, run.settings.budget
    run.evaluate(doe, 0, lambda row: _check_objective_columns(archive, settings, run.objective_names))
    _check_objective_columns(archive, settings, run.objective_names)  # a resumed run: the archive's objectives
    _check_design_succeeded(archive, len(doe), settings, min_rows)
    ref = hypervolume_reference(archive, ref_point)
    stats_log = CsvLog(out / "stats.csv", STATS_COLUMNS)
    predictions_log = CsvLog(out / "predictions.csv", PREDICTION_COLUMNS, RENAMED_IN["predictions.csv"])
    logged = _logged_iterations(stats_log)
    predictions_log.keep_until("iteration", max(logged, default=0))  # rows of an iteration whose stats are missing
    if 0 not in logged:
        stats_log.append(_stats_row(archive, 0, ref, None, "", 0.0, 0.0))
    say(f"design of experiments: {len(archive.rows)} evaluations, hypervolume {hypervolume(archive.F(), ref):.4g}")

    iteration = max(1, archive.rows[-1]["iteration"])  # earlier iterations are complete; replay the last one
    while len(archive.rows) < budget or (iteration not in logged and archive.rows[-1]["iteration"] == iteration):
        # (the second case: a kill after the last evaluation, before its iteration's statistics were written)
        step, predictions = _iterate(run, iteration, ref)
        if step["new"] == 0:
            say(f"iteration {iteration}: no unevaluated vector found; the search stops at {len(archive.rows)} "
                f"of {budget} evaluations")
            break
        if iteration not in logged:  # predictions first: a kill before the stats row replays both
            for row in predictions:
                predictions_log.append(row)
            stats_log.append(step)
        bar.set_postfix(hypervolume=f"{step['hypervolume']:.4g}")
        say(f"iteration {iteration}: {step['evaluations']} evaluations, hypervolume {step['hypervolume']:.4g}, "
            f"surrogates {step['surrogates']}")
        iteration += 1
    write_front(out / "front.csv", archive, run.objective_names)
    return search_result(archive, out)


def _iterate(run: _Run, iteration: int, ref: np.ndarray) -> tuple[dict, list[dict]]:
    """One iteration: fit, search the predictions, pre-screen, evaluate; returns its statistics row and the
    surrogates' predictions of the objectives they predicted, beside the truth, for each new evaluation."""
    archive, settings = run.archive, run.settings
    started = time.perf_counter()
    fitted = _fit(run, iteration)
    fit_seconds = time.perf_counter() - started

    started = time.perf_counter()
    before = archive.keys_before(iteration)  # never proposed again, failed ones included
    candidates = _searched_candidates(run, iteration, fitted, before)
    k = min(settings.n_infill, settings.budget - len(before))
    chosen = _prescreen(run, iteration, fitted, candidates, k, ref)
    if len(chosen) == 0:  # the optimiser found nothing new: spend the iteration on random unseen vectors
        chosen = _unseen_random(run, iteration, before, k)
    search_seconds = time.perf_counter() - started

    started = time.perf_counter()
    run.evaluate(chosen, iteration)
    eval_seconds = time.perf_counter() - started
    names = {j: getattr(model, "chosen_", settings.surrogate) for j, model in fitted.models.items()}
    surrogates = " ".join(f"f{j}={name}" for j, name in names.items())
    new = archive.evaluated(iteration)
    predicted = fitted.predict(parse_vectors([r[GENES] for r in new])) if new else None
    return (_stats_row(archive, iteration, ref, predicted, surrogates, fit_seconds, search_seconds, eval_seconds),
            _prediction_rows(new, iteration, predicted, sorted(fitted.models)))


def _fit(run: _Run, iteration: int) -> _Fitted:
    """One surrogate per objective that is not computed exactly, fitted on the rows of earlier iterations."""
    X_fit, F_fit = run.archive.fit_data(iteration)
    with _expected_fit_warnings_silenced():
        models = {j: clone_with_seed(make_surrogate(run.settings.surrogate), run.seed(iteration, j))
                  .fit(X_fit, F_fit[:, j]) for j in range(F_fit.shape[1]) if j not in run.exact}

    def predict(X: np.ndarray) -> np.ndarray:
        X = run.canonical(X)
        return np.column_stack([run.exact[j](X) if j in run.exact else models[j].predict(X)
                                for j in range(F_fit.shape[1])])

    return _Fitted(models, X_fit, F_fit, predict)


def _prediction_rows(new: list[dict], iteration: int, predicted: np.ndarray | None,
                     objectives: list[int]) -> list[dict]:
    """predictions.csv rows: predicted and true value of each surrogate-predicted objective of each new row
    (`predicted`: the predictions of the new rows, one row each)."""
    if not new or not objectives:
        return []
    return [{"iteration": iteration, GENES: r[GENES], "objective": j, "predicted": float(predicted[i, j]),
             "true": r[OBJECTIVES][j]} for i, r in enumerate(new) for j in objectives]


def _searched_candidates(run: _Run, iteration: int, fitted: _Fitted, before: set[str]) -> np.ndarray:
    """Level 1: NSGA-II on the predictions; its final population, canonical, deduplicated, without vectors
    evaluated before this iteration, ordered by predicted front (non-dominated first) and topped up from the
    next fronts so that there are at least n_infill."""
    settings, xl, xu, canonical = run.settings, run.xl, run.xu, run.canonical
    problem = PredictedProblem(xl, xu, fitted.predict, fitted.F.shape[1])
    rng = np.random.default_rng(run.seed(iteration, "population"))
    random = rng.integers(xl, xu + 1, size=(settings.pop_size, len(xl)))
    initial = unique_rows(np.vstack([fitted.X[non_dominated(fitted.F)], canonical(random)]))[: settings.pop_size]
    algorithm = integer_nsga2(settings.pop_size, initial)
    result = minimize(problem, algorithm, ("n_gen", settings.n_gen), seed=run.seed(iteration, "nsga2"),
                      verbose=False)
    population = unique_rows(canonical(np.round(result.pop.get("X")).astype(np.int64)))
    fresh = np.array([x for x in population if vector_key(x) not in before]).reshape(-1, len(xl))
    if len(fresh) == 0:
        return fresh
    ranks = front_ranks(fitted.predict(fresh))
    order = np.argsort(ranks, kind="stable")
    enough = ranks[order] <= max(0, np.sort(ranks)[min(settings.n_infill, len(ranks)) - 1])
    return fresh[order[enough]]


def _unseen_random(run: _Run, iteration: int, before: set[str], k: int) -> np.ndarray:
    """Up to k random canonical vectors not evaluated before this iteration (few or none in an exhausted space)."""
    rng = np.random.default_rng(run.seed(iteration, "fallback"))
    draws = unique_rows(run.canonical(rng.integers(run.xl, run.xu + 1, size=(100 * max(k, 1), len(run.xl)))))
    return np.array([x for x in draws if vector_key(x) not in before][:k]).reshape(-1, len(run.xl))


def _prescreen(run: _Run, iteration: int, fitted: _Fitted, candidates: np.ndarray, k: int,
               ref: np.ndarray) -> np.ndarray:
    """Level 2: the k candidates the chosen selector picks."""
    if len(candidates) == 0 or k <= 0:
        return candidates[:0]
    settings = run.settings
    predicted = fitted.predict(candidates)
    spread = None
    if settings.prescreen == "optimistic":
        spread = np.zeros_like(predicted)
        for j, model in fitted.models.items():
            base = getattr(model, "best_estimator_", model)
            ensemble = Ensemble(base, random_state=run.seed(iteration, "ensemble", j))
            with _expected_fit_warnings_silenced():
                spread[:, j] = ensemble.fit(fitted.X, fitted.F[:, j]).predict(candidates, return_std=True)[1]
    n_obj = fitted.F.shape[1]
    picked = PRESCREENERS[settings.prescreen](predicted, spread, fitted.F[non_dominated(fitted.F)], k, ref,
                                              settings.cheap_objective % n_obj, settings.accuracy_objective % n_obj)
    return candidates[picked]


@contextmanager
def _expected_fit_warnings_silenced() -> Iterator[None]:
    """A GP hyper-parameter at its bound is expected on small archives; it is not news to the user."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


def _stats_row(archive: Archive, iteration: int, ref: np.ndarray, predicted: np.ndarray | None,
               surrogates: str, fit_seconds: float, search_seconds: float, eval_seconds: float = 0.0) -> dict:
    """The statistics of one iteration; Kendall tau compares `predicted` (the predictions of the iteration's new
    points, None for the design of experiments) with their true objectives."""
    new = archive.evaluated(iteration)
    taus = ""
    if predicted is not None and len(new) >= 2:
        F_new = np.array([r[OBJECTIVES] for r in new])
        taus = " ".join(f"{kendall_tau(F_new[:, j], predicted[:, j]):.3f}" for j in range(F_new.shape[1]))
    return {"iteration": iteration, "evaluations": len(archive.rows), "failed": _failed_count(archive),
            "new": _rows_of(archive, iteration), "hypervolume": hypervolume(archive.F(), ref), "kendall_tau": taus,
            "surrogates": surrogates, "fit_seconds": round(fit_seconds, 3), "search_seconds": round(search_seconds, 3),
            "eval_seconds": round(eval_seconds, 3)}


def _logged_iterations(stats_log: CsvLog) -> set[int]:
    """The iterations stats.csv has a row for; ValueError naming the file and line of an unreadable one."""
    logged = set()
    for line, row in enumerate(stats_log.rows(), start=2):
        try:
            logged.add(int(row["iteration"]))
        except ValueError:
            raise ValueError(f"{stats_log.path}, line {line}: iteration = {row['iteration']!r}, expected an "
                             "integer; the row is damaged: repair or delete it to go on") from None
    return logged


def _failed_count(archive: Archive) -> int:
    return sum(r["status"] != "ok" for r in archive.rows)


def _rows_of(archive: Archive, iteration: int) -> int:
    return sum(r["iteration"] == iteration for r in archive.rows)


def _seed(seed: int, iteration: int, purpose: int | str, *index: int) -> int:
    """A seed for one purpose of one iteration (and one objective, given as `index`). A string purpose counts
    by its first 8 bytes only, so distinct purposes must differ there."""
    tag = purpose if isinstance(purpose, int) else int.from_bytes(purpose.encode()[:8], "little")
    return int(np.random.default_rng([seed, iteration, tag, *index]).integers(2**31 - 1))


def default_n_doe(budget: int, min_rows: int = 2) -> int:
    """The design-of-experiments size `run_search` uses unless told: half the budget, at most DOE_MAX rows, at
    least `min_rows` (what the surrogate needs to be fitted) and at most budget - 1, so that the surrogate always
    gets part of the budget. 30 % did no better at 100 evaluations on the NAS tables and ZDT, and half the budget is
    the protocol measured at budgets 50, 100 and 200 (benchmarks/RESULTS.md, issues 6 and 18)."""
    return max(min_rows, min(budget - 1, round(DOE_FRACTION * budget), DOE_MAX))


def check_settings(budget: int, seed: int, n_doe: int | None, n_infill: int, prescreen: str, surrogate: str,
                    pop_size: int, n_gen: int, cheap_objective: int, accuracy_objective: int,
                    ref_point: np.ndarray | None, exact_objectives: Mapping[int, EvaluateFn] | None,
                    n_var: int | None) -> SearchSettings:
    """The settings of `run_search` (same arguments, plus the number of variables), every one checked before
    anything is evaluated; n_doe None becomes its default (left None when n_var is None: a job checking its
    settings before it knows its space)."""
    for name, value, minimum in (("budget", budget, 1), ("n_infill", n_infill, 1), ("pop_size", pop_size, 2),
                                 ("n_gen", n_gen, 1), ("seed", seed, 0)):
        check_integer(name, value, minimum)
    if not isinstance(prescreen, str) or prescreen not in PRESCREENERS:
        raise ValueError(f"prescreen = {prescreen!r}, expected one of {sorted(PRESCREENERS)}")
    min_rows = min_training_rows(make_surrogate(surrogate))  # raises, naming the registered ones, if unknown
    if budget <= min_rows:
        raise ValueError(f"budget = {budget} leaves nothing to the surrogate: surrogate {surrogate!r} needs "
                         f"{min_rows} evaluated designs before its first fit; use budget >= {min_rows + 1}, "
                         "or random_search")
    if n_doe is None and n_var is not None:
        n_doe = default_n_doe(budget, min_rows)
    if n_doe is not None:
        check_integer("n_doe", n_doe, min_rows)
        if n_doe >= budget:
            raise ValueError(f"n_doe = {n_doe} >= budget = {budget}: the design of experiments would spend the whole "
                             f"budget and the surrogate none of it; use n_doe < budget, leave n_doe unset for the "
                             f"default ({DOE_FRACTION:.0%} of the budget, at most {DOE_MAX}), "
                             "or random_search")
    for name, value in (("cheap_objective", cheap_objective), ("accuracy_objective", accuracy_objective)):
        check_integer(name, value, -(2**31))
    for key in exact_objectives or {}:
        check_integer("an exact_objectives key", key, 0)
        if not callable(exact_objectives[key]):
            raise ValueError(f"exact_objectives[{key}] = {exact_objectives[key]!r}: expected a function of X (one "
                             "candidate per row) returning that objective's column")
    if ref_point is not None:
        ref = np.asarray(ref_point)
        if ref.ndim != 1 or ref.size == 0 or ref.dtype.kind not in "iuf" or not np.all(np.isfinite(ref)):
            raise ValueError(f"ref_point = {np.asarray(ref_point).tolist()}, expected a 1-d vector of finite "
                             "numbers, one per objective")
    return SearchSettings(int(budget), int(seed), None if n_doe is None else int(n_doe), int(n_infill), prescreen,
                          surrogate, int(pop_size), int(n_gen), int(cheap_objective), int(accuracy_objective),
                          None if ref_point is None else [float(v) for v in ref_point],
                          sorted(int(j) for j in (exact_objectives or {})))


def _check_design_fits_surrogate(n_distinct: int, settings: SearchSettings, min_rows: int) -> None:
    """Refuse, before evaluating anything, a design whose distinct canonical vectors are fewer than the
    `min_rows` the surrogate needs."""
    if n_distinct < min_rows:
        raise ValueError(f"n_doe = {settings.n_doe} gives {n_distinct} distinct canonical vectors, but surrogate "
                         f"{settings.surrogate!r} needs at least {min_rows} to be fitted; raise n_doe")


def _check_objective_columns(archive: Archive, settings: SearchSettings, names: list[str] | None) -> None:
    """Once the number of objectives is known (first successful evaluation): every objective index given to
    the search must exist, and there must be a name for each objective."""
    n_obj = archive.n_obj
    if n_obj is None:
        return
    for name, j in (("cheap_objective", settings.cheap_objective),
                    ("accuracy_objective", settings.accuracy_objective)):
        if not -n_obj <= j < n_obj:
            raise ValueError(f"{name} = {j}, but evaluate_fn returns {n_obj} objectives (columns 0..{n_obj - 1})")
    missing = [j for j in settings.exact_objectives if j >= n_obj]
    if missing:
        raise ValueError(f"exact_objectives has keys {missing}, but evaluate_fn returns {n_obj} objectives "
                         f"(columns 0..{n_obj - 1})")
    if names is not None and len(names) != n_obj:
        raise ValueError(f"objective_names = {names}, but evaluate_fn returns {n_obj} objectives")
    if settings.ref_point is not None and len(settings.ref_point) != n_obj:
        raise ValueError(f"ref_point has {len(settings.ref_point)} values, but evaluate_fn returns {n_obj} "
                         "objectives")


def _check_design_succeeded(archive: Archive, n_design: int, settings: SearchSettings, min_rows: int) -> None:
    """Refuse to go on when fewer designs than the surrogate's `min_rows` were evaluated successfully, naming the
    numbers and the first error (the archive keeps every row, failed ones included)."""
    ok = len(archive.evaluated(0))
    if ok < min_rows:
        failed = [r for r in archive.rows if r["iteration"] == 0 and r["status"] != "ok"]
        first = failed[0]["error"] if failed else "none"
        raise RuntimeError(f"{ok} of the {n_design} design-of-experiments candidates were evaluated successfully "
                           f"({len(failed)} failed, see {archive.path}); surrogate {settings.surrogate!r} needs "
                           f"at least {min_rows} to be fitted. First error: {first}")
