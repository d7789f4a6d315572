"""Level 2 of the pre-screening: which k of the level-1 candidates get a true evaluation.

Level 1 (in the loop) keeps the candidates that are non-dominated under the predictions and not evaluated yet,
topped up from the next predicted fronts. Every selector here takes those candidates in level-1 order with
their predicted objectives (and spread), the archive's true front and the run's reference point, and returns
the indices of the k to evaluate:

* `spacing` (MoSegNAS-style): greedy subset whose values of the cheap objective (latency), merged with the
  true front's, are most evenly spaced, so the evaluations cover the whole trade-off; a quarter of k (at least
  one) is then topped up with the best predicted accuracy.
* `hvi`: greedy maximum predicted hypervolume improvement over the true front.
* `optimistic`: `hvi` on the optimistic bound mean - spread (the spread of an ensemble of surrogates), which
  favours candidates the surrogates are unsure about.
* `none`: the first k in level-1 order (NSGA-II's rank and crowding), i.e. no pre-screening.

A new selector is a function with the same arguments, decorated with `@PRESCREENERS.register("name")`; the
search's `prescreen` setting accepts it from then on.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from moseg.core.registry import Registry
from moseg.search.indicators import hypervolume

Selector = Callable[..., list[int]]
PRESCREENERS: Registry[Selector] = Registry("pre-screener")


def gap_unevenness(values: np.ndarray) -> float:
    """Coefficient of variation of the gaps between sorted values (0: perfectly even spacing)."""
    gaps = np.diff(np.sort(values))
    return float(gaps.std() / gaps.mean()) if len(gaps) > 1 and gaps.mean() > 0 else 0.0


@PRESCREENERS.register("spacing")
def select_spacing(predicted: np.ndarray, spread: np.ndarray | None, front: np.ndarray, k: int,
                   ref_point: np.ndarray, cheap: int, accuracy: int) -> list[int]:
    n_best = max(1, k // 4)
    chosen: list[int] = []
    values = list(front[:, cheap])
    for _ in range(min(k - n_best, len(predicted))):
        remaining = [i for i in range(len(predicted)) if i not in chosen]
        best = min(remaining, key=lambda i: gap_unevenness(np.array([*values, predicted[i, cheap]])))
        chosen.append(best)
        values.append(predicted[best, cheap])
    by_accuracy = [i for i in np.argsort(predicted[:, accuracy], kind="stable") if i not in chosen]
    return chosen + [int(i) for i in by_accuracy[: k - len(chosen)]]


@PRESCREENERS.register("hvi")
def select_hvi(predicted: np.ndarray, spread: np.ndarray | None, front: np.ndarray, k: int,
               ref_point: np.ndarray, cheap: int, accuracy: int) -> list[int]:
    chosen: list[int] = []
    current = front.copy()
    for _ in range(min(k, len(predicted))):
        base = hypervolume(current, ref_point)
        remaining = [i for i in range(len(predicted)) if i not in chosen]
        gains = [hypervolume(np.vstack([current, predicted[i]]), ref_point) - base for i in remaining]
        best = remaining[int(np.argmax(gains))] if max(gains) > 0 else remaining[0]  # no gain: level-1 order
        chosen.append(best)
        current = np.vstack([current, predicted[best]])
    return chosen


@PRESCREENERS.register("optimistic")
def select_optimistic(predicted: np.ndarray, spread: np.ndarray | None, front: np.ndarray, k: int,
                      ref_point: np.ndarray, cheap: int, accuracy: int) -> list[int]:
    if spread is None:
        raise ValueError("prescreen = 'optimistic' needs the surrogates' spread (return_std)")
    return select_hvi(predicted - spread, None, front, k, ref_point, cheap, accuracy)


@PRESCREENERS.register("none")
def select_none(predicted: np.ndarray, spread: np.ndarray | None, front: np.ndarray, k: int,
                ref_point: np.ndarray, cheap: int, accuracy: int) -> list[int]:
    return list(range(min(k, len(predicted))))

