"""Registry of surrogates by name: `make_surrogate("xgb", max_depth=3)`, `list_surrogates()`.

A model joins by decorating its class (or any factory returning an unfitted estimator) with
`@register_surrogate("name")`. The contract tests iterate over the registry, so registering a model is
also what puts it under test.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from sklearn.base import BaseEstimator

Factory = TypeVar("Factory", bound=Callable[..., BaseEstimator])

_FACTORIES: dict[str, Callable[..., BaseEstimator]] = {}


def register_surrogate(name: str) -> Callable[[Factory], Factory]:
    """Decorator that registers a surrogate class or factory under `name`; names must be unique."""

    def register(factory: Factory) -> Factory:
        if name in _FACTORIES:
            raise ValueError(f"a surrogate named {name!r} is already registered ({_FACTORIES[name]!r}).")
        _FACTORIES[name] = factory
        return factory

    return register


def make_surrogate(name: str, **params: object) -> BaseEstimator:
    """A new unfitted surrogate `name`, with `params` overriding its default hyper-parameters."""
    if not isinstance(name, str) or name not in _FACTORIES:
        raise ValueError(f"unknown surrogate {name!r}; registered: {', '.join(list_surrogates())}.")
    return _FACTORIES[name](**params)


def list_surrogates() -> list[str]:
    """Names of the registered surrogates, sorted."""
    return sorted(_FACTORIES)
