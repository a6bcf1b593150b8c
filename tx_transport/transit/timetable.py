"""The timetable of one scenario as plain tables (GTFS semantics), and its compilation to arrays.

A :class:`Timetable` is what a scenario runs: the trips of the base feed(s) on the service day,
after the scenario's service edits (:mod:`tx_transport.transit.edits`). It can be written back
as a GTFS feed (:meth:`Timetable.to_gtfs`) and is compiled into a
:class:`~tx_transport.transit.raptor.CompiledTimetable` for routing.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .raptor import CompiledTimetable

STOP_COLS = ["stop_id", "stop_name", "lon", "lat", "feed"]
TRIP_COLS = ["trip_id", "route_id", "code", "feed", "origin"]
ST_COLS = ["trip_id", "stop_id", "arr_s", "dep_s"]
TF_COLS = ["from_stop", "to_stop", "min_s", "mode", "source"]


def seconds_to_gtfs(s: np.ndarray | pd.Series) -> list[str]:
    """Seconds after midnight → ``HH:MM:SS`` (hours may exceed 24, as GTFS allows)."""
    a = np.asarray(s, dtype=np.int64)
    return [f"{x // 3600:02d}:{x % 3600 // 60:02d}:{x % 60:02d}" for x in a]


def clock(s: float) -> str:
    """Seconds after midnight → ``HH:MM`` (``+1`` marks the next day)."""
    if not np.isfinite(s):
        return "—"
    m = int(round(s / 60.0))
    day, m = divmod(m, 1440)
    return f"{m // 60:02d}:{m % 60:02d}" + (f"+{day}" if day else "")


def parse_clock(text: Any, what: str = "time") -> int:
    """``"07:00"`` or ``"07:00:00"`` (hours may exceed 24) → seconds after midnight."""
    s = str(text).strip()
    parts = s.split(":")
    if len(parts) not in (2, 3) or not all(p.isdigit() for p in parts):
        raise ValueError(f"{what} {text!r} is not a clock time like 07:30 or 07:30:00")
    h, m = int(parts[0]), int(parts[1])
    sec = int(parts[2]) if len(parts) == 3 else 0
    if m > 59 or sec > 59 or h > 47:
        raise ValueError(f"{what} {text!r} is out of range (HH ≤ 47, MM and SS ≤ 59)")
    return h * 3600 + m * 60 + sec


@dataclass
class Timetable:
    """The trips of one service day as tables (times in seconds after midnight).

    Attributes
    ----------
    stops : pandas.DataFrame
        ``stop_id`` (place id for stations of the bundle), ``stop_name``, ``lon``, ``lat``, ``feed``.
    trips : pandas.DataFrame
        ``trip_id``, ``route_id``, ``code`` (public train number), ``feed``, ``origin`` (the feed
        id, or the id of the service edit that made the trip).
    stop_times : pandas.DataFrame
        ``trip_id``, ``stop_id``, ``arr_s``, ``dep_s``, grouped by trip in calling order.
    transfers : pandas.DataFrame
        ``from_stop``, ``to_stop``, ``min_s``, ``mode``, ``source``; a row with
        ``from_stop == to_stop`` sets that stop's minimum change time.
    name : str
        What this timetable is (feed or scenario).
    service_date : str
        The service day of the base feed (``YYYY-MM-DD``).
    """

    stops: pd.DataFrame
    trips: pd.DataFrame
    stop_times: pd.DataFrame
    transfers: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=TF_COLS))
    name: str = ""
    service_date: str = ""
    notes: list[str] = field(default_factory=list)

    def copy(self, **changes: Any) -> Timetable:
        base = replace(self, stops=self.stops.copy(), trips=self.trips.copy(), stop_times=self.stop_times.copy(),
                       transfers=self.transfers.copy(), notes=list(self.notes))
        return replace(base, **changes) if changes else base

    def __repr__(self) -> str:
        return (f"<Timetable {self.name!r}: {len(self.stops)} stops, {len(self.trips)} trips, "
                f"{len(self.stop_times)} stop times, service day {self.service_date or '?'}>")

    # ------------------------------------------------------------------ views
    def trips_per_day(self, stop_id: str) -> int:
        """Trips a day that call at ``stop_id`` (boarding or alighting)."""
        return int(self.stop_times.loc[self.stop_times.stop_id == stop_id, "trip_id"].nunique())

    def patterns(self) -> pd.DataFrame:
        """Trips grouped by stopping pattern: ``pattern`` (stops joined by ``>``), ``trips``, first/last departure."""
        st = self.stop_times
        pat = st.groupby("trip_id", sort=False)["stop_id"].agg(">".join)
        first = st.groupby("trip_id", sort=False)["dep_s"].first()
        df = pd.DataFrame({"pattern": pat, "dep_s": first})
        out = df.groupby("pattern").agg(trips=("dep_s", "size"), first_dep_s=("dep_s", "min"), last_dep_s=("dep_s", "max"))
        return out.sort_values("trips", ascending=False).reset_index()

    # ------------------------------------------------------------------ compile
    def compile(self, *, default_change_s: float, scenario: str = "", repeat_daily: bool = True,
                stop_order: list[str] | None = None) -> CompiledTimetable:
        """Flat arrays for the router.

        Parameters
        ----------
        default_change_s : float
            Minimum change time (s) at stops without their own (a ``transfers`` row from a stop
            to itself).
        repeat_daily : bool, default True
            The service day repeats (a representative day): trips still running after 24:00 also
            run in the early morning of the day, shifted by −24 h.
        stop_order : list of str, optional
            Stop ids in the order the compiled stops should have (e.g. every station of the
            bundle, so that indices are stable across scenarios); stops of the timetable not in
            the list are appended.
        """
        st = self.stop_times
        trips = self.trips.set_index("trip_id")
        order = list(stop_order or [])
        known = set(order)
        order += [s for s in self.stops.stop_id if s not in known]
        sidx = {s: i for i, s in enumerate(order)}
        tid = st["trip_id"].to_numpy()
        # trips in first-seen order; events already grouped by trip in calling order
        bounds = np.flatnonzero(np.r_[True, tid[1:] != tid[:-1], True]) if len(tid) else np.zeros(1, dtype=np.int64)
        t_ids = tid[bounds[:-1]]
        ev_stop = st["stop_id"].map(sidx).to_numpy()
        if np.isnan(ev_stop.astype(float)).any():
            missing = sorted(set(st.stop_id) - set(sidx))[:5]
            raise ValueError(f"stop_times name stops that are not in stops: {missing}")
        ev_stop = ev_stop.astype(np.int64)
        arr = st["arr_s"].to_numpy(dtype=float)
        dep = st["dep_s"].to_numpy(dtype=float)
        starts = bounds.copy()
        codes = trips.loc[t_ids, "code"].to_numpy(dtype=object) if len(t_ids) else np.zeros(0, dtype=object)
        routes = trips.loc[t_ids, "route_id"].to_numpy(dtype=object) if len(t_ids) else np.zeros(0, dtype=object)
        ids = np.asarray(t_ids, dtype=object)
        if repeat_daily:
            # the previous day's run of every trip still running after midnight: its calls from
            # midnight on, shifted by -24 h (a representative day that repeats)
            tails = []
            for t in range(len(t_ids)):
                seg = np.arange(starts[t], starts[t + 1])
                part = seg[dep[seg] >= 86400]
                if len(part) >= 2:
                    tails.append((t, part))
            if tails:
                cat = np.concatenate([p for _, p in tails])
                src_t = np.array([t for t, _ in tails], dtype=np.int64)
                lens = np.array([len(p) for _, p in tails], dtype=np.int64)
                new_starts = len(ev_stop) + np.r_[0, np.cumsum(lens)]
                ev_stop = np.r_[ev_stop, ev_stop[cat]]
                arr = np.r_[arr, arr[cat] - 86400]
                dep = np.r_[dep, dep[cat] - 86400]
                starts = np.r_[starts[:-1], new_starts]
                ids = np.r_[ids, np.array([f"{ids[t]}@prev-day" for t in src_t], dtype=object)]
                codes = np.r_[codes, codes[src_t]]
                routes = np.r_[routes, routes[src_t]]
        change = np.full(len(order), float(default_change_s))
        tf = self.transfers
        same = tf[tf.from_stop == tf.to_stop]
        for s, m in zip(same.from_stop, same.min_s):
            if s in sidx:
                change[sidx[s]] = float(m)
        other = tf[(tf.from_stop != tf.to_stop) & tf.from_stop.isin(sidx) & tf.to_stop.isin(sidx)]
        return CompiledTimetable(
            stop_ids=np.asarray(order, dtype=object),
            trip_ids=ids, trip_codes=codes, trip_routes=routes,
            trip_start=np.asarray(starts, dtype=np.int64),
            ev_stop=ev_stop, ev_arr_s=np.round(arr), ev_dep_s=np.round(dep),
            change_s=np.round(change),
            tf_from=other.from_stop.map(sidx).to_numpy(dtype=np.int64),
            tf_to=other.to_stop.map(sidx).to_numpy(dtype=np.int64),
            tf_s=np.round(other.min_s.to_numpy(dtype=float)),
            scenario=scenario or self.name,
        )

    # ------------------------------------------------------------------ GTFS out
    def to_gtfs(self, path: str | Path, *, agency_name: str = "tx-transport scenario timetable") -> Path:
        """Write this timetable as a GTFS feed folder (atomically: a temporary folder, then renamed).

        Returns the folder path. Times past midnight stay above 24:00:00 (GTFS convention).
        """
        out = Path(path)
        day = (self.service_date or "2000-01-01").replace("-", "")
        with _atomic_dir(out) as tmp:
            pd.DataFrame([{"agency_id": "tx", "agency_name": agency_name, "agency_url": "https://example.invalid/tx-transport",
                           "agency_timezone": "Asia/Shanghai"}]).to_csv(tmp / "agency.txt", index=False)
            s = self.stops
            pd.DataFrame({"stop_id": s.stop_id, "stop_name": s.stop_name, "stop_lat": s.lat, "stop_lon": s.lon}).to_csv(
                tmp / "stops.txt", index=False)
            r = self.trips.drop_duplicates("route_id")
            pd.DataFrame({"route_id": r.route_id, "agency_id": "tx", "route_short_name": r.code, "route_long_name": r.code,
                          "route_type": 2}).to_csv(tmp / "routes.txt", index=False)
            t = self.trips
            pd.DataFrame({"route_id": t.route_id, "service_id": "day", "trip_id": t.trip_id, "trip_short_name": t.code}).to_csv(
                tmp / "trips.txt", index=False)
            st = self.stop_times
            seq = st.groupby("trip_id", sort=False).cumcount() + 1
            pd.DataFrame({"trip_id": st.trip_id, "arrival_time": seconds_to_gtfs(st.arr_s), "departure_time": seconds_to_gtfs(st.dep_s),
                          "stop_id": st.stop_id, "stop_sequence": seq}).to_csv(tmp / "stop_times.txt", index=False)
            pd.DataFrame([{"service_id": "day", "monday": 1, "tuesday": 1, "wednesday": 1, "thursday": 1, "friday": 1,
                           "saturday": 1, "sunday": 1, "start_date": day, "end_date": day}]).to_csv(tmp / "calendar.txt", index=False)
            tf = self.transfers
            if len(tf):
                pd.DataFrame({"from_stop_id": tf.from_stop, "to_stop_id": tf.to_stop, "transfer_type": 2,
                              "min_transfer_time": tf.min_s.astype(int)}).to_csv(tmp / "transfers.txt", index=False)
        return out


@contextlib.contextmanager
def _atomic_dir(out: Path) -> Iterator[Path]:
    """Write a folder into a temporary sibling, then put it in place (the old one goes only then)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.exists() and not out.is_dir():
        raise FileExistsError(f"{out} exists and is not a folder")
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        yield tmp
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old.", dir=out.parent))
            os.replace(out, old / "x")
            os.replace(tmp, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def empty_timetable(name: str = "") -> Timetable:
    return Timetable(pd.DataFrame(columns=STOP_COLS), pd.DataFrame(columns=TRIP_COLS), pd.DataFrame(columns=ST_COLS),
                     pd.DataFrame(columns=TF_COLS), name=name)


__all__ = ["Timetable", "clock", "empty_timetable", "parse_clock", "seconds_to_gtfs"]
