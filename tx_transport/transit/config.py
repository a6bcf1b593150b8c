"""Read the timetable settings of a bundle: ``transit.yaml`` (feeds, change times, transfers,
departure window) and ``services.yaml`` (service edits), and a scenario's ``timetable`` keys.

Station references may be a place id or the Chinese timetable name of a station (``桐乡``,
``杭州东``); they are resolved to place ids here, so the rest of the code sees ids only.
"""

from __future__ import annotations

import datetime as _dt
import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import NetworkDataError
from .edits import EDIT_TYPES
from .timetable import parse_clock

TRANSIT_KEYS = {"feeds", "default_feed", "repeat_daily", "change_min", "change_min_by_station", "window", "max_transfers",
                "stop_join_max_km", "transfers", "walk_transfer_max_km", "walk_speed_kmh", "station_links"}
FEED_KEYS = {"id", "path", "service_date", "source", "licence", "license", "note", "lines_included_until"}
EDIT_KEYS = {"id", "type", "project", "name", "stops", "lines", "hop_min", "hop_km", "dwell_min", "both_directions",
             "frequencies", "departures", "select", "factor", "between", "source", "note"}
SELECT_KEYS = {"feed", "routes", "trips", "train", "serving", "between", "share"}
SCENARIO_TIMETABLE_KEYS = {"feed", "feeds", "project_edits"}


@dataclass
class FeedSpec:
    id: str
    path: Path
    service_date: str | None
    source: str
    #: rail.yaml lines opened in or before this year have their trains in the feed: their
    #: add-trip-pattern edits are not applied on it, and a scenario without such a line removes
    #: its trains. Default: the year before the service date.
    lines_included_until: int | None = None


@dataclass
class TransitConfig:
    """The parsed ``transit.yaml`` (defaults when the file is absent)."""

    feeds: list[FeedSpec] = field(default_factory=list)
    default_feed: str | None = None
    repeat_daily: bool = True
    change_min: float = 10.0
    change_min_by_station: dict[str, float] = field(default_factory=dict)
    window_start_s: int = 7 * 3600
    window_end_s: int = 9 * 3600
    window_step_s: int = 60
    max_transfers: int = 4
    stop_join_max_km: float = 3.0
    walk_transfer_max_km: float = 0.4
    walk_speed_kmh: float = 4.5
    transfers: list[dict[str, Any]] = field(default_factory=list)
    station_links: list[dict[str, Any]] = field(default_factory=list)

    def feed(self, fid: str) -> FeedSpec:
        for f in self.feeds:
            if f.id == fid:
                return f
        raise KeyError(fid)


def station_id(ref: Any, places: pd.DataFrame, file: Path, record: str) -> str:
    """A place id for a station reference (place id, or Chinese name with or without 站)."""
    if isinstance(ref, str) and ref in places.index:
        return ref
    if isinstance(ref, str) and ref.strip():
        r = ref.strip()
        zh = places["name_zh"].astype(str)
        # 松江南站(上海松江站) is 松江南: a trailing "(…站)" gives another name of the same station
        base = zh.str.replace(r"[（(][^（()）]*站[)）]$", "", regex=True)
        is_station = (places["kind"] == "station").to_numpy()
        tiers = ((zh, r), (zh, r + "站"), (zh, r.removesuffix("站")), (base, r + "站"), (base, r))
        # stations first (湖州 is the station 湖州站, not the city 湖州), then any place
        for only_stations, (col, cand) in [(True, t) for t in tiers] + [(False, t) for t in tiers]:
            hit = places.index[(col == cand).to_numpy() & (is_station if only_stations else True)]
            if len(hit) == 1:
                return str(hit[0])
            if len(hit) > 1:
                st = [h for h in hit if places.loc[h, "kind"] == "station"]
                if len(st) == 1:
                    return str(st[0])
                raise NetworkDataError(str(file), record, f"station {ref!r} matches several places ({', '.join(hit)})",
                                       "use the place id instead of the name")
    pool = list(places.index) + list(places["name_zh"].astype(str))
    close = difflib.get_close_matches(str(ref), pool, n=3)
    hint = f"did you mean {', '.join(close)}? " if close else ""
    raise NetworkDataError(str(file), record, f"station {ref!r} is not a place id or a station name in places.csv",
                           f"{hint}add the station to places.csv (build/places_src.csv) or correct the reference")


def _num(v: Any, file: Path, rec: str, key: str, lo: float = 0.0, hi: float | None = None) -> float:
    if isinstance(v, bool):
        raise NetworkDataError(str(file), rec, f"'{key}' must be a number, got {v!r}", f"write '{key}' as a plain number")
    try:
        x = float(v)
    except (TypeError, ValueError):
        raise NetworkDataError(str(file), rec, f"'{key}' must be a number, got {str(v)[:60]!r}", f"write '{key}' as a plain number") from None
    if not (x == x) or x < lo or (hi is not None and x > hi):
        rng = f"between {lo:g} and {hi:g}" if hi is not None else f">= {lo:g}"
        raise NetworkDataError(str(file), rec, f"'{key}' is {x:g}, out of range", f"give '{key}' {rng}")
    return x


def _clock(v: Any, file: Path, rec: str, key: str) -> int:
    try:
        return parse_clock(v, key)
    except ValueError as exc:
        raise NetworkDataError(str(file), rec, str(exc), f"write '{key}' as HH:MM, e.g. \"07:00\" (quoted)") from None


def _keys(d: Any, allowed: set[str], file: Path, rec: str) -> dict[str, Any]:
    if not isinstance(d, dict):
        raise NetworkDataError(str(file), rec, f"must be a mapping, got {type(d).__name__}", "write 'key: value' lines (see networks/README.md)")
    for k in d:
        if k not in allowed:
            close = difflib.get_close_matches(str(k), sorted(allowed), n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise NetworkDataError(str(file), rec, f"unknown key {str(k)[:60]!r}", f"{hint}allowed keys: {', '.join(sorted(allowed))}")
    return d


def _list(v: Any, file: Path, rec: str, key: str) -> list[Any]:
    if v is None:
        return []
    if not isinstance(v, list):
        raise NetworkDataError(str(file), rec, f"'{key}' must be a list", f"write '{key}' as [a, b, ...] or '- ' items")
    return v


def load_transit_config(data: Any, file: Path, root: Path, places: pd.DataFrame) -> TransitConfig:
    """Validate the parsed ``transit.yaml`` (``data``; None when the file is absent)."""
    cfg = TransitConfig()
    if data is None:
        return cfg
    d = _keys(data, TRANSIT_KEYS, file, "top level")
    for k, fd in enumerate(_list(d.get("feeds"), file, "feeds", "feeds")):
        rec = f"feeds item {k + 1}"
        fd = _keys(fd, FEED_KEYS, file, rec)
        fid = fd.get("id")
        if not isinstance(fid, str) or not fid:
            raise NetworkDataError(str(file), rec, "a feed needs an 'id'", "give the feed a short id, e.g. cr-2016")
        if not fd.get("path"):
            raise NetworkDataError(str(file), f"feed {fid!r}", "a feed needs a 'path'", "give the GTFS folder or zip, relative to the bundle")
        p = (root / str(fd["path"])).resolve()
        if not p.exists():
            raise NetworkDataError(str(file), f"feed {fid!r}", f"path {fd['path']!r} does not exist",
                                   "correct the path (relative to the bundle folder)")
        sd = fd.get("service_date")
        if sd is not None:
            try:
                sd = (sd if isinstance(sd, _dt.date) else _dt.date.fromisoformat(str(sd))).isoformat()
            except ValueError:
                raise NetworkDataError(str(file), f"feed {fid!r}", f"service_date {sd!r} is not a date", "write it as YYYY-MM-DD") from None
        if not fd.get("source"):
            raise NetworkDataError(str(file), f"feed {fid!r}", "has no 'source'", "say where the feed comes from and its licence")
        lines_until = None
        if fd.get("lines_included_until") is not None:
            lines_until = int(_num(fd["lines_included_until"], file, f"feed {fid!r}", "lines_included_until", 1800, 2200))
        elif sd is not None:
            lines_until = int(str(sd)[:4]) - 1
        cfg.feeds.append(FeedSpec(fid, p, sd, str(fd["source"]), lines_until))
    if len({f.id for f in cfg.feeds}) != len(cfg.feeds):
        raise NetworkDataError(str(file), "feeds", "two feeds share an id", "give each feed a unique id")
    cfg.default_feed = d.get("default_feed") or (cfg.feeds[0].id if cfg.feeds else None)
    if cfg.default_feed is not None and cfg.default_feed not in {f.id for f in cfg.feeds}:
        raise NetworkDataError(str(file), "default_feed", f"{cfg.default_feed!r} is not one of the feeds", "name a feed listed under 'feeds'")
    if "repeat_daily" in d:
        if not isinstance(d["repeat_daily"], bool):
            raise NetworkDataError(str(file), "repeat_daily", f"must be true or false, got {d['repeat_daily']!r}", "write true or false")
        cfg.repeat_daily = d["repeat_daily"]
    if "change_min" in d:
        cfg.change_min = _num(d["change_min"], file, "change_min", "change_min", 0, 120)
    for s, v in (d.get("change_min_by_station") or {}).items():
        sid = station_id(s, places, file, f"change_min_by_station {s!r}")
        cfg.change_min_by_station[sid] = _num(v, file, f"change_min_by_station {s!r}", "minutes", 0, 120)
    if "window" in d:
        w = _keys(d["window"], {"start", "end", "step_min"}, file, "window")
        cfg.window_start_s = _clock(w.get("start", "07:00"), file, "window", "start")
        cfg.window_end_s = _clock(w.get("end", "09:00"), file, "window", "end")
        cfg.window_step_s = int(_num(w.get("step_min", 1), file, "window", "step_min", 1, 60) * 60)
        if cfg.window_end_s <= cfg.window_start_s:
            raise NetworkDataError(str(file), "window", "end is not after start", "give a window such as 07:00–09:00")
    if "max_transfers" in d:
        cfg.max_transfers = int(_num(d["max_transfers"], file, "max_transfers", "max_transfers", 0, 10))
    if "stop_join_max_km" in d:
        cfg.stop_join_max_km = _num(d["stop_join_max_km"], file, "stop_join_max_km", "stop_join_max_km", 0.01, 50)
    if "walk_transfer_max_km" in d:
        cfg.walk_transfer_max_km = _num(d["walk_transfer_max_km"], file, "walk_transfer_max_km", "walk_transfer_max_km", 0, 5)
    if "walk_speed_kmh" in d:
        cfg.walk_speed_kmh = _num(d["walk_speed_kmh"], file, "walk_speed_kmh", "walk_speed_kmh", 1, 10)
    for k, t in enumerate(_list(d.get("transfers"), file, "transfers", "transfers")):
        rec = f"transfers item {k + 1}"
        t = _keys(t, {"from", "to", "min", "mode", "source", "note", "both_directions"}, file, rec)
        a = station_id(t.get("from"), places, file, rec)
        b = station_id(t.get("to"), places, file, rec)
        if a == b:
            raise NetworkDataError(str(file), rec, "a transfer from a station to itself", "use change_min_by_station for change times")
        m = _num(t.get("min"), file, rec, "min", 0, 600)
        if not t.get("source"):
            raise NetworkDataError(str(file), rec, "has no 'source'", "say where the time comes from, or that it is an assumption")
        cfg.transfers.append({"from": a, "to": b, "min": m, "mode": str(t.get("mode", "metro")), "source": str(t["source"])})
        if t.get("both_directions", True):
            cfg.transfers.append({"from": b, "to": a, "min": m, "mode": str(t.get("mode", "metro")), "source": str(t["source"])})
    for k, t in enumerate(_list(d.get("station_links"), file, "station_links", "station_links")):
        rec = f"station_links item {k + 1}"
        t = _keys(t, {"station", "place", "min", "mode", "source", "note"}, file, rec)
        st_id = station_id(t.get("station"), places, file, rec)
        pl = t.get("place")
        if pl not in places.index:
            raise NetworkDataError(str(file), rec, f"place {str(pl)[:60]!r} is not in places.csv", "name a place id (e.g. shanghai)")
        if not t.get("source"):
            raise NetworkDataError(str(file), rec, "has no 'source'", "say where the time comes from, or that it is an assumption")
        cfg.station_links.append({"station": st_id, "place": str(pl), "min": _num(t.get("min"), file, rec, "min", 0, 300),
                                  "mode": str(t.get("mode", "metro")), "source": str(t["source"])})
    return cfg


def load_services(data: Any, file: Path, places: pd.DataFrame, projects: set[str], line_ids: set[str]) -> list[dict[str, Any]]:
    """Validate the parsed ``services.yaml``; station names become place ids."""
    if data is None:
        return []
    d = _keys(data, {"edits"}, file, "top level")
    out = []
    for k, e in enumerate(_list(d.get("edits"), file, "edits", "edits")):
        rec = f"edits item {k + 1}"
        e = dict(_keys(e, EDIT_KEYS, file, rec))
        eid = e.get("id")
        if not isinstance(eid, str) or not eid:
            raise NetworkDataError(str(file), rec, "an edit needs an 'id'", "give it a kebab-case id")
        rec = f"edit {eid!r}"
        if e.get("type") not in EDIT_TYPES:
            raise NetworkDataError(str(file), rec, f"type {e.get('type')!r} is unknown", f"use one of {', '.join(EDIT_TYPES)}")
        if e.get("project") is not None and e["project"] not in projects:
            raise NetworkDataError(str(file), rec, f"project {e['project']!r} is not a project of the bundle",
                                   "name a rail.yaml line (or another project id), or leave 'project' out")
        for key in ("stops",):
            if key in e:
                e[key] = [station_id(s, places, file, f"{rec}, stop {s!r}") for s in _list(e[key], file, rec, key)]
        for key in ("lines",):
            for ln in _list(e.get(key), file, rec, key):
                if ln not in line_ids:
                    raise NetworkDataError(str(file), rec, f"line {ln!r} is not a rail.yaml line", f"use one of {', '.join(sorted(line_ids))}")
        if "between" in e:
            b = _list(e["between"], file, rec, "between")
            if len(b) != 2:
                raise NetworkDataError(str(file), rec, "'between' needs two stations [a, b]", "write between: [a, b]")
            e["between"] = [station_id(s, places, file, rec) for s in b]
        if "select" in e:
            sel = dict(_keys(e["select"], SELECT_KEYS, file, f"{rec}, select"))
            for key in ("serving", "between"):
                if key in sel:
                    sel[key] = [station_id(s, places, file, f"{rec}, select") for s in _list(sel[key], file, rec, key)]
            if "share" in sel:
                sel["share"] = _num(sel["share"], file, f"{rec}, select", "share", 0, 1)
            if "train" in sel:
                import re

                try:
                    re.compile(str(sel["train"]))
                except re.error as exc:
                    raise NetworkDataError(str(file), f"{rec}, select", f"train {sel['train']!r} is not a regular expression ({exc})",
                                           "write e.g. '^G' for all G trains") from None
            e["select"] = sel
        t = e["type"]
        if t == "add-trip-pattern":
            if len(e.get("stops") or []) < 2:
                raise NetworkDataError(str(file), rec, "a pattern needs at least two stops", "list the stops in order")
            if len(set(e["stops"])) != len(e["stops"]):
                raise NetworkDataError(str(file), rec, "lists a stop twice", "list each stop once")
            n = len(e["stops"]) - 1
            for key in ("hop_min", "hop_km"):
                if e.get(key) is not None:
                    vals = _list(e[key], file, rec, key)
                    if len(vals) != n:
                        raise NetworkDataError(str(file), rec, f"'{key}' has {len(vals)} values for {n} hops", f"give one value per hop ({n})")
                    e[key] = [_num(v, file, rec, key, 0.1, 2000) for v in vals]
            if not e.get("frequencies") and not e.get("departures"):
                raise NetworkDataError(str(file), rec, "has no departures",
                                       "give frequencies: [{start, end, headway_min}] or departures: [HH:MM, ...]")
            for j, band in enumerate(_list(e.get("frequencies"), file, rec, "frequencies")):
                brec = f"{rec}, frequencies item {j + 1}"
                band = _keys(band, {"start", "end", "headway_min", "source"}, file, brec)
                s0, s1 = _clock(band.get("start"), file, brec, "start"), _clock(band.get("end"), file, brec, "end")
                if s1 <= s0:
                    raise NetworkDataError(str(file), brec, "end is not after start", "give start < end")
                _num(band.get("headway_min"), file, brec, "headway_min", 1, 1440)
            for dep in _list(e.get("departures"), file, rec, "departures"):
                _clock(dep, file, rec, "departures")
            if "both_directions" in e and not isinstance(e["both_directions"], bool):
                raise NetworkDataError(str(file), rec, "both_directions must be true or false", "write true or false")
            if not e.get("source"):
                raise NetworkDataError(str(file), rec, "has no 'source'",
                                       "say where the pattern, times and frequencies come from, or that they are assumptions")
        elif t in ("add-stops", "remove-stops"):
            if not e.get("stops"):
                raise NetworkDataError(str(file), rec, f"{t} needs 'stops'", "list the stations")
        elif t == "adjust-dwell":
            e["dwell_min"] = _num(e.get("dwell_min"), file, rec, "dwell_min", 0, 60)
            if "stops" not in e:
                e["stops"] = "all"
        elif t == "adjust-frequency":
            if not e.get("frequencies"):
                raise NetworkDataError(str(file), rec, "adjust-frequency needs 'frequencies'", "give [{start, end, headway_min}]")
            for j, band in enumerate(_list(e["frequencies"], file, rec, "frequencies")):
                brec = f"{rec}, frequencies item {j + 1}"
                band = _keys(band, {"start", "end", "headway_min", "source"}, file, brec)
                _clock(band.get("start"), file, brec, "start")
                _clock(band.get("end"), file, brec, "end")
                _num(band.get("headway_min"), file, brec, "headway_min", 1, 1440)
        elif t == "adjust-speed":
            e["factor"] = _num(e.get("factor"), file, rec, "factor", 0.2, 5)
        if t != "add-trip-pattern" and not e.get("select"):
            raise NetworkDataError(str(file), rec, f"{t} needs 'select' (which trips)", "give select: {train: ..., serving: [...], ...}")
        if "dwell_min" in e and t != "adjust-dwell":
            e["dwell_min"] = _num(e["dwell_min"], file, rec, "dwell_min", 0, 60)
        out.append(e)
    ids = [e["id"] for e in out]
    dup = {i for i in ids if ids.count(i) > 1}
    if dup:
        raise NetworkDataError(str(file), f"edit {sorted(dup)[0]!r}", "two edits share an id", "give each edit a unique id")
    return out


def scenario_timetable(s: dict[str, Any], file: Path, rec: str, cfg: TransitConfig, edit_ids: set[str]) -> dict[str, Any]:
    """Validate a scenario's ``timetable``, ``services``, ``remove_services`` keys."""
    tt = _keys(s.get("timetable") or {}, SCENARIO_TIMETABLE_KEYS, file, f"{rec}, timetable")
    feeds = tt.get("feeds") or ([tt["feed"]] if tt.get("feed") else ([cfg.default_feed] if cfg.default_feed else []))
    for fid in feeds:
        if fid not in {f.id for f in cfg.feeds}:
            raise NetworkDataError(str(file), f"{rec}, timetable", f"feed {fid!r} is not in transit.yaml",
                                   f"use one of {', '.join(f.id for f in cfg.feeds) or '(no feeds)'}")
    pe = tt.get("project_edits", True)
    if not isinstance(pe, bool):
        raise NetworkDataError(str(file), f"{rec}, timetable", f"project_edits must be true or false, got {pe!r}", "write true or false")
    services = _list(s.get("services"), file, rec, "services")
    remove = _list(s.get("remove_services"), file, rec, "remove_services")
    for sid in services + remove:
        if sid not in edit_ids:
            close = difflib.get_close_matches(str(sid), sorted(edit_ids), n=1)
            raise NetworkDataError(str(file), rec, f"service edit {sid!r} is not in services.yaml",
                                   (f"did you mean {close[0]!r}? " if close else "") + "name an edit id of services.yaml")
    return {"feeds": list(feeds), "project_edits": pe, "services": list(services), "remove_services": list(remove)}


__all__ = ["FeedSpec", "TransitConfig", "load_services", "load_transit_config", "scenario_timetable", "station_id"]
