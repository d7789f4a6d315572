"""A battery of malformed settings, generated from the config schemas themselves: every key of every command's
config, given values of the wrong kind, out of range or misspelt, must be refused before any work with a
ConfigError that names the key and says what was expected. A schema key added later is covered without a new
test; a type this battery cannot judge fails loudly here rather than going unchecked."""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Literal

import pytest
import yaml

from moseg.jobs.pipeline import load_pipeline_config
from moseg.jobs.retrain import RetrainConfig, load_retrain_config
from moseg.jobs.search import SearchJobConfig, load_search_config
from moseg.latency import LatencySettings
from moseg.train.config import TrainConfig, load_train_config
from moseg.util.config import ConfigError, to_dict

LOADERS = {TrainConfig: load_train_config, SearchJobConfig: load_search_config, RetrainConfig: load_retrain_config}
PIPELINE_STAGES = {"supernet": TrainConfig, "search": SearchJobConfig, "retrain": RetrainConfig}
PIPELINE_SET = {"supernet": {"out_dir", "model.arch", "model.baseline", "standalone"},  # the pipeline sets these
                "search": {"checkpoint", "out_dir"}, "retrain": {"search_dir", "out_dir", "recipe"}}

# YAML texts of the wrong kind, per scalar type
WRONG_KIND = {
    int: ["1.5", "abc", "[1]", "{a: 1}", "true", ".nan", ".inf"],
    float: ["abc", "[1]", "{a: 1}", ".nan", ".inf", "-.inf", "true"],
    bool: ["maybe", "2", "[true]", "{a: 1}"],
    str: ["[1, 2]", "{a: 1}", "true"],
    dict: ["5", "[1]", "abc"],
}
OUT_OF_RANGE = {"positive": ["0", "-1"], "non_negative": ["-1"], "fraction": ["1.5", "-0.1"]}


def leaf_fields(schema: type, prefix: str = "") -> list[tuple[str, typing.Any, dict]]:
    """(dotted key, type, metadata) of every leaf setting of a config dataclass."""
    hints = typing.get_type_hints(schema)
    leaves = []
    for field in dataclasses.fields(schema):
        key, tp = f"{prefix}{field.name}", hints[field.name]
        if dataclasses.is_dataclass(tp):
            leaves += leaf_fields(tp, f"{key}.")
        else:
            leaves.append((key, tp, dict(field.metadata)))
    return leaves


def bad_values(tp: typing.Any, meta: dict) -> list[str]:
    """YAML texts that `tp` (with its metadata) must refuse."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):  # an optional value: what its type refuses, null aside
        options = [a for a in args if a is not type(None)]
        refused = [set(bad_values(option, {})) for option in options]
        values = sorted(set.intersection(*refused)) if refused else []
        return [*values, *range_values(meta)]
    if origin is Literal:
        return ["not_a_choice", "[1]"]
    if origin is tuple:
        fixed = not (len(args) == 2 and args[1] is Ellipsis)
        return ["5", "abc", "{a: 1}", *(["[1]"] if fixed and len(args) != 1 else [])]
    if tp in WRONG_KIND:
        values = [*WRONG_KIND[tp], *range_values(meta)]
        if "choices" in meta:
            values.append("zzz_not_a_choice" if tp is str else "-987654")
        return values
    raise AssertionError(f"the battery cannot judge type {tp!r}; teach bad_values about it")


def range_values(meta: dict) -> list[str]:
    expect = meta.get("expect", "")
    expect = expect() if callable(expect) else expect
    kind = "positive" if expect == "> 0" else "non_negative" if expect == ">= 0" else \
        "fraction" if expect.startswith("a fraction") else None
    return OUT_OF_RANGE.get(kind, [])


def cases() -> list[tuple[str, str, str]]:
    """(command, key, bad YAML text), over every command's config and the pipeline's stages."""
    found = []
    for schema in LOADERS:
        for key, tp, meta in leaf_fields(schema):
            found += [(schema.__name__, key, value) for value in bad_values(tp, meta)]
            found.append((schema.__name__, f"{key}_typo", "1"))
    for stage, schema in PIPELINE_STAGES.items():
        for key, tp, meta in leaf_fields(schema):
            if not any(key == s or key.startswith(f"{s}.") for s in PIPELINE_SET[stage]):
                found += [("pipeline", f"{stage}.{key}", value) for value in bad_values(tp, meta)]
    return found


CASES = cases()


def test_the_battery_is_large_and_covers_every_key():
    assert len(CASES) >= 600
    for schema in (TrainConfig, SearchJobConfig, RetrainConfig, LatencySettings):
        assert {key for key, _, _ in leaf_fields(schema)}


@pytest.mark.parametrize(("command", "key", "value"), CASES, ids=[f"{c}:{k}={v}" for c, k, v in CASES])
def test_a_malformed_setting_is_refused_naming_the_key_and_what_was_expected(tmp_path, command, key, value):
    override = f"{key}={value}"
    with pytest.raises(ConfigError) as error:
        if command == "pipeline":
            load_pipeline_config(None, [f"out_dir={tmp_path}", override])
        else:
            schema = next(s for s in LOADERS if s.__name__ == command)
            LOADERS[schema](None, [override])
    message = str(error.value)
    named = key.removeprefix("supernet.").removeprefix("search.").removeprefix("retrain.")
    assert named.split(".")[-1] in message and ("expected" in message or "allowed keys" in message), message


def default_cases() -> list[tuple[type, str, str]]:
    """(schema, key, the key's own default as YAML) for every leaf setting."""
    found = []
    for schema in LOADERS:
        defaults = to_dict(schema())
        for key, _, _ in leaf_fields(schema):
            value = defaults
            for part in key.split("."):
                value = value[part]
            found.append((schema, key, yaml.safe_dump(value, default_flow_style=True).strip().removesuffix("...")
                          .strip()))
    return found


@pytest.mark.parametrize(("schema", "key", "value"), default_cases(),
                         ids=[f"{s.__name__}:{k}={v}" for s, k, v in default_cases()])
def test_every_default_given_back_as_an_override_is_accepted(schema, key, value):
    """The other side of the battery: a valid value (the default itself, as a user would type it) is never refused."""
    assert to_dict(LOADERS[schema](None, [f"{key}={value}"])) == to_dict(schema())
