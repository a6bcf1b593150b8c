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
   acceleration time of a stop and ``MIN_DWELL_MIN`` = 1 min the least dwell [I]; otherwise the
   2020 train evidently no longer makes (all of) them and the section gets none. Kept calls keep
   their 2016 dwell, and their 2016 running offsets from A (dwells removed) are scaled to the rest
   of the 2020 time from A to B; where the 2016 dwells (often waits to be overtaken) leave less
   running time than ``fastest2020 + STOP_LOSS_MIN × n``, they are shortened in proportion (each to
   ≥ 1 min) to fit. Times are rounded to whole minutes.
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

Trip ids: the public code of a board train (``G7301``); carried-over trips keep their cr-2016 id
(the 12306 train_no). The service day is 2020-12-31 (a Thursday, like the 2016-03-10 of cr-2016,
and the first whole day after 2020-12-30, from which the boards' timetable was in force [I]).
"""

from __future__ import annotations

import argparse
import shutil
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

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


# --------------------------------------------------------------------------- trips
class TripBuilder:
    """Adds a 2016 counterpart's non-board calls to a board train (rules 3–5)."""

    def __init__(self, board_ids: set[str], fastest: dict[tuple[str, str, str], float], pos: pd.DataFrame, name_of: dict[str, str]):
        self.board_ids, self.fastest, self.pos, self.name_of = board_ids, fastest, pos, name_of
        self.id_of = {n: i for i, n in name_of.items()}  # timetable name -> place id (2016 stops and board stations)
        self.stats: Counter = Counter()
        self.notes: list[str] = []

    def km(self, a: str, b: str) -> float:
        return float(bb.haversine_km(self.pos.lat[a], self.pos.lon[a], self.pos.lat[b], self.pos.lon[b]))

    def ok_hop(self, a: Call, b: Call) -> bool:
        dt = b.arr - a.dep
        return dt >= 1 and self.km(a.stop, b.stop) / (dt / 60.0) <= MAX_KMH

    def build(self, r: Train20, t: Train16 | None) -> list[Call]:
        calls = [Call(c.stop, c.arr, c.dep, "board", c.type) for c in r.calls]
        if t is None:
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
            return []
        mid = t.calls[ia + 1:ib]
        keep = [c for c in mid if c.stop not in self.board_ids]
        if not keep:
            self.stats["sections: 2016 made no non-board call"] += 1
            return []
        if len(keep) < len(mid):
            self.stats["sections: 2016 also called at a board station the 2020 train skips (not kept)"] += 1
        a16, n = t.calls[ia], len(keep)
        dw_before, runs = 0.0, []
        for c in mid:  # 2016 running time from A to each call, the dwells of the intermediate calls removed
            runs.append(c.arr - a16.dep - dw_before)
            dw_before += c.dep - c.arr
        r16 = (t.calls[ib].arr - a16.dep) - dw_before
        dw16 = [max(c.dep - c.arr, MIN_DWELL_MIN) for c in keep]
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
        if t20 - sum(dw16) >= r_min:  # the 2016 dwells fit: keep them, scale the running time
            dwell = dw16
        else:  # the 2016 dwells (often waits to be overtaken) do not fit: shorten them, each to at least 1 min
            f = (t20 - r_min - MIN_DWELL_MIN * n) / (sum(dw16) - MIN_DWELL_MIN * n)
            dwell = [MIN_DWELL_MIN + (d - MIN_DWELL_MIN) * f for d in dw16]
            self.stats["sections: 2016 dwells shortened to fit"] += 1
        scale = (t20 - sum(dwell)) / r16 if r16 > 0 else 1.0
        dwell_of = {id(c): d for c, d in zip(keep, dwell)}
        out, kept_dw, prev = [], 0.0, a
        for c, run in zip(mid, runs):
            if c.stop in self.board_ids:
                continue
            arr = round(a.dep + scale * run + kept_dw)
            new = Call(c.stop, arr, round(a.dep + scale * run + kept_dw + dwell_of[id(c)]), "2016-between")
            kept_dw += dwell_of[id(c)]
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
    tb = TripBuilder(board_ids, fastest, places[["lat", "lon"]], name_of)
    trips: list[dict] = []
    for r in trains20:
        m = matches.get(r.trip_id)
        calls = tb.build(r, trains16[m[0]] if m else None)
        trips.append({"trip_id": r.trip_id, "route_id": r.codes[0], "codes": "/".join(r.codes), "from": r.key[2], "to": r.key[3],
                      "calls": calls, "match": m})

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
    counts = write_feed(trips, places, name_of, shared)
    write_log(trips, trains20, matches, trains16, single, carried, carried_evidence, dropped_gone, dropped_other, tb,
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
                  "stop_sequence": s} for c, s in zip(t["calls"], seqs)]
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


def write_log(trips, trains20, matches, trains16, single, carried, carried_evidence, dropped_gone, dropped_other, tb,
              renamed_routes, problems, counts, places, board_id, places_log) -> None:
    n20 = len(trains20)
    rule = Counter(r for _, r in matches.values())
    same_ends = sum((trains16[tn].origin, trains16[tn].terminus) == (r.key[2], r.key[3])
                    for r in trains20 if (m := matches.get(r.trip_id)) for tn in [m[0]])
    board_trips = [t for t in trips if "from" in t]
    with_added = sum(any(c.origin != "board" for c in t["calls"]) for t in board_trips)
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
          f"- Board trips that received 2016 calls: {with_added}.",
          f"- Calls added from 2016: **{n_calls['2016-between'] + n_calls['2016-before'] + n_calls['2016-after']}** "
          f"({n_calls['2016-between']} between two board calls, retimed; {n_calls['2016-before']} before the first and "
          f"{n_calls['2016-after']} after the last board call, 2016 running times).",
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
    L += ["", "## Calls a day at stations without a board: cr-2016 against cr-2020", "",
          "Board trains without a 2016 counterpart have board calls only, and a recognised train keeps a 2016 call only where "
          "its 2020 time allows it (rule 3): these counts are lower bounds of the 2020 service.", "",
          "| stop_id | name | calls 2016 | calls 2020 |", "|---|---|---|---|"]
    c16 = pd.read_csv(FEED_2016 / "stop_times.txt", usecols=["stop_id"]).stop_id.value_counts()
    c20 = Counter(c.stop for t in trips for c in t["calls"])
    names16 = pd.read_csv(FEED_2016 / "stops.txt", dtype=str).set_index("stop_id").stop_name
    for sid in sorted(set(c16.index) - set(board_id.values()), key=lambda i: (-c16[i], i)):
        L.append(f"| {sid} | {names16[sid]} | {c16[sid]} | {c20.get(sid, 0)} |")
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
         "board stations); the stations below are served only by them, so they have no train there (their 2020 calls are "
         "not in the boards):", ""]
    L += [f"- {sid} ({places.name_zh[sid]}): {', '.join(ids)}" for sid, ids in sorted(out.items())] or ["- none"]
    return L + [""]


if __name__ == "__main__":
    sys.exit(main())
