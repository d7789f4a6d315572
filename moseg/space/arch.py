"""A decoded network: a frozen, human-readable description that round-trips through JSON.

An `Arch` is what a person reads in a results table and what `moseg.nn` builds. It knows its own
structure (branches, blocks, widths) but not which values the search space allows: `SearchSpace.encode`
checks that.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from moseg.space.ops import OPERATORS, AttentionBlock, BlockSpec, ConvBlock

HR_STRIDE = 8  # the high-resolution branch always runs at 1/8 of the input

Block = BlockSpec  # a block of any registered operator family (ConvBlock, AttentionBlock, a plug-in's)
__all__ = ["Arch", "AttentionBlock", "Block", "Branch", "ConvBlock", "HR_STRIDE"]


@dataclass(frozen=True)
class Branch:
    """One resolution stream. `fuse_after` (lower branches only) is the number of high-resolution blocks
    that run before this branch's output is added into the high-resolution stream (0: before the first,
    the HR depth: at the end, just before the head)."""

    width: int
    blocks: tuple[Block, ...]
    fuse_after: int | None = None

    @property
    def depth(self) -> int:
        return len(self.blocks)


@dataclass(frozen=True)
class Arch:
    """A whole network: stem, branches (index i runs at stride 8 * 2**i; index 0 is the always-present
    1/8 branch), and the decoder head width."""

    stem_width: int
    head_width: int
    branches: tuple[Branch, ...]

    @staticmethod
    def branch_stride(index: int) -> int:
        return HR_STRIDE * 2**index

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict, ordered for reading (stride is stated, though implied by position)."""
        branches = []
        for i, branch in enumerate(self.branches):
            entry: dict[str, Any] = {"stride": self.branch_stride(i), "width": branch.width}
            if i > 0:
                entry["fuse_after"] = branch.fuse_after
            entry["blocks"] = [{"op": b.op, **vars(b)} for b in branch.blocks]
            branches.append(entry)
        return {"stem_width": self.stem_width, "head_width": self.head_width, "branches": branches}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Arch:
        """Inverse of `to_dict`; unknown or missing keys raise ValueError naming them."""
        _check_keys(data, {"stem_width", "head_width", "branches"}, "arch")
        if not isinstance(data["branches"], (list, tuple)) or not data["branches"]:
            raise ValueError(f"arch['branches'] must be a non-empty list, got {data['branches']!r}")
        branches = []
        for i, entry in enumerate(data["branches"]):
            where = f"arch['branches'][{i}]"
            expected = {"stride", "width", "blocks"} | ({"fuse_after"} if i > 0 else set())
            _check_keys(entry, expected, where)
            if entry["stride"] != cls.branch_stride(i):
                raise ValueError(f"{where}['stride'] = {entry['stride']!r}, expected {cls.branch_stride(i)}")
            blocks = tuple(_block_from_dict(b, f"{where}['blocks'][{k}]") for k, b in enumerate(entry["blocks"]))
            fuse_after = _as_int(entry["fuse_after"], f"{where}['fuse_after']") if i > 0 else None
            branches.append(Branch(_as_int(entry["width"], f"{where}['width']"), blocks, fuse_after))
        return cls(
            stem_width=_as_int(data["stem_width"], "arch['stem_width']"),
            head_width=_as_int(data["head_width"], "arch['head_width']"),
            branches=tuple(branches),
        )


def _block_from_dict(data: dict[str, Any], where: str) -> Block:
    if not isinstance(data, dict) or data.get("op") not in OPERATORS:
        op = data.get("op") if isinstance(data, dict) else data
        raise ValueError(f"{where}['op'] = {op!r}, expected one of {sorted(OPERATORS)}")
    block_type = OPERATORS[data["op"]].block
    names = [f.name for f in fields(block_type)]
    _check_keys(data, set(names) | {"op"}, where)
    return block_type(**{name: _as_int(data[name], f"{where}[{name!r}]") for name in names})


def _check_keys(data: Any, expected: set[str], where: str) -> None:
    if not isinstance(data, dict):
        raise ValueError(f"{where} must be a dict with keys {sorted(expected)}, got {type(data).__name__}")
    unknown, missing = set(data) - expected, expected - set(data)
    if unknown or missing:
        raise ValueError(
            f"{where}: unknown keys {sorted(unknown)}, missing keys {sorted(missing)}; expected {sorted(expected)}"
        )


def _as_int(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{where} = {value!r}, expected an integer")
    return value
