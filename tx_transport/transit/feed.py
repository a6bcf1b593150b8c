"""GTFS feeds in, as :class:`~tx_transport.transit.timetable.Timetable` tables.

Feeds are read with `gtfs-kit <https://github.com/mrcagney/gtfs_kit>`_ (folder or ``.zip``):
the trips active on the service day (``calendar.txt`` / ``calendar_dates.txt``), with
``frequencies.txt`` expanded into trips (``gtfs_kit.expand_frequencies``) and ``transfers.txt``
(``transfer_type`` 2 with ``min_transfer_time``) kept as change times and transfers. Every
problem raises :class:`~tx_transport.errors.NetworkDataError` naming the feed file, the record
and the fix.
"""

from __future__ import annotations

import datetime as _dt
import logging
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import NetworkDataError
from .timetable import STOP_COLS, TF_COLS, TRIP_COLS, Timetable

log = logging.getLogger(__name__)


def _fail(path: Path, record: str, problem: str, fix: str) -> NetworkDataError:
    return NetworkDataError(str(path), record, problem, fix)


def _seconds(values: pd.Series, path: Path, what: str) -> np.ndarray:
    """``H:MM:SS`` strings → seconds (NaN for blanks); a malformed value is an error naming it."""
    s = values.astype("string").str.strip()
    blank = s.isna() | (s == "")
    parts = s.str.extract(r"^(\d{1,3}):(\d{2}):(\d{2})$")
    bad = parts[0].isna() & ~blank
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise _fail(path / "stop_times.txt", f"row {i + 2}", f"{what} {values.iloc[i]!r} is not HH:MM:SS",
                    "write times as HH:MM:SS (hours may exceed 24 after midnight)")
    out = parts[0].astype(float) * 3600 + parts[1].astype(float) * 60 + parts[2].astype(float)
    return out.to_numpy(dtype=float)


def read_feed(path: str | Path, *, feed_id: str, service_date: str | _dt.date | None = None) -> Timetable:
    """Read a GTFS feed (folder or ``.zip``) into a :class:`Timetable` of one service day.

    Parameters
    ----------
    path : str or Path
        The feed folder or zip file.
    feed_id : str
        Short id of the feed (recorded on every stop and trip).
    service_date : str or datetime.date, optional
        ``YYYY-MM-DD`` (or ``YYYYMMDD``): keep only trips whose service runs that day. Default:
        every trip of the feed.

    Returns
    -------
    Timetable
        Stop ids are the feed's own ``stop_id`` values.

    Raises
    ------
    NetworkDataError
        Missing or unreadable files, unknown stops, times that go backwards, a service day
        with no trips.
    """
    import gtfs_kit as gk

    p = Path(path)
    if not p.exists():
        raise _fail(p, "feed", "the GTFS feed does not exist", "give the path of a GTFS folder or .zip (see networks/README.md)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            feed = gk.read_feed(p, dist_units="km")
    except Exception as exc:  # gtfs-kit raises several types for unreadable feeds
        raise _fail(p, "feed", f"is not a readable GTFS feed ({type(exc).__name__}: {str(exc)[:200]})",
                    "check that it holds stops.txt, trips.txt, stop_times.txt and routes.txt as comma-separated UTF-8") from None
    for table in ("stops", "trips", "stop_times"):
        df = getattr(feed, table, None)
        if df is None or df.empty:
            raise _fail(p / f"{table}.txt", "file", "is missing or empty", f"add {table}.txt with its records (GTFS reference)")
    for table, cols in (("stops", ["stop_id", "stop_lat", "stop_lon"]), ("trips", ["trip_id"]),
                        ("stop_times", ["trip_id", "stop_id", "stop_sequence"])):
        df = getattr(feed, table)
        miss = [c for c in cols if c not in df.columns]
        if miss:
            raise _fail(p / f"{table}.txt", "header", f"missing column(s) {miss}", f"add {miss} (GTFS reference)")
    notes: list[str] = []
    trips = feed.trips
    if service_date is not None:
        day = service_date if isinstance(service_date, _dt.date) else _dt.date.fromisoformat(
            str(service_date) if "-" in str(service_date) else f"{str(service_date)[:4]}-{str(service_date)[4:6]}-{str(service_date)[6:8]}")
        ds = day.strftime("%Y%m%d")
        if feed.calendar is None and feed.calendar_dates is None:
            raise _fail(p / "calendar.txt", "file", "is missing (and so is calendar_dates.txt), so no service day can be chosen",
                        "add calendar.txt, or read the feed without a service_date")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            active = feed.get_trips(date=ds)
        if active is None or active.empty:
            raise _fail(p / "calendar.txt", f"service day {day}", "no trip runs on that day",
                        f"choose a day inside the feed's calendar (its dates: {', '.join(feed.get_dates()[:3])}…)")
        trips = active
    if getattr(feed, "frequencies", None) is not None and not feed.frequencies.empty:
        n0 = len(trips)
        freq = feed.frequencies[feed.frequencies.trip_id.isin(trips.trip_id)]
        sub = feed.copy()
        sub.trips = trips
        sub.frequencies = freq
        sub = gk.expand_frequencies(sub)
        trips = sub.trips
        stop_times = sub.stop_times
        notes.append(f"frequencies.txt expanded: {n0} trips became {len(trips)} (headway-based rows at start + n × headway)")
    else:
        stop_times = feed.stop_times
    stop_times = stop_times[stop_times.trip_id.isin(trips.trip_id)].copy()
    stops = feed.stops.copy()
    stops["stop_id"] = stops["stop_id"].astype(str)
    stop_times["stop_id"] = stop_times["stop_id"].astype(str)
    unknown = sorted(set(stop_times.stop_id) - set(stops.stop_id))
    if unknown:
        raise _fail(p / "stop_times.txt", f"stop_id {unknown[0]!r}", f"names {len(unknown)} stop(s) not in stops.txt",
                    "add the stops to stops.txt or correct stop_times.txt")
    stop_times["stop_sequence"] = pd.to_numeric(stop_times["stop_sequence"], errors="coerce")
    if stop_times["stop_sequence"].isna().any():
        raise _fail(p / "stop_times.txt", "stop_sequence", "has values that are not whole numbers", "number the stops of each trip 0, 1, 2…")
    stop_times = stop_times.sort_values(["trip_id", "stop_sequence"], kind="stable")
    arr = _seconds(stop_times["arrival_time"], p, "arrival_time")
    dep = _seconds(stop_times["departure_time"], p, "departure_time")
    arr = np.where(np.isnan(arr), dep, arr)
    dep = np.where(np.isnan(dep), arr, dep)
    st = pd.DataFrame({"trip_id": stop_times["trip_id"].astype(str).to_numpy(), "stop_id": stop_times["stop_id"].to_numpy(),
                       "arr_s": arr, "dep_s": dep})
    st = _interpolate_missing(st, p)
    size = st.groupby("trip_id", sort=False).size()
    short = size[size < 2]
    if len(short):
        notes.append(f"{len(short)} trip(s) with fewer than two stops dropped (e.g. {short.index[0]})")
        st = st[~st.trip_id.isin(short.index)]
    _check_monotonic(st, p)
    trips = trips[trips.trip_id.astype(str).isin(set(st.trip_id))]
    code_col = next((c for c in ("trip_short_name", "route_short_name") if c in trips.columns), None)
    tr = pd.DataFrame({"trip_id": trips.trip_id.astype(str).to_numpy(),
                       "route_id": trips["route_id"].astype(str).to_numpy() if "route_id" in trips.columns else "",
                       "feed": feed_id, "origin": feed_id})
    if code_col is not None:
        tr["code"] = trips[code_col].astype("string").fillna("").astype(str).to_numpy()
    else:
        tr["code"] = ""
    if feed.routes is not None and "route_short_name" in feed.routes.columns:
        rs = dict(zip(feed.routes.route_id.astype(str), feed.routes.route_short_name.astype("string").fillna("").astype(str)))
        empty = tr.code == ""
        tr.loc[empty, "code"] = tr.loc[empty, "route_id"].map(rs).fillna("")
    tr.loc[tr.code == "", "code"] = tr.loc[tr.code == "", "trip_id"]
    # keep the stop_times order (trip groups in calling order) and the trips in that order
    order = pd.unique(st.trip_id)
    tr = tr.set_index("trip_id").loc[order].reset_index()[TRIP_COLS]
    used = stops[stops.stop_id.isin(set(st.stop_id))]
    name = used["stop_name"].astype("string").fillna("").astype(str) if "stop_name" in used.columns else used.stop_id
    sp = pd.DataFrame({"stop_id": used.stop_id.to_numpy(), "stop_name": np.asarray(name),
                       "lon": pd.to_numeric(used.stop_lon, errors="coerce").to_numpy(),
                       "lat": pd.to_numeric(used.stop_lat, errors="coerce").to_numpy(), "feed": feed_id})[STOP_COLS]
    bad = sp[~(np.isfinite(sp.lon) & np.isfinite(sp.lat))]
    if len(bad):
        raise _fail(p / "stops.txt", f"stop_id {bad.stop_id.iloc[0]!r}", "has no numeric stop_lat/stop_lon", "give WGS84 degrees")
    transfers = _transfers(feed, p)
    date = str(service_date) if service_date is not None else ""
    return Timetable(sp.reset_index(drop=True), tr, st.reset_index(drop=True), transfers, name=feed_id, service_date=date, notes=notes)


def _interpolate_missing(st: pd.DataFrame, p: Path) -> pd.DataFrame:
    """GTFS allows blank times at intermediate stops: interpolate them linearly by position."""
    miss = st.arr_s.isna()
    if not miss.any():
        return st
    g = st.groupby("trip_id", sort=False)
    firsts = g.head(1).index
    lasts = g.tail(1).index
    ends_missing = miss.loc[firsts].any() or miss.loc[lasts].any()
    if ends_missing:
        bad = st.loc[firsts.union(lasts)][miss.loc[firsts.union(lasts)]]
        raise _fail(p / "stop_times.txt", f"trip {bad.trip_id.iloc[0]!r}", "has no time at its first or last stop",
                    "give arrival and departure times at the first and last stop of every trip")
    st = st.copy()
    st["arr_s"] = g["arr_s"].transform(lambda s: s.interpolate())
    st["dep_s"] = st["dep_s"].fillna(st["arr_s"])
    return st


def _check_monotonic(st: pd.DataFrame, p: Path) -> None:
    same = st.trip_id.to_numpy()[1:] == st.trip_id.to_numpy()[:-1]
    arr, dep = st.arr_s.to_numpy(), st.dep_s.to_numpy()
    back = (dep < arr)
    back[1:] |= same & (arr[1:] < dep[:-1])
    if back.any():
        i = int(np.flatnonzero(back)[0])
        raise _fail(p / "stop_times.txt", f"trip {st.trip_id.iloc[i]!r} at stop {st.stop_id.iloc[i]!r}",
                    "times go backwards along the trip", "times must not decrease along a trip; write times after midnight as 24:xx:xx or more")


def _transfers(feed: Any, p: Path) -> pd.DataFrame:
    tf = getattr(feed, "transfers", None)
    if tf is None or tf.empty:
        return pd.DataFrame(columns=TF_COLS)
    tf = tf.copy()
    if "transfer_type" not in tf.columns:
        tf["transfer_type"] = 0
    tt = pd.to_numeric(tf["transfer_type"], errors="coerce").fillna(0).astype(int)
    rows = []
    for r, t in zip(tf.itertuples(), tt):
        if t == 2:
            m = pd.to_numeric(getattr(r, "min_transfer_time", np.nan), errors="coerce")
            if not np.isfinite(m) or m < 0:
                raise _fail(p / "transfers.txt", f"{r.from_stop_id}→{r.to_stop_id}", "transfer_type 2 needs a non-negative min_transfer_time",
                            "give min_transfer_time in seconds")
            rows.append({"from_stop": str(r.from_stop_id), "to_stop": str(r.to_stop_id), "min_s": float(m), "mode": "transfer",
                         "source": f"{p.name}/transfers.txt"})
    return pd.DataFrame(rows, columns=TF_COLS)


def merge_timetables(parts: list[Timetable], name: str) -> Timetable:
    """Several feeds as one timetable (ids must already be unique across the parts)."""
    if len(parts) == 1:
        return parts[0].copy(name=name)
    stops = pd.concat([t.stops for t in parts], ignore_index=True).drop_duplicates("stop_id")
    trips = pd.concat([t.trips for t in parts], ignore_index=True)
    st = pd.concat([t.stop_times for t in parts], ignore_index=True)
    tf = pd.concat([t.transfers for t in parts], ignore_index=True)
    dup = trips.trip_id[trips.trip_id.duplicated()]
    if len(dup):
        raise ValueError(f"trip id {dup.iloc[0]!r} appears in two feeds")
    notes = [n for t in parts for n in t.notes]
    return Timetable(stops, trips, st, tf, name=name, service_date=parts[0].service_date, notes=notes)


__all__ = ["merge_timetables", "read_feed"]
