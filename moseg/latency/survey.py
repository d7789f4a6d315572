"""End-to-end latency of many archs of a search space, appended to a CSV row by row.

Each row holds the arch's gene vector, its analytic cost, the latency statistics and the full protocol (JSON),
so a latency table can be rebuilt, compared or fitted from the file alone. Rerunning the same command skips
every arch already in the file; an arch that fails to measure (e.g. out of memory) is recorded as failed with
its error and the job goes on.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from moseg.latency.measure import check_settings, measure_latency
from moseg.nn import Supernet
from moseg.space import Arch, SearchSpace, count_flops, count_params
from moseg.util.csvlog import CsvLog, vector_key
from moseg.util.schema import GENES, MACS, PARAMS, RENAMED_IN

COLUMNS = ["name", GENES, PARAMS, MACS, "median_ms", "p90_ms", "mean_ms", "std_ms", "repeats", "status",
           "error", "protocol"]


def survey_archs(space: SearchSpace, n: int, seed: int) -> list[tuple[str, np.ndarray]]:
    """The archs `moseg latency` measures: min, max, then `n` hierarchically sampled ones. Sample i depends
    on (seed, i) only, so a larger `n` extends an earlier survey instead of replacing it."""
    archs = [("min", space.encode(space.min_arch())), ("max", space.encode(space.max_arch()))]
    return archs + [(f"sample {i}", space.sample(1, np.random.default_rng([seed, i]))[0]) for i in range(n)]


def reference_archs(space: SearchSpace, num_classes: int, n_sample: int = 200, seed: int = 0,
                    resolution: tuple[int, int] = (360, 480)) -> dict[str, Arch]:
    """min, max, and the arch of median analytic FLOPs at `resolution` among `n_sample` sampled ones: the
    three archs that benchmarks report."""
    sampled = [space.decode(x) for x in space.sample(n_sample, seed)]
    flops = [count_flops(a, num_classes, resolution) for a in sampled]
    median = sampled[int(np.argsort(flops)[len(flops) // 2])]
    return {"min": space.min_arch(), "median": median, "max": space.max_arch()}


def measure_archs(space: SearchSpace, archs: Sequence[tuple[str, np.ndarray]], out: str | Path, *,
                  num_classes: int, resolution: tuple[int, int], device: str = "cpu", dtype: str = "float32",
                  mode: str = "eager", batch: int = 1, **measure_kw) -> list[dict]:
    """Measure each (name, gene vector) not yet in the CSV `out` and append its row; returns the new rows.

    Weights do not change latency, so every arch is extracted from one freshly initialised supernet.
    `measure_kw` goes to `measure_latency` (threads, channels_last, final_upsample, min_time_s, ...)."""
    check_settings(device, dtype, mode)
    log = CsvLog(out, COLUMNS, RENAMED_IN["latency survey"])
    done = {row[GENES] for row in log.rows()}
    supernet = Supernet(space, num_classes)
    new_rows, (h, w) = [], resolution
    for name, x in archs:
        key = vector_key(space.canonical(x))
        if key in done:
            continue
        arch = space.decode(x)
        row = {"name": name, GENES: key, PARAMS: count_params(arch, num_classes),
               MACS: count_flops(arch, num_classes, (h, w))}
        try:
            result = measure_latency(supernet.extract(arch), (batch, 3, h, w), device, dtype, mode, **measure_kw)
            row.update({k: round(v, 5) for k, v in result.to_dict().items() if k.endswith("_ms")},
                       repeats=result.repeats, status="ok", protocol=json.dumps(result.protocol, sort_keys=True))
        except RuntimeError as err:  # CUDA out of memory included; recorded, never retried
            row.update(status="failed", error=f"{type(err).__name__}: {err}"[:500])
        log.append(row)
        done.add(key)
        new_rows.append(row)
    return new_rows
