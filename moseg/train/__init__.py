"""Training: the weight-sharing supernet (sandwich rule, in-place distillation) and fixed archs from scratch."""

from moseg.train.config import TrainConfig, load_train_config
from moseg.train.trainer import Trainer, train

__all__ = ["TrainConfig", "Trainer", "load_train_config", "train"]
