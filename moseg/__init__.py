"""moseg: surrogate-assisted multi-objective evolutionary NAS for real-time semantic segmentation."""

__version__ = "0.1.0"
