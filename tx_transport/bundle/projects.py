"""The project files: ``expressways.yaml`` (corridors), ``trunk_roads.yaml`` (links) and
``waterways.yaml`` (channels), the parts they share with ``rail.yaml`` (status and years, nodes,
in-boundary lengths), and the projects table across all four files."""

from __future__ import annotations

import datetime as _dt
import re
from typing import Annotated, Any

import pandas as pd
from pydantic import BeforeValidator, ValidationInfo, model_validator

from .base import Context
from .places import check_area
from .readers import UNREADABLE
from .schema import Detour, NonNegative, Positive, Record, Schema, Text, Year, check, fail, kebab_id, number, one_of, ref, speed, text, unique

STATUSES = ("existing", "under-construction", "planned")
GEOMETRIES = ("osm-traced", "schematic")
ADCODE_RE = re.compile(r"^\d{6}$")
NodePlace = ref("places_ids", problem="references a place that is not in places.csv", fix="add the place or correct the id", what="place")
Coordinate = number()


def _adcode_keys(v: Any) -> Any:
    """in_boundary_km: adcode keys as text (an unquoted 330483 reads as a number in YAML)."""
    if not isinstance(v, dict):
        return v
    out = {}
    for k, x in v.items():
        key = str(k) if isinstance(k, int) and not isinstance(k, bool) else k
        if not isinstance(key, str) or not ADCODE_RE.match(key):
            fail(f"in_boundary_km key {k!r} is not an adcode (six digits)", 'write e.g. in_boundary_km: {"330483": 8}')
        out[key] = x
    return out


InBoundary = Annotated[dict[str, NonNegative], BeforeValidator(_adcode_keys)]


class Project(Record):
    """What every project record has: id, names, status and years, source."""

    name_en: Text | None = None
    name_zh: Text | None = None
    status: one_of(STATUSES)  # type: ignore[valid-type]
    opened: Year | None
    plan_year: Year | None
    opened_note: Text | None = None
    source: text(nonempty=True, missing="has no 'source'",  # type: ignore[valid-type]
                 fix="say where the project's facts come from, with [S: url] / [M] tags (see networks/README.md)")
    role: Text | None = None

    @model_validator(mode="after")
    def _status_and_years(self) -> Any:
        if self.status == "existing" and self.opened is None:
            fail("an existing link needs 'opened' (year)", "give the opening year, or set status to under-construction/planned")
        if self.status == "existing" and self.opened > _dt.date.today().year:  # type: ignore[operator]
            fail(f"status is 'existing' but opened is {self.opened}, a future year",
                 "set status to under-construction/planned with plan_year, or correct the opening year")
        if self.status != "existing" and self.opened is not None:
            fail(f"status is {self.status!r} but 'opened' is set ({self.opened})",
                 "a link that is not open has opened: null; put the target year in plan_year")
        ib = getattr(self, "in_boundary_km", None)
        if ib is not None and not getattr(self, "in_boundary_source", None):
            fail("in_boundary_km has no in_boundary_source", "say where the in-boundary length comes from")
        return self


class Node(Record):
    """A node of a trunk link or a channel: ``{place: id}`` or ``{id, lat, lon, ...}``."""

    place: NodePlace | None = None  # type: ignore[valid-type]
    id: kebab_id("node id") | None = None  # type: ignore[valid-type]
    name_en: Text | None = None
    name_zh: Text | None = None
    lat: Coordinate | None = None  # type: ignore[valid-type]
    lon: Coordinate | None = None  # type: ignore[valid-type]
    coord_source: Text | None = None
    km: NonNegative | None = None

    @model_validator(mode="after")
    def _position(self, info: ValidationInfo) -> Any:
        if self.place is not None:
            if self.lat is not None or self.lon is not None:
                fail("a place node takes its position from places.csv, but lat/lon are given too",
                     "remove lat and lon, or give the node its own id instead of 'place'")
            return self
        if self.id is None:
            fail("a node needs 'place' (a place id) or its own 'id', 'lat' and 'lon'", "see networks/README.md (nodes)")
        if self.lat is None or self.lon is None:
            fail(f"'{'lat' if self.lat is None else 'lon'}' is missing", "give the node's WGS84 lat and lon, or use {place: id}")
        ctx = info.context if isinstance(info.context, dict) else {}
        if ctx.get("area"):
            check_area(self.lat, self.lon, ctx["area"])  # type: ignore[arg-type]
        return self


class CorridorNode(Node):
    kind: one_of(("interchange", "junction"),  # type: ignore[valid-type]
                 fix="use 'interchange' (access from local roads) or 'junction' (expressway to expressway)") | None = None


def _two_nodes(nodes: list[Any]) -> None:
    if len(nodes) < 2:
        fail("needs at least two nodes", "list the nodes in order")


class Corridor(Project):
    """expressways.yaml ``corridors`` item."""

    id: kebab_id("corridor id")  # type: ignore[valid-type]
    design_speed_kmh: speed("expressway")  # type: ignore[valid-type]
    lanes: number(gt=0, le=20, whole=True) | None = None  # type: ignore[valid-type]
    length_km: Positive | None = None
    geometry: one_of(GEOMETRIES) | None = None  # type: ignore[valid-type]
    in_boundary_km: InBoundary | None = None
    in_boundary_source: Text | None = None
    nodes: list[CorridorNode]

    @model_validator(mode="after")
    def _nodes(self) -> Any:
        _two_nodes(self.nodes)
        return self


class TrunkLink(Project):
    """trunk_roads.yaml ``links`` item (always schematic)."""

    id: kebab_id("link id")  # type: ignore[valid-type]
    road_class: ref("plan_classes", problem="road_class {v} is unknown",  # type: ignore[valid-type]
                    fix="use one of {choices} (modes.yaml road.plan_classes)", what="road class")
    design_speed_kmh: speed("road")  # type: ignore[valid-type]
    lanes: number(gt=0, le=20, whole=True) | None = None  # type: ignore[valid-type]
    length_km: Positive | None = None
    in_boundary_km: InBoundary | None = None
    in_boundary_source: Text | None = None
    nodes: list[Node]

    @model_validator(mode="after")
    def _nodes(self) -> Any:
        _two_nodes(self.nodes)
        return self


class Channel(Project):
    """waterways.yaml ``channels`` item."""

    id: kebab_id("channel id")  # type: ignore[valid-type]
    waterway_class: ref("water_classes", problem="waterway_class {v} is unknown",  # type: ignore[valid-type]
                        fix="use one of {choices} (modes.yaml waterway.classes)", what="waterway class")
    sinuosity: Detour | None = None
    locks: number(ge=0, le=100, whole=True) | None = None  # type: ignore[valid-type]
    nodes: list[Node]

    @model_validator(mode="after")
    def _nodes(self) -> Any:
        _two_nodes(self.nodes)
        return self


class CorridorsFile(Schema):
    corridors: list[Corridor]


class LinksFile(Schema):
    links: list[TrunkLink]


class ChannelsFile(Schema):
    channels: list[Channel]


def items_file(ctx: Context, name: str, key: str, model: type[Schema]) -> list[dict[str, Any]] | None:
    """The items under ``key`` of an optional project file after its schema ([] when the file is absent)."""
    f = ctx.path(name)
    if not f.exists():
        return []
    data = ctx.raw.get(name)
    if data is UNREADABLE:
        return None
    if data is None:
        ctx.problems.add(f, "file", "is empty", f"write '{key}: []' to declare no {key}, or delete the file")
        return None
    m = check(model, data, file=f, record="", problems=ctx.problems, context=ctx.context())
    if isinstance(data, dict) and isinstance(data.get(key), list):
        unique([it.get("id") for it in data[key] if isinstance(it, dict)], f, key.rstrip("s"), ctx.problems)
    if m is None or not ctx.ok(name):
        return None
    return [dict(it) for it in data[key]]


def normalise_project(item: dict[str, Any]) -> None:
    """Status years as int or None, in-boundary lengths as floats (in place)."""
    for key in ("opened", "plan_year"):
        item[key] = int(item[key]) if item.get(key) is not None else None
    if item.get("in_boundary_km") is not None:
        item["in_boundary_km"] = {str(k): float(v) for k, v in item["in_boundary_km"].items()}


def _nodes(items: list[dict[str, Any]], places: pd.DataFrame) -> list[dict[str, Any]]:
    out = []
    for n in items:
        n = dict(n)
        if "place" in n:
            p = places.loc[n["place"]]
            n.setdefault("id", n["place"])
            n["lat"], n["lon"] = float(p.lat), float(p.lon)
        else:
            n["lat"], n["lon"] = float(n["lat"]), float(n["lon"])
        out.append(n)
    return out


def load_corridors(ctx: Context, places: pd.DataFrame | None) -> list[dict[str, Any]] | None:
    out = items_file(ctx, "expressways.yaml", "corridors", CorridorsFile)
    if out is None or places is None:
        return None
    for c in out:
        normalise_project(c)
        c["design_speed_kmh"] = float(c["design_speed_kmh"])
        c["lanes"] = float(c["lanes"]) if c.get("lanes") is not None else None
        if c.get("length_km") is not None:
            c["length_km"] = float(c["length_km"])
        c["nodes"] = _nodes(c["nodes"], places)
    return out


def load_trunk(ctx: Context, places: pd.DataFrame | None) -> list[dict[str, Any]] | None:
    out = items_file(ctx, "trunk_roads.yaml", "links", LinksFile)
    if out is None or places is None:
        return None
    for t in out:
        normalise_project(t)
        t["design_speed_kmh"] = float(t["design_speed_kmh"])
        t["lanes"] = float(t["lanes"]) if t.get("lanes") is not None else None
        if t.get("length_km") is not None:
            t["length_km"] = float(t["length_km"])
        t["nodes"] = _nodes(t["nodes"], places)
    return out


def load_channels(ctx: Context, places: pd.DataFrame | None) -> list[dict[str, Any]] | None:
    out = items_file(ctx, "waterways.yaml", "channels", ChannelsFile)
    if out is None or places is None:
        return None
    for c in out:
        normalise_project(c)
        c["waterway_class"] = str(c["waterway_class"])
        c["sinuosity"] = float(c.get("sinuosity") if c.get("sinuosity") is not None else 1.3)
        c["locks"] = int(c.get("locks") or 0)
        c["nodes"] = _nodes(c["nodes"], places)
    return out


def build_projects(rail_lines: list[dict[str, Any]], corridors: list[dict[str, Any]], trunk: list[dict[str, Any]],
                   channels: list[dict[str, Any]]) -> pd.DataFrame:
    """The projects table (index ``project``) across the four project files and the OSM road layer."""
    rows = [{"project": "osm-roads", "mode": "road", "name_en": "OpenStreetMap main-road layer", "name_zh": "",
             "status": "existing", "opened": None, "plan_year": None, "length_km": None, "geometry": "osm",
             "file": "roads/edges.csv", "source": "© OpenStreetMap contributors, ODbL 1.0 (scgraph-data 2.0.0)"}]
    for li in rail_lines:
        rows.append({"project": li["id"], "mode": "rail", "name_en": li.get("name_en", ""), "name_zh": li.get("name_zh", ""),
                     "status": li["status"], "opened": li["opened"], "plan_year": li["plan_year"],
                     "length_km": float(sum(li["segment_km"])), "geometry": li.get("geometry", "schematic"),
                     "file": "rail.yaml", "source": li.get("source", "")})
    for c in corridors:
        rows.append({"project": c["id"], "mode": "expressway", "name_en": c.get("name_en", ""), "name_zh": c.get("name_zh", ""),
                     "status": c["status"], "opened": c["opened"], "plan_year": c["plan_year"], "lanes": c.get("lanes"),
                     "length_km": c.get("length_km"), "geometry": c.get("geometry", "schematic"),
                     "file": "expressways.yaml", "source": c.get("source", "")})
    for t in trunk:
        rows.append({"project": t["id"], "mode": "road", "name_en": t.get("name_en", ""), "name_zh": t.get("name_zh", ""),
                     "status": t["status"], "opened": t["opened"], "plan_year": t["plan_year"], "lanes": t.get("lanes"),
                     "length_km": t.get("length_km"), "geometry": "schematic", "file": "trunk_roads.yaml",
                     "source": t.get("source", "")})
    for c in channels:
        rows.append({"project": c["id"], "mode": "waterway", "name_en": c.get("name_en", ""), "name_zh": c.get("name_zh", ""),
                     "status": c["status"], "opened": c["opened"], "plan_year": c["plan_year"],
                     "length_km": None, "geometry": "schematic", "file": "waterways.yaml", "source": c.get("source", "")})
    return pd.DataFrame(rows).set_index("project")


def check_project_ids(ctx: Context) -> None:
    """Project ids are unique across the four project files, and 'osm-roads' is reserved."""
    seen: dict[str, str] = {}
    for name, key in (("rail.yaml", "lines"), ("expressways.yaml", "corridors"), ("trunk_roads.yaml", "links"),
                      ("waterways.yaml", "channels")):
        data = ctx.raw.get(name)
        items = data.get(key) if isinstance(data, dict) else None
        for it in items if isinstance(items, list) else []:
            pid = it.get("id") if isinstance(it, dict) else None
            if not isinstance(pid, str):
                continue
            if pid == "osm-roads":
                ctx.problems.add(ctx.path(name), f"{key.rstrip('s')} 'osm-roads'", "the id 'osm-roads' is reserved for the OSM road layer",
                                 "give the project another id", "id")
            elif pid in seen and seen[pid] != name:
                ctx.problems.add(ctx.root, f"project '{pid}'",
                                 f"the same id is used by two projects ({seen[pid]} and {name})", "give every project a unique id", "id")
            seen.setdefault(pid, name)


__all__ = ["Channel", "Corridor", "Project", "TrunkLink", "build_projects", "check_project_ids", "load_channels", "load_corridors",
           "load_trunk", "normalise_project"]
