"""Latency: measured end to end with its protocol recorded (`measure`), behind pluggable backends (`backends`),
per-part lookup tables (`table`) and resumable surveys of sampled networks (`survey`)."""

from moseg.latency.backends import LATENCY_BACKENDS, LatencyBackend, register_latency_backend
from moseg.latency.measure import (
    DTYPES,
    LatencyResult,
    LatencySettings,
    check_settings,
    measure_latency,
    measure_onnx_latency,
    protocol_of,
)
from moseg.latency.table import LatencyTable, table_features

__all__ = ["DTYPES", "LATENCY_BACKENDS", "LatencyBackend", "LatencyResult", "LatencySettings", "LatencyTable",
           "check_settings", "measure_latency", "measure_onnx_latency", "protocol_of", "register_latency_backend",
           "table_features"]
