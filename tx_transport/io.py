"""Read and validate a network bundle (the files of ``networks/``): kept for compatibility.

The loader lives in :mod:`tx_transport.bundle` (one schema per file, one loader per layer, every
problem collected); this module re-exports what other modules and user code import from here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .bundle import ALWAYS_ON_PROJECTS, DEFAULT_AREA, DEFAULT_BUNDLE, Bundle, BundleErrors, Problem, read_bundle, validate
from .bundle.problems import Problems
from .bundle.readers import MAX_ALIAS_EXPANSION, UNREADABLE, missing, read_yaml
from .bundle.schema import ID_RE, MAX_SPEED_KMH, MAX_STEP_MIN


def _read_yaml(path: Path, required: bool = True) -> Any:
    """One YAML file of a bundle (safe, no duplicate keys, bounded aliases); raises the first problem."""
    path = Path(path)
    problems = Problems()
    if not path.exists():
        if not required:
            return None
        missing(path, problems)
    data = read_yaml(path, problems) if path.exists() else UNREADABLE
    if problems:
        raise BundleErrors(problems.items)
    return data


__all__ = ["ALWAYS_ON_PROJECTS", "DEFAULT_AREA", "DEFAULT_BUNDLE", "ID_RE", "MAX_ALIAS_EXPANSION", "MAX_SPEED_KMH", "MAX_STEP_MIN",
           "Bundle", "BundleErrors", "Problem", "read_bundle", "validate"]
