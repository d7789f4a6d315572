"""The latency backend plug-in point: how a network's forward call is prepared for timing (eager, CUDA graphs,
torch.compile, or a plug-in's, e.g. TensorRT)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable

import torch
from torch import nn

from moseg.core.registry import Registry


class LatencyBackend(ABC):
    """How a network's forward call is prepared for timing: the latency plug-in point. A backend is a subclass
    registered with `@register_latency_backend("name")`; `mode = "name"` selects it in every latency setting.
    `device_types` are the torch device types it can time on (checked before anything is measured)."""

    device_types: tuple[str, ...] = ("cpu", "cuda")

    @abstractmethod
    def runner(self, model: nn.Module, x: torch.Tensor) -> Callable[[], object]:
        """The call to time: one forward pass of `model` (in eval mode, on x's device and dtype) on `x`."""


LATENCY_BACKENDS: Registry[type[LatencyBackend]] = Registry("latency backend")
register_latency_backend = LATENCY_BACKENDS.register


@register_latency_backend("eager")
class Eager(LatencyBackend):
    """PyTorch eager execution: the forward pass as written."""

    def runner(self, model: nn.Module, x: torch.Tensor) -> Callable[[], object]:
        return lambda: model(x)


@register_latency_backend("cuda_graph")
class CudaGraph(LatencyBackend):
    """One forward pass captured as a CUDA graph and replayed: no per-kernel launch cost."""

    device_types = ("cuda",)

    def runner(self, model: nn.Module, x: torch.Tensor) -> Callable[[], object]:
        stream = torch.cuda.Stream()  # warm up on a side stream, as capture requires
        stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(stream):
            for _ in range(3):
                model(x)
        torch.cuda.current_stream().wait_stream(stream)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            model(x)
        return graph.replay


@register_latency_backend("compile")
class Compiled(LatencyBackend):
    """`torch.compile` with its default backend (compiled during the warm-up)."""

    def runner(self, model: nn.Module, x: torch.Tensor) -> Callable[[], object]:
        compiled = torch.compile(model)
        return lambda: compiled(x)
