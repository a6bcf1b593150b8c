"""The :class:`Network`: a validated bundle plus its queries (graphs, routes, tables, isochrones)."""

from __future__ import annotations

import dataclasses
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import LineString

from .doortodoor import DoorToDoorKernel, reduce_window
from .errors import QueryError, UnreachableError, cut
from .geo import WGS84, haversine_km
from .graph import build_graph
from .io import Bundle, read_bundle
from .isochrones import isochrone_polygons, validate_cutoffs
from .kernel import EPS_S, CompiledGraph, EdgeTable, override_time_s, profile_graph, profile_weight, time_key
from .names import PlaceIndex
from .scenario import ScenarioSelection, resolve_scenario
from .transit.layer import TransitLayer
from .transit.raptor import CompiledTimetable
from .transit.timetable import Timetable, clock

Origin = str | tuple[float, float]

def _in_scenario(d: dict[str, Any], sel: ScenarioSelection) -> dict[str, Any]:
    """Edge attributes ``d`` as the scenario runs them: a re-speeded project gets the time (and
    speed) that the kernel uses (:func:`~tx_transport.kernel.override_time_s`)."""
    p = d.get("project", "")
    if p not in sel.speed_kmh:
        return d
    out = {**d, "travel_time": override_time_s(d["kind"], d["travel_time"], d["length"], sel.speed_kmh[p], d.get("speed_kph"),
                                               d.get("accel_ms2", np.nan), d.get("decel_ms2", np.nan), d.get("supplement", 1.0))}
    if d["kind"] in ("road", "waterway"):
        out["speed_kph"] = float(sel.speed_kmh[p])
    return out


#: Columns of :attr:`Route.legs` (``train``, ``dep``, ``arr``, ``stops`` are filled for timetable legs).
LEG_COLUMNS = ["mode", "from_node", "to_node", "from_name", "to_name", "time_min", "length_km", "projects", "train", "dep", "arr", "stops"]

_LEG_MODE = {"road": "road", "expressway": "expressway", "waterway": "waterway"}


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
    depart: str = ""
    arrive: str = ""
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable summary (geometry as WKT)."""
        return {
            "origin": self.origin, "target": self.target, "scenario": self.scenario, "profile": self.profile,
            "time_min": round(self.time_min, 2), "length_km": round(self.length_km, 2),
            "legs": [{k: (round(v, 2) if isinstance(v, float) else v) for k, v in r.items()}
                     for r in self.legs.to_dict("records")],
            "geometry_wkt": self.geometry.wkt, "depart": self.depart, "arrive": self.arrive, "note": self.note,
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
        self._transit = TransitLayer(bundle)
        self._d2d: dict[tuple[Any, ...], DoorToDoorKernel] = {}

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
        rail = pd.DataFrame(rows, columns=["link_id", "project", "mode", "link_class", "length_km", "speed_kmh", "from_node", "to_node"]
                            ).join(meta, on="project")
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
        if not isinstance(scenario, str) or scenario not in self._b.scenarios:
            raise QueryError(f"unknown scenario {cut(scenario)!r}; valid scenarios: {', '.join(self._b.scenarios)}")
        return scenario

    def _profile(self, profile: str) -> dict[str, Any]:
        if not isinstance(profile, str) or profile not in self._b.profiles:
            raise QueryError(f"unknown profile {cut(profile)!r}; valid profiles: {', '.join(self._b.profiles)}")
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
        if prof is not None and prof.get("router") == "timetable":
            raise QueryError(f"profile {profile!r} runs on the timetable, not on a graph: see timetable() (GTFS tables) and "
                             "compiled_timetable(); graph() takes a road or water profile")
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
                 selection: ScenarioSelection | None = None, period: str = "free-flow") -> CompiledGraph:
        """The compiled kernel for a scenario, profile and car-time ``period`` (cached).

        ``selection`` lets the comparison code compile a modified project set without a
        scenario entry; it is not cached. ``period``: ``"free-flow"`` or ``"peak"`` road times.
        """
        prof = self._profile(profile)
        time_key(period)  # validates the period
        if prof.get("router") == "timetable":
            raise QueryError(f"profile {profile!r} runs on the timetable, not on the road graph: use compiled_timetable(), "
                             "door_to_door() or sweep_kernel()")
        if selection is not None:
            # only projects with edges in the graph change the kernel (a rail line does not): scenario
            # tests that differ by a rail project share one compiled road graph
            with_edges = set(self._edges._codes()[0])
            skey = (frozenset(set(selection.projects) & with_edges), tuple(sorted(selection.speed_kmh.items())), profile, period)
            hit = self._selection_cache.get(skey)
            if hit is None:
                hit = self._edges.compile(selection.projects, prof, selection.speed_kmh, selection.name, profile, period)
                if len(self._selection_cache) >= 64:
                    self._selection_cache.pop(next(iter(self._selection_cache)))
                self._selection_cache[skey] = hit
            return hit
        name = self._scenario_name(scenario)
        key = (name, profile) if period == "free-flow" else (name, profile, period)
        if key not in self._compiled:
            sel = self.selection(name)
            self._compiled[key] = self._edges.compile(sel.projects, prof, sel.speed_kmh, name, profile, period)
        return self._compiled[key]

    # ------------------------------------------------------------------ origin resolution
    @cached_property
    def _place_index(self) -> PlaceIndex:
        return PlaceIndex(self._b.places)

    @property
    def centre(self) -> str:
        """Place id of the bundle's centre: ``centre`` in ``bundle.yaml``, else the
        ``city_centre`` of ``goals.yaml`` ``circle_301510``. Reports and comparisons measure
        from it.

        Raises
        ------
        QueryError
            The bundle names no centre.
        """
        c = getattr(self._b, "centre", None) or (self._b.goals.get("circle_301510") or {}).get("city_centre")
        if not c:
            raise QueryError(f"bundle {self.path.name!r} names no centre: add 'centre: <place id>' to its bundle.yaml")
        return str(c)

    def resolve_place(self, name: str, profile: str | None = None) -> str:
        """The place id that ``name`` names: an id, or an English or Chinese name in any case
        (see :func:`tx_transport.names.resolve_place`); under a station-to-station profile
        (rail without roads) a station is preferred, so ``上海`` is Shanghai station."""
        prefer = None
        if profile is not None:
            prof = self._profile(profile)
            prefer = ("station",) if prof.get("router") == "timetable" and prof.get("measure") == "fastest-of-day" else None
        return self._place_index.resolve(name, prefer_kinds=prefer)

    def _resolve(self, o: Origin, profile: str) -> tuple[str, Hashable]:
        prof = self._profile(profile)
        station_only = prof.get("router") == "timetable" and prof.get("measure") == "fastest-of-day"
        if prof.get("router") == "timetable" and not station_only:
            profile = prof["access_profile"]
        if isinstance(o, str):
            pid = self.resolve_place(o, profile)
            return pid, f"place:{pid}"
        try:
            lon, lat = float(o[0]), float(o[1])
        except (TypeError, ValueError, IndexError):
            raise QueryError(f"origin {o!r} is neither a place id nor a (lon, lat) pair") from None
        a = self._b.area
        if not (a["min_lat"] <= lat <= a["max_lat"] and a["min_lon"] <= lon <= a["max_lon"]):
            raise QueryError(f"point (lon {lon}, lat {lat}) is outside the network area; give (lon, lat) in WGS84 degrees")
        use = set(self._profile(profile)["use"])
        if station_only:
            pl = self._b.places[self._b.places.kind == "station"]
            d = haversine_km(lat, lon, pl.lat.values, pl.lon.values)
            pid = str(pl.index[int(np.argmin(d))])
            return pid, f"place:{pid}"
        if "road" in use:  # the nearest road-layer node (a KD-tree, built once per network)
            pos, _ = self._road_tree.nearest(np.array([lon]), np.array([lat]))
            return f"{lon:.5f},{lat:.5f}", self._edges.nodes[int(pos[0])]
        if "waterway" in use:
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
                     *, scenario: str | None = None, profile: str = "car", cutoff_min: float | None = None,
                     statistic: str | None = None, period: str | None = None) -> pd.DataFrame:
        """Travel-time table in minutes.

        Parameters
        ----------
        origins, destinations : place id, (lon, lat) or a list of them; default every place.
        scenario : str, optional
        profile : str, default ``"car"``
        cutoff_min : float, optional
            Stop searching beyond this many minutes (faster); pairs beyond are NaN.
        statistic : str, optional
            For window profiles (``door-to-door``): how the per-minute times of the departure
            window are reduced — ``median`` (the profile's default), ``min``, ``mean``, ``max`` or a
            percentile ``p5`` … ``p95``. See :meth:`transit_table` for all of them at once.
        period : {"free-flow", "peak"}, optional
            Road times at free flow or at the weekday commute peak (``modes.yaml``). Default:
            free flow for road profiles; the profile's own ``period`` for door to door (its
            departure window is the morning peak).

        Returns
        -------
        pandas.DataFrame
            Minutes, origins as index, destinations as columns. **NaN means unreachable** under
            the scenario and profile (e.g. beyond the cutoff, or no train between two stations).
            ``rail`` gives the fastest scheduled journey of the day between two stations
            (departure to arrival, changes allowed); ``door-to-door`` the window statistic of
            leaving at each minute of the departure window (transit.yaml) by car + train or car.
        """
        if self._is_timetable(profile):
            return self._timetable_times(origins, destinations, self.selection(scenario), profile, cutoff_min, statistic, period)
        cg = self.compiled(scenario, profile, period=period or "free-flow")
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

    def route(self, from_id: Origin, to_id: Origin, *, scenario: str | None = None, profile: str = "car",
              depart_at: str | None = None, period: str | None = None) -> Route:
        """The fastest route between two places (or points) with its legs by mode.

        ``period`` (``"free-flow"`` or ``"peak"``) picks the road times.

        Raises
        ------
        QueryError
            Unknown place, scenario or profile.
        UnreachableError
            No path under the scenario and profile (the message says why, e.g. a town in the
            ``rail`` profile, or a line not yet in service).
        """
        name = self._scenario_name(scenario)
        if self._is_timetable(profile):
            return self._timetable_route(from_id, to_id, name, profile, depart_at, period)
        cg = self.compiled(name, profile, period=period or "free-flow")
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
        return self._route_from_nodes(o_key, t_key, name, profile, nodes, period or "free-flow")

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

    def _route_from_nodes(self, o_key: str, t_key: str, scenario: str, profile: str, nodes: list[Hashable],
                          period: str = "free-flow") -> Route:
        G = self._full_graph
        prof = self._profile(profile)
        sel = self.selection(scenario)
        cg = self.compiled(scenario, profile, period=period)
        idx = self._node_index if cg.nodes is self._edges.nodes else {n: i for i, n in enumerate(cg.nodes)}
        # edge times exactly as compiled (speed overrides applied)
        mat = cg.matrix
        legs: list[dict[str, Any]] = []
        coords: list[tuple[float, float]] = []
        total_t = 0.0
        total_l = 0.0
        for a, c in zip(nodes[:-1], nodes[1:]):
            w = float(mat[idx[a], idx[c]]) - 0.0
            best = None
            best_w = np.inf
            for _, d in G.get_edge_data(a, c).items():
                p = d.get("project", "")
                if not (p in sel.projects or str(p).startswith("junction:")) or d["kind"] not in prof["use"]:
                    continue
                d = _in_scenario(d, sel)
                dw = profile_weight(d, prof, period)
                if dw is not None and dw < best_w:
                    best, best_w = d, dw
            assert best is not None
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
        for leg in legs:
            leg.update(train="", dep="", arr="", stops=0)
        df = pd.DataFrame(legs, columns=LEG_COLUMNS)
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
                   resolution_m: float = 250.0, statistic: str | None = None, period: str | None = None) -> gpd.GeoDataFrame:
        """Nested isochrone polygons from one or several origins.

        Parameters
        ----------
        origins : place id, (lon, lat) or a list of them
            With several origins, a point is reached when any origin reaches it in time.
        cutoffs : sequence of float, default (15, 30, 45, 60)
            Band limits in minutes: duplicates are dropped and the bands sorted; at most
            :data:`~tx_transport.isochrones.MAX_CUTOFFS` of them, each at most
            :data:`~tx_transport.isochrones.MAX_CUTOFF_MIN`. A band does not depend on which
            other cutoffs are asked.
        scenario, profile : str
        buffer_m : float, default 1000
            Area within this distance (m) of a reached road (or reached station/place) counts.
        resolution_m : float, default 250
            Grid size (m) of the time surface the bands are contoured from.
        period : {"free-flow", "peak"}, default ``"free-flow"``
            Road times at free flow or at the weekday commute peak.

        Returns
        -------
        geopandas.GeoDataFrame
            ``cutoff_min``, ``area_km2``, ``geometry`` (EPSG:4326), one row per cutoff, each band
            containing the smaller ones. See :mod:`tx_transport.isochrones` for the method.
        """
        cuts = validate_cutoffs(cutoffs)
        res = [self._resolve(o, profile) for o in self._as_list(origins)]
        if not res:
            raise QueryError("isochrones need at least one origin (a place id or name, or a (lon, lat) pair)")
        limit = max(cuts) * 60.0
        if self._is_timetable(profile):
            prof = self._profile(profile)
            if prof["measure"] != "window":
                return self._station_islands(res, cuts, scenario, profile, buffer_m)
            k = self.door_to_door(scenario, profile=profile, period=period)
            cg = k.car
            src = self._idx(cg, [n for _, n in res])
            dist = np.min(k.times(src, statistic=statistic or prof.get("statistic", "median")), axis=0)
            dist[dist > limit] = np.inf
        else:
            cg = self.compiled(scenario, profile, period=period or "free-flow")
            src = self._idx(cg, [n for _, n in res])
            dist = cg.dijkstra(src, limit_s=limit, min_only=True)
        gdf = isochrone_polygons(cg, np.asarray(dist), cuts, buffer_m=buffer_m, resolution_m=resolution_m)
        gdf.attrs.update(origins=[k for k, _ in res], scenario=self._scenario_name(scenario), profile=profile, period=period)
        return gdf

    # ------------------------------------------------------------------ timetables
    def _is_timetable(self, profile: str) -> bool:
        return self._profile(profile).get("router") == "timetable"

    def _nearest_station(self, pid: str) -> str:
        pl = self._b.places
        served = set()
        for c in self._transit._compiled.values():
            served |= {str(c.stop_ids[i]) for i in np.unique(c.ev_stop)}
        st = pl[(pl.kind == "station") & (pl.index.isin(served) if served else True)]
        if not len(st):
            return ""
        d = haversine_km(pl.lat[pid], pl.lon[pid], st.lat.values, st.lon.values)
        return str(st.index[int(np.argmin(d))])

    def timetable(self, scenario: str | None = None) -> Timetable:
        """The timetable a scenario runs: its base feed(s) after its service edits.

        A :class:`~tx_transport.transit.timetable.Timetable` of tables (``stops``, ``trips``,
        ``stop_times`` in seconds, ``transfers``); ``.to_gtfs(path)`` writes it as a GTFS feed and
        ``.notes`` says what each edit did.
        """
        return self._transit.timetable(self.selection(scenario))

    def compiled_timetable(self, scenario: str | None = None, *, selection: ScenarioSelection | None = None) -> CompiledTimetable:
        """The scenario's timetable compiled for the router (cached; a plain picklable object)."""
        return self._transit.compiled(selection or self.selection(scenario))

    def door_to_door(self, scenario: str | None = None, *, profile: str = "door-to-door",
                     selection: ScenarioSelection | None = None, period: str | None = None) -> DoorToDoorKernel:
        """The door-to-door kernel of a scenario: road access/egress composed with the timetable
        (:class:`~tx_transport.doortodoor.DoorToDoorKernel`; cached, picklable). Road legs use
        ``period`` (default: the profile's ``period``, else free flow)."""
        prof = self._profile(profile)
        if prof.get("router") != "timetable" or prof.get("measure") != "window":
            raise QueryError(f"profile {profile!r} is not a door-to-door (window) profile")
        sel = selection or self.selection(scenario)
        ct = self._transit.compiled(sel)
        period = period or prof.get("period", "free-flow")
        car = self.compiled(selection=sel, profile=prof["access_profile"], period=period) if selection is not None else \
            self.compiled(sel.name, prof["access_profile"], period=period)
        key = (id(ct), id(car), profile)
        k = self._d2d.get(key)
        if k is None:
            node, join_s, _ = self._stop_join(ct, car)
            ekey = (id(car), tuple(ct.stop_ids), float(prof["egress_max_min"]))
            st = self._b.modes["rail"]["station"]
            cfg = self._b.transit
            links = [(ct.stop_index(x["station"]) if ct.has_stop(x["station"]) else -1, f"place:{x['place']}", x["min"] * 60.0)
                     for x in cfg.station_links]
            k = DoorToDoorKernel(car, ct, node, join_s, float(st["enter_min"]) * 60.0, float(st["exit_min"]) * 60.0,
                                 cfg.window_start_s, cfg.window_end_s, cfg.window_step_s, float(prof["access_max_min"]) * 60.0,
                                 float(prof["egress_max_min"]) * 60.0, cfg.max_transfers + 1,
                                 link_stop=np.array([x[0] for x in links], dtype=np.int64),
                                 link_node=self._idx(car, [x[1] for x in links]) if links else np.zeros(0, dtype=np.int64),
                                 link_s=np.array([x[2] for x in links], dtype=float))
            # the egress matrix (one road search per station) depends only on the car kernel and the
            # stops: scenarios and project tests that share them share it
            eg_cache = self.__dict__.setdefault("_egress_cache", {})
            if ekey in eg_cache:
                k._cache["egress"] = eg_cache[ekey]
            else:
                if len(eg_cache) >= 8:
                    eg_cache.pop(next(iter(eg_cache)))
                eg_cache[ekey] = k.egress()
            if len(self._d2d) >= 16:
                self._d2d.pop(next(iter(self._d2d)))
            self._d2d[key] = k
        return k

    def _stop_join(self, ct: CompiledTimetable, car: CompiledGraph) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
        """Where each timetable stop meets the road graph: (node index, extra seconds, report)."""
        cache = self.__dict__.setdefault("_join_cache", {})
        key = (tuple(ct.stop_ids), id(car))
        if key in cache:
            return cache[key]
        idx = car.index_of if car.nodes is not self._edges.nodes else None
        ni = self._node_index
        node = np.full(ct.n_stops, -1, dtype=np.int64)
        join_s = np.zeros(ct.n_stops)
        rows = []
        road = self._road_node_table(car)
        det = float(self._b.modes["road"]["connector_detour"])
        from .graph import connector_speeds

        spd = connector_speeds(self._b.modes)[0]
        stops = self._transit_stops_table()
        lim = self._b.transit.stop_join_max_km
        box = (road[1].min(), road[1].max(), road[2].min(), road[2].max()) if len(road[0]) else None
        for i, sid in enumerate(ct.stop_ids):
            is_place = sid in self._b.places.index
            if is_place:
                lat, lon = float(self._b.places.lat[sid]), float(self._b.places.lon[sid])
            elif sid in stops.index:
                lat, lon = float(stops.lat[sid]), float(stops.lon[sid])
            else:
                continue
            if box is None or not (box[0] <= lat <= box[1] and box[2] <= lon <= box[3]):
                rows.append((sid, "not joined: outside the road layer", np.nan))
                continue
            d = haversine_km(lat, lon, road[1], road[2])
            j = int(np.argmin(d))
            if d[j] > lim and not is_place:  # a place reaches the roads through its own connectors (modes.yaml)
                from .errors import NetworkDataError

                raise NetworkDataError(str(self._b.path / "transit.yaml"), f"stop {sid!r}",
                                       f"is {d[j]:.1f} km from the nearest road of the network (limit stop_join_max_km {lim:g} km)",
                                       "check the stop's coordinates (WGS84 lat/lon) or raise stop_join_max_km in transit.yaml")
            if is_place:
                pn = f"place:{sid}"
                node[i] = ni[pn] if idx is None else int(idx([pn])[0])
                rows.append((sid, "place connector", float(d[j])))
            else:
                node[i] = road[0][j]
                join_s[i] = float(d[j]) * det / spd * 3600.0
                rows.append((sid, "nearest road node", float(d[j])))
        rep = pd.DataFrame(rows, columns=["stop_id", "joined_by", "distance_km"])
        cache[key] = (node, join_s, rep)
        return cache[key]

    def _road_node_table(self, car: CompiledGraph) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Indices (in ``car``), lat, lon of its road-layer nodes (where stops and points join)."""
        cache = self.__dict__.setdefault("_road_nodes_cache", {})
        if id(car) not in cache:
            G = self._full_graph
            ok = np.array([G.nodes[n].get("layer") == "road" if n in G else False for n in car.nodes])
            ok &= np.isfinite(car.lat)
            ids = np.flatnonzero(ok)
            cache[id(car)] = (ids, car.lat[ids], car.lon[ids])
        return cache[id(car)]

    def _transit_stops_table(self) -> pd.DataFrame:
        parts = [self._transit.feed(f.id).stops for f in self._b.transit.feeds]
        if not parts:
            return pd.DataFrame(columns=["lat", "lon"])
        return pd.concat(parts).drop_duplicates("stop_id").set_index("stop_id")

    def sweep_kernel(self, scenario: str | None = None, profile: str = "car") -> Any:
        """The picklable kernel of a scenario and profile for :mod:`tx_transport.sweep` (and Dask):
        the compiled road graph, the door-to-door kernel, or the fastest-journey kernel of ``rail``."""
        prof = self._profile(profile)
        if prof.get("router") != "timetable":
            return self.compiled(scenario, profile)
        if prof.get("measure") == "window":
            return self.door_to_door(scenario, profile=profile)
        from .doortodoor import FastestJourneyKernel

        return FastestJourneyKernel(self.compiled_timetable(scenario), list(self._b.places.index), self._b.transit.max_transfers + 1)

    def stop_joins(self, scenario: str | None = None, *, profile: str = "door-to-door") -> pd.DataFrame:
        """How every timetable stop joins the road graph: ``stop_id``, ``joined_by``, ``distance_km``."""
        return self._stop_join(self.compiled_timetable(scenario), self.door_to_door(scenario, profile=profile).car)[2].copy()

    def _station_index(self, ct: CompiledTimetable, pid: str, sel: ScenarioSelection, profile: str = "rail") -> int:
        """The stop index of place ``pid`` in a compiled timetable, or a clear error: a place that is
        not a station (use a station or the door-to-door profile), or a station no train serves in
        this scenario (unreachable)."""
        kind = str(self._b.places.kind.get(pid, "stop"))
        if ct.has_stop(pid) and (ct.ev_stop == ct.stop_index(pid)).any():
            return ct.stop_index(pid)
        if kind in ("station", "airport"):
            raise UnreachableError(f"no train calls at {pid!r} in scenario {sel.name!r} (not a station of its timetable); "
                                   "try a scenario where its line is in service")
        raise QueryError(f"profile {profile!r} runs station to station, and {pid!r} is a {kind}, not a station; use a station "
                         f"(e.g. {self._nearest_station(pid)!r}) or the door-to-door profile")

    def _place_times(self, sel: ScenarioSelection, profile: str, origins: Sequence[str], targets: Sequence[str],
                     statistic: str | None = None, period: str | None = None) -> np.ndarray:
        """Minutes from place ids to place ids under a (possibly modified) scenario selection; NaN unreachable."""
        if self._is_timetable(profile):
            return self._timetable_times(list(origins), list(targets), sel, profile, None, statistic, period).to_numpy()
        cg = self.compiled(selection=sel, profile=profile, period=period or "free-flow")
        src = self._idx(cg, [f"place:{o}" for o in origins])
        dst = self._idx(cg, [f"place:{t}" for t in targets])
        d = np.asarray(cg.dijkstra(src))[:, dst] / 60.0
        d[~np.isfinite(d)] = np.nan
        return d


    def _timetable_times(self, origins: Any, destinations: Any, sel: ScenarioSelection, profile: str,
                         cutoff_min: float | None, statistic: str | None, period: str | None = None) -> pd.DataFrame:
        prof = self._profile(profile)
        if prof["measure"] == "fastest-of-day":
            # a table may mix stations with other places: those rows and columns are NaN (no train
            # runs from a town); route() says why for one pair
            def res(x: Origin) -> tuple[str, Hashable]:
                if isinstance(x, str):
                    pid = self._place_index.resolve(x, prefer_kinds=("station",))
                    return pid, f"place:{pid}"
                return self._resolve(x, profile)

            o_res = [res(o) for o in self._as_list(origins)]
            d_res = [res(d) for d in self._as_list(destinations)]
        else:
            o_res = [self._resolve(o, profile) for o in self._as_list(origins)]
            d_res = [self._resolve(d, profile) for d in self._as_list(destinations)]
        if prof["measure"] == "fastest-of-day":
            ct = self._transit.compiled(sel)
            oi = [ct.stop_index(k) if ct.has_stop(k) else -1 for k, _ in o_res]
            di = np.array([ct.stop_index(k) if ct.has_stop(k) else -1 for k, _ in d_res], dtype=np.int64)
            tab = np.full((len(o_res), len(d_res)), np.nan)
            ok_o = [i for i, x in enumerate(oi) if x >= 0]
            if ok_o:
                F = self._fastest_matrix(sel, ct, np.array([oi[i] for i in ok_o]))
                for r, i in enumerate(ok_o):
                    vals = np.where(di >= 0, F[r, np.maximum(di, 0)], np.inf) / 60.0
                    tab[i] = np.where(np.isfinite(vals), vals, np.nan)
            for i, (ok_, _) in enumerate(o_res):  # a place to itself is 0 minutes away, station or not
                for j, (dk, _) in enumerate(d_res):
                    if ok_ == dk:
                        tab[i, j] = 0.0
        else:
            k = self.door_to_door(profile=profile, selection=sel, period=period)
            stat = statistic or prof.get("statistic", "median")
            src = self._idx(k.car, [n for _, n in o_res])
            dst = self._idx(k.car, [n for _, n in d_res])
            try:
                sec = k.times(src, dst, statistic=stat)
            except ValueError as exc:
                raise QueryError(str(exc)) from None
            tab = sec / 60.0
            tab[~np.isfinite(tab)] = np.nan
        if cutoff_min is not None:
            tab[tab > cutoff_min] = np.nan
        df = pd.DataFrame(tab, index=[k for k, _ in o_res], columns=[k for k, _ in d_res])
        df.index.name = "origin"
        df.columns.name = "destination"
        return df

    def _departures_ea(self, ct: CompiledTimetable, o: int) -> tuple[np.ndarray, np.ndarray]:
        """Every departure of the day from stop ``o`` and the earliest arrival at every stop when
        leaving with it, ``(deps, EA)`` with ``EA`` of shape (departures, stops); cached per
        compiled timetable and origin (the fastest journeys and their routes come from it)."""
        cache = self.__dict__.setdefault("_dep_ea_cache", {})
        key = (id(ct), int(o))
        hit = cache.get(key)
        if hit is None or hit[0] is not ct:
            deps = np.unique(ct.departures_from(int(o)))
            r0 = np.full((len(deps), ct.n_stops), np.inf)
            r0[:, o] = deps
            ea = ct.earliest_arrival(r0, max_rounds=self._b.transit.max_transfers + 1, transfers_at_start=False) if len(deps) \
                else np.zeros((0, ct.n_stops))
            if len(cache) >= 512:
                cache.pop(next(iter(cache)))
            hit = cache[key] = (ct, deps, ea)
        return hit[1], hit[2]

    def _fastest_matrix(self, sel: ScenarioSelection, ct: CompiledTimetable, origins: np.ndarray) -> np.ndarray:
        """Fastest journey of the day (s) from stop indices ``origins`` to every stop."""
        rows = []
        for o in origins:
            deps, ea = self._departures_ea(ct, int(o))
            row = np.min(ea - deps[:, None], axis=0) if len(deps) else np.full(ct.n_stops, np.inf)
            row[int(o)] = 0.0
            rows.append(row)
        return np.array(rows).reshape(len(origins), ct.n_stops)

    def transit_table(self, origins: Iterable[Origin] | Origin | None = None, destinations: Iterable[Origin] | Origin | None = None,
                      *, scenario: str | None = None, profile: str = "door-to-door",
                      percentiles: Sequence[int] = (5, 25, 50, 75, 95), selection: ScenarioSelection | None = None,
                      period: str | None = None) -> pd.DataFrame:
        """Everything the timetable says about each origin–destination pair, one row per pair.

        Columns: ``origin``, ``destination``, ``fastest_rail_min`` (fastest scheduled journey of the
        day between the two places when both are stations, changes allowed), ``fastest_direct_min``
        and ``direct_trains_per_day`` (trains calling at both, in that order), then over the
        departure window (transit.yaml, e.g. 07:00–09:00 every minute) the door-to-door
        ``min_min``, ``p5_min`` … ``p95_min`` (the r5py convention), ``car_min`` and
        ``rail_share`` (share of departure minutes for which the train beats the car).
        """
        sel = selection or self.selection(scenario)
        ct = self._transit.compiled(sel)
        k = self.door_to_door(profile=profile, selection=sel, period=period)
        o_res = [self._resolve(o, profile) for o in self._as_list(origins)]
        d_res = [self._resolve(d, profile) for d in self._as_list(destinations)]
        dst = self._idx(k.car, [n for _, n in d_res])
        direct = self.__dict__.setdefault("_direct_cache", {})
        if id(ct) not in direct:
            direct[id(ct)] = (ct.direct_trips(), ct.fastest_direct_s())
        n_direct, f_direct = direct[id(ct)]
        rows = []
        for ok, onode in o_res:
            w, info = k.window_times(int(self._idx(k.car, [onode])[0]), dst)
            fast = None
            if ct.has_stop(ok):
                fast = self._fastest_matrix(sel, ct, np.array([ct.stop_index(ok)]))[0]
            for j, (dk, _) in enumerate(d_res):
                col = w[:, j]
                r: dict[str, Any] = {"origin": ok, "destination": dk}
                both = ct.has_stop(ok) and ct.has_stop(dk)
                a, b = (ct.stop_index(ok), ct.stop_index(dk)) if both else (0, 0)
                r["fastest_rail_min"] = float(fast[b] / 60.0) if both and fast is not None and np.isfinite(fast[b]) and ok != dk else np.nan
                r["fastest_direct_min"] = float(f_direct[a, b] / 60.0) if both and np.isfinite(f_direct[a, b]) else np.nan
                r["direct_trains_per_day"] = int(n_direct[a, b]) if both else 0
                fin = np.isfinite(col)
                r["min_min"] = float(col.min() / 60.0) if fin.any() else np.nan
                for q in percentiles:
                    v = float(reduce_window(col, f"p{q}") / 60.0)
                    r[f"p{q}_min"] = v if np.isfinite(v) else np.nan
                c = float(info["car_s"][j] / 60.0)
                r["car_min"] = c if np.isfinite(c) else np.nan
                r["rail_share"] = float(info["rail_better"][:, j].mean())
                rows.append(r)
        return pd.DataFrame(rows)

    def trains_per_day(self, station: str, scenario: str | None = None) -> int:
        """Trains a day calling at ``station`` (a place id or a Chinese station name) in a scenario."""
        pid = self._place_index.resolve(station, prefer_kinds=("station",))
        return self.timetable(scenario).trips_per_day(pid)


    # ------------------------------------------------------------------ timetable routes
    def _stop_name(self, sid: str) -> str:
        if sid in self._b.places.index:
            return str(self._b.places.name_en[sid])
        st = self._transit_stops_table()
        return str(st.stop_name[sid]) if sid in st.index else sid

    def _stop_lonlat(self, sid: str) -> tuple[float, float]:
        if sid in self._b.places.index:
            p = self._b.places.loc[sid]
            return float(p.lon), float(p.lat)
        st = self._transit_stops_table()
        return float(st.lon[sid]), float(st.lat[sid])

    def _car_nodes(self, car: CompiledGraph, s: int, t: int) -> list[Hashable]:
        dist, pred = car.dijkstra(np.array([s]), return_predecessors=True)
        if not np.isfinite(dist[0, t]):
            return []
        path = [int(t)]
        while path[-1] != s:
            path.append(int(pred[0, path[-1]]))
        return [car.nodes[i] for i in reversed(path)]

    def _train_rows(self, ct: CompiledTimetable, legs: list[Any]) -> tuple[list[dict[str, Any]], list[tuple[float, float]]]:
        rows: list[dict[str, Any]] = []
        coords: list[tuple[float, float]] = []
        tt_edits = {e["id"]: e.get("project") for e in self._b.services}
        prev_arr = None
        for leg in legs:
            a, b = str(ct.stop_ids[leg.from_stop]), str(ct.stop_ids[leg.to_stop])
            if prev_arr is not None and leg.dep_s - prev_arr > 0.5:  # change of train: waiting on the platform
                rows.append({"mode": "wait", "from_node": f"place:{a}", "to_node": f"place:{a}", "from_name": self._stop_name(a),
                             "to_name": self._stop_name(a), "time_min": (leg.dep_s - prev_arr) / 60.0, "length_km": 0.0,
                             "projects": "", "train": "", "dep": clock(prev_arr), "arr": clock(leg.dep_s), "stops": 0})
            prev_arr = leg.arr_s
            if leg.kind == "train":
                lo, hi = ct.trip_start[leg.trip], ct.trip_start[leg.trip + 1]
                seq = [str(ct.stop_ids[x]) for x in ct.ev_stop[lo:hi]]
                i0 = next(i for i in range(len(seq)) if seq[i] == a and ct.ev_dep_s[lo + i] == leg.dep_s)
                i1 = next(i for i in range(i0 + 1, len(seq)) if seq[i] == b and ct.ev_arr_s[lo + i] == leg.arr_s)
                pts = [self._stop_lonlat(x) for x in seq[i0:i1 + 1]]
                km = float(sum(haversine_km(p[1], p[0], q[1], q[0]) for p, q in zip(pts[:-1], pts[1:])))
                origin = str(ct.trip_ids[leg.trip]).split(":")[0]
                proj = tt_edits.get(origin) or ""
                rows.append({"mode": "rail", "from_node": f"place:{a}", "to_node": f"place:{b}", "from_name": self._stop_name(a),
                             "to_name": self._stop_name(b), "time_min": (leg.arr_s - leg.dep_s) / 60.0, "length_km": km,
                             "projects": proj, "train": str(ct.trip_codes[leg.trip]), "dep": clock(leg.dep_s), "arr": clock(leg.arr_s),
                             "stops": max(i1 - i0 - 1, 0)})
                coords += pts if not coords else pts[1:]
            else:
                rows.append({"mode": "transfer", "from_node": f"place:{a}", "to_node": f"place:{b}", "from_name": self._stop_name(a),
                             "to_name": self._stop_name(b), "time_min": (leg.arr_s - leg.dep_s) / 60.0, "length_km": 0.0,
                             "projects": "", "train": "", "dep": clock(leg.dep_s), "arr": clock(leg.arr_s), "stops": 0})
                pts = [self._stop_lonlat(a), self._stop_lonlat(b)]
                coords += pts if not coords else pts[1:]
        return rows, coords

    def _timetable_route(self, from_id: Origin, to_id: Origin, scenario: str, profile: str, depart_at: Any,
                         period: str | None = None) -> Route:
        from .transit.timetable import parse_clock

        prof = self._profile(profile)
        sel = self.selection(scenario)
        ct = self._transit.compiled(sel)
        (o_key, o_node), (t_key, t_node) = self._resolve(from_id, profile), self._resolve(to_id, profile)
        t0 = None
        if depart_at is not None:
            try:
                t0 = float(parse_clock(depart_at, "depart_at"))
            except ValueError as exc:
                raise QueryError(str(exc)) from None
        if o_key == t_key:
            return Route(o_key, t_key, scenario, profile, 0.0, 0.0, pd.DataFrame(columns=LEG_COLUMNS), LineString(), [o_node],
                         note="origin and destination are the same place")
        rounds = self._b.transit.max_transfers + 1
        if prof["measure"] == "fastest-of-day":
            a, b = self._station_index(ct, o_key, sel, profile), self._station_index(ct, t_key, sel, profile)
            if t0 is None:
                deps, ea = self._departures_ea(ct, a)
                if not len(deps):
                    raise UnreachableError(f"no train leaves {o_key!r} in scenario {scenario!r}")
                j = int(np.argmin(ea[:, b] - deps))
                t0 = float(deps[j])
            r0 = np.full(ct.n_stops, np.inf)
            r0[a] = t0
            arr, legs = ct.journey(r0, b, max_rounds=rounds, transfers_at_start=False)
            if not legs:
                raise UnreachableError(f"no train journey from {o_key!r} to {t_key!r} in scenario {scenario!r} "
                                       f"(with up to {rounds - 1} changes); try another scenario or the door-to-door profile")
            rows, coords = self._train_rows(ct, legs)
            dep0 = legs[0].dep_s
            df = pd.DataFrame(rows, columns=LEG_COLUMNS)
            geom = LineString(coords) if len(coords) >= 2 else LineString()
            nodes = [f"place:{o_key}", f"place:{t_key}"]
            changes = sum(1 for r in rows if r["mode"] == "rail") - 1
            note = f"fastest scheduled journey of the day ({changes} change(s))" if depart_at is None else \
                f"earliest arrival leaving at {clock(t0)}"
            return Route(o_key, t_key, scenario, profile, (arr - dep0) / 60.0, float(df.length_km.sum()), df, geom, nodes,
                         depart=clock(dep0), arrive=clock(arr), note=note)
        # door to door
        k = self.door_to_door(profile=profile, selection=sel, period=period)
        period = period or prof.get("period", "free-flow")
        if t0 is not None:
            k = dataclasses.replace(k, window_start_s=int(t0), window_end_s=int(t0), _cache=k._cache)
        src = int(self._idx(k.car, [o_node])[0])
        tgt = int(self._idx(k.car, [t_node])[0])
        w, info = k.window_times(src, np.array([tgt]))
        col = w[:, 0]
        if not np.isfinite(col).any():
            raise UnreachableError(self._unreachable_msg(o_key, t_key, scenario, prof["access_profile"], k.car, src, tgt))
        mins = k.minutes_s
        if t0 is None:
            med = reduce_window(col, prof.get("statistic", "median"))
            j = int(np.flatnonzero(col == med)[0])
        else:
            j = 0
        t_dep = float(mins[j])
        if not info["rail_better"][j, 0]:
            r = self.route(from_id, to_id, scenario=scenario, profile=prof["access_profile"], period=period)
            r.profile, r.depart, r.arrive = profile, clock(t_dep), clock(t_dep + r.time_min * 60.0)
            r.note = f"the car alone is fastest leaving at {clock(t_dep)}" + (" (the window's median minute)" if depart_at is None else "")
            return r
        kc = int(info["minute_candidate"][j])
        eg = k.egress()[:, tgt].astype(float)
        total = info["ea"][kc] + k.exit_s + eg
        b = int(np.argmin(total))
        ready = info["candidates_s"][kc] + info["access_s"] + k.enter_s
        arr_b, legs = ct.journey(ready, b, max_rounds=rounds, transfers_at_start=True)
        a = legs[0].from_stop
        rows: list[dict[str, Any]] = []
        coords: list[tuple[float, float]] = []
        car_o = k._origin(src)[0]
        link = k.access_by_link(car_o, a)
        road_end = int(k.link_node[link[0]]) if link is not None else int(k.stop_node[a])
        acc_nodes = self._car_nodes(k.car, src, road_end)
        t_clock = t_dep
        if len(acc_nodes) >= 2:
            to_key = self._cfg_link(link[0])["place"] if link is not None else str(ct.stop_ids[a])
            car_r = self._route_from_nodes(o_key, to_key, scenario, prof["access_profile"], acc_nodes, period)
            for leg in car_r.legs.to_dict("records"):
                leg.update(train="", dep=clock(t_clock), arr=clock(t_clock + leg["time_min"] * 60.0), stops=0)
                t_clock += leg["time_min"] * 60.0
                rows.append(leg)
            coords += list(car_r.geometry.coords)
        if link is not None:
            rows.append(self._link_row(link[0], to_station=True, t0=t_clock))
            t_clock += float(k.link_s[link[0]])
            coords += [self._stop_lonlat(str(ct.stop_ids[a]))]
        t_clock = t_dep + float(info["access_s"][a])
        sname = self._stop_name(str(ct.stop_ids[a]))
        rows.append({"mode": "station", "from_node": f"place:{ct.stop_ids[a]}", "to_node": f"place:{ct.stop_ids[a]}", "from_name": sname,
                     "to_name": sname, "time_min": k.enter_s / 60.0, "length_km": 0.0, "projects": "", "train": "",
                     "dep": clock(t_clock), "arr": clock(t_clock + k.enter_s), "stops": 0})
        t_clock += k.enter_s
        first_dep = next(lg.dep_s for lg in legs if lg.kind == "train")
        if legs[0].kind == "transfer":
            first_dep = legs[0].dep_s
        if first_dep - t_clock > 0.5:
            rows.append({"mode": "wait", "from_node": f"place:{ct.stop_ids[a]}", "to_node": f"place:{ct.stop_ids[a]}", "from_name": sname,
                         "to_name": sname, "time_min": (first_dep - t_clock) / 60.0, "length_km": 0.0, "projects": "", "train": "",
                         "dep": clock(t_clock), "arr": clock(first_dep), "stops": 0})
        trows, tcoords = self._train_rows(ct, legs)
        rows += trows
        coords += tcoords if not coords else tcoords[1:] if coords[-1] == tcoords[0] else tcoords
        bname = self._stop_name(str(ct.stop_ids[b]))
        rows.append({"mode": "station", "from_node": f"place:{ct.stop_ids[b]}", "to_node": f"place:{ct.stop_ids[b]}", "from_name": bname,
                     "to_name": bname, "time_min": k.exit_s / 60.0, "length_km": 0.0, "projects": "", "train": "",
                     "dep": clock(arr_b), "arr": clock(arr_b + k.exit_s), "stops": 0})
        t_clock = arr_b + k.exit_s
        # egress by road, or by a station link and then by road from its place (whichever the kernel took)
        d_road = np.asarray(k.car.dijkstra(np.array([int(k.stop_node[b])])))[0, tgt] + k.stop_join_s[b] if k.stop_node[b] >= 0 else np.inf
        elink, best = None, d_road
        for i, (ls, ln, lt) in enumerate(zip(k.link_stop, k.link_node, k.link_s)):
            if ls == b:
                via = lt + np.asarray(k.car.dijkstra(np.array([int(ln)])))[0, tgt]
                if via < best:
                    elink, best = i, via
        if elink is not None:
            rows.append(self._link_row(elink, to_station=False, t0=t_clock))
            t_clock += float(k.link_s[elink])
            start, from_key = int(k.link_node[elink]), self._cfg_link(elink)["place"]
            coords += [self._stop_lonlat(from_key)]
        else:
            start, from_key = int(k.stop_node[b]), str(ct.stop_ids[b])
        eg_nodes = self._car_nodes(k.car, start, tgt)
        if len(eg_nodes) >= 2:
            car_r = self._route_from_nodes(from_key, t_key, scenario, prof["access_profile"], eg_nodes, period)
            for leg in car_r.legs.to_dict("records"):
                leg.update(train="", dep=clock(t_clock), arr=clock(t_clock + leg["time_min"] * 60.0), stops=0)
                t_clock += leg["time_min"] * 60.0
                rows.append(leg)
            coords += list(car_r.geometry.coords)[1:]
        df = pd.DataFrame(rows, columns=LEG_COLUMNS)
        total_min = float(col[j] / 60.0)
        legs_min = float(df.time_min.sum())
        if abs(legs_min - total_min) < 1.0 / 60.0:  # the kernel keeps float32 seconds; the legs are exact
            total_min = legs_min
        geom = LineString(coords) if len(coords) >= 2 else LineString()
        what = f"leaving at {clock(t_dep)}" + (" (the window's median minute)" if depart_at is None else "")
        return Route(o_key, t_key, scenario, profile, total_min, float(df.length_km.sum()), df, geom, [o_node, t_node],
                     depart=clock(t_dep), arrive=clock(t_dep + total_min * 60.0), note=f"car + train {what}")

    def _cfg_link(self, i: int) -> dict[str, Any]:
        """The i-th station link of transit.yaml (the kernels keep their order)."""
        return self._b.transit.station_links[i]

    def _link_row(self, i: int, *, to_station: bool, t0: float) -> dict[str, Any]:
        x = self._cfg_link(i)
        a, b = (x["place"], x["station"]) if to_station else (x["station"], x["place"])
        return {"mode": x["mode"], "from_node": f"place:{a}", "to_node": f"place:{b}", "from_name": self._stop_name(a),
                "to_name": self._stop_name(b), "time_min": x["min"], "length_km": 0.0, "projects": "", "train": "",
                "dep": clock(t0), "arr": clock(t0 + x["min"] * 60.0), "stops": 0}

    def explore(self, scenarios: Sequence[str] | str | None = None, **kwargs: Any) -> Any:
        """An interactive map of the scenarios (a :class:`folium.Map`, shown inline in Jupyter).

        Like geopandas' ``GeoDataFrame.explore``: isochrone bands and goal routes per scenario and
        profile with a layer switch, projects by status, place popups, a scenario-difference
        layer; works offline. Keyword options: see :func:`tx_transport.viz.webmap.explore`
        (``profiles``, ``cutoffs``, ``difference``, ``tiles``, ``m``, ...). Save it with
        ``m.save("map.html")`` or :func:`tx_transport.viz.webmap.save_map`.
        """
        from .viz.webmap import explore

        return explore(self, scenarios, **kwargs)

    def _station_islands(self, res: list[tuple[str, Hashable]], cuts: list[float], scenario: str | None, profile: str,
                         buffer_m: float) -> gpd.GeoDataFrame:
        """Isochrones of a station-to-station profile: the stations reached within each cutoff by
        the fastest journey of the day, each a disc of ``buffer_m`` (the profile has no road legs)."""
        from .geo import METRIC_CRS, to_metric

        sel = self.selection(scenario)
        ct = self._transit.compiled(sel)
        idx = np.array([ct.stop_index(k) for k, _ in res if ct.has_stop(k)], dtype=np.int64)
        best = self._fastest_matrix(sel, ct, idx).min(axis=0) if len(idx) else np.full(ct.n_stops, np.inf)
        lonlat = np.array([self._stop_lonlat(str(x)) for x in ct.stop_ids])
        x, y = to_metric(lonlat[:, 0], lonlat[:, 1])
        rows, geoms = [], []
        for c in cuts:
            ok = best <= c * 60.0
            poly = shapely.union_all(shapely.buffer(shapely.points(x[ok], y[ok]), buffer_m)) if ok.any() else shapely.Polygon()
            rows.append({"cutoff_min": float(c), "area_km2": float(poly.area) / 1e6})
            geoms.append(poly)
        gdf = gpd.GeoDataFrame(rows, geometry=geoms, crs=METRIC_CRS).to_crs(WGS84)
        gdf.attrs.update(origins=[k for k, _ in res], scenario=self._scenario_name(scenario), profile=profile,
                         method="stations reached by the fastest journey of the day, each a disc of buffer_m")
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
