"""The weight-sharing supernet, its elastic layers and the network graph it shares with extracted networks."""

from moseg.supernet.network import SegmentationNetwork
from moseg.supernet.supernet import Supernet, build_network

__all__ = ["SegmentationNetwork", "Supernet", "build_network"]
