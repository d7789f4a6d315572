"""Where moseg meets Ray (an optional extra): connecting to a Ray instance, and the resources a Ray worker asks for.

Candidate evaluation (`moseg.search.ray_evaluator`) and retraining (`moseg.jobs.retrain`) run on Ray actors and
tasks; both connect the same way and describe their workers the same way, so `evaluator.options` reads alike in
`moseg search`, `moseg retrain` and the pipeline.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import ModuleType

INSTALL = 'pip install -e ".[ray]" (or pip install "ray>=2.9")'


class RayNotInstalled(ImportError, ValueError):
    """Ray was asked for and is not installed: bad input to the job (a ValueError), saying how to install it."""


def import_ray() -> ModuleType:
    """The `ray` module; `RayNotInstalled`, saying how to install it, when it is missing."""
    try:
        import ray
    except ImportError:
        raise RayNotInstalled(f"running on Ray needs Ray, an optional extra of moseg: {INSTALL}") from None
    return ray


@dataclass(frozen=True)
class RayWorkers:
    """A pool of Ray workers: the Ray instance to use (`address`: None is Ray's default, the cluster RAY_ADDRESS
    names or one already running on this machine, else a new one here; "auto" joins the cluster this machine
    belongs to; "HOST:PORT" names its head), how many workers, and what each one reserves
    (CPU cores, GPUs, and custom resources such as {"device_jetson": 1}, which pin a worker to the nodes that offer
    them). A worker's torch uses as many threads as it has CPUs."""

    address: str | None = None
    workers: int = 1
    cpus_per_worker: float = 1.0
    gpus_per_worker: float = 0.0
    resources: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.address is not None and (not isinstance(self.address, str) or not self.address):
            raise ValueError(f"address = {self.address!r}, expected None (a Ray instance on this machine), 'auto' or "
                             "'HOST:PORT' of a Ray head")
        if isinstance(self.workers, bool) or not isinstance(self.workers, int) or self.workers < 1:
            raise ValueError(f"workers = {self.workers!r}, expected an integer >= 1")
        for name, low in (("cpus_per_worker", 0.0), ("gpus_per_worker", 0.0)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value >= low:
                raise ValueError(f"{name} = {value!r}, expected a number >= {low:g}")
        if not isinstance(self.resources, Mapping) or not all(
                isinstance(k, str) and isinstance(v, numbers.Real) and not isinstance(v, bool) and v > 0
                for k, v in self.resources.items()):
            raise ValueError(f"resources = {self.resources!r}, expected a mapping of custom resource name to a "
                             "positive amount, e.g. {device_jetson: 1}")

    def options(self) -> dict:
        """The `ray.remote(...)` options of one worker."""
        return {"num_cpus": self.cpus_per_worker, "num_gpus": self.gpus_per_worker,
                "resources": dict(self.resources) or None}

    def env(self) -> dict:
        """Environment of a worker: its torch threads, one per reserved core (at least one)."""
        threads = str(max(1, int(self.cpus_per_worker)))
        return {"OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads}

    def check_fits(self, ray: ModuleType, together: bool) -> None:
        """ValueError, naming what is asked and what the cluster offers, when no node can hold one worker, or (with
        `together`, for workers that must all run at once) the cluster cannot hold all of them: Ray would wait
        for resources that never come."""
        need = {"CPU": self.cpus_per_worker, "GPU": self.gpus_per_worker, **self.resources}
        need = {name: amount for name, amount in need.items() if amount > 0}
        nodes = [node["Resources"] for node in ray.nodes() if node.get("Alive")]
        if not any(all(node.get(name, 0) >= amount for name, amount in need.items()) for node in nodes):
            offered = [{k: v for k, v in node.items() if not k.startswith(("node:", "memory", "object_store"))}
                       for node in nodes]
            raise ValueError(f"no node of the Ray cluster can hold a worker asking for {need}; its nodes offer "
                             f"{offered}")
        total = ray.cluster_resources()
        short = {name: amount * self.workers for name, amount in need.items()
                 if together and amount * self.workers > total.get(name, 0)}
        if short:
            raise ValueError(f"workers = {self.workers} asking for {need} each need {short} at once; the Ray "
                             f"cluster has {({name: total.get(name, 0) for name in short})}")

    def connect(self) -> tuple[ModuleType, bool]:
        """`ray`, connected to the instance `address` names unless this process is connected already; and whether
        this call started the connection (its owner shuts it down)."""
        ray = import_ray()
        if ray.is_initialized():
            return ray, False
        ray.init(address=self.address, include_dashboard=False, logging_level="ERROR", log_to_driver=False,
                 configure_logging=False)
        return ray, True
