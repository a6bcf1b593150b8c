"""``rail.yaml`` (lines: infrastructure, stations, chainage) and ``rail_segments.geojson`` (the
OSM traces of ``osm-traced`` lines between consecutive stations)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from ..geo import haversine_km
from .base import Context
from .geojson import check_properties, geometries, properties_present, read_layer
from .projects import GEOMETRIES, InBoundary, Project, items_file, normalise_project
from .schema import Detour, NonNegative, Positive, Record, Schema, StationRef, Text, fail, kebab_id, one_of, ref, speed

#: A trace must start and end within this distance of its stations (km): the build projects each
#: station onto the OSM line, which lies at most ~2 km from the station in the embedded bundle.
TRACE_END_KM = 5.0
RETIRED_SERVICES = ("'services' (assumed stopping patterns with a half-headway wait) is retired: trains come from the timetable",
                    "give the line's trains as add-trip-pattern edits in services.yaml (project: <line id>) and remove 'services' from "
                    "rail.yaml (see networks/README.md)")


class Station(Record):
    place: StationRef  # type: ignore[valid-type]
    km: NonNegative | None = None


class Line(Project):
    """rail.yaml ``lines`` item."""

    id: kebab_id("line id")  # type: ignore[valid-type]
    rail_class: ref("rail_classes", problem="rail_class {v} is unknown",  # type: ignore[valid-type]
                    fix="use one of {choices} (modes.yaml rail.classes)", what="rail class")
    design_speed_kmh: speed("rail")  # type: ignore[valid-type]
    operating_speed_kmh: Positive
    speed_source: Text | None = None
    geometry: one_of(GEOMETRIES) | None = None  # type: ignore[valid-type]
    schematic_detour: Detour | None = None
    in_boundary_km: InBoundary | None = None
    in_boundary_source: Text | None = None
    stations: list[Station]

    @model_validator(mode="before")
    @classmethod
    def _retired(cls, data: Any) -> Any:
        if isinstance(data, dict) and "services" in data:
            fail(*RETIRED_SERVICES)
        return data

    @model_validator(mode="after")
    def _line(self) -> Any:
        if self.operating_speed_kmh > self.design_speed_kmh:
            fail(f"operating_speed_kmh {self.operating_speed_kmh:g} exceeds design_speed_kmh {self.design_speed_kmh:g}",
                 "trains run at most at the design speed: correct one of the two")
        if len(self.stations) < 2:
            fail("needs at least two stations", "list the stations in order")
        ids = [s.place for s in self.stations]
        if len(set(ids)) != len(ids):
            fail("lists a station twice", "list each station once, in order")
        prev = None
        for s in self.stations:
            if s.km is not None:
                if prev is not None and s.km <= prev:
                    fail("chainage 'km' does not increase along the line", "give km in increasing order from the first station",
                         at=f"station {s.place!r}")
                prev = s.km
        return self


class RailFile(Schema):
    lines: list[Line]


_StationPlace = ref("places_ids", problem="station {v} is not a place of places.csv", fix="use a place id", what="place")


class SegmentProps(Record):
    line: ref("lines", problem="line {v} is not a line of rail.yaml", fix="use a line id of rail.yaml",  # type: ignore[valid-type]
              what="line")
    from_: _StationPlace = Field(alias="from")  # type: ignore[valid-type]
    to: _StationPlace  # type: ignore[valid-type]
    traced_km: NonNegative | None = None
    source: Text | None = None


def load_segments(ctx: Context, places: pd.DataFrame | None) -> dict[tuple[str, str, str], Any] | None:
    """rail_segments.geojson (optional): {(line, from, to): LineString}, or None after problems."""
    name = "rail_segments.geojson"
    f = ctx.path(name)
    if not f.exists():
        return {}
    layer = read_layer(ctx, name)
    if layer is None:
        return None
    feats, geoms = layer
    fix = "give every feature 'line' (rail.yaml line id), 'from' and 'to' (station place ids)"
    if not properties_present(feats, ["line", "from", "to"], f, ctx.problems, fix):
        return None

    def rec(k: int, p: dict[str, Any]) -> str:
        return f"feature {k + 1} ({p.get('line')} {p.get('from')} -> {p.get('to')})"

    props = check_properties(SegmentProps, feats, f, ctx.problems, rec, ctx.context())
    lines = geometries(geoms, feats, f, ctx.problems, rec, ("LineString",), ctx.area,
                       what="give each segment as a LineString from station to station")
    geom: dict[tuple[str, str, str], Any] = {}
    for k, (ft, p, g) in enumerate(zip(feats, props, lines)):
        r = rec(k, ft)
        if g is None or p is None:
            continue
        key = (p.line, p.from_, p.to)
        if key in geom:
            ctx.problems.add(f, r, "a second trace of the same segment", "keep one feature per line and station pair")
            continue
        if places is not None and p.from_ in places.index and p.to in places.index:
            (x0, y0), (x1, y1) = g.coords[0], g.coords[-1]
            for end, (x, y), st in (("start", (x0, y0), p.from_), ("end", (x1, y1), p.to)):
                d = float(haversine_km(y, x, places.lat[st], places.lon[st]))
                if d > TRACE_END_KM:
                    ctx.problems.add(f, r, f"the trace's {end} is {d:.1f} km from its station {st!r} (more than {TRACE_END_KM:g} km)",
                                     "the trace must run from the 'from' station to the 'to' station: check the order of its "
                                     "positions and the station ids, or re-run networks/build/build_bundle.py")
        geom[key] = g
    return geom if ctx.ok(name) else None


def _line_latlon_pairs(g: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    c = np.asarray(g.coords)
    return c[:-1, 1], c[:-1, 0], c[1:, 1], c[1:, 0]


def check_rail(ctx: Context) -> list[dict[str, Any]] | None:
    """The lines of rail.yaml after its schema ([] without the file), or None after problems."""
    return items_file(ctx, "rail.yaml", "lines", RailFile)


def load_rail(ctx: Context, lines: list[dict[str, Any]] | None, places: pd.DataFrame | None,
              geom: dict[tuple[str, str, str], Any] | None) -> list[dict[str, Any]] | None:
    """The lines with station ids and segment lengths (from chainage, traces or straight lines), or None after problems."""
    if lines is None or places is None:
        return None
    seg_file = ctx.path("rail_segments.geojson")
    validated = RailFile.model_validate({"lines": lines}, context=ctx.context())
    used: set[tuple[str, str, str]] = set()
    ok = True
    for li, m in zip(lines, validated.lines):
        rec = f"line {li['id']!r}"
        normalise_project(li)
        li["operating_speed_kmh"] = float(li["operating_speed_kmh"])
        li["design_speed_kmh"] = float(li["design_speed_kmh"])
        detour = float(li["schematic_detour"]) if li.get("schematic_detour") is not None else 1.1
        li["stations"] = [{**s, "place": ms.place} for s, ms in zip(li["stations"], m.stations)]
        ids = [s["place"] for s in li["stations"]]
        traced = li.get("geometry") == "osm-traced"
        raw = []
        for a, b in zip(ids[:-1], ids[1:]):
            g = (geom or {}).get((li["id"], a, b))
            if traced and geom is None:
                raw.append(float("nan"))  # the traces could not be read: a problem says so already
                continue
            if g is None and traced:
                ctx.problems.add(seg_file, f"{rec}, segment {a} -> {b}", "the line is 'osm-traced' but this segment has no trace",
                                 "re-run networks/build/build_bundle.py, or set 'geometry: schematic' on the line in rail.yaml")
                ok = False
                continue
            if g is not None and traced:
                used.add((li["id"], a, b))
                raw.append(float(haversine_km(*_line_latlon_pairs(g)).sum()))
            else:
                pa, pb = places.loc[a], places.loc[b]
                raw.append(float(haversine_km(pa.lat, pa.lon, pb.lat, pb.lon)) * detour)  # type: ignore[arg-type]
        if not ok or geom is None and traced:
            continue
        km = [float(s["km"]) if s.get("km") is not None else None for s in li["stations"]]
        known = [k for k, v in enumerate(km) if v is not None]
        seg = list(raw)
        for k0, k1 in zip(known[:-1], known[1:]):
            tot = sum(raw[k0:k1])
            for k in range(k0, k1):  # stations at one point (tot 0) share the chainage equally
                seg[k] = raw[k] * (km[k1] - km[k0]) / tot if tot > 0 else (km[k1] - km[k0]) / (k1 - k0)  # type: ignore[operator]
        li["segment_km"] = seg
        li["segment_length_source"] = [
            "chainage" if (known and known[0] <= k < known[-1])
            else ("osm-trace" if traced and (li["id"], ids[k], ids[k + 1]) in (geom or {}) else "straight-line × detour")
            for k in range(len(seg))
        ]
        li["station_ids"] = ids
    for key in sorted(set(geom or {}) - used):
        line = next((li for li in lines if li["id"] == key[0]), None)
        if line is not None and line.get("geometry") != "osm-traced":
            continue  # a trace kept for a line drawn schematically: unused but harmless
        ctx.problems.add(seg_file, f"feature ({key[0]} {key[1]} -> {key[2]})",
                         "traces a segment that no osm-traced line of rail.yaml has (stations not consecutive, or in the other order)",
                         "correct 'from'/'to' (consecutive stations of the line, in line order), or remove the feature")
        ok = False
    if geom is None or not ok or not ctx.ok("rail.yaml"):
        return None
    return lines


__all__ = ["Line", "RailFile", "check_rail", "load_rail", "load_segments"]
