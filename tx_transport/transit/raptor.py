"""Round-based public-transit routing (RAPTOR family) over a compiled one-day timetable.

The compiled timetable is a set of flat NumPy arrays (one entry per *stop event*: a trip calling
at a stop) with no global state, so it pickles and runs unchanged on Dask workers.

Algorithm
---------
Every trip is its own route (Chinese rail timetables have about 1.2 trips per stopping pattern,
so grouping trips into RAPTOR routes gains little; vectorising each round over all trips does).
A round *k* finds the earliest arrival at every stop using at most *k* trips:

1. a stop event ``e`` is *boardable* when the trip departs there no earlier than the time the
   traveller is ready at that stop (``dep[e] >= ready[stop[e]]``);
2. each trip is boarded at its first boardable event (FIFO along a trip, so this dominates any
   later boarding of the same trip);
3. every later event of the trip is reached at its arrival time; the new arrival at a stop is the
   minimum over the events at that stop;
4. the traveller is ready to board again at a stop ``change_s`` after arriving there by train,
   and at another stop after a transfer (``tf_*``: same-city metro transfers, walks).

Rounds stop when no arrival improves or after ``max_rounds``. Many queries (departure times,
origins) run at once as rows of 2-D arrays, so a departure-window ("range") query is one batch.

The result equals earliest arrival by Dijkstra on the time-expanded graph of the same timetable
(departure and arrival events as nodes, waiting chains at stops, change time from an arrival to
the departures of *other* trips); ``tests/test_raptor.py`` checks that on hundreds of random
queries over the real feed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

INF = np.inf
#: "Not reached" in the int32 arrays of the rounds (about 12,400 days of seconds).
BIG = np.int32(2**30)
#: Largest batch of simultaneous queries (rows) processed at once; bounds memory to about
#: ``BLOCK × stop events × 8 bytes`` per array.
BLOCK = 64


def _to_int(x: np.ndarray) -> np.ndarray:
    a = np.asarray(x, dtype=float)
    return np.where(np.isfinite(a), np.minimum(np.round(a), BIG - 1), BIG).astype(np.int32)


def _to_float(x: np.ndarray) -> np.ndarray:
    return np.where(x >= BIG, np.inf, x.astype(float))


@dataclass
class Leg:
    """One leg of a reconstructed journey (times in seconds after midnight of the service day)."""

    kind: str  # "train" | "transfer"
    from_stop: int
    to_stop: int
    dep_s: float
    arr_s: float
    trip: int = -1  # trip index for trains


@dataclass
class CompiledTimetable:
    """A one-day timetable as flat arrays, ready for :func:`earliest_arrival` rounds.

    Attributes
    ----------
    stop_ids : numpy.ndarray of object
        Stop ids (place ids for stations of the bundle), length ``S``.
    trip_ids, trip_codes, trip_routes : numpy.ndarray of object
        Per trip (length ``T``): trip id, public code (e.g. ``G7301``) and route id.
    trip_start : numpy.ndarray of int64
        Offsets of each trip's events (length ``T + 1``); events of trip ``t`` are
        ``trip_start[t]:trip_start[t + 1]`` in calling order.
    ev_stop : numpy.ndarray of int64
        Stop index of each event (length ``E``).
    ev_arr_s, ev_dep_s : numpy.ndarray of float64
        Arrival and departure (s after midnight of the service day; > 86,400 after midnight).
    change_s : numpy.ndarray of float64
        Minimum change time between two trains at each stop (s), length ``S``.
    tf_from, tf_to, tf_s : numpy.ndarray
        Transfers between different stops (e.g. metro between two stations of one city).
    scenario : str
        Scenario name (for messages).
    """

    stop_ids: np.ndarray
    trip_ids: np.ndarray
    trip_codes: np.ndarray
    trip_routes: np.ndarray
    trip_start: np.ndarray
    ev_stop: np.ndarray
    ev_arr_s: np.ndarray
    ev_dep_s: np.ndarray
    change_s: np.ndarray
    tf_from: np.ndarray
    tf_to: np.ndarray
    tf_s: np.ndarray
    scenario: str = ""
    _derived: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    # ------------------------------------------------------------------ derived arrays
    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_derived"] = {}  # rebuilt on demand after unpickling
        return state

    @property
    def n_stops(self) -> int:
        return len(self.stop_ids)

    @property
    def n_trips(self) -> int:
        return len(self.trip_ids)

    @property
    def n_events(self) -> int:
        return len(self.ev_stop)

    def _d(self) -> dict[str, Any]:
        d = self._derived
        if "ev_trip" not in d:
            E = self.n_events
            d["ev_trip"] = np.repeat(np.arange(self.n_trips), np.diff(self.trip_start))
            d["pos"] = np.arange(E)
            # events grouped by stop, for the per-stop minimum
            perm = np.argsort(self.ev_stop, kind="stable")
            stops_sorted = self.ev_stop[perm]
            has = np.zeros(self.n_stops, dtype=bool)
            has[stops_sorted] = True
            seg = np.flatnonzero(np.r_[True, stops_sorted[1:] != stops_sorted[:-1]]) if E else np.zeros(0, dtype=np.int64)
            d["stop_perm"], d["stop_seg"], d["stop_has"] = perm, seg, has
            d["stop_index"] = {s: i for i, s in enumerate(self.stop_ids)}
            d["last_of_trip"] = np.zeros(E, dtype=bool)
            if E:
                d["last_of_trip"][self.trip_start[1:] - 1] = True
            d["ev_dep_i"] = _to_int(self.ev_dep_s)
            d["ev_arr_i"] = _to_int(self.ev_arr_s)
            d["change_i"] = _to_int(self.change_s)
        return d

    def stop_index(self, stop_id: Any) -> int:
        """Index of ``stop_id`` (KeyError if the stop is not in the timetable)."""
        return self._d()["stop_index"][stop_id]

    def has_stop(self, stop_id: Any) -> bool:
        return stop_id in self._d()["stop_index"]

    # ------------------------------------------------------------------ core rounds
    def earliest_arrival(self, ready0: np.ndarray, *, max_rounds: int = 5, transfers_at_start: bool = True,
                         trace: bool = False) -> np.ndarray | tuple[np.ndarray, list[dict[str, np.ndarray]]]:
        """Earliest arrival by train at every stop.

        Parameters
        ----------
        ready0 : numpy.ndarray, shape (K, S) or (S,)
            For each of ``K`` queries, the time (s) at which the traveller is ready to board at
            each stop (``inf`` where not available). Station processing is already included.
        max_rounds : int, default 5
            Most trips per journey (changes + 1).
        transfers_at_start : bool, default True
            Allow a same-city transfer (``tf_*``) before the first train.
        trace : bool, default False
            Also return per-round snapshots for :meth:`journey` (only for ``K == 1``).

        Returns
        -------
        numpy.ndarray, shape (K, S)
            Earliest arrival (s) by train at each stop (``inf`` = not reached). The origin stops
            themselves are not "arrived at" unless a train reaches them.
        """
        r0 = np.atleast_2d(np.asarray(ready0, dtype=float))
        if r0.shape[1] != self.n_stops:
            raise ValueError(f"ready0 has {r0.shape[1]} stops, the timetable has {self.n_stops}")
        if trace:
            if r0.shape[0] != 1:
                raise ValueError("trace=True needs a single query")
            return self._rounds(r0, max_rounds, transfers_at_start, trace=True)
        out = np.empty_like(r0)
        for a in range(0, r0.shape[0], BLOCK):
            out[a:a + BLOCK] = self._rounds_marked(r0[a:a + BLOCK], max_rounds, transfers_at_start)
        return out

    def _relax_transfers(self, ready: np.ndarray, arr: np.ndarray, src: np.ndarray | None = None) -> None:
        """ready[:, to] = min(ready[:, to], arr[:, from] + tf_s), in place (``src`` records the from-stop)."""
        for f, t, s in zip(self.tf_from, self.tf_to, self.tf_s.astype(np.int64)):
            a = arr[:, f].astype(np.int64)
            cand = np.where(a < BIG, a + s, BIG)
            better = cand < ready[:, t]
            if better.any():
                ready[better, t] = cand[better]
                if src is not None:
                    src[better, t] = f

    def _rounds(self, r0: np.ndarray, max_rounds: int, transfers_at_start: bool, trace: bool):
        # Queries are rows (K × E arrays: numpy's reduceat is fastest along the last axis); times
        # are int32 seconds (exact: every time of the timetable is a whole second) with BIG for
        # "not reached", half the memory traffic of float64.
        d = self._d()
        K, S = r0.shape
        ev_trip, pos, perm, seg, has = d["ev_trip"], d["pos"], d["stop_perm"], d["stop_seg"], d["stop_has"]
        ev_dep, ev_arr, change = d["ev_dep_i"][None, :], d["ev_arr_i"][None, :], d["change_i"][None, :]
        E = self.n_events
        ready = np.where(np.isfinite(r0), np.minimum(r0, BIG - 1), BIG).astype(np.int32)
        r0i = ready.copy()
        ready_src = np.full((K, S), -1, dtype=np.int64) if trace else None
        if transfers_at_start and len(self.tf_from):
            self._relax_transfers(ready, r0i, ready_src)
        best = np.full((K, S), BIG, dtype=np.int32)
        snaps: list[dict[str, np.ndarray]] = []
        if E == 0:
            return (_to_float(best), snaps) if trace else _to_float(best)
        starts = self.trip_start[:-1]
        not_last = ~d["last_of_trip"][None, :]
        posr = pos[None, :]
        for _ in range(max_rounds):
            can = (ev_dep >= ready[:, self.ev_stop]) & not_last
            first = np.minimum.reduceat(np.where(can, posr, E), starts, axis=1)  # K × T: first boardable event of each trip
            arr = np.where(posr > first[:, ev_trip], ev_arr, BIG)
            a_sorted = arr[:, perm]
            new = np.full((K, S), BIG, dtype=np.int32)
            new[:, has] = np.minimum.reduceat(a_sorted, seg, axis=1)
            improved = new < best
            if trace:
                ev_at = np.full(S, -1, dtype=np.int64)
                for s_i, lo, hi in zip(np.flatnonzero(has), seg, np.r_[seg[1:], E]):
                    j = int(np.argmin(a_sorted[0, lo:hi]))
                    if a_sorted[0, lo + j] < BIG:
                        ev_at[s_i] = perm[lo + j]
                snaps.append({"ready": _to_float(ready[0]), "ready_src": ready_src[0].copy(), "new": _to_float(new[0]),
                              "ev_at": ev_at, "first": first[0].copy()})
            if not improved.any():
                break
            np.minimum(best, new, out=best)
            nxt = np.where(new < BIG, new + change, BIG).astype(np.int32)
            if trace:
                ready_src = np.where(nxt < ready, -2, ready_src)
            np.minimum(ready, nxt, out=ready)
            if len(self.tf_from):
                self._relax_transfers(ready, new, ready_src)
        return (_to_float(best), snaps) if trace else _to_float(best)

    def _stop_trips(self) -> tuple[np.ndarray, np.ndarray]:
        """CSR of the trips calling at each stop (``ptr`` of length S + 1, trip indices)."""
        d = self._d()
        if "stop_trip_ptr" not in d:
            pairs = np.unique(np.stack([self.ev_stop, d["ev_trip"]]), axis=1) if self.n_events else np.zeros((2, 0), dtype=np.int64)
            ptr = np.zeros(self.n_stops + 1, dtype=np.int64)
            np.add.at(ptr, pairs[0] + 1, 1)
            d["stop_trip_ptr"], d["stop_trip_idx"] = np.cumsum(ptr), pairs[1]
        return d["stop_trip_ptr"], d["stop_trip_idx"]

    def _rounds_marked(self, r0: np.ndarray, max_rounds: int, transfers_at_start: bool) -> np.ndarray:
        """The rounds of :meth:`_rounds` scanning only the trips that call at a stop whose ready time
        improved in the round before (RAPTOR's marking): the same arrivals, much less work, since
        the first round scans only the trips of the origins and later rounds those of new stops."""
        d = self._d()
        K, S = r0.shape
        change = d["change_i"]
        ready = np.where(np.isfinite(r0), np.minimum(r0, BIG - 1), BIG).astype(np.int32)
        if transfers_at_start and len(self.tf_from):
            self._relax_transfers(ready, ready.copy())
        best = np.full((K, S), BIG, dtype=np.int32)
        if self.n_events == 0:
            return _to_float(best)
        ptr, tidx = self._stop_trips()
        tstart = self.trip_start
        ev_dep, ev_arr, not_last = d["ev_dep_i"], d["ev_arr_i"], ~d["last_of_trip"]
        marked = np.flatnonzero((ready < BIG).any(axis=0))
        for _ in range(max_rounds):
            if not len(marked):
                break
            trips = np.unique(np.concatenate([tidx[ptr[m]:ptr[m + 1]] for m in marked]))
            if not len(trips):
                break
            lens = tstart[trips + 1] - tstart[trips]
            lstart = np.r_[0, np.cumsum(lens)[:-1]]
            ev = np.repeat(tstart[trips] - lstart, lens) + np.arange(int(lens.sum()))
            es = self.ev_stop[ev]
            n = len(ev)
            lpos = np.arange(n)
            can = (ev_dep[ev][None, :] >= ready[:, es]) & not_last[ev][None, :]
            first = np.minimum.reduceat(np.where(can, lpos[None, :], n), lstart, axis=1)
            arr = np.where(lpos[None, :] > first[:, np.repeat(np.arange(len(trips)), lens)], ev_arr[ev][None, :], BIG)
            order = np.argsort(es, kind="stable")
            es_sorted = es[order]
            segs = np.flatnonzero(np.r_[True, es_sorted[1:] != es_sorted[:-1]])
            su = es_sorted[segs]
            newv = np.minimum.reduceat(arr[:, order], segs, axis=1)  # K × stops touched
            best[:, su] = np.minimum(best[:, su], newv)
            old = ready.copy()
            ready[:, su] = np.minimum(ready[:, su], np.where(newv < BIG, newv + change[su][None, :], BIG).astype(np.int32))
            if len(self.tf_from):
                new_full = np.full((K, S), BIG, dtype=np.int32)
                new_full[:, su] = newv
                self._relax_transfers(ready, new_full)
            marked = np.flatnonzero((ready < old).any(axis=0))
        return _to_float(best)

    def restrict(self, t_from_s: float, t_to_s: float) -> CompiledTimetable:
        """The trips that can matter to journeys starting in ``[t_from_s, t_to_s]`` and ending by
        ``t_to_s``: those still running after ``t_from_s`` that leave their first stop by ``t_to_s``.

        Earliest arrivals from ready times in the interval are unchanged for arrivals up to
        ``t_to_s`` (cached per interval; stop indices are kept).
        """
        key = ("restrict", float(t_from_s), float(t_to_s))
        hit = self._d().get(key)
        if hit is not None:
            return hit
        lo, hi = self.trip_start[:-1], self.trip_start[1:]
        keep = (self.ev_arr_s[hi - 1] >= t_from_s) & (self.ev_dep_s[lo] <= t_to_s)
        idx = np.flatnonzero(keep)
        lens = hi[idx] - lo[idx]
        ev = np.repeat(lo[idx] - np.r_[0, np.cumsum(lens)[:-1]], lens) + np.arange(int(lens.sum()))
        sub = CompiledTimetable(self.stop_ids, self.trip_ids[idx], self.trip_codes[idx], self.trip_routes[idx],
                                np.r_[0, np.cumsum(hi[idx] - lo[idx])].astype(np.int64), self.ev_stop[ev], self.ev_arr_s[ev],
                                self.ev_dep_s[ev], self.change_s, self.tf_from, self.tf_to, self.tf_s, self.scenario)
        sub._derived["stop_index"] = self._d()["stop_index"]
        self._derived[key] = sub
        return sub

    # ------------------------------------------------------------------ journeys
    def journey(self, ready0: np.ndarray, target: int, *, max_rounds: int = 5,
                transfers_at_start: bool = True) -> tuple[float, list[Leg]]:
        """The earliest-arrival journey to stop ``target`` (fewest trains among the earliest).

        Returns ``(arrival_s, legs)``; ``(inf, [])`` when the target is not reached. Legs are
        trains and transfers in travel order.
        """
        r0 = np.asarray(ready0, dtype=float).reshape(1, -1)
        best, snaps = self.earliest_arrival(r0, max_rounds=max_rounds, transfers_at_start=transfers_at_start, trace=True)
        arr_t = float(best[0, target])
        if not np.isfinite(arr_t):
            return INF, []
        d = self._d()
        tf_time: dict[tuple[int, int], float] = {}
        for f, t, s in zip(self.tf_from, self.tf_to, self.tf_s):
            tf_time[(int(f), int(t))] = min(float(s), tf_time.get((int(f), int(t)), INF))
        legs: list[Leg] = []
        stop, arrival, kmax = int(target), arr_t, len(snaps) - 1
        while True:
            j = next(i for i in range(kmax + 1) if snaps[i]["new"][stop] == arrival)
            sn = snaps[j]
            e = int(sn["ev_at"][stop])
            t = int(d["ev_trip"][e])
            b = int(sn["first"][t])
            b_stop = int(self.ev_stop[b])
            legs.append(Leg("train", b_stop, stop, float(self.ev_dep_s[b]), float(self.ev_arr_s[e]), t))
            label, src = float(sn["ready"][b_stop]), int(sn["ready_src"][b_stop])
            if src == -1:  # boarded where the traveller was ready at the start
                break
            if src == -2:  # changed trains at b_stop after an earlier train
                stop, arrival, kmax = b_stop, label - float(self.change_s[b_stop]), j - 1
                continue
            prev = label - tf_time[(src, b_stop)]
            legs.append(Leg("transfer", src, b_stop, prev, label, -1))
            earlier = [i for i in range(j) if snaps[i]["new"][src] == prev]
            if not earlier:  # a transfer straight from where the traveller started
                break
            stop, arrival, kmax = src, prev, j - 1
        legs.reverse()
        return arr_t, legs

    # ------------------------------------------------------------------ convenience
    def departures_from(self, stop: int) -> np.ndarray:
        """Departure times (s, sorted) of every trip that boards at ``stop`` and continues."""
        d = self._d()
        m = (self.ev_stop == stop) & ~d["last_of_trip"]
        return np.sort(self.ev_dep_s[m])

    def direct_trips(self) -> np.ndarray:
        """Number of trips a day from each stop to each later stop of the same trip, ``(S, S)``."""
        S = self.n_stops
        out = np.zeros((S, S), dtype=np.int64)
        for t in range(self.n_trips):
            st = self.ev_stop[self.trip_start[t]:self.trip_start[t + 1]]
            u = np.unique(st)
            if len(u) < len(st):  # a loop calling twice: count each ordered pair once
                seen = set()
                for i in range(len(st)):
                    for j in range(i + 1, len(st)):
                        if (st[i], st[j]) not in seen and st[i] != st[j]:
                            seen.add((st[i], st[j]))
                            out[st[i], st[j]] += 1
                continue
            ii, jj = np.triu_indices(len(st), 1)
            np.add.at(out, (st[ii], st[jj]), 1)
        return out

    def fastest_direct_s(self) -> np.ndarray:
        """Fastest direct in-vehicle time (s) between every ordered pair of stops, ``(S, S)``."""
        S = self.n_stops
        out = np.full((S, S), INF)
        for t in range(self.n_trips):
            lo, hi = self.trip_start[t], self.trip_start[t + 1]
            st = self.ev_stop[lo:hi]
            dep, arr = self.ev_dep_s[lo:hi], self.ev_arr_s[lo:hi]
            ii, jj = np.triu_indices(len(st), 1)
            vals = arr[jj] - dep[ii]
            np.minimum.at(out, (st[ii], st[jj]), vals)
        np.fill_diagonal(out, INF)
        return out

    def fastest_journeys(self, origins: np.ndarray | None = None, *, max_rounds: int = 5,
                         transfers_at_ends: bool = False) -> np.ndarray:
        """Fastest scheduled journey of the day (s, departure to arrival, changes allowed) from each
        origin stop to every stop, ``(len(origins), S)``.

        The fastest journey of the day departs exactly with some train from the origin, so one
        earliest-arrival query per departure of the origin (a batch) and the minimum of
        ``arrival − departure`` give it exactly. With ``transfers_at_ends=False`` the journey starts
        on a train at the origin stop itself (station to station, as Zhejiang reports the one-hour
        circle); otherwise a same-city transfer may come first.
        """
        S = self.n_stops
        orig = np.arange(S) if origins is None else np.asarray(origins, dtype=np.int64)
        out = np.full((len(orig), S), INF)
        for i, o in enumerate(orig):
            deps = np.unique(self.departures_from(int(o)))
            if transfers_at_ends:
                for f, t, s in zip(self.tf_from, self.tf_to, self.tf_s):
                    if f == o:
                        deps = np.union1d(deps, self.departures_from(int(t)) - s)
            if not len(deps):
                continue
            r0 = np.full((len(deps), S), INF)
            r0[:, o] = deps
            arr = self.earliest_arrival(r0, max_rounds=max_rounds, transfers_at_start=transfers_at_ends)
            out[i] = np.min(arr - deps[:, None], axis=0)
        out[np.arange(len(orig)), orig] = 0.0
        return out


__all__ = ["BLOCK", "CompiledTimetable", "INF", "Leg"]
