"""Latency measured the way a deployment engineer would, with the protocol recorded beside the numbers.

Batch-1 eager PyTorch on a GPU is dominated by kernel-launch overhead for small networks, so the GPU default
is `cuda_graph` (capture once, replay); `eager` stays for comparison with papers that used it, and `compile`
runs `torch.compile`. Timing uses CUDA events on a GPU and `perf_counter` on a CPU.
"""

from __future__ import annotations

import copy
import numbers
import socket
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
from torch import nn

from moseg.core.ray_cluster import RayWorkers
from moseg.latency.backends import LATENCY_BACKENDS
from moseg.nn.network import set_final_upsample
from moseg.util.config import check, choices, non_negative, positive
from moseg.util.devices import device_name, resolve_device
from moseg.util.provenance import device_info

DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


@dataclass(frozen=True)
class LatencyResult:
    """Per-call latency statistics in milliseconds and the protocol that produced them."""

    median_ms: float
    p90_ms: float
    mean_ms: float
    std_ms: float
    repeats: int
    protocol: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


def _parse_dtype(dtype: str | torch.dtype, dev: torch.device) -> torch.dtype:
    names = {v: k for k, v in DTYPES.items()}
    if isinstance(dtype, str):
        if dtype not in DTYPES:
            raise ValueError(f"dtype = {dtype!r}, expected one of {sorted(DTYPES)}")
        dtype = DTYPES[dtype]
    if dtype not in names:
        raise ValueError(f"dtype = {dtype!r}, expected one of {sorted(DTYPES)}")
    if dev.type == "cpu" and dtype == torch.float16:
        raise ValueError("dtype = 'float16' is not a CPU deployment dtype here; use 'float32' or 'bfloat16' on CPU")
    return dtype


def check_settings(device: str | torch.device, dtype: str | torch.dtype, mode: str) -> tuple[torch.device, torch.dtype]:
    """The parsed device and dtype, or ValueError naming a bad device, dtype or mode (or a combination that
    this machine cannot run), so a long measurement job fails before it starts."""
    if not isinstance(mode, str) or mode not in LATENCY_BACKENDS:
        raise ValueError(f"mode = {mode!r}, expected one of {list(LATENCY_BACKENDS)}")
    dev = resolve_device(device, allow_auto=False)
    kinds = LATENCY_BACKENDS[mode].device_types
    if dev.type not in kinds:
        raise ValueError(f"mode = {mode!r} needs a {' or '.join(k.upper() for k in kinds)} device, got device = "
                         f"{str(device)!r}")
    return dev, _parse_dtype(dtype, dev)


def protocol_of(dev: torch.device, dtype: torch.dtype, input_shape: tuple, mode: str, threads: int,
                channels_last: bool) -> dict:
    """Everything needed to reproduce (or discount) a latency figure."""
    proto = {
        "device": str(dev), "torch": torch.__version__, "dtype": str(dtype).replace("torch.", ""),
        "input_shape": list(input_shape), "batch": input_shape[0], "mode": mode, "threads": threads,
        "channels_last": channels_last, "timer": "cuda_event" if dev.type == "cuda" else "perf_counter",
        "host": socket.gethostname(),
    }
    proto.update(device_info(dev))
    return proto


def _time_calls(run: Callable[[], object], n: int, dev: torch.device) -> list[float]:
    """Milliseconds of each of `n` calls."""
    times = []
    if dev.type == "cuda":
        events = [(torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)) for _ in range(n)]
        for start, end in events:
            start.record()
            run()
            end.record()
        torch.cuda.synchronize(dev)
        return [start.elapsed_time(end) for start, end in events]
    for _ in range(n):
        t0 = time.perf_counter()
        run()
        times.append((time.perf_counter() - t0) * 1e3)
    return times


def _timed_runs(run: Callable[[], object], dev: torch.device, warmup_chunk: int, max_warmup_chunks: int,
                stable_tolerance: float, min_repeats: int, min_time_s: float) -> tuple[list[float], int]:
    """Warm up `run` until stable, then time it: sorted per-call milliseconds and the warm-up call count."""
    previous = None
    warmup_calls = 0
    for _ in range(max_warmup_chunks):
        current = statistics.median(_time_calls(run, warmup_chunk, dev))
        warmup_calls += warmup_chunk
        if previous is not None and abs(current - previous) <= stable_tolerance * previous:
            break
        previous = current
    times: list[float] = []
    while len(times) < min_repeats or sum(times) < min_time_s * 1e3:
        times += _time_calls(run, max(1, min_repeats // 2), dev)
    return sorted(times), warmup_calls


def _result(times: list[float], protocol: dict) -> LatencyResult:
    return LatencyResult(
        median_ms=statistics.median(times),
        p90_ms=times[min(len(times) - 1, int(0.9 * len(times)))],
        mean_ms=statistics.fmean(times),
        std_ms=statistics.pstdev(times),
        repeats=len(times),
        protocol=protocol,
    )


def _check_shape(input_shape: tuple, min_repeats: int, warmup_chunk: int) -> None:
    if len(input_shape) != 4 or any(not isinstance(s, int) or s < 1 for s in input_shape):
        raise ValueError(f"input_shape = {input_shape!r}, expected (batch, channels, height, width) positive integers")
    if min_repeats < 1 or warmup_chunk < 1:
        raise ValueError(f"min_repeats = {min_repeats}, warmup_chunk = {warmup_chunk}: both must be >= 1")


def measure_latency(
    model: nn.Module,
    input_shape: tuple[int, int, int, int],
    device: str | torch.device = "cpu",
    dtype: str | torch.dtype = "float32",
    mode: str = "eager",
    *,
    final_upsample: bool = True,
    threads: int | None = None,
    channels_last: bool = False,
    warmup_chunk: int = 10,
    max_warmup_chunks: int = 20,
    stable_tolerance: float = 0.05,
    min_repeats: int = 30,
    min_time_s: float = 1.0,
) -> LatencyResult:
    """Latency of one forward pass of (a copy of) `model` in eval mode on a random `input_shape` input.

    `final_upsample` says whether the upsampling of the logits to the input size is timed; False needs a
    moseg network (one with `upsample_output`). Warm-up runs in chunks of `warmup_chunk` calls until two
    consecutive chunk medians agree within `stable_tolerance` (at most `max_warmup_chunks`); then calls are
    timed one by one until both `min_repeats` calls and `min_time_s` seconds are reached. On CPU `threads`
    fixes torch's thread count (default: the current setting) for the measurement.
    """
    _check_shape(input_shape, min_repeats, warmup_chunk)
    dev, dtype = check_settings(device, dtype, mode)
    previous_threads = torch.get_num_threads()
    threads = previous_threads if threads is None else threads
    if threads < 1:
        raise ValueError(f"threads = {threads}, expected >= 1")
    memory_format = torch.channels_last if channels_last else torch.contiguous_format
    net = copy.deepcopy(model).eval().to(device=dev, dtype=dtype, memory_format=memory_format)
    set_final_upsample(net, final_upsample)
    x = torch.randn(input_shape, device=dev, dtype=dtype).contiguous(memory_format=memory_format)
    torch.set_num_threads(threads)
    try:
        with torch.inference_mode():
            run = LATENCY_BACKENDS[mode]().runner(net, x)
            times, warmup_calls = _timed_runs(run, dev, warmup_chunk, max_warmup_chunks, stable_tolerance,
                                              min_repeats, min_time_s)
    finally:
        torch.set_num_threads(previous_threads)
    proto = protocol_of(dev, dtype, input_shape, mode, threads, channels_last)
    proto.update(final_upsample=final_upsample, warmup_calls=warmup_calls)
    return _result(times, proto)


def measure_onnx_latency(
    path: str | Path,
    input_shape: tuple[int, int, int, int],
    *,
    threads: int = 1,
    warmup_chunk: int = 10,
    max_warmup_chunks: int = 20,
    stable_tolerance: float = 0.05,
    min_repeats: int = 30,
    min_time_s: float = 1.0,
) -> LatencyResult:
    """Latency of an ONNX model (see `moseg.report.export.export_onnx`) in ONNX Runtime on the CPU with `threads`
    intra-op threads and all graph optimisations, by the same warm-up and repeat rules as
    `measure_latency`. Needs the `onnx` extra (onnxruntime)."""
    try:
        import onnxruntime as ort
    except ImportError as err:
        raise ImportError("ONNX Runtime latency needs the onnx extra: pip install 'moseg[onnx]'") from err
    _check_shape(input_shape, min_repeats, warmup_chunk)
    if threads < 1:
        raise ValueError(f"threads = {threads}, expected >= 1")
    if not Path(path).is_file():
        raise FileNotFoundError(f"ONNX model {path} does not exist")
    options = ort.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    feed = {session.get_inputs()[0].name: np.random.default_rng(0).standard_normal(input_shape, np.float32)}
    cpu = torch.device("cpu")
    times, warmup_calls = _timed_runs(lambda: session.run(None, feed), cpu, warmup_chunk, max_warmup_chunks,
                                      stable_tolerance, min_repeats, min_time_s)
    proto = protocol_of(cpu, torch.float32, input_shape, "onnxruntime", threads, False)
    proto.update(backend="onnxruntime", onnxruntime=ort.__version__, providers=session.get_providers(),
                 model=str(path), warmup_calls=warmup_calls)
    return _result(times, proto)


@dataclass
class LatencySettings:
    """A latency protocol as a config section (see `moseg.util.config`): where and how a network is timed, so every
    network of a comparison (searched or hand-designed) is measured the same way."""

    resolution: tuple[int, int] = (360, 480)  # input height, width
    device: str = field(default="cpu", metadata=device_name(allow_auto=False))
    dtype: str = "float32"
    mode: str = field(default="eager", metadata=choices(LATENCY_BACKENDS))
    batch: int = field(default=1, metadata=positive())
    threads: int | None = field(default=None, metadata=positive())
    min_time_s: float = field(default=1.0, metadata=non_negative())
    final_upsample: bool = True  # False: logits at 1/8 resolution are timed (moseg networks and baselines)
    # time on the node of a Ray cluster that offers these custom resources (e.g. {device_jetson: 1}: the target
    # device), as a Ray task; the protocol records the node's host name. None: on this machine
    ray_resources: dict | None = field(default=None, metadata=check(
        lambda v: bool(v) and all(isinstance(k, str) and isinstance(n, numbers.Real) and not isinstance(n, bool)
                                  and n > 0 for k, n in v.items()),
        "a non-empty mapping of custom resource name to a positive amount, e.g. {device_jetson: 1}"))

    def input_shape(self) -> tuple[int, int, int, int]:
        return (self.batch, 3, *self.resolution)

    def check(self) -> None:
        """ValueError naming a device, dtype or mode this machine cannot measure with (the target node checks its
        own when the timing is pinned to one)."""
        if self.ray_resources is None:
            check_settings(self.device, self.dtype, self.mode)

    def describe(self) -> str:
        """The protocol in words for tables and figure axes, e.g. 'cpu (Intel Xeon), float32 eager, 1 thread,
        batch 1 at 240x180' (width x height, like the data protocols)."""
        if self.ray_resources is not None:
            where = ", ".join(f"{k}={v:g}" for k, v in self.ray_resources.items())
            return (f"{self.device} of the Ray node offering {where}, {self.dtype} {self.mode}, batch {self.batch} "
                    f"at {self.resolution[1]}x{self.resolution[0]}{'' if self.final_upsample else ', logits at 1/8'}")
        dev = resolve_device(self.device, allow_auto=False)
        threads = torch.get_num_threads() if self.threads is None else self.threads
        name = device_info(dev)["device_name"]
        cpu_threads = f", {threads} thread{'s' * (threads > 1)}" if dev.type == "cpu" else ""
        upsample = "" if self.final_upsample else ", logits at 1/8"
        return (f"{dev.type} ({name}), {self.dtype} {self.mode}{cpu_threads}, batch {self.batch} at "
                f"{self.resolution[1]}x{self.resolution[0]}{upsample}")  # width x height, as data protocols say

    def measure(self, model: nn.Module) -> LatencyResult:
        """`measure_latency` of `model` under these settings, here or on the Ray node of `ray_resources`."""
        if self.ray_resources is not None:
            return measure_on_ray_node(self, model)
        return measure_latency(model, self.input_shape(), self.device, self.dtype, self.mode,
                               final_upsample=self.final_upsample, threads=self.threads, min_time_s=self.min_time_s)


def measure_on_ray_node(settings: LatencySettings, model: nn.Module) -> LatencyResult:
    """`settings.measure(model)` as a Ray task on a node that offers `settings.ray_resources` (using the Ray instance
    this process is connected to, else joining the running cluster); ValueError when no node offers them. The task
    reserves the custom resources (one timing at a time per unit), a GPU when it times on one, and no CPU: an
    evaluation actor waiting for its timing must not keep it from starting."""
    gpus = 1.0 if str(settings.device).startswith("cuda") else 0.0
    node = RayWorkers(address="auto", cpus_per_worker=0.0, gpus_per_worker=gpus, resources=settings.ray_resources)
    ray, _ = node.connect()
    try:
        node.check_fits(ray, together=False)
    except ValueError as err:
        raise ValueError(f"latency.ray_resources = {settings.ray_resources!r}: {err}; start the target's node with "
                         f"ray start --address=HEAD:PORT --resources='{{\"{next(iter(settings.ray_resources))}\": 1}}'"
                         ) from None
    here = replace(settings, ray_resources=None)
    task = ray.remote(max_retries=1, runtime_env={"env_vars": node.env()}, **node.options())(_measure_here)
    return ray.get(task.remote(here, copy.deepcopy(model).cpu()))


def _measure_here(settings: LatencySettings, model: nn.Module) -> LatencyResult:
    return settings.measure(model)
