"""Read and validate a network bundle (the files of ``networks/``).

A bundle is a folder of open-format files that a planner edits in QGIS or a text editor; its
format is documented in ``networks/README.md``. :func:`load_network` reads it, checks every
record and returns a :class:`~tx_transport.network.Network`. Any problem raises one
:class:`~tx_transport.errors.NetworkDataError` naming the file, the record and the fix;
nothing is silently dropped.
"""

from __future__ import annotations

import datetime as _dt
import difflib
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import yaml

from .errors import NetworkDataError
from .geo import WGS84, haversine_km
from .transit.config import TransitConfig, load_services, load_transit_config, scenario_timetable, station_id

#: The embedded default bundle (Tongxiang inside the Yangtze River Delta).
DEFAULT_BUNDLE = Path(__file__).resolve().parent.parent / "networks"

ID_RE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
PLACE_KINDS = {"city", "town", "station", "interchange", "port", "airport", "venue"}
STATUSES = {"existing", "under-construction", "planned"}
GEOMETRIES = {"osm-traced", "schematic"}
EDGE_KINDS = {
    "road", "ramp", "connector", "rail_board", "rail_wait", "rail_run", "rail_dwell",
    "rail_alight", "rail_transfer", "waterway", "port_transfer",
}
#: Plausible area for coordinates when the bundle does not set one (lon/lat degrees).
DEFAULT_AREA = {"min_lat": 27.0, "max_lat": 35.0, "min_lon": 115.0, "max_lon": 124.0}
ALWAYS_ON_PROJECTS = {"osm-roads"}
SCENARIO_KEYS = {"description", "opened_by", "plan_by", "all", "extends", "add", "remove", "speed_kmh", "timetable", "services",
                 "remove_services"}
#: Keys of a profile routed on the timetable (``router: timetable``), see profiles.yaml.
TIMETABLE_PROFILE_KEYS = {"description", "router", "measure", "statistic", "access_profile", "access_max_min", "egress_max_min", "period"}
TIMETABLE_MEASURES = {"fastest-of-day", "window"}
_COMMON_KEYS = {"id", "name_en", "name_zh", "status", "opened", "opened_note", "plan_year", "source", "role", "geometry",
                "length_km", "in_boundary_km", "in_boundary_source", "nodes", "lanes", "design_speed_kmh"}
PROJECT_KEYS = {
    "line": _COMMON_KEYS | {"rail_class", "operating_speed_kmh", "speed_source", "schematic_detour", "stations"},
    "corridor": _COMMON_KEYS,
    "link": _COMMON_KEYS | {"road_class"},
    "channel": _COMMON_KEYS | {"waterway_class", "sinuosity", "locks"},
}
#: Sanity caps on design and model speeds by mode (km/h): not data, a guard against typos
#: (Chinese design standards top out at 120 km/h for expressways (JTG B01-2014) and 350 km/h for
#: HSR [M]; inland barges run at about 10 km/h).
MAX_SPEED_KMH = {"road": 160.0, "expressway": 160.0, "rail": 450.0, "waterway": 60.0}
#: Longest fixed time a bundle may give one step (minutes): port handling, a lock, a station time.
MAX_STEP_MIN = 1440.0
#: How many more values YAML aliases (``*name``) may add to a file before it is refused (a
#: "billion laughs" file expands a few lines into billions of values).
MAX_ALIAS_EXPANSION = 100_000
#: libyaml's safe loader when PyYAML was built with it (same result, several times faster).
_BASE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _AliasBomb(yaml.YAMLError):
    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem


def _check_aliases(root: Any) -> None:
    """Refuse a node graph whose aliases expand to far more values than it holds, or that
    refers to itself (computed on the shared nodes, without expanding anything)."""
    size: dict[int, int] = {}
    busy: set[int] = set()
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if key in size:
            continue
        kids = [c for pair in node.value for c in pair] if isinstance(node, yaml.MappingNode) else \
            list(node.value) if isinstance(node, yaml.SequenceNode) else []
        if not done:
            busy.add(key)
            stack.append((node, True))
            for c in kids:
                if id(c) in busy:
                    raise _AliasBomb("an alias refers to a value that contains it (a recursive structure)")
                if id(c) not in size:
                    stack.append((c, False))
            continue
        busy.discard(key)
        size[key] = 1 + sum(size[id(c)] for c in kids)
        if size[key] - len(size) > MAX_ALIAS_EXPANSION:
            raise _AliasBomb(f"aliases (*name) expand it to more than {MAX_ALIAS_EXPANSION:,} extra values")


class _YAML_LOADER(_BASE_LOADER):  # type: ignore[misc,valid-type]  # noqa: N801
    """Safe loader that rejects a key given twice in one mapping (YAML would keep the last
    silently) and alias bombs (see :func:`_check_aliases`)."""

    def get_single_data(self) -> Any:
        node = self.get_single_node()
        if node is None:
            return None
        _check_aliases(node)
        return self.construct_document(node)


def _no_duplicate_keys(loader: Any, node: Any, deep: bool = False) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(None, None, f"key {key!r} appears twice in one mapping", key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_YAML_LOADER.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _no_duplicate_keys)


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


# --------------------------------------------------------------------------- small readers
def _read_yaml(path: Path, required: bool = True) -> Any:
    if not path.exists():
        if required:
            raise NetworkDataError(str(path), "file", "required file is missing",
                                   f"create {path.name} (see networks/README.md) or load another bundle")
        return None
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise NetworkDataError(str(path), "file", f"cannot be read ({exc.strerror or exc})",
                               "check that it is a readable file") from None
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in raw[:4]:
        raise NetworkDataError(str(path), "file", "is UTF-16 (or UTF-32) text, not UTF-8",
                               "save the file as UTF-8 (in most editors: Save with Encoding -> UTF-8)")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise NetworkDataError(str(path), f"line {line}", "is not UTF-8 text (GB18030/GBK or another legacy encoding?)",
                               "save the file as UTF-8 (in most editors: Save with Encoding -> UTF-8)") from None
    try:
        return yaml.load(text, Loader=_YAML_LOADER)  # noqa: S506 (a safe loader)
    except _AliasBomb as exc:
        raise NetworkDataError(str(path), "aliases", f"is refused: {exc.problem}",
                               "write the values out instead of repeating aliases") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "file"
        raise NetworkDataError(str(path), where, f"is not valid YAML ({getattr(exc, 'problem', exc)})",
                               "correct the YAML syntax at that position") from None
    except RecursionError:
        raise NetworkDataError(str(path), "file", "is nested too deeply to read", "flatten the structure") from None


def _read_csv(path: Path, required_cols: list[str], required: bool = True, numeric: tuple[str, ...] = ()) -> pd.DataFrame | None:
    """Read a CSV as text; columns in ``numeric`` are left to the parser (fast for large layers)
    and come back as text only when some value is not a number (the caller then reports it)."""
    if not path.exists():
        if required:
            raise NetworkDataError(str(path), "file", "required file is missing",
                                   f"create {path.name} (see networks/README.md)")
        return None
    try:
        # utf-8-sig: spreadsheet programs save "CSV UTF-8" with a byte-order mark
        dtype: Any = str
        if numeric:
            head = pd.read_csv(path, nrows=0, encoding="utf-8-sig").columns
            dtype = {c: str for c in head if c not in numeric}
        df = pd.read_csv(path, dtype=dtype, keep_default_na=False, encoding="utf-8-sig")
    except pd.errors.EmptyDataError:
        raise NetworkDataError(str(path), "file", "is empty", f"write the header row {required_cols} and the records") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise NetworkDataError(str(path), "file", f"is not a readable UTF-8 CSV ({exc})",
                               "save it as comma-separated UTF-8 with one header row") from None
    missing = [c for c in required_cols if c not in df.columns]
    if missing:
        raise NetworkDataError(str(path), "header", f"missing column(s) {missing}",
                               f"add the column(s); required: {required_cols}")
    return df


def _mapping(value: Any, file: Path, record: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise NetworkDataError(str(file), record, f"must be a mapping of keys to values, got {type(value).__name__} {value!r:.60}",
                               "write it as 'key: value' lines or {key: value, ...} (see networks/README.md)")
    return value


def _read_items(path: Path, key: str) -> list[dict[str, Any]]:
    """The list under top-level ``key`` of an optional YAML file; every item must be a mapping."""
    if not path.exists():
        return []
    data = _read_yaml(path, required=False)
    if data is None:
        raise NetworkDataError(str(path), "file", "is empty", f"write '{key}: []' to declare no {key}, or delete the file")
    _mapping(data, path, "top level")
    items = data.get(key) or []
    if not isinstance(items, list):
        raise NetworkDataError(str(path), key, f"must be a list of {key}", f"write each of the {key} as a '- ' item (see networks/README.md)")
    for k, it in enumerate(items):
        _mapping(it, path, f"{key} item {k + 1}")
    return items


def _number(value: Any, file: Path, record: str, key: str, *, positive: bool = False,
            allow_none: bool = False, minimum: float | None = None, maximum: float | None = None) -> float | None:
    if value is None or (isinstance(value, str) and value.strip() == ""):
        if allow_none:
            return None
        raise NetworkDataError(str(file), record, f"'{key}' is missing", f"give '{key}' a number")
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise NetworkDataError(str(file), record, f"'{key}' is not a number ({value!r})",
                               f"write '{key}' as a plain number") from None
    if not math.isfinite(x):
        raise NetworkDataError(str(file), record, f"'{key}' is not finite ({value!r})", f"give '{key}' a finite number")
    if positive and x <= 0:
        raise NetworkDataError(str(file), record, f"'{key}' must be positive, got {x:g}",
                               f"give '{key}' a value > 0 (units as documented in networks/README.md)")
    if minimum is not None and x < minimum:
        raise NetworkDataError(str(file), record, f"'{key}' must be >= {minimum:g}, got {x:g}", f"correct '{key}'")
    if maximum is not None and x > maximum:
        raise NetworkDataError(str(file), record, f"'{key}' must be <= {maximum:g}, got {x:g}",
                               f"correct '{key}' (units as documented in networks/README.md)")
    return x


def _whole(value: Any, file: Path, record: str, key: str, *, minimum: float, maximum: float) -> int:
    """A whole number within bounds (a count)."""
    x = _number(value, file, record, key, minimum=minimum, maximum=maximum)
    assert x is not None
    if x != int(x) or isinstance(value, bool):
        raise NetworkDataError(str(file), record, f"'{key}' must be a whole number, got {value!r:.40}", f"give '{key}' as an integer")
    return int(x)


def _list_of_mappings(value: Any, file: Path, record: str) -> list[dict[str, Any]]:
    """``value`` as a list of mappings (None is an empty list)."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise NetworkDataError(str(file), record, f"must be a list, got {type(value).__name__} {value!r:.60}",
                               "write each item as a '- key: value' entry (see networks/README.md)")
    for k, it in enumerate(value):
        _mapping(it, file, f"{record} item {k + 1}")
    return value


def _ids(value: Any, file: Path, record: str, what: str) -> list[str]:
    """``value`` as a list of ids (strings); None is an empty list."""
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise NetworkDataError(str(file), record, f"must be a flat list of {what} ids, got {value!r:.60}",
                               f"write it as [id-1, id-2] with one {what} id per item")
    return value


def _detour(value: Any, file: Path, record: str, key: str) -> float:
    """A detour factor (path length / straight line): a number >= 1."""
    x = _number(value, file, record, key, positive=True)
    assert x is not None
    if x < 1:
        raise NetworkDataError(str(file), record, f"'{key}' is {x:g}, which would make a link shorter than the straight line",
                               f"give '{key}' as a factor >= 1 (e.g. 1.3 for a path 30 % longer than the straight line)")
    return x


def _check_id(value: Any, file: Path, record: str, what: str = "id") -> str:
    if not isinstance(value, str) or not ID_RE.match(value):
        raise NetworkDataError(str(file), record, f"{what} {value!r} is not a kebab-case id",
                               "use lower-case letters, digits and single hyphens, e.g. 'tongxiang-station'")
    return value


def _in_boundary(item: dict[str, Any], f: Path, rec: str) -> None:
    ib = item.get("in_boundary_km")
    if ib is None:
        return
    if not isinstance(ib, dict):
        raise NetworkDataError(str(f), rec, "in_boundary_km must map an adcode to km", 'write e.g. in_boundary_km: {"330483": 8}')
    item["in_boundary_km"] = {str(k): _number(v, f, rec, f"in_boundary_km.{k}", minimum=0) for k, v in ib.items()}
    if not item.get("in_boundary_source"):
        raise NetworkDataError(str(f), rec, "in_boundary_km has no in_boundary_source", "say where the in-boundary length comes from")


def _check_coord(lat: Any, lon: Any, file: Path, record: str, area: dict[str, float]) -> tuple[float, float]:
    la = _number(lat, file, record, "lat")
    lo = _number(lon, file, record, "lon")
    assert la is not None and lo is not None
    if not (area["min_lat"] <= la <= area["max_lat"] and area["min_lon"] <= lo <= area["max_lon"]):
        swapped = area["min_lat"] <= lo <= area["max_lat"] and area["min_lon"] <= la <= area["max_lon"]
        hint = "lat and lon look swapped; " if swapped else ""
        raise NetworkDataError(
            str(file), record,
            f"coordinate (lat {la:g}, lon {lo:g}) is outside the plausible area "
            f"(lat {area['min_lat']:g}–{area['max_lat']:g}, lon {area['min_lon']:g}–{area['max_lon']:g})",
            hint + "give WGS84 decimal degrees (not projected metres, not GCJ-02 offsets), or widen 'area' in bundle.yaml")
    return la, lo


def _status(item: dict[str, Any], file: Path, record: str) -> None:
    st = item.get("status")
    if st not in STATUSES:
        raise NetworkDataError(str(file), record, f"status {st!r} is unknown", f"use one of {sorted(STATUSES)}")
    for key in ("opened", "plan_year"):
        if item.get(key) is not None:
            item[key] = int(_number(item[key], file, record, key, minimum=1800))  # type: ignore[arg-type]
        else:
            item[key] = None
    if st == "existing" and item["opened"] is None:
        raise NetworkDataError(str(file), record, "an existing link needs 'opened' (year)",
                               "give the opening year, or set status to under-construction/planned")
    if st == "existing" and item["opened"] > _dt.date.today().year:
        raise NetworkDataError(str(file), record, f"status is 'existing' but opened is {item['opened']}, a future year",
                               "set status to under-construction/planned with plan_year, or correct the opening year")
    if st != "existing" and item["opened"] is not None:
        raise NetworkDataError(str(file), record, f"status is {st!r} but 'opened' is set ({item['opened']})",
                               "a link that is not open has opened: null; put the target year in plan_year")


def _known_keys(item: dict[str, Any], allowed: set[str], file: Path, record: str) -> None:
    """Reject misspelt keys: an unknown key would otherwise be ignored silently."""
    for k in item:
        if k not in allowed:
            close = difflib.get_close_matches(str(k), sorted(allowed), n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise NetworkDataError(str(file), record, f"unknown key {k!r}", f"{hint}allowed keys: {', '.join(sorted(allowed))}")


def _unique(ids: list[str], file: Path, what: str) -> None:
    seen: set[str] = set()
    for i in ids:
        if i in seen:
            raise NetworkDataError(str(file), f"{what} '{i}'", f"duplicate {what} id", f"give each {what} a unique id")
        seen.add(i)


# --------------------------------------------------------------------------- sections
def _load_places(root: Path, area: dict[str, float]) -> pd.DataFrame:
    f = root / "places.csv"
    cols = ["id", "name_en", "name_zh", "kind", "lat", "lon", "coord_source"]
    df = _read_csv(f, cols)
    assert df is not None
    rows = []
    for i, r in df.iterrows():
        rec = f"row {i + 2} (id {r['id']!r})"
        pid = _check_id(r["id"], f, rec)
        if r["kind"] not in PLACE_KINDS:
            raise NetworkDataError(str(f), rec, f"kind {r['kind']!r} is unknown", f"use one of {sorted(PLACE_KINDS)}")
        lat, lon = _check_coord(r["lat"], r["lon"], f, rec, area)
        if not r["coord_source"].strip():
            raise NetworkDataError(str(f), rec, "coord_source is empty",
                                   "say where the coordinate comes from, or that it is an assumption")
        pop = _number(r.get("population", ""), f, rec, "population", allow_none=True, minimum=0)
        rows.append({**r.to_dict(), "id": pid, "lat": lat, "lon": lon, "population": pop})
    _unique([r["id"] for r in rows], f, "place")
    out = pd.DataFrame(rows).set_index("id")
    return out


def _load_rail(root: Path, places: pd.DataFrame, modes: dict[str, Any], area: dict[str, float] | None = None) -> tuple[list[dict], dict]:
    f = root / "rail.yaml"
    lines = _read_items(f, "lines")
    rail_classes = modes.get("rail", {}).get("classes", {})
    geom: dict[tuple[str, str, str], Any] = {}
    seg_file = root / "rail_segments.geojson"
    if seg_file.exists():
        try:
            segs = gpd.read_file(seg_file)
        except Exception as exc:  # pyogrio raises several types
            raise NetworkDataError(str(seg_file), "file", f"is not readable GeoJSON ({exc})",
                                   "re-run networks/build/build_bundle.py or fix the file") from None
        _check_segments(seg_file, segs, area or DEFAULT_AREA)
        geom = {(str(a), str(b), str(c)): g for a, b, c, g in zip(segs["line"], segs["from"], segs["to"], segs.geometry)}
    for li in lines:
        rec = f"line {li.get('id')!r}"
        _check_id(li.get("id"), f, rec, "line id")
        if "services" in li:
            raise NetworkDataError(str(f), rec, "'services' (assumed stopping patterns with a half-headway wait) is retired: trains "
                                   "come from the timetable", "give the line's trains as add-trip-pattern edits in services.yaml "
                                   "(project: <line id>) and remove 'services' from rail.yaml (see networks/README.md)")
        _known_keys(li, PROJECT_KEYS["line"], f, rec)
        _status(li, f, rec)
        _in_boundary(li, f, rec)
        if li.get("rail_class") not in rail_classes:
            raise NetworkDataError(str(f), rec, f"rail_class {li.get('rail_class')!r} is unknown",
                                   f"use one of {sorted(rail_classes)} (modes.yaml rail.classes)")
        li["operating_speed_kmh"] = _number(li.get("operating_speed_kmh"), f, rec, "operating_speed_kmh", positive=True)
        li["design_speed_kmh"] = _number(li.get("design_speed_kmh"), f, rec, "design_speed_kmh", positive=True,
                                         maximum=MAX_SPEED_KMH["rail"])
        if li["operating_speed_kmh"] > li["design_speed_kmh"]:
            raise NetworkDataError(str(f), rec, f"operating_speed_kmh {li['operating_speed_kmh']:g} exceeds design_speed_kmh "
                                   f"{li['design_speed_kmh']:g}", "trains run at most at the design speed: correct one of the two")
        if li.get("geometry", "schematic") not in GEOMETRIES:
            raise NetworkDataError(str(f), rec, f"geometry {li.get('geometry')!r} is unknown", f"use one of {sorted(GEOMETRIES)}")
        detour = _detour(li.get("schematic_detour", 1.1), f, rec, "schematic_detour")
        st = li.get("stations") or []
        if not isinstance(st, list) or len(st) < 2:
            raise NetworkDataError(str(f), rec, "needs at least two stations", "list the stations in order")
        ids = []
        for k, s in enumerate(st):
            p = station_id(_mapping(s, f, f"{rec}, station {k + 1}").get("place"), places, f, f"{rec}, station {k + 1}")
            s["place"] = p
            ids.append(p)
        if len(set(ids)) != len(ids):
            raise NetworkDataError(str(f), rec, "lists a station twice", "list each station once, in order")
        # segment lengths: sourced chainage where given, else trace/straight line scaled to fit
        raw = []
        for a, b in zip(ids[:-1], ids[1:]):
            g = geom.get((li["id"], a, b))
            if g is None and li.get("geometry") == "osm-traced":
                raise NetworkDataError(str(root / "rail_segments.geojson"), f"{rec}, segment {a} -> {b}",
                                       "the line is 'osm-traced' but this segment has no trace",
                                       "re-run networks/build/build_bundle.py, or set 'geometry: schematic' on the line in rail.yaml")
            if g is not None and li.get("geometry") == "osm-traced":
                raw.append(float(haversine_km(*_line_latlon_pairs(g)).sum()))
            else:
                pa, pb = places.loc[a], places.loc[b]
                raw.append(float(haversine_km(pa.lat, pa.lon, pb.lat, pb.lon)) * float(detour))  # type: ignore[arg-type]
        km = [s.get("km") for s in st]
        for k, v in enumerate(km):
            if v is not None:
                km[k] = _number(v, f, f"{rec}, station {ids[k]!r}", "km", minimum=0)
        known = [k for k, v in enumerate(km) if v is not None]
        seg = list(raw)
        for k0, k1 in zip(known[:-1], known[1:]):
            if km[k1] <= km[k0]:
                raise NetworkDataError(str(f), f"{rec}, station {ids[k1]!r}", "chainage 'km' does not increase along the line",
                                       "give km in increasing order from the first station")
            tot = sum(raw[k0:k1])
            for k in range(k0, k1):  # stations at one point (tot 0) share the chainage equally
                seg[k] = raw[k] * (km[k1] - km[k0]) / tot if tot > 0 else (km[k1] - km[k0]) / (k1 - k0)
        li["segment_km"] = seg
        traced = li.get("geometry") == "osm-traced"
        li["segment_length_source"] = [
            "chainage" if (known and known[0] <= k < known[-1])
            else ("osm-trace" if traced and (li["id"], ids[k], ids[k + 1]) in geom else "straight-line × detour")
            for k in range(len(seg))
        ]
        li["station_ids"] = ids
    _unique([li["id"] for li in lines], f, "line")
    return lines, geom


def _check_segments(f: Path, segs: gpd.GeoDataFrame, area: dict[str, float]) -> None:
    """rail_segments.geojson: the properties the loader needs, LineStrings, coordinates in the area."""
    for col in ("line", "from", "to"):
        if col not in segs.columns:
            raise NetworkDataError(str(f), "properties", f"features lack the property '{col}'",
                                   "give every feature 'line' (rail.yaml line id), 'from' and 'to' (station place ids)")
    for k, (li, a, b, g) in enumerate(zip(segs["line"], segs["from"], segs["to"], segs.geometry)):
        rec = f"feature {k + 1} ({li} {a} -> {b})"
        if g is None or g.geom_type != "LineString" or g.is_empty:
            raise NetworkDataError(str(f), rec, f"geometry is {getattr(g, 'geom_type', None) or 'missing'}, not a LineString",
                                   "give each segment as a LineString from station to station")
        x0, y0, x1, y1 = g.bounds
        if not (area["min_lon"] <= x0 and x1 <= area["max_lon"] and area["min_lat"] <= y0 and y1 <= area["max_lat"]):
            swapped = area["min_lon"] <= y0 and y1 <= area["max_lon"] and area["min_lat"] <= x0 and x1 <= area["max_lat"]
            hint = "lat and lon look swapped (GeoJSON is [lon, lat]); " if swapped else ""
            raise NetworkDataError(str(f), rec, f"coordinates (lon {x0:g}..{x1:g}, lat {y0:g}..{y1:g}) are outside the plausible area",
                                   hint + "give WGS84 [lon, lat] positions, or re-run networks/build/build_bundle.py")


def _line_latlon_pairs(g: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    c = np.asarray(g.coords)
    return c[:-1, 1], c[:-1, 0], c[1:, 1], c[1:, 0]


def _load_chain_nodes(items: list[dict], f: Path, rec: str, places: pd.DataFrame, area: dict[str, float],
                      need_kind: bool) -> None:
    if not isinstance(items, list) or len(items) < 2:
        raise NetworkDataError(str(f), rec, "needs at least two nodes", "list the nodes in order")
    for k, n in enumerate(items):
        _mapping(n, f, f"{rec}, node {k + 1}")
        if "place" in n:
            if n["place"] not in places.index:
                raise NetworkDataError(str(f), f"{rec}, node {n['place']!r}", "references a place that is not in places.csv",
                                       "add the place or correct the id")
            p = places.loc[n["place"]]
            n.setdefault("id", n["place"])
            n["lat"], n["lon"] = float(p.lat), float(p.lon)
        else:
            nrec = f"{rec}, node {n.get('id')!r}"
            _check_id(n.get("id"), f, nrec, "node id")
            n["lat"], n["lon"] = _check_coord(n.get("lat"), n.get("lon"), f, nrec, area)
        if need_kind and n.get("kind", "interchange") not in {"interchange", "junction"}:
            raise NetworkDataError(str(f), f"{rec}, node {n.get('id')!r}", f"kind {n.get('kind')!r} is unknown",
                                   "use 'interchange' (access from local roads) or 'junction' (expressway to expressway)")


def _load_corridors(root: Path, places: pd.DataFrame, area: dict[str, float]) -> list[dict]:
    f = root / "expressways.yaml"
    out = _read_items(f, "corridors")
    for c in out:
        rec = f"corridor {c.get('id')!r}"
        _check_id(c.get("id"), f, rec, "corridor id")
        _known_keys(c, PROJECT_KEYS["corridor"], f, rec)
        _status(c, f, rec)
        _in_boundary(c, f, rec)
        c["design_speed_kmh"] = _number(c.get("design_speed_kmh"), f, rec, "design_speed_kmh", positive=True,
                                        maximum=MAX_SPEED_KMH["expressway"])
        c["lanes"] = _number(c.get("lanes"), f, rec, "lanes", positive=True, allow_none=True)
        if c.get("length_km") is not None:
            c["length_km"] = _number(c["length_km"], f, rec, "length_km", positive=True)
        if c.get("geometry", "schematic") not in GEOMETRIES:
            raise NetworkDataError(str(f), rec, f"geometry {c.get('geometry')!r} is unknown", f"use one of {sorted(GEOMETRIES)}")
        _load_chain_nodes(c.get("nodes") or [], f, rec, places, area, need_kind=True)
    _unique([c["id"] for c in out], f, "corridor")
    return out


def _load_trunk(root: Path, places: pd.DataFrame, area: dict[str, float], modes: dict[str, Any]) -> list[dict]:
    f = root / "trunk_roads.yaml"
    out = _read_items(f, "links")
    plan_classes = modes["road"].get("plan_classes", {})
    for t in out:
        rec = f"link {t.get('id')!r}"
        _check_id(t.get("id"), f, rec, "link id")
        _known_keys(t, PROJECT_KEYS["link"], f, rec)
        _status(t, f, rec)
        if t.get("road_class") not in plan_classes:
            raise NetworkDataError(str(f), rec, f"road_class {t.get('road_class')!r} is unknown",
                                   f"use one of {sorted(plan_classes)} (modes.yaml road.plan_classes)")
        t["design_speed_kmh"] = _number(t.get("design_speed_kmh"), f, rec, "design_speed_kmh", positive=True,
                                        maximum=MAX_SPEED_KMH["road"])
        t["lanes"] = _number(t.get("lanes"), f, rec, "lanes", positive=True, allow_none=True)
        if t.get("length_km") is not None:
            t["length_km"] = _number(t["length_km"], f, rec, "length_km", positive=True)
        _load_chain_nodes(t.get("nodes") or [], f, rec, places, area, need_kind=False)
    _unique([t["id"] for t in out], f, "link")
    return out


def _load_channels(root: Path, places: pd.DataFrame, area: dict[str, float], modes: dict[str, Any]) -> list[dict]:
    f = root / "waterways.yaml"
    out = _read_items(f, "channels")
    classes = modes.get("waterway", {}).get("classes", {})
    for c in out:
        rec = f"channel {c.get('id')!r}"
        _check_id(c.get("id"), f, rec, "channel id")
        _known_keys(c, PROJECT_KEYS["channel"], f, rec)
        _status(c, f, rec)
        if str(c.get("waterway_class")) not in classes:
            raise NetworkDataError(str(f), rec, f"waterway_class {c.get('waterway_class')!r} is unknown",
                                   f"use one of {sorted(classes)} (modes.yaml waterway.classes)")
        c["waterway_class"] = str(c["waterway_class"])
        c["sinuosity"] = _detour(c.get("sinuosity", 1.3), f, rec, "sinuosity")
        c["locks"] = int(_number(c.get("locks", 0), f, rec, "locks", minimum=0))  # type: ignore[arg-type]
        _load_chain_nodes(c.get("nodes") or [], f, rec, places, area, need_kind=False)
    _unique([c["id"] for c in out], f, "channel")
    return out


def _load_roads(root: Path, area: dict[str, float], modes: dict[str, Any]) -> tuple[pd.DataFrame, pd.DataFrame]:
    fn, fe = root / "roads" / "nodes.csv", root / "roads" / "edges.csv"
    nodes = _read_csv(fn, ["node_id", "lat", "lon"], required=False, numeric=("node_id", "lat", "lon"))
    edges = _read_csv(fe, ["u", "v", "length_km", "highway", "project"], required=False, numeric=("u", "v", "length_km"))
    if (nodes is None) != (edges is None):
        missing, present = (fn, fe) if nodes is None else (fe, fn)
        raise NetworkDataError(str(missing), "file", f"is missing while {present.name} is present",
                               "give both roads/nodes.csv and roads/edges.csv (or neither, for a bundle without a road layer)")
    if nodes is None or edges is None:
        return (pd.DataFrame(columns=["lat", "lon", "ref"]).rename_axis("node_id"),
                pd.DataFrame(columns=["u", "v", "length_km", "highway", "project"]))
    try:
        nodes_num = nodes.assign(node_id=pd.to_numeric(nodes.node_id), lat=pd.to_numeric(nodes.lat),
                                 lon=pd.to_numeric(nodes.lon))
    except ValueError:
        bad = nodes[pd.to_numeric(nodes.node_id, errors="coerce").isna() | pd.to_numeric(nodes.lat, errors="coerce").isna()
                    | pd.to_numeric(nodes.lon, errors="coerce").isna()].index[0]
        raise NetworkDataError(str(fn), f"row {bad + 2}", "node_id, lat or lon is not a number",
                               "write integer node ids and decimal degrees") from None
    if "ref" not in nodes_num.columns:
        nodes_num["ref"] = ""
    out_lat = ~nodes_num.lat.between(area["min_lat"], area["max_lat"]) | ~nodes_num.lon.between(area["min_lon"], area["max_lon"])
    if out_lat.any():
        i = int(np.flatnonzero(out_lat.values)[0])
        raise NetworkDataError(str(fn), f"row {i + 2} (node {nodes_num.node_id.iloc[i]})",
                               "coordinate outside the plausible area", "give WGS84 decimal degrees")
    if nodes_num.node_id.duplicated().any():
        d = nodes_num.node_id[nodes_num.node_id.duplicated()].iloc[0]
        raise NetworkDataError(str(fn), f"node {d}", "duplicate node id", "give each node a unique id")
    nodes_num = nodes_num.set_index("node_id")
    e = edges.copy()
    for col in ("u", "v", "length_km"):
        num = pd.to_numeric(e[col], errors="coerce")
        if num.isna().any():
            i = int(np.flatnonzero(num.isna().values)[0])
            raise NetworkDataError(str(fe), f"row {i + 2}", f"{col} is not a number ({e[col].iloc[i]!r})", f"write {col} as a number")
        e[col] = num
    bad = ~(e.length_km > 0) | ~np.isfinite(e.length_km)
    if bad.any():
        i = int(np.flatnonzero(bad.values)[0])
        raise NetworkDataError(str(fe), f"row {i + 2} (edge {e.u.iloc[i]}-{e.v.iloc[i]})",
                               f"length_km must be a positive finite number, got {e.length_km.iloc[i]:g}",
                               "give the edge length in km (> 0)")
    miss = ~e.u.isin(nodes_num.index) | ~e.v.isin(nodes_num.index)
    if miss.any():
        i = int(np.flatnonzero(miss.values)[0])
        raise NetworkDataError(str(fe), f"row {i + 2} (edge {e.u.iloc[i]}-{e.v.iloc[i]})",
                               "references a node that is not in roads/nodes.csv", "add the node or correct u/v")
    classes = modes["road"]["classes"]
    badc = ~e.highway.isin(list(classes))
    if badc.any():
        i = int(np.flatnonzero(badc.values)[0])
        raise NetworkDataError(str(fe), f"row {i + 2}", f"highway {e.highway.iloc[i]!r} is unknown",
                               f"use an OSM highway class of modes.yaml road.classes: {sorted(classes)}")
    e["u"] = e.u.astype(np.int64)
    e["v"] = e.v.astype(np.int64)
    return nodes_num, e


def _load_boundaries(root: Path) -> gpd.GeoDataFrame:
    f = root / "boundaries.geojson"
    if not f.exists():
        return gpd.GeoDataFrame({"adcode": [], "name_en": [], "name_zh": [], "level": []}, geometry=[], crs=WGS84)
    try:
        b = gpd.read_file(f)
    except Exception as exc:
        raise NetworkDataError(str(f), "file", f"is not readable GeoJSON ({exc})", "fix or rebuild the file") from None
    if b.crs is not None and not b.crs.equals(WGS84) and b.crs.to_epsg() != 4326:
        raise NetworkDataError(str(f), "crs", f"boundaries are in {b.crs}, not WGS84", "reproject to EPSG:4326")
    b = b.set_crs(WGS84, allow_override=True)
    if "adcode" not in b.columns:
        raise NetworkDataError(str(f), "properties", "features lack 'adcode'", "give each boundary its adcode")
    b["adcode"] = b["adcode"].astype(str)
    return b.set_index("adcode", drop=False)


def _validate_modes(f: Path, modes: dict[str, Any]) -> None:
    if not isinstance(modes, dict) or "road" not in modes or "rail" not in modes:
        raise NetworkDataError(str(f), "top level", "needs 'road' and 'rail' sections", "see networks/README.md")
    _mapping(modes["road"], f, "road")
    _mapping(modes["rail"], f, "rail")
    for sec in ("road", "rail"):
        _mapping(modes[sec].get("classes") or {}, f, f"{sec}.classes")
    for cls, d in (modes["road"].get("classes") or {}).items():
        _mapping(d, f, f"road.classes.{cls}")
        _number(d.get("design_speed_kmh"), f, f"road.classes.{cls}", "design_speed_kmh", positive=True, maximum=MAX_SPEED_KMH["road"])
        of = _number(d.get("operating_factor"), f, f"road.classes.{cls}", "operating_factor", positive=True)
        if of is not None and of > 1:
            raise NetworkDataError(str(f), f"road.classes.{cls}", f"operating_factor {of:g} is above 1",
                                   "give the share of design speed as a fraction (0.85, not 85)")
    if modes["road"].get("default_class") not in (modes["road"].get("classes") or {}):
        raise NetworkDataError(str(f), "road.default_class", "is not one of road.classes", "name a class of road.classes")
    _number(modes["road"].get("ramp_toll_min"), f, "road.ramp_toll_min", "ramp_toll_min", minimum=0, maximum=MAX_STEP_MIN)
    if modes["road"].get("connector_speed_kmh") is not None:
        _number(modes["road"]["connector_speed_kmh"], f, "road.connector_speed_kmh", "connector_speed_kmh", positive=True,
                maximum=MAX_SPEED_KMH["road"])
    if modes["road"].get("connector_count") is not None:
        _whole(modes["road"]["connector_count"], f, "road.connector_count", "connector_count", minimum=1, maximum=50)
    if modes["road"].get("connector_max_km") is not None:
        _number(modes["road"]["connector_max_km"], f, "road.connector_max_km", "connector_max_km", minimum=0, maximum=100)
    if modes["road"].get("connector_sectors") is not None:
        _whole(modes["road"]["connector_sectors"], f, "road.connector_sectors", "connector_sectors", minimum=1, maximum=36)
    _validate_road_speeds(f, modes["road"])
    _detour(modes["road"].get("connector_detour"), f, "road.connector_detour", "connector_detour")
    if modes["road"].get("schematic_detour") is not None:
        _detour(modes["road"]["schematic_detour"], f, "road.schematic_detour", "schematic_detour")
    classes = modes["road"].get("classes") or {}
    for pc, cls in _mapping(modes["road"].get("plan_classes") or {}, f, "road.plan_classes").items():
        if cls not in classes:
            raise NetworkDataError(str(f), f"road.plan_classes.{pc}", f"maps to {cls!r}, which is not one of road.classes",
                                   f"map it to one of {sorted(classes)}")
    for cls, d in (modes["rail"].get("classes") or {}).items():
        _mapping(d, f, f"rail.classes.{cls}")
        for key in ("accel_ms2", "decel_ms2"):
            _number(d.get(key), f, f"rail.classes.{cls}", key, positive=True)
        _number(d.get("dwell_min"), f, f"rail.classes.{cls}", "dwell_min", minimum=0)
    station = _mapping(modes["rail"].get("station") or {}, f, "rail.station")
    for key in ("enter_min", "exit_min"):
        _number(station.get(key), f, f"rail.station.{key}", key, minimum=0)
    _known_keys(station, {"enter_min", "exit_min"}, f, "rail.station")
    for key, v in station.items():
        _number(v, f, f"rail.station.{key}", key, minimum=0, maximum=MAX_STEP_MIN)
    _number(modes["rail"].get("running_time_supplement"), f, "rail.running_time_supplement", "running_time_supplement",
            minimum=0, allow_none=True)
    water = _mapping(modes.get("waterway") or {}, f, "waterway")
    for cls, d in _mapping(water.get("classes") or {}, f, "waterway.classes").items():
        _mapping(d, f, f"waterway.classes.{cls}")
        _number(d.get("speed_kmh"), f, f"waterway.classes.{cls}", "speed_kmh", positive=True, maximum=MAX_SPEED_KMH["waterway"])
    for key in ("port_transfer_min", "lock_min"):
        if water.get(key) is not None:
            _number(water[key], f, f"waterway.{key}", key, minimum=0, maximum=MAX_STEP_MIN)


def _validate_road_speeds(f: Path, road: dict[str, Any]) -> None:
    """Peak factors, urban-area speeds and the connector speed (a class or a number) of ``modes.yaml``."""
    classes = road.get("classes") or {}
    for cls, d in classes.items():
        pf = _number(d.get("peak_factor"), f, f"road.classes.{cls}", "peak_factor", positive=True, allow_none=True)
        if pf is not None and pf > 1:
            raise NetworkDataError(str(f), f"road.classes.{cls}", f"peak_factor {pf:g} is above 1",
                                   "give peak speed / free-flow speed as a fraction (0.85, not 85)")
    for aid, a in _mapping(road.get("areas") or {}, f, "road.areas").items():
        _mapping(a, f, f"road.areas.{aid}")
        ff = _number(a.get("free_flow_kmh"), f, f"road.areas.{aid}", "free_flow_kmh", positive=True)
        pk = _number(a.get("peak_kmh"), f, f"road.areas.{aid}", "peak_kmh", positive=True)
        if pk is not None and ff is not None and pk > ff:
            raise NetworkDataError(str(f), f"road.areas.{aid}", f"peak_kmh {pk:g} is above free_flow_kmh {ff:g}",
                                   "peak speeds cannot exceed free-flow speeds; check the two values")
    if road.get("connector_class") is not None and road["connector_class"] not in classes:
        raise NetworkDataError(str(f), "road.connector_class", f"{road['connector_class']!r} is not one of road.classes",
                               f"name a class of road.classes ({sorted(classes)}) or give connector_speed_kmh")
    _number(road.get("connector_speed_kmh"), f, "road.connector_speed_kmh", "connector_speed_kmh", positive=True,
            allow_none=road.get("connector_class") is not None)


def _load_urban_areas(root: Path, modes: dict[str, Any]) -> gpd.GeoDataFrame | None:
    """``zones/urban_areas.geojson`` (optional): one polygon per ``modes.yaml`` ``road.areas`` id."""
    f = root / "zones" / "urban_areas.geojson"
    if not f.exists():
        return None
    try:
        z = gpd.read_file(f)
    except Exception as exc:  # noqa: BLE001 - any reader failure is a data error here
        raise NetworkDataError(str(f), "file", f"cannot be read ({exc})", "rebuild it with networks/build/build_bundle.py") from None
    if "area" not in z.columns:
        raise NetworkDataError(str(f), "properties", "features lack 'area'", "give each polygon the id of a modes.yaml road.areas entry")
    known = set(modes["road"].get("areas") or {})
    for a in z["area"]:
        if a not in known:
            raise NetworkDataError(str(f), f"area {a!r}", "has no speeds in modes.yaml road.areas",
                                   f"add road.areas.{a} (free_flow_kmh, peak_kmh, source) or remove the polygon")
    if z.crs is None or z.crs.to_epsg() != 4326:
        raise NetworkDataError(str(f), "crs", f"is {z.crs}, not WGS84", "reproject to EPSG:4326")
    return z


def _validate_profiles(f: Path, profiles: dict[str, Any]) -> dict[str, dict[str, Any]]:
    if not isinstance(profiles, dict) or not isinstance(profiles.get("profiles"), dict):
        raise NetworkDataError(str(f), "top level", "needs a 'profiles' mapping", "see networks/README.md")
    out = profiles["profiles"]
    for name, p in out.items():
        rec = f"profile {name!r}"
        _mapping(p, f, rec)
        if p.get("router") is not None:
            _timetable_profile(f, rec, p, out)
            continue
        use = p.get("use") or []
        if not isinstance(use, list):
            raise NetworkDataError(str(f), rec, f"'use' must be a list of edge kinds, got {use!r}", "write it as use: [road, ramp, ...]")
        for k in use:
            if not isinstance(k, str):
                raise NetworkDataError(str(f), rec, f"'use' must be a flat list of edge kinds, got item {k!r:.60}",
                                       "write it as use: [road, ramp, connector] (one kind per item)")
            if k == "rail_run" and "rail_dwell" not in use:
                use.append("rail_dwell")
            if k not in EDGE_KINDS:
                raise NetworkDataError(str(f), rec, f"edge kind {k!r} is unknown", f"use kinds of {sorted(EDGE_KINDS)}")
        p["use"] = use
        if "board_once_penalty_min" in p:
            p["board_once_penalty_min"] = _number(p["board_once_penalty_min"], f, rec, "board_once_penalty_min",
                                                  minimum=0, allow_none=True) or 0.0
        for k, v in _mapping(p.get("cost") or {}, f, f"{rec}, cost").items():
            if k not in EDGE_KINDS:
                raise NetworkDataError(str(f), rec, f"cost for unknown edge kind {k!r}", f"use kinds of {sorted(EDGE_KINDS)}")
            if v != "base":
                _number(v, f, rec, f"cost.{k}", minimum=0)
    return out


def _timetable_profile(f: Path, rec: str, p: dict[str, Any], profiles: dict[str, Any]) -> None:
    """A profile routed on the timetable (``router: timetable``)."""
    from .doortodoor import STATISTICS

    _known_keys(p, TIMETABLE_PROFILE_KEYS, f, rec)
    if p["router"] != "timetable":
        raise NetworkDataError(str(f), rec, f"router {p['router']!r} is unknown",
                               "use 'router: timetable' or leave 'router' out for road/water profiles")
    if p.get("measure") not in TIMETABLE_MEASURES:
        raise NetworkDataError(str(f), rec, f"measure {p.get('measure')!r} is unknown",
                               "use 'fastest-of-day' (station to station) or 'window' (door to door over the departure window)")
    if p["measure"] == "window":
        st = p.setdefault("statistic", "median")
        if st not in STATISTICS:
            raise NetworkDataError(str(f), rec, f"statistic {st!r} is unknown", f"use one of {', '.join(STATISTICS)}")
        ap = p.setdefault("access_profile", "car")
        if ap not in profiles or profiles[ap].get("router") is not None:
            raise NetworkDataError(str(f), rec, f"access_profile {ap!r} is not a road profile of this file", "name a road profile such as car")
        if p.setdefault("period", "free-flow") not in ("free-flow", "peak"):
            raise NetworkDataError(str(f), rec, f"period {p['period']!r} is unknown", "use 'free-flow' or 'peak'")
        for key in ("access_max_min", "egress_max_min"):
            p[key] = _number(p.get(key, 90), f, rec, key, positive=True)
            if p[key] > 600:
                raise NetworkDataError(str(f), rec, f"'{key}' is {p[key]:g} min", "give at most 600 minutes")
    p["use"] = []


def _build_projects(b: Bundle) -> pd.DataFrame:
    rows = [{"project": "osm-roads", "mode": "road", "name_en": "OpenStreetMap main-road layer", "name_zh": "",
             "status": "existing", "opened": None, "plan_year": None, "length_km": None, "geometry": "osm",
             "file": "roads/edges.csv", "source": "© OpenStreetMap contributors, ODbL 1.0 (scgraph-data 2.0.0)"}]
    for li in b.rail_lines:
        rows.append({"project": li["id"], "mode": "rail", "name_en": li.get("name_en", ""), "name_zh": li.get("name_zh", ""),
                     "status": li["status"], "opened": li["opened"], "plan_year": li["plan_year"],
                     "length_km": float(sum(li["segment_km"])), "geometry": li.get("geometry", "schematic"),
                     "file": "rail.yaml", "source": li.get("source", "")})
    for c in b.corridors:
        rows.append({"project": c["id"], "mode": "expressway", "name_en": c.get("name_en", ""), "name_zh": c.get("name_zh", ""),
                     "status": c["status"], "opened": c["opened"], "plan_year": c["plan_year"], "lanes": c.get("lanes"),
                     "length_km": c.get("length_km"), "geometry": c.get("geometry", "schematic"),
                     "file": "expressways.yaml", "source": c.get("source", "")})
    for t in b.trunk_links:
        rows.append({"project": t["id"], "mode": "road", "name_en": t.get("name_en", ""), "name_zh": t.get("name_zh", ""),
                     "status": t["status"], "opened": t["opened"], "plan_year": t["plan_year"], "lanes": t.get("lanes"),
                     "length_km": t.get("length_km"), "geometry": "schematic", "file": "trunk_roads.yaml",
                     "source": t.get("source", "")})
    for c in b.channels:
        rows.append({"project": c["id"], "mode": "waterway", "name_en": c.get("name_en", ""), "name_zh": c.get("name_zh", ""),
                     "status": c["status"], "opened": c["opened"], "plan_year": c["plan_year"],
                     "length_km": None, "geometry": "schematic", "file": "waterways.yaml", "source": c.get("source", "")})
    df = pd.DataFrame(rows)
    dup = df.project[df.project.duplicated()]
    if len(dup):
        raise NetworkDataError(str(b.path), f"project '{dup.iloc[0]}'",
                               "the same id is used by two projects (across rail/expressway/trunk/waterway files)",
                               "give every project a unique id")
    return df.set_index("project")


def _validate_road_projects(b: Bundle) -> None:
    known = set(b.projects.index)
    projs = set(b.road_edges["project"].unique()) if len(b.road_edges) else set()
    for p in projs:
        if p not in known and not str(p).startswith("junction:"):
            raise NetworkDataError(str(b.path / "roads" / "edges.csv"), f"project {p!r}",
                                   "edges reference a project that no file defines",
                                   "define the corridor in expressways.yaml or set project to 'osm-roads'")


def _validate_scenarios(b: Bundle, f: Path) -> None:
    known = set(b.projects.index)
    design = {x["id"]: float(x["design_speed_kmh"]) for x in list(b.rail_lines) + list(b.corridors) + list(b.trunk_links)
              if x.get("design_speed_kmh")}
    mode_of = dict(b.projects["mode"]) if "mode" in b.projects else {}
    for name, s in b.scenarios.items():
        rec = f"scenario {name!r}"
        _check_id(name, f, rec, "scenario name")
        if not isinstance(s, dict):
            raise NetworkDataError(str(f), rec, "must be a mapping", "see networks/README.md")
        _known_keys(s, SCENARIO_KEYS, f, rec)
        if not s.get("description"):
            raise NetworkDataError(str(f), rec, "has no description", "add a one-line 'description'")
        for key in ("opened_by", "plan_by"):
            if s.get(key) is not None:
                s[key] = int(_number(s[key], f, rec, key, minimum=1800))  # type: ignore[arg-type]
        if s.get("all") is not None and not isinstance(s["all"], bool):
            raise NetworkDataError(str(f), rec, f"'all' must be true or false, got {type(s['all']).__name__} {s['all']!r:.40}",
                                   "write all: true or all: false without quotes, or remove the key")
        if s.get("extends") is not None and not isinstance(s["extends"], str):
            raise NetworkDataError(str(f), rec, f"'extends' must be one scenario name, got {s['extends']!r:.60}",
                                   "write extends: <scenario name> (one name, not a list)")
        if s.get("extends") is not None and s["extends"] not in b.scenarios:
            raise NetworkDataError(str(f), rec, f"extends unknown scenario {s['extends']!r}",
                                   f"use one of {sorted(b.scenarios)}")
        for key in ("add", "remove"):
            if not isinstance(s.get(key) or [], list):
                raise NetworkDataError(str(f), f"{rec}, {key}", f"must be a list of project ids, got {s[key]!r}",
                                       f"write it as {key}: [{s[key]}]")
            for p in s.get(key) or []:
                if not isinstance(p, str):
                    raise NetworkDataError(str(f), f"{rec}, {key}", f"items must be project ids, got {p!r:.60}",
                                           f"write it as {key}: [id-1, id-2] with one project id per item")
                if p not in known:
                    raise NetworkDataError(str(f), f"{rec}, {key}", f"unknown project {p!r}",
                                           "use a project id of rail/expressways/trunk_roads/waterways.yaml")
        for p, v in _mapping(s.get("speed_kmh") or {}, f, f"{rec}, speed_kmh").items():
            if p not in known:
                raise NetworkDataError(str(f), f"{rec}, speed_kmh", f"unknown project {p!r}", "use a project id")
            s["speed_kmh"][p] = _number(v, f, f"{rec}, speed_kmh.{p}", "speed_kmh", positive=True)
            cap = design.get(p) or MAX_SPEED_KMH.get(mode_of.get(p, ""), MAX_SPEED_KMH["rail"])
            if s["speed_kmh"][p] > cap:
                raise NetworkDataError(str(f), f"{rec}, speed_kmh.{p}", f"{s['speed_kmh'][p]:g} km/h is above the project's design "
                                       f"speed ({cap:g} km/h)", "give an operating speed in km/h no higher than the design speed")
    # cycles in extends
    for name in b.scenarios:
        seen, cur = set(), name
        while cur is not None:
            if cur in seen:
                raise NetworkDataError(str(f), f"scenario {name!r}", "'extends' forms a cycle", "remove the cycle")
            seen.add(cur)
            cur = b.scenarios[cur].get("extends")


def _validate_goals(b: Bundle, f: Path) -> None:
    g = _mapping(b.goals or {}, f, "top level")
    places = b.places.index
    for k, v in (_mapping(g.get("model_error_min") or {}, f, "model_error_min")).items():
        _number(v, f, f"model_error_min.{k}", k, minimum=0)
    for c in _list_of_mappings(g.get("one_hour_circles"), f, "one_hour_circles"):
        rec = f"one_hour_circles {c.get('id')!r}"
        _number(c.get("limit_min"), f, rec, "limit_min", positive=True)
        for m in _list_of_mappings(c.get("measures"), f, f"{rec}, measures"):
            if m.get("profile") not in b.profiles:
                raise NetworkDataError(str(f), rec, f"measure uses unknown profile {m.get('profile')!r}", f"use one of {sorted(b.profiles)}")
            if m.get("origin") not in places:
                raise NetworkDataError(str(f), rec, f"unknown origin place {m.get('origin')!r}", "use a place id of places.csv")
        for t in _list_of_mappings(c.get("targets"), f, f"{rec}, targets"):
            for key in ("target", "station"):
                if t.get(key) is not None and (not isinstance(t[key], str) or t[key] not in places):
                    raise NetworkDataError(str(f), f"{rec}, target {t.get('target')!r}", f"unknown place {t[key]!r}", "use a place id of places.csv")
    rs = g.get("rail_service")
    if rs:
        for st in _mapping(rs, f, "rail_service").get("stations") or []:
            if st not in places:
                raise NetworkDataError(str(f), "rail_service", f"unknown station {st!r}", "use a place id of places.csv")
    c = g.get("circle_301510")
    if c:
        rec = "circle_301510"
        _mapping(c, f, rec)
        _ids(c.get("towns"), f, f"{rec}, towns", "place")
        for key in ("centre_limit_min", "neighbour_limit_min", "interchange_limit_min"):
            _number(c.get(key), f, rec, key, positive=True)
        for p in [c.get("city_centre")] + list(c.get("towns") or []):
            if not isinstance(p, str) or p not in places:
                raise NetworkDataError(str(f), rec, f"unknown place {p!r}", "use a place id of places.csv")
        if c.get("neighbour_reading") not in ("nearest-town", "nearest-trunk-road"):
            raise NetworkDataError(str(f), rec, f"neighbour_reading {c.get('neighbour_reading')!r} is unknown",
                                   "use 'nearest-town' or 'nearest-trunk-road'")
        if c.get("profile") not in b.profiles:
            raise NetworkDataError(str(f), rec, f"unknown profile {c.get('profile')!r}", f"use one of {sorted(b.profiles)}")
    for t in _list_of_mappings(_mapping(g.get("mileage") or {}, f, "mileage").get("targets"), f, "mileage, targets"):
        _number(t.get("target_km"), f, f"mileage {t.get('goal')!r}", "target_km", positive=True)
        _ids(t.get("modes"), f, f"mileage {t.get('goal')!r}, modes", "mode")
    mg = g.get("mileage")
    if mg and mg.get("boundary") is not None and len(b.boundaries) and str(mg["boundary"]) not in set(b.boundaries["adcode"]):
        raise NetworkDataError(str(f), "mileage", f"boundary {mg['boundary']!r} is not an adcode of boundaries.geojson",
                               f"use one of {sorted(b.boundaries['adcode'])}")
    for gid, grid in _mapping(g.get("networks") or {}, f, "networks").items():
        _mapping(grid, f, f"networks.{gid}")
        for key in ("horizontals", "verticals"):
            _ids(grid.get(key), f, f"networks.{gid}.{key}", "project")
        for pid in list(grid.get("horizontals") or []) + list(grid.get("verticals") or []):
            if pid not in b.projects.index:
                raise NetworkDataError(str(f), f"networks.{gid}", f"unknown project {pid!r}",
                                       "use a project id of expressways.yaml / waterways.yaml")
    cov = g.get("coverage")
    if cov:
        _mapping(cov, f, "coverage")
        for key in ("centres", "towns"):
            _ids(cov.get(key), f, f"coverage.{key}", "place")
        _number(cov.get("limit_min"), f, "coverage", "limit_min", positive=True)
        if cov.get("profile") not in b.profiles:
            raise NetworkDataError(str(f), "coverage", f"unknown profile {cov.get('profile')!r}", f"use one of {sorted(b.profiles)}")
        for p in list(cov.get("centres") or []) + list(cov.get("towns") or []):
            if p not in places:
                raise NetworkDataError(str(f), "coverage", f"unknown place {p!r}", "use a place id of places.csv")


def read_bundle(path: str | Path | None = None) -> Bundle:
    """Read and validate a bundle folder. See :func:`tx_transport.load_network`."""
    root = Path(path) if path is not None else DEFAULT_BUNDLE
    if not root.exists():
        raise NetworkDataError(str(root), "folder", "does not exist", "pass the path of a network bundle folder (like networks/)")
    if root.is_file():
        raise NetworkDataError(str(root), "path", "is a file, not a bundle folder", "pass the folder that holds places.csv")
    man_f = root / "bundle.yaml"
    manifest = _mapping(_read_yaml(man_f, required=False) or {}, man_f, "top level")
    area = dict(DEFAULT_AREA)
    for k, v in _mapping(manifest.get("area") or {}, man_f, "area").items():
        if k not in DEFAULT_AREA:
            raise NetworkDataError(str(man_f), f"area.{k}", "is not an area key", f"use {sorted(DEFAULT_AREA)}")
        area[k] = _number(v, man_f, f"area.{k}", k)  # type: ignore[assignment]
    modes_f = root / "modes.yaml"
    modes = _read_yaml(modes_f)
    _validate_modes(modes_f, modes)
    prof_f = root / "profiles.yaml"
    profiles = _validate_profiles(prof_f, _read_yaml(prof_f))
    places = _load_places(root, area)
    rail_lines, rail_geometry = _load_rail(root, places, modes, area)
    centre = manifest.get("centre")
    if centre is not None and (not isinstance(centre, str) or centre not in places.index):
        raise NetworkDataError(str(man_f), "centre", f"{centre!r:.60} is not a place id of places.csv",
                               "give the id of the place reports measure from, e.g. centre: tongxiang")
    corridors = _load_corridors(root, places, area)
    trunk = _load_trunk(root, places, area, modes)
    channels = _load_channels(root, places, area, modes)
    road_nodes, road_edges = _load_roads(root, area, modes)
    boundaries = _load_boundaries(root)
    sc_f = root / "scenarios.yaml"
    sc = _read_yaml(sc_f)
    if not isinstance(sc, dict) or not isinstance(sc.get("scenarios"), dict) or not sc["scenarios"]:
        raise NetworkDataError(str(sc_f), "top level", "needs a non-empty 'scenarios' mapping", "see networks/README.md")
    goals_f = root / "goals.yaml"
    goals = _read_yaml(goals_f, required=False) or {}
    b = Bundle(root, area, places, rail_lines, rail_geometry, corridors, trunk, channels, road_nodes, road_edges,
               boundaries, sc["scenarios"], goals, modes, profiles, centre=centre)
    b.urban_areas = _load_urban_areas(root, modes)
    b.projects = _build_projects(b)
    _validate_road_projects(b)
    _validate_scenarios(b, sc_f)
    tr_f = root / "transit.yaml"
    b.transit = load_transit_config(_read_yaml(tr_f, required=False), tr_f, root, places)
    sv_f = root / "services.yaml"
    b.services = load_services(_read_yaml(sv_f, required=False), sv_f, places, set(b.projects.index), {li["id"] for li in rail_lines})
    edit_ids = {e["id"] for e in b.services}
    b.scenario_timetables = {name: scenario_timetable(s, sc_f, f"scenario {name!r}", b.transit, edit_ids)
                             for name, s in b.scenarios.items()}
    _validate_goals(b, goals_f)
    return b


__all__ = ["DEFAULT_BUNDLE", "Bundle", "read_bundle"]
