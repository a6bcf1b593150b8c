"""Compatibility module: the figures now live in :mod:`tx_transport.viz`.

``from tx_transport import plot`` and ``plot.network_map(...)`` keep working; new code can use
``tx_transport.viz`` directly. Private helpers of the old module are looked up in the ``viz``
submodules on first access.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from .viz import *  # noqa: F403
from .viz import __all__  # noqa: F401

_SUBMODULES = ("style", "fonts", "layers", "furniture", "network_map", "isochrone_maps", "change_map", "goal_chart")


def __getattr__(name: str) -> Any:
    for sub in _SUBMODULES:
        mod = import_module(f"tx_transport.viz.{sub}")
        if name in vars(mod):
            return vars(mod)[name]
    raise AttributeError(f"module 'tx_transport.plot' has no attribute {name!r}")
