"""Typed run configurations: a dataclass schema, a YAML file and `key.sub=value` command-line overrides.

Every field of the schema is a dataclass field with a type annotation (int, float, bool, str, fixed-length tuples,
`tuple[T, ...]` lists, `X | None`, `Literal[...]`, dict, nested dataclasses) and optional metadata: `choices`
(allowed values) and `check` (a predicate with an `expect` text). Unknown keys and bad values are reported
with the dotted key, the value and what was expected before any work starts, so a typo never costs a GPU hour.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml

T = TypeVar("T")


class ConfigError(ValueError):
    """A configuration key or value that the schema does not allow."""


def check(predicate: Callable[[Any], bool], expect: str | Callable[[], str]) -> dict:
    """Field metadata: the value must satisfy `predicate`; `expect` says how, in words (or returns the words when
    the config is loaded, e.g. the names a registry holds then)."""
    return {"check": predicate, "expect": expect}


def positive() -> dict:
    return check(lambda v: v > 0, "> 0")


def non_negative() -> dict:
    return check(lambda v: v >= 0, ">= 0")


def fraction() -> dict:
    return check(lambda v: 0 <= v <= 1, "in [0, 1]")


def choices(*allowed: Any) -> dict:
    """Field metadata: the value must be one of `allowed`; given one mapping (a plug-in registry), one of its names
    when the config is loaded, so a plug-in registered after import is accepted like a built-in one."""
    if len(allowed) == 1 and isinstance(allowed[0], Mapping):
        return {"choices": allowed[0]}
    return {"choices": tuple(allowed)}


def _finite_number(value: Any) -> float | None:
    """`value` as a finite float, or None. YAML 1.1 reads '1e-3' (no dot) as a string, so strings that
    Python reads as a finite number count too; .inf and .nan never do."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return None
    return float(value) if isinstance(value, int | float) and math.isfinite(value) else None


# scalar type: (accepts a parsed YAML value, what is expected in words)
_SCALARS: dict[type, tuple[Callable[[Any], bool], str]] = {
    bool: (lambda v: isinstance(v, bool), "true or false"),
    int: (lambda v: isinstance(v, int) and not isinstance(v, bool), "an integer"),
    float: (lambda v: _finite_number(v) is not None, "a finite number"),
    str: (lambda v: isinstance(v, str), "a string"),
}


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def _coerce(key: str, value: Any, tp: Any) -> Any:
    """`value` converted to type `tp`, or ConfigError naming `key`."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for option in (a for a in args if a is not type(None)):
            try:
                return _coerce(key, value, option)
            except ConfigError as err:
                errors.append(str(err))
        raise ConfigError(errors[0] if len(errors) == 1 else f"{key} = {value!r}: expected {_type_name(tp)}")
    if origin is Literal:
        if value not in args:
            raise ConfigError(f"{key} = {value!r}: expected one of {list(args)}")
        return value
    if dataclasses.is_dataclass(tp):
        return from_dict(tp, value, key)
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        if not isinstance(value, list | tuple):
            raise ConfigError(f"{key} = {value!r}: expected a list ({_type_name(tp)})")
        return tuple(_coerce(f"{key}[{i}]", v, args[0]) for i, v in enumerate(value))
    if origin is tuple:
        if not isinstance(value, list | tuple) or len(value) != len(args):
            raise ConfigError(f"{key} = {value!r}: expected a list of {len(args)} values ({_type_name(tp)})")
        return tuple(_coerce(f"{key}[{i}]", v, a) for i, (v, a) in enumerate(zip(value, args, strict=True)))
    if origin is dict or tp is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{key} = {value!r}: expected a mapping")
        return dict(value)
    if tp in _SCALARS:
        accepts, expected = _SCALARS[tp]
        if not accepts(value):
            raise ConfigError(f"{key} = {value!r}: expected {expected}")
        return _finite_number(value) if tp is float else value
    raise TypeError(f"config schema type {tp!r} of {key} is not supported")


def from_dict(schema: type[T], data: Any, prefix: str = "") -> T:
    """An instance of the dataclass `schema` from a nested mapping; missing keys take their defaults."""
    where = prefix or "the configuration"
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{where} = {data!r}: expected a mapping of keys to values")
    fields = {f.name: f for f in dataclasses.fields(schema)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        name = f"{prefix}.{unknown[0]}" if prefix else unknown[0]
        raise ConfigError(f"unknown key {name!r}; allowed keys in {where}: {sorted(fields)}")
    hints = typing.get_type_hints(schema)
    values = {}
    for name, value in data.items():
        key = f"{prefix}.{name}" if prefix else name
        value = _coerce(key, value, hints[name])
        meta = fields[name].metadata
        if "choices" in meta and value is not None and value not in meta["choices"]:
            allowed = meta["choices"]
            raise ConfigError(f"{key} = {value!r}: expected one of "
                              f"{sorted(allowed) if isinstance(allowed, Mapping) else list(allowed)}")
        if "check" in meta and value is not None and not meta["check"](value):
            expect = meta["expect"]
            raise ConfigError(f"{key} = {value!r}: expected {expect() if callable(expect) else expect}")
        values[name] = value
    return schema(**values)


def to_dict(config: Any) -> dict:
    """A plain nested dict (lists, not tuples) of a schema instance, ready for YAML or JSON."""
    def plain(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [plain(v) for v in value]
        return value
    return plain(dataclasses.asdict(config))


class _UnsharedDumper(yaml.SafeDumper):
    """Writes a section that appears twice (a YAML anchor and its alias) as two copies, so an override of one
    stage's section never changes another's."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def apply_overrides(data: dict, overrides: Iterable[str]) -> dict:
    """`data` with each 'dotted.key=value' applied; the value is parsed as YAML ('0.1', 'true', '[64, 64]')."""
    data = yaml.safe_load(yaml.dump(data, Dumper=_UnsharedDumper)) or {}  # a deep copy; YAML anchors not shared
    for item in overrides:
        key, sep, text = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"override {item!r}: expected KEY=VALUE, e.g. optim.lr=0.01")
        node = data
        parts = key.split(".")
        for i, part in enumerate(parts[:-1]):
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ConfigError(f"override {item!r}: {'.'.join(parts[:i + 1])} is a value, not a section")
            node = child
        try:
            node[parts[-1]] = yaml.load(text, Loader=_UniqueKeyLoader) if text.strip() else None
        except yaml.YAMLError as err:
            raise ConfigError(f"override {item!r}: the value is not valid YAML ({_yaml_problem(err)})") from err
    return data


def merge(base: dict, update: dict) -> dict:
    """A new dict: `base` with `update` applied key by key, nested mappings merged rather than replaced."""
    merged = dict(base)
    for key, value in update.items():
        both_mappings = isinstance(value, dict) and isinstance(merged.get(key), dict)
        merged[key] = merge(merged[key], value) if both_mappings else value
    return merged


def load_config(schema: type[T], path: str | Path | None = None, overrides: Iterable[str] = (),
                defaults: dict | None = None) -> T:
    """The schema's defaults, updated by `defaults` (a nested mapping of its keys), then by the YAML file at
    `path` (if any, merged section by section), then by `overrides`."""
    data: dict = {}
    if path is not None:
        path = Path(path)
        if path.is_dir():
            raise ConfigError(f"config file {path} is a folder, not a file; give the YAML file's path")
        if not path.is_file():
            raise ConfigError(f"config file {path} does not exist")
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as err:
            raise ConfigError(f"config file {path} is not UTF-8 text (byte {err.object[err.start]:#x} at offset "
                              f"{err.start}); save it as UTF-8 YAML") from err
        try:
            data = yaml.load(text, Loader=_UniqueKeyLoader)
        except yaml.YAMLError as err:
            raise ConfigError(f"config file {path} is not valid YAML: {_yaml_problem(err)}") from err
        if data is None:
            raise ConfigError(f"config file {path} is empty (or holds only comments); give at least one key, or "
                              "leave the file out to use the defaults")
        if not isinstance(data, dict):
            raise ConfigError(f"config file {path} holds {type(data).__name__}; expected a mapping of keys")
    return from_dict(schema, apply_overrides(merge(defaults or {}, data), overrides))


class _UniqueKeyLoader(yaml.SafeLoader):
    """yaml.SafeLoader that refuses a key given twice in one mapping (PyYAML would keep the last silently)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} appears twice in one mapping", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep)


def _yaml_problem(err: yaml.YAMLError) -> str:
    """The problem and its line and column, in one line."""
    mark = getattr(err, "problem_mark", None)
    problem = getattr(err, "problem", None) or str(err)
    return f"{problem} at line {mark.line + 1}, column {mark.column + 1}" if mark else problem


def dump_yaml(config: Any) -> str:
    return yaml.safe_dump(to_dict(config), sort_keys=False)
