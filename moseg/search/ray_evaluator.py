"""The `ray` evaluator: a pool of Ray actors evaluates each batch's candidates in parallel, on this machine or on a
Ray cluster (`evaluator.kind=ray evaluator.options={workers: 8, gpus_per_worker: 1}`).

Each actor builds the evaluation once (`make_evaluate()`: the supernet checkpoint and its evaluation data, loaded
on the actor's own device) and scores one candidate at a time; results come back as they finish, and the driver
alone writes the archive. A candidate whose evaluation raises (out-of-memory included) or gives objectives that
are not finite is recorded as failed, as in a serial search. An actor that dies (its process killed, its node lost)
is replaced and its candidate retried once, then recorded as failed.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator, Mapping

import numpy as np

from moseg.core.ray_cluster import RayWorkers, import_ray
from moseg.search.evaluators import EvaluateFn, Evaluator, Outcome, register_evaluator, timed_outcome


class WorkerDied(RuntimeError):
    """The Ray worker evaluating a candidate died, as many times as the evaluator retries."""


def remote_error(name: str, message: str) -> Exception:
    """An exception named like the one a worker raised (`name`), with its message, so the archive reads as it
    reads after a serial evaluation ("ValueError: ..."); the worker's exception itself may not travel."""
    return type(name, (RuntimeError,), {})(message)


class EvaluationWorker:
    """One Ray actor: builds the evaluation once (`ready`), then evaluates one candidate per call."""

    def __init__(self, make_evaluate: Callable[[], EvaluateFn]) -> None:
        self.make_evaluate = make_evaluate
        self.evaluate_fn: EvaluateFn | None = None

    def ready(self) -> None:
        """Build the evaluation (an error here is the job's, not a candidate's)."""
        self.evaluate_fn = self.make_evaluate()

    def evaluate(self, x: np.ndarray) -> tuple[np.ndarray | None, tuple[str, str] | None, float]:
        """The objectives of x, or its error as (exception name, message), and the seconds it took."""
        outcome = timed_outcome(0, self.evaluate_fn, x)
        error = None if outcome.error is None else (type(outcome.error).__name__, str(outcome.error))
        return outcome.objectives, error, outcome.seconds


@register_evaluator("ray")
class RayEvaluator(Evaluator):
    """`workers` Ray actors, each reserving `cpus_per_worker` cores, `gpus_per_worker` GPUs and the custom
    `resources`, on the Ray instance at `address` (see `moseg.core.ray_cluster.RayWorkers`); an actor that dies is
    replaced and its candidate retried `retries` times before it is recorded as failed."""

    def __init__(self, make_evaluate: Callable[[], EvaluateFn], address: str | None = None, workers: int = 1,
                 cpus_per_worker: float = 1.0, gpus_per_worker: float = 0.0,
                 resources: Mapping[str, float] | None = None, retries: int = 1) -> None:
        self.pool = RayWorkers(address, workers, cpus_per_worker, gpus_per_worker, resources or {})
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
            raise ValueError(f"retries = {retries!r}, expected an integer >= 0")
        import_ray()  # refused now, saying how to install Ray, rather than at the first batch
        self.make_evaluate, self.retries = make_evaluate, retries
        self.actors: list = []
        self._ray = None
        self._owns_connection = False

    def evaluate(self, X: np.ndarray) -> Iterator[Outcome]:
        ray = self._start()
        queue, attempts, pending = deque(range(len(X))), dict.fromkeys(range(len(X)), 0), {}
        idle = list(self.actors)
        while queue or pending:
            while queue and idle:
                index, actor = queue.popleft(), idle.pop()
                pending[actor.evaluate.remote(X[index])] = (index, actor)
            [ref], _ = ray.wait(list(pending), num_returns=1)
            index, actor = pending.pop(ref)
            try:
                objectives, error, seconds = ray.get(ref)
            except ray.exceptions.RayActorError as died:
                idle.append(self._replace(actor))
                attempts[index] += 1
                if attempts[index] <= self.retries:
                    queue.appendleft(index)
                else:
                    yield Outcome(index, None, WorkerDied(
                        f"the Ray worker evaluating it died {attempts[index]} times ({type(died).__name__})"), 0.0)
                continue
            except ray.exceptions.RayError as err:  # e.g. a result that cannot be sent back: the candidate's failure
                objectives, error, seconds = None, (type(err).__name__, str(err)), 0.0
            idle.append(actor)
            yield Outcome(index, objectives, None if error is None else remote_error(*error), seconds)

    def _start(self):
        """Connect to Ray and start the actors (each builds its evaluation) on first use."""
        if self._ray is None:
            self._ray, self._owns_connection = self.pool.connect()
        if not self.actors:
            self.pool.check_fits(self._ray, together=True)  # actors that cannot all start would be waited for forever
            self.actors = [self._new_actor() for _ in range(self.pool.workers)]
            self._ready(self.actors)
        return self._ray

    def _new_actor(self):
        ray = self._ray
        remote = ray.remote(max_restarts=0, runtime_env={"env_vars": self.pool.env()},
                            **self.pool.options())(EvaluationWorker)
        return remote.remote(self.make_evaluate)

    def _ready(self, actors: list) -> None:
        """Wait until `actors` have built their evaluation; a failure to build it stops the search with its error."""
        ray = self._ray
        try:
            ray.get([actor.ready.remote() for actor in actors])
        except ray.exceptions.RayTaskError as err:
            cause = err.cause if getattr(err, "cause", None) is not None else err
            raise RuntimeError(f"a Ray worker could not build the evaluation: {type(cause).__name__}: {cause}") \
                from None

    def _replace(self, dead):
        """A new actor in place of `dead`, its evaluation built."""
        self._ray.kill(dead, no_restart=True)
        actor = self._new_actor()
        self._ready([actor])
        self.actors[self.actors.index(dead)] = actor
        return actor

    def close(self) -> None:
        """Stop the actors, and the Ray instance if this evaluator started it."""
        if self._ray is None:
            return
        for actor in self.actors:
            self._ray.kill(actor, no_restart=True)
        self.actors = []
        if self._owns_connection:
            self._ray.shutdown()
        self._ray, self._owns_connection = None, False

