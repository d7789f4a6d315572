"""Per-part latency lookup tables: time each distinct part of a network in isolation, predict by summing.

A network of the space is a sequence of parts (`moseg.space.topology.network_parts`): the stem, every block
(at its branch's resolution and width), each lower branch's stride-2 transition and its fusion projection (with
the upsampling to 1/8), and the head (with or without the final upsampling). A part's key names its kind,
configuration and input shape, so equal parts of different networks share one measurement. `LatencyTable` times
every part it has not seen, under one protocol, and appends it to a CSV; a network's table latency is the sum of
its parts. What the sum misses
(the additions of the fusions, caching between parts, launch overhead) is a fixed cost and an interaction
that a calibrated model learns: see `surrogates.BaselineResidualModel` and `table_features`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from moseg.latency.measure import check_settings, measure_latency
from moseg.nn import Supernet
from moseg.nn.network import SegmentationNetwork, upsample
from moseg.space import SearchSpace
from moseg.space.arch import Arch, Branch
from moseg.space.topology import Part, network_parts
from moseg.util.csvlog import CsvLog
from moseg.util.provenance import device_info

COLUMNS = ["key", "protocol_id", "median_ms", "p90_ms", "repeats", "status", "error", "protocol"]


class FusionPart(nn.Module):
    """A lower branch's projection and its upsampling to the 1/8 grid (the addition is left to the overhead)."""

    def __init__(self, fuse: nn.Module, size: tuple[int, int]) -> None:
        super().__init__()
        self.fuse, self.size = fuse, size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return upsample(self.fuse(x), self.size)


class HeadPart(nn.Module):
    """The head on the fused 1/8 features, upsampling its logits to `size` (None: logits stay at 1/8)."""

    def __init__(self, head: nn.Module, size: tuple[int, int] | None) -> None:
        super().__init__()
        self.head, self.size = head, size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(x, self.size)


def part_module(net: SegmentationNetwork, part: Part) -> nn.Module:
    """The module of `net` (the network extracted for the part's arch) that runs `part`, alone."""
    if part.kind == "stem":
        return net.stem
    if part.kind == "head":
        return HeadPart(net.head, part.upsampled_to)
    branch = net.hr if part.branch == 0 else net.lower[part.branch - 1]
    if part.kind == "block":
        return branch.blocks[part.index]
    if part.kind == "transition":
        return branch.transition
    assert part.kind == "fuse", part.kind
    return FusionPart(branch.fuse, part.upsampled_to)


def part_modules(net: SegmentationNetwork, arch: Arch, num_classes: int, resolution: tuple[int, int],
                 final_upsample: bool = True) -> list[tuple[Part, nn.Module]]:
    """`network_parts` with the module of each part, taken from `net` (the network extracted for `arch`)."""
    return [(part, part_module(net, part)) for part in network_parts(arch, num_classes, resolution, final_upsample)]


def covering_archs(space: SearchSpace) -> list[Arch]:
    """A few archs that together hold every part an arch of `space` can have: each block configuration at each
    width of each branch, every pair of adjacent branch widths (transitions), every branch width with every 1/8
    width (fusions), every stem and head width with every 1/8 width. Timing their parts fills the table for the
    whole space, so a search only looks latencies up. Built greedily: each arch is made around the first part
    still missing, then filled with as many other missing parts as fit (about 45 archs for the default space)."""
    configs, widths, depth = space.block_configs(), space.branch_widths, space.max_depth
    branches = range(space.num_branches)
    missing = {("block", b, i, c) for b in branches for i in range(len(widths[b])) for c in range(len(configs))}
    missing |= {("stem", s, i) for s in range(len(space.stem_widths)) for i in range(len(widths[0]))}
    missing |= {("head", i, h) for i in range(len(widths[0])) for h in range(len(space.head_widths))}
    missing |= {("transition", b, p, q) for b in branches[1:] for p in range(len(widths[b - 1]))
                for q in range(len(widths[b]))}
    missing |= {("fuse", b, q, i) for b in branches[1:] for q in range(len(widths[b])) for i in range(len(widths[0]))}
    archs = []
    while missing:
        width_of, stem, head = _forced_choices(min(missing))
        for b in branches:
            if b not in width_of:
                gains = [_missing_parts_with(missing, b, i, width_of, len(configs)) for i in range(len(widths[b]))]
                width_of[b] = gains.index(max(gains))
        hr = width_of[0]
        stem = stem if stem is not None else next(
            (s for s in range(len(space.stem_widths)) if ("stem", s, hr) in missing), 0)
        head = head if head is not None else next(
            (h for h in range(len(space.head_widths)) if ("head", hr, h) in missing), 0)
        covered = {("stem", stem, hr), ("head", hr, head)}
        arch_branches = []
        for b in branches:
            chosen = sorted(c for c in range(len(configs)) if ("block", b, width_of[b], c) in missing)[:depth] or [0]
            covered |= {("block", b, width_of[b], c) for c in chosen}
            if b:
                covered |= {("transition", b, width_of[b - 1], width_of[b]), ("fuse", b, width_of[b], hr)}
            arch_branches.append(Branch(widths[b][width_of[b]], tuple(configs[c] for c in chosen),
                                        0 if b else None))
        archs.append(Arch(space.stem_widths[stem], space.head_widths[head], tuple(arch_branches)))
        missing -= covered
    return archs


def _missing_parts_with(missing: set, b: int, i: int, width_of: dict[int, int], n_configs: int) -> int:
    """How many missing parts of `covering_archs` branch b at width index i would add, given the widths chosen."""
    blocks = sum(("block", b, i, c) in missing for c in range(n_configs))
    links = [("transition", b, width_of.get(b - 1), i), ("fuse", b, i, width_of.get(0))] if b else []
    return blocks + sum(link in missing for link in links)


def _forced_choices(item: tuple) -> tuple[dict[int, int], int | None, int | None]:
    """The branch width indices (by branch), stem and head width indices that an arch must have to hold the
    part `item` of `covering_archs`."""
    kind, *values = item
    if kind == "block":
        return {values[0]: values[1]}, None, None
    if kind == "stem":
        return {0: values[1]}, values[0], None
    if kind == "head":
        return {0: values[0]}, None, values[1]
    if kind == "transition":
        b, p, q = values
        return {b - 1: p, b: q}, None, None
    b, q, hr = values  # fuse, of a lower branch b >= 1
    return {b: q, 0: hr}, None, None


def protocol_id(protocol: dict) -> str:
    """Short stable hash of a protocol: rows measured under another protocol never mix into a table."""
    return hashlib.sha256(json.dumps(protocol, sort_keys=True).encode()).hexdigest()[:12]


class LatencyTable:
    """A CSV of part latencies under one protocol (device, dtype, mode, batch, threads, channels_last).

    `fill` measures the parts of the given archs that the file lacks for this protocol and appends them (a
    part that fails is recorded as failed, not retried); `predict` sums the parts of each arch. Rows of other
    protocols stay in the file untouched, so one file can hold the tables of several devices. The file is read
    once, when the table is made: one table object should be the only writer of its protocol's rows.
    """

    def __init__(self, path: str | Path, space: SearchSpace, *, num_classes: int, resolution: tuple[int, int],
                 device: str = "cpu", dtype: str = "float32", mode: str = "eager", batch: int = 1,
                 threads: int | None = None, channels_last: bool = False, final_upsample: bool = True,
                 **measure_kw) -> None:
        dev, _ = check_settings(device, dtype, mode)
        if batch < 1:
            raise ValueError(f"batch = {batch}, expected >= 1")
        self.space, self.num_classes, self.resolution = space, num_classes, tuple(resolution)
        self.final_upsample = final_upsample
        self.settings = {"device": device, "dtype": dtype, "mode": mode, "batch": batch,
                         "threads": torch.get_num_threads() if threads is None else threads,
                         "channels_last": channels_last}
        self.measure_kw = measure_kw
        self.protocol = {**self.settings, "torch": torch.__version__, **device_info(dev)}
        self.protocol_id = protocol_id(self.protocol)
        self.log = CsvLog(path, COLUMNS)
        self._entries = {row["key"]: row for row in self.log.rows() if row["protocol_id"] == self.protocol_id}

    def entries(self) -> dict[str, dict]:
        """This protocol's rows by part key."""
        return dict(self._entries)

    def fill(self, archs: Sequence[Arch | np.ndarray], progress: bool = False) -> int:
        """Measure the parts of `archs` missing from the table (with a progress bar over the archs if asked);
        returns how many were measured. Each part is appended to the CSV as it is timed, so a killed fill
        resumes where it stopped."""
        measured, supernet = 0, None
        for arch in tqdm(archs, desc="latency table", unit="arch", disable=not progress, dynamic_ncols=True):
            arch = self._as_arch(arch)
            if all(part.key in self._entries for part in network_parts(arch, self.num_classes, self.resolution,
                                                                       self.final_upsample)):
                continue
            supernet = supernet or Supernet(self.space, self.num_classes)
            net = supernet.extract(arch).eval()
            for part, module in part_modules(net, arch, self.num_classes, self.resolution, self.final_upsample):
                if part.key not in self._entries:
                    row = self._measure(part, module)
                    self.log.append(row)
                    self._entries[part.key] = row
                    measured += 1
        return measured

    def fill_space(self, progress: bool = True) -> int:
        """Measure every part that any arch of the space can have (`covering_archs`) and is not in the table yet,
        so that `predict` answers for every arch afterwards; returns how many parts were measured."""
        return self.fill(covering_archs(self.space), progress)

    def part_ms(self, arch: Arch | np.ndarray) -> list[tuple[Part, float]]:
        """Each part of `arch` with its median table latency; KeyError names the parts not in the table."""
        arch = self._as_arch(arch)
        entries = self._entries
        parts = network_parts(arch, self.num_classes, self.resolution, self.final_upsample)
        missing = [p.key for p in parts if p.key not in entries or entries[p.key]["status"] != "ok"]
        if missing:
            raise KeyError(f"{len(missing)} part(s) of the arch have no successful measurement under protocol "
                           f"{self.protocol_id} (run fill first): {missing[:3]}")
        return [(p, float(entries[p.key]["median_ms"])) for p in parts]

    def predict(self, archs: Sequence[Arch | np.ndarray]) -> np.ndarray:
        """Table latency (sum of part medians, ms) of each arch."""
        return np.array([sum(ms for _, ms in self.part_ms(arch)) for arch in archs])

    def _as_arch(self, arch: Arch | np.ndarray) -> Arch:
        return arch if isinstance(arch, Arch) else self.space.decode(arch)

    def _measure(self, part: Part, module: nn.Module) -> dict:
        row = {"key": part.key, "protocol_id": self.protocol_id}
        shape = (self.settings["batch"], *part.input_shape)
        try:
            result = measure_latency(module, shape, self.settings["device"], self.settings["dtype"],
                                     self.settings["mode"], threads=self.settings["threads"],
                                     channels_last=self.settings["channels_last"], **self.measure_kw)
        except RuntimeError as err:  # CUDA out of memory included; recorded, never retried
            return {**row, "status": "failed", "error": f"{type(err).__name__}: {err}"[:500]}
        return {**row, "median_ms": round(result.median_ms, 5), "p90_ms": round(result.p90_ms, 5),
                "repeats": result.repeats, "status": "ok", "protocol": json.dumps(result.protocol, sort_keys=True)}


def table_features(table: LatencyTable, X: np.ndarray) -> np.ndarray:
    """[table latency, genes...] per row of gene matrix X: the input of `surrogates.BaselineResidualModel`."""
    X = np.asarray(X)
    return np.column_stack([table.predict(X), X])
