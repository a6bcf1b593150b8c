"""Build the YRD GTFS feed ``networks/transit/cr-2016/`` from the national timetable of 2016-03-10.

Run from the repository root::

    python networks/build/build_gtfs.py --shared /work/shared

Inputs (read-only, under ``--shared``): ``data/timetables/parse12306_*_20160310.csv`` (MIT,
metromancn/Parse12306), ``data/osm/scgraph_world_railways_yrd_{nodes,edges}.csv`` (ODbL),
``data/boundaries/{310000,320000,330000,340000}.geojson`` (GCJ-02) and
``data/population/census2020_county_yrd.csv`` (county names, for station ids); and, in this
folder, ``places_src.csv``, ``station_aliases.csv`` and ``station_rail_notes.csv``.

It writes, each file atomically:

- ``networks/transit/cr-2016/*.txt``: a standard GTFS feed of every train that runs on 2016-03-10
  and stops at two or more stations in Shanghai, Jiangsu, Zhejiang or Anhui (its YRD stops only),
  plus ``LICENSE-Parse12306.txt``;
- ``networks/build/stations_cr2016.csv``: the feed stops as places (merged into ``places.csv`` by
  ``station_places.py``, the hook of ``build_bundle.build_places``); ``places.csv`` is regenerated;
- ``networks/rails/osm_rail.geojson``: the OSM rail lines (ODbL) the stations are checked against,
  and ``networks/rails/station_rail_exceptions.csv``: the stops farther than 500 m from them, with
  the reason;
- ``networks/build/build_log_gtfs.md``: the datum test, the trips split or shortened, every
  station's distance to the OSM rail line and every curated station moved.

Station positions changed, so rerun ``python networks/build/build_bundle.py`` afterwards to retrace
``rail_segments.geojson`` (it regenerates ``places.csv`` identically).
"""

from __future__ import annotations

import argparse
import io
import json
import re
import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer
from shapely.geometry import LineString, shape
from tqdm import tqdm

HERE = Path(__file__).resolve().parent
NETWORKS = HERE.parent
sys.path.insert(0, str(HERE))
import build_bundle as bb  # noqa: E402  (GCJ-02 inversion, haversine, OSM loader, build_places: reused)
from station_places import PLACE_COLUMNS, STATIONS_FILE, StationMergeError  # noqa: E402

from tx_transport._files import atomic_write_text  # noqa: E402

FEED_ID = "cr-2016"
FEED_DIR = NETWORKS / "transit" / FEED_ID
RAILS_DIR = NETWORKS / "rails"
LOG_FILE = HERE / "build_log_gtfs.md"
SERVICE_DATE = "20160310"
SERVICE_ID = "d20160310"
PARSE12306 = "metromancn/Parse12306"
PARSE12306_URL = "https://github.com/metromancn/Parse12306"
PARSE12306_COMMIT = "6fc9f94512b80238bb862b6825e15470bf83e40b"
TT_SOURCE = f"2016 national timetable ({PARSE12306} {PARSE12306_COMMIT[:7]}, MIT)"
YRD_PROVINCES = {"310000": "Shanghai", "320000": "Jiangsu", "330000": "Zhejiang", "340000": "Anhui"}
MAX_RAIL_DIST_M = 500.0
# bbox of the OSM rail extract [S: shared/data/SOURCES.md: "bbox lat 29–33.5, lon 117–122.5"]
OSM_BBOX = {"min_lat": 29.0, "max_lat": 33.5, "min_lon": 117.0, "max_lon": 122.5}
DATUM_MARGIN_DEG = 0.05  # the datum test uses stations at least ~5 km inside the extract
METRIC_PROJ = "+proj=aeqd +lat_0=31 +lon_0=119.5 +datum=WGS84 +units=m"  # YRD-centred; scale error < 0.2 % here
MAX_WRAP_STEP_MIN = 720  # a time going back is "next day" only if the step it implies is under 12 h
DIRECTIONS = {"东": ("dong", "east"), "西": ("xi", "west"), "南": ("nan", "south"), "北": ("bei", "north")}
ODBL = "© OpenStreetMap contributors, ODbL 1.0 (via scgraph-data 2.0.0)"


# --------------------------------------------------------------------------- datum
def bd09_to_gcj02(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The published BD-09 → GCJ-02 transform (Baidu's offset on top of GCJ-02)."""
    x, y = np.asarray(lon, float) - 0.0065, np.asarray(lat, float) - 0.006
    z = np.sqrt(x * x + y * y) - 0.00002 * np.sin(y * np.pi * 3000.0 / 180.0)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * np.pi * 3000.0 / 180.0)
    return z * np.cos(theta), z * np.sin(theta)


DATUMS = {
    "raw coordinates read as WGS84": lambda lon, lat: (np.asarray(lon, float), np.asarray(lat, float)),
    "GCJ-02 → WGS84": bb.gcj02_to_wgs84,
    "BD-09 → WGS84": lambda lon, lat: bb.gcj02_to_wgs84(*bd09_to_gcj02(lon, lat)),
}


class RailIndex:
    """Straight OSM rail segments (node to node, as shipped in osm_rail.geojson) with a nearest-segment query."""

    def __init__(self, nodes: pd.DataFrame, edges: pd.DataFrame):
        e = edges[edges.u != edges.v].copy()
        e["a"], e["b"] = np.minimum(e.u, e.v), np.maximum(e.u, e.v)
        self.edges = e.drop_duplicates(["a", "b"]).sort_values(["a", "b"]).reset_index(drop=True)
        self.nodes = nodes
        self._to_m = Transformer.from_crs("EPSG:4326", METRIC_PROJ, always_xy=True)
        x, y = self._to_m.transform(nodes.lon.values, nodes.lat.values)
        pos = dict(zip(nodes.index, zip(x, y)))
        self.lines = np.array([LineString([pos[a], pos[b]]) for a, b in zip(self.edges.a, self.edges.b)])
        self.tree = shapely.STRtree(self.lines)

    def nearest(self, lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Distance (m) from each point to the nearest segment, and that segment's row in ``edges``."""
        x, y = self._to_m.transform(np.asarray(lon, float), np.asarray(lat, float))
        pts = shapely.points(x, y)
        idx = self.tree.nearest(pts)
        return shapely.distance(pts, self.lines[idx]), idx

    def geojson(self) -> dict:
        """The segments merged into LineStrings (WGS84, the source's 0.001° precision), with the ODbL notice."""
        lon, lat = self.nodes.lon, self.nodes.lat
        segs = [LineString([(lon[a], lat[a]), (lon[b], lat[b])]) for a, b in zip(self.edges.a, self.edges.b)]
        merged = shapely.line_merge(shapely.MultiLineString(segs))
        parts = sorted(shapely.get_parts(merged), key=lambda g: (round(g.coords[0][0], 3), round(g.coords[0][1], 3), len(g.coords)))
        feats = [{"type": "Feature", "properties": {"id": i},
                  "geometry": {"type": "LineString", "coordinates": [[round(x, 3), round(y, 3)] for x, y in g.coords]}}
                 for i, g in enumerate(parts)]
        return {"type": "FeatureCollection", "name": "osm_rail",
                "license": "ODbL 1.0 (https://opendatacommons.org/licenses/odbl/1-0/)", "attribution": ODBL,
                "description": "OSM rail lines of the YRD extract (bbox lat 29–33.5, lon 117–122.5), node to node as in "
                               "the scgraph-data graph; long edges are straight chords of curved track",
                "features": feats}


def measure_datums(stations: pd.DataFrame, rail: RailIndex) -> pd.DataFrame:
    """Median, 90th percentile and count within 300 m of the station-to-rail distance for each datum hypothesis.

    Only stations at least ``DATUM_MARGIN_DEG`` inside the OSM extract count (nearer the edge the
    line may be clipped)."""
    b, m = OSM_BBOX, DATUM_MARGIN_DEG
    inside = (stations.lat.between(b["min_lat"] + m, b["max_lat"] - m) & stations.lon.between(b["min_lon"] + m, b["max_lon"] - m))
    s = stations[inside]
    rows = []
    for name, conv in DATUMS.items():
        lon, lat = conv(s.lon.values, s.lat.values)
        d, _ = rail.nearest(lat, lon)
        rows.append({"hypothesis": name, "stations": len(d), "median_m": float(np.median(d)),
                     "p90_m": float(np.percentile(d, 90)), "within_300m": int((d <= 300).sum())})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- area
def in_yrd(shared: Path, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Province adcode (Shanghai, Jiangsu, Zhejiang, Anhui) containing each WGS84 point, '' outside."""
    out = np.full(len(lat), "", dtype=object)
    pts = shapely.points(lon, lat)
    for adcode in YRD_PROVINCES:
        geom = shape(json.loads((shared / "data" / "boundaries" / f"{adcode}.geojson").read_text()))
        wgs = shapely.transform(geom, lambda xy: np.column_stack(bb.gcj02_to_wgs84(xy[:, 0], xy[:, 1])))
        out[shapely.contains(wgs, pts)] = adcode
    return out


# --------------------------------------------------------------------------- trips
def hhmm(s: str) -> int:
    h, m = str(s).split(":")
    return int(h) * 60 + int(m)


def absolute_times(rows: list[tuple[str, str]], train: str = "") -> list[tuple[int, int]]:
    """(arrival, departure) minutes after midnight of the service day for one train's rows in order.

    The first row is the origin: its arrival (blank, 00:00 or a stray time in the source) is set
    to its departure. A time earlier than the previous one means the next day (+24 h), so times
    run on past 24:00 and never decrease; a step back that would imply a hop of 12 h or more is a
    data error.
    """
    out: list[tuple[int, int]] = []
    prev, day = None, 0
    for i, (arr_s, dep_s) in enumerate(rows):
        vals = []
        for s in ((dep_s,) if i == 0 else (arr_s, dep_s)):
            m = hhmm(s) + day * 1440
            if prev is not None and m < prev:
                day += 1
                m += 1440
                if m - prev >= MAX_WRAP_STEP_MIN:
                    raise ValueError(f"train {train}: time {s} at row {i + 1} goes back by more than 12 h (data error?)")
            vals.append(m)
            prev = m
        out.append((vals[0], vals[-1]))
    return out


def area_parts(in_area: list[bool]) -> list[list[int]]:
    """Row indices of the maximal runs of in-area rows, in order (a run of one is kept here)."""
    parts, cur = [], []
    for i, flag in enumerate(in_area):
        if flag:
            cur.append(i)
        elif cur:
            parts.append(cur)
            cur = []
    if cur:
        parts.append(cur)
    return parts


def build_trips(stop_rows: pd.DataFrame, trains: pd.DataFrame, yrd: set[str]) -> tuple[list[dict], dict]:
    """GTFS trips (with their stop times) of every running train with two or more YRD calls.

    A train that leaves the area and comes back is split at each out-of-area gap into trips
    ``<train_no>-1``, ``-2``, … so that no false non-stop hop joins two in-area calls; a part with
    a single call is dropped (it has no hop). Returns the trips and counts for the log.
    """
    trips, stats = [], {"split": [], "shortened": [], "dropped": [], "overnight": []}
    rows_by_train = {k: g for k, g in stop_rows.groupby("train_no", sort=True)}
    for t in tqdm(trains.itertuples(index=False), total=len(trains), desc="trains", disable=None):
        g = rows_by_train.get(t.train_no)
        if g is None:
            continue
        g = g.sort_values("seq")
        flags = [s in yrd for s in g.station]
        if sum(flags) < 2:
            continue
        times = absolute_times(list(zip(g.arrive, g.depart)), t.train_no)
        parts = area_parts(flags)
        kept = [p for p in parts if len(p) >= 2]
        names = list(g.station)
        if not kept:
            stats["dropped"].append(f"{t.train_code} ({t.train_no}): YRD calls {', '.join(names[p[0]] for p in parts)} are "
                                    "each between out-of-area stops")
            continue
        if len(kept) > 1:
            stats["split"].append(f"{t.train_code} ({t.train_no}): split into {len(kept)} trips: " +
                                  " | ".join("–".join(names[i] for i in p) for p in kept))
        if len(parts) > len(kept):
            lone = [names[p[0]] for p in parts if len(p) == 1]
            stats["shortened"].append(f"{t.train_code} ({t.train_no}): isolated YRD call(s) {', '.join(lone)} dropped "
                                      "(between out-of-area stops; no false hop kept)")
        for k, p in enumerate(kept, start=1):
            stops = [{"seq": int(g.seq.iloc[i]), "station": names[i], "arr": times[i][0], "dep": times[i][1]} for i in p]
            stops[0]["arr"] = stops[0]["dep"]
            stops[-1]["dep"] = stops[-1]["arr"]
            trip_id = t.train_no if len(kept) == 1 else f"{t.train_no}-{k}"
            trips.append({"trip_id": trip_id, "train_no": t.train_no, "codes": t.train_code, "from": t.origin,
                          "to": t.terminus, "stops": stops})
            if stops[-1]["arr"] >= 1440:
                stats["overnight"].append(f"{trip_id} {t.train_code}: " + ", ".join(f"{s['station']} {gtfs_time(s['arr'])}"
                                                                                    for s in stops if s["arr"] >= 1440))
    return trips, stats


def gtfs_time(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}:00"


# --------------------------------------------------------------------------- stations
def city_names(shared: Path) -> set[str]:
    """Prefecture, county and district names of the four provinces, with and without 市/区/县."""
    c = pd.read_csv(shared / "data" / "population" / "census2020_county_yrd.csv", usecols=[1, 2, 3], dtype=str)
    out = set()
    for n in pd.unique(c.values.ravel()):
        if isinstance(n, str):
            out.add(n)
            base = re.sub(r"(自治县|市|区|县)$", "", n)
            if len(base) >= 2:
                out.add(base)
    return out


def new_station_id(name: str, pinyin: dict[str, str], stations: set[str], cities: set[str]) -> tuple[str, str]:
    """Place id and English name of a station that is not curated (rule in networks/README.md).

    - ``<base>东/西/南/北`` where the base is itself a station or a city/county name:
      pinyin of the base + ``-east/-west/-south/-north`` (无锡东 → ``wuxi-east``, "Wuxi East station");
    - otherwise the pinyin of the name + ``-station`` (义乌 → ``yiwu-station``), split after a leading
      station name when two or more characters follow (苏州园区 → ``suzhou-yuanqu-station``).
    Pinyin is 12306's own (the timetable's ``pinyin`` column).
    """
    p = pinyin[name]
    if len(name) >= 3 and name[-1] in DIRECTIONS and (name[:-1] in stations or name[:-1] in cities):
        syl, en = DIRECTIONS[name[-1]]
        if not p.endswith(syl):
            raise ValueError(f"station {name}: pinyin {p!r} does not end with {syl!r}")
        words = [p[: -len(syl)], en]
    else:
        words = [p]
        for k in range(len(name) - 2, 1, -1):
            q = name[:k]
            if q in pinyin and p.startswith(pinyin[q]):
                words = [pinyin[q], p[len(pinyin[q]):]]
                break
        words.append("station")
    return "-".join(words), " ".join(w.capitalize() for w in words[:-1]) + (" station" if words[-1] == "station"
                                                                             else f" {words[-1].capitalize()} station")


def base_name(name_zh: str) -> str:
    """Timetable form of a place's Chinese name: 桐乡站 → 桐乡, 松江南站(上海松江站) → 松江南."""
    return re.sub(r"[（(][^（()）]*站[)）]$", "", name_zh).removesuffix("站")


def station_places(used: list[str], tt: pd.DataFrame, src: pd.DataFrame, aliases: pd.DataFrame,
                   cities: set[str]) -> pd.DataFrame:
    """One row per feed stop: place id (curated, alias or new), names, WGS84 coordinate, telecode."""
    st = tt.set_index("station")
    pinyin = dict(zip(tt.station, tt.pinyin))
    for name in tt.station:  # 金山北 → 金山: bases of direction names also have a known pinyin
        if name[-1] in DIRECTIONS and pinyin[name].endswith(DIRECTIONS[name[-1]][0]):
            pinyin.setdefault(name[:-1], pinyin[name][: -len(DIRECTIONS[name[-1]][0])])
    curated = src[src.kind == "station"]
    by_name = {base_name(n): i for n, i in zip(curated.name_zh, curated.id)}
    alias = dict(zip(aliases.timetable_name, aliases.place_id))
    rows = []
    for name in sorted(used):
        r = {"timetable_name": name, "telecode": st.loc[name, "telecode"], "lat": st.loc[name, "wlat"], "lon": st.loc[name, "wlon"]}
        if name in by_name or name in alias:
            pid = by_name.get(name) or alias[name]
            c = curated.set_index("id").loc[pid]
            r.update(id=pid, name_en=c.name_en, name_zh=c.name_zh, match="curated" if name in by_name else "alias",
                     old_lat=float(c.lat), old_lon=float(c.lon), old_source=c.coord_source, old_locate=c.locate)
        else:
            pid, name_en = new_station_id(name, pinyin, set(tt.station), cities)
            r.update(id=pid, name_en=name_en, name_zh=name + "站", match="new")
        rows.append(r)
    out = pd.DataFrame(rows)
    taken = set(src.id)
    clash = out[(out.match == "new") & (out.duplicated("id", keep=False) | out.id.isin(taken))].index
    for i in clash:  # 丽水/溧水 both give lishui-station: add the telecode to each
        words = out.loc[i, "id"].rsplit("-", 1)
        out.loc[i, "id"] = f"{words[0]}-{out.loc[i, 'telecode'].lower()}-{words[1]}"
        out.loc[i, "name_en"] = f"{out.loc[i, 'name_en']} ({out.loc[i, 'timetable_name']})"
    if out.id.duplicated().any() or (out.id[out.match == "new"].isin(taken)).any():
        raise ValueError(f"station ids not unique: {sorted(out.id[out.id.duplicated()])}")
    return out.sort_values("id").reset_index(drop=True)


def rail_reasons(st: pd.DataFrame, rail: RailIndex, notes: pd.DataFrame) -> list[str]:
    """Why each station farther than MAX_RAIL_DIST_M from the OSM rail line is (empty when within)."""
    b, m = OSM_BBOX, DATUM_MARGIN_DEG
    note = dict(zip(notes.timetable_name, notes.reason))
    out = []
    for r in st.itertuples():
        if r.rail_dist_m <= MAX_RAIL_DIST_M:
            out.append("")
        elif r.timetable_name in note:
            out.append(note[r.timetable_name])
        elif not (b["min_lat"] <= r.lat <= b["max_lat"] and b["min_lon"] <= r.lon <= b["max_lon"]):
            out.append("outside the OSM rail extract (lat 29–33.5, lon 117–122.5): its line is not in the extract, "
                       "so the position cannot be checked")
        elif not (b["min_lat"] + m <= r.lat <= b["max_lat"] - m and b["min_lon"] + m <= r.lon <= b["max_lon"] - m):
            out.append("within ~5 km of the edge of the OSM rail extract, where its line is clipped")
        else:
            e = rail.edges.loc[r.rail_edge]
            chord_km = rail.lines[r.rail_edge].length / 1000.0
            extra = max(float(e.length_km) - chord_km, 0.0)
            sagitta_km = np.sqrt(3.0 * chord_km * extra / 8.0)  # circular arc of length L over chord c: L - c ≈ 8 s² / 3c
            if r.rail_dist_m / 1000.0 <= sagitta_km + 0.1:
                out.append(f"the OSM extract simplifies the line here to a {chord_km:.1f} km straight chord of a {e.length_km:.1f} km "
                           f"edge, which can lie up to ~{sagitta_km:.1f} km off the track [I: arc sagitta]; "
                           f"the distance is consistent with that")
            else:
                raise ValueError(f"station {r.timetable_name} ({r.id}) is {r.rail_dist_m:.0f} m from the OSM rail line with no "
                                 "explanation: check it and add a reason to networks/build/station_rail_notes.csv")
    return out


def previous_positions(st: pd.DataFrame, rail_nodes: pd.DataFrame) -> None:
    """prev_lat/prev_lon: where places.csv had each curated station before (places_src, or its OSM rail node if rail-near)."""
    st["prev_lat"], st["prev_lon"] = st.get("old_lat"), st.get("old_lon")
    for i in st.index[st.match != "new"]:
        if st.loc[i, "old_locate"] == "rail-near":
            n = bb.nearest_node(rail_nodes, st.loc[i, "old_lat"], st.loc[i, "old_lon"])
            st.loc[i, "prev_lat"], st.loc[i, "prev_lon"] = round(float(rail_nodes.lat[n]), 3), round(float(rail_nodes.lon[n]), 3)


def coord_source(r) -> str:
    s = f"{TT_SOURCE}, GCJ-02 converted to WGS84; "
    if r.reason.startswith("outside"):
        s += "outside the OSM rail extract, not checked against it"
    else:
        s += f"{r.rail_dist_m:.0f} m from the OSM rail line" + (" (rails/station_rail_exceptions.csv)" if r.reason else "")
    if r.match != "new":
        s += (f"; replaces {r.prev_lat:.5f}, {r.prev_lon:.5f} (was: {r.old_source.rstrip('. ')}; "
              f"{r.prev_rail_dist_m:.0f} m from the OSM rail line), moved {r.moved_km:.2f} km")
    return s


# --------------------------------------------------------------------------- writing
def write_csv(path: Path, df: pd.DataFrame) -> None:
    atomic_write_text(path, df.to_csv(index=False, lineterminator="\n"))


def write_feed(trips: list[dict], st: pd.DataFrame, trains: pd.DataFrame) -> dict[str, int]:
    """Write the GTFS tables of the feed folder; returns row counts."""
    ids = dict(zip(st.timetable_name, st.id))
    stops = pd.DataFrame({"stop_id": st.id, "stop_code": st.telecode, "stop_name": st.timetable_name,
                          "stop_lat": st.lat.map("{:.6f}".format), "stop_lon": st.lon.map("{:.6f}".format), "location_type": 0})
    used_trains = trains[trains.train_no.isin({t["train_no"] for t in trips})].copy()
    used_trains["route_id"] = used_trains.train_code.str.split("/").str[0]
    routes = (used_trains.sort_values("train_no").drop_duplicates("route_id")
              .assign(agency_id="CR", route_short_name=lambda d: d.train_code,
                      route_long_name=lambda d: d.origin + "–" + d.terminus, route_type=2,
                      route_desc=lambda d: d.route_id.str[0])
              [["route_id", "agency_id", "route_short_name", "route_long_name", "route_desc", "route_type"]].sort_values("route_id"))
    route_of = dict(zip(used_trains.train_no, used_trains.route_id))
    trip_df = pd.DataFrame([{"route_id": route_of[t["train_no"]], "service_id": SERVICE_ID, "trip_id": t["trip_id"],
                             "trip_short_name": t["codes"]} for t in trips]).sort_values("trip_id")
    stop_times = pd.DataFrame([{"trip_id": t["trip_id"], "arrival_time": gtfs_time(s["arr"]), "departure_time": gtfs_time(s["dep"]),
                                "stop_id": ids[s["station"]], "stop_sequence": s["seq"]} for t in trips for s in t["stops"]])
    stop_times = stop_times.sort_values(["trip_id", "stop_sequence"])
    tables = {
        "agency": pd.DataFrame([{"agency_id": "CR", "agency_name": "China Railway (中国铁路)", "agency_url": "https://www.12306.cn/",
                                 "agency_timezone": "Asia/Shanghai", "agency_lang": "zh"}]),
        "stops": stops, "routes": routes, "trips": trip_df, "stop_times": stop_times,
        "calendar": pd.DataFrame([{"service_id": SERVICE_ID, "monday": 0, "tuesday": 0, "wednesday": 0, "thursday": 1, "friday": 0,
                                   "saturday": 0, "sunday": 0, "start_date": SERVICE_DATE, "end_date": SERVICE_DATE}]),
        "feed_info": pd.DataFrame([{"feed_publisher_name": f"tx-transport networks/build/build_gtfs.py from {PARSE12306}",
                                    "feed_publisher_url": PARSE12306_URL, "feed_lang": "zh", "feed_start_date": SERVICE_DATE,
                                    "feed_end_date": SERVICE_DATE, "feed_version": f"2016-03-10 YRD, {PARSE12306} {PARSE12306_COMMIT[:7]}"}]),
        "attributions": pd.DataFrame([
            {"attribution_id": "parse12306", "organization_name": f"{PARSE12306} (MIT licence, commit {PARSE12306_COMMIT}): "
             "national HSR/EMU timetable of 2016-03-10 parsed from 12306.cn", "is_producer": 1, "is_operator": 0, "is_authority": 0,
             "attribution_url": PARSE12306_URL},
            {"attribution_id": "china-railway", "organization_name": "China Railway (中国铁路, 12306.cn): the published timetable",
             "is_producer": 0, "is_operator": 1, "is_authority": 1, "attribution_url": "https://www.12306.cn/"},
            {"attribution_id": "tx-transport", "organization_name": "tx-transport: GTFS conversion (YRD selection, GCJ-02 to WGS84, "
             "trip splitting; networks/build/build_gtfs.py)", "is_producer": 1, "is_operator": 0, "is_authority": 0,
             "attribution_url": ""}]),
        "translations": pd.DataFrame({"table_name": "stops", "field_name": "stop_name", "language": "en",
                                      "translation": st.name_en, "record_id": st.id}),
    }
    FEED_DIR.mkdir(parents=True, exist_ok=True)
    for name, df in tables.items():
        write_csv(FEED_DIR / f"{name}.txt", df)
    return {name: len(df) for name, df in tables.items()}


# --------------------------------------------------------------------------- main
def read_notes(path: Path) -> pd.DataFrame:
    """A small curated CSV of this folder; lines starting with '#' are comments."""
    lines = [ln for ln in path.read_text(encoding="utf-8").splitlines() if not ln.startswith("#")]
    return pd.read_csv(io.StringIO("\n".join(lines)), dtype=str, keep_default_na=False)


def load_inputs(shared: Path) -> dict:
    tt_dir = shared / "data" / "timetables"
    stations = pd.read_csv(tt_dir / "parse12306_stations_20160310.csv", dtype={"telecode": str})
    variants = pd.read_csv(tt_dir / "parse12306_train_variants_20160310.csv", dtype=str)
    trains = variants[variants.runs_20160310 == "True"].rename(columns={"from": "origin", "to": "terminus"})
    rows = pd.read_csv(tt_dir / "parse12306_hsr_stop_times_20160310.csv", dtype=str)
    rows["seq"] = rows.seq.astype(int)
    unknown = sorted(set(rows.station) - set(stations.station))
    if unknown or stations.station.duplicated().any():
        raise ValueError(f"{tt_dir.name}: stop rows name stations missing from (or doubled in) the stations table: {unknown[:5]}")
    nodes = pd.read_csv(shared / "data" / "osm" / "scgraph_world_railways_yrd_nodes.csv").set_index("node_id")
    edges = pd.read_csv(shared / "data" / "osm" / "scgraph_world_railways_yrd_edges.csv")
    return {"stations": stations, "variants": variants, "trains": trains.sort_values("train_no"), "rows": rows,
            "nodes": nodes, "edges": edges}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", default=str(NETWORKS.parent.parent / "shared"), help="path to the shared/ folder")
    args = ap.parse_args(argv)
    shared = Path(args.shared)
    if not (shared / "data" / "timetables" / "SOURCES.md").exists():
        print(f"error: {shared}/data/timetables/SOURCES.md not found; pass --shared PATH", file=sys.stderr)
        return 2
    try:
        build(shared)
    except (ValueError, KeyError, StationMergeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


def build(shared: Path) -> None:
    """Every step of the module docstring, in order."""
    inp = load_inputs(shared)
    rail = RailIndex(inp["nodes"], inp["edges"])
    log: list[str] = []

    datum = measure_datums(inp["stations"], rail)
    best = datum.sort_values("median_m").iloc[0]["hypothesis"]
    tt = inp["stations"].copy()
    tt["wlon"], tt["wlat"] = DATUMS[best](tt.lon.values, tt.lat.values)
    tt["province"] = in_yrd(shared, tt.wlat.values, tt.wlon.values)
    yrd = set(tt.station[tt.province != ""])

    trips, stats = build_trips(inp["rows"], inp["trains"], yrd)
    used = sorted({s["station"] for t in trips for s in t["stops"]})
    st = locate_stations(shared, used, tt, rail, inp["nodes"])

    counts = write_feed(trips, st, inp["trains"])
    shutil.copyfile(shared / "data" / "timetables" / "LICENSE-Parse12306.txt", FEED_DIR / "LICENSE-Parse12306.txt")
    write_places(st, inp["nodes"], log)
    write_rails(st, rail)
    hops = hop_speeds(trips, st)
    write_log(datum, best, tt, yrd, trips, stats, st, counts, hops, log)
    print(f"feed {FEED_DIR.relative_to(NETWORKS.parent)}: {counts['stops']} stops, {counts['trips']} trips, "
          f"{counts['stop_times']} stop_times; datum {best}; log {LOG_FILE.relative_to(NETWORKS.parent)}")


def locate_stations(shared: Path, used: list[str], tt: pd.DataFrame, rail: RailIndex, rail_nodes: pd.DataFrame) -> pd.DataFrame:
    """The feed stops as places, with their distance to the OSM rail line, how far curated ones moved, and reasons."""
    src = pd.read_csv(HERE / "places_src.csv", dtype=str, keep_default_na=False)
    st = station_places(used, tt, src, read_notes(HERE / "station_aliases.csv"), city_names(shared))
    st["rail_dist_m"], st["rail_edge"] = rail.nearest(st.lat.values, st.lon.values)
    cur = st.match != "new"
    previous_positions(st, rail_nodes)
    st.loc[cur, "prev_rail_dist_m"] = rail.nearest(st.prev_lat[cur].values, st.prev_lon[cur].values)[0]
    st.loc[cur, "moved_km"] = bb.haversine_km(st.prev_lat[cur].values, st.prev_lon[cur].values, st.lat[cur].values, st.lon[cur].values)
    st.loc[cur, "src_moved_km"] = bb.haversine_km(st.old_lat[cur].values, st.old_lon[cur].values, st.lat[cur].values, st.lon[cur].values)
    st["reason"] = rail_reasons(st, rail, read_notes(HERE / "station_rail_notes.csv"))
    st["lat"], st["lon"] = st.lat.round(6), st.lon.round(6)
    return st


def write_places(st: pd.DataFrame, rail_nodes: pd.DataFrame, log: list[str]) -> None:
    """stations_cr2016.csv (the hook's input), then places.csv through build_bundle.build_places."""
    out = st.assign(kind="station", population="", population_source="", coord_status="sourced",
                    coord_source=[coord_source(r) for r in st.itertuples()],
                    lat=st.lat.map("{:.6f}".format), lon=st.lon.map("{:.6f}".format))
    write_csv(STATIONS_FILE, out[PLACE_COLUMNS + ["timetable_name", "telecode", "match"]])
    bb.build_places(rail_nodes, log)


def write_rails(st: pd.DataFrame, rail: RailIndex) -> None:
    RAILS_DIR.mkdir(parents=True, exist_ok=True)
    atomic_write_text(RAILS_DIR / "osm_rail.geojson", json.dumps(rail.geojson(), ensure_ascii=False, separators=(",", ":")))
    exc = st[st.reason != ""]
    write_csv(RAILS_DIR / "station_rail_exceptions.csv",
              pd.DataFrame({"stop_id": exc.id, "stop_name": exc.timetable_name, "rail_dist_m": exc.rail_dist_m.round(0).astype(int),
                            "reason": exc.reason}))


def hop_speeds(trips: list[dict], st: pd.DataFrame) -> pd.DataFrame:
    """Straight-line speed of every hop (km/h), for the log; the test checks the same on the shipped files."""
    pos = st.set_index("timetable_name")[["lat", "lon"]]
    rows = []
    for t in trips:
        for a, b in zip(t["stops"][:-1], t["stops"][1:]):
            km = float(bb.haversine_km(pos.lat[a["station"]], pos.lon[a["station"]], pos.lat[b["station"]], pos.lon[b["station"]]))
            mins = b["arr"] - a["dep"]
            rows.append({"trip_id": t["trip_id"], "codes": t["codes"], "from": a["station"], "to": b["station"], "km": km,
                         "min": mins, "kmh": km / (mins / 60.0) if mins > 0 else float("inf")})
    return pd.DataFrame(rows)


def write_log(datum, best, tt, yrd, trips, stats, st, counts, hops, places_log) -> None:
    L = ["# Build log: GTFS feed cr-2016 (networks/build/build_gtfs.py)", "",
         f"Source: {TT_SOURCE}, {PARSE12306_URL} commit {PARSE12306_COMMIT}. Service day 2016-03-10 (Thursday).", "",
         "## Datum of the station coordinates", "",
         f"The source does not state the datum. Distance from each station to the nearest OSM rail segment (node to node, "
         f"as in `networks/rails/osm_rail.geojson`; metric: `{METRIC_PROJ}`), for the stations at least "
         f"{DATUM_MARGIN_DEG}° inside the OSM extract:", "",
         "| hypothesis | stations | median (m) | 90th percentile (m) | within 300 m |", "|---|---|---|---|---|"]
    L += [f"| {r.hypothesis} | {r.stations} | {r.median_m:.0f} | {r.p90_m:.0f} | {r.within_300m} |" for r in datum.itertuples()]
    L += ["", f"Chosen: **{best}** (smallest median). All coordinates below are converted with it.", "",
          "## Area and trips", "",
          f"- YRD stations (inside the Shanghai, Jiangsu, Zhejiang and Anhui boundaries, converted to WGS84): {len(yrd)} of {len(tt)}; "
          f"{len(st)} are stops of the feed.",
          f"- Trips: {counts['trips']} ({counts['routes']} routes, one per train); stop_times rows: {counts['stop_times']}.",
          f"- Combined codes (one trip, two public numbers): {sum('/' in t['codes'] for t in trips)} trips.",
          f"- Trips split at an out-of-area gap (`-1`, `-2`): {len(stats['split'])}.",
          *[f"  - {s}" for s in stats["split"]],
          f"- Trips shortened (an isolated YRD call between out-of-area stops dropped, so that no false long hop remains): "
          f"{len(stats['shortened'])}.",
          *[f"  - {s}" for s in stats["shortened"]],
          f"- Trains with two or more YRD calls but no two consecutive: {len(stats['dropped'])}.",
          *[f"  - {s}" for s in stats["dropped"]],
          f"- Trips with calls after 24:00 (GTFS times past 24:00:00 on the service day): {len(stats['overnight'])}. Their runs that "
          "started on 2016-03-09 are not in a one-day feed.",
          *[f"  - {s}" for s in stats["overnight"]],
          f"- Fastest hop (straight line between consecutive stops / scheduled minutes): {hops.kmh.max():.0f} km/h "
          f"({hops.loc[hops.kmh.idxmax(), 'codes']} {hops.loc[hops.kmh.idxmax(), 'from']}–{hops.loc[hops.kmh.idxmax(), 'to']}); "
          f"longest hop {hops.km.max():.0f} km.", "",
          "## Stations", "",
          f"Every stop is a place of kind `station` (`places.csv`). Distance to the nearest OSM rail segment; "
          f"{int((st.rail_dist_m > MAX_RAIL_DIST_M).sum())} stations are farther than {MAX_RAIL_DIST_M:.0f} m "
          "(`networks/rails/station_rail_exceptions.csv`, reasons below).", "",
          "| stop_id | name | telecode | lat | lon | to OSM rail (m) | place | moved (km) |", "|---|---|---|---|---|---|---|---|"]
    for r in st.itertuples():
        moved = (f"{r.moved_km:.2f} (was {r.prev_rail_dist_m:.0f} m off rail; {r.src_moved_km:.2f} from places_src)"
                 if r.match != "new" else "")
        L.append(f"| {r.id} | {r.timetable_name} | {r.telecode} | {r.lat:.6f} | {r.lon:.6f} | {r.rail_dist_m:.0f} | {r.match} | {moved} |")
    L += ["", f"### Farther than {MAX_RAIL_DIST_M:.0f} m from the OSM rail line", ""]
    L += [f"- {r.id} ({r.timetable_name}): {r.rail_dist_m:.0f} m: {r.reason}" for r in st[st.reason != ""].itertuples()]
    L += ["", "### places.csv", "", "Regenerated through `build_bundle.build_places` (hook `station_places.py`):", ""]
    L += places_log or ["- (no rail-near snaps)"]
    atomic_write_text(LOG_FILE, "\n".join(L) + "\n")


if __name__ == "__main__":
    sys.exit(main())
