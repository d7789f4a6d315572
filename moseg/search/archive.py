"""Every true evaluation of a search, appended and flushed to `archive.csv` as it happens.

A row holds the evaluation number, the search iteration that proposed the candidate, its integer vector, its
objectives (JSON list; empty when it failed), the status (`ok` or `failed`), the error and the seconds it took.
A rerun of the same search reads the file back and evaluates nothing twice, failed candidates included.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from moseg.csvlog import CsvLog, parse_vectors, vector_key

COLUMNS = ["eval", "iteration", "x", "f", "status", "error", "seconds"]
EvaluateFn = Callable[[np.ndarray], np.ndarray]  # candidates (one per row) -> objectives (one row each)


class Archive:
    """The evaluations of one search, in order, read back from `path` (if it exists) and appended to it."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.log = CsvLog(self.path, COLUMNS)
        self.rows = [{"eval": int(row["eval"]), "iteration": int(row["iteration"]), "x": row["x"],
                      "f": json.loads(row["f"]) if row["f"] else None, "status": row["status"],
                      "error": row["error"], "seconds": float(row["seconds"])} for row in self.log.rows()]
        self.by_key = {row["x"]: row for row in self.rows}
        ok = [row["f"] for row in self.rows if row["status"] == "ok"]
        self.n_obj: int | None = len(ok[0]) if ok else None

    def __contains__(self, x: np.ndarray) -> bool:
        return vector_key(x) in self.by_key

    def keys_before(self, iteration: int) -> set[str]:
        """Keys of every vector evaluated (or failed) in the iterations before `iteration`."""
        return {r["x"] for r in self.rows if r["iteration"] < iteration}

    def evaluated(self, iteration: int | None = None) -> list[dict]:
        """Rows of successful evaluations (of one iteration, or of all)."""
        return [r for r in self.rows if r["status"] == "ok" and (iteration is None or r["iteration"] == iteration)]

    def X(self, before_iteration: int | None = None) -> np.ndarray:
        """Vectors of the successful evaluations, optionally only those of iterations before the one given."""
        return parse_vectors([r["x"] for r in self._evaluated_before(before_iteration)])

    def F(self, before_iteration: int | None = None) -> np.ndarray:
        """Objectives of the successful evaluations, matching `X`."""
        rows = self._evaluated_before(before_iteration)
        return np.array([r["f"] for r in rows], dtype=float).reshape(len(rows), self.n_obj or 0)

    def _evaluated_before(self, iteration: int | None) -> list[dict]:
        return [r for r in self.evaluated() if iteration is None or r["iteration"] < iteration]

    def evaluate(self, x: np.ndarray, iteration: int, evaluate_fn: EvaluateFn) -> dict:
        """Evaluate one vector with `evaluate_fn`, append the row (failed or not) and return it."""
        started = time.perf_counter()
        row = {"eval": len(self.rows), "iteration": iteration, "x": vector_key(x), "f": None, "status": "ok",
               "error": ""}
        try:
            row["f"] = self._checked(evaluate_fn(np.asarray(x, dtype=np.int64)[None, :]))
        except ObjectiveShapeError:
            raise
        except Exception as err:  # noqa: BLE001 - any failure of a user's evaluate_fn is recorded, not raised
            row.update(status="failed", error=f"{type(err).__name__}: {err}"[:500])
        row["seconds"] = time.perf_counter() - started
        self.log.append({**row, "f": "" if row["f"] is None else json.dumps(row["f"])})
        self.rows.append(row)
        self.by_key[row["x"]] = row
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
