"""Markdown tables of benchmark results, as RESULTS.md shows them."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd


def markdown(frame: pd.DataFrame, index_name: str, column_label: Callable[[object], str] = str) -> str:
    """`frame` as a markdown table: its index as the first column (named `index_name`, tuples joined by ', '),
    then one column per column of `frame`, headed by `column_label(column)`."""
    header = f"| {index_name} | " + " | ".join(column_label(c) for c in frame.columns) + " |"
    lines = [header, "|" + "---|" * (len(frame.columns) + 1)]
    for idx, row in frame.iterrows():
        name = ", ".join(map(str, idx)) if isinstance(idx, tuple) else str(idx)
        lines.append(f"| {name} | " + " | ".join(str(v) for v in row) + " |")
    return "\n".join(lines)
