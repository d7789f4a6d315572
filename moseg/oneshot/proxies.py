"""Zero-cost proxies: training-free scores of a network, from one small batch, that rank architectures.

Three proxies with a published track record on dense prediction (Abdelfattah et al. 2021, "Zero-Cost Proxies
for Lightweight NAS"; Mellor et al. 2021, "Neural Architecture Search without Training"; Krishnakumar et al.
2022, "NAS-Bench-Suite-Zero", which includes TransNAS-Bench-101 segmentation):

* `synflow`: the sum over parameters of |theta * dR/dtheta|, R the summed output of the network with every
  weight made positive, on an all-ones input (data-free; in float64 where float32 would overflow).
* `nwot`: log|K| of the Hamming-similarity kernel of the ReLU on/off codes of the batch's images (how
  differently the network carves up different inputs).
* `grad_norm`: the summed L2 norms of the gradients of the segmentation loss (cross-entropy, void ignored).

Higher means predicted better for all three. They are computed on the network as given (a supernet
sub-network with inherited weights, or freshly initialised ones), on a copy, so the network is left untouched.
`ProxyCache` keeps the scores of each canonical gene vector in a CSV, so that no arch is scored twice.
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from moseg.core.registry import Registry
from moseg.nn import Supernet
from moseg.nn.blocks import ConvBN
from moseg.util.csvlog import CsvLog, vector_key
from moseg.util.schema import GENES, RENAMED_IN

Proxy = Callable[[nn.Module, torch.Tensor, torch.Tensor, int], float]
PROXIES: Registry[Proxy] = Registry("zero-cost proxy")
register_proxy = PROXIES.register  # @register_proxy("name") on `proxy(net, images, labels, ignore_index) -> float`


@register_proxy("synflow")
def synflow(net: nn.Module, images: torch.Tensor, labels: torch.Tensor, ignore_index: int) -> float:
    """Synaptic flow of the network with absolute weights on an all-ones input, BatchNorm at its running
    statistics; in float32, or float64 where float32 overflows."""
    for dtype in (torch.float32, torch.float64):
        score = _synflow(net, images.shape[1:], dtype)
        if math.isfinite(score):
            break
    return score


def _synflow(net: nn.Module, image_shape: torch.Size, dtype: torch.dtype) -> float:
    net = copy.deepcopy(net).to(dtype).eval()
    with torch.no_grad():
        for parameter in net.parameters():
            parameter.abs_()
    net.zero_grad()
    net(torch.ones((1, *image_shape), dtype=dtype)).sum().backward()
    with torch.no_grad():
        return float(sum((p * p.grad).abs().sum(dtype=torch.float64) for p in net.parameters() if p.grad is not None))


@register_proxy("nwot")
def nwot(net: nn.Module, images: torch.Tensor, labels: torch.Tensor, ignore_index: int) -> float:
    """log-determinant of K[i, j] = number of ReLU units on which images i and j agree (on or off)."""
    codes: list[torch.Tensor] = []

    def record(module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
        codes.append((output > 0).flatten(1).double())

    net = copy.deepcopy(net).eval()
    rectifiers = [m for m in net.modules() if isinstance(m, nn.ReLU) or (isinstance(m, ConvBN) and m.relu)]
    if not rectifiers:
        raise ValueError("nwot needs ReLU units; the network has none")
    for module in rectifiers:
        module.register_forward_hook(record)
    with torch.no_grad():
        net(images)
    code = torch.cat(codes, dim=1)
    kernel = code @ code.T + (1 - code) @ (1 - code).T
    return float(torch.linalg.slogdet(kernel).logabsdet)


@register_proxy("grad_norm")
def grad_norm(net: nn.Module, images: torch.Tensor, labels: torch.Tensor, ignore_index: int) -> float:
    """Summed L2 norms of the cross-entropy gradients of every parameter, BatchNorm in training mode."""
    net = copy.deepcopy(net).train()
    net.zero_grad()
    F.cross_entropy(net(images), labels, ignore_index=ignore_index).backward()
    with torch.no_grad():
        return float(sum(p.grad.norm() for p in net.parameters() if p.grad is not None))


def zero_cost_scores(net: nn.Module, images: torch.Tensor, labels: torch.Tensor, ignore_index: int = 255,
                     names: Sequence[str] | None = None) -> dict[str, float]:
    """The proxies `names` (default: every registered one) of `net` on one batch (images N x 3 x H x W, labels
    N x H x W); NaN where a proxy is not finite (a network whose activations all die, say)."""
    names = list(PROXIES) if names is None else names
    unknown = sorted(set(names) - set(PROXIES))
    if unknown:
        raise ValueError(f"unknown proxies {unknown}; registered: {sorted(PROXIES)}")
    scores = {}
    for name in names:
        value = PROXIES[name](net, images, labels, ignore_index)
        scores[name] = value if math.isfinite(value) else float("nan")
    return scores


class ProxyCache:
    """Proxy scores of a space's archs, computed once per canonical gene vector and appended to a CSV.

    The supernet provides the sub-networks (its weights: inherited ones from a trained supernet, or an
    untrained `Supernet(space, num_classes)` for scores at initialisation); `images` and `labels` are the
    batch every arch is scored on, at the search resolution.
    """

    def __init__(self, path: str | Path, supernet: Supernet, images: torch.Tensor, labels: torch.Tensor,
                 ignore_index: int = 255, names: Sequence[str] | None = None) -> None:
        self.supernet, self.space = supernet, supernet.space
        self.images, self.labels, self.ignore_index = images, labels, ignore_index
        self.names = list(PROXIES) if names is None else list(names)
        self.log = CsvLog(Path(path), [GENES, *self.names], RENAMED_IN["proxy scores"])
        self.scores = {row[GENES]: [float(row[name]) for name in self.names] for row in self.log.rows()}

    def __call__(self, X: np.ndarray) -> np.ndarray:
        """Scores of every row of X (gene vectors), one column per proxy, computing only the new ones."""
        rows = []
        for x in np.asarray(X, dtype=np.int64):
            key = vector_key(self.space.canonical(x))
            if key not in self.scores:
                net = self.supernet.extract(self.space.decode(x))
                values = zero_cost_scores(net, self.images, self.labels, self.ignore_index, self.names)
                self.scores[key] = [values[name] for name in self.names]
                self.log.append({GENES: key, **{name: json.dumps(values[name]) for name in self.names}})
            rows.append(self.scores[key])
        return np.array(rows, dtype=float).reshape(len(rows), len(self.names))

