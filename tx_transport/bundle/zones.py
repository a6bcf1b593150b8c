"""Polygon files: ``boundaries.geojson`` (administrative outlines), ``zones/urban_areas.geojson``
(the urban cores of ``modes.yaml`` ``road.areas``) and ``zones/counties.geojson`` (census zones,
read by :func:`tx_transport.population_reached`; checked by ``validate`` only)."""

from __future__ import annotations

import re
from typing import Annotated, Any

import geopandas as gpd
from pydantic import BeforeValidator

from ..geo import WGS84
from .base import Context
from .geojson import check_properties, geometries, properties_present, read_layer
from .schema import NonNegative, Record, Text, fail, number, one_of, ref, text, unique

ADCODE_RE = re.compile(r"^\d{6}$")
POLYGONS = ("Polygon", "MultiPolygon")
#: Outlines (provinces) may reach this far (degrees) beyond the plausible area of places.
OUTLINE_MARGIN_DEG = 1.0


def _adcode(v: Any) -> str:
    s = str(v) if isinstance(v, int) and not isinstance(v, bool) else v
    if not isinstance(s, str) or not ADCODE_RE.match(s):
        fail(f"adcode {v!r} is not six digits", "give the administrative code as text, e.g. \"330483\"")
    return s


Adcode = Annotated[str, BeforeValidator(_adcode)]


class BoundaryProps(Record):
    adcode: Adcode
    name_en: Text
    name_zh: Text
    level: one_of(("province", "prefecture", "county"))  # type: ignore[valid-type]
    source: Text | None = None


class UrbanAreaProps(Record):
    area: ref("areas", problem="area {v} has no speeds in modes.yaml road.areas",  # type: ignore[valid-type]
              fix="add it to road.areas in modes.yaml (free_flow_kmh, peak_kmh, source) or remove the polygon", what="area")
    name_en: Text | None = None
    districts: Text | None = None
    source: Text | None = None


class CountyProps(Record):
    adcode: text(nonempty=True)  # type: ignore[valid-type]
    name_zh: Text
    prefecture_zh: Text | None = None
    province_zh: Text | None = None
    population: number(ge=0, whole=True)  # type: ignore[valid-type]
    area_km2: NonNegative | None = None
    density_per_km2: NonNegative | None = None
    note: Text | None = None
    source: Text | None = None


def _frame(feats: list[dict[str, Any]], geoms: list[Any]) -> gpd.GeoDataFrame:
    rows = [dict(ft) for ft in feats]
    cols = list(dict.fromkeys(k for r in rows for k in r))
    g = gpd.GeoDataFrame(rows, columns=cols, geometry=gpd.GeoSeries(geoms), crs=WGS84) if rows else \
        gpd.GeoDataFrame({c: [] for c in cols}, geometry=[], crs=WGS84)
    return g


def load_boundaries(ctx: Context) -> gpd.GeoDataFrame | None:
    """boundaries.geojson (optional) indexed by adcode, or None after problems."""
    name = "boundaries.geojson"
    f = ctx.path(name)
    if not f.exists():
        ctx.refs.adcodes = set()
        return gpd.GeoDataFrame({"adcode": [], "name_en": [], "name_zh": [], "level": []}, geometry=[], crs=WGS84)
    layer = read_layer(ctx, name)
    if layer is None:
        return None
    feats, shapes = layer
    ctx.refs.adcodes = {str(p["adcode"]) for p in feats if "adcode" in p}
    if not properties_present(feats, ["adcode"], f, ctx.problems, "give each boundary its adcode"):
        return None

    def rec(k: int, p: dict[str, Any]) -> str:
        return f"feature {k + 1} (adcode {p.get('adcode')})"

    props = check_properties(BoundaryProps, feats, f, ctx.problems, rec)
    geoms = geometries(shapes, feats, f, ctx.problems, rec, POLYGONS, ctx.area, margin=OUTLINE_MARGIN_DEG)
    unique([p.adcode for p in props if p is not None], f, "adcode", ctx.problems, lambda a: f"adcode {a!r}")
    if not ctx.ok(name):
        return None
    b = _frame(feats, geoms)
    b["adcode"] = b["adcode"].astype(str)
    return b.set_index("adcode", drop=False)


def load_urban_areas(ctx: Context, modes: dict[str, Any] | None) -> gpd.GeoDataFrame | None | bool:
    """zones/urban_areas.geojson (optional; None when absent), or False after problems."""
    name = "zones/urban_areas.geojson"
    f = ctx.path(name)
    if not f.exists():
        return None
    layer = read_layer(ctx, name)
    if layer is None:
        return False
    feats, shapes = layer
    if not properties_present(feats, ["area"], f, ctx.problems, "give each polygon the id of a modes.yaml road.areas entry"):
        return False

    def rec(k: int, p: dict[str, Any]) -> str:
        return f"area {p.get('area')!r}"

    props = check_properties(UrbanAreaProps, feats, f, ctx.problems, rec, ctx.context())
    geoms = geometries(shapes, feats, f, ctx.problems, rec, POLYGONS, ctx.area, margin=OUTLINE_MARGIN_DEG)
    have = [p.area for p in props if p is not None]
    unique(have, f, "area", ctx.problems, lambda a: f"area {a!r}")
    if ctx.refs.areas is not None and all(p is not None for p in props):
        for a in sorted(ctx.refs.areas - set(have)):
            ctx.problems.add(f, f"area {a!r}", "modes.yaml road.areas has this area but the file has no polygon for it",
                             "rebuild zones/urban_areas.geojson with networks/build/build_bundle.py, or remove the area from modes.yaml")
    if not ctx.ok(name):
        return False
    return _frame(feats, geoms)


def check_counties(ctx: Context) -> None:
    """zones/counties.geojson (optional; read by population_reached): properties and polygons."""
    name = "zones/counties.geojson"
    f = ctx.path(name)
    if not f.exists():
        return
    layer = read_layer(ctx, name)
    if layer is None:
        return
    feats, shapes = layer
    if not properties_present(feats, ["adcode", "population"], f, ctx.problems, "give each zone its adcode and residents (a number)"):
        return

    def rec(k: int, p: dict[str, Any]) -> str:
        return f"feature {k + 1} (adcode {p.get('adcode')})"

    props = check_properties(CountyProps, feats, f, ctx.problems, rec)
    geometries(shapes, feats, f, ctx.problems, rec, POLYGONS, ctx.area, margin=OUTLINE_MARGIN_DEG)
    unique([p.adcode for p in props if p is not None], f, "adcode", ctx.problems, lambda a: f"adcode {a!r}")


__all__ = ["check_counties", "load_boundaries", "load_urban_areas"]
