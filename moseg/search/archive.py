"""Every true evaluation of a search, appended and flushed to `archive.csv` as it happens.

A row holds the evaluation number, the search iteration that proposed the candidate, its integer vector (`genes`),
its objectives (`objectives`, a JSON list, empty when it failed; front.csv names them), the status (`ok` or
`failed`), the error, the seconds it took and its slot: its position in the batch its iteration handed to the
evaluator (empty in archives written before slots, and for the baselines). Results may arrive in any order;
surrogates are fitted on the rows ordered by iteration and slot, so the search does not depend on that order.
A rerun of the same search reads the file back and evaluates nothing twice, failed candidates included. An archive
written before the columns were named `genes` and `objectives` (`x`, `f`) is upgraded when opened.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np

from moseg.search.evaluators import EvaluateFn, Evaluator, Outcome, timed_outcome
from moseg.util.csvlog import CsvLog, parse_vectors, vector_key
from moseg.util.schema import GENES, OBJECTIVES, RENAMED_IN

COLUMNS = ["eval", "iteration", GENES, OBJECTIVES, "status", "error", "seconds", "slot"]


class Archive:
    """The evaluations of one search, in order, read back from `path` (if it exists) and appended to it."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.log = CsvLog(self.path, COLUMNS, RENAMED_IN["archive.csv"])
        self.rows = [self._parsed(row, line) for line, row in enumerate(self.log.rows(), start=2)]
        self.by_key = {}
        for line, row in enumerate(self.rows, start=2):
            if row[GENES] in self.by_key:
                raise ValueError(f"{self.path}, line {line}: vector {row[GENES]!r} was already evaluated at line "
                                 f"{self.rows.index(self.by_key[row[GENES]]) + 2}; an archive holds each vector once")
            self.by_key[row[GENES]] = row
        self._check_widths()
        ok = [row[OBJECTIVES] for row in self.rows if row["status"] == "ok"]
        self.n_obj: int | None = len(ok[0]) if ok else None

    def _parsed(self, row: dict, line: int) -> dict:
        """One archive row with its numbers parsed; ValueError naming the file, line and column otherwise."""
        column = "eval"
        try:
            parsed = {"eval": int(row["eval"])}
            column = "iteration"
            parsed["iteration"] = int(row["iteration"])
            column = GENES
            parsed[GENES] = vector_key([int(v) for v in row[GENES].split()]) if row[GENES].split() else None
            column = OBJECTIVES
            parsed[OBJECTIVES] = [float(v) for v in json.loads(row[OBJECTIVES])] if row[OBJECTIVES] else None
            column = "status"
            if row["status"] not in ("ok", "failed") or (row["status"] == "ok") != (parsed[OBJECTIVES] is not None):
                raise ValueError("expected 'ok' with objectives or 'failed' without")
            column = "seconds"
            parsed.update(status=row["status"], error=row["error"], seconds=float(row["seconds"]))
            column = "slot"
            parsed["slot"] = int(row["slot"]) if row["slot"] else None
        except (ValueError, TypeError) as err:
            raise ValueError(f"{self.path}, line {line}, column {column!r} = {row.get(column)!r}: {err}; the row is "
                             "damaged: repair or delete it to go on") from None
        if parsed[GENES] is None:
            raise ValueError(f"{self.path}, line {line}: the vector {GENES!r} is empty")
        return parsed

    def _check_widths(self) -> None:
        """Every vector of one length, every objective list of one length."""
        for key, what in ((GENES, "genes"), (OBJECTIVES, "objectives")):
            widths = [(line, len(r[key].split() if key == GENES else r[key])) for line, r in
                      enumerate(self.rows, start=2) if r[key] is not None]
            for line, width in widths:
                if width != widths[0][1]:
                    raise ValueError(f"{self.path}, line {line}: {width} {what} where line {widths[0][0]} has "
                                     f"{widths[0][1]}; the row is damaged: repair or delete it to go on")

    def check_bounds(self, xl: np.ndarray, xu: np.ndarray) -> None:
        """Refuse an archive whose vectors do not belong to the problem xl <= x <= xu (naming the line)."""
        for line, row in enumerate(self.rows, start=2):
            x = np.array(row[GENES].split(), dtype=np.int64)
            if len(x) != len(xl) or np.any(x < xl) or np.any(x > xu):
                raise ValueError(f"{self.path}, line {line}: vector {row[GENES]!r} is not within the problem's "
                                 f"{len(xl)} variables xl = {xl.tolist()}, xu = {xu.tolist()}; is this the archive "
                                 "of another search?")

    def __contains__(self, x: np.ndarray) -> bool:
        return vector_key(x) in self.by_key

    def keys_before(self, iteration: int) -> set[str]:
        """Keys of every vector evaluated (or failed) in the iterations before `iteration`."""
        return {r[GENES] for r in self.rows if r["iteration"] < iteration}

    def evaluated(self, iteration: int | None = None) -> list[dict]:
        """Rows of successful evaluations (of one iteration, or of all)."""
        return [r for r in self.rows if r["status"] == "ok" and (iteration is None or r["iteration"] == iteration)]

    def X(self) -> np.ndarray:
        """Vectors of the successful evaluations."""
        return parse_vectors([r[GENES] for r in self.evaluated()])

    def F(self, iteration: int | None = None) -> np.ndarray:
        """Objectives of the successful evaluations: of one iteration, or of all (then matching `X`)."""
        rows = self.evaluated(iteration)
        return np.array([r[OBJECTIVES] for r in rows], dtype=float).reshape(len(rows), self.n_obj or 0)

    def fit_data(self, before_iteration: int) -> tuple[np.ndarray, np.ndarray]:
        """`X` and `F` of the iterations before `before_iteration` in batch order (by iteration, then slot), so
        that what is fitted on them does not depend on the order in which results arrived; a serial search's
        results arrive in that order. Rows without a slot (an archive begun before slots) were evaluated first,
        in batch order: they come first in an iteration, by evaluation number."""
        rows = sorted((r for r in self.evaluated() if r["iteration"] < before_iteration),
                      key=lambda r: (r["iteration"], -1 if r["slot"] is None else r["slot"], r["eval"]))
        return (parse_vectors([r[GENES] for r in rows]),
                np.array([r[OBJECTIVES] for r in rows], dtype=float).reshape(len(rows), self.n_obj or 0))

    def evaluate(self, x: np.ndarray, iteration: int, evaluate_fn: EvaluateFn) -> dict:
        """Evaluate one vector with `evaluate_fn`, append the row (failed or not) and return it."""
        return self.record(x, iteration, timed_outcome(0, evaluate_fn, x))

    def evaluate_batch(self, X: np.ndarray, iteration: int, evaluator: Evaluator, slots: list[int],
                       after_each: Callable[[dict], None] = lambda row: None) -> list[dict]:
        """Hand the vectors of X (none of them in the archive yet; `slots`: their positions in the iteration's
        batch) to `evaluator` as one batch and append each result as it arrives, calling `after_each(row)`;
        returns the rows in arrival order."""
        rows = []
        for outcome in evaluator.evaluate(X):
            rows.append(self.record(X[outcome.index], iteration, outcome, slots[outcome.index]))
            after_each(rows[-1])
        return rows

    def record(self, x: np.ndarray, iteration: int, outcome: Outcome, slot: int | None = None) -> dict:
        """Append the row of one evaluation's outcome (failed if it raised or its objectives are not finite) and
        return it; objectives of the wrong shape or kind are an ObjectiveShapeError (a bug of the evaluation)."""
        row = {"eval": len(self.rows), "iteration": iteration, GENES: vector_key(x), OBJECTIVES: None, "status": "ok",
               "error": "", "seconds": outcome.seconds, "slot": slot}
        error = outcome.error
        if error is None:
            try:
                row[OBJECTIVES] = self._checked(outcome.objectives)
            except ObjectiveShapeError:
                raise
            except ValueError as err:
                error = err
        if error is not None:
            row.update(status="failed", error=f"{type(error).__name__}: {error}"[:500])
        self.log.append({**row, OBJECTIVES: "" if row[OBJECTIVES] is None else json.dumps(row[OBJECTIVES]),
                         "slot": "" if slot is None else slot})
        self.rows.append(row)
        self.by_key[row[GENES]] = row
        return row

    def _checked(self, F: np.ndarray) -> list[float]:
        if np.iscomplexobj(F) or np.asarray(F).dtype.kind not in "biuf":
            raise ObjectiveShapeError(f"evaluate_fn returned objectives of dtype {np.asarray(F).dtype}; expected "
                                      "real numbers")
        F = np.asarray(F, dtype=float)
        if F.ndim != 2 or F.shape[0] != 1 or (self.n_obj is not None and F.shape[1] != self.n_obj) or F.shape[1] < 1:
            expected = f"(1, {self.n_obj})" if self.n_obj else "(1, n_obj)"
            raise ObjectiveShapeError(f"evaluate_fn returned objectives of shape {F.shape} for one candidate; "
                                      f"expected {expected}, one row per candidate")
        if not np.all(np.isfinite(F)):
            raise ValueError(f"objectives {F[0].tolist()} are not all finite")
        self.n_obj = F.shape[1]
        return F[0].tolist()


class ObjectiveShapeError(ValueError):
    """evaluate_fn broke its contract (wrong shape, complex or non-numeric objectives): a bug in the caller, so
    the search stops."""
