"""The :class:`Bundle` (what the rest of the package reads) and the loader's working context."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from ..transit.config import TransitConfig
from .problems import Problems
from .schema import Refs

#: The embedded default bundle (Tongxiang inside the Yangtze River Delta).
DEFAULT_BUNDLE = Path(__file__).resolve().parent.parent.parent / "networks"
#: Plausible area for coordinates when the bundle does not set one (lon/lat degrees).
DEFAULT_AREA = {"min_lat": 27.0, "max_lat": 35.0, "min_lon": 115.0, "max_lon": 124.0}
ALWAYS_ON_PROJECTS = {"osm-roads"}


@dataclass
class Bundle:
    """The parsed, validated content of a bundle folder (internal; see :class:`Network`)."""

    path: Path
    area: dict[str, float]
    places: pd.DataFrame
    rail_lines: list[dict[str, Any]]
    rail_geometry: dict[tuple[str, str, str], Any]
    corridors: list[dict[str, Any]]
    trunk_links: list[dict[str, Any]]
    channels: list[dict[str, Any]]
    road_nodes: pd.DataFrame
    road_edges: pd.DataFrame
    boundaries: gpd.GeoDataFrame
    scenarios: dict[str, dict[str, Any]]
    goals: dict[str, Any]
    modes: dict[str, Any]
    profiles: dict[str, dict[str, Any]]
    projects: pd.DataFrame = field(default_factory=pd.DataFrame)
    transit: TransitConfig = field(default_factory=TransitConfig)
    services: list[dict[str, Any]] = field(default_factory=list)
    scenario_timetables: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: urban-core polygons (``zones/urban_areas.geojson``: ``area`` id, EPSG:4326), or None
    urban_areas: gpd.GeoDataFrame | None = None
    centre: str | None = None


@dataclass
class Context:
    """What the layer loaders share: the folder, the problems so far, the plausible area, the
    ids other files may refer to, and the raw parsed files."""

    root: Path
    problems: Problems = field(default_factory=Problems)
    area: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_AREA))
    refs: Refs = field(default_factory=Refs)
    raw: dict[str, Any] = field(default_factory=dict)

    def path(self, name: str) -> Path:
        return self.root / name

    def context(self, **extra: Any) -> dict[str, Any]:
        """The validation context of the schemas."""
        return {"refs": self.refs, "area": self.area, **extra}

    def ok(self, *names: str) -> bool:
        """No problem so far in these files."""
        files = {str(self.path(n)) for n in names}
        return not any(p.file in files for p in self.problems)

    @contextlib.contextmanager
    def guard(self, name: str) -> Iterator[None]:
        """Anything unexpected while checking ``name`` becomes a problem naming the file (never a
        traceback); when the file already has problems, it is taken as their consequence."""
        f = self.path(name)
        before = len(self.problems.of(f))
        try:
            yield
        except MemoryError:
            self.problems.add(f, "file", "is too large to check in memory", "split or shorten the file")
        except RecursionError:
            self.problems.add(f, "file", "is nested too deeply to check", "flatten the structure")
        except Exception as exc:  # noqa: BLE001 - the promise: a problem naming the file, never a traceback
            if len(self.problems.of(f)) == before:
                self.problems.add(f, "file", f"could not be checked ({type(exc).__name__}: {exc})",
                                  "compare the file with networks/README.md; if it looks right, this is a bug in tx-transport: "
                                  "please report it with the file")


__all__ = ["ALWAYS_ON_PROJECTS", "DEFAULT_AREA", "DEFAULT_BUNDLE", "Bundle", "Context"]
