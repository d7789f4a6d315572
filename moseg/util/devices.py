"""Device names in configs and arguments ('auto', 'cpu', 'cuda', 'cuda:N'), read by one parser so that every
entry point accepts the same forms and rejects a bad one with the same message.

A name is checked twice: its spelling when a config is loaded (`device_name` field metadata, so a config written
on a laptop for a GPU machine still loads), and its availability when a job starts (`resolve_device`). Also the
number of CPU cores a job may use (`usable_cores`)."""

from __future__ import annotations

import os

import torch

from moseg.util.config import check


def _forms(allow_auto: bool) -> str:
    return "'auto', 'cpu', 'cuda' or 'cuda:N'" if allow_auto else "'cpu', 'cuda' or 'cuda:N'"


def _spelled(name: str | torch.device, allow_auto: bool) -> torch.device | None:
    """The device `name` spells (None for 'auto'), or ValueError naming it and the accepted forms."""
    forms = _forms(allow_auto)
    if name == "auto" and allow_auto:
        return None
    try:
        device = torch.device(name)
    except (RuntimeError, TypeError) as err:
        raise ValueError(f"device = {name!r}: expected {forms}") from err
    if device.type not in ("cpu", "cuda"):
        raise ValueError(f"device = {name!r}: expected {forms}")
    return device


def device_name(allow_auto: bool = True) -> dict:
    """Field metadata: the value spells a device (availability is checked when a job starts)."""
    def spelled(name: str) -> bool:
        try:
            _spelled(name, allow_auto)
        except ValueError:
            return False
        return True

    return check(spelled, _forms(allow_auto))


def resolve_device(name: str | torch.device, *, local_rank: int | None = None,
                   allow_auto: bool = True) -> torch.device:
    """The device `name` stands for on this machine, or ValueError naming it when it is misspelt or absent.

    'auto' is this process's GPU when there is one, else the CPU. With `local_rank` (a distributed process),
    'auto' and a bare 'cuda' mean cuda:LOCAL_RANK. `allow_auto=False` is for settings recorded with their
    results (a latency protocol), where 'auto' would not say which device was measured."""
    device = _spelled(name, allow_auto)
    if device is None:
        if not torch.cuda.is_available():
            return torch.device("cpu")
        device = torch.device("cuda")
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"device = {name!r} but no CUDA GPU is available here; use 'cpu'")
        if device.index is None and local_rank is not None:
            device = torch.device("cuda", local_rank)
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ValueError(f"device = {name!r} but only {torch.cuda.device_count()} GPU(s) are visible")
    return device


def usable_cores() -> int:
    """The CPU cores this process may run on (its affinity mask where the platform has one)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
