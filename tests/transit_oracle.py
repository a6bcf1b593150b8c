"""An independent earliest-arrival oracle: Dijkstra on a time-expanded networkx graph.

Built from the timetable *tables* (not the router's compiled arrays): one node per arrival and
per departure event, a waiting chain of departures at every stop, change time from an arrival
to the departures at the same stop, transfers from an arrival to the departures at another stop,
and the trip itself (dwell and run edges). Test code only.
"""

from __future__ import annotations

import bisect
from collections import defaultdict

import networkx as nx
import numpy as np


class TimeExpandedOracle:
    def __init__(self, stop_times, change_s: dict, default_change_s: float, transfers=(), repeat_daily: bool = True):
        G = nx.DiGraph()
        self.G = G
        deps = defaultdict(list)  # stop -> [(time, node)]
        arrs = defaultdict(list)  # stop -> [(time, node)]
        rows = list(zip(stop_times.trip_id, stop_times.stop_id, stop_times.arr_s, stop_times.dep_s))
        trips = defaultdict(list)
        for t, s, a, d in rows:
            trips[t].append((s, float(a), float(d)))
        if repeat_daily:
            for t, evs in list(trips.items()):
                tail = [(s, a - 86400, d - 86400) for s, a, d in evs if d >= 86400]
                if len(tail) >= 2:
                    trips[f"{t}@prev"] = tail
        for t, evs in trips.items():
            for k, (s, a, d) in enumerate(evs):
                na, nd = ("a", t, k), ("d", t, k)
                if k > 0:
                    G.add_node(na, time=a, stop=s)
                    arrs[s].append((a, na))
                if k < len(evs) - 1:
                    G.add_node(nd, time=d, stop=s)
                    deps[s].append((d, nd))
                if 0 < k < len(evs) - 1:
                    G.add_edge(na, nd, weight=d - a)
                if k > 0:
                    G.add_edge(("d", t, k - 1), na, weight=a - evs[k - 1][2])
        self.wait = {}
        for s, lst in deps.items():
            lst.sort(key=lambda x: (x[0], str(x[1])))
            times = [x[0] for x in lst]
            nodes = []
            for i, (tm, nd) in enumerate(lst):
                w = ("w", s, i)
                G.add_node(w, time=tm, stop=s)
                G.add_edge(w, nd, weight=0.0)
                if i:
                    G.add_edge(("w", s, i - 1), w, weight=tm - times[i - 1])
                nodes.append(w)
            self.wait[s] = (times, nodes)
        self.transfers = defaultdict(list)
        for f, t, m in transfers:
            self.transfers[f].append((t, float(m)))
        for s, lst in arrs.items():
            for tm, na in lst:
                self._link(na, s, tm + change_s.get(s, default_change_s))
                for s2, m in self.transfers.get(s, []):
                    self._link(na, s2, tm + m)
        self.arrs = arrs

    def _first_wait(self, s, t):
        if s not in self.wait:
            return None
        times, nodes = self.wait[s]
        i = bisect.bisect_left(times, t)
        return (nodes[i], times[i]) if i < len(times) else None

    def _link(self, node, s, t):
        hit = self._first_wait(s, t)
        if hit is not None:
            w, tw = hit
            self.G.add_edge(node, w, weight=tw - self.G.nodes[node]["time"])

    def earliest_arrival(self, origins: dict, transfers_at_start: bool = True) -> dict:
        """origins: stop -> ready time. Returns stop -> earliest arrival by train."""
        G = self.G
        src = ("src",)
        G.add_node(src, time=0.0)
        added = []
        t0 = min(origins.values())
        G.nodes[src]["time"] = t0
        for s, r in origins.items():
            targets = [(s, r)]
            if transfers_at_start:
                targets += [(s2, r + m) for s2, m in self.transfers.get(s, [])]
            for s2, tt in targets:
                hit = self._first_wait(s2, tt)
                if hit is not None:
                    w, tw = hit
                    if not G.has_edge(src, w) or G[src][w]["weight"] > tw - t0:
                        G.add_edge(src, w, weight=tw - t0)
                        added.append(w)
        dist = nx.single_source_dijkstra_path_length(G, src, weight="weight")
        G.remove_node(src)
        out = {}
        for s, lst in self.arrs.items():
            best = np.inf
            for _tm, na in lst:
                if na in dist:
                    best = min(best, t0 + dist[na])
            if np.isfinite(best):
                out[s] = best
        return out
