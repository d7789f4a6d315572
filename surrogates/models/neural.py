"""Torch multi-layer perceptrons on encoded genes: one trained on squared error, one on pairwise ranking.

Both train a small ReLU network with Adam and a cosine-decayed learning rate for a fixed number of steps
(so small tables are not under-trained), on standardised targets. The network's output is then mapped to
the target's scale by a least-squares affine fit on the training data, which for RankNet turns ranking
scores into predicted values. Training and prediction run under a fixed torch thread count, and a fixed
`random_state` makes both exactly repeatable without touching torch's global random state.

Several networks of the same hyper-parameters can be trained side by side as one batched network
(`fit_side_by_side`): each gets its own rows, seed, weights and Adam state, and ends exactly where it would
alone, but the whole batch costs about one fit. On a few hundred rows a fit is dominated by the fixed cost of
each of its hundreds of small steps, so cross-validation and ensembles get their K fits for about the price
of one.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager

import numpy as np
import torch
from torch import nn

from surrogates.base import GeneSurrogate, check_training_data, draw_seeds, fit_line
from surrogates.encoders import make_gene_encoder
from surrogates.registry import register_surrogate

Layers = list[tuple[torch.Tensor, torch.Tensor]]  # per linear layer: weight (G, in, out), bias (G, 1, out)


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


def init_layers(n_inputs: Sequence[int], hidden_layers: tuple[int, ...],
                generators: Sequence[torch.Generator]) -> Layers:
    """The weights of G ReLU networks with n_inputs[g] inputs, stacked along a first axis of size G.

    Each network is drawn from its own generator with torch's default `nn.Linear` distribution
    (uniform within 1 / sqrt(fan_in)); the input rows beyond a network's own n_inputs are zero and stay zero.
    """
    widths = [max(n_inputs), *hidden_layers, 1]
    layers: Layers = []
    for depth, (fan_in, fan_out) in enumerate(zip(widths[:-1], widths[1:], strict=True)):
        weight, bias = torch.zeros(len(generators), fan_in, fan_out), torch.zeros(len(generators), 1, fan_out)
        for g, generator in enumerate(generators):
            rows = n_inputs[g] if depth == 0 else fan_in
            bound = 1.0 / np.sqrt(rows)
            weight[g, :rows] = (2 * torch.rand(rows, fan_out, generator=generator) - 1) * bound
            bias[g, 0] = (2 * torch.rand(fan_out, generator=generator) - 1) * bound
        layers.append((weight.requires_grad_(), bias.requires_grad_()))
    return layers


def mlp_scores(layers: Layers, inputs: torch.Tensor) -> torch.Tensor:
    """Outputs (G, B) of the G stacked networks on their inputs (G, B, n_inputs)."""
    hidden = inputs
    for weight, bias in layers[:-1]:
        hidden = torch.relu(torch.baddbmm(bias, hidden, weight))
    weight, bias = layers[-1]
    return torch.baddbmm(bias, hidden, weight).squeeze(-1)


def network_layers(layers: Layers, g: int, n_inputs: int) -> Layers:
    """Network g of a stack, alone (a stack of one), detached and in float64 (predictions then do not depend on how
    many rows are predicted at once), its first layer cut to its n_inputs."""
    return [(weight[g : g + 1, : n_inputs if depth == 0 else None].detach().double(), bias[g : g + 1].detach().double())
            for depth, (weight, bias) in enumerate(layers)]


def weighted_mean(values: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Mean over the last axis with 0/1 (or any non-negative) weights."""
    return (values * weights).sum(-1) / weights.sum(-1)


def pairwise_ranking_loss(scores: torch.Tensor, targets: torch.Tensor,
                          weights: torch.Tensor | None = None) -> torch.Tensor:
    """RankNet loss over all pairs along the last axis: cross-entropy of P(i above j) = sigmoid(s_i - s_j); ties
    count 1/2. `weights` (0/1 per row) leave padding rows out of every pair."""
    margins = scores[..., :, None] - scores[..., None, :]
    above = (targets[..., :, None] > targets[..., None, :]).to(scores.dtype)
    tied = (targets[..., :, None] == targets[..., None, :]).to(scores.dtype)
    losses = nn.functional.binary_cross_entropy_with_logits(margins, above + 0.5 * tied, reduction="none")
    pairs = torch.ones(scores.shape[-1], scores.shape[-1]).triu(diagonal=1)
    if weights is not None:
        pairs = pairs * weights[..., :, None] * weights[..., None, :]
    return (losses * pairs).sum((-2, -1)) / pairs.sum((-2, -1))


class _TorchMLPSurrogate(GeneSurrogate):
    """Training loop, scaling and prediction shared by the torch surrogates; subclasses define `_loss`."""

    hidden_layers: tuple[int, ...]
    n_steps: int
    batch_size: int
    learning_rate: float
    weight_decay: float
    n_threads: int | None
    random_state: int | np.random.RandomState | None

    def _loss(self, scores: torch.Tensor, targets: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        """Loss of each of the G networks (G,) on its batch: scores, targets and 0/1 row weights of shape (G, B)."""
        raise NotImplementedError

    @classmethod
    def fit_side_by_side(cls, models: Sequence[_TorchMLPSurrogate], X: np.ndarray, y: np.ndarray,
                         subsets: Sequence[np.ndarray]) -> list[_TorchMLPSurrogate]:
        """Fit models[g] on rows subsets[g] of X, y, all in one batched training; each model ends as after
        `models[g].fit(X[subsets[g]], y[subsets[g]])`. The models must share every parameter but
        `random_state` (see `surrogates.base.fit_each`)."""
        tables = []
        for model, rows in zip(models, subsets, strict=True):
            genes, targets = check_training_data(model, X[rows], y[rows])
            model.encoder_ = make_gene_encoder(model.encoding).fit(genes)
            tables.append((model.encoder_.transform(genes), targets))
        with torch_threads(models[0].n_threads):
            trained = models[0]._train(tables, [draw_seeds(model.random_state, 2) for model in models])
            for model, layers, (Z, targets) in zip(models, trained, tables, strict=True):
                model._keep(layers, Z, targets)
        return list(models)

    def _fit_encoded(self, Z: np.ndarray, y: np.ndarray) -> None:
        with torch_threads(self.n_threads):
            (layers,) = self._train([(Z, y)], [draw_seeds(self.random_state, 2)])
            self._keep(layers, Z, y)

    def _keep(self, layers: Layers, Z: np.ndarray, y: np.ndarray) -> None:
        """Adopt the trained network and map its outputs on the training data Z to the targets y."""
        self.layers_ = layers
        self.output_scale_, self.output_offset_ = fit_line(self._scores(Z), y)

    def _train(self, tables: Sequence[tuple[np.ndarray, np.ndarray]], seeds: Sequence[Sequence[int]]) -> list[Layers]:
        """Train one network per (Z, y) table, side by side; seeds[g] = (weights seed, batch order seed). Returns
        the layers of each network, with its own input width."""
        sizes, widths = [len(Z) for Z, _ in tables], [Z.shape[1] for Z, _ in tables]
        inputs = torch.zeros(len(tables), max(sizes), max(widths))
        targets = torch.zeros(len(tables), max(sizes))
        for g, (Z, y) in enumerate(tables):
            inputs[g, : sizes[g], : widths[g]] = torch.as_tensor(Z, dtype=torch.float32)
            targets[g, : sizes[g]] = torch.as_tensor((y - y.mean()) / (y.std() or 1.0), dtype=torch.float32)
        batches = [min(self.batch_size, size) for size in sizes]
        weights = (torch.arange(max(batches)) < torch.tensor(batches)[:, None]).to(torch.float32)
        samplers = [torch.Generator().manual_seed(sampling_seed) for _, sampling_seed in seeds]
        layers = init_layers(widths, tuple(self.hidden_layers), [torch.Generator().manual_seed(s) for s, _ in seeds])
        parameters = [tensor for layer in layers for tensor in layer]
        optimizer = torch.optim.Adam(parameters, lr=self.learning_rate, weight_decay=self.weight_decay, fused=True)
        schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=self.n_steps)
        network_index = torch.arange(len(tables))[:, None]
        for _ in range(self.n_steps):
            rows = torch.zeros(len(tables), max(batches), dtype=torch.int64)
            for g, sampler in enumerate(samplers):
                rows[g, : batches[g]] = torch.randperm(sizes[g], generator=sampler)[: batches[g]]
            optimizer.zero_grad(set_to_none=True)
            scores = mlp_scores(layers, inputs[network_index, rows])
            self._loss(scores, targets[network_index, rows], weights).sum().backward()
            optimizer.step()
            schedule.step()
        return [network_layers(layers, g, widths[g]) for g in range(len(tables))]

    def _scores(self, Z: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return mlp_scores(self.layers_, torch.as_tensor(Z, dtype=torch.float64)[None])[0].numpy()

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

    def _loss(self, scores: torch.Tensor, targets: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        return weighted_mean((scores - targets) ** 2, weights)


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

    def _loss(self, scores: torch.Tensor, targets: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        return (pairwise_ranking_loss(scores, targets, weights)
                + self.mse_weight * weighted_mean((scores - targets) ** 2, weights))
