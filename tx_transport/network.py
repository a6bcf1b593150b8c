"""The :class:`Network`: a validated bundle plus its queries (graphs, routes, tables, isochrones)."""

from __future__ import annotations

import difflib
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
from shapely.geometry import LineString

from .errors import QueryError, UnreachableError
from .geo import WGS84, haversine_km
from .graph import build_graph
from .io import Bundle, read_bundle
from .isochrones import isochrone_polygons
from .kernel import EPS_S, CompiledGraph, EdgeTable, override_time_s, profile_graph, profile_weight
from .scenario import ScenarioSelection, resolve_scenario

Origin = str | tuple[float, float]

def _in_scenario(d: dict[str, Any], sel: ScenarioSelection) -> dict[str, Any]:
    """Edge attributes ``d`` as the scenario runs them: a re-speeded project gets the time (and
    speed) that the kernel uses (:func:`~tx_transport.kernel.override_time_s`)."""
    p = d.get("project", "")
    if p not in sel.speed_kmh:
        return d
    out = {**d, "travel_time": override_time_s(d["kind"], d["travel_time"], d["length"], sel.speed_kmh[p], d.get("speed_kph"),
                                               d.get("accel_ms2", np.nan), d.get("decel_ms2", np.nan), d.get("supplement", 1.0))}
    if d["kind"] in ("road", "waterway", "rail_run"):
        out["speed_kph"] = float(sel.speed_kmh[p])
    return out


_LEG_MODE = {"road": "road", "expressway": "expressway", "rail": "rail", "waterway": "waterway", "transfer": "station"}


@dataclass
class Route:
    """A shortest route.

    Attributes
    ----------
    origin, target : str
        Place ids (or ``"lon,lat"`` for snapped points).
    scenario, profile : str
    time_min : float
        Travel time in minutes.
    length_km : float
        Length in km (station and transfer time adds no length).
    legs : pandas.DataFrame
        One row per leg (consecutive edges of the same mode): ``mode``, ``from_node``,
        ``to_node``, ``from_name``, ``to_name``, ``time_min``, ``length_km``, ``projects``.
    geometry : shapely.LineString
        The path in EPSG:4326.
    nodes : list
        The node ids of the path in the scenario graph.
    """

    origin: str
    target: str
    scenario: str
    profile: str
    time_min: float
    length_km: float
    legs: pd.DataFrame
    geometry: LineString
    nodes: list[Hashable] = field(repr=False)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable summary (geometry as WKT)."""
        return {
            "origin": self.origin, "target": self.target, "scenario": self.scenario, "profile": self.profile,
            "time_min": round(self.time_min, 2), "length_km": round(self.length_km, 2),
            "legs": [{k: (round(v, 2) if isinstance(v, float) else v) for k, v in r.items()}
                     for r in self.legs.to_dict("records")],
            "geometry_wkt": self.geometry.wkt,
        }


class Network:
    """A validated transport network bundle and the queries on it.

    Create it with :func:`tx_transport.load_network`. Public tables (all EPSG:4326):

    - ``places``: GeoDataFrame indexed by place id: ``name_en``, ``name_zh``, ``kind``, ``lat``,
      ``lon``, ``population``, ``coord_source``, ``coord_status``, ``geometry`` (Point).
    - ``links``: GeoDataFrame of every road, expressway, rail and waterway link: ``link_id``,
      ``project``, ``mode``, ``link_class``, ``length_km``, ``speed_kmh``, ``lanes``, ``status``,
      ``opened``, ``plan_year``, ``name_en``, ``geometry_kind``, ``source``, ``geometry``.
    - ``projects``: DataFrame indexed by project id (mode, names, status, opened, plan_year,
      published length, source).
    - ``boundaries``: GeoDataFrame indexed by adcode (``name_en``, ``name_zh``, ``level``).
    - ``scenarios``: dict scenario name -> one-line description.
    - ``profiles``: dict profile name -> description.
    """

    def __init__(self, bundle: Bundle, road_graph: nx.MultiDiGraph | None = None) -> None:
        self._b = bundle
        self._road_graph = road_graph
        self._compiled: dict[tuple[str, str], CompiledGraph] = {}
        self._selection_cache: dict[tuple[Any, ...], CompiledGraph] = {}

    # ------------------------------------------------------------------ public tables
    @property
    def path(self) -> Path:
        """The bundle folder this network was read from."""
        return self._b.path

    @cached_property
    def places(self) -> gpd.GeoDataFrame:
        p = self._b.places.copy()
        return gpd.GeoDataFrame(p, geometry=gpd.points_from_xy(p.lon, p.lat), crs=WGS84)

    @property
    def projects(self) -> pd.DataFrame:
        return self._b.projects.copy()

    @property
    def boundaries(self) -> gpd.GeoDataFrame:
        return self._b.boundaries.copy()

    @property
    def scenarios(self) -> dict[str, str]:
        return {k: str(v.get("description", "")) for k, v in self._b.scenarios.items()}

    @property
    def profiles(self) -> dict[str, str]:
        return {k: str(v.get("description", "")) for k, v in self._b.profiles.items()}

    @property
    def goals(self) -> dict[str, Any]:
        """The goals section of the bundle (``goals.yaml``), as parsed."""
        return self._b.goals

    @property
    def modes(self) -> dict[str, Any]:
        """The mode rules (``modes.yaml``), as parsed."""
        return self._b.modes

    @cached_property
    def links(self) -> gpd.GeoDataFrame:
        et = self._edges
        G = self._full_graph
        pr = self._b.projects
        m = np.isin(et.kind.astype(str), ["road", "waterway"])
        idx = np.flatnonzero(m)
        u, v = et.u[idx], et.v[idx]
        # one row per undirected link: keep the direction with u < v (or the first seen)
        key = pd.DataFrame({"a": np.minimum(u, v), "b": np.maximum(u, v), "p": et.project[idx].astype(str)})
        keep = ~key.duplicated().values
        idx, u, v = idx[keep], u[keep], v[keep]
        edges = list(G.edges(data=True))
        hw = np.array([edges[i][2].get("highway", edges[i][2]["kind"]) for i in idx], dtype=object)
        speed = np.array([edges[i][2].get("speed_kph", np.nan) for i in idx], dtype=float)
        link_id = np.array([edges[i][2]["link_id"] for i in idx], dtype=object)
        mode = np.where(et.mode[idx] == "expressway", "expressway", np.where(et.kind[idx] == "waterway", "waterway", "road"))
        geoms = []
        for i, a, b in zip(idx, u, v):
            g = edges[i][2].get("geometry")
            geoms.append(g if g is not None else LineString([(et.lon[a], et.lat[a]), (et.lon[b], et.lat[b])]))
        df = pd.DataFrame({
            "link_id": link_id, "project": et.project[idx].astype(str), "mode": mode, "link_class": hw,
            "length_km": et.length_m[idx] / 1000.0, "speed_kmh": speed,
            "from_node": [str(et.nodes[a]) for a in u], "to_node": [str(et.nodes[b]) for b in v],
        })
        meta = pr[["status", "opened", "plan_year", "name_en", "geometry", "source", "lanes"]].rename(columns={"geometry": "geometry_kind"})
        df = df.join(meta, on="project")
        rows = []
        rgeoms = []
        for line in self._b.rail_lines:
            ids = line["station_ids"]
            for k, (a, c) in enumerate(zip(ids[:-1], ids[1:])):
                g = self._b.rail_geometry.get((line["id"], a, c)) if line.get("geometry") == "osm-traced" else None
                if g is None:
                    pa, pc = self._b.places.loc[a], self._b.places.loc[c]
                    g = LineString([(pa.lon, pa.lat), (pc.lon, pc.lat)])
                rows.append({"link_id": f"{line['id']}:{a}-{c}", "project": line["id"], "mode": "rail", "link_class": line["rail_class"],
                             "length_km": float(line["segment_km"][k]), "speed_kmh": float(line["operating_speed_kmh"]),
                             "from_node": f"place:{a}", "to_node": f"place:{c}"})
                rgeoms.append(g)
        rail = pd.DataFrame(rows).join(meta, on="project")
        cols = ["link_id", "project", "mode", "link_class", "length_km", "speed_kmh", "lanes", "status", "opened", "plan_year", "name_en",
                "geometry_kind", "source", "from_node", "to_node"]
        out = gpd.GeoDataFrame(pd.concat([df[cols], rail[cols]], ignore_index=True), geometry=geoms + rgeoms, crs=WGS84)
        return out

    @cached_property
    def _road_tree(self):
        """Nearest-node look-ups over the road layer (:class:`tx_transport.zones.NodeTree`)."""
        from .zones import NodeTree

        et = self._edges
        return NodeTree(et.lon, et.lat, et.road_node)

    @cached_property
    def _local_road_tree(self):
        """Nearest-node look-ups over local roads: road-layer nodes on a non-motorway road edge
        (where :func:`tx_transport.zones.join_points` joins points; not onto a motorway)."""
        from .zones import NodeTree

        et = self._edges
        local = np.zeros(len(et.nodes), dtype=bool)
        on_road = et.sample & (et.kind == "road")
        local[et.u[on_road]] = True
        local[et.v[on_road]] = True
        return NodeTree(et.lon, et.lat, et.road_node & local)

    @cached_property
    def _node_index(self) -> dict[Hashable, int]:
        return {n: i for i, n in enumerate(self._edges.nodes)}

    def __repr__(self) -> str:
        return (f"<Network {self.path.name!r}: {len(self._b.places)} places, {len(self._b.projects)} projects, "
                f"scenarios {list(self.scenarios)}>")

    # ------------------------------------------------------------------ graphs
    @cached_property
    def _all_selection(self) -> ScenarioSelection:
        from .scenario import ScenarioSelection as S

        return S("all-projects", frozenset(self._b.projects.index), {}, dict(self._b.projects.status),
                 {c["id"]: float(c["design_speed_kmh"]) for c in self._b.corridors})

    @cached_property
    def _full_graph(self) -> nx.MultiDiGraph:
        return build_graph(self._b, self._all_selection, self._road_graph)

    @cached_property
    def _edges(self) -> EdgeTable:
        return EdgeTable.from_graph(self._full_graph)

    def selection(self, scenario: str | None = None) -> ScenarioSelection:
        """The resolved scenario (projects in service, speed overrides)."""
        return resolve_scenario(self._b, self._scenario_name(scenario))

    def _scenario_name(self, scenario: str | None) -> str:
        if scenario is None:
            return next(iter(self._b.scenarios))
        if scenario not in self._b.scenarios:
            raise QueryError(f"unknown scenario {scenario!r}; valid scenarios: {', '.join(self._b.scenarios)}")
        return scenario

    def _profile(self, profile: str) -> dict[str, Any]:
        if profile not in self._b.profiles:
            raise QueryError(f"unknown profile {profile!r}; valid profiles: {', '.join(self._b.profiles)}")
        return self._b.profiles[profile]

    def graph(self, scenario: str | None = None, profile: str | None = None) -> nx.MultiDiGraph:
        """The scenario graph as a ``networkx.MultiDiGraph`` (OSMnx conventions).

        Parameters
        ----------
        scenario : str, optional
            Scenario name (default: the first in ``scenarios.yaml``).
        profile : str, optional
            If given, only the edges usable under that profile, with ``travel_time`` (s) as the
            profile costs them; otherwise every mode, with base times.
        """
        prof = self._profile(profile) if profile is not None else None
        sel = self.selection(scenario)
        G = self._full_graph
        H = nx.MultiDiGraph(**{**G.graph, "scenario": sel.name, "name": f"tx-transport {sel.name}" + (f" ({profile})" if profile else "")})
        H.add_nodes_from(G.nodes(data=True))
        for u, v, k, d in G.edges(keys=True, data=True):
            p = d.get("project", "")
            if p in sel.projects or str(p).startswith("junction:"):
                H.add_edge(u, v, k, **_in_scenario(d, sel))
        if sel.speed_kmh:
            H.graph["speed_overrides_kmh"] = dict(sel.speed_kmh)
        if prof is not None:
            H = profile_graph(H, prof)
        H.remove_nodes_from([n for n in list(H.nodes) if H.degree(n) == 0 and not str(n).startswith("place:")])
        return H

    def compiled(self, scenario: str | None = None, profile: str = "car", *,
                 selection: ScenarioSelection | None = None) -> CompiledGraph:
        """The compiled kernel for a scenario and profile (cached).

        ``selection`` lets the comparison code compile a modified project set without a
        scenario entry; it is not cached.
        """
        prof = self._profile(profile)
        if selection is not None:
            skey = (frozenset(selection.projects), tuple(sorted(selection.speed_kmh.items())), profile)
            hit = self._selection_cache.get(skey)
            if hit is None:
                hit = self._edges.compile(selection.projects, prof, selection.speed_kmh, selection.name, profile)
                if len(self._selection_cache) >= 64:
                    self._selection_cache.pop(next(iter(self._selection_cache)))
                self._selection_cache[skey] = hit
            return hit
        name = self._scenario_name(scenario)
        key = (name, profile)
        if key not in self._compiled:
            sel = self.selection(name)
            self._compiled[key] = self._edges.compile(sel.projects, prof, sel.speed_kmh, name, profile)
        return self._compiled[key]

    # ------------------------------------------------------------------ origin resolution
    def _place_error(self, pid: str) -> QueryError:
        close = difflib.get_close_matches(pid, list(self._b.places.index), n=3)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        return QueryError(f"unknown place {pid!r}.{hint} Valid place ids: {', '.join(self._b.places.index)}")

    def _resolve(self, o: Origin, profile: str) -> tuple[str, Hashable]:
        if isinstance(o, str):
            if o not in self._b.places.index:
                raise self._place_error(o)
            return o, f"place:{o}"
        try:
            lon, lat = float(o[0]), float(o[1])
        except (TypeError, ValueError, IndexError):
            raise QueryError(f"origin {o!r} is neither a place id nor a (lon, lat) pair") from None
        a = self._b.area
        if not (a["min_lat"] <= lat <= a["max_lat"] and a["min_lon"] <= lon <= a["max_lon"]):
            raise QueryError(f"point (lon {lon}, lat {lat}) is outside the network area; give (lon, lat) in WGS84 degrees")
        use = set(self._profile(profile)["use"])
        if "road" in use:  # the nearest road-layer node (a KD-tree, built once per network)
            pos, _ = self._road_tree.nearest(np.array([lon]), np.array([lat]))
            return f"{lon:.5f},{lat:.5f}", self._edges.nodes[int(pos[0])]
        if "rail_run" in use:  # the places some rail line stops at (in any scenario)
            stops = {s for line in self._b.rail_lines for s in line["station_ids"]}
            pl = self._b.places[self._b.places.index.isin(sorted(stops))]
        elif "waterway" in use:
            pl = self._b.places[self._b.places.kind == "port"]
        else:
            pl = self._b.places
        d = haversine_km(lat, lon, pl.lat.values, pl.lon.values)
        pid = str(pl.index[int(np.argmin(d))])
        return pid, f"place:{pid}"

    def _idx(self, cg: CompiledGraph, nodes: Sequence[Hashable]) -> np.ndarray:
        if cg.nodes is self._edges.nodes:
            ni = self._node_index
            return np.array([ni[n] for n in nodes], dtype=np.int64)
        return cg.index_of(nodes)

    # ------------------------------------------------------------------ queries
    def travel_times(self, origins: Iterable[Origin] | Origin | None = None, destinations: Iterable[Origin] | Origin | None = None,
                     *, scenario: str | None = None, profile: str = "car", cutoff_min: float | None = None) -> pd.DataFrame:
        """Travel-time table in minutes.

        Parameters
        ----------
        origins, destinations : place id, (lon, lat) or a list of them; default every place.
        scenario : str, optional
        profile : str, default ``"car"``
        cutoff_min : float, optional
            Stop searching beyond this many minutes (faster); pairs beyond are NaN.

        Returns
        -------
        pandas.DataFrame
            Minutes, origins as index, destinations as columns. **NaN means unreachable** under
            the scenario and profile (e.g. a town in the ``rail`` profile, or beyond the cutoff).
        """
        cg = self.compiled(scenario, profile)
        o_list = self._as_list(origins)
        d_list = self._as_list(destinations)
        o_res = [self._resolve(o, profile) for o in o_list]
        d_res = [self._resolve(d, profile) for d in d_list]
        src = self._idx(cg, [n for _, n in o_res])
        dst = self._idx(cg, [n for _, n in d_res])
        limit = np.inf if cutoff_min is None else cutoff_min * 60.0
        dist = cg.dijkstra(src, limit_s=limit)
        tab = dist[:, dst] / 60.0
        tab[~np.isfinite(tab)] = np.nan
        df = pd.DataFrame(tab, index=[k for k, _ in o_res], columns=[k for k, _ in d_res])
        df.index.name = "origin"
        df.columns.name = "destination"
        return df

    def _as_list(self, x: Iterable[Origin] | Origin | None) -> list[Origin]:
        if x is None:
            return list(self._b.places.index)
        if isinstance(x, str) or (isinstance(x, tuple) and len(x) == 2 and not isinstance(x[0], str)):
            return [x]  # type: ignore[list-item]
        return list(x)  # type: ignore[arg-type]

    def route(self, from_id: Origin, to_id: Origin, *, scenario: str | None = None, profile: str = "car") -> Route:
        """The fastest route between two places (or points) with its legs by mode.

        Raises
        ------
        QueryError
            Unknown place, scenario or profile.
        UnreachableError
            No path under the scenario and profile (the message says why, e.g. a town in the
            ``rail`` profile, or a line not yet in service).
        """
        name = self._scenario_name(scenario)
        cg = self.compiled(name, profile)
        (o_key, o_node), (t_key, t_node) = self._resolve(from_id, profile), self._resolve(to_id, profile)
        s, t = self._idx(cg, [o_node, t_node])
        dist, pred = cg.dijkstra(np.array([s]), return_predecessors=True)
        if not np.isfinite(dist[0, t]):
            raise UnreachableError(self._unreachable_msg(o_key, t_key, name, profile, cg, s, t))
        path_idx = [int(t)]
        while path_idx[-1] != s:
            path_idx.append(int(pred[0, path_idx[-1]]))
        path_idx.reverse()
        nodes = [cg.nodes[i] for i in path_idx]
        return self._route_from_nodes(o_key, t_key, name, profile, nodes)

    def _unreachable_msg(self, o: str, t: str, scenario: str, profile: str, cg: CompiledGraph, s: int, tgt: int) -> str:
        out_deg = np.diff(cg.indptr)
        in_deg = np.bincount(cg.indices, minlength=len(cg.nodes))
        why = ""
        if out_deg[s] == 0:
            why = f" {o!r} has no {profile} access (profile {profile!r}: {self.profiles[profile]})"
        elif in_deg[tgt] == 0:
            why = f" {t!r} has no {profile} access (profile {profile!r}: {self.profiles[profile]})"
        return (f"no path from {o!r} to {t!r} in scenario {scenario!r} with profile {profile!r}.{why} "
                f"Try another profile or scenario.")

    def _route_from_nodes(self, o_key: str, t_key: str, scenario: str, profile: str, nodes: list[Hashable]) -> Route:
        G = self._full_graph
        prof = self._profile(profile)
        sel = self.selection(scenario)
        cg = self.compiled(scenario, profile)
        idx = self._node_index if cg.nodes is self._edges.nodes else {n: i for i, n in enumerate(cg.nodes)}
        # edge times exactly as compiled (speed overrides applied)
        mat = cg.matrix
        legs: list[dict[str, Any]] = []
        coords: list[tuple[float, float]] = []
        total_t = 0.0
        total_l = 0.0
        refunded = False
        for a, c in zip(nodes[:-1], nodes[1:]):
            w = float(mat[idx[a], idx[c]]) - 0.0
            best = None
            best_w = np.inf
            for _, d in G.get_edge_data(a, c).items():
                p = d.get("project", "")
                if not (p in sel.projects or str(p).startswith("junction:")) or d["kind"] not in prof["use"]:
                    continue
                d = _in_scenario(d, sel)
                dw = profile_weight(d, prof)
                if dw is not None and dw < best_w:
                    best, best_w = d, dw
            assert best is not None
            if best["kind"] == "rail_board" and cg.board_once_penalty_s > 0 and not refunded:
                w -= cg.board_once_penalty_s
                refunded = True
            mode = _LEG_MODE[best["mode"]]
            t_min = max(w - EPS_S, 0.0) / 60.0
            l_km = best["length"] / 1000.0
            total_t += t_min
            total_l += l_km
            g = best.get("geometry")
            seg = list(g.coords) if g is not None else [(G.nodes[a]["x"], G.nodes[a]["y"]), (G.nodes[c]["x"], G.nodes[c]["y"])]
            coords += seg if not coords else seg[1:]
            if legs and legs[-1]["mode"] == mode:
                legs[-1].update(to_node=str(c), time_min=legs[-1]["time_min"] + t_min, length_km=legs[-1]["length_km"] + l_km)
                if best.get("project") and best["project"] not in legs[-1]["projects"]:
                    legs[-1]["projects"].append(best["project"])
            else:
                legs.append({"mode": mode, "from_node": str(a), "to_node": str(c), "time_min": t_min, "length_km": l_km,
                             "projects": [best["project"]] if best.get("project") else []})
        for leg in legs:
            leg["from_name"] = self._node_name(leg["from_node"])
            leg["to_name"] = self._node_name(leg["to_node"])
            leg["projects"] = ",".join(leg["projects"])
        df = pd.DataFrame(legs, columns=["mode", "from_node", "to_node", "from_name", "to_name", "time_min", "length_km", "projects"])
        geom = LineString(coords) if len(coords) >= 2 else LineString([coords[0], coords[0]]) if coords else LineString()
        return Route(o_key, t_key, scenario, profile, total_t, total_l, df, geom, nodes)

    def _node_name(self, node: str) -> str:
        G = self._full_graph
        key: Any = int(node) if node.lstrip("-").isdigit() else node
        d = G.nodes.get(key, {})
        if "place" in d:
            return str(self._b.places.loc[d["place"], "name_en"])
        if d.get("ref"):
            return self._interchange_names.get(d["ref"], str(d["ref"]))
        if "name" in d:
            return str(d["name"])
        return f"road node {node}" if d.get("layer") == "road" else str(node)

    @cached_property
    def _interchange_names(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for c in self._b.corridors:
            for n in c["nodes"]:
                out.setdefault(n["id"], f"{n.get('name_en', n['id'])} {'junction' if n.get('kind') == 'junction' else 'interchange'}")
        return out

    def reachable(self, origins: Iterable[Origin] | Origin, cutoff_min: float, *, scenario: str | None = None,
                  profile: str = "car") -> gpd.GeoDataFrame:
        """Places reachable within ``cutoff_min`` minutes from any of ``origins``.

        Returns a GeoDataFrame of places (index: place id) with ``time_min`` (the earliest
        arrival over the origins) and ``origin`` (the origin that reaches it first).
        """
        tab = self.travel_times(origins, None, scenario=scenario, profile=profile, cutoff_min=cutoff_min)
        best = tab.min(axis=0)
        ok = (best <= cutoff_min).values
        reached = tab.loc[:, ok]
        out = self.places.loc[reached.columns].copy()
        out["time_min"] = best[ok].values
        out["origin"] = reached.idxmin(axis=0).values if reached.shape[1] else []
        return out.sort_values("time_min", kind="stable")

    def isochrones(self, origins: Iterable[Origin] | Origin, cutoffs: Sequence[float] = (15, 30, 45, 60), *,
                   scenario: str | None = None, profile: str = "car", buffer_m: float = 1000.0,
                   resolution_m: float = 250.0) -> gpd.GeoDataFrame:
        """Nested isochrone polygons from one or several origins.

        Parameters
        ----------
        origins : place id, (lon, lat) or a list of them
            With several origins, a point is reached when any origin reaches it in time.
        cutoffs : sequence of float, default (15, 30, 45, 60)
            Band limits in minutes.
        scenario, profile : str
        buffer_m : float, default 1000
            Area within this distance (m) of a reached road (or reached station/place) counts.
        resolution_m : float, default 250
            Grid size (m) of the time surface the bands are contoured from.

        Returns
        -------
        geopandas.GeoDataFrame
            ``cutoff_min``, ``area_km2``, ``geometry`` (EPSG:4326), one row per cutoff, each band
            containing the smaller ones. See :mod:`tx_transport.isochrones` for the method.
        """
        try:
            cut = [float(c) for c in cutoffs]
        except (TypeError, ValueError):
            raise QueryError(f"cutoffs must be minutes, got {cutoffs!r}") from None
        if not cut or not all(np.isfinite(c) and c > 0 for c in cut):
            raise QueryError(f"cutoffs must be one or more positive, finite minutes, got {cutoffs!r}")
        cg = self.compiled(scenario, profile)
        res = [self._resolve(o, profile) for o in self._as_list(origins)]
        src = self._idx(cg, [n for _, n in res])
        limit = max(cut) * 60.0
        dist = cg.dijkstra(src, limit_s=limit, min_only=True)
        gdf = isochrone_polygons(cg, np.asarray(dist), cut, buffer_m=buffer_m, resolution_m=resolution_m)
        gdf.attrs.update(origins=[k for k, _ in res], scenario=self._scenario_name(scenario), profile=profile)
        return gdf

    def with_road_graph(self, G: nx.MultiDiGraph) -> Network:
        """A copy of this network whose road layer is an OSMnx graph ``G`` (EPSG:4326,
        ``highway`` and ``length`` on edges), e.g. from :func:`tx_transport.osm.road_graph_from_xml`.

        Edge speeds are recomputed from ``highway`` and ``maxspeed`` with the bundle's
        ``modes.yaml`` (:func:`tx_transport.osm.chinese_speed_table`); expressway access follows
        the graph's own ``motorway_link`` edges, with the ramp toll once per ramp. The planned
        links, places, rail and waterways of the bundle are kept: every place is joined to its
        nearest nodes of ``G`` (a place outside ``G``'s area joins the nearest node, so its car
        times are not meaningful).
        """
        crs = G.graph.get("crs")
        if crs is not None:
            from pyproj import CRS

            if CRS.from_user_input(crs).to_epsg() != 4326:
                raise QueryError(f"the road graph is in {crs}; give it in EPSG:4326 (e.g. osmnx.project_graph(G, to_latlong=True))")
        return Network(self._b, road_graph=G)


def load_network(path: str | Path | None = None) -> Network:
    """Load and validate a network bundle.

    Parameters
    ----------
    path : str or Path, optional
        A bundle folder laid out like ``networks/`` (see ``networks/README.md``). Default: the
        embedded Tongxiang / Yangtze River Delta bundle.

    Returns
    -------
    Network

    Raises
    ------
    tx_transport.NetworkDataError
        On any problem in the files; the message names the file, the record and the fix.
    """
    return Network(read_bundle(path))


__all__ = ["Network", "Route", "load_network"]
