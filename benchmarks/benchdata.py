"""Readers of the public benchmark tables in ../shared/benchdata that several benchmarks use.

The folder's SOURCE.txt files say where each table comes from and what its columns mean.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "benchdata"
NB201_OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")


def nb201_genes(arch_strs: pd.Series) -> np.ndarray:
    """The six per-edge operations of NAS-Bench-201 strings '|op~0|+|op~0|op~1|+|...|' as indices of NB201_OPS."""
    return np.array([[NB201_OPS.index(op) for op in re.findall(r"([a-z_0-9]+)~\d", s)] for s in arch_strs])


def tnb101_segmentation(data: Path, space: str) -> tuple[pd.DataFrame, np.ndarray]:
    """TransNAS-Bench-101 semantic-segmentation subset ('micro' or 'macro'): the table and its op-index genes."""
    table = pd.read_csv(data / "naslib_zc_subsets" / f"tnb101_{space}_segmentsemantic.csv")
    return table, np.array([[int(v) for v in text.strip("()").split()] for text in table["op_indices"]])
