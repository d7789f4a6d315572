"""Operator families of the cell level, by name: the built-in convolution and attention, and any plug-in
registered with `register_operator` (see `moseg.space.ops.base`)."""

from moseg.space.ops.attention import AttentionBlock
from moseg.space.ops.base import OPERATORS, BlockSpec, Operator, operator_of, register_operator
from moseg.space.ops.conv import ConvBlock

__all__ = ["OPERATORS", "AttentionBlock", "BlockSpec", "ConvBlock", "Operator", "operator_of", "register_operator"]
