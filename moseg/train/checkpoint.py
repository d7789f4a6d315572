"""Checkpoints that let a run continue as if it had never stopped: model, optimiser, scheduler, gradient
scaler and every random generator, written atomically so a kill mid-write never leaves a broken file."""

from __future__ import annotations

import hashlib
import os
import random
from pathlib import Path

import numpy as np
import torch

FORMAT = 1


def rng_state() -> dict:
    state = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(state: dict) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def tensor_digests(state: dict[str, torch.Tensor]) -> dict[str, str]:
    """A short checksum of every tensor's bytes, so that a damaged file (a flipped byte) is found on loading."""
    return {name: hashlib.blake2b(tensor.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy(),
                                  digest_size=16).hexdigest() for name, tensor in state.items()}


def non_finite_tensor(state: dict[str, torch.Tensor]) -> str | None:
    """The name of the first floating-point tensor holding NaN or infinity, or None."""
    return next((name for name, t in state.items() if t.is_floating_point() and not torch.isfinite(t).all()), None)


def save_checkpoint(path: str | Path, payload: dict) -> Path:
    """Write `payload` (plus the format version, RNG states and the checksums of its model tensors) to `path` via a
    temporary file and an atomic rename. Model weights holding NaN or infinity are refused (ValueError naming the
    tensor), so a diverged run never overwrites its last good checkpoint."""
    path = Path(path)
    extra = {}
    if "model" in payload:
        bad = non_finite_tensor(payload["model"])
        if bad is not None:
            raise ValueError(f"not writing {path}: model tensor {bad!r} holds NaN or infinity (training diverged; "
                             "lower optim.lr, or raise optim.warmup_iters); the previous checkpoint is kept")
        extra["model_digests"] = tensor_digests(payload["model"])
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save({"format": FORMAT, "rng": rng_state(), **payload, **extra}, tmp)
    os.replace(tmp, path)
    return path


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict:
    """A checkpoint written by `save_checkpoint`, checked: ValueError naming the file (and the tensor) for a
    truncated or foreign file, a tensor that no longer matches its checksum, or weights holding NaN or infinity."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=False)
    except Exception as err:  # noqa: BLE001 - whatever the unpickler trips on, the file is unreadable
        raise ValueError(f"{path} cannot be read as a checkpoint ({type(err).__name__}: {err}); the file is "
                         "truncated or not a moseg checkpoint") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ValueError(f"{path} is not a moseg checkpoint of format {FORMAT}")
    model = payload.get("model", {})
    if "model_digests" in payload:
        digests = tensor_digests(model)
        changed = next((name for name, digest in payload["model_digests"].items() if digests.get(name) != digest),
                       None)
        if changed is not None:
            raise ValueError(f"{path}: model tensor {changed!r} does not match the checksum written with it; the "
                             "file is damaged. Restore a copy, or delete it to train again from the start")
    bad = non_finite_tensor(model)
    if bad is not None:
        raise ValueError(f"{path}: model tensor {bad!r} holds NaN or infinity; the run it comes from diverged")
    return payload
