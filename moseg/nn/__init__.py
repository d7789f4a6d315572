"""The networks: the weight-sharing supernet, its elastic layers and the blocks of each operator family, the network
graph it shares with extracted networks, one network built alone (`build_network`), and the hand-designed baselines
(`zoo`)."""

from moseg.nn.network import SegmentationNetwork
from moseg.nn.supernet import Supernet, build_network

__all__ = ["SegmentationNetwork", "Supernet", "build_network"]
