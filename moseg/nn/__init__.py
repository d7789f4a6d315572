"""The weight-sharing supernet, its elastic layers and the network graph it shares with extracted networks."""

from moseg.nn.network import SegmentationNetwork
from moseg.nn.supernet import Supernet, build_network

__all__ = ["SegmentationNetwork", "Supernet", "build_network"]
