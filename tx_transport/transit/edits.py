"""Scenario service edits: Conveyal-style modifications of a timetable, written as data.

Every edit is a mapping from ``networks/services.yaml`` (already validated and with station
names resolved to place ids by :mod:`tx_transport.transit.config`). The types:

``add-trip-pattern``
    A new stopping pattern (a planned line, or a line opened after the feed): stops, running
    times (sourced ``hop_min``, or the rail physics of :mod:`tx_transport.rail` over the
    chainage of the ``lines`` it runs on), dwell, and departures (``frequencies`` by period or
    explicit ``departures``), in both directions by default.
``add-stops`` / ``remove-stops``
    Selected trips call at (or skip) stations; later times shift by the dwell plus the time a
    train loses braking to a stop and accelerating again, ``v/(2a) + v/(2b)``.
``adjust-dwell``
    Dwell at the given stops (or every intermediate stop) set to ``dwell_min``.
``adjust-frequency``
    Selected trips become a frequency pattern: each stopping pattern's median running times run
    at the given headways (the trips they replace are those departing inside the periods).
``remove-trips``
    Selected trips no longer run.
``adjust-speed``
    Running times of selected trips between two stops × ``factor``.

Selection (``select``): ``feed``, ``routes``, ``trips``, ``train`` (regular expression on the
public code), ``serving`` (every listed stop), ``between`` (``[a, b]``, a before b) and
``share`` (a fraction of the matching trips, spread evenly over the day), all combined with AND.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..rail import run_time_s
from .timetable import ST_COLS, Timetable, parse_clock


class EditError(ValueError):
    """An edit that cannot be applied (the message names the edit and the fix)."""


@dataclass
class RailLine:
    """What the edits need of a rail.yaml line: chainage and running-time physics."""

    id: str
    stations: list[str]
    km: list[float]
    speed_kmh: float
    accel_ms2: float
    decel_ms2: float
    dwell_min: float

    def km_of(self, place: str) -> float | None:
        return self.km[self.stations.index(place)] if place in self.stations else None

    def stop_penalty_s(self) -> float:
        """Time lost by stopping once at cruise speed: braking and accelerating again (s)."""
        v = self.speed_kmh / 3.6
        return v / (2 * self.accel_ms2) + v / (2 * self.decel_ms2)


@dataclass
class EditContext:
    """The bundle data edits draw on (rail lines, station coordinates, rail supplement)."""

    lines: dict[str, RailLine]
    places: pd.DataFrame  # index place id: name_zh, lon, lat
    supplement: float = 0.05
    default_penalty_s: float = 120.0
    log: list[str] = field(default_factory=list)

    def lines_with(self, place: str) -> list[RailLine]:
        return [ln for ln in self.lines.values() if place in ln.stations]


# ---------------------------------------------------------------------------------- selection
def select_trips(tt: Timetable, select: dict[str, Any] | None) -> list[str]:
    """Trip ids matching ``select`` (see the module docstring), in first-departure order."""
    sel = select or {}
    trips = tt.trips
    m = np.ones(len(trips), dtype=bool)
    if sel.get("feed"):
        m &= trips.feed.isin(_as_list(sel["feed"])).to_numpy()
    if sel.get("routes"):
        m &= trips.route_id.isin(_as_list(sel["routes"])).to_numpy()
    if sel.get("trips"):
        m &= trips.trip_id.isin(_as_list(sel["trips"])).to_numpy()
    if sel.get("train"):
        rx = re.compile(str(sel["train"]))
        m &= trips.code.map(lambda c: bool(rx.search(str(c)))).to_numpy()
    ids = trips.trip_id[m]
    st = tt.stop_times[tt.stop_times.trip_id.isin(set(ids))]
    if sel.get("serving"):
        need = set(_as_list(sel["serving"]))
        served = st.groupby("trip_id", sort=False)["stop_id"].agg(lambda s: need <= set(s))
        ids = ids[ids.map(served).fillna(False).astype(bool).to_numpy()]
    if sel.get("on_line"):  # two consecutive calls at stations of the line: the trip runs on it
        line = set(sel["on_line"])
        g = st[st.trip_id.isin(set(ids))]
        on = g.stop_id.isin(line).to_numpy()
        same = g.trip_id.to_numpy()[1:] == g.trip_id.to_numpy()[:-1]
        pair = same & on[1:] & on[:-1]
        hit = set(g.trip_id.to_numpy()[1:][pair])
        ids = ids[ids.isin(hit)]
    if sel.get("between"):
        a, b = _as_list(sel["between"])[:2]
        first_pos = {}
        for t, g in st[st.trip_id.isin(set(ids))].groupby("trip_id", sort=False):
            s = list(g.stop_id)
            if a in s and b in s and s.index(a) < s.index(b):
                first_pos[t] = True
        ids = ids[ids.isin(first_pos)]
    dep = tt.stop_times.groupby("trip_id", sort=False)["dep_s"].first()
    ids = sorted(ids, key=lambda t: (dep.get(t, 0.0), t))
    share = sel.get("share")
    if share is not None and ids:
        share = float(share)
        n = int(round(share * len(ids)))
        if n <= 0:
            return []
        pick = np.unique(np.floor(np.arange(n) * len(ids) / n).astype(int))
        ids = [ids[i] for i in pick]
    return list(ids)


def _as_list(x: Any) -> list[Any]:
    return list(x) if isinstance(x, (list, tuple)) else [x]


# ---------------------------------------------------------------------------------- helpers
def _hop_times_s(edit: dict[str, Any], stops: list[str], ctx: EditContext) -> list[float]:
    """Running seconds between consecutive stops of a new pattern."""
    if edit.get("hop_min") is not None:
        return [float(m) * 60.0 for m in edit["hop_min"]]
    line_ids = edit.get("lines") or ([edit["project"]] if edit.get("project") else [])
    lines = [ctx.lines[i] for i in line_ids if i in ctx.lines]
    if not lines:
        raise EditError(f"edit {edit['id']!r}: no running times: give hop_min, or lines (rail.yaml ids) whose chainage gives the distances")
    km = edit.get("hop_km")
    out = []
    for k, (a, b) in enumerate(zip(stops[:-1], stops[1:])):
        parts = [(float(km[k]), lines[0])] if km is not None else _distance_parts(a, b, lines, edit["id"])
        dist = sum(d for d, _ in parts)
        if dist <= 0:
            raise EditError(f"edit {edit['id']!r}: stops {a} and {b} are at the same chainage; check the stop order")
        # one run: cruise at the distance-weighted harmonic speed of the lines passed
        t_cruise = sum(d / ln.speed_kmh for d, ln in parts)
        v = dist / t_cruise
        ln0 = parts[0][1]
        out.append(run_time_s(dist, v, ln0.accel_ms2, ln0.decel_ms2) * (1.0 + ctx.supplement))
    return out


def _distance_parts(a: str, b: str, lines: list[RailLine], eid: str) -> list[tuple[float, RailLine]]:
    """Track distance from ``a`` to ``b`` over ``lines`` (one line, or two joined at a shared station)."""
    for ln in lines:
        ka, kb = ln.km_of(a), ln.km_of(b)
        if ka is not None and kb is not None:
            return [(abs(kb - ka), ln)]
    for la in lines:
        for lb in lines:
            if la is lb or la.km_of(a) is None or lb.km_of(b) is None:
                continue
            shared = [s for s in la.stations if s in lb.stations]
            if shared:
                best = min(shared, key=lambda j: abs(la.km_of(a) - la.km_of(j)) + abs(lb.km_of(j) - lb.km_of(b)))  # type: ignore[operator]
                return [(abs(la.km_of(a) - la.km_of(best)), la), (abs(lb.km_of(best) - lb.km_of(b)), lb)]  # type: ignore[operator]
    names = ", ".join(ln.id for ln in lines)
    raise EditError(f"edit {eid!r}: no track distance from {a} to {b} on lines [{names}]; "
                    "list the lines the trains run on (in order, joined at a shared station) or give hop_min/hop_km")


def _departures(edit: dict[str, Any]) -> list[int]:
    if edit.get("departures"):
        return sorted(parse_clock(d, "departure") for d in edit["departures"])
    out: list[int] = []
    for band in edit.get("frequencies") or []:
        start, end = parse_clock(band["start"], "start"), parse_clock(band["end"], "end")
        h = int(round(float(band["headway_min"]) * 60))
        out += list(range(start, end, h))
    return sorted(set(out))


def _pattern_rows(trip_id: str, stops: list[str], t0: float, runs: list[float], dwell_s: list[float]) -> list[tuple]:
    rows = []
    t = float(t0)
    for k, s in enumerate(stops):
        if k == 0:
            rows.append((trip_id, s, t, t))
            continue
        t += runs[k - 1]
        arr = t
        dep = arr if k == len(stops) - 1 else arr + dwell_s[k]
        rows.append((trip_id, s, arr, dep))
        t = dep
    return rows


def _ensure_stops(tt: Timetable, stops: list[str], ctx: EditContext, eid: str) -> None:
    missing = [s for s in dict.fromkeys(stops) if s not in set(tt.stops.stop_id)]
    if not missing:
        return
    rows = []
    for s in missing:
        if s not in ctx.places.index:
            raise EditError(f"edit {eid!r}: stop {s!r} is not a place; add it to places.csv or correct the edit")
        p = ctx.places.loc[s]
        rows.append({"stop_id": s, "stop_name": str(p.get("name_zh", s)).removesuffix("站"), "lon": float(p.lon),
                     "lat": float(p.lat), "feed": "edits"})
    tt.stops = pd.concat([tt.stops, pd.DataFrame(rows)], ignore_index=True)


def _shift_after(g: pd.DataFrame, k: int, delta: float) -> None:
    """Shift arrivals from position k+1 on and departures from position k on by ``delta`` (in place)."""
    g.iloc[k + 1:, g.columns.get_loc("arr_s")] += delta
    g.iloc[k:, g.columns.get_loc("dep_s")] += delta


# ---------------------------------------------------------------------------------- edit types
def add_trip_pattern(tt: Timetable, e: dict[str, Any], ctx: EditContext) -> Timetable:
    stops = list(e["stops"])
    if len(stops) < 2:
        raise EditError(f"edit {e['id']!r}: a pattern needs at least two stops")
    runs = _hop_times_s(e, stops, ctx)
    if len(runs) != len(stops) - 1:
        raise EditError(f"edit {e['id']!r}: hop_min/hop_km need {len(stops) - 1} values (one per hop), got {len(runs)}")
    if e.get("dwell_min") is not None:
        dwell = float(e["dwell_min"]) * 60.0
    else:
        first_line = next((ctx.lines[i] for i in (e.get("lines") or [e.get("project")]) if i in ctx.lines), None)
        dwell = (first_line.dwell_min if first_line else 2.0) * 60.0
    deps = _departures(e)
    if not deps:
        raise EditError(f"edit {e['id']!r}: no departures; give frequencies [{{start, end, headway_min}}] or departures")
    name = str(e.get("name") or e["id"])
    directions = [("a", stops, runs)]
    if e.get("both_directions", True):
        directions.append(("b", stops[::-1], runs[::-1]))
    rows: list[tuple] = []
    trips = []
    for tag, st, rn in directions:
        for t0 in deps:
            tid = f"{e['id']}:{tag}:{t0 // 3600:02d}{t0 % 3600 // 60:02d}"
            rows += _pattern_rows(tid, st, t0, rn, [dwell] * len(st))
            trips.append({"trip_id": tid, "route_id": f"{e['id']}:{tag}", "code": name, "feed": "edits", "origin": e["id"]})
    out = tt.copy()
    _ensure_stops(out, stops, ctx, e["id"])
    out.trips = pd.concat([out.trips, pd.DataFrame(trips)], ignore_index=True)
    out.stop_times = pd.concat([out.stop_times, pd.DataFrame(rows, columns=ST_COLS)], ignore_index=True)
    ctx.log.append(f"{e['id']}: added {len(trips)} trips ({len(deps)} departures × {len(directions)} direction(s))")
    return out


def _per_trip(tt: Timetable, ids: list[str], fn) -> Timetable:
    """Apply ``fn(group DataFrame) -> DataFrame | None`` to each selected trip's stop times."""
    out = tt.copy()
    st = out.stop_times
    sel = set(ids)
    keep = st[~st.trip_id.isin(sel)]
    changed = []
    for _tid, g in st[st.trip_id.isin(sel)].groupby("trip_id", sort=False):
        r = fn(g.reset_index(drop=True).astype({"arr_s": float, "dep_s": float}))
        if r is not None and len(r) >= 2:
            changed.append(r)
    drop = sel - {r.trip_id.iloc[0] for r in changed}
    out.stop_times = pd.concat([keep] + changed, ignore_index=True) if changed else keep.reset_index(drop=True)
    out.trips = out.trips[~out.trips.trip_id.isin(drop)].reset_index(drop=True)
    out.stop_times = _regroup(out)
    return out


def _regroup(tt: Timetable) -> pd.DataFrame:
    """Stop times grouped by trip in the trips table's order (stable within a trip)."""
    order = {t: i for i, t in enumerate(tt.trips.trip_id)}
    st = tt.stop_times
    key = st.trip_id.map(order)
    st = st[key.notna()]
    return st.iloc[np.argsort(key[key.notna()].to_numpy(), kind="stable")].reset_index(drop=True)


def add_stops(tt: Timetable, e: dict[str, Any], ctx: EditContext) -> Timetable:
    ids = select_trips(tt, e.get("select"))
    new_stops = list(e["stops"])
    dwell = float(e.get("dwell_min", 2.0)) * 60.0
    for s in new_stops:
        if s not in ctx.places.index:
            raise EditError(f"edit {e['id']!r}: stop {s!r} is not a place; add it to places.csv or correct the edit")
    count = {"n": 0}

    def fn(g: pd.DataFrame) -> pd.DataFrame:
        for s in new_stops:
            if s in set(g.stop_id):
                continue
            hit = _bracket(list(g.stop_id), s, ctx, e.get("between"))
            if hit is None:
                continue
            k, share, line = hit  # insert after position k
            hop = g.arr_s.iloc[k + 1] - g.dep_s.iloc[k]
            pen = line.stop_penalty_s() if line else ctx.default_penalty_s
            arr = g.dep_s.iloc[k] + hop * share + pen / 2.0
            row = pd.DataFrame([{"trip_id": g.trip_id.iloc[0], "stop_id": s, "arr_s": arr, "dep_s": arr + dwell}])
            g.iloc[k + 1:, g.columns.get_loc("arr_s")] += dwell + pen
            g.iloc[k + 1:, g.columns.get_loc("dep_s")] += dwell + pen
            g = pd.concat([g.iloc[:k + 1], row, g.iloc[k + 1:]], ignore_index=True)
            count["n"] += 1
        return g

    out = _per_trip(tt, ids, fn)
    if ids and count["n"] == 0:
        raise EditError(f"edit {e['id']!r}: none of the {len(ids)} selected trips passes {new_stops} between two of its stops on a "
                        "rail.yaml line; give `between: [a, b]` or check the stations")
    ctx.log.append(f"{e['id']}: {count['n']} calls added to {len(ids)} selected trips")
    _ensure_stops(out, new_stops, ctx, e["id"])
    return out


def _bracket(stops: list[str], s: str, ctx: EditContext, between: Any) -> tuple[int, float, RailLine | None] | None:
    """Where a trip serving ``stops`` passes ``s``: (index of the stop before, share of the hop, line)."""
    if between:
        a, b = _as_list(between)[:2]
        if a in stops and b in stops and stops.index(b) == stops.index(a) + 1:
            line = next((ln for ln in ctx.lines_with(s) if ln.km_of(a) is not None and ln.km_of(b) is not None), None)
            if line is None:
                return stops.index(a), 0.5, None
            ka, kb, ks = line.km_of(a), line.km_of(b), line.km_of(s)
            return stops.index(a), float(np.clip((ks - ka) / (kb - ka), 0.05, 0.95)), line  # type: ignore[operator]
        return None
    for ln in ctx.lines_with(s):
        ks = ln.km_of(s)
        for k in range(len(stops) - 1):
            ka, kb = ln.km_of(stops[k]), ln.km_of(stops[k + 1])
            if ka is None or kb is None or ka == kb:
                continue
            if min(ka, kb) < ks < max(ka, kb):  # type: ignore[operator]
                return k, float((ks - ka) / (kb - ka)), ln  # type: ignore[operator]
    return None


def remove_stops(tt: Timetable, e: dict[str, Any], ctx: EditContext) -> Timetable:
    ids = select_trips(tt, e.get("select"))
    gone = set(e["stops"])

    def fn(g: pd.DataFrame) -> pd.DataFrame:
        k = 0
        while k < len(g):
            s = g.stop_id.iloc[k]
            if s in gone:
                if 0 < k < len(g) - 1:
                    line = next(iter(ctx.lines_with(s)), None)
                    saved = (g.dep_s.iloc[k] - g.arr_s.iloc[k]) + (line.stop_penalty_s() if line else ctx.default_penalty_s)
                    saved = min(saved, g.arr_s.iloc[k + 1] - g.dep_s.iloc[k - 1] - 60.0 + (g.dep_s.iloc[k] - g.arr_s.iloc[k]))
                    g = g.drop(index=g.index[k]).reset_index(drop=True)
                    g.iloc[k:, g.columns.get_loc("arr_s")] -= saved
                    g.iloc[k:, g.columns.get_loc("dep_s")] -= saved
                    continue
                g = g.drop(index=g.index[k]).reset_index(drop=True)
                if k == 0 and len(g):
                    g.iloc[0, g.columns.get_loc("arr_s")] = g.dep_s.iloc[0]
                elif len(g):
                    g.iloc[-1, g.columns.get_loc("dep_s")] = g.arr_s.iloc[-1]
                continue
            k += 1
        return g

    out = _per_trip(tt, ids, fn)
    ctx.log.append(f"{e['id']}: {sorted(gone)} removed from {len(ids)} selected trips")
    return out


def adjust_dwell(tt: Timetable, e: dict[str, Any], ctx: EditContext) -> Timetable:
    ids = select_trips(tt, e.get("select"))
    new = float(e["dwell_min"]) * 60.0
    at = e.get("stops", "all")

    def fn(g: pd.DataFrame) -> pd.DataFrame:
        for k in range(1, len(g) - 1):
            if at == "all" or g.stop_id.iloc[k] in set(at):
                delta = new - (g.dep_s.iloc[k] - g.arr_s.iloc[k])
                g.iloc[k:, g.columns.get_loc("dep_s")] += delta
                g.iloc[k + 1:, g.columns.get_loc("arr_s")] += delta
        return g

    out = _per_trip(tt, ids, fn)
    ctx.log.append(f"{e['id']}: dwell set to {new / 60:g} min on {len(ids)} trips")
    return out


def adjust_speed(tt: Timetable, e: dict[str, Any], ctx: EditContext) -> Timetable:
    ids = select_trips(tt, e.get("select"))
    f = float(e["factor"])
    a, b = (_as_list(e["between"])[:2] if e.get("between") else (None, None))

    def fn(g: pd.DataFrame) -> pd.DataFrame:
        s = list(g.stop_id)
        lo = s.index(a) if a in s else 0
        hi = s.index(b) if b in s else len(s) - 1
        if a is not None and (a not in s or b not in s or lo >= hi):
            return g
        for k in range(lo, hi):
            run = g.arr_s.iloc[k + 1] - g.dep_s.iloc[k]
            delta = run * f - run
            g.iloc[k + 1:, g.columns.get_loc("arr_s")] += delta
            g.iloc[k + 1:, g.columns.get_loc("dep_s")] += delta
        return g

    out = _per_trip(tt, ids, fn)
    ctx.log.append(f"{e['id']}: running times × {f:g} on {len(ids)} trips")
    return out


def remove_trips(tt: Timetable, e: dict[str, Any], ctx: EditContext) -> Timetable:
    ids = set(select_trips(tt, e.get("select")))
    out = tt.copy()
    out.trips = out.trips[~out.trips.trip_id.isin(ids)].reset_index(drop=True)
    out.stop_times = out.stop_times[~out.stop_times.trip_id.isin(ids)].reset_index(drop=True)
    ctx.log.append(f"{e['id']}: {len(ids)} trips removed")
    return out


def adjust_frequency(tt: Timetable, e: dict[str, Any], ctx: EditContext) -> Timetable:
    ids = select_trips(tt, e.get("select"))
    bands = [(parse_clock(b["start"]), parse_clock(b["end"]), float(b["headway_min"]) * 60.0) for b in e["frequencies"]]
    st = tt.stop_times[tt.stop_times.trip_id.isin(set(ids))]
    first = st.groupby("trip_id", sort=False)["dep_s"].first()
    in_band = [t for t in ids if any(s <= first[t] < en for s, en, _ in bands)]
    out = tt.copy()
    out.trips = out.trips[~out.trips.trip_id.isin(set(in_band))].reset_index(drop=True)
    out.stop_times = out.stop_times[~out.stop_times.trip_id.isin(set(in_band))].reset_index(drop=True)
    new_trips, rows = [], []
    trips = tt.trips.set_index("trip_id")
    groups: dict[tuple[str, ...], list[str]] = {}
    for t, g in st[st.trip_id.isin(set(in_band))].groupby("trip_id", sort=False):
        groups.setdefault(tuple(g.stop_id), []).append(t)
    for k, (pattern, members) in enumerate(groups.items()):
        rel = np.median(np.stack([
            np.r_[g.arr_s.to_numpy() - g.dep_s.iloc[0], g.dep_s.to_numpy() - g.dep_s.iloc[0]]
            for _, g in st[st.trip_id.isin(set(members))].groupby("trip_id", sort=False)]), axis=0)
        n = len(pattern)
        ra, rd = rel[:n], rel[n:]
        code = str(trips.loc[members[0], "code"])
        for s, en, h in bands:
            for t0 in np.arange(s, en, h):
                tid = f"{e['id']}:{k}:{int(t0) // 3600:02d}{int(t0) % 3600 // 60:02d}"
                new_trips.append({"trip_id": tid, "route_id": f"{e['id']}:{k}", "code": code, "feed": "edits", "origin": e["id"]})
                rows += [(tid, p, float(t0 + a), float(t0 + d)) for p, a, d in zip(pattern, ra, rd)]
    out.trips = pd.concat([out.trips, pd.DataFrame(new_trips)], ignore_index=True)
    out.stop_times = pd.concat([out.stop_times, pd.DataFrame(rows, columns=ST_COLS)], ignore_index=True)
    ctx.log.append(f"{e['id']}: {len(in_band)} trips in {len(groups)} pattern(s) became {len(new_trips)} frequency-based trips")
    return out


EDIT_TYPES = {
    "add-trip-pattern": add_trip_pattern,
    "add-stops": add_stops,
    "remove-stops": remove_stops,
    "adjust-dwell": adjust_dwell,
    "adjust-frequency": adjust_frequency,
    "remove-trips": remove_trips,
    "adjust-speed": adjust_speed,
}


def apply_edits(tt: Timetable, edits: list[dict[str, Any]], ctx: EditContext, *, name: str = "") -> Timetable:
    """Apply ``edits`` in order and return the new timetable (the input is not changed)."""
    out = tt.copy(name=name or tt.name)
    for e in edits:
        fn = EDIT_TYPES.get(e["type"])
        if fn is None:
            raise EditError(f"edit {e.get('id')!r}: unknown type {e['type']!r}; valid: {', '.join(EDIT_TYPES)}")
        out = fn(out, e, ctx)
    # GTFS times are whole seconds: round once here, so tables, GTFS output and router agree exactly
    out.stop_times = out.stop_times.assign(arr_s=np.round(out.stop_times.arr_s.astype(float)),
                                           dep_s=np.round(out.stop_times.dep_s.astype(float)))
    out.notes = list(out.notes) + list(ctx.log)
    return out


__all__ = ["EDIT_TYPES", "EditContext", "EditError", "RailLine", "apply_edits", "select_trips"]
