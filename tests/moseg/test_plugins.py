"""Plug-in points take one new definition and a decorator: a toy plug-in of each kind is defined inside its test,
registered after moseg was imported, and run through a config and the `moseg` command line, like a user's own
file would be."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.neighbors import KNeighborsRegressor
from torch import nn

from moseg.cli import main
from moseg.core.registry import Registry, UnknownNameError
from moseg.data import DATASETS, EvalTransform, register_dataset
from moseg.jobs.search import load_search_config
from moseg.latency import LATENCY_BACKENDS, LatencyBackend, register_latency_backend
from moseg.nn import Supernet
from moseg.nn.blocks import BLOCK_MODULES, ConvBN, register_block_module
from moseg.nn.zoo import BASELINES, register_baseline
from moseg.search import PRESCREENERS
from moseg.search.evaluators import EVALUATORS, Evaluator, register_evaluator, timed_outcome
from moseg.space import SearchSpace, count_flops, count_params
from moseg.space.layer_cost import conv_cost, sum_costs
from moseg.space.ops import OPERATORS, BlockSpec, Operator, register_operator
from moseg.train import load_train_config, train
from moseg.util.config import ConfigError
from surrogates import register_surrogate
from surrogates.registry import SURROGATES

TINY_TRAIN = ["device=cpu", "data.batch_size=4", "data.workers=0", "train.iterations=2", "train.progress=false",
              "optim.warmup_iters=1", "eval.calib_images=2", "eval.calib_batch_size=2"]
TINY_SPACE = {"stem_widths": [8], "branch_widths": [[16, 24], [24, 32]], "head_widths": [16], "max_depth": 2,
              "expand_ratios": [2, 4], "heads": [1, 2], "kv_pools": [4]}


@pytest.fixture(autouse=True)
def registries_restored(restore_registries):
    """Each test's plug-ins are removed after it, so the registries hold the built-in ones for the other tests."""
    restore_registries(DATASETS, BASELINES, SURROGATES, PRESCREENERS, LATENCY_BACKENDS, EVALUATORS, OPERATORS,
                       BLOCK_MODULES)


def test_a_registry_takes_a_name_once_and_lists_its_names_for_an_unknown_one():
    shapes = Registry("shape")

    @shapes.register("square")
    def square(side: float) -> float:
        return side * side

    assert shapes["square"](3) == 9 and list(shapes) == ["square"] and "circle" not in shapes
    with pytest.raises(ValueError, match="a shape named 'square' is already registered"):
        shapes.register("square")(square)
    with pytest.raises(UnknownNameError, match=r"unknown shape 'circle'; registered: square\.") as info:
        shapes["circle"]
    assert isinstance(info.value, KeyError) and isinstance(info.value, ValueError)
    with pytest.raises(ValueError, match="non-empty string"):
        shapes.register("")


def test_a_config_checks_a_name_against_the_registry_when_it_is_loaded():
    with pytest.raises(ConfigError, match=r"prescreen = 'cheapest': expected one of \[.*'spacing'"):
        load_search_config(None, ["prescreen=cheapest"])
    PRESCREENERS.register("cheapest")(lambda *args: [0])
    assert load_search_config(None, ["prescreen=cheapest"]).prescreen == "cheapest"


class Stripes:
    """Two classes split by a vertical edge at a random column: left dark (class 0), right bright (class 1)."""

    class_names = ("dark", "bright")
    num_classes = 2

    def __init__(self, split: str, size: tuple[int, int], length: int, transform=None) -> None:
        self.split, self.size, self.length = split, tuple(size), length
        self.transform = transform or EvalTransform()
        self.protocol = f"stripes-2 at {size[1]}x{size[0]}"

    def __len__(self) -> int:
        return self.length

    def load(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        rng = np.random.default_rng([index, len(self.split)])
        height, width = self.size
        label = (np.arange(width)[None, :] >= rng.integers(4, width - 4)).repeat(height, 0).astype(np.uint8)
        image = (40 + 160 * label[..., None] + rng.integers(0, 30, (height, width, 3))).astype(np.uint8)
        return image, label

    def __getitem__(self, index: int):
        return self.transform(*self.load(index))


def register_depthwise_operator() -> None:
    """A toy operator family, as one user file would hold it: `repeat` depthwise-separable layers (a k x k depthwise
    and a 1x1 pointwise convolution) with a residual. `kernel` is the convolution family's gene, shared; `repeat` is
    the family's own."""

    @dataclass(frozen=True)
    class DepthwiseBlock(BlockSpec):
        kernel: int
        repeat: int
        op: ClassVar[str] = "depthwise"

    @register_operator
    class Depthwise(Operator):
        block = DepthwiseBlock
        choices = {"kernel": (3, 5), "repeat": (1, 2)}

        def cost(self, block, width, size):
            pixels = size[0] * size[1]
            layer = sum_costs(conv_cost(width, width, block.kernel, pixels, groups=width),
                              conv_cost(width, width, 1, pixels))
            return block.repeat * layer[0], block.repeat * layer[1]

    @register_block_module("depthwise")
    class DepthwiseSeparable(nn.Module):
        def __init__(self, layers: list[nn.Module]) -> None:
            super().__init__()
            self.layers = nn.ModuleList(layers)
            self.active = len(layers)

        @classmethod
        def build(cls, width, choices):
            kernel = max(choices["kernel"])
            return cls([layer for _ in range(max(choices["repeat"])) for layer in (
                ConvBN.elastic(width, width, kernel, depthwise=True), ConvBN.elastic(width, width, 1, relu=False))])

        def configure(self, width, block):
            self.active = 2 * block.repeat
            for depthwise, pointwise in zip(self.layers[:self.active:2], self.layers[1:self.active:2], strict=True):
                depthwise.configure(width, width, block.kernel)
                pointwise.configure(width, width)

        def forward(self, x):
            y = x
            for layer in self.layers[:self.active]:
                y = layer(y)
            return x + y

        def extract(self):
            return DepthwiseSeparable([layer.extract() for layer in self.layers[:self.active]])


def test_an_operator_registered_after_import_is_searchable_trainable_extractable_costed_and_tabled(tmp_path):
    register_depthwise_operator()
    space_options = {**TINY_SPACE, "ops": ["conv", "attention", "depthwise"], "block_choices": {"repeat": [1, 2]}}
    space = SearchSpace(**space_options)
    assert space.block_genes == ("op", "kernel", "dilation", "expand", "heads", "head_dim", "kv_pool", "repeat")
    assert "depthwise blocks: kernel [3, 5, 7] x repeat [1, 2]" in space.summary()  # the space's kernels, shared
    X = space.sample(300, seed=0)
    archs = [space.decode(x) for x in X]
    depthwise = [a for a in archs if any(b.op == "depthwise" for br in a.branches for b in br.blocks)]
    assert len(depthwise) > 100  # searchable: drawn family first, a third of the blocks
    assert all((space.encode(a) == x).all() for a, x in zip(archs, X, strict=True))
    assert space.decode(space.encode(depthwise[0])) == depthwise[0]
    for arch in depthwise[:3]:  # extractable, and costed as the network it extracts to
        net = Supernet(space, 3).extract(arch)
        assert count_params(arch, 3) == sum(p.numel() for p in net.parameters())
        assert net(torch.randn(1, 3, 48, 64)).shape == (1, 3, 48, 64)
        assert count_flops(arch, 3, (48, 64)) > 0

    out = tmp_path / "supernet"
    assert main(["train-supernet", f"out_dir={out}", f"model.space={space_options}",
                 "data.options={size: [48, 64], length: 8}", "data.crop_size=[48, 64]", *TINY_TRAIN]) == 0
    state = torch.load(out / "checkpoint.pt", weights_only=False)["model"]
    trained = [name for name, value in state.items() if ".ops.depthwise." in name and name.endswith("running_mean")
               and value.abs().sum() > 0]
    assert trained  # trainable: the family's layers ran in the supernet's training steps
    search = tmp_path / "search"
    assert main(["search", f"checkpoint={out / 'checkpoint.pt'}", f"out_dir={search}", "budget=8", "n_doe=6",
                 "n_infill=2", "pop_size=10", "n_gen=2", "device=cpu", "latency.kind=table", "latency.threads=1",
                 "latency.min_time_s=0", "latency.resolution=[48, 64]"]) == 0
    archive = pd.read_csv(search / "archive.csv")
    assert len(archive) == 8 and (archive["status"] == "ok").all()
    parts = pd.read_csv(search / "latency_parts.csv")
    assert parts["key"].str.startswith("block depthwise kernel3 repeat1 @").any()  # tabled under its label


def test_a_dataset_registered_after_import_trains_a_supernet_through_the_cli(tmp_path, capsys):
    @register_dataset("stripes")
    def stripes(root, split, transform=None, size=(32, 48), length=8):
        return Stripes(split, size, length, transform)

    args = ["train-supernet", f"out_dir={tmp_path}", "data.dataset=stripes", "data.options={length: 4}",
            "data.crop_size=[32, 48]", f"model.space={TINY_SPACE}", *TINY_TRAIN]
    assert main(args) == 0
    run = json.loads((tmp_path / "run.json").read_text())
    assert "stripes-2 at 48x32" in json.dumps(run) and "mIoU" in capsys.readouterr().out
    assert main([*args, f"out_dir={tmp_path / 'typo'}", "data.options={lenght: 4}"]) == 2
    assert "dataset 'stripes' has no option(s) ['lenght']" in capsys.readouterr().err


def test_a_baseline_registered_after_import_trains_standalone_through_the_cli(tmp_path, capsys):
    @register_baseline("two_convs")
    def two_convs(num_classes: int) -> nn.Module:
        return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                             nn.Conv2d(8, num_classes, 1))

    args = ["train-supernet", f"out_dir={tmp_path}", "model.baseline=two_convs", "data.options={size: [32, 48], "
            "length: 4}", "data.crop_size=[32, 48]", *TINY_TRAIN]
    assert main(args) == 0
    assert "model: mIoU" in capsys.readouterr().out


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    out = tmp_path_factory.mktemp("supernet")
    train(load_train_config(None, [f"out_dir={out}", f"model.space={TINY_SPACE}", "data.options={size: [48, 64], "
                                   "length: 8}", "data.crop_size=[48, 64]", *TINY_TRAIN]))
    return out / "checkpoint.pt"


def test_a_surrogate_and_a_prescreener_registered_after_import_run_a_search_through_the_cli(tmp_path, checkpoint):
    @register_surrogate("nearest_neighbours")
    class NearestNeighbours(RegressorMixin, BaseEstimator):
        """The mean objective of the 3 nearest evaluated gene vectors."""

        def fit(self, X, y):
            self.model_ = KNeighborsRegressor(n_neighbors=3).fit(np.asarray(X, float), y)
            return self

        def predict(self, X):
            return self.model_.predict(np.asarray(X, float))

        def min_training_rows(self) -> int:
            return 3

    chosen = []

    @PRESCREENERS.register("cheapest")
    def cheapest(predicted, spread, front, k, ref_point, cheap, accuracy):
        picked = [int(i) for i in np.argsort(predicted[:, cheap], kind="stable")[:k]]
        chosen.append(picked)
        return picked

    args = ["search", f"checkpoint={checkpoint}", f"out_dir={tmp_path}", "surrogate=nearest_neighbours",
            "prescreen=cheapest", "budget=10", "n_doe=6", "n_infill=2", "pop_size=10", "n_gen=3", "device=cpu",
            "latency.kind=flops", "latency.resolution=[48, 64]"]
    assert main(args) == 0
    archive = pd.read_csv(tmp_path / "archive.csv")
    assert len(archive) == 10 and (archive["status"] == "ok").all() and len(chosen) >= 1
    recorded = json.loads((tmp_path / "config.json").read_text())
    assert "nearest_neighbours" in json.dumps(recorded) and "cheapest" in json.dumps(recorded)


def test_an_evaluator_registered_after_import_runs_a_search_through_the_cli(tmp_path, checkpoint):
    @register_evaluator("last_first")
    class LastFirst(Evaluator):
        """Builds its evaluation from a pickled copy of the job's factory, as a worker in another process
        would, and returns each batch's results last candidate first."""

        def __init__(self, make_evaluate, chunk: int = 1):
            self.make_evaluate, self.chunk, self.batches = pickle.loads(pickle.dumps(make_evaluate)), chunk, []

        def evaluate(self, X):
            evaluate = self.make_evaluate()
            self.batches.append(len(X))
            for index in reversed(range(len(X))):
                yield timed_outcome(index, evaluate, X[index])

    common = [f"checkpoint={checkpoint}", "surrogate=ridge_onehot", "budget=10", "n_doe=6", "n_infill=2",
              "pop_size=10", "n_gen=3", "device=cpu", "latency.kind=flops", "latency.resolution=[48, 64]"]
    assert main(["search", f"out_dir={tmp_path / 'serial'}", *common]) == 0
    assert main(["search", f"out_dir={tmp_path / 'last_first'}", "evaluator.kind=last_first",
                 "evaluator.options={chunk: 2}", *common]) == 0
    contents = [set(pd.read_csv(tmp_path / name / "archive.csv")[["genes", "objectives", "iteration", "slot"]]
                    .itertuples(index=False)) for name in ("serial", "last_first")]
    assert contents[0] == contents[1] and len(contents[0]) == 10
    assert "last_first" in (tmp_path / "last_first" / "search.yaml").read_text()


def test_a_latency_backend_registered_after_import_times_through_the_cli_and_configs(tmp_path, capsys):
    @register_latency_backend("channels_last")
    class ChannelsLast(LatencyBackend):
        """Eager execution with the network and its input in the channels-last memory format."""

        def runner(self, model: nn.Module, x: torch.Tensor):
            model = model.to(memory_format=torch.channels_last)
            x = x.contiguous(memory_format=torch.channels_last)
            return lambda: model(x)

    out = tmp_path / "survey.csv"
    assert main(["latency", "--mode", "channels_last", "--n", "0", "--resolution", "32x48", "--min-time", "0",
                 "--threads", "1", "--out", str(out)]) == 0
    survey = pd.read_csv(out)
    assert len(survey) == 2 and (survey["status"] == "ok").all()
    assert all(json.loads(p)["mode"] == "channels_last" for p in survey["protocol"])
    assert load_search_config(None, ["latency.mode=channels_last"]).latency.mode == "channels_last"
    with pytest.raises(ConfigError, match=r"latency.mode = 'jit': expected one of \['channels_last', "
                                          r"'compile', 'cuda_graph', 'eager'\]"):
        load_search_config(None, ["latency.mode=jit"])


BACKEND_FILE = '''
"""A user's plug-in file: a latency backend timing the network in the channels-last memory format."""
import torch

from moseg.latency import LatencyBackend, register_latency_backend


@register_latency_backend("channels_last_file")
class ChannelsLast(LatencyBackend):
    def runner(self, model, x):
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
        return lambda: model(x)
'''


def test_a_plugin_file_is_loaded_by_the_installed_command(tmp_path):
    """`moseg --plugin FILE` imports the user's file before the command runs, in a fresh process."""
    plugin = tmp_path / "my_backend.py"
    plugin.write_text(BACKEND_FILE)
    out = tmp_path / "survey.csv"
    command = [sys.executable, "-m", "moseg.cli", "--plugin", str(plugin), "latency", "--mode", "channels_last_file",
               "--n", "0", "--resolution", "32x48", "--min-time", "0", "--threads", "1", "--out", str(out)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert all(json.loads(p)["mode"] == "channels_last_file" for p in pd.read_csv(out)["protocol"])
    missing = subprocess.run([*command[:3], "--plugin", str(tmp_path / "nowhere.py"), "space"], capture_output=True,
                             text=True, timeout=300)
    assert missing.returncode == 2 and "Traceback" not in missing.stderr
    assert f"moseg: --plugin '{tmp_path / 'nowhere.py'}': no such file" in missing.stderr
