"""What a search leaves in its output folder and returns: config.json, front.csv, the columns of stats.csv and
predictions.csv, the result object."""

from __future__ import annotations

import json
import platform
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pymoo
import sklearn

from moseg.search.archive import Archive
from moseg.search.indicators import non_dominated, reference_point
from moseg.util.csvlog import vector_key
from moseg.util.schema import GENES, generic_objective_names

STATS_COLUMNS = ["iteration", "evaluations", "failed", "new", "hypervolume", "kendall_tau", "surrogates",
                 "fit_seconds", "search_seconds", "eval_seconds"]
PREDICTION_COLUMNS = ["iteration", GENES, "objective", "predicted", "true"]


@dataclass
class SearchResult:
    """Every true evaluation (X, F in evaluation order, failed ones excluded), the non-dominated set, the
    per-iteration statistics, the failed candidates and the output folder."""

    X: np.ndarray
    F: np.ndarray
    front_X: np.ndarray
    front_F: np.ndarray
    stats: pd.DataFrame
    failed: list[dict]
    out_dir: Path


def write_or_check_config(path: Path, config: dict) -> None:
    """Write config.json, or refuse to resume a run whose settings differ (only the budget may change)."""
    if path.exists():
        try:
            stored = json.loads(path.read_text())["settings"]
        except (ValueError, KeyError, TypeError) as err:
            raise ValueError(f"{path} is damaged ({type(err).__name__}: {err}); it records the settings the "
                             f"search in {path.parent} was started with: restore it, or use another out_dir") from None
        changed = sorted(k for k in config if k != "budget" and stored.get(k) != config[k])
        if changed:
            raise ValueError(f"{path.parent} holds a search with different settings: {changed}; use another "
                             f"out_dir or the same settings to resume")
    versions = {"python": platform.python_version(), "numpy": np.__version__, "pymoo": pymoo.__version__,
                "scikit-learn": sklearn.__version__}
    path.write_text(json.dumps({"settings": config, "versions": versions}, indent=2) + "\n")


def stored_setting(path: Path, name: str) -> object:
    """Setting `name` of the search config.json at `path`, or None (no file, no such setting, or a damaged file,
    which `write_or_check_config` reports)."""
    try:
        return json.loads(path.read_text())["settings"].get(name)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def hypervolume_reference(archive: Archive, ref_point: object = None) -> np.ndarray:
    """The point a search measures its hypervolume against for the whole run: `ref_point` if set, else the
    default `reference_point` of its design of experiments (the rows of iteration 0)."""
    if ref_point is not None:
        return np.asarray(ref_point, dtype=float)
    design = archive.F(iteration=0)
    if not len(design):
        raise ValueError(f"{archive.path} has no successful design-of-experiments row (iteration 0); the search's "
                         "reference point is computed from them")
    return reference_point(design)


def search_reference_point(out: str | Path) -> np.ndarray:
    """The reference point of the hypervolumes that the search in folder `out` printed and wrote to stats.csv."""
    out = Path(out)
    if not (out / "archive.csv").is_file():
        raise ValueError(f"{out / 'archive.csv'} does not exist; expected the archive of a search folder")
    return hypervolume_reference(Archive(out / "archive.csv"), stored_setting(out / "config.json", "ref_point"))


def check_objective_names(names: Sequence[str] | None) -> list[str] | None:
    """`names` as a list once checked: distinct non-empty strings, none of them the genes column."""
    if names is None:
        return None
    if isinstance(names, str) or not isinstance(names, Sequence) or not all(
            isinstance(n, str) and n and n != GENES for n in names) or len(set(names)) != len(names):
        raise ValueError(f"objective_names = {names!r}, expected distinct non-empty column names other than {GENES!r}")
    return list(names)


def write_front(path: Path, archive: Archive, objective_names: list[str] | None = None) -> None:
    """front.csv: the genes and objectives of every non-dominated evaluation, the objectives under
    `objective_names` (default f0, f1, ...; see `moseg.util.schema`)."""
    X, F = archive.X(), archive.F()
    front = non_dominated(F)
    names = objective_names or generic_objective_names(F.shape[1])
    if len(names) != F.shape[1]:
        raise ValueError(f"objective_names = {names}, but the archive holds {F.shape[1]} objectives")
    table = pd.DataFrame(F[front], columns=names)
    table.insert(0, GENES, [vector_key(x) for x in X[front]])
    table.to_csv(path, index=False)


def search_result(archive: Archive, out: Path) -> SearchResult:
    """The result of a finished search, from its archive and its stats.csv (if any)."""
    X, F = archive.X(), archive.F()
    front = non_dominated(F)
    failed = [r for r in archive.rows if r["status"] != "ok"]
    stats = pd.read_csv(out / "stats.csv") if (out / "stats.csv").exists() else pd.DataFrame(columns=STATS_COLUMNS)
    return SearchResult(X, F, X[front], F[front], stats, failed, out)
