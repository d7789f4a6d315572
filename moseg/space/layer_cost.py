"""Parameter and multiply-accumulate counts of the layers networks are made of, for the analytic cost model
(`moseg.space.complexity`) and for the cost rule of each operator family (`moseg.space.ops`)."""

from __future__ import annotations


def conv_cost(cin: int, cout: int, kernel: int, pixels: int, groups: int = 1, bn: bool = True,
              bias: bool = False) -> tuple[int, int]:
    """(params, MACs) of a kernel x kernel convolution producing `pixels` output positions, plus its BatchNorm."""
    params = cout * (cin // groups) * kernel * kernel + (2 * cout if bn else 0) + (cout if bias else 0)
    return params, pixels * cout * (cin // groups) * kernel * kernel


def inverted_residual_cost(width: int, expand: int, kernel: int, pixels: int) -> tuple[int, int]:
    """(params, MACs) of a 1x1 expansion, kernel x kernel depthwise and 1x1 projection, each with BatchNorm."""
    hidden = width * expand
    return sum_costs(
        conv_cost(width, hidden, 1, pixels),
        conv_cost(hidden, hidden, kernel, pixels, groups=hidden),
        conv_cost(hidden, width, 1, pixels),
    )


def sum_costs(*costs: tuple[int, int]) -> tuple[int, int]:
    """The (params, MACs) of layers run one after another."""
    return sum(p for p, _ in costs), sum(m for _, m in costs)
