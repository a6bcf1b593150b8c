"""``places.csv`` and ``bundle.yaml``: the places every other file refers to, and the area their
coordinates must lie in."""

from __future__ import annotations

import difflib
from typing import Annotated, Any

import pandas as pd
from pydantic import BeforeValidator, ValidationInfo, model_validator

from .base import DEFAULT_AREA, Context
from .readers import UNREADABLE, read_csv
from .schema import Id, Record, Schema, Text, check, fail, got, number, one_of, ref, text, unique

PLACE_KINDS = ("city", "town", "station", "interchange", "port", "airport", "venue")
COORD_STATUSES = ("sourced", "derived", "assumption")
PLACE_COLUMNS = ["id", "name_en", "name_zh", "kind", "lat", "lon", "coord_source"]
OPTIONAL_COLUMNS = ["population", "population_source", "coord_status", "aliases"]
Coordinate = number()


def check_area(lat: float, lon: float, area: dict[str, float]) -> None:
    """Raise a validation error when (lat, lon) lies outside the plausible area (hinting at swapped axes)."""
    if area["min_lat"] <= lat <= area["max_lat"] and area["min_lon"] <= lon <= area["max_lon"]:
        return
    swapped = area["min_lat"] <= lon <= area["max_lat"] and area["min_lon"] <= lat <= area["max_lon"]
    fail(f"coordinate (lat {lat:g}, lon {lon:g}) is outside the plausible area "
         f"(lat {area['min_lat']:g}–{area['max_lat']:g}, lon {area['min_lon']:g}–{area['max_lon']:g})",
         ("lat and lon look swapped; " if swapped else "")
         + "give WGS84 decimal degrees (not projected metres, not GCJ-02 offsets), or widen 'area' in bundle.yaml")


def _aliases(v: Any) -> Any:
    """Other names of the place, ``|``-separated: no empty name, none twice."""
    if not isinstance(v, str):
        fail(f"aliases must be text, got {got(v)}", "write the other names separated by '|'")
    names = [a.strip() for a in v.split("|")]
    if any(not a for a in names) or len(set(names)) != len(names):
        fail(f"aliases {v!r} has an empty or repeated name", "separate the other names by single '|', each once")
    return v


class LatLon(Record):
    """A record with a WGS84 position inside the bundle's plausible area."""

    lat: Coordinate
    lon: Coordinate

    @model_validator(mode="after")
    def _in_area(self, info: ValidationInfo) -> Any:
        ctx = info.context if isinstance(info.context, dict) else {}
        check_area(self.lat, self.lon, ctx.get("area") or DEFAULT_AREA)
        return self


class PlaceRow(LatLon):
    """One row of places.csv."""

    id: Id
    name_en: Text
    name_zh: Text
    kind: one_of(PLACE_KINDS)  # type: ignore[valid-type]
    coord_source: text(nonempty=True, missing="coord_source is empty",  # type: ignore[valid-type]
                       fix="say where the coordinate comes from, or that it is an assumption")
    population: number(ge=0, whole=True) | None = None  # type: ignore[valid-type]
    population_source: Text | None = None
    coord_status: one_of(COORD_STATUSES) | None = None  # type: ignore[valid-type]
    aliases: Annotated[str, BeforeValidator(_aliases)] | None = None


class Area(Schema):
    min_lat: Coordinate = DEFAULT_AREA["min_lat"]
    max_lat: Coordinate = DEFAULT_AREA["max_lat"]
    min_lon: Coordinate = DEFAULT_AREA["min_lon"]
    max_lon: Coordinate = DEFAULT_AREA["max_lon"]

    @model_validator(mode="after")
    def _ordered(self) -> Any:
        if not (self.min_lat < self.max_lat and self.min_lon < self.max_lon):
            fail("min_lat must be below max_lat and min_lon below max_lon", "give the south-west and north-east corners in degrees")
        if not (-90 <= self.min_lat and self.max_lat <= 90 and -180 <= self.min_lon and self.max_lon <= 180):
            fail("the area is not in degrees (lat -90..90, lon -180..180)", "give WGS84 decimal degrees")
        return self


class Manifest(Schema):
    """bundle.yaml."""

    area: Area | None = None
    centre: ref("places_ids", problem="{v} is not a place id of places.csv", what="place",  # type: ignore[valid-type]
                fix="give the id of the place reports measure from, e.g. centre: tongxiang") | None = None


def load_manifest(ctx: Context) -> dict[str, Any]:
    """bundle.yaml (optional): sets ``ctx.area``; returns ``{"centre": ...}``."""
    f = ctx.path("bundle.yaml")
    data = ctx.raw.get("bundle.yaml")
    if data is None or data is UNREADABLE:
        return {"centre": None}
    m = check(Manifest, data, file=f, record="", problems=ctx.problems, context=ctx.context())
    if m is None:
        # keep the area keys that are fine, so that coordinates are still checked against something sensible
        raw_area = data.get("area") if isinstance(data, dict) else None
        if isinstance(raw_area, dict):
            for k, v in raw_area.items():
                if k in DEFAULT_AREA and isinstance(v, (int, float)) and not isinstance(v, bool):
                    ctx.area[k] = float(v)
        return {"centre": None}
    if m.area is not None:
        ctx.area.update(m.area.model_dump())
    if m.centre is not None and ctx.refs.places_ids is None:
        return {"centre": None}
    return {"centre": m.centre}


def read_places(ctx: Context) -> pd.DataFrame | None:
    """places.csv as text (the raw table other files' references are checked against)."""
    return read_csv(ctx.path("places.csv"), ctx.problems, PLACE_COLUMNS)


def load_places(ctx: Context, df: pd.DataFrame | None) -> pd.DataFrame | None:
    """Check every row of places.csv; the places table (index ``id``), or None after problems."""
    f = ctx.path("places.csv")
    if df is None:
        return None
    known = PLACE_COLUMNS + OPTIONAL_COLUMNS
    extra = [c for c in df.columns if c not in known]
    for c in extra:
        close = difflib.get_close_matches(str(c), known, n=1)
        ctx.problems.add(f, "header", f"unknown column {c!r}", (f"did you mean {close[0]!r}? " if close else "")
                         + f"the columns are {', '.join(known)} (see networks/README.md)", c)
    n0 = len(ctx.problems)
    rows = []
    context = ctx.context(csv=True)
    cols = [c for c in df.columns if c in known]
    for i, r in enumerate(df[cols].itertuples(index=False, name=None)):
        d = dict(zip(cols, r))
        rec = f"row {i + 2} (id {d['id']!r})"
        data = {k: (None if k in OPTIONAL_COLUMNS and (v is None or str(v).strip() == "") else v) for k, v in d.items()}
        p = check(PlaceRow, data, file=f, record=rec, problems=ctx.problems, context=context)
        if p is not None:
            rows.append({**d, "id": p.id, "lat": p.lat, "lon": p.lon, "population": p.population})
    unique(list(df["id"]), f, "place", ctx.problems)
    if len(ctx.problems) > n0 or extra:
        return None
    return pd.DataFrame(rows).set_index("id")


__all__ = ["PLACE_KINDS", "LatLon", "Manifest", "PlaceRow", "check_area", "load_manifest", "load_places", "read_places"]
