"""Build the YRD GTFS feed ``networks/transit/cr-2020/`` from the 2020 station boards and the 2016 feed.

Run from the repository root (after ``build_gtfs.py``, whose feed ``transit/cr-2016`` it reads)::

    python networks/build/build_gtfs_2020.py --shared /work/shared

Inputs (read-only): ``<shared>/data/timetables/railwayvis_station_boards_2020.csv`` (station boards
of the timetable in force from about 2020-12-30; GitHub thaddywu/RailwayVIS, Apache-2.0) and
``parse12306_stations_20160310.csv`` / ``parse12306_train_variants_20160310.csv`` (2016 timetable,
MIT: the province of each board station, as in ``board_pairs_2020.py``, and each 2016 train's
origin and terminus for the log); ``<shared>/osm/scgraph_world_railways_yrd_nodes.csv`` (ODbL:
stations of ``places_src.csv`` marked ``rail-near``); in the repository the shipped 2016 feed
``networks/transit/cr-2016/`` and ``networks/build/places_src.csv``.

It writes, each file atomically, ``networks/transit/cr-2020/*.txt`` (GTFS, same shape as cr-2016)
with ``LICENSE-RailwayVIS.txt`` and ``LICENSE-Parse12306.txt``, regenerates ``networks/places.csv``
(``build_bundle.build_places``: unchanged except for station rows added to ``places_src.csv``) and
writes ``networks/build/build_log_gtfs_2020.md``.

Rules (the log repeats them with the counts)
--------------------------------------------
1. *Board trains.* Every G/D/C train of the boards with calls at two or more YRD board stations
   (the station set, the matching of one train across boards, the ordering of its calls and the
   overnight unrolling are those of ``board_pairs_2020.py``; the same functions are called) is a
   trip with its board calls at their 2020 times. Times run past 24:00 after midnight.
2. *The 2016 counterpart.* A board train and a 2016 train (``cr-2016``; the parts of a split trip
   are taken together) are the same train when they share a public code and either
   (a) the board stations both call at number two or more and come in the same order in both, or
   (b) the 2016 train calls at exactly one board station and the 2020 train calls there too.
   Of several candidates the one with the most common board stations wins (then the one with the
   same origin and terminus, then the lowest 2016 train_no).
3. *Calls between two board calls* A and B (consecutive in 2020) are the 2016 counterpart's calls
   at non-board stations strictly between A and B, when the 2016 train calls at both A and B in
   that order within one trip part. The n calls are kept only if the 2020 train has the time to
   make them: ``t2020(A→B) ≥ fastest2020(A→B) + (STOP_LOSS_MIN + MIN_DWELL_MIN) × n``, where
   fastest2020 is the fastest board train of the same class (G, D or C) from A to B (an upper
   bound of that class's non-stop time), ``STOP_LOSS_MIN`` = 2 min the least braking and
   acceleration time of a stop (v/a at a = 0.5 m/s²: 1.9 min from 200 km/h, 2.8 from 300 [I]) and
   ``MIN_DWELL_MIN`` = 1 min the least dwell (the shortest in cr-2016) — lower bounds; otherwise the
   2020 train evidently no longer makes (all of) them and the section gets none. Kept calls keep
   their 2016 dwell, and their 2016 running offsets from A (dwells removed) are scaled to the rest
   of the 2020 time from A to B; where the 2016 dwells (often waits to be overtaken) leave less
   running time than ``fastest2020 + STOP_LOSS_MIN × n``, they are shortened in proportion (each to
   ≥ 1 min) to fit. No hop is faster than its floor (rule 9). Times are whole minutes.
4. *Calls beyond the first or last board call* (when that call is not the 2020 origin ``始`` or
   terminus ``终``) are the counterpart's calls before / after it with their 2016 running times
   relative to that call, up to the first board station (which the 2020 train does not call at, as
   its board shows) or the 2020 origin / terminus, whichever comes first, within one trip part.
5. A kept 2016 call that would make a hop of less than one minute or faster than ``MAX_KMH`` in a
   straight line is dropped (logged). Board calls are never changed.
6. *2016 trips carried over unchanged:* every trip of a 2016 train that calls at no board station
   or at one (assumption: they still ran in 2020), unless rule 2b merged it into a board train.
   *Dropped:* 2016 trains that call at two or more board stations and have no 2020 counterpart
   (their code is not on those stations' 2020 boards: they no longer ran; or it is, with another
   pattern or direction: the 2020 train is in the feed instead).
7. *Calls inferred from running-time slack* in every section A→B (consecutive board calls) that
   rules 3–4 leave without 2016 evidence: the board train has no 2016 counterpart, or its
   counterpart does not run from A to B (“no 2016 section”). *Candidates*, each with its stop share:
   the stations without a board where the 2016 trains running from A to B with no board call in
   between stopped; if there are none, the stops between A and B of the ``add-trip-pattern`` edits of
   lines opened 2016–2020 (services.yaml), weighted by their departures a day (the edits' stop lists
   are assumptions [M?]); if there are none either, the calls of all 2016 trains calling at A and
   later at B (their board calls in between left out). Candidates are ordered by their straight-line
   fraction of the way from A to B. *Cost of a call*: braking and acceleration loss v/a at
   ``BRAKE_MS2`` = 0.5 m/s² [M] from ``RUN_KMH`` 300 (G), 250 (D), 200 km/h (C) [M] — 2.8, 2.3,
   1.9 min — plus ``DWELL_MIN`` = 2 min [S: median of the cr-2016 calls at stations without a board].
   *Calls a train can make*: ``floor((t(A→B) − fastest + m × cost) / cost)``, fastest as in rule 3
   and m the calls the fastest 2016 reference train of the class made between A and B (a section
   where even the fastest train stops; 0 where the candidates come from patterns or from 2016
   trains that also called at board stations in between). *Which*: the trains of one section (A, B) share the
   candidates: a candidate of stop share s gets ``round(s × trains)`` of them (the rounding remainder
   carried to the station's next section), highest shares first, to the trains with the most calls
   left (then the most slack, then code). *Times*: the running time left after the calls' losses and
   dwells is spread from A to B; a call is reached at the fraction of it at which the 2016 trains
   that call there reach it (median; their dwells and stop losses taken out), or, for pattern
   candidates, at its fraction of the straight-line distance A → calls → B; a call adds half its
   loss braking, its dwell and half its loss accelerating; whole minutes; no hop faster than its floor
   (rule 9). A call at a station already in the trip, or one that would make a hop of under a minute
   or over ``MAX_KMH``, is not added. This allocation was chosen over the alternative (every train
   makes as many calls as its slack allows, at the highest shares) by the hold-out checks in the log.
8. *Marking*: ``stop_times.timepoint`` is 1 at board calls (2020 times) and 0 at every other call
   (times retimed, inferred or carried over from 2016); the extra column ``call_source`` says which
   rule made a call: ``board``, ``2016-between`` (rule 3), ``2016-before`` / ``2016-after``
   (rule 4), ``inferred`` (rule 7), ``2016-carried`` (rule 6).
9. *Hop floors* (rules 3 and 7; rules 4 and 6 keep 2016 running times, which are at or above them).
   Scaling 2016 running offsets to a 2020 time ignores that each stop costs braking and
   acceleration and that approaches to big stations are slow, and could make a hop faster than any
   train ever ran it (G7508 杭州东→桐乡 in 14 min; 17 min the fastest in 2016, and the
   Shanghai–Hangzhou HSR was not sped up). The *floor* of a hop x→y of a class-K train between board
   calls A and B is the largest, over K and the faster classes (D: also G; C: also D and G — a
   train is no faster than a faster class's train on the same track), of the 2016 minimum
   stop-to-stop running time x→y of that class (consecutive calls of one cr-2016 trip) times the
   section's speed-up of that class ``r = min(1, fastest2020(A→B) / fastest2016(A→B))`` (the fastest
   board train of the class against the fastest 2016 train of the class calling at A and later B;
   r = 1 when not both known; e.g. Shanghai Hongqiao→Nanjing South G 59/67: 350 km/h running from
   2017 [M]); a faster class's value is capped at K's own 2016 minimum (where K ran faster than
   the faster class in 2016, e.g. D on the Wenzhou–Fuzhou line, its own minimum is the evidence).
   A hop that no such 2016 train ran (stations of lines opened since, calls of the
   ``services.yaml`` patterns, or a skipped call between) gets a physics floor: the straight-line
   distance at ``RUN_KMH`` of the class plus the braking and acceleration loss v/a at ``BRAKE_MS2``
   (2·√(d/a) if the hop is too short to reach v) [M: the speeds and rate of rule 7], times r.
   Floors are rounded to whole minutes (≥ 1). Between A and B the 2020 running time is shared in
   proportion to the rule's running times (2016 offsets for rule 3, 2016 fractions or distance
   for rule 7) except that a hop below its floor is held at the floor and the rest is shared among
   the other hops (board calls never move). If the floors and the dwells do not fit, the dwells
   are shortened in proportion (each ≥ 1 min); if the floors and 1-minute dwells do not fit either,
   the call of the lowest 2016 stop share between A and B goes first (then the one whose hops'
   floors save the most) until they do (logged: the 2020 train evidently cannot make it). Rule 7
   gives a call only to a train whose floors with it and 1-minute dwells still fit, and a station's
   calls that no train of a section can make are carried to its next section like the rounding
   remainder, so that its calls a day are kept where the trains have the time.

Trip ids: the public code of a board train (``G7301``); carried-over trips keep their cr-2016 id
(the 12306 train_no). The service day is 2020-12-31 (a Thursday, like the 2016-03-10 of cr-2016,
and the first whole day after 2020-12-30, from which the boards' timetable was in force [I]).
"""

from __future__ import annotations

import argparse
import math
import shutil
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
NETWORKS = HERE.parent
REPO = NETWORKS.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO))
import board_pairs_2020 as bp  # noqa: E402  (board stations, train matching across boards, overnight unrolling)
import build_bundle as bb  # noqa: E402  (haversine, build_places)

from tx_transport._files import atomic_write_text  # noqa: E402
from tx_transport.errors import NetworkDataError  # noqa: E402
from tx_transport.transit.config import station_id  # noqa: E402  (the loader's own name → place resolution)

FEED_ID = "cr-2020"
FEED_DIR = NETWORKS / "transit" / FEED_ID
FEED_2016 = NETWORKS / "transit" / "cr-2016"
LOG_FILE = HERE / "build_log_gtfs_2020.md"
SERVICE_DATE = "20201231"
SERVICE_ID = "d20201231"
RAILWAYVIS = "thaddywu/RailwayVIS"
RAILWAYVIS_URL = "https://github.com/thaddywu/RailwayVIS"
RAILWAYVIS_COMMIT = "68e69805cce2ae8b818dba102cf8354ead54af43"
PARSE12306 = "metromancn/Parse12306"
PARSE12306_URL = "https://github.com/metromancn/Parse12306"
PARSE12306_COMMIT = "6fc9f94512b80238bb862b6825e15470bf83e40b"
STOP_LOSS_MIN = 2.0  # least braking + acceleration time of a stop [I: 250–350 km/h EMU at ~0.4–0.5 m/s² lose ~2.5–3 min]
MIN_DWELL_MIN = 1.0  # least dwell of a call [I]
# rule 7: the time one call costs a train (braking and acceleration loss v/a, plus the dwell)
BRAKE_MS2 = 0.5  # braking and acceleration rate of an EMU [M: service braking / mean acceleration of CRH EMUs ~0.5 m/s²]
# running speed by class [M: the YRD HSR lines run G trains at 300 (rail.yaml), D EMUs at 200–250; the 2020 C trains of the
# boards run on 200 km/h lines (Nanjing–Qidong, Shanghai–Suzhou–Nantong, Lianyungang–Nanjing)]
RUN_KMH = {"G": 300.0, "D": 250.0, "C": 200.0}
DWELL_MIN = 2  # [S: cr-2016, median dwell of the G (2534) and D (873) calls at stations without a board: 2 min]
MAX_KMH = 380.0  # faster than any scheduled Chinese train even as a straight-line average (as tests/test_gtfs_feed.py)


# --------------------------------------------------------------------------- data
@dataclass
class Call:
    """One call of a trip: place id, minutes after midnight of the service day, and where it comes from."""

    stop: str
    arr: float
    dep: float
    origin: str = "board"  # board | 2016-between | 2016-before | 2016-after
    type: str = ""  # board type (始 / 过 / 终) of a board call


@dataclass
class Train16:
    """A train of the 2016 feed: its trips (parts split at out-of-area gaps) and calls."""

    train_no: str
    codes: list[str]
    trip_ids: list[str]
    calls: list[Call]  # all parts in order
    part: list[int]  # trip part of each call
    origin: str = ""
    terminus: str = ""
    board_calls: list[str] = field(default_factory=list)


@dataclass
class Train20:
    """A board train: key of ``board_pairs_2020.board_trains``, codes in travel order, calls at board stations."""

    key: tuple
    codes: list[str]
    calls: list[Call]

    @property
    def trip_id(self) -> str:
        return self.codes[0]


def minutes(t: str) -> int:
    h, m, s = (int(x) for x in t.split(":"))
    return h * 60 + m + (1 if s >= 30 else 0)


def gtfs_time(m: float) -> str:
    m = int(m)
    return f"{m // 60:02d}:{m % 60:02d}:00"


def load_2016(feed_dir: Path, variants: pd.DataFrame) -> tuple[dict[str, Train16], dict[str, pd.DataFrame]]:
    """The shipped cr-2016 feed by train (train_no; the parts ``-1``, ``-2`` of a split trip together)."""
    tabs = {n: pd.read_csv(feed_dir / f"{n}.txt", dtype=str, keep_default_na=False) for n in ("stops", "routes", "trips", "stop_times")}
    st = tabs["stop_times"].assign(seq=lambda d: d.stop_sequence.astype(int)).sort_values(["trip_id", "seq"])
    ends = variants.set_index("train_no")[["from", "to"]]
    trains: dict[str, Train16] = {}
    for r in tabs["trips"].sort_values("trip_id").itertuples(index=False):
        base, _, k = r.trip_id.rpartition("-")
        train_no = base if base and k.isdigit() else r.trip_id
        t = trains.setdefault(train_no, Train16(train_no, r.trip_short_name.split("/"), [], [], []))
        t.trip_ids.append(r.trip_id)
        if train_no in ends.index:
            t.origin, t.terminus = ends.loc[train_no, "from"], ends.loc[train_no, "to"]
    by_trip = {tid: g for tid, g in st.groupby("trip_id", sort=False)}
    for t in trains.values():
        for p, tid in enumerate(sorted(t.trip_ids)):
            g = by_trip[tid]
            for s, a, d in zip(g.stop_id, g.arrival_time, g.departure_time):
                t.calls.append(Call(s, minutes(a), minutes(d), origin="2016"))
                t.part.append(p)
    return trains, tabs


# --------------------------------------------------------------------------- matching
def match_trains(trains20: list[Train20], trains16: dict[str, Train16], board_ids: set[str]) -> dict[str, tuple[str, str]]:
    """2020 trip id -> (2016 train_no, rule '2a' or '2b'), by rule 2 of the module docstring."""
    by_code: dict[str, list[str]] = {}
    for t in trains16.values():
        t.board_calls = [c.stop for c in t.calls if c.stop in board_ids]
        for c in t.codes:
            by_code.setdefault(c, []).append(t.train_no)
    out: dict[str, tuple[str, str]] = {}
    for r in trains20:
        seq20 = [c.stop for c in r.calls]
        best = None
        for tn in sorted({n for c in r.codes for n in by_code.get(c, [])}):
            t = trains16[tn]
            b16 = t.board_calls
            common = [s for s in seq20 if s in b16]
            if len(common) >= 2 and len(set(common)) == len(common) and [s for s in b16 if s in common] == common:
                rule = "2a"
            elif len(b16) == 1 and b16[0] in seq20:
                rule = "2b"
            else:
                continue
            score = (len(common), (t.origin, t.terminus) == (r.key[2], r.key[3]))
            if best is None or score > best[0]:  # candidates in train_no order: ties keep the lowest
                best = (score, tn, rule)
        if best is not None:
            out[r.trip_id] = (best[1], best[2])
    return out


# --------------------------------------------------------------------------- hop floors (rule 9)
FASTER_OR_SAME = {"G": ("G",), "D": ("D", "G"), "C": ("C", "D", "G")}  # classes whose 2016 hop times bound a class's from below


class HopFloors:
    """The least running time of a hop x→y of a train of class ``cls`` in the section A→B (rule 9), in minutes.

    For the train's class and each faster class (D: also G; C: also D and G; a train is no faster than
    the faster classes' trains on the same track, unless its own class was in 2016): the 2016 minimum
    stop-to-stop running time from x to y of that class (consecutive calls of one trip part) times the
    section's speed-up of that class ``r = min(1, fastest_new(A→B) / fastest_old(A→B))`` (1 when not
    both known), a faster class's capped at the class's own 2016 minimum; the floor is the largest.
    A hop no such 2016 train ran gets the physics floor instead: the straight-line distance at
    the class's ``RUN_KMH`` plus the braking and acceleration loss v/a at ``BRAKE_MS2`` (2·√(d/a) where
    the hop is too short to reach v), times the class's r. ``reverse``: hop times are looked up the
    other way (y→x; the 2016 hold-out, whose hidden calls must not set their own floors)."""

    def __init__(self, trains16: dict[str, Train16], km: Callable[[str, str], float],
                 fastest_new: dict[tuple[str, str, str], float] | None = None,
                 fastest_old: dict[tuple[str, str, str], float] | None = None, *, reverse: bool = False):
        self.km, self.fastest_new, self.fastest_old = km, fastest_new or {}, fastest_old or {}
        self.hop: dict[tuple[str, str, str], float] = {}
        for t in trains16.values():
            cls = t.codes[0][0]
            for p, q, i, j in zip(t.calls[:-1], t.calls[1:], t.part[:-1], t.part[1:]):
                if i == j and p.stop != q.stop:
                    k = (cls, q.stop, p.stop) if reverse else (cls, p.stop, q.stop)
                    self.hop[k] = min(self.hop.get(k, math.inf), q.arr - p.dep)

    def ratio(self, cls: str, a: str, b: str) -> float:
        new, old = self.fastest_new.get((cls, a, b)), self.fastest_old.get((cls, a, b))
        return min(1.0, new / old) if new and old else 1.0

    def observed(self, cls: str, x: str, y: str, a: str, b: str) -> float | None:
        """The largest of the 2016 minimum hops x→y of the class and of the faster classes, each times its
        class's speed-up in A→B, a faster class's at most the class's own 2016 minimum (None if no 2016
        train of those classes ran the hop)."""
        own = self.hop.get((cls, x, y), math.inf)
        got = [min(self.hop[(c, x, y)] * self.ratio(c, a, b), own) if c != cls else own * self.ratio(c, a, b)
               for c in FASTER_OR_SAME[cls] if (c, x, y) in self.hop]
        return max(got) if got else None

    def physics(self, cls: str, x: str, y: str) -> float:
        """Straight-line distance at the class's running speed plus v/a (minutes, no speed-up)."""
        v, d = RUN_KMH[cls] / 3.6, self.km(x, y) * 1000.0  # m/s, m
        t = d / v + v / BRAKE_MS2 if d >= v * v / BRAKE_MS2 else 2.0 * math.sqrt(d / BRAKE_MS2)
        return t / 60.0

    def __call__(self, cls: str, x: str, y: str, a: str, b: str) -> float:
        obs = self.observed(cls, x, y, a, b)
        return obs if obs is not None else self.physics(cls, x, y) * self.ratio(cls, a, b)


def whole_floor(f: float) -> int:
    """A floor in whole minutes (the feed's precision): rounded, at least 1."""
    return max(1, math.floor(f + 0.5))


def fit_hops(base: list[float], floors: list[int], total: int) -> list[int] | None:
    """Whole-minute running times of the hops of a section: ``total`` minutes shared in proportion to
    ``base`` where that keeps every hop at or above its floor; hops that would fall below are held at
    the floor and the rest of the time is shared among the others (repeated until none falls below).
    The running sums are rounded to whole minutes (a whole-minute floor stays kept). None if the floors
    exceed ``total``."""
    n = len(base)
    if sum(floors) > total:
        return None
    held: set[int] = set()
    while True:
        free = [k for k in range(n) if k not in held]
        left = total - sum(floors[k] for k in held)
        wsum = sum(max(base[k], 0.0) for k in free)
        x = {k: left * max(base[k], 0.0) / wsum if wsum > 0 else left / len(free) for k in free}
        low = [k for k in free if x[k] < floors[k] - 1e-9]
        if not low:
            break
        held.update(low)
    x.update({k: float(floors[k]) for k in held})
    cum = np.floor(np.cumsum([x[k] for k in range(n)]) + 0.5 + 1e-9).astype(int)
    cum[-1] = total
    return np.diff(cum, prepend=0).tolist()


def fit_section(t: int, base: list[float], floors: list[int], dwells: list[float], min_run: float = 0.0
                ) -> tuple[list[int], list[int]] | None:
    """Whole-minute hop running times and dwells of calls between two board calls ``t`` minutes apart
    (rule 9): running time at least the sum of the hop floors and ``min_run``; the dwells kept if they
    leave that much, else shortened (each to ≥ ``MIN_DWELL_MIN``); the running time shared by
    ``fit_hops``. None if even the shortest dwells leave too little."""
    need = max(sum(floors), math.ceil(min_run - 1e-9))
    if t - MIN_DWELL_MIN * len(dwells) < need:
        return None
    dw = fit_dwells(dwells, t - need)
    return fit_hops(base, floors, t - sum(dw)), dw


def fit_dwells(dwells: list[float], room: float) -> list[int]:
    """Whole-minute dwells: the given ones if they fit into ``room`` minutes, else shortened in proportion
    (each to at least ``MIN_DWELL_MIN``) to fill it; the caller makes sure ``room`` ≥ that minimum."""
    d = [max(int(round(x)), int(MIN_DWELL_MIN)) for x in dwells]
    if sum(d) <= room:
        return d
    lo = int(MIN_DWELL_MIN)
    return [lo + h for h in fit_hops([x - lo for x in d], [0] * len(d), int(math.floor(room)) - lo * len(d))]


# --------------------------------------------------------------------------- trips
class TripBuilder:
    """Adds a 2016 counterpart's non-board calls to a board train (rules 3–5)."""

    def __init__(self, board_ids: set[str], fastest: dict[tuple[str, str, str], float], pos: pd.DataFrame, name_of: dict[str, str],
                 *, floors: HopFloors | None = None, share: Callable[[str, str, str], float] | None = None):
        self.board_ids, self.fastest, self.pos, self.name_of = board_ids, fastest, pos, name_of
        self.floors = floors  # rule 9 (None: running time scaled in proportion only, no floor but 1 min a hop)
        self.share = share or (lambda a, b, x: 0.0)  # 2016 stop share of x between A and B: the calls dropped first
        self.floor_notes: list[str] = []
        self.id_of = {n: i for i, n in name_of.items()}  # timetable name -> place id (2016 stops and board stations)
        self.stats: Counter = Counter()
        self.notes: list[str] = []
        self.pending: list[tuple[str, Call, Call]] = []  # sections left to rule 7: (trip id, board call A, board call B)

    def km(self, a: str, b: str) -> float:
        return float(bb.haversine_km(self.pos.lat[a], self.pos.lon[a], self.pos.lat[b], self.pos.lon[b]))

    def ok_hop(self, a: Call, b: Call) -> bool:
        dt = b.arr - a.dep
        return dt >= 1 and self.km(a.stop, b.stop) / (dt / 60.0) <= MAX_KMH

    def build(self, r: Train20, t: Train16 | None) -> list[Call]:
        calls = [Call(c.stop, c.arr, c.dep, "board", c.type) for c in r.calls]
        if t is None:  # no 2016 counterpart: every section is left to rule 7
            self.pending += [(r.trip_id, a, b) for a, b in zip(calls[:-1], calls[1:])]
            return self._ends(calls)
        pos16 = {}
        for i, c in enumerate(t.calls):
            pos16.setdefault(c.stop, i)
        out: list[Call] = []
        for a, b in zip(calls[:-1], calls[1:]):
            out.append(a)
            out += self._between(r, t, pos16, a, b)
        out.append(calls[-1])
        out = self._before(r, t, pos16, out) + out[1:] if out else out
        out = out[:-1] + self._after(r, t, pos16, out)
        seen: set[str] = set()
        uniq = []
        for c in out:  # a station twice in one trip (a 2016 loop): keep the first call
            if c.stop in seen:
                self.stats["calls dropped: station already in the trip"] += 1
                continue
            seen.add(c.stop)
            uniq.append(c)
        return self._ends(uniq)

    def _between(self, r: Train20, t: Train16, pos16: dict[str, int], a: Call, b: Call) -> list[Call]:
        ia, ib = pos16.get(a.stop), pos16.get(b.stop)
        if ia is None or ib is None or ia >= ib or t.part[ia] != t.part[ib]:
            self.stats["sections: no 2016 section (a bracketing board call missing in 2016)"] += 1
            self.pending.append((r.trip_id, a, b))
            return []
        mid = t.calls[ia + 1:ib]
        keep = [c for c in mid if c.stop not in self.board_ids]
        if not keep:
            self.stats["sections: 2016 made no non-board call"] += 1
            return []
        if len(keep) < len(mid):
            self.stats["sections: 2016 also called at a board station the 2020 train skips (not kept)"] += 1
        a16, n = t.calls[ia], len(keep)
        dw_before, off = 0.0, {}
        for c in mid:  # 2016 running time from A to each call, the dwells of the intermediate calls removed
            off[id(c)] = c.arr - a16.dep - dw_before
            dw_before += c.dep - c.arr
        r16 = (t.calls[ib].arr - a16.dep) - dw_before
        t20 = b.arr - a.dep
        fastest = self.fastest[(r.trip_id[0], a.stop, b.stop)]
        r_min = fastest + STOP_LOSS_MIN * n  # least 2020 running time with these calls
        if t20 < r_min + MIN_DWELL_MIN * n:
            self.stats["sections: too fast for the 2016 calls (not kept)"] += 1
            self.stats["calls not kept: section too fast"] += n
            if len(self.notes) < 400:
                self.notes.append(f"{r.trip_id} {self.name_of[a.stop]}→{self.name_of[b.stop]}: {t20:.0f} min, the fastest "
                                  f"{r.trip_id[0]} train {fastest:.0f}: too fast for the 2016 calls at "
                                  f"{', '.join(self.name_of[c.stop] for c in keep)} (needs ≥ {r_min + MIN_DWELL_MIN * n:.0f})")
            return []
        cls, dropped = r.trip_id[0], []
        while True:  # rule 9: hop floors; where they do not fit, the calls of the lowest 2016 share go first
            floors = self.hop_floors(cls, a, b, [c.stop for c in keep])
            base = np.diff([0.0, *(off[id(c)] for c in keep), r16]).tolist()
            fit = fit_section(int(t20), base, floors, [max(c.dep - c.arr, MIN_DWELL_MIN) for c in keep],
                              fastest + STOP_LOSS_MIN * len(keep))
            if fit is not None or not keep:
                break
            weakest = self.weakest(cls, a, b, keep)
            dropped.append(keep.pop(weakest))
        if dropped:
            self.stats["rule 9: sections where the hop floors leave no time for all 2016 calls"] += 1
            self.stats["rule 9: 2016 calls dropped (hop floors)"] += len(dropped)
            self.note_floor(r.trip_id, a, b, t20, dropped, keep)
        if fit is None:
            return []
        hops, dwells = fit
        if self.floors is not None and hops != fit_hops(base, [1] * len(base), int(t20) - sum(dwells)):
            self.stats["rule 9: sections whose retimed hops a floor changed (2016 calls)"] += 1
        if sum(dwells) < sum(max(c.dep - c.arr, MIN_DWELL_MIN) for c in keep):
            self.stats["sections: 2016 dwells shortened to fit"] += 1
        out, time, prev = [], a.dep, a
        for c, h, d in zip(keep, hops, dwells):
            new = Call(c.stop, time + h, time + h + d, "2016-between")
            time = new.dep
            if not self.ok_hop(prev, new):
                self.stats["calls dropped: hop under 1 min or over 380 km/h"] += 1
                continue
            out.append(new)
            prev = new
        while out and not self.ok_hop(out[-1], b):
            out.pop()
            self.stats["calls dropped: hop under 1 min or over 380 km/h"] += 1
        self.stats["sections: 2016 calls kept and retimed"] += 1
        self.stats["calls added: between board calls"] += len(out)
        return out

    def hop_floors(self, cls: str, a: Call, b: Call, stops: list[str]) -> list[int]:
        """Whole-minute floors of the hops A → stops → B (rule 9; 1 min each without ``floors``)."""
        seq = [a.stop, *stops, b.stop]
        if self.floors is None:
            return [1] * (len(seq) - 1)
        return [whole_floor(self.floors(cls, x, y, a.stop, b.stop)) for x, y in zip(seq[:-1], seq[1:])]

    def weakest(self, cls: str, a: Call, b: Call, calls: list[Call]) -> int:
        """Index of the call to drop first when the floors do not fit: the lowest 2016 stop share between A and B,
        then the one whose two hops' floors exceed the floor of the hop without it by the most, then the last."""
        stops = [c.stop for c in calls]
        f = self.hop_floors(cls, a, b, stops)

        def saving(k: int) -> int:
            return f[k] + f[k + 1] - self.hop_floors(cls, a, b, stops[:k] + stops[k + 1:])[k]
        return min(range(len(calls)), key=lambda k: (self.share(a.stop, b.stop, stops[k]), -saving(k), -k))

    def note_floor(self, trip_id: str, a: Call, b: Call, t: float, dropped: list[Call], kept: list[Call]) -> None:
        if len(self.floor_notes) < 400:
            name = self.name_of.get
            self.floor_notes.append(f"{trip_id} {name(a.stop, a.stop)}→{name(b.stop, b.stop)} ({t:.0f} min): dropped "
                                    f"{', '.join(name(c.stop, c.stop) for c in dropped)}; kept "
                                    f"{', '.join(name(c.stop, c.stop) for c in kept) or 'none'}")

    def _walk(self, t: Train16, i0: int, step: int, stop_at: str | None) -> list[int]:
        idx, i = [], i0 + step
        while 0 <= i < len(t.calls) and t.part[i] == t.part[i0] and t.calls[i].stop not in self.board_ids:
            idx.append(i)
            if t.calls[i].stop == stop_at:
                break
            i += step
        return idx

    def _before(self, r: Train20, t: Train16, pos16: dict[str, int], calls: list[Call]) -> list[Call]:
        first = calls[0]
        i0 = pos16.get(first.stop)
        if first.type == "始" or i0 is None:
            return [first]
        out, nxt = [first], first
        for i in self._walk(t, i0, -1, self.id_of.get(r.key[2])):
            c = t.calls[i]
            off = t.calls[i0].arr
            new = Call(c.stop, first.arr - (off - c.arr), first.arr - (off - c.dep), "2016-before")
            if not self.ok_hop(new, nxt):
                self.stats["calls dropped: hop under 1 min or over 380 km/h"] += 1
                break
            out.insert(0, new)
            nxt = new
        self.stats["calls added: before the first board call"] += len(out) - 1
        return out

    def _after(self, r: Train20, t: Train16, pos16: dict[str, int], calls: list[Call]) -> list[Call]:
        last = calls[-1]
        i0 = pos16.get(last.stop)
        if last.type == "终" or i0 is None:
            return [last]
        out, prev = [last], last
        for i in self._walk(t, i0, +1, self.id_of.get(r.key[3])):
            c = t.calls[i]
            off = t.calls[i0].dep
            new = Call(c.stop, last.dep + (c.arr - off), last.dep + (c.dep - off), "2016-after")
            if not self.ok_hop(prev, new):
                self.stats["calls dropped: hop under 1 min or over 380 km/h"] += 1
                break
            out.append(new)
            prev = new
        self.stats["calls added: after the last board call"] += len(out) - 1
        return out

    @staticmethod
    def _ends(calls: list[Call]) -> list[Call]:
        calls[0].arr = calls[0].dep
        calls[-1].dep = calls[-1].arr
        if calls[0].arr < 0:  # a 2016 call before the first board call falls on the evening before: shift the trip
            for c in calls:
                c.arr += 1440
                c.dep += 1440
        return calls


# --------------------------------------------------------------------------- rule 7: calls inferred from running-time slack
@dataclass
class SectionRef:
    """Where trains running from board call A to board call B stop in between (rule 7).

    ``n`` reference trains (or pattern departures a day), ``count[x]`` of them stop at ``x``;
    ``order`` the candidates along the line from A; ``fastest_calls[cls]`` the calls the fastest
    reference train of a class makes between A and B; ``at[x]`` the fraction of the running time
    from A to B (stop losses and dwells taken out) at which the 2016 trains that call at x reach it
    (median; empty for patterns)."""

    source: str
    n: float
    count: dict[str, float]
    order: list[str]
    fastest_calls: dict[str, int] = field(default_factory=dict)
    at: dict[str, float] = field(default_factory=dict)

    def reversed(self) -> SectionRef:
        return SectionRef(self.source, self.n, dict(self.count), self.order[::-1], dict(self.fastest_calls),
                          {x: 1.0 - f for x, f in self.at.items()})


SRC_2016 = "2016 trains, no board call between"
SRC_2016_BROAD = "2016 trains, board calls between left out"
SRC_PATTERNS = "services.yaml patterns of lines opened 2016–2020"


class SectionRefs:
    """Candidate calls between two board calls (rule 7), looked up by (A, B) and cached.

    From the 2016 trains that call at A and later at B within one trip part with no board call in
    between (the section as the 2020 train runs it); else from the ``add-trip-pattern`` edits of lines
    opened 2016–2020 (``patterns``: stops, departures a day, id) that call at A and later at B; else
    from all 2016 trains calling at A and later at B (their calls at board stations in between left out)."""

    def __init__(self, trains16: dict[str, Train16], board_ids: set[str], km: Callable[[str, str], float],
                 patterns: list[tuple[list[str], float, str]] | None = None):
        self.trains16, self.board_ids, self.km, self.patterns = trains16, board_ids, km, patterns or []
        self.by_stop: dict[str, set[str]] = {}
        for t in trains16.values():
            for c in t.calls:
                self.by_stop.setdefault(c.stop, set()).add(t.train_no)
        self.cache: dict[tuple[str, str], SectionRef | None] = {}
        self.order_checks = Counter()  # reference sequences whose order agrees / disagrees with the geometric order

    def frac(self, a: str, b: str, x: str) -> float:
        """How far x lies from a towards b (0 … 1), by straight-line distances."""
        da, db = self.km(a, x), self.km(x, b)
        return da / (da + db) if da + db > 0 else 0.5

    def get(self, a: str, b: str) -> SectionRef | None:
        if (a, b) not in self.cache:
            ref = self._from_2016(a, b)
            if ref is None or ref.source != SRC_2016:  # a pattern of a new line is nearer than 2016 trains that stop between
                ref = self._from_patterns(a, b) or ref
            self.cache[(a, b)] = ref
        return self.cache[(a, b)]

    def _from_2016(self, a: str, b: str) -> SectionRef | None:
        primary, broad = [], []
        for tn in sorted(self.by_stop.get(a, set()) & self.by_stop.get(b, set())):
            t = self.trains16[tn]
            ia = next(i for i, c in enumerate(t.calls) if c.stop == a)
            ib = next(i for i, c in enumerate(t.calls) if c.stop == b)
            if ia >= ib or t.part[ia] != t.part[ib]:
                continue
            mid = t.calls[ia + 1:ib]
            calls = [c.stop for c in mid if c.stop not in self.board_ids]
            rec = (t.codes[0][0], t.calls[ib].arr - t.calls[ia].dep, len(calls), tn, calls, run_fractions(t.calls[ia:ib + 1], t.codes[0][0]))
            broad.append(rec)
            if len(calls) == len(mid):
                primary.append(rec)
        recs = primary or broad
        if not recs:
            return None
        count = Counter(x for r in recs for x in set(r[4]))
        order = sorted(count, key=lambda x: (self.frac(a, b, x), x))
        for r in recs:
            seq = [x for x in r[4] if x in count]
            self.order_checks["agrees" if seq == sorted(seq, key=order.index) else "disagrees"] += 1
        fastest = {}  # calls of the fastest train of each class: only where it runs the section as the 2020 train does
        for cls in sorted({r[0] for r in primary}):
            fastest[cls] = min(r[1:4] for r in primary if r[0] == cls)[1]
        at = {x: float(np.median(f)) for x in order if (f := [r[5][x] for r in recs if x in r[5]])}
        return SectionRef(SRC_2016 if primary else SRC_2016_BROAD, float(len(recs)), dict(count), order, fastest, at)

    def _from_patterns(self, a: str, b: str) -> SectionRef | None:
        n, count = 0.0, Counter()
        for stops, per_day, _ in self.patterns:
            if a in stops and b in stops and stops.index(a) < stops.index(b):
                n += per_day
                for x in stops[stops.index(a) + 1:stops.index(b)]:
                    if x not in self.board_ids:
                        count[x] += per_day
        if not count:
            return None
        order = sorted(count, key=lambda x: (self.frac(a, b, x), x))
        return SectionRef(SRC_PATTERNS, n, dict(count), order, {})


def run_fractions(calls: list[Call], cls: str) -> dict[str, float]:
    """For a trip's calls from A (first) to B (last): the fraction of the running time from A to B at which it
    reaches each call in between, its dwells and the stop losses of rule 7 taken out (empty if nothing is left)."""
    loss = stop_cost_min(cls) - DWELL_MIN
    mid = calls[1:-1]
    run = (calls[-1].arr - calls[0].dep) - sum(c.dep - c.arr for c in mid) - loss * len(mid)
    out, dwelt = {}, 0.0
    if run <= 0:
        return out
    for k, c in enumerate(mid):
        out[c.stop] = min(max((c.arr - calls[0].dep - dwelt - loss * (k + 0.5)) / run, 0.0), 1.0)
        dwelt += c.dep - c.arr
    return out


def stop_cost_min(cls: str) -> float:
    """Minutes one call adds to a section: braking and acceleration loss v/a plus the dwell (rule 7)."""
    return RUN_KMH[cls] / 3.6 / BRAKE_MS2 / 60.0 + DWELL_MIN


@dataclass
class SectionRun:
    """One section A→B of one train left to rule 7: minutes from A's departure to B's arrival and the
    fastest train of its class between A and B."""

    key: str
    cls: str
    minutes: float
    fastest: float


def allocate(ref: SectionRef, runs: list[SectionRun], carry: dict[str, float], *, mode: str = "share",
             fits: Callable[[SectionRun, list[str]], bool] | None = None, carry_unplaced: bool = False) -> dict[str, list[str]]:
    """Rule 7: which candidate stations each train of one section (A, B) calls at.

    A train can make ``floor((t − fastest + m × cost) / cost)`` calls, ``m`` the calls the fastest reference
    train of its class makes (its slack for calls). ``mode="share"`` (the rule): candidates go by stop
    share, highest first; a candidate of share ``s`` gets ``round(s × len(runs))`` of the trains (the
    rounding remainder carried to the same station's next section, ``carry``), those with the most calls
    left (then the most slack, then key). ``mode="slack"`` (the alternative measured in the hold-out):
    every train makes as many calls as it can, at the candidates of the highest shares. ``fits`` (rule 9):
    a train gets a call only if its hop floors with the call still fit into its time (else the next train);
    ``carry_unplaced`` (rule 9): a station's calls that no train can make (no calls left, or no time within
    the floors) are carried to its next section like the rounding remainder (else they are lost)."""
    fits = fits or (lambda r, xs: True)
    cap, slack = {}, {}
    for r in runs:
        cost = stop_cost_min(r.cls)
        base = r.fastest - ref.fastest_calls.get(r.cls, 0) * cost
        cap[r.key] = min(max(math.floor((r.minutes - base) / cost + 1e-9), 0), len(ref.order))
        slack[r.key] = r.minutes - r.fastest
    chosen: dict[str, list[str]] = {r.key: [] for r in runs}
    by_share = sorted(ref.order, key=lambda x: (-ref.count[x], ref.order.index(x)))
    run_of = {r.key: r for r in runs}

    def ok(key: str, x: str) -> bool:
        return cap[key] > 0 and fits(run_of[key], sorted([*chosen[key], x], key=ref.order.index))
    if mode == "slack":
        for r in runs:
            for x in by_share:
                if ok(r.key, x):
                    chosen[r.key].append(x)
                    cap[r.key] -= 1
        return {key: sorted(v, key=ref.order.index) for key, v in chosen.items()}
    for x in by_share:
        want = carry.get(x, 0.0) + ref.count[x] / ref.n * len(runs)
        k = math.floor(want + 0.5)
        carry[x] = want - k
        able = sorted((r.key for r in runs if ok(r.key, x)), key=lambda key: (-cap[key], -slack[key], key))
        for key in able[:k]:
            chosen[key].append(x)
            cap[key] -= 1
        if carry_unplaced:  # rule 9: the calls no train of the section can make go to the station's next section
            carry[x] += max(k - len(able), 0)
    return {key: sorted(v, key=ref.order.index) for key, v in chosen.items()}


def floors_fit(floors: HopFloors | None, a: Call, b: Call, cls: str, stations: list[str]) -> bool:
    """Rule 9: can a train of class ``cls`` run from board call a to b with calls at ``stations`` (in order):
    its hop floors plus a 1-minute dwell a call within its time."""
    if floors is None:
        return True
    seq = [a.stop, *stations, b.stop]
    need = sum(whole_floor(floors(cls, x, y, a.stop, b.stop)) for x, y in zip(seq[:-1], seq[1:]))
    return need + MIN_DWELL_MIN * len(stations) <= b.arr - a.dep


def place_calls(a: Call, b: Call, stations: list[str], cls: str, km: Callable[[str, str], float],
                at: dict[str, float] | None = None, *, floors: HopFloors | None = None,
                share: Callable[[str], float] | None = None, dropped: list[str] | None = None) -> list[Call]:
    """Times of inferred calls between board calls a and b (rule 7): the running time left after the
    stops' losses and dwells is spread from A to B, each call reached at its fraction ``at`` of it (from
    the 2016 trains that call there) or, where no 2016 train gives one, at its fraction of the
    straight-line distance along A, the calls, B; a call adds half its loss braking before it, its
    dwell, half its loss accelerating after it. With ``floors`` (rule 9) no hop runs faster than its
    floor: hops held at their floors, the rest of the running time shared among the others in
    proportion, dwells shortened (each to ≥ 1 min) where the floors need it, and where even that does
    not fit the calls of the lowest ``share`` are dropped first (appended to ``dropped``)."""
    stations = list(stations)
    while stations:
        seq = [a.stop, *stations, b.stop]
        hops = [km(p, q) for p, q in zip(seq[:-1], seq[1:])]
        total_km = sum(hops) or 1.0
        loss = stop_cost_min(cls) - DWELL_MIN
        run = (b.arr - a.dep) - len(stations) * (loss + DWELL_MIN)
        pos, done, prev = [], 0.0, 0.0
        for x, hop in zip(stations, hops):
            done += hop
            prev = max(at[x] if at and x in at else done / total_km, prev)  # never back along the way
            pos.append(prev)
        base = np.diff([0.0, *(run * f for f in pos), run]) + loss
        base[0] -= loss / 2
        base[-1] -= loss / 2
        fl = ([whole_floor(floors(cls, x, y, a.stop, b.stop)) for x, y in zip(seq[:-1], seq[1:])] if floors is not None
              else [1] * len(hops))
        fit = fit_section(int(b.arr - a.dep), base.tolist(), fl, [DWELL_MIN] * len(stations))
        if fit is not None:
            break

        def saving(k: int, fl: list[int] = fl) -> int:  # floor minutes saved by leaving out call k
            rest = [a.stop, *stations[:k], *stations[k + 1:], b.stop]
            return fl[k] + fl[k + 1] - whole_floor(floors(cls, rest[k], rest[k + 1], a.stop, b.stop)) if floors else 0
        k = min(range(len(stations)), key=lambda k: ((share or (lambda x: 0.0))(stations[k]), -saving(k), -k))
        if dropped is not None:
            dropped.append(stations[k])
        del stations[k]
    if not stations:
        return []
    out, time = [], a.dep
    for x, h, d in zip(stations, *fit):
        out.append(Call(x, time + h, time + h + d, "inferred"))
        time += h + d
    return out


def infer_calls(tb: TripBuilder, refs: SectionRefs, calls_of: dict[str, list[Call]]) -> None:
    """Rule 7 on the sections ``tb.pending``: inferred calls inserted into the trips' call lists."""
    groups: dict[tuple[str, str], list[tuple[str, Call, Call]]] = {}
    for tid, a, b in tb.pending:
        groups.setdefault((a.stop, b.stop), []).append((tid, a, b))
    carry: dict[str, float] = {}
    s = tb.stats
    for (sa, sb), items in sorted(groups.items()):
        ref = refs.get(sa, sb)
        if ref is None or not ref.order:
            s["rule 7 sections: no candidate station (no 2016 train or pattern from A to B, or none stopped between)"] += len(items)
            continue
        s[f"rule 7 sections: candidates from {ref.source}"] += len(items)
        runs = [SectionRun(tid, tid[0], b.arr - a.dep, tb.fastest[(tid[0], sa, sb)]) for tid, a, b in items]
        ends = {tid: (a, b) for tid, a, b in items}
        chosen = allocate(ref, runs, carry, fits=lambda r, xs, ends=ends: floors_fit(tb.floors, *ends[r.key], r.cls, xs),
                          carry_unplaced=tb.floors is not None)
        for tid, a, b in items:
            calls = calls_of[tid]
            i = next(k for k, c in enumerate(calls) if c is a)
            present = {c.stop for c in calls}
            new, dropped = [], []
            placed = place_calls(a, b, chosen[tid], tid[0], tb.km, ref.at, floors=tb.floors,
                                 share=lambda x, ref=ref: ref.count.get(x, 0.0) / ref.n, dropped=dropped)
            if dropped:
                s["rule 9: sections where the hop floors leave no time for all inferred calls"] += 1
                s["rule 9: inferred calls dropped (hop floors)"] += len(dropped)
                tb.note_floor(tid, a, b, b.arr - a.dep, [Call(x, 0, 0) for x in dropped], placed)
            elif tb.floors is not None and placed != place_calls(a, b, chosen[tid], tid[0], tb.km, ref.at):
                s["rule 9: sections whose inferred call times a floor changed"] += 1
            for c in placed:
                if c.stop in present:
                    s["rule 7 calls not added: station already in the trip"] += 1
                elif not tb.ok_hop(new[-1] if new else a, c):
                    s["rule 7 calls not added: hop under 1 min or over 380 km/h"] += 1
                else:
                    new.append(c)
            while new and not tb.ok_hop(new[-1], b):
                new.pop()
                s["rule 7 calls not added: hop under 1 min or over 380 km/h"] += 1
            calls[i + 1:i + 1] = new
            s["rule 7 calls added"] += len(new)
            s["rule 7 sections with calls added"] += bool(new)


def edit_patterns(places: pd.DataFrame) -> list[tuple[list[str], float, str]]:
    """The ``add-trip-pattern`` edits of services.yaml whose line opened 2016–2020: place ids of the
    stops in travel order (and reversed when ``both_directions``), departures a day, edit id."""
    import yaml

    opened = {li["id"]: li.get("opened") for li in yaml.safe_load((NETWORKS / "rail.yaml").read_text(encoding="utf-8"))["lines"]}
    out = []
    for e in yaml.safe_load((NETWORKS / "services.yaml").read_text(encoding="utf-8"))["edits"]:
        year = opened.get(e.get("project"))
        if e.get("type") != "add-trip-pattern" or year is None or not 2016 <= year <= 2020:
            continue
        stops = [station_id(ref, places, NETWORKS / "services.yaml", e["id"]) for ref in e["stops"]]
        per_day = float(len(e.get("departures") or []))
        for f in e.get("frequencies") or []:
            h0, m0 = (int(x) for x in f["start"].split(":"))
            h1, m1 = (int(x) for x in f["end"].split(":"))
            per_day += math.ceil(((h1 * 60 + m1) - (h0 * 60 + m0)) / float(f["headway_min"]))
        out.append((stops, per_day, e["id"]))
        if e.get("both_directions", True):
            out.append((stops[::-1], per_day, e["id"]))
    return out


# --------------------------------------------------------------------------- rule 7: hold-out checks
def _fastest_pairs(trains: list[tuple[str, list[Call], list[int]]], board_ids: set[str]) -> dict[tuple[str, str, str], float]:
    """Fastest train of each class between every two board calls (A before B, one trip part)."""
    out: dict[tuple[str, str, str], float] = {}
    for cls, calls, part in trains:
        idx = [i for i, c in enumerate(calls) if c.stop in board_ids]
        for p, i in enumerate(idx):
            for j in idx[p + 1:]:
                if part[i] == part[j]:
                    k = (cls, calls[i].stop, calls[j].stop)
                    out[k] = min(out.get(k, math.inf), calls[j].arr - calls[i].dep)
    return out


@dataclass
class Holdout:
    """Real and inferred calls per station, inferred calls that are real (``tp``; ``tp_chance`` if the
    calls went to trains of the section drawn at random), and sections whose number of inferred calls
    equals the real number (``right``) of ``sections``."""

    truth: Counter = field(default_factory=Counter)
    inferred: Counter = field(default_factory=Counter)
    tp: int = 0
    sections: int = 0
    right: int = 0
    tp_chance: float = 0.0  # inferred calls expected real if each section's inferred calls went to trains drawn at random
    time_err: list = field(default_factory=list)  # minutes, inferred − real arrival, of the inferred calls that are real
    time_err_km: list = field(default_factory=list)  # the same with every call placed by distance (no 2016 fractions)

    def add(self, other: Holdout, station: str | None = None) -> None:
        for x in [station] if station else other.truth.keys() | other.inferred.keys():
            self.truth[x] += other.truth[x]
            self.inferred[x] += other.inferred[x]
        self.tp, self.sections, self.right = self.tp + other.tp, self.sections + other.sections, self.right + other.right
        self.tp_chance += other.tp_chance
        self.time_err += other.time_err
        self.time_err_km += other.time_err_km

    def score(self, stations: list[str] | None = None, min_calls: int = 10) -> dict:
        """Per-station error (stations with ``min_calls`` real calls or more, or ``stations``) and per-call
        precision (inferred calls that are real) and recall (real calls inferred)."""
        st = stations if stations is not None else [x for x in self.truth if self.truth[x] >= min_calls]
        err = [100.0 * (self.inferred[x] - self.truth[x]) / self.truth[x] for x in st if self.truth[x] > 0]
        n_inf, n_true = sum(self.inferred.values()), sum(self.truth.values())
        return {"stations": len(err), "median_abs_err_pct": float(np.median(np.abs(err))) if err else math.nan,
                "within_25pct": int(sum(abs(e) <= 25 for e in err)), "calls_true": n_true, "calls_inferred": n_inf,
                "precision": self.tp / n_inf if n_inf else math.nan, "recall": self.tp / n_true if n_true else math.nan,
                "precision_chance": self.tp_chance / n_inf if n_inf else math.nan,
                "sections_right_pct": 100.0 * self.right / self.sections if self.sections else math.nan,
                "time_abs_err_median_min": float(np.median(np.abs(self.time_err))) if self.time_err else math.nan,
                "time_abs_err_p90_min": float(np.percentile(np.abs(self.time_err), 90)) if self.time_err else math.nan,
                "time_err_mean_min": float(np.mean(self.time_err)) if self.time_err else math.nan,
                "time_abs_err_median_km_min": float(np.median(np.abs(self.time_err_km))) if self.time_err_km else math.nan,
                "time_abs_err_p90_km_min": float(np.percentile(np.abs(self.time_err_km), 90)) if self.time_err_km else math.nan}


def holdout_2016(trains16: dict[str, Train16], board_ids: set[str], km: Callable[[str, str], float],
                 mode: str = "share", only: set[str] | None = None, *, floors: bool = True) -> Holdout:
    """Rule 7 on the 2016 trains with their calls at stations without a board hidden.

    Every section between two consecutive board calls of a 2016 train (``only``: the sections whose two
    board calls are both in this set of stations) gets inferred calls, with the candidates and stop
    shares of the trains running the other way (B→A, reversed: other trains than the ones inferred)
    and the fastest 2016 train of its class; compared with the calls it made between them. ``floors``:
    rule 9 with the 2016 hop times of the other way too (y→x for a hop x→y; one year: r = 1)."""
    refs = SectionRefs(trains16, board_ids, km)
    fastest = _fastest_pairs([(t.codes[0][0], t.calls, t.part) for t in trains16.values()], board_ids)
    groups: dict[tuple[str, str], list[tuple[SectionRun, list[str]]]] = {}
    for tn, t in sorted(trains16.items()):
        idx = [i for i, c in enumerate(t.calls) if c.stop in board_ids]
        for i, j in zip(idx[:-1], idx[1:]):
            if t.part[i] == t.part[j] and (only is None or {t.calls[i].stop, t.calls[j].stop} <= only):
                a, b, cls = t.calls[i], t.calls[j], t.codes[0][0]
                run = SectionRun(f"{tn}:{i}", cls, b.arr - a.dep, fastest[(cls, a.stop, b.stop)])
                groups.setdefault((a.stop, b.stop), []).append((run, {c.stop: c.arr for c in t.calls[i + 1:j]}, a, b))
    hf = HopFloors(trains16, km, reverse=True) if floors else None
    return _run_groups(groups, lambda a, b: r.reversed() if (r := refs.get(b, a)) else None, mode, km, floors=hf)


def holdout_2020(trains20: list[Train20], hidden: str, trains16: dict[str, Train16], board_ids: set[str],
                 fastest: dict[tuple[str, str, str], float], km: Callable[[str, str], float], mode: str = "share", *,
                 floors: HopFloors | None = None) -> Holdout:
    """Rule 7 on the 2020 board trains with one board station (``hidden``) treated as a station without
    a board: its calls are inferred from the 2020 running times and the 2016 stop shares (2016 trains
    only, no patterns) and compared with its 2020 board (counts and sections at ``hidden`` only);
    ``floors``: with rule 9."""
    refs = SectionRefs(trains16, board_ids - {hidden}, km)
    groups: dict[tuple[str, str], list[tuple[SectionRun, list[str]]]] = {}
    for r in trains20:
        stops = [c.stop for c in r.calls]
        kept = [i for i, s in enumerate(stops) if s != hidden]
        for i, j in zip(kept[:-1], kept[1:]):
            a, b = r.calls[i], r.calls[j]
            run = SectionRun(f"{r.trip_id}:{i}", r.trip_id[0], b.arr - a.dep, fastest[(r.trip_id[0], a.stop, b.stop)])
            groups.setdefault((a.stop, b.stop), []).append((run, {c.stop: c.arr for c in r.calls[i + 1:j]}, a, b))
    return _run_groups(groups, refs.get, mode, km, station=hidden, floors=floors)


def holdout_2020_rule3(trains20: list[Train20], hidden: str, matches: dict[str, tuple[str, str]], trains16: dict[str, Train16],
                       board_ids: set[str], fastest: dict[tuple[str, str, str], float], pos: pd.DataFrame,
                       name_of: dict[str, str], *, floors: HopFloors | None = None) -> Holdout:
    """Rule 3 (with rule 9 if ``floors``) on the 2020 board trains with a 2016 counterpart, with one board
    station (``hidden``) treated as a station without a board: each train that calls there between two
    board calls A and B gets the counterpart's calls between A and B, retimed to its 2020 time from A to
    B, and its call at ``hidden`` (if kept) is compared with the 2020 board (``time_err``: minutes,
    retimed − real arrival)."""
    tb = TripBuilder(board_ids - {hidden}, fastest, pos, name_of, floors=floors)
    refs = SectionRefs(trains16, board_ids - {hidden}, tb.km)
    tb.share = lambda a, b, x: (ref.count.get(x, 0.0) / ref.n) if (ref := refs.get(a, b)) else 0.0
    h = Holdout()
    for r in trains20:
        stops = [c.stop for c in r.calls]
        if (m := matches.get(r.trip_id)) is None or hidden not in stops[1:-1]:
            continue
        i = stops.index(hidden)
        t = trains16[m[0]]
        pos16: dict[str, int] = {}
        for k, c in enumerate(t.calls):
            pos16.setdefault(c.stop, k)
        got = {c.stop: c for c in tb._between(r, t, pos16, r.calls[i - 1], r.calls[i + 1])}
        h.truth[hidden] += 1
        h.sections += 1
        if hidden in got:
            h.inferred[hidden] += 1
            h.tp += 1
            h.right += 1
            h.time_err.append(got[hidden].arr - r.calls[i].arr)
    return h


def _run_groups(groups, ref_of, mode: str, km: Callable[[str, str], float], station: str | None = None,
                floors: HopFloors | None = None) -> Holdout:
    h, carry = Holdout(), {}
    for (sa, sb), items in sorted(groups.items()):
        ref = ref_of(sa, sb)
        if station is not None and (ref is None or station not in ref.count) and not any(station in it[1] for it in items):
            continue  # a section that neither passes the hidden station in 2016 nor calls there in 2020
        ends = {it[0].key: (it[2], it[3]) for it in items}
        chosen = (allocate(ref, [it[0] for it in items], carry, mode=mode,
                           fits=lambda r, xs, ends=ends: floors_fit(floors, *ends[r.key], r.cls, xs), carry_unplaced=floors is not None)
                  if ref is not None else {})
        share = (lambda x, ref=ref: ref.count.get(x, 0.0) / ref.n) if ref is not None else None
        real_n, got_n = Counter(), Counter()
        for r, real_arr, a, b in items:
            got = chosen.get(r.key, [])
            placed = place_calls(a, b, got, r.cls, km, ref.at if ref else None, floors=floors, share=share)
            got = [c.stop for c in placed]  # the calls rule 9 leaves
            for pl, errs in ((placed, h.time_err), (place_calls(a, b, got, r.cls, km, floors=floors, share=share), h.time_err_km)):
                errs += [c.arr - real_arr[c.stop] for c in pl if c.stop in real_arr and station in (None, c.stop)]
            real = list(real_arr)
            if station is not None:
                real, got = [x for x in real if x == station], [x for x in got if x == station]
            real_n.update(real)
            got_n.update(got)
            h.tp += len(set(real) & set(got))
            h.sections += 1
            h.right += len(real) == len(got)
        h.truth.update(real_n)
        h.inferred.update(got_n)
        h.tp_chance += sum(got_n[x] * real_n[x] / len(items) for x in got_n)
    return h


HOLDOUT_STATIONS = ["tongxiang-station", "jiashan-south", "haining-west", "linping-south", "songjiang-south", "wuxi-station",
                    "kunshan-south", "shaoxing-north", "huzhou-station"]  # stations without a board the log reports one by one
HOLDOUT_MODES = {"share": ("share", True), "slack": ("slack", True), "share-nofloor": ("share", False)}


def run_holdouts(trains20: list[Train20], trains16: dict[str, Train16], board_ids: set[str],
                 fastest: dict[tuple[str, str, str], float], km: Callable[[str, str], float], *, floors: HopFloors,
                 matches: dict[str, tuple[str, str]], tb: TripBuilder) -> dict:
    """The hold-out checks of rules 7 and 9, for the rule (``share``), the alternative allocation (``slack``)
    and the rule without the hop floors of rule 9 (``share-nofloor``): per mode, the Holdout and its score
    (2020: the stations in the 2016 feed with 10 or more calls); and rule 3 with and without rule 9 on the
    hidden 2020 board stations (``("rule3", True | False)``)."""
    out: dict = {}
    in_2016 = {c.stop for t in trains16.values() for c in t.calls}
    for key, (mode, fl) in HOLDOUT_MODES.items():
        h = holdout_2016(trains16, board_ids, km, mode=mode, floors=fl)
        out[("2016", key)] = (h, h.score())
        every, known = Holdout(), Holdout()
        for s in sorted(board_ids):
            one = holdout_2020(trains20, s, trains16, board_ids, fastest, km, mode=mode, floors=floors if fl else None)
            every.add(one, s)
            if s in in_2016:
                known.add(one, s)
        out[("2020", key)] = (every, known.score(stations=[s for s in known.truth if known.truth[s] >= 10]))
    for fl in (True, False):
        every = Holdout()
        for s in sorted(board_ids):
            every.add(holdout_2020_rule3(trains20, s, matches, trains16, board_ids, fastest, tb.pos, tb.name_of,
                                         floors=floors if fl else None), s)
        out[("rule3", fl)] = (every, every.score(stations=[s for s in every.truth if every.truth[s] > 0]))
    return out


# --------------------------------------------------------------------------- places
def resolve_board_stations(names: list[str], places: pd.DataFrame) -> dict[str, str]:
    """Place id of every YRD board station, through the loader's resolver (error names the missing ones)."""
    out, missing = {}, []
    for n in names:
        try:
            pid = station_id(n, places, NETWORKS / "places.csv", f"board station {n}")
        except NetworkDataError:
            missing.append(n)
            continue
        if places.kind[pid] != "station":
            missing.append(n)
        out[n] = pid
    if missing:
        raise ValueError(f"board stations that are not station places: {', '.join(missing)}; add them at the end of "
                         "networks/build/places_src.csv with a sourced coordinate or a stated assumption")
    return out


# --------------------------------------------------------------------------- main
def load_inputs(shared: Path) -> dict:
    tt = shared / "data" / "timetables"
    boards = pd.read_csv(tt / "railwayvis_station_boards_2020.csv", dtype=str, keep_default_na=False)
    st16 = pd.read_csv(tt / "parse12306_stations_20160310.csv", dtype={"lon": float, "lat": float})
    variants = pd.read_csv(tt / "parse12306_train_variants_20160310.csv", dtype=str)
    variants = variants[variants.runs_20160310 == "True"]
    nodes = pd.read_csv(shared / "data" / "osm" / "scgraph_world_railways_yrd_nodes.csv").set_index("node_id")
    return {"boards": boards, "st16": st16, "variants": variants, "rail_nodes": nodes, "tt": tt}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", default=str(REPO.parent.parent / "shared"), help="path to the shared/ folder")
    args = ap.parse_args(argv)
    shared = Path(args.shared)
    if not (shared / "data" / "timetables" / "railwayvis_station_boards_2020.csv").exists():
        print(f"error: {shared}/data/timetables/railwayvis_station_boards_2020.csv not found; pass --shared PATH", file=sys.stderr)
        return 2
    if not (FEED_2016 / "stop_times.txt").exists():
        print(f"error: {FEED_2016} not found; run networks/build/build_gtfs.py first", file=sys.stderr)
        return 2
    try:
        build(shared)
    except (ValueError, KeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


def build(shared: Path) -> None:
    inp = load_inputs(shared)
    places_log: list[str] = []
    bb.build_places(inp["rail_nodes"], places_log)  # places_src.csv (with any added board stations) -> places.csv
    places = pd.read_csv(NETWORKS / "places.csv", dtype={"id": str}, keep_default_na=False).set_index("id")
    places["lat"], places["lon"] = places.lat.astype(float), places.lon.astype(float)

    yrd, _ = bp.yrd_board_stations(inp["boards"], inp["st16"])
    board_id = resolve_board_stations(sorted(yrd), places)
    board_ids = set(board_id.values())
    names_of = {v: k for k, v in board_id.items()}

    problems: list[str] = []
    raw = bp.board_trains(inp["boards"], yrd, problems)
    single = {k: c for k, c in raw.items() if len(c) < 2}
    trains20 = []
    for key, calls in raw.items():
        if len(calls) < 2:
            continue
        codes = list(dict.fromkeys(c["code"] for c in calls))
        trains20.append(Train20(key, codes, [Call(board_id[c["station"]], float(c["arr"]), float(c["dep"]), "board", c["type"])
                                             for c in calls]))
    trains20.sort(key=lambda r: (r.trip_id, r.key))
    ids = Counter(r.trip_id for r in trains20)
    if max(ids.values()) > 1:
        raise ValueError(f"two board trains share a code: {[k for k, n in ids.items() if n > 1][:5]}")
    pairs = bp.pair_table(raw).assign(letter=lambda d: d.code.str[0])
    fastest = {(k, board_id[a], board_id[b]): float(m) for (k, a, b), m in pairs.groupby(["letter", "from", "to"]).minutes.min().items()}

    trains16, tabs16 = load_2016(FEED_2016, inp["variants"])
    stops16 = tabs16["stops"].set_index("stop_id")
    matches = match_trains(trains20, trains16, board_ids)
    name_of = {**dict(zip(stops16.index, stops16.stop_name)), **names_of}
    pos = places[["lat", "lon"]]

    def km(a: str, b: str) -> float:
        return float(bb.haversine_km(pos.lat[a], pos.lon[a], pos.lat[b], pos.lon[b]))
    fastest16 = _fastest_pairs([(t.codes[0][0], t.calls, t.part) for t in trains16.values()], board_ids)
    floors = HopFloors(trains16, km, fastest, fastest16)
    refs = SectionRefs(trains16, board_ids, km, edit_patterns(places))

    def share(a: str, b: str, x: str) -> float:
        ref = refs.get(a, b)
        return ref.count.get(x, 0.0) / ref.n if ref is not None else 0.0
    tb = TripBuilder(board_ids, fastest, pos, name_of, floors=floors, share=share)
    trips: list[dict] = []
    for r in trains20:
        m = matches.get(r.trip_id)
        calls = tb.build(r, trains16[m[0]] if m else None)
        trips.append({"trip_id": r.trip_id, "route_id": r.codes[0], "codes": "/".join(r.codes), "from": r.key[2], "to": r.key[3],
                      "calls": calls, "match": m})
    infer_calls(tb, refs, {t["trip_id"]: t["calls"] for t in trips})
    holdout = run_holdouts(trains20, trains16, board_ids, fastest, km, floors=floors, matches=matches, tb=tb)

    # 2016 trains: carried over, merged (rule 2b) or dropped
    merged = {tn for tn, rule in matches.values()}
    board_rows = inp["boards"][inp["boards"].station.isin(yrd)]
    on_board = set(zip(board_rows.station.map(board_id), board_rows.train))
    carried, dropped_gone, dropped_other, carried_evidence = [], [], [], Counter()
    for tn, t in sorted(trains16.items()):
        if tn in merged:
            continue
        if len(t.board_calls) <= 1:
            carried.append(t)
            if t.board_calls:
                carried_evidence["code on its one board in 2020" if any((t.board_calls[0], c) in on_board for c in t.codes)
                                  else "code not on its one board in 2020"] += 1
            else:
                carried_evidence["no board call"] += 1
        elif any((s, c) in on_board for s in t.board_calls for c in t.codes):
            dropped_other.append(t)
        else:
            dropped_gone.append(t)
    route_ids20 = {t["route_id"] for t in trips}
    st16 = tabs16["stop_times"]
    routes16 = tabs16["routes"].set_index("route_id")
    trips16 = tabs16["trips"].set_index("trip_id")
    renamed_routes = {}
    for t in carried:
        for tid in t.trip_ids:
            rid = trips16.route_id[tid]
            if rid in route_ids20:
                renamed_routes[rid] = f"{rid}-2016"
            g = st16[st16.trip_id == tid].assign(seq=lambda d: d.stop_sequence.astype(int)).sort_values("seq")
            trips.append({"trip_id": tid, "route_id": renamed_routes.get(rid, rid), "codes": trips16.trip_short_name[tid],
                          "long_name": routes16.route_long_name[rid], "seq": list(g.seq),
                          "calls": [Call(s, minutes(a), minutes(d), "2016-carried") for s, a, d in
                                    zip(g.stop_id, g.arrival_time, g.departure_time)]})

    problems += check_trips(trips, places)
    for sid in sorted({c.stop for t in trips for c in t["calls"]} - set(name_of)):  # stations of the patterns (rule 7)
        name_of[sid] = str(places.name_zh[sid]).removesuffix("站")
    counts = write_feed(trips, places, name_of, shared)
    write_log(trips, trains20, matches, trains16, single, carried, carried_evidence, dropped_gone, dropped_other, tb, refs, holdout,
              renamed_routes, problems, counts, places, board_id, places_log)
    n_board = sum(1 for t in trips if t.get("match") is not None or "from" in t)
    print(f"feed {FEED_DIR.relative_to(REPO)}: {counts['stops']} stops, {counts['trips']} trips ({n_board} board trains, "
          f"{len(matches)} matched to 2016), {counts['stop_times']} stop_times; log {LOG_FILE.relative_to(REPO)}")


def check_trips(trips: list[dict], places: pd.DataFrame) -> list[str]:
    """Problems left in the trips (none expected): times going back, single calls, fast hops between board calls."""
    out = []
    for t in trips:
        c = t["calls"]
        if len(c) < 2:
            out.append(f"{t['trip_id']}: fewer than two calls")
        for a, b in zip(c[:-1], c[1:]):
            if b.arr < a.dep or a.dep < a.arr:
                out.append(f"{t['trip_id']}: time goes back at {a.stop}→{b.stop}")
            km = float(bb.haversine_km(places.lat[a.stop], places.lon[a.stop], places.lat[b.stop], places.lon[b.stop]))
            dt = b.arr - a.dep
            if (dt <= 0 and km >= 1.0) or (dt > 0 and km / (dt / 60.0) > MAX_KMH):
                out.append(f"{t['trip_id']}: hop {a.stop}→{b.stop} {km:.0f} km in {dt:.0f} min")
    return out


def write_csv(path: Path, df: pd.DataFrame) -> None:
    atomic_write_text(path, df.to_csv(index=False, lineterminator="\n"))


def write_feed(trips: list[dict], places: pd.DataFrame, name_of: dict[str, str], shared: Path) -> dict[str, int]:
    """The GTFS tables of cr-2020 and the licence files; returns row counts."""
    used = sorted({c.stop for t in trips for c in t["calls"]})
    tele16 = pd.read_csv(FEED_2016 / "stops.txt", dtype=str).set_index("stop_id").stop_code
    st_tab = pd.read_csv(shared / "data" / "timetables" / "parse12306_stations_20160310.csv", dtype=str)
    tele_by_name = dict(zip(st_tab.station, st_tab.telecode))
    p = places.loc[used]
    stops = pd.DataFrame({"stop_id": used, "stop_code": [tele16.get(s, tele_by_name.get(name_of[s], "")) for s in used],
                          "stop_name": [name_of[s] for s in used], "stop_lat": p.lat.map("{:.6f}".format).to_numpy(),
                          "stop_lon": p.lon.map("{:.6f}".format).to_numpy(), "location_type": 0})
    routes = {}
    for t in trips:
        rid = t["route_id"]
        if rid in routes:
            continue
        long_name = t.get("long_name") or f"{t['from']}–{t['to']}"
        routes[rid] = {"route_id": rid, "agency_id": "CR", "route_short_name": t["codes"], "route_long_name": long_name,
                       "route_desc": rid[0], "route_type": 2}
    routes_df = pd.DataFrame(list(routes.values())).sort_values("route_id")
    trip_df = pd.DataFrame([{"route_id": t["route_id"], "service_id": SERVICE_ID, "trip_id": t["trip_id"], "trip_short_name": t["codes"]}
                            for t in trips]).sort_values("trip_id")
    rows = []
    for t in trips:
        seqs = t.get("seq") or range(1, len(t["calls"]) + 1)
        rows += [{"trip_id": t["trip_id"], "arrival_time": gtfs_time(c.arr), "departure_time": gtfs_time(c.dep), "stop_id": c.stop,
                  "stop_sequence": s, "timepoint": int(c.origin == "board"), "call_source": c.origin}
                 for c, s in zip(t["calls"], seqs)]
    stop_times = pd.DataFrame(rows).sort_values(["trip_id", "stop_sequence"])
    version = f"2020-12-31 YRD, {RAILWAYVIS} {RAILWAYVIS_COMMIT[:7]} + {PARSE12306} {PARSE12306_COMMIT[:7]}"
    tables = {
        "agency": pd.DataFrame([{"agency_id": "CR", "agency_name": "China Railway (中国铁路)", "agency_url": "https://www.12306.cn/",
                                 "agency_timezone": "Asia/Shanghai", "agency_lang": "zh"}]),
        "stops": stops, "routes": routes_df, "trips": trip_df, "stop_times": stop_times,
        "calendar": pd.DataFrame([{"service_id": SERVICE_ID, "monday": 0, "tuesday": 0, "wednesday": 0, "thursday": 1, "friday": 0,
                                   "saturday": 0, "sunday": 0, "start_date": SERVICE_DATE, "end_date": SERVICE_DATE}]),
        "feed_info": pd.DataFrame([{"feed_publisher_name": f"tx-transport networks/build/build_gtfs_2020.py from {RAILWAYVIS} and {PARSE12306}",
                                    "feed_publisher_url": RAILWAYVIS_URL, "feed_lang": "zh", "feed_start_date": SERVICE_DATE,
                                    "feed_end_date": SERVICE_DATE, "feed_version": version}]),
        "attributions": pd.DataFrame([
            {"attribution_id": "railwayvis", "organization_name": f"{RAILWAYVIS} (Apache License 2.0, commit {RAILWAYVIS_COMMIT}): "
             "station boards of the 2020 timetable (scripts/schedulers/*.csv); modified: YRD board calls of G/D/C trains, matched "
             "across boards, converted to GTFS", "is_producer": 1, "is_operator": 0, "is_authority": 0, "attribution_url": RAILWAYVIS_URL},
            {"attribution_id": "parse12306", "organization_name": f"{PARSE12306} (MIT licence, commit {PARSE12306_COMMIT}): national "
             "HSR/EMU timetable of 2016-03-10, for the calls at stations without a 2020 board and the 2016 trips carried over",
             "is_producer": 1, "is_operator": 0, "is_authority": 0, "attribution_url": PARSE12306_URL},
            {"attribution_id": "china-railway", "organization_name": "China Railway (中国铁路, 12306.cn): the published timetables",
             "is_producer": 0, "is_operator": 1, "is_authority": 1, "attribution_url": "https://www.12306.cn/"},
            {"attribution_id": "tx-transport", "organization_name": "tx-transport: GTFS conversion (2020 board calls, 2016 calls retimed, "
             "2016 trips carried over; networks/build/build_gtfs_2020.py, rules in build_log_gtfs_2020.md)", "is_producer": 1,
             "is_operator": 0, "is_authority": 0, "attribution_url": ""}]),
        "translations": pd.DataFrame({"table_name": "stops", "field_name": "stop_name", "language": "en",
                                      "translation": places.loc[used, "name_en"].to_numpy(), "record_id": used}),
    }
    FEED_DIR.mkdir(parents=True, exist_ok=True)
    for name, df in tables.items():
        write_csv(FEED_DIR / f"{name}.txt", df)
    tt = shared / "data" / "timetables"
    shutil.copyfile(tt / "LICENSE-RailwayVIS.txt", FEED_DIR / "LICENSE-RailwayVIS.txt")
    shutil.copyfile(tt / "LICENSE-Parse12306.txt", FEED_DIR / "LICENSE-Parse12306.txt")
    return {name: len(df) for name, df in tables.items()}


def write_log(trips, trains20, matches, trains16, single, carried, carried_evidence, dropped_gone, dropped_other, tb, refs, holdout,
              renamed_routes, problems, counts, places, board_id, places_log) -> None:
    n20 = len(trains20)
    rule = Counter(r for _, r in matches.values())
    same_ends = sum((trains16[tn].origin, trains16[tn].terminus) == (r.key[2], r.key[3])
                    for r in trains20 if (m := matches.get(r.trip_id)) for tn in [m[0]])
    board_trips = [t for t in trips if "from" in t]
    with_added = sum(any(c.origin.startswith("2016") for c in t["calls"]) for t in board_trips)
    with_inferred = sum(any(c.origin == "inferred" for c in t["calls"]) for t in board_trips)
    n_calls = Counter(c.origin for t in trips for c in t["calls"])
    carried_trips = [t for t in trips if "from" not in t]
    used = sorted({c.stop for t in trips for c in t["calls"]})
    served_2016_only = sorted({c.stop for t in carried_trips for c in t["calls"]} - {c.stop for t in board_trips for c in t["calls"]})
    s = tb.stats
    L = ["# Build log: GTFS feed cr-2020 (networks/build/build_gtfs_2020.py)", "",
         f"Sources: 2020 station boards ({RAILWAYVIS_URL} commit {RAILWAYVIS_COMMIT}, `scripts/schedulers/*.csv`, Apache-2.0; "
         "the timetable in force from about 2020-12-30, see docs/observed_rail_2020.md) and the 2016 feed `networks/transit/cr-2016` "
         f"({PARSE12306_URL} commit {PARSE12306_COMMIT}, MIT). Service day 2020-12-31 (Thursday; `d20201231`).", "",
         "## Rules", ""]
    L += [ln[3:] if ln.startswith("   ") else ln for ln in __doc__.split("Rules (the log repeats them with the counts)\n"
                                                                      "--------------------------------------------\n")[1]
          .split("\n\nTrip ids:")[0].splitlines()]
    L += ["", "## Counts", "",
          f"- YRD board stations: {len(board_id)}; G/D/C board trains matched across boards: {n20 + len(single)}, of which "
          f"**{n20} call at two or more** (the feed's board trips) and {len(single)} at one only (not in the feed: one board call "
          "gives no timed pair and no 2016 rule places the train).",
          f"- Board trains **matched to a 2016 train: {len(matches)}** (rule 2a, two or more common board stations in the same "
          f"order: {rule['2a']}; rule 2b, the 2016 train's one board call: {rule['2b']}); of them {same_ends} have the same origin "
          f"and terminus in both years. Board trains with **board calls only** (no 2016 counterpart; their non-board calls are "
          f"unknown): **{n20 - len(matches)}**.",
          f"- Board trips that received 2016 calls: {with_added}; inferred calls (rule 7): {with_inferred}.",
          f"- Calls added from 2016: **{n_calls['2016-between'] + n_calls['2016-before'] + n_calls['2016-after']}** "
          f"({n_calls['2016-between']} between two board calls, retimed; {n_calls['2016-before']} before the first and "
          f"{n_calls['2016-after']} after the last board call, 2016 running times). Calls **inferred by rule 7: "
          f"{n_calls['inferred']}**.",
          *[f"  - {k}: {v}" for k, v in sorted(s.items())],
          f"- 2016 trains **carried over unchanged: {len(carried)}** ({len(carried_trips)} trips, "
          f"{n_calls['2016-carried']} calls): " + ", ".join(f"{k}: {v}" for k, v in sorted(carried_evidence.items())) + ".",
          f"- 2016 trains **dropped: {len(dropped_gone) + len(dropped_other)}** — code not on the 2020 boards of the board "
          f"stations it called at (no longer ran): {len(dropped_gone)}; code on those boards but no 2020 counterpart by rule 2 "
          f"(another pattern, direction or train; the 2020 train is in the feed as a board train if it calls at two board "
          f"stations): {len(dropped_other)}.",
          f"- 2016 trains merged into a board train (rule 2b): {rule['2b']}; route ids of carried-over trips renamed because a "
          f"board train has the same code: {len(renamed_routes)}" + (f" ({', '.join(sorted(renamed_routes))})" if renamed_routes else "")
          + ".",
          f"- Feed: {counts['stops']} stops, {counts['routes']} routes, {counts['trips']} trips, {counts['stop_times']} stop_times; "
          f"trips with calls after 24:00: {sum(t['calls'][-1].arr >= 1440 for t in trips)}.",
          f"- Stations served only by carried-over 2016 trips: {len(served_2016_only)}"
          + (f" ({', '.join(served_2016_only)})" if served_2016_only else "") + ".", "",
          "## Problem records", ""]
    L += [f"- {p}" for p in problems] or ["- none: every trip has two or more calls, times never go back, no hop is faster than "
                                          f"{MAX_KMH:.0f} km/h in a straight line"]
    L += ["", "### Sections whose 2016 calls were not kept (2020 train too fast for them; first 400)", ""]
    L += [f"- {n}" for n in tb.notes] or ["- none"]
    L += ["", "### Calls dropped by the hop floors of rule 9 (the 2020 train has no time for them; first 400)", ""]
    L += [f"- {n}" for n in tb.floor_notes] or ["- none"]
    L += hop_check_log(trips, tb.floors)
    L += holdout_log(holdout, trains16, refs, places)
    L += ["", "## Calls a day at stations without a board: cr-2016 against cr-2020", "",
          "`rules 1–6`: board calls and the recognised trains' 2016 calls (rules 3–4) and carried-over trips only — lower bounds "
          "(board trains without a 2016 counterpart have board calls only); `with rule 7`: the feed, with the calls inferred "
          "from running-time slack (`inferred`: how many of them). Stations not in the 2016 feed at the end.", "",
          "| stop_id | name | calls 2016 | calls 2020, rules 1–6 | calls 2020, with rule 7 | inferred |", "|---|---|---|---|---|---|"]
    c16 = pd.read_csv(FEED_2016 / "stop_times.txt", usecols=["stop_id"]).stop_id.value_counts()
    c20 = Counter(c.stop for t in trips for c in t["calls"])
    c7 = Counter(c.stop for t in trips for c in t["calls"] if c.origin == "inferred")
    for sid in sorted(set(c16.index) - set(board_id.values()), key=lambda i: (-c16[i], i)):
        L.append(f"| {sid} | {places.name_zh[sid]} | {c16[sid]} | {c20.get(sid, 0) - c7[sid]} | {c20.get(sid, 0)} | {c7[sid]} |")
    for sid in sorted(set(c20) - set(c16.index) - set(board_id.values()), key=lambda i: (-c20[i], i)):
        L.append(f"| {sid} | {places.name_zh[sid]} | — | {c20[sid] - c7[sid]} | {c20[sid]} | {c7[sid]} |")
    L += ["", "## Stations", "", "Every stop is a place of kind `station` (`places.csv`); the YRD board stations and their place ids "
          "(resolved by the loader's own name resolution, `tx_transport.transit.config.station_id`):", "",
          "| board station | place id | coord_status | coordinate source |", "|---|---|---|---|"]
    for n, pid in sorted(board_id.items(), key=lambda x: x[1]):
        L.append(f"| {n} | {pid} | {places.coord_status[pid]} | {str(places.coord_source[pid])[:140]} |")
    L += ["", f"Stops of the feed: {len(used)}.", ""]
    L += unserved_edit_stops(c20)
    L += ["### places.csv", "",
          "Regenerated through `build_bundle.build_places` (hook `station_places.py`):", ""]
    L += places_log or ["- (no rail-near snaps)"]
    atomic_write_text(LOG_FILE, "\n".join(L) + "\n")


def hop_check(trips: list[dict], floors: HopFloors) -> pd.DataFrame:
    """Every hop (consecutive calls of one trip) of the feed between two stations that 2016 trains ran
    stop-to-stop: its minutes, the 2016 minimum of any class, the speed-up r of its section (between the
    trip's enclosing board calls, same class; 1 outside them) and its rule 9 floor (whole minutes)."""
    rows = []
    for t in trips:
        c, cls = t["calls"], t["route_id"][0]
        board = [i for i, x in enumerate(c) if x.origin == "board"]
        for i in range(len(c) - 1):
            x, y = c[i].stop, c[i + 1].stop
            m16 = min((floors.hop[(k, x, y)] for k in "GDC" if (k, x, y) in floors.hop), default=None)
            if m16 is None:
                continue
            lo = max((k for k in board if k <= i), default=None)
            hi = min((k for k in board if k >= i + 1), default=None)
            a, b = (c[lo].stop, c[hi].stop) if lo is not None and hi is not None else ("", "")
            src = c[i + 1].origin if c[i + 1].origin != "board" else c[i].origin
            rows.append({"source": src, "minutes": c[i + 1].arr - c[i].dep, "min2016": m16, "r": floors.ratio(cls, a, b),
                         "floor": whole_floor(floors(cls, x, y, a, b))})
    return pd.DataFrame(rows)


def hop_check_log(trips: list[dict], floors: HopFloors) -> list[str]:
    """The hops of the feed against the 2016 minimum hop and the rule 9 floor, by call source, as markdown."""
    d = hop_check(trips, floors)
    d["faster"] = d.min2016 - d.minutes
    L = ["", "## Hops against the fastest 2016 hop (rule 9)", "",
         "Every hop of the feed between two stations that a 2016 train ran stop-to-stop, by the source of its call(s) (the "
         "non-board end): how many are faster than the fastest 2016 stop-to-stop run between the same stations (any class) "
         "by 1, 2, 3 minutes or more — in sections whose boards show a speed-up of the class (r < 1: the fastest 2020 board "
         "train from A to B is faster than the fastest 2016 train of the class; e.g. the Beijing–Shanghai HSR from 2017) "
         "and in the others — and how many are below their rule 9 floor. Board-to-board hops are the 2020 times.", "",
         "| call source | hops | faster by ≥ 1 / 2 / 3 min, r < 1 | faster by ≥ 1 / 2 / 3 min, r = 1 | below the floor |",
         "|---|---|---|---|---|"]
    for src, g in d.groupby("source"):
        sp, no = g[g.r < 1.0], g[g.r >= 1.0]
        L.append(f"| {src} | {len(g)} | {(sp.faster >= 1).sum()} / {(sp.faster >= 2).sum()} / {(sp.faster >= 3).sum()} (of {len(sp)}) | "
                 f"{(no.faster >= 1).sum()} / {(no.faster >= 2).sum()} / {(no.faster >= 3).sum()} (of {len(no)}) | "
                 f"{(g.minutes < g.floor).sum()} |")
    return L + [""]


def holdout_log(holdout: dict, trains16: dict[str, Train16], refs: SectionRefs, places: pd.DataFrame) -> list[str]:
    """The hold-out checks of rule 7 as markdown."""
    def pct(x: float) -> str:
        return f"{x:.0f} %" if x == x else "—"

    def summary(key: str) -> list[str]:
        out = ["| allocation | stations | median abs. error | within ±25 % | calls real | calls inferred | precision | precision by "
               "chance | recall | sections with the right number of calls | arrival error of the real ones, min: median / 90th "
               "percentile (by distance only) |", "|---|---|---|---|---|---|---|---|---|---|---|"]
        for mode, label in (("share", "**rule 7** (stop share × trains, within their slack), with the hop floors of rule 9"),
                            ("share-nofloor", "rule 7 without the hop floors of rule 9 (running time in proportion only)"),
                            ("slack", "alternative: every train as many calls as its slack allows, highest shares first (rule 9)")):
            sc = holdout[(key, mode)][1]
            out.append(f"| {label} | {sc['stations']} | {pct(sc['median_abs_err_pct'])} | {sc['within_25pct']} | {sc['calls_true']} | "
                       f"{sc['calls_inferred']} | {sc['precision']:.2f} | {sc['precision_chance']:.2f} | {sc['recall']:.2f} | "
                       f"{pct(sc['sections_right_pct'])} | {sc['time_abs_err_median_min']:.0f} / {sc['time_abs_err_p90_min']:.0f} "
                       f"({sc['time_abs_err_median_km_min']:.0f} / {sc['time_abs_err_p90_km_min']:.0f}) |")
        return out

    in_2016 = {c.stop for t in trains16.values() for c in t.calls}
    t16, i16 = holdout[("2016", "share")][0].truth, holdout[("2016", "share")][0].inferred
    a16 = holdout[("2016", "slack")][0].inferred
    L = ["", "## Rule 7 checked against calls it did not see", "",
         "### 2016: every call at a station without a board hidden", "",
         "`holdout_2016`: each section between two consecutive board calls of a 2016 train gets its calls by rule 7 from its "
         "2016 running time and the fastest 2016 train of its class, with the candidates and stop shares of the trains that run "
         "the other way (B→A: other trains than the ones inferred); compared with the calls it really made between those board "
         "calls. Stop shares are nearly the same in both directions (paired trains), so the per-station counts of the rule "
         "agree largely by construction. The other columns test the trains: precision = inferred calls that are real, recall "
         "= real calls that are inferred, and the sections that get as many calls as they really had (the slack's part). "
         "Precision by chance: the same calls given to trains of the section drawn at random. Where a section has several "
         "candidates, which one a train calls at is not in its running time. Arrival error: inferred minus real arrival "
         "of the inferred calls that are real, placed by the 2016 fractions of rule 7 (in brackets: every call placed by "
         "straight-line distance instead).", ""]
    L += summary("2016")
    L += ["", "Stations with 10 or more real calls between board calls count in the median. The stations of the brief:", "",
          "| station | real calls | rule 7 | alternative |", "|---|---|---|---|"]
    L += [f"| {places.name_zh[x]} ({x}) | {t16[x]} | {i16[x]} | {a16[x]} |" for x in HOLDOUT_STATIONS]
    t20, i20 = holdout[("2020", "share")][0].truth, holdout[("2020", "share")][0].inferred
    a20 = holdout[("2020", "slack")][0].inferred
    L += ["", "### 2020: one board station at a time treated as a station without a board", "",
          "`holdout_2020`: for each of the 46 board stations H, every 2020 board train gets its calls by rule 7 as if H had "
          "no board (candidates and stop shares from the 2016 trains only, no services.yaml patterns; 2020 running times; the "
          "fastest 2020 train of the class), and the inferred calls at H are compared with H's 2020 board. This tests rule 7 "
          "across four years (2016 shares, 2020 times) on calls it did not see — at stations larger than most stations "
          "without a board. The median and the precision and recall count the stations that were in the 2016 feed (a station "
          "opened since, or reached by a line opened since, has no 2016 candidate section: 0 inferred).", ""]
    L += summary("2020")
    L += ["", "| board station H | in 2016 feed | real calls (2020 board) | rule 7 | alternative |", "|---|---|---|---|---|"]
    L += [f"| {places.name_zh[h]} | {'yes' if h in in_2016 else 'no'} | {t20[h]} | {i20[h]} | {a20[h]} |"
          for h in sorted(t20, key=lambda h: (-t20[h], h)) if t20[h] >= 10]
    L += ["", "### Rule 3 (and rule 9) on hidden 2020 board stations", "",
          "`holdout_2020_rule3`: for each of the 46 board stations H, every board train with a 2016 counterpart that calls at "
          "H between two board calls A and B gets the counterpart's calls between A and B by rule 3 as if H had no board "
          "(2016 calls, dwells and running offsets, retimed to the 2020 time from A to B), and its arrival at H is compared "
          "with H's 2020 board. Calls real: such trains; kept: those whose counterpart called at H and whose 2020 time "
          "leaves room for the calls.", "",
          "| retiming | calls real | kept | arrival error, min: median / 90th percentile / mean | mean signed error, min |",
          "|---|---|---|---|---|"]
    for fl, label in ((True, "**rule 3 with the hop floors of rule 9**"), (False, "rule 3 without them (running time in proportion only)")):
        h = holdout[("rule3", fl)][0]
        e = np.asarray(h.time_err, dtype=float)
        L.append(f"| {label} | {sum(h.truth.values())} | {sum(h.inferred.values())} | {np.median(np.abs(e)):.0f} / "
                 f"{np.percentile(np.abs(e), 90):.0f} / {np.mean(np.abs(e)):.2f} | {np.mean(e):+.2f} |")
    e1, e0 = (np.abs(np.asarray(holdout[("2020", k)][0].time_err, dtype=float)) for k in ("share", "share-nofloor"))
    L += ["", f"Rule 7's arrival error at the hidden board stations (table above), mean absolute: {e1.mean():.2f} min with the "
          f"floors, {e0.mean():.2f} without; share of calls 8 min or more off: {100 * (e1 >= 8).mean():.1f} % and "
          f"{100 * (e0 >= 8).mean():.1f} %. The floors make the cost of each inferred call physical: where rule 7 gives a "
          "train calls before H that it did not make (precision 0.69 in the 2016 check), they now delay its arrival at H by "
          "what the calls really cost, where the proportional times had charged them less."]
    oc = refs.order_checks
    L += ["", f"Order of the candidates (straight-line fraction of the way from A to B) against the order of the 2016 reference "
          f"trains' calls: {oc['agrees']} sequences agree, {oc['disagrees']} disagree (all sections looked up by the build).", ""]
    return L


def unserved_edit_stops(calls: Counter) -> list[str]:
    """Stops of the services.yaml patterns of lines opened 2016–2020 that no cr-2020 trip serves.

    With ``lines_included_until: 2020`` those patterns are not applied on cr-2020 (their trains are
    in the feed), so a station that only they served has no train in scenarios on cr-2020."""
    import yaml

    places = pd.read_csv(NETWORKS / "places.csv", dtype={"id": str}, keep_default_na=False).set_index("id")
    opened = {li["id"]: li.get("opened") for li in yaml.safe_load((NETWORKS / "rail.yaml").read_text(encoding="utf-8"))["lines"]}
    out: dict[str, list[str]] = {}
    for e in yaml.safe_load((NETWORKS / "services.yaml").read_text(encoding="utf-8"))["edits"]:
        year = opened.get(e.get("project"))
        if e.get("type") != "add-trip-pattern" or year is None or not 2016 <= year <= 2020:
            continue
        for ref in e["stops"]:
            sid = station_id(ref, places, NETWORKS / "services.yaml", e["id"])
            if calls.get(sid, 0) == 0:
                out.setdefault(sid, []).append(e["id"])
    L = ["### Stations of services.yaml patterns (lines opened 2016–2020) without a cr-2020 train", "",
         "`lines_included_until: 2020` leaves these patterns out of scenarios on cr-2020 (their trains are in the feed, at "
         "board stations, with calls inferred by rule 7 where a board train runs between two board stations of a pattern "
         "around the station); the stations below get no call that way either, so they have no train there:", ""]
    L += [f"- {sid} ({places.name_zh[sid]}): {', '.join(ids)}" for sid, ids in sorted(out.items())] or ["- none"]
    return L + [""]


if __name__ == "__main__":
    sys.exit(main())
