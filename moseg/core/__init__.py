"""What every stage of moseg shares: the plug-in registry (and `moseg.core.plugins`, loading a user's plug-ins)."""

from moseg.core.registry import Registry, UnknownNameError

__all__ = ["Registry", "UnknownNameError"]
