"""Build the multimodal scenario graph (a ``networkx.MultiDiGraph``) from a validated bundle.

Nodes
-----
- road-layer nodes keep their ids (OSM node ids, ``int``), attributes ``x``, ``y`` (lon/lat);
- ``"place:<id>"`` one node per place;
- ``"x:<id>"`` nodes of schematic expressway/trunk links (interchanges, junctions, waypoints);
- ``"w:<id>"`` waterway nodes (shared by the channels that meet there).

Edges follow OSMnx conventions (``length`` in m, ``travel_time`` in s, ``speed_kph``, optional
``geometry`` as a shapely LineString in EPSG:4326; a missing geometry is the straight line) plus
``mode`` (road, expressway, waterway), ``kind`` (see ``profiles.yaml``), ``link_id``, ``project``
and ``status``. Rail is not a graph layer: trains run on the timetable
(:mod:`tx_transport.transit`), composed with the road graph in :mod:`tx_transport.doortodoor`.
"""

from __future__ import annotations

import math
from typing import Any

import networkx as nx
import numpy as np
from shapely.geometry import LineString

from .geo import WGS84, haversine_km
from .io import ALWAYS_ON_PROJECTS, Bundle
from .scenario import ScenarioSelection

MOTORWAY = {"motorway"}


def _road_speed(modes: dict[str, Any], highway: str, design: float | None = None) -> float:
    """Free-flow model speed (km/h) of an OSM class: design speed × operating factor."""
    c = modes["road"]["classes"][highway]
    return float(design if design is not None else c["design_speed_kmh"]) * float(c["operating_factor"])


def _peak_factor(modes: dict[str, Any], highway: str) -> float:
    """Peak-hour speed / free-flow speed of an OSM class (``peak_factor``, default 1)."""
    return float(modes["road"]["classes"][highway].get("peak_factor") or 1.0)


def connector_speeds(modes: dict[str, Any]) -> tuple[float, float]:
    """Free-flow and peak speed (km/h) of place connectors: ``connector_class`` or ``connector_speed_kmh``."""
    road = modes["road"]
    cls = road.get("connector_class")
    pf = _peak_factor(modes, cls) if cls else 1.0
    if road.get("connector_speed_kmh") is not None:  # an explicit speed wins over the class
        v = float(road["connector_speed_kmh"])
        return v, v * pf
    v = _road_speed(modes, cls)
    return v, v * pf


def urban_area_of(lon: np.ndarray, lat: np.ndarray, areas: Any) -> np.ndarray:
    """The urban-area id (``zones/urban_areas.geojson``) containing each point, ``""`` outside all.

    Parameters
    ----------
    lon, lat : numpy.ndarray
        Points in degrees (EPSG:4326), e.g. edge midpoints.
    areas : geopandas.GeoDataFrame or None
        Polygons with an ``area`` column.
    """
    out = np.full(len(lon), "", dtype=object)
    if areas is None or len(areas) == 0 or len(lon) == 0:
        return out
    import shapely

    for aid, geom in zip(areas["area"], areas.geometry):
        shapely.prepare(geom)
        hit = shapely.contains_xy(geom, np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
        out[hit & (out == "")] = aid
    return out


class _Snapper:
    """Nearest road-layer node lookups (local roads only, or motorway nodes only).

    KD-trees over the nodes on the sphere (:mod:`tx_transport.zones`): the same nearest nodes
    as a haversine scan over every node, in ``O(log n)`` per lookup.
    """

    def __init__(self, nodes: dict[Any, tuple[float, float]], motorway_nodes: set[Any]) -> None:
        self.local_ids = [n for n in nodes if n not in motorway_nodes and not (isinstance(n, str) and n.startswith("place:"))]
        self.mw_ids = [n for n in nodes if n in motorway_nodes]
        self.local = np.array([nodes[n] for n in self.local_ids], dtype=float).reshape(-1, 2)
        self.mw = np.array([nodes[n] for n in self.mw_ids], dtype=float).reshape(-1, 2)
        self._trees: dict[bool, Any] = {}

    def _query(self, lon: float, lat: float, k: int, motorway: bool) -> tuple[np.ndarray, np.ndarray]:
        """Positions and distances (km) of the ``k`` nearest nodes, nearest first (ties by position)."""
        from .zones import NodeTree

        arr = self.mw if motorway else self.local
        tree = self._trees.get(motorway)
        if tree is None:
            tree = self._trees[motorway] = NodeTree(arr[:, 0], arr[:, 1])
        pos, dist_m = tree.nearest_k(np.array([lon]), np.array([lat]), k)
        return pos[0], dist_m[0] / 1000.0

    def k_nearest(self, lon: float, lat: float, k: int, max_km: float) -> list[tuple[Any, float]]:
        """Up to ``k`` nearest local-road nodes within ``max_km`` (always at least the nearest)."""
        if not self.local_ids or k < 1:
            return []
        order, d = self._query(lon, lat, k, False)
        return [(self.local_ids[i], float(d[j])) for j, i in enumerate(order) if j == 0 or d[j] <= max_km]

    def sector_nearest(self, lon: float, lat: float, sectors: int, max_km: float) -> list[tuple[Any, float]]:
        """The nearest local-road node in each of ``sectors`` equal compass sectors within ``max_km``,
        plus the nearest node overall (whatever its distance)."""
        if not self.local_ids:
            return []
        d = haversine_km(lat, lon, self.local[:, 1], self.local[:, 0])
        ang = np.arctan2(self.local[:, 1] - lat, (self.local[:, 0] - lon) * np.cos(np.radians(lat)))
        sec = np.floor((ang + np.pi) / (2 * np.pi) * sectors).astype(int) % sectors
        out = {int(np.argmin(d))}
        for k in range(sectors):
            m = np.flatnonzero((sec == k) & (d <= max_km))
            if len(m):
                out.add(int(m[np.argmin(d[m])]))
        return [(self.local_ids[i], float(d[i])) for i in sorted(out, key=lambda i: d[i])]

    def nearest(self, lon: float, lat: float, motorway: bool = False) -> tuple[Any, float] | None:
        ids = self.mw_ids if motorway else self.local_ids
        if not ids:
            return None
        pos, d = self._query(lon, lat, 1, motorway)
        return ids[int(pos[0])], float(d[0])


def build_graph(b: Bundle, sel: ScenarioSelection, road_graph: nx.MultiDiGraph | None = None) -> nx.MultiDiGraph:
    """Build the full multimodal graph of one scenario (all modes; profiles filter later).

    Parameters
    ----------
    b : Bundle
        The validated bundle.
    sel : ScenarioSelection
        Which projects are in service and their speed overrides.
    road_graph : networkx.MultiDiGraph, optional
        An OSMnx-style road graph (EPSG:4326, ``highway`` on edges) that replaces the embedded
        road layer. Expressway access then follows its own ``motorway_link`` edges.
    """
    modes = b.modes
    G = nx.MultiDiGraph(crs=WGS84, scenario=sel.name, name=f"tx-transport {sel.name}")
    coords: dict[Any, tuple[float, float]] = {}
    motorway_nodes: set[Any] = set()
    ref_nodes: dict[str, Any] = {}
    toll_s = float(modes["road"]["ramp_toll_min"]) * 60.0
    areas_cfg = modes["road"].get("areas") or {}
    conn_v, conn_vp = connector_speeds(modes)

    def add_edge(u, v, *, length_m, time_s, mode, kind, link_id, project, status="existing", geometry=None,
                 speed_kph=None, highway=None, both=False, time_peak_s=None, speed_peak_kph=None, area=None):
        attrs = {"length": float(length_m), "travel_time": float(time_s), "mode": mode, "kind": kind,
                 "link_id": link_id, "project": project, "status": status,
                 "travel_time_peak": float(time_s if time_peak_s is None else time_peak_s)}
        if speed_kph is not None:
            attrs["speed_kph"] = float(speed_kph)
            attrs["speed_peak_kph"] = float(speed_kph if speed_peak_kph is None else speed_peak_kph)
        if highway is not None:
            attrs["highway"] = highway
        if area:
            attrs["area"] = area
        if geometry is not None:
            attrs["geometry"] = geometry
        G.add_edge(u, v, **attrs)
        if both:
            back = dict(attrs)
            if geometry is not None:
                back["geometry"] = LineString(list(geometry.coords)[::-1])
            G.add_edge(v, u, **back)

    def add_node(n, lon, lat, **attrs):
        if n not in G:
            G.add_node(n, x=float(lon), y=float(lat), **attrs)
            coords[n] = (float(lon), float(lat))

    # ---------------------------------------------------------------- road layer
    if road_graph is not None:
        # An OSMnx graph (tx_transport.osm) as the road layer. Speeds follow tx_transport.osm.edge_speed_kph
        # with this bundle's modes.yaml (class design speed, or a posted maxspeed, × operating factor);
        # speed_kph/travel_time already on the graph are not used, so every road is timed by one rule.
        # Expressways are entered only through the graph's own motorway_link edges: the ramp toll is added
        # once per ramp traversal, on link edges that touch a local (non-motorway) road; links between two
        # motorways (junctions) carry none. Node ids are kept (OSM ids, int; digit strings become int).
        from .errors import QueryError
        from .osm import _edge_length_m, edge_speed_kph, normalise_highway

        classes = modes["road"]["classes"]
        default_hw = modes["road"]["default_class"]
        # linear in the graph: one pass over nodes and edges, class and speed rules cached per distinct tag value
        nd = list(road_graph.nodes(data=True))
        nid = {n: (int(n) if isinstance(n, str) and n.lstrip("-").isdigit() else n) for n, _ in nd}
        try:
            xs = np.array([d["x"] for _, d in nd], dtype=float)
            ys = np.array([d["y"] for _, d in nd], dtype=float)
            bad = ~((xs >= -180.0) & (xs <= 180.0) & (ys >= -90.0) & (ys <= 90.0))
        except (KeyError, TypeError, ValueError):
            bad = None
        if bad is None or bad.any():
            for n, d in nd:  # find and name the first bad node
                try:
                    x, y = float(d["x"]), float(d["y"])
                except (KeyError, TypeError, ValueError):
                    raise QueryError(f"road graph node {n!r} has no numeric x/y; give an OSMnx graph with lon/lat x, y "
                                     f"(EPSG:4326)") from None
                if not (-180.0 <= x <= 180.0 and -90.0 <= y <= 90.0):
                    raise QueryError(f"road graph node {n!r} has x={x}, y={y}, not lon/lat degrees; give the graph in "
                                     f"EPSG:4326 (e.g. osmnx.project_graph(G, to_latlong=True))")
        new_nodes: dict[Any, tuple[float, float]] = {}
        for (n, _), x, y in zip(nd, xs.tolist(), ys.tolist()):
            new_nodes.setdefault(nid[n], (x, y))  # the first of two ids that map to one (e.g. "7" and 7) wins
        G.add_nodes_from((n, {"x": x, "y": y, "layer": "road"}) for n, (x, y) in new_nodes.items())
        coords.update(new_nodes)
        edges = list(road_graph.edges(keys=True, data=True))
        hw_cache: dict[Any, str] = {}

        def road_class(raw: Any) -> str:
            try:
                return hw_cache[raw]
            except KeyError:
                pass
            except TypeError:  # a list (unhashable): not cached
                hw = normalise_highway(raw)
                return hw if hw in classes else default_hw
            hw = normalise_highway(raw)
            hw_cache[raw] = hw = hw if hw in classes else default_hw
            return hw

        hws = [road_class(d.get("highway")) for _, _, _, d in edges]
        local_nodes: set[Any] = set()
        for (u, v, _, _), hw in zip(edges, hws):
            if hw == "motorway":
                motorway_nodes.update((nid[u], nid[v]))
            elif hw != "motorway_link":
                local_nodes.update((nid[u], nid[v]))
        speed_cache: dict[tuple[str, Any], float] = {}
        keys: dict[tuple[Any, Any], int] = {}
        # the urban area of every edge (its midpoint; expressways keep their class speeds), vectorised
        ex = np.array([(coords[nid[u]][0] + coords[nid[v]][0]) / 2 for u, v, _, _ in edges], dtype=float)
        ey = np.array([(coords[nid[u]][1] + coords[nid[v]][1]) / 2 for u, v, _, _ in edges], dtype=float)
        e_area = urban_area_of(ex, ey, b.urban_areas) if len(edges) else []

        def road_edges():
            for (u, v, k, d), hw, area in zip(edges, hws, e_area):
                ms = d.get("maxspeed")
                try:
                    speed = speed_cache[(hw, ms)]
                except KeyError:
                    speed = speed_cache[(hw, ms)] = edge_speed_kph(hw, ms, modes)
                except TypeError:  # a list of limits (unhashable)
                    speed = edge_speed_kph(hw, ms, modes)
                try:
                    length = float(d["length"])
                    if not (math.isfinite(length) and length >= 0):
                        raise ValueError
                except (KeyError, TypeError, ValueError):
                    length = _edge_length_m(road_graph, u, v, d)
                a, c = nid[u], nid[v]
                peak = speed * _peak_factor(modes, hw)
                area = area if not hw.startswith("motorway") else ""
                if area:
                    ac = areas_cfg[area]
                    speed, peak = min(speed, float(ac["free_flow_kmh"])), min(peak, float(ac["peak_kmh"]))
                tt = length / (speed / 3.6)
                tp = length / (peak / 3.6)
                if hw == "motorway_link" and (a in local_nodes or c in local_nodes):
                    tt += toll_s
                    tp += toll_s
                attrs = {"length": length, "travel_time": float(tt), "mode": "expressway" if hw.startswith("motorway") else "road",
                         "kind": "ramp" if hw == "motorway_link" else "road", "link_id": f"osm:{a}-{c}-{k}",
                         "project": "osm-roads", "status": "existing", "speed_kph": float(speed), "highway": hw,
                         "travel_time_peak": float(tp), "speed_peak_kph": float(peak)}
                if area:
                    attrs["area"] = area
                geom = d.get("geometry")
                if isinstance(geom, str):
                    import shapely

                    geom = shapely.from_wkt(geom)
                if geom is not None:
                    attrs["geometry"] = geom
                key = keys.get((a, c), 0)  # the key networkx would give: edges of a pair numbered 0, 1, ...
                keys[(a, c)] = key + 1
                yield a, c, key, attrs

        G.add_edges_from(road_edges())
    else:
        rn = b.road_nodes
        lon = rn.lon.to_numpy()
        lat = rn.lat.to_numpy()
        refs = rn["ref"].to_numpy() if "ref" in rn.columns else np.array([""] * len(rn))
        for nid, x, y, ref in zip(rn.index.to_numpy(), lon, lat, refs):
            nid = int(nid)
            G.add_node(nid, x=float(x), y=float(y), layer="road", **({"ref": ref} if ref else {}))
            coords[nid] = (float(x), float(y))
            if ref:
                ref_nodes[str(ref)] = nid
        e = b.road_edges
        active = (e.project.isin(sel.projects) | e.project.str.startswith("junction:")).to_numpy()
        eu, ev = e.u.to_numpy()[active], e.v.to_numpy()[active]
        mid_lon = (rn.lon.reindex(eu).to_numpy() + rn.lon.reindex(ev).to_numpy()) / 2
        mid_lat = (rn.lat.reindex(eu).to_numpy() + rn.lat.reindex(ev).to_numpy()) / 2
        e_area = urban_area_of(mid_lon, mid_lat, b.urban_areas)
        for u, v, length_km, hw, proj, area in zip(eu, ev, e.length_km.to_numpy()[active], e.highway.to_numpy()[active],
                                                   e.project.to_numpy()[active], e_area):
            spd_override = sel.speed_kmh.get(proj)
            design = None
            if proj in sel.corridor_design:
                design = sel.corridor_design[proj]
            speed = spd_override if spd_override is not None else _road_speed(modes, hw, design if hw == "motorway" else None)
            peak = speed * _peak_factor(modes, hw)
            area = area if hw not in ("motorway", "motorway_link") else ""
            if area and spd_override is None:
                a = areas_cfg[area]
                speed, peak = float(a["free_flow_kmh"]), float(a["peak_kmh"])
            tt = length_km * 3600.0 / speed
            tp = length_km * 3600.0 / peak
            if hw == "motorway_link" and not proj.startswith("junction:"):
                tt += toll_s
                tp += toll_s
            mode = "expressway" if hw in ("motorway", "motorway_link") else "road"
            add_edge(int(u), int(v), length_m=length_km * 1000.0, time_s=tt, mode=mode,
                     kind="ramp" if hw == "motorway_link" else "road", link_id=f"road:{u}-{v}", project=proj,
                     status=sel.status.get(proj, "existing"), speed_kph=speed, highway=hw, both=True,
                     time_peak_s=tp, speed_peak_kph=peak, area=area)
            if hw == "motorway":
                motorway_nodes.update((int(u), int(v)))
    snap = _Snapper(coords, motorway_nodes)
    node_project: dict[Any, str] = {}

    # ---------------------------------------------------------------- schematic expressways and trunk roads
    def chain(project: dict, hw: str, detour_default: float, is_expressway: bool) -> None:
        pid = project["id"]
        if pid not in sel.projects:
            return
        nodes = project["nodes"]
        ids = []
        for n in nodes:
            if is_expressway and n["id"] in ref_nodes:
                nid = ref_nodes[n["id"]]
            elif "place" in n:
                nid = f"place:{n['place']}"
            else:
                nid = f"x:{n['id']}"
            add_node(nid, n["lon"], n["lat"], layer="expressway" if is_expressway else "road", name=n.get("name_en", n["id"]))
            if isinstance(nid, str) and nid.startswith("x:"):
                node_project.setdefault(nid, pid)
            ids.append(nid)
        crow = [float(haversine_km(a["lat"], a["lon"], c["lat"], c["lon"])) for a, c in zip(nodes[:-1], nodes[1:])]
        total = sum(crow)
        factor = (project["length_km"] / total) if project.get("length_km") and total > 0 else detour_default
        design = project.get("design_speed_kmh")
        speed = sel.speed_kmh.get(pid) or _road_speed(modes, hw, design)
        peak = speed * _peak_factor(modes, hw)
        for k, (a, c, d_km) in enumerate(zip(ids[:-1], ids[1:], crow)):
            length_km = max(d_km * factor, 0.01)
            geom = LineString([coords[a], coords[c]])
            add_edge(a, c, length_m=length_km * 1000, time_s=length_km * 3600 / speed, mode="expressway" if is_expressway else "road",
                     kind="road", link_id=f"{pid}:{k}", project=pid, status=project["status"], geometry=geom,
                     speed_kph=speed, highway=hw, both=True, time_peak_s=length_km * 3600 / peak, speed_peak_kph=peak)
            if is_expressway:
                motorway_nodes.update((a, c))
        for n, nid in zip(nodes, ids):
            lon, lat = coords[nid]
            if is_expressway:
                if isinstance(nid, int):
                    continue  # joined onto a traced corridor's interchange/junction
                kind = n.get("kind", "interchange")
                if kind == "interchange":
                    hit = snap.nearest(lon, lat, motorway=False)
                    if hit is not None:
                        tgt, dist = hit
                        length = max(dist * 1.2, 0.3)
                        rv = _road_speed(modes, "motorway_link")
                        add_edge(nid, tgt, length_m=length * 1000, time_s=length * 3600 / rv + toll_s,
                                 time_peak_s=length * 3600 / (rv * _peak_factor(modes, "motorway_link")) + toll_s,
                                 mode="expressway", kind="ramp", link_id=f"{pid}:ramp:{n['id']}", project=pid,
                                 status=project["status"], highway="motorway_link", both=True)
                else:
                    hit = snap.nearest(lon, lat, motorway=True)
                    if hit is not None and hit[1] <= 3.0:
                        tgt, dist = hit
                        length = max(dist * 1.2, 0.3)
                        rv = _road_speed(modes, "motorway_link")
                        add_edge(nid, tgt, length_m=length * 1000, time_s=length * 3600 / rv,
                                 time_peak_s=length * 3600 / (rv * _peak_factor(modes, "motorway_link")),
                                 mode="expressway", kind="ramp", link_id=f"{pid}:jct:{n['id']}", project=pid,
                                 status=project["status"], highway="motorway_link", both=True)
            elif not str(nid).startswith("place:"):
                hit = snap.nearest(lon, lat, motorway=False)
                if hit is not None:
                    tgt, dist = hit
                    length = max(dist * float(modes["road"]["connector_detour"]), 0.05)
                    add_edge(nid, tgt, length_m=length * 1000, time_s=length * 3600 / conn_v, time_peak_s=length * 3600 / conn_vp,
                             mode="road", kind="connector", link_id=f"{pid}:conn:{n['id']}", project=pid,
                             status=project["status"], both=True)

    sd = float(modes["road"].get("schematic_detour", 1.2))
    for c in b.corridors:
        if c.get("geometry") == "schematic":
            chain(c, "motorway", sd, True)
    plan_classes = modes["road"]["plan_classes"]
    for t in b.trunk_links:
        chain(t, plan_classes[t["road_class"]], sd, False)
    snap = _Snapper(coords, motorway_nodes)  # trunk-road waypoints are now snappable too

    # ---------------------------------------------------------------- places
    det = float(modes["road"]["connector_detour"])
    road_cfg = modes["road"]
    sectors = int(road_cfg.get("connector_sectors") or 0)
    max_km = float(road_cfg.get("connector_max_km", 5.0))
    place_area = dict(zip(b.places.index, urban_area_of(b.places.lon.to_numpy(), b.places.lat.to_numpy(), b.urban_areas)))
    for pid, p in b.places.iterrows():
        n = f"place:{pid}"
        add_node(n, p.lon, p.lat, place=pid, kind=p.kind, name=p.name_en, layer="place")
        # inside an urban core the local roads run no faster than the core's network speeds
        pa = areas_cfg.get(place_area[pid]) if place_area[pid] else None
        cv = min(conn_v, float(pa["free_flow_kmh"])) if pa else conn_v
        cvp = min(conn_vp, float(pa["peak_kmh"])) if pa else conn_vp
        G.nodes[n].update(place=pid, kind=p.kind, name=p.name_en)
        # The main-road layer has no local streets: a place reaches main-road nodes over local roads
        # (straight line × connector_detour at the connector speed): the nearest node in each compass
        # sector within connector_max_km (always the nearest node), or the k nearest (connector_count).
        targets = (snap.sector_nearest(p.lon, p.lat, sectors, max_km) if sectors
                   else snap.k_nearest(p.lon, p.lat, int(road_cfg.get("connector_count", 3)), max_km))
        for tgt, dist in targets:
            length = max(dist * det, 0.05)
            # a connector to a planned link's own node exists only when that link is in service
            owner = node_project.get(tgt, "osm-roads")
            add_edge(n, tgt, length_m=length * 1000, time_s=length * 3600 / cv, time_peak_s=length * 3600 / cvp,
                     mode="road", kind="connector", link_id=f"connector:{pid}:{tgt}", project=owner, both=True,
                     speed_kph=cv, speed_peak_kph=cvp, area=place_area[pid] or None)

    # ---------------------------------------------------------------- waterways
    wcfg = modes.get("waterway", {})
    port_s = float(wcfg.get("port_transfer_min", 0)) * 60
    lock_s = float(wcfg.get("lock_min", 0)) * 60
    for ch in b.channels:
        cid = ch["id"]
        if cid not in sel.projects:
            continue
        speed = sel.speed_kmh.get(cid) or float(wcfg["classes"][ch["waterway_class"]]["speed_kmh"])
        nodes = ch["nodes"]
        wid = [f"w:{n['id']}" for n in nodes]
        for n, w in zip(nodes, wid):
            add_node(w, n["lon"], n["lat"], layer="waterway", name=n.get("name_en", n["id"]))
            if "place" in n and b.places.loc[n["place"], "kind"] == "port":
                add_edge(f"place:{n['place']}", w, length_m=0, time_s=port_s, mode="waterway", kind="port_transfer",
                         link_id=f"port:{cid}:{n['place']}", project=cid, both=True)
        nseg = max(len(nodes) - 1, 1)
        for k, (a, c, na, nc) in enumerate(zip(wid[:-1], wid[1:], nodes[:-1], nodes[1:])):
            length_km = float(haversine_km(na["lat"], na["lon"], nc["lat"], nc["lon"])) * ch["sinuosity"]
            t = length_km * 3600 / speed + lock_s * ch["locks"] / nseg
            add_edge(a, c, length_m=length_km * 1000, time_s=t, mode="waterway", kind="waterway", link_id=f"{cid}:{k}",
                     project=cid, status=ch["status"], geometry=LineString([(na["lon"], na["lat"]), (nc["lon"], nc["lat"])]),
                     speed_kph=speed, both=True)
    return G


__all__ = ["build_graph", "ALWAYS_ON_PROJECTS"]
