"""Registries of named plug-ins, and the registry of surrogates: `make_surrogate("xgb", max_depth=3)`,
`list_surrogates()`.

A model joins by decorating its class (or any factory returning an unfitted estimator) with
`@register_surrogate("name")`. The contract tests iterate over the registry, so registering a model is
also what puts it under test.

`Registry` is the one generic registry of the project: moseg's plug-in points (datasets, baselines,
pre-screeners, latency backends, evaluators, zero-cost proxies) use it too (`moseg.core.registry`). It lives
here because `surrogates` is the standalone bottom layer that imports nothing of moseg.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, MutableMapping
from typing import Generic, TypeVar

from sklearn.base import BaseEstimator

T = TypeVar("T")
Factory = TypeVar("Factory", bound=Callable[..., BaseEstimator])


class UnknownNameError(KeyError, ValueError):
    """A name that no plug-in of a registry has: a KeyError to mappings, a ValueError (bad input) to users."""

    def __str__(self) -> str:
        return str(self.args[0])


class Registry(MutableMapping[str, T], Generic[T]):
    """Plug-ins of one kind by name. `@registry.register("name")` adds one (a name is taken once); looking up an
    unknown name is an `UnknownNameError` that lists the registered names. Configs check a name against the
    registry when they are loaded, so a plug-in registered after import is accepted like a built-in one."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._a_kind = f"{'an' if kind[:1] in 'aeiou' else 'a'} {kind}"
        self._entries: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator that registers a plug-in under `name`; a name already taken is a ValueError."""
        if not isinstance(name, str) or not name:
            raise ValueError(f"{self._a_kind} is registered under a non-empty string, got {name!r}")

        def add(entry: T) -> T:
            if name in self._entries:
                raise ValueError(f"{self._a_kind} named {name!r} is already registered ({self._entries[name]!r}).")
            self._entries[name] = entry
            return entry

        return add

    def __getitem__(self, name: str) -> T:
        if not isinstance(name, str) or name not in self._entries:
            raise UnknownNameError(f"unknown {self.kind} {name!r}; registered: {', '.join(sorted(self._entries))}.")
        return self._entries[name]

    def __setitem__(self, name: str, entry: T) -> None:
        self._entries[name] = entry  # replacing on purpose (tests swap a plug-in); `register` refuses a taken name

    def __delitem__(self, name: str) -> None:
        del self._entries[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}: {', '.join(self._entries)})"


SURROGATES: Registry[Callable[..., BaseEstimator]] = Registry("surrogate")


def register_surrogate(name: str) -> Callable[[Factory], Factory]:
    """Decorator that registers a surrogate class or factory under `name`; names must be unique."""
    return SURROGATES.register(name)


def make_surrogate(name: str, **params: object) -> BaseEstimator:
    """A new unfitted surrogate `name`, with `params` overriding its default hyper-parameters."""
    return SURROGATES[name](**params)


def list_surrogates() -> list[str]:
    """Names of the registered surrogates, sorted."""
    return sorted(SURROGATES)
