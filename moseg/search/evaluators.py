"""The evaluator plug-in point: how a batch of candidates gets its true evaluations.

A search hands its evaluator whole batches (the design of experiments, each iteration's in-fill) and records
each result in the archive as it arrives, in whatever order. An evaluator is a class registered with
`@register_evaluator("name")`, built as `cls(make_evaluate, **options)`: `make_evaluate()` returns the evaluation
function (candidates, one per row, to objectives, one row each) and is called where the evaluation runs, so an
evaluator that runs candidates in other processes or on other machines builds it there (a job passes a
picklable factory). `SerialEvaluator` evaluates one candidate after another in this process.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from moseg.core.registry import Registry

EvaluateFn = Callable[[np.ndarray], np.ndarray]  # candidates (one per row) -> objectives (one row each)


@dataclass(frozen=True)
class Outcome:
    """The result of one candidate of a batch: its row `index` in the batch, its objectives (an array of one row)
    or the error it raised, and the seconds its evaluation took."""

    index: int
    objectives: np.ndarray | None
    error: BaseException | None
    seconds: float


class Evaluator(ABC):
    """Evaluates batches of candidate vectors; see the module docstring."""

    @abstractmethod
    def evaluate(self, X: np.ndarray) -> Iterator[Outcome]:
        """One `Outcome` per row of X, each as soon as it is known (any order). A candidate whose evaluation
        raises is an outcome with its error, not an exception of the batch."""

    def close(self) -> None:  # noqa: B027 - optional: most evaluators hold nothing to release
        """Release what the evaluator holds (workers, devices); the search calls it when it ends."""


EVALUATORS: Registry[Callable[..., Evaluator]] = Registry("evaluator")
register_evaluator = EVALUATORS.register


def timed_outcome(index: int, evaluate: EvaluateFn, x: np.ndarray) -> Outcome:
    """The outcome of evaluating the one vector x with `evaluate`, its error kept rather than raised."""
    started = time.perf_counter()
    try:
        objectives, error = evaluate(np.asarray(x, dtype=np.int64)[None, :]), None
    except Exception as err:  # noqa: BLE001 - any failure of a user's evaluation is recorded, not raised
        objectives, error = None, err
    return Outcome(index, objectives, error, time.perf_counter() - started)


@register_evaluator("serial")
class SerialEvaluator(Evaluator):
    """One candidate after another, in this process, in batch order (the evaluation function is made once)."""

    def __init__(self, make_evaluate: Callable[[], EvaluateFn]) -> None:
        self.make_evaluate = make_evaluate
        self._evaluate: EvaluateFn | None = None

    def evaluate(self, X: np.ndarray) -> Iterator[Outcome]:
        if self._evaluate is None:
            self._evaluate = self.make_evaluate()
        for index, x in enumerate(X):
            yield timed_outcome(index, self._evaluate, x)


def as_evaluator(evaluate: EvaluateFn | Evaluator) -> Evaluator:
    """An Evaluator as given, or a function of candidates evaluated serially."""
    return evaluate if isinstance(evaluate, Evaluator) else SerialEvaluator(lambda: evaluate)
