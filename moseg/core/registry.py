"""The registry behind every plug-in point of moseg (datasets, baselines, pre-screeners, latency backends,
evaluators, zero-cost proxies) and of the surrogates: one generic class, `surrogates.registry.Registry`, defined in the
standalone surrogates package (which imports no moseg) and used from here by moseg."""

from surrogates.registry import Registry, UnknownNameError

__all__ = ["Registry", "UnknownNameError"]
