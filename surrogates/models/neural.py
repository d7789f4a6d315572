"""Torch multi-layer perceptrons on encoded genes: one trained on squared error, one on pairwise ranking.

Both train a small ReLU network with Adam and a cosine-decayed learning rate for a fixed number of steps
(so small tables are not under-trained), on standardised targets. The network's output is then mapped to
the target's scale by a least-squares affine fit on the training data, which for RankNet turns ranking
scores into predicted values. Training and prediction run under a fixed torch thread count, and a fixed
`random_state` makes both exactly repeatable without touching torch's global random state.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager

import numpy as np
import torch
from torch import nn

from surrogates.base import GeneSurrogate, draw_seeds, fit_line
from surrogates.registry import register_surrogate


@contextmanager
def torch_threads(n_threads: int | None) -> Iterator[None]:
    """Run the block with `n_threads` intra-op threads (None: leave torch's setting), then restore it."""
    previous = torch.get_num_threads()
    if n_threads is not None:
        torch.set_num_threads(n_threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def build_mlp(n_inputs: int, hidden_layers: tuple[int, ...]) -> nn.Sequential:
    """Linear-ReLU stack ending in one output unit."""
    layers: list[nn.Module] = []
    for width in hidden_layers:
        layers += [nn.Linear(n_inputs, width), nn.ReLU()]
        n_inputs = width
    layers.append(nn.Linear(n_inputs, 1))
    return nn.Sequential(*layers)


def pairwise_ranking_loss(scores: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """RankNet loss over all pairs of a batch: cross-entropy of P(i above j) = sigmoid(s_i - s_j); ties count 1/2."""
    upper = torch.triu_indices(len(scores), len(scores), offset=1)
    margins = scores[upper[0]] - scores[upper[1]]
    above = (targets[upper[0]] > targets[upper[1]]).to(scores.dtype)
    tied = (targets[upper[0]] == targets[upper[1]]).to(scores.dtype)
    return nn.functional.binary_cross_entropy_with_logits(margins, above + 0.5 * tied)


class _TorchMLPSurrogate(GeneSurrogate):
    """Training loop, scaling and prediction shared by the torch surrogates; subclasses define `_loss`."""

    hidden_layers: tuple[int, ...]
    n_steps: int
    batch_size: int
    learning_rate: float
    weight_decay: float
    n_threads: int | None
    random_state: int | np.random.RandomState | None

    def _loss(self, scores: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def _fit_encoded(self, Z: np.ndarray, y: np.ndarray) -> None:
        seed, sampling_seed = draw_seeds(self.random_state, 2)
        standardised = (y - y.mean()) / (y.std() or 1.0)
        inputs = torch.as_tensor(Z, dtype=torch.float32)
        targets = torch.as_tensor(standardised, dtype=torch.float32)
        batch = min(self.batch_size, len(Z))
        sampler = torch.Generator().manual_seed(sampling_seed)
        with torch_threads(self.n_threads), torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            network = build_mlp(Z.shape[1], tuple(self.hidden_layers))
            optimizer = torch.optim.Adam(network.parameters(), lr=self.learning_rate, weight_decay=self.weight_decay)
            schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=self.n_steps)
            for _ in range(self.n_steps):
                rows = torch.randperm(len(Z), generator=sampler)[:batch]
                optimizer.zero_grad(set_to_none=True)
                self._loss(network(inputs[rows]).squeeze(1), targets[rows]).backward()
                optimizer.step()
                schedule.step()
            self.network_ = network.eval()
            scores = self._scores(Z)
        self.output_scale_, self.output_offset_ = fit_line(scores, y)

    def _scores(self, Z: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return self.network_(torch.as_tensor(Z, dtype=torch.float32)).squeeze(1).double().numpy()

    def _prediction_threads(self) -> AbstractContextManager:
        return torch_threads(self.n_threads)

    def _predict_encoded(self, Z: np.ndarray) -> np.ndarray:
        return self.output_offset_ + self.output_scale_ * self._scores(Z)


@register_surrogate("mlp")
class MLPSurrogate(_TorchMLPSurrogate):
    """Torch MLP regressor trained on mean squared error.

    Parameters
    ----------
    hidden_layers : tuple of int
        Widths of the hidden ReLU layers.
    n_steps : int
        Adam updates (each on one random batch), whatever the number of samples.
    batch_size : int
        Rows per update (all rows when there are fewer).
    learning_rate : float
        Initial Adam learning rate, decayed to 0 along a cosine.
    weight_decay : float
        L2 penalty on the weights (Adam's weight_decay).
    encoding : {'onehot', 'ordinal'}
        Gene encoding.
    n_threads : int or None
        Torch intra-op threads during fit and predict; 1 suits these small networks. None: torch's setting.
    random_state : int, RandomState or None
        Seed of the initial weights and of the batch order.
    """

    def __init__(self, hidden_layers: tuple[int, ...] = (64, 64), n_steps: int = 500, batch_size: int = 32,
                 learning_rate: float = 3e-3, weight_decay: float = 1e-4, encoding: str = "onehot",
                 n_threads: int | None = 1, random_state: int | np.random.RandomState | None = None):
        self.hidden_layers = hidden_layers
        self.n_steps = n_steps
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.encoding = encoding
        self.n_threads = n_threads
        self.random_state = random_state

    def _loss(self, scores: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return nn.functional.mse_loss(scores, targets)


@register_surrogate("ranknet")
class RankNetSurrogate(_TorchMLPSurrogate):
    """Torch MLP trained to order pairs of architectures (RankNet), optionally mixed with squared error.

    The loss is `pairwise_ranking_loss + mse_weight * mse` on standardised targets. Parameters are those of
    `MLPSurrogate` plus:

    mse_weight : float
        Weight of the squared-error term; 0 trains on ranking alone.
    """

    def __init__(self, hidden_layers: tuple[int, ...] = (64, 64), n_steps: int = 500, batch_size: int = 64,
                 learning_rate: float = 3e-3, weight_decay: float = 1e-4, mse_weight: float = 0.0,
                 encoding: str = "onehot", n_threads: int | None = 1,
                 random_state: int | np.random.RandomState | None = None):
        self.hidden_layers = hidden_layers
        self.n_steps = n_steps
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.mse_weight = mse_weight
        self.encoding = encoding
        self.n_threads = n_threads
        self.random_state = random_state

    def _loss(self, scores: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return pairwise_ranking_loss(scores, targets) + self.mse_weight * nn.functional.mse_loss(scores, targets)
