"""GeoJSON files of a bundle (``rail_segments.geojson``, ``boundaries.geojson``,
``zones/*.geojson``): read with GDAL (pyogrio), per-feature property schemas, and geometry
checks (type, finite coordinates, inside the plausible area, swapped axes, non-empty area). A
file GDAL cannot read is parsed as JSON against the FeatureCollection schema, to say where it
is wrong."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shapely
from shapely.geometry import shape

from .base import Context
from .problems import Problems
from .readers import UNREADABLE, decode, read_bytes, read_json
from .schema import Schema, Text, check, one_of

GEOMETRY_TYPES = ("Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon", "GeometryCollection")
REBUILD = "rebuild the file with networks/build/build_bundle.py, or correct it in QGIS"


class GeometryModel(Schema):
    type: one_of(GEOMETRY_TYPES)  # type: ignore[valid-type]
    coordinates: Any = None
    geometries: Any = None
    bbox: Any = None


class FeatureModel(Schema):
    type: one_of(("Feature",), fix="every item of 'features' is a GeoJSON Feature")  # type: ignore[valid-type]
    geometry: GeometryModel | None
    properties: dict[str, Any] | None
    id: Any = None
    bbox: Any = None


class FeatureCollection(Schema):
    type: one_of(("FeatureCollection",), fix="the file must be one GeoJSON FeatureCollection")  # type: ignore[valid-type]
    features: list[FeatureModel]
    name: Text | None = None
    crs: Any = None
    bbox: Any = None


def _json_problems(ctx: Context, name: str) -> None:
    """The slow, precise path for a file GDAL cannot read: parse the JSON and check its structure."""
    f = ctx.path(name)
    n0 = len(ctx.problems)
    data = read_json(f, ctx.problems)
    if data is UNREADABLE or check(FeatureCollection, data, file=f, record="", problems=ctx.problems) is None:
        return
    for k, ft in enumerate(data["features"]):
        try:
            if ft.get("geometry"):
                shape(ft["geometry"])
        except Exception as exc:  # noqa: BLE001 - shapely raises several types for malformed coordinates
            ctx.problems.add(f, f"feature {k + 1}", f"coordinates are malformed ({type(exc).__name__}: {str(exc)[:120]})",
                             "give [lon, lat] positions as GeoJSON requires; " + REBUILD)
    del n0


def read_layer(ctx: Context, name: str) -> tuple[list[dict[str, Any]], list[Any]] | None:
    """(properties of each feature, shapely geometry of each feature or None), or None after problems."""
    import geopandas as gpd

    f = ctx.path(name)
    raw = read_bytes(f, ctx.problems)
    if raw is None or decode(raw, f, ctx.problems) is None:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            gdf = gpd.read_file(f)
    except Exception as exc:  # noqa: BLE001 - GDAL raises several types
        n0 = len(ctx.problems)
        _json_problems(ctx, name)
        if len(ctx.problems) == n0:
            ctx.problems.add(f, "file", f"is not readable GeoJSON ({type(exc).__name__}: {str(exc)[:200]})", REBUILD)
        return None
    if gdf.crs is not None and gdf.crs.to_epsg() != 4326:
        ctx.problems.add(f, "crs", f"is {str(gdf.crs)[:80]}, not WGS84", "reproject to EPSG:4326 (GeoJSON is WGS84 longitude, latitude)")
        return None
    props = []
    for rec in pd.DataFrame(gdf.drop(columns=gdf.geometry.name)).to_dict("records"):
        props.append({k: v for k, v in rec.items() if not (v is None or (isinstance(v, float) and math.isnan(v)))})
    return props, list(gdf.geometry)


def geometry_of(g: Any, file: Path, record: str, problems: Problems, kinds: tuple[str, ...],
                area: dict[str, float], *, margin: float = 0.0, what: str = "") -> Any:
    """A feature's geometry after its checks: type, finite coordinates, inside the plausible area
    (hinting at swapped axes), a polygon's area; None after a problem."""
    if g is None:
        problems.add(file, record, "geometry is missing", f"give each feature a {' or '.join(kinds)}")
        return None
    if g.geom_type not in kinds:
        problems.add(file, record, f"geometry is {g.geom_type}, not a {' or '.join(kinds)}", what or f"give each feature a {' or '.join(kinds)}")
        return None
    coords = shapely.get_coordinates(g)
    if g.is_empty or not len(coords):
        problems.add(file, record, "geometry is empty", REBUILD)
        return None
    if not np.isfinite(coords).all():
        problems.add(file, record, "coordinates are not all finite numbers", REBUILD)
        return None
    x0, y0, x1, y1 = g.bounds
    a = {k: v + (margin if k.startswith("max") else -margin) for k, v in area.items()}
    if not (a["min_lon"] <= x0 and x1 <= a["max_lon"] and a["min_lat"] <= y0 and y1 <= a["max_lat"]):
        swapped = a["min_lon"] <= y0 and y1 <= a["max_lon"] and a["min_lat"] <= x0 and x1 <= a["max_lat"]
        problems.add(file, record, f"coordinates (lon {x0:g}..{x1:g}, lat {y0:g}..{y1:g}) are outside the plausible area",
                     ("lat and lon look swapped (GeoJSON is [lon, lat]); " if swapped else "")
                     + "give WGS84 [lon, lat] positions, or re-run networks/build/build_bundle.py")
        return None
    if g.geom_type in ("Polygon", "MultiPolygon") and not (g.area > 0 and math.isfinite(g.area)):
        problems.add(file, record, "polygon has no area", REBUILD)
        return None
    if g.geom_type == "LineString" and len(coords) < 2:
        problems.add(file, record, "a line needs at least two positions", REBUILD)
        return None
    return g


def geometries(shapes: list[Any], props: list[dict[str, Any]], file: Path, problems: Problems,
               record: Callable[[int, dict[str, Any]], str], kinds: tuple[str, ...], area: dict[str, float], *,
               margin: float = 0.0, what: str = "") -> list[Any]:
    """:func:`geometry_of` for every feature. When every feature of the file has the same kind of
    problem (a whole file with swapped axes, or of the wrong type), that is one problem."""
    local = Problems()
    out = [geometry_of(g, file, record(k, p), local, kinds, area, margin=margin, what=what) for k, (g, p) in enumerate(zip(shapes, props))]
    items = local.items
    if len(shapes) > 2 and len(items) == len(shapes) and len({(p.problem.split(" (")[0][:20], p.fix) for p in items}) == 1:
        first = items[0]
        problems.add(file, f"{first.record} and all {len(items) - 1} other features", f"{first.problem}; so are all the others",
                     first.fix)
    else:
        problems.extend(items)
    return out


def properties_present(props: list[dict[str, Any]], required: list[str], file: Path, problems: Problems, fix: str) -> bool:
    """Properties lacking in every feature are one problem (a file-level mistake), not one per feature."""
    if not props:
        return True
    absent = [p for p in required if all(p not in pr for pr in props)]
    for p in absent:
        problems.add(file, "properties", f"features lack the property '{p}'", fix, p)
    return not absent


def check_properties(model: type[Schema], props: list[dict[str, Any]], file: Path, problems: Problems,
                     record: Callable[[int, dict[str, Any]], str], context: dict[str, Any] | None = None) -> list[Any]:
    """Validate each feature's properties (None for a feature with problems)."""
    return [check(model, p, file=file, record=record(k, p), problems=problems, context=context) for k, p in enumerate(props)]


__all__ = ["FeatureCollection", "check_properties", "geometries", "geometry_of", "properties_present", "read_layer"]
