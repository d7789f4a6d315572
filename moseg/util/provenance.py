"""What a figure was produced with: package versions and the device, recorded beside every result."""

from __future__ import annotations

import os
import platform
import sys

import numpy as np
import torch

import moseg


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def nvidia_driver() -> str | None:
    try:
        with open("/proc/driver/nvidia/version") as f:
            return f.readline().strip()
    except OSError:
        return None


def device_info(dev: torch.device) -> dict:
    """The device's name, and for a GPU the CUDA, driver and cuDNN versions."""
    if dev.type == "cuda":
        return {"device_name": torch.cuda.get_device_properties(dev).name, "cuda": torch.version.cuda,
                "driver": nvidia_driver(), "cudnn": torch.backends.cudnn.version()}
    return {"device_name": cpu_name(), "cpu_count": os.cpu_count()}


def versions() -> dict:
    return {"moseg": moseg.__version__, "python": sys.version.split()[0], "torch": torch.__version__,
            "numpy": np.__version__, "platform": platform.platform()}
