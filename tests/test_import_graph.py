"""The import graph keeps the data flow's direction: a module imports only its own stage and earlier ones, there
are no import cycles (counting the package `__init__` that importing a submodule runs), the standalone
`surrogates` package imports nothing of moseg, and the search algorithm and the search space import no torch.
Read from the source with `ast`, function-level imports included."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("moseg", "surrogates")

# the stages in data-flow order; a module may import its own stage and the ones before it
STAGES: list[tuple[str, tuple[str, ...]]] = [
    ("standalone surrogates", ("surrogates",)),
    ("core", ("moseg.core",)),
    ("utilities", ("moseg.util",)),
    ("search space", ("moseg.space",)),
    ("data and metrics", ("moseg.data", "moseg.metrics")),
    ("networks", ("moseg.nn",)),
    ("latency", ("moseg.latency",)),
    ("training", ("moseg.train",)),
    ("one-shot evaluation", ("moseg.oneshot",)),
    ("search", ("moseg.search",)),
    ("reports", ("moseg.report",)),
    ("jobs", ("moseg.jobs",)),
    ("command line", ("moseg.cli",)),
]
NO_TORCH = ("moseg.search", "moseg.space")


def module_files() -> dict[str, Path]:
    """Dotted module name -> file, for every module of the packages (a package by its __init__)."""
    modules = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


MODULES = module_files()


def imported_names(path: Path) -> set[str]:
    """Every absolute module name the file imports (`from a.b import c` gives a.b.c when that is a module)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names |= {f"{node.module}.{alias.name}" for alias in node.names if f"{node.module}.{alias.name}" in MODULES}
    return names


def edges(module: str) -> set[str]:
    """The project modules that importing `module` runs: each imported module and the packages above it, except
    the packages `module` itself is inside (Python has those initialising already)."""
    out = set()
    for name in imported_names(MODULES[module]):
        parts = name.split(".")
        for n in range(1, len(parts) + 1):
            target = ".".join(parts[:n])
            if target in MODULES and target != module and not module.startswith(f"{target}."):
                out.add(target)
    return out


GRAPH = {module: edges(module) for module in MODULES}


def stage_of(module: str) -> int:
    if module == "moseg":
        return 1  # the package's __init__: the version, importing nothing
    matches = [i for i, (_, prefixes) in enumerate(STAGES)
               for prefix in prefixes if module == prefix or module.startswith(f"{prefix}.")]
    assert matches, f"{module} belongs to no stage; add it to STAGES in {Path(__file__).name}"
    return matches[0]


def test_every_module_belongs_to_a_stage():
    for module in MODULES:
        stage_of(module)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_a_module_imports_only_its_own_and_earlier_stages(module):
    later = sorted(d for d in GRAPH[module] if stage_of(d) > stage_of(module))
    assert not later, (f"{module} ({STAGES[stage_of(module)][0]}) imports later stages: "
                       + ", ".join(f"{d} ({STAGES[stage_of(d)][0]})" for d in later))


def test_there_are_no_import_cycles():
    done: set[str] = set()

    def visit(module: str, path: list[str]) -> None:
        if module in path:
            raise AssertionError("import cycle: " + " -> ".join([*path[path.index(module):], module]))
        if module in done:
            return
        for dependency in sorted(GRAPH[module]):
            visit(dependency, [*path, module])
        done.add(module)

    for module in sorted(GRAPH):
        visit(module, [])


def test_surrogates_imports_no_moseg_and_search_and_space_import_no_torch():
    for module, path in MODULES.items():
        names = imported_names(path)
        if module.startswith("surrogates"):
            assert not any(n == "moseg" or n.startswith("moseg.") for n in names), module
        if any(module == package or module.startswith(f"{package}.") for package in NO_TORCH):
            assert not any(n == "torch" or n.startswith("torch.") for n in names), module


def test_the_cycle_check_finds_a_cycle_through_a_package_init(monkeypatch):
    """The check itself: a module importing a submodule of a package whose __init__ imports it back is a cycle."""
    monkeypatch.setitem(GRAPH, "moseg.oneshot.candidates", GRAPH["moseg.oneshot.candidates"] | {"moseg.train"})
    monkeypatch.setitem(GRAPH, "moseg.train.trainer", GRAPH["moseg.train.trainer"] | {"moseg.oneshot.candidates"})
    with pytest.raises(AssertionError, match="import cycle"):
        test_there_are_no_import_cycles()
