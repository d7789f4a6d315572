"""Loading a user's plug-ins by name: a module on the Python path or a .py file, imported once per process.

What a plug-in file registers (datasets, baselines, surrogates, pre-screeners, latency backends, evaluators,
proxies) is known from then on. A job that runs work in other processes passes `loaded_plugins()` along, so
that those processes load the same plug-ins before they build anything.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Sequence
from pathlib import Path

_LOADED: list[str] = []


class PluginNotFoundError(ValueError):
    """A plug-in named by the user that is neither a file nor a module on the path."""


def load_plugins(specs: Sequence[str]) -> None:
    """Import each plug-in (a dotted module name, or a path ending in .py) not loaded yet. A name or file that
    does not exist is a PluginNotFoundError naming it; an error inside the plug-in itself propagates as it is."""
    for spec in specs:
        if spec in _LOADED:
            continue
        if spec.endswith(".py"):
            path = Path(spec)
            if not path.is_file():
                raise PluginNotFoundError(f"--plugin {spec!r}: no such file; expected a Python file or an "
                                          "importable module")
            name = f"moseg_plugin_{path.stem}"
            loader = importlib.util.spec_from_file_location(name, path)
            module = importlib.util.module_from_spec(loader)
            sys.modules[name] = module
            loader.loader.exec_module(module)
        else:
            try:
                found = importlib.util.find_spec(spec)
            except ModuleNotFoundError:  # a parent package that does not exist
                found = None
            if found is None:
                raise PluginNotFoundError(f"--plugin {spec!r}: no module of that name on the Python path; expected "
                                          "a Python file or an importable module")
            importlib.import_module(spec)
        _LOADED.append(spec)


def loaded_plugins() -> tuple[str, ...]:
    """The plug-ins this process has loaded, in order: what a worker process must load too."""
    return tuple(_LOADED)
