"""What every stage of moseg shares: the plug-in registry."""

from moseg.core.registry import Registry, UnknownNameError

__all__ = ["Registry", "UnknownNameError"]
