"""Append-only CSV files, flushed after every row, so a killed job loses nothing it has logged; and reading a
run's CSV files back with errors that name the file and line."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

import numpy as np
import pandas as pd

from moseg.util.schema import upgraded


def vector_key(x: Sequence[int]) -> str:
    """An integer vector as one CSV cell (integers separated by spaces): the key of an arch or a candidate."""
    return " ".join(str(int(v)) for v in x)


def parse_vectors(keys: Sequence[str], n_var: int | None = None, source: str | Path | None = None) -> np.ndarray:
    """The integer matrix of `vector_key` cells, one row per cell (shape (0, n_var) when there are none).
    A cell that is not `n_var` integers (or as many as the first cell) is a ValueError naming it; with `source`
    (the CSV file the cells are a column of, one row per line after the header) it names the file and line."""
    rows: list[list[int]] = []
    for i, key in enumerate(keys):
        expected = n_var or (len(rows[0]) if rows else None)
        try:
            row = [int(v) for v in str(key).split()]
        except ValueError:
            row = []
        if not row or (expected is not None and len(row) != expected):
            where = f"{source}, line {i + 2}" if source is not None else f"vector {i + 1}"
            raise ValueError(f"{where}: {key!r} is not a vector of {expected or 'the'} integer genes separated by "
                             "spaces")
        rows.append(row)
    return np.array(rows, dtype=np.int64).reshape(len(rows), -1 if rows else (n_var or 0))


def read_table(path: str | Path, what: str, dtype: dict | None = None,
               renamed: dict[str, str] | None = None) -> pd.DataFrame:
    """A CSV file of a run as a DataFrame, columns of older files named as today (`renamed`: old name -> new, see
    `moseg.util.schema.RENAMED_IN`); a missing, empty, non-UTF-8 or malformed file is a ValueError that names it and
    says it should hold `what` (e.g. "a search's front"). `dtype` is by today's names."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path} does not exist; expected {what} (a CSV file)")
    renamed = renamed or {}
    old_dtype = {old: dtype[new] for old, new in renamed.items() if dtype and new in dtype}
    try:
        return pd.read_csv(path, dtype={**(dtype or {}), **old_dtype} or None).rename(columns=renamed)
    except pd.errors.EmptyDataError:
        raise ValueError(f"{path} is empty; expected {what}: a header and rows") from None
    except UnicodeDecodeError as err:
        raise ValueError(f"{path} is not UTF-8 text (byte {err.object[err.start]:#x} at offset {err.start}); "
                         f"expected {what}, a CSV file") from None
    except pd.errors.ParserError as err:
        raise ValueError(f"{path} is not a readable CSV file ({' '.join(str(err).split())}); expected {what}") \
            from None


class CsvLog:
    """Rows with fixed `columns` appended to `path` (header written once). Values may be missing (empty). A file
    written before some of today's columns existed (at the end) or under older names (`renamed`: old name -> new)
    is rewritten with today's header when opened, its rows kept.

    A process killed while writing a row leaves a last line without its newline: opening the log drops that torn
    row (`torn_row` keeps its text), so whatever it recorded is done again, and the next row is not glued to it.
    Any other row with the wrong number of fields is damage that `rows` reports with the file and line.
    """

    def __init__(self, path: str | Path, columns: Sequence[str], renamed: dict[str, str] | None = None) -> None:
        self.path, self.columns, self.renamed = Path(path), list(columns), renamed or {}
        self.torn_row = self._drop_torn_row()
        if self.path.exists() and self.path.stat().st_size:
            with self._open() as f:
                header = next(csv.reader(f), [])
            today = upgraded(header, self.renamed)
            if header != self.columns and today == self.columns[: len(today)]:
                self._rewrite(self.rows())  # older names, or written before columns were added at the end (empty)
            elif header != self.columns:
                raise ValueError(f"{self.path} has columns {header}, expected {self.columns}")

    def append(self, row: dict) -> None:
        unknown = set(row) - set(self.columns)
        if unknown:
            raise ValueError(f"row has columns {sorted(unknown)} not in {self.columns}")
        new = not self.path.exists() or not self.path.stat().st_size
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", newline="") as f:
            writer = csv.DictWriter(f, self.columns)
            if new:
                writer.writeheader()
            writer.writerow(row)

    def rows(self) -> list[dict]:
        """Every row as a dict of column -> text; ValueError naming the file and line of a damaged row."""
        if not self.path.exists():
            return []
        with self._open() as f:
            reader = csv.reader(f)
            header = upgraded(next(reader, None) or [], self.renamed)
            rows = []
            for values in reader:
                if not values:
                    continue  # a blank line carries nothing
                if len(values) != len(header):
                    raise ValueError(f"{self.path}, line {reader.line_num}: {len(values)} fields where the header "
                                     f"has {len(header)} ({', '.join(header)}); the row is damaged: repair or delete "
                                     "it to go on")
                rows.append(dict(zip(header, values, strict=True)))
            return rows

    @contextmanager
    def _open(self) -> Iterator[TextIO]:
        """The file open for reading as text; bytes that are not UTF-8 are a ValueError naming the file."""
        try:
            with self.path.open(newline="", encoding="utf-8") as f:
                yield f
        except UnicodeDecodeError as err:
            raise ValueError(f"{self.path} is not UTF-8 text ({err.reason}: byte {err.object[err.start]:#x}); "
                             f"expected a CSV log with columns {self.columns}") from None

    def _drop_torn_row(self) -> str | None:
        """Cut a last line that has no newline (a row whose writing was interrupted); return its text."""
        if not self.path.exists() or not self.path.stat().st_size:
            return None
        with self.path.open("rb") as f:
            f.seek(-1, 2)
            if f.read(1) == b"\n":
                return None  # the usual case: only the last byte is read
        data = self.path.read_bytes()
        keep = data.rfind(b"\n") + 1
        header = io.StringIO()
        csv.writer(header).writerow(self.columns)
        if not keep and not header.getvalue().encode().startswith(data):
            raise ValueError(f"{self.path} holds {len(data)} bytes without a line break that are not the start of "
                             f"its header; expected a CSV log with columns {self.columns}")
        with self.path.open("r+b") as f:
            f.truncate(keep)
        return data[keep:].decode(errors="replace")

    def keep_until(self, column: str, last: float) -> None:
        """Drop rows whose `column` exceeds `last`: what a resumed run will log again."""
        if not self.path.exists():
            return
        self._rewrite([r for r in self.rows() if float(r[column]) <= last])

    def _rewrite(self, rows: list[dict]) -> None:
        with self.path.open("w", newline="") as f:
            writer = csv.DictWriter(f, self.columns)
            writer.writeheader()
            writer.writerows(rows)
