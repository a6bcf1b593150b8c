"""Compiled shortest-path kernel: a scenario graph under one profile as CSR arrays.

:class:`CompiledGraph` is a plain, picklable object (NumPy arrays and a list of node ids, no
reference to networkx or to global state), so that it can be cached per scenario and profile
and shipped to Dask workers. Searches run in compiled code
(:func:`scipy.sparse.csgraph.dijkstra`).

:class:`CompiledGraph` implements the *kernel protocol* of :mod:`tx_transport.sweep`
(``sources``, ``targets``, ``times_from(src_idx, limit_s)``), the only thing a chunked sweep
asks of a compiled object.

Memory: a compiled graph holds per usable edge the CSR column (int32) and weight (float64),
``edge_u``/``edge_v`` (int64), ``edge_time_s`` (float64) and two booleans (about 38 bytes),
and per node the CSR row pointer (int32), ``lon``/``lat`` (float64), a boolean and one list
slot plus the node id object (about 70 bytes with OSM integer ids), so about 55 MB for a
1 M-edge, 250 k-node road graph; ``docs/performance.md`` has the measured figures.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from .errors import TxTransportError

#: Added to every edge weight (seconds) so that zero-cost edges stay edges in the sparse matrix.
EPS_S = 1e-6


#: Car-time periods: ``free-flow`` (``travel_time``) and ``peak`` (``travel_time_peak``).
PERIODS = ("free-flow", "peak")


def time_key(period: str = "free-flow") -> str:
    """The edge attribute holding the travel time (s) of ``period``."""
    if period not in PERIODS:
        from .errors import QueryError

        raise QueryError(f"unknown period {period!r}; use one of {', '.join(PERIODS)}")
    return "travel_time" if period == "free-flow" else "travel_time_peak"


def profile_weight(data: dict[str, Any], profile: dict[str, Any], period: str = "free-flow") -> float | None:
    """Travel time (s) of an edge under a profile, or ``None`` when the profile cannot use it.

    ``period`` picks the free-flow or peak time (edges without a peak time use their free-flow
    time).
    """
    kind = data.get("kind")
    if kind not in profile["use"]:
        return None
    cost = (profile.get("cost") or {}).get(kind, "base")
    base = data.get(time_key(period), data["travel_time"])
    return float(base) if cost == "base" else float(cost) * 60.0


def _cheapest(keys: tuple[np.ndarray, ...], w: np.ndarray) -> np.ndarray:
    """Positions of the cheapest edge in every group of parallel edges (equal ``keys``).

    ``csr_matrix`` sums duplicate entries, so parallel edges must be reduced to their minimum
    before a matrix is built.
    """
    if len(w) == 0:
        return np.zeros(0, dtype=np.int64)
    order = np.lexsort((w, *reversed(keys)))
    first = np.ones(len(order), dtype=bool)
    new = np.zeros(len(order) - 1, dtype=bool)
    for k in keys:
        ks = k[order]
        new |= ks[1:] != ks[:-1]
    first[1:] = new
    return order[first]


def _assemble(nodes: list[Hashable], lon: np.ndarray, lat: np.ndarray, u: np.ndarray, v: np.ndarray, w: np.ndarray,
              sample: np.ndarray, scenario: str, profile_name: str, point: np.ndarray | None = None) -> CompiledGraph:
    """A :class:`CompiledGraph` from the usable edges (the cheapest of parallel edges)."""
    keep = _cheapest((u, v), w)
    u, v, w, sample = u[keep], v[keep], w[keep], sample[keep]
    n = len(nodes)
    m = csr_matrix((w + EPS_S, (u, v)), shape=(n, n))
    m.sort_indices()
    if point is None:
        point = _place_mask(nodes)
    return CompiledGraph(nodes, m.indptr, m.indices, m.data, lon, lat, u, v, w, sample, point, scenario, profile_name)


def _place_mask(nodes: list[Hashable]) -> np.ndarray:
    """Whether each node is a place node (``"place:<id>"``)."""
    return np.fromiter((isinstance(x, str) and x.startswith("place:") for x in nodes), dtype=bool, count=len(nodes))


def profile_graph(G: nx.MultiDiGraph, profile: dict[str, Any]) -> nx.MultiDiGraph:
    """The sub-graph of ``G`` usable under ``profile``, with ``travel_time`` set by the profile."""
    H = nx.MultiDiGraph(**G.graph)
    for u, v, k, d in G.edges(keys=True, data=True):
        w = profile_weight(d, profile)
        if w is None:
            continue
        if not H.has_node(u):
            H.add_node(u, **G.nodes[u])
        if not H.has_node(v):
            H.add_node(v, **G.nodes[v])
        H.add_edge(u, v, k, **{**d, "travel_time": w})
    return H


@dataclass
class CompiledGraph:
    """A scenario graph under one profile, compiled to compressed sparse rows.

    Attributes
    ----------
    nodes : list
        Node ids; position ``i`` is matrix index ``i``.
    indptr, indices, weights : numpy.ndarray
        CSR arrays of the minimum travel time (s) over parallel edges, plus :data:`EPS_S`.
    lon, lat : numpy.ndarray
        Node coordinates (degrees).
    edge_u, edge_v, edge_time_s : numpy.ndarray
        Every usable edge (after taking the minimum over parallel edges), for isochrones.
    edge_sample : numpy.ndarray of bool
        Whether the edge counts as reached area in isochrones (local roads and connectors; not
        expressways between interchanges or waterways).
    point_sample : numpy.ndarray of bool
        Whether the node is a place (a point sample in isochrones).
    """

    nodes: list[Hashable]
    indptr: np.ndarray
    indices: np.ndarray
    weights: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    edge_u: np.ndarray
    edge_v: np.ndarray
    edge_time_s: np.ndarray
    edge_sample: np.ndarray
    point_sample: np.ndarray
    scenario: str = ""
    profile: str = ""

    def __post_init__(self) -> None:
        # Dijkstra is only correct for non-negative times; a negative one (e.g. a negative
        # station or port time) would make searches loop or return nonsense: refuse it here
        for arr, what in ((self.weights, "matrix"), (self.edge_time_s, "edge")):
            w = np.asarray(arr, dtype=float)
            bad = ~(w >= 0) | ~np.isfinite(w)
            if not bad.any():
                continue
            k = int(np.flatnonzero(bad)[0])
            if what == "matrix":
                a, b = int(np.searchsorted(self.indptr, k, side="right") - 1), int(self.indices[k])
            else:
                a, b = int(self.edge_u[k]), int(self.edge_v[k])
            raise TxTransportError(
                f"edge {self.nodes[a]!r} -> {self.nodes[b]!r} has a {'negative' if w[k] < 0 else 'non-finite'} travel time "
                f"({w[k]:g} s) in {self.scenario or 'the graph'} / {self.profile or 'profile'}: shortest paths need times >= 0; "
                "correct the bundle value that sets it (modes.yaml times, profiles.yaml costs, speeds)")

    @classmethod
    def from_graph(cls, G: nx.MultiDiGraph, profile: dict[str, Any], scenario: str = "", profile_name: str = "",
                   period: str = "free-flow") -> CompiledGraph:
        """Compile a graph directly (every edge usable under ``profile``, whatever its project)."""
        nodes = list(G.nodes)
        index = {n: i for i, n in enumerate(nodes)}
        rows: list[tuple[int, int, float, bool]] = []
        for a, b, d in G.edges(data=True):
            w = profile_weight(d, profile, period)
            if w is None:
                continue
            sample = d.get("kind") in ("road", "connector") and d.get("highway") != "motorway" and d.get("mode") == "road"
            rows.append((index[a], index[b], w, sample))
        u = np.array([r[0] for r in rows], dtype=np.int64)
        v = np.array([r[1] for r in rows], dtype=np.int64)
        w = np.array([r[2] for r in rows], dtype=float)
        smp = np.array([r[3] for r in rows], dtype=bool)
        lon = np.array([G.nodes[x].get("x", np.nan) for x in nodes], dtype=float)
        lat = np.array([G.nodes[x].get("y", np.nan) for x in nodes], dtype=float)
        return _assemble(nodes, lon, lat, u, v, w, smp, scenario, profile_name)

    # ------------------------------------------------------------------ the kernel protocol (tx_transport.sweep)
    @property
    def sources(self) -> list[Hashable]:
        """Node ids indexed by ``src_idx`` of :meth:`times_from` (the graph's ``nodes``)."""
        return self.nodes

    @property
    def targets(self) -> list[Hashable]:
        """Node ids of the columns of :meth:`times_from` (the graph's ``nodes``)."""
        return self.nodes

    def times_from(self, src_idx: np.ndarray, limit_s: float = np.inf) -> np.ndarray:
        """Seconds from each source (matrix index) to every node, shape ``(len(src_idx), n)``,
        ``inf`` beyond ``limit_s`` or unreachable: :meth:`dijkstra` as the sweep protocol asks."""
        return self.dijkstra(np.atleast_1d(np.asarray(src_idx, dtype=np.int64)), limit_s=limit_s)

    # ------------------------------------------------------------------ queries
    @property
    def matrix(self) -> csr_matrix:
        m = self.__dict__.get("_matrix")
        if m is None:
            n = len(self.nodes)
            m = csr_matrix((self.weights, self.indices, self.indptr), shape=(n, n))
            self.__dict__["_matrix"] = m
        return m

    def __getstate__(self) -> dict[str, Any]:
        # caches are rebuilt on demand: pickles stay small and hold only the plain arrays
        return {k: v for k, v in self.__dict__.items() if not k.startswith("_")}

    def index_of(self, nodes: Iterable[Hashable]) -> np.ndarray:
        idx = self.__dict__.get("_index")
        if idx is None:
            idx = {n: i for i, n in enumerate(self.nodes)}
            self.__dict__["_index"] = idx
        return np.array([idx[n] for n in nodes], dtype=np.int64)

    def dijkstra(self, sources: np.ndarray, limit_s: float = np.inf, return_predecessors: bool = False,
                 min_only: bool = False):
        """Shortest times (s) from each source (matrix indices) to every node.

        Returns an array of shape (len(sources), n) (or (n,) with ``min_only``), ``inf`` where not
        reached within ``limit_s`` (a node exactly at the limit is reached); with
        ``return_predecessors`` also the predecessor matrix (``-9999`` where there is none).
        """
        n = len(self.nodes)
        # every edge carries EPS_S: allow for it so that a node exactly at the limit is reached
        limit = limit_s + EPS_S * (2 * n + 1)
        res = dijkstra(self.matrix, directed=True, indices=np.asarray(sources), limit=limit,
                       return_predecessors=return_predecessors, min_only=min_only)
        return (res[0], res[1]) if return_predecessors else res


@dataclass
class EdgeTable:
    """Every edge of a full (all-projects) graph as arrays, compiled per scenario and profile.

    ``road_node`` marks the nodes of the road layer (``layer == "road"``), the nodes points are
    snapped and joined to.
    """

    nodes: list[Hashable]
    lon: np.ndarray
    lat: np.ndarray
    u: np.ndarray
    v: np.ndarray
    time_s: np.ndarray
    length_m: np.ndarray
    kind: np.ndarray
    mode: np.ndarray
    project: np.ndarray
    sample: np.ndarray
    accel: np.ndarray
    decel: np.ndarray
    supplement: np.ndarray
    speed_kph: np.ndarray | None = None
    time_peak_s: np.ndarray | None = None
    speed_peak_kph: np.ndarray | None = None
    road_node: np.ndarray | None = None

    @classmethod
    def from_graph(cls, G: nx.MultiDiGraph) -> EdgeTable:
        """The arrays of ``G`` (one pass over nodes, one over edges; linear in the graph size)."""
        nd = list(G.nodes(data=True))
        nodes = [n for n, _ in nd]
        index = {n: i for i, n in enumerate(nodes)}
        rows = list(G.edges(data=True))
        m = len(rows)
        u = np.fromiter((index[a] for a, _, _ in rows), dtype=np.int64, count=m)
        v = np.fromiter((index[b] for _, b, _ in rows), dtype=np.int64, count=m)

        def num(key: str, default: float) -> np.ndarray:
            return np.fromiter((d.get(key, default) for _, _, d in rows), dtype=float, count=m)

        def obj(key: str, default: Any = None) -> np.ndarray:
            out = np.empty(m, dtype=object)
            out[:] = [d.get(key, default) for _, _, d in rows]
            return out

        kind = obj("kind")
        mode = obj("mode")
        hw = obj("highway", "")
        sample = ((kind == "road") | (kind == "connector")) & (mode == "road") & (hw != "motorway")
        lon = np.fromiter((d.get("x", np.nan) for _, d in nd), dtype=float, count=len(nd))
        lat = np.fromiter((d.get("y", np.nan) for _, d in nd), dtype=float, count=len(nd))
        road = np.fromiter((d.get("layer") == "road" for _, d in nd), dtype=bool, count=len(nd))
        time_s = num("travel_time", np.nan)
        speed = num("speed_kph", np.nan)
        time_peak = np.fromiter((d.get("travel_time_peak", d["travel_time"]) for _, _, d in rows), dtype=float, count=m)
        speed_peak = np.fromiter((d.get("speed_peak_kph", d.get("speed_kph", np.nan)) for _, _, d in rows), dtype=float, count=m)
        return cls(nodes, lon, lat, u, v, time_s, num("length", 0.0), kind, mode, obj("project", ""),
                   sample.astype(bool), num("accel_ms2", np.nan), num("decel_ms2", np.nan), num("supplement", 1.0),
                   speed, time_peak_s=time_peak, speed_peak_kph=speed_peak, road_node=road)

    def _codes(self) -> tuple[list[str], np.ndarray, list[str], np.ndarray, np.ndarray]:
        """Integer codes of edge projects and kinds (computed once, by hashing; keeps compile vectorised)."""
        cached = self.__dict__.get("_code_cache")
        if cached is None:
            pc, pn = pd.factorize(np.asarray(self.project, dtype=object), use_na_sentinel=False)
            kc, kn = pd.factorize(np.asarray(self.kind, dtype=object), use_na_sentinel=False)
            junction = np.array([str(n).startswith("junction:") for n in pn], dtype=bool)
            always = junction[pc] if len(pc) else np.zeros(0, dtype=bool)
            cached = (list(pn), pc.astype(np.int64), list(kn), kc.astype(np.int64), always)
            self.__dict__["_code_cache"] = cached
        return cached

    def _point_mask(self) -> np.ndarray:
        pm = self.__dict__.get("_point_cache")
        if pm is None:
            pm = self.__dict__["_point_cache"] = _place_mask(self.nodes)
        return pm

    def compile(self, projects: Iterable[str], profile: dict[str, Any], speed_kmh: dict[str, float] | None = None,
                scenario: str = "", profile_name: str = "", period: str = "free-flow") -> CompiledGraph:
        """Compile the edges of ``projects`` under ``profile`` (vectorised; ~10 ms).

        Scenario speed overrides (``speed_kmh``, by project) change the running time of the
        project's road, waterway and rail-run edges (fixed parts such as locks are kept); the
        profile's ``cost`` then replaces the time of whole edge kinds. ``period`` (``free-flow``
        or ``peak``) picks the road times; at the peak an overridden road runs at the override
        × the edge's own peak/free-flow speed ratio.
        """
        peak = time_key(period) == "travel_time_peak" and self.time_peak_s is not None
        proj_names, proj_code, kind_names, kind_code, always = self._codes()
        wanted = set(projects)
        use = set(profile["use"])
        want_p = np.array([i for i, n in enumerate(proj_names) if n in wanted], dtype=np.int64)
        want_k = np.array([i for i, n in enumerate(kind_names) if n in use], dtype=np.int64)
        m = (np.isin(proj_code, want_p) | always) & np.isin(kind_code, want_k)
        kpos = {n: i for i, n in enumerate(kind_names)}
        ppos = {n: i for i, n in enumerate(proj_names)}

        def of_kind(k: str) -> np.ndarray:
            return kind_code == kpos[k] if k in kpos else np.zeros(len(kind_code), dtype=bool)

        t = (self.time_peak_s if peak else self.time_s).copy()
        spd_arr = self.speed_peak_kph if peak else self.speed_kph
        for proj, spd in (speed_kmh or {}).items():
            if proj not in ppos:
                continue
            for i in np.flatnonzero(m & (proj_code == ppos[proj])):
                v0 = None if spd_arr is None else float(spd_arr[i])
                ratio = 1.0
                if peak and self.speed_kph is not None and np.isfinite(self.speed_kph[i]) and v0 and np.isfinite(v0):
                    ratio = v0 / float(self.speed_kph[i])
                t[i] = override_time_s(str(self.kind[i]), float(t[i]), float(self.length_m[i]), spd * ratio, v0,
                                       float(self.accel[i]), float(self.decel[i]), float(self.supplement[i]))
        for k, c in (profile.get("cost") or {}).items():
            if c != "base":
                t[of_kind(k)] = float(c) * 60.0
        return _assemble(self.nodes, self.lon, self.lat, self.u[m], self.v[m], t[m], self.sample[m],
                         scenario, profile_name, self._point_mask())


def override_time_s(kind: str, time_s: float, length_m: float, speed_kmh: float, speed_kph: float | None = None,
                    accel_ms2: float = float("nan"), decel_ms2: float = float("nan"), supplement: float = 1.0) -> float:
    """Travel time (s) of an edge whose project is re-speeded to ``speed_kmh`` by a scenario.

    Road and waterway edges keep their fixed part (e.g. a ramp toll or lock time) and run the
    length at the new speed; other kinds (connectors, port transfers) are unchanged. Used by both
    the kernel and :meth:`tx_transport.Network.graph`, so the two always agree. (Rail speeds of
    a scenario act on the timetable's generated trip patterns, :mod:`tx_transport.transit.edits`.)
    ``accel_ms2``, ``decel_ms2`` and ``supplement`` are accepted for compatibility and unused.
    """
    if kind in ("road", "waterway"):
        v0 = np.nan if speed_kph is None else speed_kph
        fixed = time_s - length_m / (v0 / 3.6) if np.isfinite(v0) and v0 > 0 else 0.0
        return max(fixed, 0.0) + length_m / (speed_kmh / 3.6)
    return time_s
