"""The search space: integer genes, decoded `Arch` descriptions and their analytic cost (no torch)."""

from moseg.space.arch import Arch, AttentionBlock, Block, Branch, ConvBlock
from moseg.space.complexity import count_flops, count_params
from moseg.space.space import Gene, SearchSpace

__all__ = [
    "Arch", "AttentionBlock", "Block", "Branch", "ConvBlock", "Gene", "SearchSpace", "count_flops", "count_params",
]
