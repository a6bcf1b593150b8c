"""Compiled shortest-path kernel: a scenario graph under one profile as CSR arrays.

:class:`CompiledGraph` is a plain, picklable object (NumPy arrays and a list of node ids, no
reference to networkx or to global state), so that it can be cached per scenario and profile
and shipped to Dask workers. Searches run in compiled code
(:func:`scipy.sparse.csgraph.dijkstra`).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from typing import Any

import networkx as nx
import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

#: Added to every edge weight (seconds) so that zero-cost edges stay edges in the sparse matrix.
EPS_S = 1e-6


def profile_weight(data: dict[str, Any], profile: dict[str, Any]) -> float | None:
    """Travel time (s) of an edge under a profile, or ``None`` when the profile cannot use it."""
    kind = data.get("kind")
    if kind not in profile["use"]:
        return None
    cost = (profile.get("cost") or {}).get(kind, "base")
    w = float(data["travel_time"]) if cost == "base" else float(cost) * 60.0
    if kind == "rail_board":
        w += float(profile.get("board_once_penalty_min", 0.0)) * 60.0
    return w


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
        expressways between interchanges, rail track or waterways).
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
    board_once_penalty_s: float = 0.0

    @classmethod
    def from_graph(cls, G: nx.MultiDiGraph, profile: dict[str, Any], scenario: str = "", profile_name: str = "") -> CompiledGraph:
        nodes = list(G.nodes)
        index = {n: i for i, n in enumerate(nodes)}
        best: dict[tuple[int, int], tuple[float, bool]] = {}
        for u, v, d in G.edges(data=True):
            w = profile_weight(d, profile)
            if w is None:
                continue
            key = (index[u], index[v])
            sample = d.get("kind") in ("road", "connector") and d.get("highway") != "motorway" and d.get("mode") == "road"
            prev = best.get(key)
            if prev is None or w < prev[0]:
                best[key] = (w, sample)
        n = len(nodes)
        if best:
            uv = np.array(list(best.keys()), dtype=np.int64)
            ws = np.array([b[0] for b in best.values()], dtype=float)
            smp = np.array([b[1] for b in best.values()], dtype=bool)
        else:
            uv = np.zeros((0, 2), dtype=np.int64)
            ws = np.zeros(0)
            smp = np.zeros(0, dtype=bool)
        m = csr_matrix((ws + EPS_S, (uv[:, 0], uv[:, 1])), shape=(n, n))
        m.sort_indices()
        lon = np.array([G.nodes[x].get("x", np.nan) for x in nodes], dtype=float)
        lat = np.array([G.nodes[x].get("y", np.nan) for x in nodes], dtype=float)
        point = np.array([str(x).startswith("place:") for x in nodes], dtype=bool)
        return cls(nodes, m.indptr, m.indices, m.data, lon, lat, uv[:, 0], uv[:, 1], ws, smp, point, scenario, profile_name)

    # ------------------------------------------------------------------ queries
    @property
    def matrix(self) -> csr_matrix:
        n = len(self.nodes)
        return csr_matrix((self.weights, self.indices, self.indptr), shape=(n, n))

    def index_of(self, nodes: Iterable[Hashable]) -> np.ndarray:
        idx = {n: i for i, n in enumerate(self.nodes)}
        return np.array([idx[n] for n in nodes], dtype=np.int64)

    def dijkstra(self, sources: np.ndarray, limit_s: float = np.inf, return_predecessors: bool = False,
                 min_only: bool = False):
        """Shortest times (s) from each source (matrix indices) to every node.

        Returns an array of shape (len(sources), n) (or (n,) with ``min_only``), ``inf`` where not
        reached within ``limit_s``; with ``return_predecessors`` also the predecessor matrix.
        """
        pen = self.board_once_penalty_s
        res = dijkstra(self.matrix, directed=True, indices=np.asarray(sources), limit=limit_s + pen,
                       return_predecessors=return_predecessors, min_only=min_only)
        dist = res[0] if return_predecessors else res
        if pen > 0:
            dist = np.where(dist >= pen, dist - pen, dist)
            dist[dist > limit_s] = np.inf
        if return_predecessors:
            return dist, res[1]
        return dist


@dataclass
class EdgeTable:
    """Every edge of a full (all-projects) graph as arrays, compiled per scenario and profile."""

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

    @classmethod
    def from_graph(cls, G: nx.MultiDiGraph) -> EdgeTable:
        nodes = list(G.nodes)
        index = {n: i for i, n in enumerate(nodes)}
        rows = list(G.edges(data=True))
        u = np.fromiter((index[a] for a, _, _ in rows), dtype=np.int64, count=len(rows))
        v = np.fromiter((index[b] for _, b, _ in rows), dtype=np.int64, count=len(rows))
        get = lambda key, default=None: [d.get(key, default) for _, _, d in rows]  # noqa: E731
        kind = np.array(get("kind"), dtype=object)
        mode = np.array(get("mode"), dtype=object)
        hw = np.array(get("highway", ""), dtype=object)
        sample = ((kind == "road") | (kind == "connector")) & (mode == "road") & (hw != "motorway")
        return cls(
            nodes,
            np.array([G.nodes[n].get("x", np.nan) for n in nodes], dtype=float),
            np.array([G.nodes[n].get("y", np.nan) for n in nodes], dtype=float),
            u, v,
            np.array(get("travel_time"), dtype=float),
            np.array(get("length", 0.0), dtype=float),
            kind, mode,
            np.array(get("project", ""), dtype=object),
            sample.astype(bool),
            np.array(get("accel_ms2", np.nan), dtype=float),
            np.array(get("decel_ms2", np.nan), dtype=float),
            np.array(get("supplement", 1.0), dtype=float),
        )

    def compile(self, projects: Iterable[str], profile: dict[str, Any], speed_kmh: dict[str, float] | None = None,
                scenario: str = "", profile_name: str = "") -> CompiledGraph:
        """Compile the edges of ``projects`` under ``profile`` (vectorised; ~10 ms)."""
        from .rail import run_time_s

        active = np.isin(self.project, np.array(sorted(set(projects)), dtype=object)) | np.char.startswith(
            self.project.astype(str), "junction:")
        usable = np.isin(self.kind, np.array(profile["use"], dtype=object))
        m = active & usable
        t = self.time_s.copy()
        for k, c in (profile.get("cost") or {}).items():
            if c != "base":
                t[self.kind == k] = float(c) * 60.0
        pen = float(profile.get("board_once_penalty_min", 0.0)) * 60.0
        if pen > 0:
            t[self.kind == "rail_board"] += pen
        for proj, spd in (speed_kmh or {}).items():
            sel = m & (self.project == proj)
            for i in np.flatnonzero(sel):
                if self.kind[i] == "rail_run":
                    t[i] = run_time_s(self.length_m[i] / 1000.0, spd, self.accel[i], self.decel[i]) * self.supplement[i]
                elif self.kind[i] in ("road", "waterway"):
                    t[i] = self.length_m[i] / (spd / 3.6)
        u, v, w, smp = self.u[m], self.v[m], t[m], self.sample[m]
        n = len(self.nodes)
        # minimum over parallel edges (csr_matrix would sum duplicates)
        order = np.lexsort((w, v, u))
        u, v, w, smp = u[order], v[order], w[order], smp[order]
        first = np.ones(len(u), dtype=bool)
        first[1:] = (u[1:] != u[:-1]) | (v[1:] != v[:-1])
        u, v, w, smp = u[first], v[first], w[first], smp[first]
        mat = csr_matrix((w + EPS_S, (u, v)), shape=(n, n))
        mat.sort_indices()
        point = np.array([isinstance(x, str) and x.startswith("place:") for x in self.nodes], dtype=bool)
        return CompiledGraph(self.nodes, mat.indptr, mat.indices, mat.data, self.lon, self.lat, u, v, w, smp, point,
                             scenario, profile_name, pen)
