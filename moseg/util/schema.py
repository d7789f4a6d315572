"""The column names of the CSV files moseg writes, with their units, in one place; and the names older files used.

Writers take their column names from here and readers from `read_table` / `CsvLog`, which map an older file's names
onto today's (`RENAMED_IN`), so every file written before the names were unified still reads.

Names shared across files:
- `genes`: a network's integer gene vector, the integers separated by spaces (`moseg.util.csvlog.vector_key`);
  formerly `x` (archive.csv, front.csv, predictions.csv, proxy scores) and `arch` (retrained.csv, latency
  surveys). Empty for a hand-designed baseline (a retrained.csv written before holds the baseline's name there).
- `objectives` (archive.csv): the minimised objective values as a JSON list, in the order of front.csv's objective
  columns; formerly `f`.
- `macs`: multiply-accumulates of one forward pass, batch 1, at the latency resolution (`count_flops`, which counts
  one multiply-accumulate as one FLOP, as real-time segmentation papers do); formerly `flops` (latency surveys).
- `params`: trainable parameters, BatchNorm affine ones included.
- Objectives of a `moseg search` (`objective_names`): `miou_error`, 1 - mIoU on the search's validation split as a
  fraction; `latency_ms`, median milliseconds per forward pass under the recorded latency protocol (measured, or
  summed from the latency table); or `gmacs`, billions of multiply-accumulates, when the search's latency objective
  is the analytic cost. Searches of other problems (`run_search` called directly) name theirs `f0`, `f1`, ..., as
  front.csv did before.
- `arch` (a trainer's eval.csv): which network was scored, `max`, `min` (a supernet's) or `model` (trained alone).
"""

from __future__ import annotations

from collections.abc import Sequence

GENES = "genes"
OBJECTIVES = "objectives"
MACS = "macs"
GMACS = "gmacs"
PARAMS = "params"
MIOU_ERROR = "miou_error"
LATENCY_MS = "latency_ms"

# the names each file's older versions used, mapped to today's
RENAMED_IN = {
    "archive.csv": {"x": GENES, "f": OBJECTIVES},
    "front.csv": {"x": GENES},
    "predictions.csv": {"x": GENES},
    "retrained.csv": {"arch": GENES},
    "latency survey": {"arch": GENES, "flops": MACS},
    "proxy scores": {"x": GENES},
}


def objective_names(latency_kind: str) -> tuple[str, str]:
    """The objective columns of a `moseg search` whose latency objective is of `latency_kind` (see the module)."""
    return MIOU_ERROR, GMACS if latency_kind == "flops" else LATENCY_MS


def generic_objective_names(n_obj: int) -> list[str]:
    """The objective columns of a search of any other problem: f0, f1, ..."""
    return [f"f{j}" for j in range(n_obj)]


def upgraded(columns: Sequence[str], renamed: dict[str, str]) -> list[str]:
    """`columns` with the older names of `renamed` replaced by today's."""
    return [renamed.get(column, column) for column in columns]


def objective_columns(columns: Sequence[str]) -> list[str]:
    """The objective columns of a front table (front.csv): every column but the genes, in order."""
    return [column for column in columns if column != GENES]
