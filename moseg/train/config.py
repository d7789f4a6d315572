"""The training recipe as a typed configuration (YAML + `key=value` overrides, see `moseg.util.config`).

One schema covers both jobs of the trainer: the weight-sharing supernet (`model.arch` and `model.baseline`
empty) and one fixed network trained standalone from scratch (`model.arch` names an arch JSON file or holds the
arch mapping; `model.baseline` names a hand-designed network of `moseg.nn.zoo`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from moseg.data import DATASETS
from moseg.nn.zoo import BASELINES
from moseg.util.config import ConfigError, check, choices, fraction, load_config, non_negative, positive
from moseg.util.devices import device_name


@dataclass
class DataConfig:
    """What to train and validate on, and how images reach the GPU."""

    dataset: str = field(default="synthetic", metadata=choices(DATASETS))
    root: str | None = None  # dataset folder (None for synthetic)
    options: dict = field(default_factory=dict)  # extra dataset keywords, e.g. {size: [128, 160]}
    train_split: str = "search_train"  # the supernet never sees search_val
    val_split: str | None = "search_val"  # None: no validation
    crop_size: tuple[int, int] = (128, 160)
    scale_range: tuple[float, float] = (0.5, 2.0)
    flip: bool = True
    jitter: float = field(default=0.2, metadata=check(lambda v: 0 <= v < 1, "in [0, 1)"))
    batch_size: int = field(default=8, metadata=positive())  # global: split across processes
    workers: int = field(default=2, metadata=non_negative())  # per process
    pin_memory: bool | None = None  # None: on when training on a GPU


@dataclass
class ModelConfig:
    arch: str | dict | None = None  # None: supernet; else an arch JSON path or mapping (standalone)
    baseline: str | None = field(  # a hand-designed network of moseg.nn.zoo trained standalone instead of an arch
        default=None, metadata=choices(BASELINES))
    space: dict = field(default_factory=dict)  # SearchSpace choice lists overriding the defaults


@dataclass
class LossConfig:
    class_weights: Literal["none", "median_frequency"] = "none"
    # median_frequency weights raised to this power: 1 as computed (CamVid: 0.18 road to 9.9 bicyclist), 0.5
    # their square root (0.42 to 3.1), softer on the gradients of rare classes in small batches
    class_weight_power: float = field(default=1.0, metadata=check(lambda v: 0 < v <= 1, "in (0, 1]"))
    ohem: bool = False  # online hard example mining
    ohem_thresh: float = field(default=0.7, metadata=fraction())  # keep pixels whose true-class prob is below
    ohem_min_kept: float = field(default=1 / 16, metadata=fraction())  # ... and at least this fraction of pixels
    distill_alpha: float = field(default=1.0, metadata=fraction())  # weight of in-place distillation vs labels
    distill_temperature: float = field(default=1.0, metadata=positive())
    # the distillation weight grows linearly from 0 to distill_alpha over these first iterations, so that the
    # other archs learn from the labels while the max arch (their teacher) is still untrained; 0: no ramp
    distill_warmup_iters: int = field(default=0, metadata=non_negative())


@dataclass
class OptimConfig:
    lr: float = field(default=0.05, metadata=positive())
    momentum: float = field(default=0.9, metadata=check(lambda v: 0 <= v < 1, "in [0, 1)"))
    nesterov: bool = False
    weight_decay: float = field(default=5e-4, metadata=non_negative())  # on conv weights, not BN or biases
    warmup_iters: int = field(default=100, metadata=non_negative())
    poly_power: float = field(default=0.9, metadata=non_negative())
    grad_clip: float | None = field(default=5.0, metadata=positive())  # max global grad norm; None: off


@dataclass
class TrainLoopConfig:
    iterations: int = field(default=1000, metadata=positive())
    random_archs: int = field(default=2, metadata=non_negative())  # sandwich: max + min + this many sampled
    amp: Literal["auto", "off", "bf16", "fp16"] = "auto"  # auto: bf16 on a GPU, off on a CPU
    channels_last: bool | None = None  # None: on (1.44x faster supernet steps on 2 CPU cores too; RESULTS.md)
    checkpoint_every: int = field(default=200, metadata=positive())
    log_every: int = field(default=10, metadata=positive())
    eval_every: int = field(default=0, metadata=non_negative())  # 0: evaluate only at the end
    progress: bool = True

    @property
    def uses_channels_last(self) -> bool:
        """The memory layout of training and scoring: channels_last unless set to false."""
        return self.channels_last is not False


@dataclass
class EvalConfig:
    """Scoring during and after training: BN recalibration on a fixed subset of the training split, then
    whole-image mIoU on `data.val_split`."""

    calib_images: int = field(default=64, metadata=positive())
    calib_batch_size: int = field(default=16, metadata=positive())
    batch_size: int = field(default=4, metadata=positive())


@dataclass
class TrainConfig:
    seed: int = 0
    out_dir: str = "runs/supernet"
    device: str = field(default="auto", metadata=device_name())  # auto: cuda:LOCAL_RANK when a GPU exists, else cpu
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    train: TrainLoopConfig = field(default_factory=TrainLoopConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)

    @property
    def standalone(self) -> bool:
        return self.model.arch is not None or self.model.baseline is not None


# Keys that may differ between a checkpoint's config and the config that resumes it: they change how a run
# reports or feeds itself, not what it computes.
TEST_SPLIT = "test"  # never trained on, never used to choose anything

RESUMABLE_CHANGES = frozenset({
    "train.iterations", "train.checkpoint_every", "train.log_every", "train.eval_every", "train.progress",
    "data.workers", "data.pin_memory", "data.root", "device",
    "out_dir",  # a run folder moved elsewhere resumes
})


def load_train_config(path: str | Path | None = None, overrides: tuple[str, ...] | list[str] = ()) -> TrainConfig:
    """Defaults < YAML file < overrides, checked field by field and across fields."""
    return check_train_config(load_config(TrainConfig, path, overrides))


def check_train_config(config: TrainConfig) -> TrainConfig:
    """`config` itself once the checks across fields pass; ConfigError naming the first bad value otherwise."""
    d = config.data
    if d.scale_range[0] <= 0 or d.scale_range[0] > d.scale_range[1]:
        raise ConfigError(f"data.scale_range = {list(d.scale_range)}: expected 0 < low <= high")
    if min(d.crop_size) < 1:
        raise ConfigError(f"data.crop_size = {list(d.crop_size)}: expected positive height and width")
    if config.model.arch is not None and config.model.baseline is not None:
        raise ConfigError(f"model.arch and model.baseline = {config.model.baseline!r} are both set; a standalone "
                          "run trains one network: give one of them")
    if isinstance(config.model.arch, str) and not Path(config.model.arch).is_file():
        raise ConfigError(f"model.arch = {config.model.arch!r}: no such arch JSON file")
    for key, split in (("data.train_split", d.train_split), ("data.val_split", d.val_split)):
        if split == TEST_SPLIT:
            raise ConfigError(f"{key} = {split!r}: the test split is only read to score the final networks "
                              "(retrain.test_split); train on train, trainval or search_train and validate on val "
                              "or search_val")
    return config
