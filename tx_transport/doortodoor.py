"""Door to door over the timetable: road access, station processing, trains, egress — or the car alone.

This is the one place where the road kernel (:class:`~tx_transport.kernel.CompiledGraph`) and the
timetable router (:class:`~tx_transport.transit.raptor.CompiledTimetable`) meet.

For a departure minute ``t`` of the window (default 07:00–09:00, every minute), the door-to-door
time from an origin node to a node ``n`` is::

    min( car(o, n),
         min over stations a, b:  EA_t(a → b) + exit + car(b, n)  − t )

where the traveller drives to *every* station ``a`` within reach (``access_max_min``), passes the
station (``enter_min``: security, ticket check, walk to the platform), waits for a train, rides
(changes allowed, with the minimum change time and the same-city transfers of ``transit.yaml``),
leaves the station (``exit_min``) and drives to the destination. ``EA_t`` is the earliest
arrival by train when ready at each station at ``t + car(o, a) + enter``. Waiting at the origin
station counts, as in r5py: the result for each minute is the time from leaving home at ``t``.

The earliest arrival is a step function of ``t``: it only changes when ``t`` passes the last
moment to catch some departure, ``dep − car(o, a) − enter``. Those *candidate* times (inside the
window, plus the first one after it) are routed as one batch, and each minute takes the next
candidate at or after it — exact, and a few times cheaper than routing every minute.

The kernel is a plain picklable object (no global state), so it runs on Dask workers; its
``times_from`` method follows the protocol of :mod:`tx_transport.sweep` where that exists.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .kernel import CompiledGraph
from .transit.raptor import INF, CompiledTimetable

#: Statistics a window result can be reduced to (``p5`` … ``p95`` are percentiles).
STATISTICS = ("min", "median", "mean", "max", "p5", "p10", "p25", "p50", "p75", "p90", "p95")


def reduce_window(x: np.ndarray, statistic: str, axis: int = 0) -> np.ndarray:
    """Reduce per-minute times along ``axis`` (``inf`` = unreachable at that minute).

    Percentiles use the "lower" method (an observed minute, as r5py reports), so a result is
    always a time some departure minute actually gives.
    """
    if statistic == "min":
        return np.min(x, axis=axis)
    if statistic == "max":
        return np.max(x, axis=axis)
    if statistic == "mean":
        with np.errstate(invalid="ignore"):
            return np.mean(x, axis=axis)
    q = 50.0 if statistic == "median" else float(statistic[1:]) if statistic.startswith("p") else None
    if q is None or statistic not in STATISTICS:
        raise ValueError(f"unknown statistic {statistic!r}; use one of {', '.join(STATISTICS)}")
    return np.percentile(x, q, axis=axis, method="lower")


@dataclass
class DoorToDoorKernel:
    """Road access/egress + timetable, for one scenario.

    Attributes
    ----------
    car : CompiledGraph
        The road kernel used for access, egress and the car-alone alternative.
    tt : CompiledTimetable
        The scenario's compiled timetable.
    stop_node : numpy.ndarray of int64
        For each timetable stop, the index in ``car`` of the node it joins (``-1``: not joined).
    stop_join_s : numpy.ndarray of float64
        Extra seconds between that node and the stop (a stop of another feed joined to the
        nearest road node); 0 for stations that are places of the bundle.
    enter_s, exit_s : float
        Station processing at departure and arrival (s).
    window_start_s, window_end_s, window_step_s : int
        Departure window (s after midnight).
    access_max_s, egress_max_s : float
        Longest road leg to or from a station (s).
    max_rounds : int
        Most trains per journey.
    horizon_s : float
        Trains are considered up to this long after the end of the window (s; default 6 h):
        journeys that arrive later count as unreachable.
    link_stop, link_node, link_s : numpy.ndarray
        Station links (``transit.yaml`` ``station_links``: a metro between a station and a place of
        its city): stop index, car-graph node of the place, seconds. Access and egress take a link
        when it is faster than the car, and continue by car from the place.
    """

    car: CompiledGraph
    tt: CompiledTimetable
    stop_node: np.ndarray
    stop_join_s: np.ndarray
    enter_s: float
    exit_s: float
    window_start_s: int
    window_end_s: int
    window_step_s: int = 60
    access_max_s: float = 90 * 60.0
    egress_max_s: float = 90 * 60.0
    max_rounds: int = 5
    horizon_s: float = 6 * 3600.0
    link_stop: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    link_node: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    link_s: np.ndarray = field(default_factory=lambda: np.zeros(0))
    _cache: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_cache"] = {k: v for k, v in self._cache.items() if k == "egress"}
        return state

    @property
    def minutes_s(self) -> np.ndarray:
        """The departure times of the window (s after midnight)."""
        return np.arange(self.window_start_s, self.window_end_s + 1, self.window_step_s, dtype=float)

    # ------------------------------------------------------------------ road legs
    def egress(self) -> np.ndarray:
        """Seconds from every stop to every node, ``(S, N)`` (``inf`` beyond ``egress_max``): by road,
        or by a station link and then by road from its place."""
        eg = self._cache.get("egress")
        if eg is None:
            S, N = self.tt.n_stops, len(self.car.nodes)
            eg = np.full((S, N), INF, dtype=np.float32)
            ok = np.flatnonzero(self.stop_node >= 0)
            if len(ok):
                d = self.car.dijkstra(self.stop_node[ok], limit_s=self.egress_max_s)
                eg[ok] = (np.asarray(d) + self.stop_join_s[ok, None]).astype(np.float32)
            if (self.link_stop >= 0).any():
                d = np.asarray(self.car.dijkstra(self.link_node, limit_s=self.egress_max_s))
                for s, row, t in zip(self.link_stop, d, self.link_s):
                    if s < 0:
                        continue
                    via = (row + t).astype(np.float32)
                    via[via > self.egress_max_s] = INF
                    eg[s] = np.minimum(eg[s], via)
            self._cache["egress"] = eg
        return eg

    def _access(self, car_o: np.ndarray) -> np.ndarray:
        acc = np.full(self.tt.n_stops, INF)
        ok = self.stop_node >= 0
        acc[ok] = car_o[self.stop_node[ok]] + self.stop_join_s[ok]
        for s, n, t in zip(self.link_stop, self.link_node, self.link_s):  # by road to the place, then the link
            if s >= 0:
                acc[s] = min(acc[s], car_o[n] + t)
        acc[acc > self.access_max_s] = INF
        return acc

    def access_by_link(self, car_o: np.ndarray, stop: int) -> tuple[int, float] | None:
        """The station link that gives ``stop`` its access time, ``(link index, seconds)``, or None (by road)."""
        road = car_o[self.stop_node[stop]] + self.stop_join_s[stop] if self.stop_node[stop] >= 0 else INF
        best = None
        for i, (s, n, t) in enumerate(zip(self.link_stop, self.link_node, self.link_s)):
            if s == stop and car_o[n] + t < road and (best is None or car_o[n] + t < best[1]):
                best = (i, float(car_o[n] + t))
        return best

    def _candidates(self, acc: np.ndarray) -> np.ndarray:
        """Departure times from the origin that can change the earliest arrival (sorted)."""
        tt = self.tt
        d = tt._d()
        m = np.isfinite(acc[tt.ev_stop]) & ~d["last_of_trip"]
        c = tt.ev_dep_s[m] - acc[tt.ev_stop[m]] - self.enter_s
        c = np.unique(c[c >= self.window_start_s])
        # only the first candidate at or after each minute of the window is ever used
        k = np.searchsorted(c, self.minutes_s, side="left")
        return c[np.unique(k[k < len(c)])]

    def _origin(self, src: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Everything about an origin that does not depend on the destinations (cached, last 128):
        car seconds to every node, access seconds to every stop, the candidate departures and the
        earliest arrival at every stop for each candidate."""
        memo = self._cache.setdefault("origins", OrderedDict())
        hit = memo.get(src)
        if hit is not None:
            memo.move_to_end(src)
            return hit
        car_o = np.asarray(self.car.dijkstra(np.array([src]))).ravel()
        acc = self._access(car_o)
        cand = self._candidates(acc)
        if len(cand):
            ready = cand[:, None] + acc[None, :] + self.enter_s
            ready[:, ~np.isfinite(acc)] = INF
            tt = self.tt.restrict(self.window_start_s, self.window_end_s + self.horizon_s)
            ea = tt.earliest_arrival(ready, max_rounds=self.max_rounds, transfers_at_start=True)
        else:
            ea = np.zeros((0, self.tt.n_stops))
        memo[src] = (car_o, acc, cand, ea)
        if len(memo) > 128:
            memo.popitem(last=False)
        return memo[src]

    # ------------------------------------------------------------------ window times
    def window_times(self, src: int, targets: np.ndarray | None = None) -> tuple[np.ndarray, dict[str, Any]]:
        """Door-to-door seconds for every minute of the window from car-graph node ``src``.

        Returns ``(times, info)``: ``times`` has shape ``(minutes, len(targets))`` (targets are
        car-graph node indices; default every node), ``inf`` where unreachable; ``info`` holds
        the access times, the candidate departures and the per-candidate earliest arrivals (for
        :meth:`journey`), and whether rail or the car gave each value.
        """
        car_o, acc, cand, ea = self._origin(int(src))
        tgt = np.arange(len(self.car.nodes)) if targets is None else np.asarray(targets, dtype=np.int64)
        mins = self.minutes_s
        car_t = car_o[tgt]
        info: dict[str, Any] = {"access_s": acc, "candidates_s": cand, "car_s": car_t, "ea": ea}
        if not len(cand):
            times = np.broadcast_to(car_t, (len(mins), len(tgt))).copy()
            info["rail_better"] = np.zeros_like(times, dtype=bool)
            return times, info
        eg = self.egress()
        reach = np.flatnonzero(np.isfinite(ea).any(axis=0) & (self.stop_node >= 0))
        A = np.full((len(cand), len(tgt)), INF)
        for s in reach:
            e = eg[s, tgt]
            fin = np.isfinite(e)
            if not fin.any():
                continue
            cols = np.flatnonzero(fin)
            A[:, cols] = np.minimum(A[:, cols], ea[:, s:s + 1] + self.exit_s + e[cols][None, :].astype(float))
        k = np.searchsorted(cand, mins, side="left")
        k_ok = k < len(cand)
        rail = np.full((len(mins), len(tgt)), INF)
        rail[k_ok] = A[k[k_ok]] - mins[k_ok, None]
        times = np.minimum(rail, car_t[None, :])
        info["rail_better"] = rail < car_t[None, :]
        info["minute_candidate"] = k
        return times, info

    @property
    def sources(self) -> list[Any]:
        """Sweep protocol: node ids of the road graph (origins are road nodes)."""
        return self.car.nodes

    @property
    def targets(self) -> list[Any]:
        """Sweep protocol: node ids of the columns of :meth:`times_from`."""
        return self.car.nodes

    def times(self, src: np.ndarray, targets: np.ndarray | None = None, *, statistic: str = "median") -> np.ndarray:
        """Door-to-door seconds reduced over the window, ``(len(src), len(targets))``."""
        src = np.atleast_1d(np.asarray(src, dtype=np.int64))
        n_t = len(self.car.nodes) if targets is None else len(targets)
        out = np.full((len(src), n_t), INF)
        for i, s in enumerate(src):
            w, _ = self.window_times(int(s), targets)
            out[i] = reduce_window(w, statistic, axis=0)
        return out

    def times_from(self, src_idx: np.ndarray, limit_s: float = INF) -> np.ndarray:
        """Sweep protocol: window-median seconds from each source to every node (``inf`` beyond ``limit_s``)."""
        out = self.times(src_idx)
        out[out > limit_s] = INF
        return out


@dataclass
class FastestJourneyKernel:
    """Station to station, the fastest scheduled journey of the day, as a sweep kernel.

    ``sources`` and ``targets`` are the ``place:<id>`` nodes of every place of the bundle; a place
    that no train serves has no journey (``inf``), except to itself (0).
    """

    tt: CompiledTimetable
    place_ids: list[str]
    max_rounds: int = 5

    @property
    def sources(self) -> list[str]:
        return [f"place:{p}" for p in self.place_ids]

    @property
    def targets(self) -> list[str]:
        return self.sources

    def _stops(self) -> np.ndarray:
        return np.array([self.tt.stop_index(p) if self.tt.has_stop(p) else -1 for p in self.place_ids], dtype=np.int64)

    def times_from(self, src_idx: np.ndarray, limit_s: float = INF) -> np.ndarray:
        src_idx = np.atleast_1d(np.asarray(src_idx, dtype=np.int64))
        stops = self._stops()
        out = np.full((len(src_idx), len(self.place_ids)), INF)
        so = stops[src_idx]
        ok = so >= 0
        if ok.any():
            F = self.tt.fastest_journeys(so[ok], max_rounds=self.max_rounds)
            cols = stops >= 0
            rows = np.flatnonzero(ok)
            out[np.ix_(rows, np.flatnonzero(cols))] = F[:, stops[cols]]
        out[np.arange(len(src_idx)), src_idx] = 0.0
        out[out > limit_s] = INF
        return out


__all__ = ["DoorToDoorKernel", "FastestJourneyKernel", "STATISTICS", "reduce_window"]
