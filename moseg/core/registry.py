"""The registry behind every plug-in point of moseg (datasets, baselines, pre-screeners, latency backends,
evaluators, zero-cost proxies) and of the surrogates: one generic class, `surrogates.registry.Registry`, defined in the
standalone surrogates package (which imports no moseg) and used from here by moseg."""

import inspect
from collections.abc import Callable, Iterable

from surrogates.registry import Registry, UnknownNameError


def unknown_options(factory: Callable, options: Iterable[str], fixed: Iterable[str] = ()) -> tuple[list[str],
                                                                                                   list[str]]:
    """The `options` a plug-in's `factory` takes no keyword for (none when it takes **kwargs), and the keywords it
    does take beyond the `fixed` ones the caller passes itself: what an error about a misspelt option lists."""
    parameters = inspect.signature(factory).parameters
    names = {n for n, p in parameters.items() if p.kind is not p.VAR_KEYWORD}
    takes_any = any(p.kind is p.VAR_KEYWORD for p in parameters.values())
    return ([] if takes_any else sorted(set(options) - names)), sorted(names - set(fixed))


__all__ = ["Registry", "UnknownNameError", "unknown_options"]
