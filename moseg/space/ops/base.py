"""What an operator family of the cell level is, and the registry of them.

An operator family (inverted-residual convolution, pooled self-attention, or a plug-in) is described once: the
frozen dataclass of its block, whose integer fields are its genes; the default choices of each gene; its cost
rule; and its name in latency-table keys. The search space, the analytic cost and the latency table read it
from here; the supernet's module for the family is registered beside it with
`moseg.nn.blocks.register_block_module` (the search stage imports no torch, so the module cannot live
here). A plug-in operator is one file holding both, registered with the two decorators.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, is_dataclass
from typing import ClassVar

from moseg.core.registry import Registry


@dataclass(frozen=True)
class BlockSpec:
    """The description of one block of a network: its family's name (`op`) and its genes as integer fields."""

    op: ClassVar[str]


class Operator:
    """An operator family: `block` (a frozen `BlockSpec` dataclass whose fields are the family's genes),
    `choices` (each gene's default choices, which `SearchSpace` keywords can replace) and `cost`.

    Canonical rule: a block uses its own family's genes only; the space sets the genes of every other family to
    their lower bound, so a network has one encoding. Genes of the same name in two families are one gene
    (e.g. `expand`), with one list of choices.
    """

    block: ClassVar[type[BlockSpec]]
    choices: ClassVar[dict[str, tuple[int, ...]]]

    @property
    def name(self) -> str:
        return self.block.op

    @property
    def genes(self) -> tuple[str, ...]:
        """The family's gene names, in the order of its block's fields."""
        return tuple(f.name for f in fields(self.block))

    def check_choices(self, gene: str, values: tuple[int, ...]) -> str | None:
        """What is wrong with `values` as the choices of `gene` (e.g. 'expected odd kernel sizes'), or None."""
        return None

    def label(self, block: BlockSpec) -> str:
        """The block's configuration in words, as latency-table keys and reports show it (e.g. 'conv k3 d1 e4')."""
        return " ".join([self.name, *(f"{gene}{getattr(block, gene)}" for gene in self.genes)])

    def cost(self, block: BlockSpec, width: int, size: tuple[int, int]) -> tuple[int, int]:
        """(params, multiply-accumulates) of `block` at `width` channels on a (height, width) feature map."""
        raise NotImplementedError(f"operator {self.name!r} has no cost rule")


OPERATORS: Registry[Operator] = Registry("operator")


def register_operator(cls: type[Operator]) -> type[Operator]:
    """Class decorator: register one instance of the operator family `cls` under its block's `op` name, after
    checking that the family is complete (a dataclass block, default choices for each gene, a cost rule)."""
    block = getattr(cls, "block", None)
    name = getattr(block, "op", None) if block is not None else None
    own_dataclass = isinstance(block, type) and "__dataclass_fields__" in vars(block)  # not only inherited
    if not (own_dataclass and issubclass(block, BlockSpec) and is_dataclass(block)) or not isinstance(name, str):
        raise ValueError(f"operator {cls.__name__}: `block` must be a BlockSpec dataclass with an `op` name, "
                         f"got {block!r}")
    if not name.isidentifier():
        raise ValueError(f"operator {cls.__name__}: op name {name!r} must be an identifier")
    operator = cls()
    choices = getattr(cls, "choices", {})
    bad_names = [g for g in operator.genes if g == "op" or not g.isidentifier()]
    missing = [g for g in operator.genes if g not in choices]
    if bad_names or missing or set(choices) - set(operator.genes):
        raise ValueError(f"operator {name!r}: genes {list(operator.genes)} need default choices for each and only "
                         f"them (missing {missing}, unused {sorted(set(choices) - set(operator.genes))}, "
                         f"reserved or invalid names {bad_names})")
    if cls.cost is Operator.cost:
        raise ValueError(f"operator {name!r} has no cost rule: define cost(block, width, size)")
    OPERATORS.register(name)(operator)
    return cls


def operator_of(block: BlockSpec) -> Operator:
    """The registered family of `block`."""
    return OPERATORS[block.op]

