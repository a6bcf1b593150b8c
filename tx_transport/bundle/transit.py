"""``transit.yaml`` (feeds, change times, transfers, departure window, station links) and
``services.yaml`` (service edits), and a scenario's timetable keys. Station references are place
ids or Chinese timetable names, resolved to place ids here."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationInfo, field_validator, model_validator

from ..transit.config import FeedSpec, TransitConfig
from ..transit.edits import EDIT_TYPES
from ..transit.timetable import parse_clock
from .base import Context
from .readers import UNREADABLE
from .schema import Bool, Clock, Date, Record, Schema, StationRef, Text, Year, check, fail, got, kebab_id, number, one_of, ref, text, unique

FeedRef = ref("feeds", problem="feed {v} is not in transit.yaml", fix="use one of {choices}", what="feed")
EditRef = ref("edits", problem="service edit {v} is not in services.yaml", fix="name an edit id of services.yaml", what="edit")
Source = text(nonempty=True, missing="has no 'source'", fix="say where it comes from, or that it is an assumption")


# --------------------------------------------------------------------------- transit.yaml
class Feed(Record):
    id: kebab_id("feed id")  # type: ignore[valid-type]
    path: text(nonempty=True, missing="a feed needs a 'path'",  # type: ignore[valid-type]
               fix="give the GTFS folder or zip, relative to the bundle")
    service_date: Date | None = None
    source: text(nonempty=True, missing="has no 'source'", fix="say where the feed comes from and its licence")  # type: ignore[valid-type]
    lines_included_until: Year | None = None
    licence: Text | None = None
    license: Text | None = None
    note: Text | None = None

    @field_validator("path")
    @classmethod
    def _exists(cls, v: str, info: ValidationInfo) -> str:
        root = (info.context or {}).get("root") if isinstance(info.context, dict) else None
        if root is not None and not (Path(root) / v).exists():
            fail(f"path {v!r} does not exist", "correct the path (relative to the bundle folder)")
        return v


class Window(Schema):
    start: Clock = "07:00"  # type: ignore[valid-type]
    end: Clock = "09:00"  # type: ignore[valid-type]
    step_min: number(ge=1, le=60) = 1.0  # type: ignore[valid-type]

    @model_validator(mode="after")
    def _order(self) -> Any:
        if parse_clock(self.end) <= parse_clock(self.start):
            fail("end is not after start", "give a window such as 07:00–09:00")
        return self


class Transfer(Record):
    from_: StationRef = Field(alias="from")  # type: ignore[valid-type]
    to: StationRef  # type: ignore[valid-type]
    min: number(ge=0, le=600)  # type: ignore[valid-type]
    mode: Text | None = None
    source: Source  # type: ignore[valid-type]
    note: Text | None = None
    both_directions: Bool | None = None

    @model_validator(mode="after")
    def _two_stations(self) -> Any:
        if self.from_ == self.to:
            fail("a transfer from a station to itself", "use change_min_by_station for change times")
        return self


class StationLink(Record):
    station: StationRef  # type: ignore[valid-type]
    place: ref("places_ids", problem="place {v} is not in places.csv", fix="name a place id (e.g. shanghai)",  # type: ignore[valid-type]
               what="place")
    min: number(ge=0, le=300)  # type: ignore[valid-type]
    mode: Text | None = None
    source: Source  # type: ignore[valid-type]
    note: Text | None = None


class TransitFile(Schema):
    """transit.yaml."""

    feeds: list[Feed] = []
    default_feed: FeedRef | None = None  # type: ignore[valid-type]
    repeat_daily: Bool | None = None
    change_min: number(ge=0, le=120) | None = None  # type: ignore[valid-type]
    change_min_by_station: dict[StationRef, number(ge=0, le=120)] = {}  # type: ignore[valid-type]
    window: Window | None = None
    max_transfers: number(ge=0, le=10, whole=True) | None = None  # type: ignore[valid-type]
    stop_join_max_km: number(ge=0.01, le=50) | None = None  # type: ignore[valid-type]
    walk_transfer_max_km: number(ge=0, le=5) | None = None  # type: ignore[valid-type]
    walk_speed_kmh: number(ge=1, le=10) | None = None  # type: ignore[valid-type]
    transfers: list[Transfer] = []
    station_links: list[StationLink] = []


def load_transit(ctx: Context) -> TransitConfig | None:
    """transit.yaml as a :class:`TransitConfig` (defaults when the file is absent), or None after problems."""
    f = ctx.path("transit.yaml")
    if not f.exists():
        return TransitConfig()
    data = ctx.raw.get("transit.yaml")
    if data is UNREADABLE:
        return None
    if data is None:
        ctx.problems.add(f, "file", "is empty", "write 'feeds: []' for a bundle without timetables, or delete the file")
        return None
    m = check(TransitFile, data, file=f, record="", problems=ctx.problems, context=ctx.context(root=ctx.root))
    if isinstance(data, dict) and isinstance(data.get("feeds"), list):
        unique([fd.get("id") for fd in data["feeds"] if isinstance(fd, dict)], f, "feed", ctx.problems)
    if m is None or not ctx.ok("transit.yaml"):
        return None
    cfg = TransitConfig()
    cfg.feeds = [FeedSpec(fd.id, (ctx.root / fd.path).resolve(), fd.service_date, fd.source,
                          fd.lines_included_until if fd.lines_included_until is not None
                          else (int(fd.service_date[:4]) - 1 if fd.service_date else None)) for fd in m.feeds]
    cfg.default_feed = m.default_feed or (cfg.feeds[0].id if cfg.feeds else None)
    if m.repeat_daily is not None:
        cfg.repeat_daily = m.repeat_daily
    if m.change_min is not None:
        cfg.change_min = m.change_min
    cfg.change_min_by_station = dict(m.change_min_by_station)
    if m.window is not None:
        cfg.window_start_s, cfg.window_end_s = parse_clock(m.window.start), parse_clock(m.window.end)
        cfg.window_step_s = int(m.window.step_min * 60)
    for key in ("max_transfers", "stop_join_max_km", "walk_transfer_max_km", "walk_speed_kmh"):
        if getattr(m, key) is not None:
            setattr(cfg, key, getattr(m, key))
    for t in m.transfers:
        row = {"from": t.from_, "to": t.to, "min": t.min, "mode": t.mode or "metro", "source": t.source}
        cfg.transfers.append(row)
        if t.both_directions is not False:
            cfg.transfers.append({**row, "from": t.to, "to": t.from_})
    cfg.station_links = [{"station": s.station, "place": s.place, "min": s.min, "mode": s.mode or "metro", "source": s.source}
                         for s in m.station_links]
    return cfg


# --------------------------------------------------------------------------- services.yaml
def _regex(v: Any) -> Any:
    if not isinstance(v, str):
        fail(f"train must be a regular expression (text), got {got(v)}", "write e.g. '^G' for all G trains")
    try:
        re.compile(v)
    except re.error as exc:
        fail(f"train {v!r} is not a regular expression ({exc})", "write e.g. '^G' for all G trains")
    return v


def _names(v: Any) -> Any:
    """One id or a list of ids (routes, trips)."""
    if isinstance(v, str):
        return v
    if isinstance(v, list) and all(isinstance(x, str) for x in v):
        return v
    fail(f"must be an id or a list of ids, got {got(v)}", "write e.g. [G7301, G7303]")


class Select(Schema):
    feed: Any = None
    routes: Any = None
    trips: Any = None
    train: Any = None
    serving: list[StationRef] | None = None  # type: ignore[valid-type]
    between: list[StationRef] | None = None  # type: ignore[valid-type]
    share: number(ge=0, le=1) | None = None  # type: ignore[valid-type]

    @field_validator("routes", "trips")
    @classmethod
    def _ids(cls, v: Any) -> Any:
        return None if v is None else _names(v)

    @field_validator("train")
    @classmethod
    def _train(cls, v: Any) -> Any:
        return None if v is None else _regex(v)

    @field_validator("feed")
    @classmethod
    def _feed(cls, v: Any, info: ValidationInfo) -> Any:
        if v is None:
            return v
        refs = (info.context or {}).get("refs")
        known = getattr(refs, "feeds", None)
        for fid in [v] if isinstance(v, str) else v if isinstance(v, list) else [v]:
            if not isinstance(fid, str):
                fail(f"feed must be a feed id or a list of them, got {got(fid)}", "write e.g. feed: cr-2016")
            if known is not None and fid not in known:
                fail(f"feed {fid!r} is not in transit.yaml", f"use one of {sorted(known)}")
        return v

    @model_validator(mode="after")
    def _between(self) -> Any:
        if self.between is not None and len(self.between) != 2:
            fail("'between' needs two stations [a, b]", "write between: [a, b]")
        return self


class Band(Record):
    start: Clock  # type: ignore[valid-type]
    end: Clock  # type: ignore[valid-type]
    headway_min: number(ge=1, le=1440)  # type: ignore[valid-type]
    source: Text | None = None

    @model_validator(mode="after")
    def _order(self) -> Any:
        if parse_clock(self.end) <= parse_clock(self.start):
            fail("end is not after start", "give start < end")
        return self


#: Keys each edit type takes (besides id, type, project, name, source, note).
TYPE_KEYS = {
    "add-trip-pattern": {"stops", "lines", "hop_min", "hop_km", "dwell_min", "frequencies", "departures", "both_directions"},
    "add-stops": {"select", "stops", "dwell_min", "between"},
    "remove-stops": {"select", "stops"},
    "adjust-dwell": {"select", "stops", "dwell_min"},
    "adjust-frequency": {"select", "frequencies"},
    "remove-trips": {"select"},
    "adjust-speed": {"select", "between", "factor"},
}
COMMON_EDIT_KEYS = {"id", "type", "project", "name", "source", "note"}


class Edit(Record):
    id: kebab_id("edit id")  # type: ignore[valid-type]
    type: one_of(tuple(EDIT_TYPES))  # type: ignore[valid-type]
    project: ref("projects", problem="project {v} is not a project of the bundle",  # type: ignore[valid-type]
                 fix="name a rail.yaml line (or another project id), or leave 'project' out", what="project") | None = None
    name: Text | None = None
    stops: list[StationRef] | None = None  # type: ignore[valid-type]
    lines: list[ref("lines", problem="line {v} is not a rail.yaml line", fix="use one of {choices}", what="line")] | None = None  # type: ignore[valid-type]
    hop_min: list[number(ge=0.1, le=2000)] | None = None  # type: ignore[valid-type]
    hop_km: list[number(ge=0.1, le=2000)] | None = None  # type: ignore[valid-type]
    dwell_min: number(ge=0, le=60) | None = None  # type: ignore[valid-type]
    both_directions: Bool | None = None
    frequencies: list[Band] | None = None
    departures: list[Clock] | None = None  # type: ignore[valid-type]
    select: Select | None = None
    factor: number(ge=0.2, le=5) | None = None  # type: ignore[valid-type]
    between: list[StationRef] | None = None  # type: ignore[valid-type]
    source: Text | None = None
    note: Text | None = None

    @model_validator(mode="after")
    def _by_type(self, info: ValidationInfo) -> Any:
        t = self.type
        extra = sorted(k for k in self.model_fields_set - COMMON_EDIT_KEYS - TYPE_KEYS[t] if getattr(self, k) is not None)
        if extra:
            fail(f"{', '.join(extra)} do(es) not apply to {t} edits", f"{t} takes {', '.join(sorted(TYPE_KEYS[t]))}; remove the others")
        if self.between is not None and len(self.between) != 2:
            fail("'between' needs two stations [a, b]", "write between: [a, b]")
        if t == "add-trip-pattern":
            stops = self.stops or []
            if len(stops) < 2:
                fail("a pattern needs at least two stops", "list the stops in order")
            if len(set(stops)) != len(stops):
                fail("lists a stop twice", "list each stop once")
            for key in ("hop_min", "hop_km"):
                vals = getattr(self, key)
                if vals is not None and len(vals) != len(stops) - 1:
                    fail(f"'{key}' has {len(vals)} values for {len(stops) - 1} hops", f"give one value per hop ({len(stops) - 1})")
            refs = (info.context or {}).get("refs") if isinstance(info.context, dict) else None
            known_lines = getattr(refs, "lines", None)
            if not self.lines and self.hop_min is None and (self.project is None or (known_lines is not None and self.project not in known_lines)):
                fail("has no running times: neither 'lines' (rail.yaml lines it runs on), nor 'hop_min', nor a rail.yaml line as 'project'",
                     "give lines: [line ids in travel order], or hop_min: [minutes per hop]")
            if not self.frequencies and not self.departures:
                fail("has no departures", "give frequencies: [{start, end, headway_min}] or departures: [HH:MM, ...]")
            if not self.source:
                fail("has no 'source'", "say where the pattern, times and frequencies come from, or that they are assumptions")
        elif t in ("add-stops", "remove-stops") and not self.stops:
            fail(f"{t} needs 'stops'", "list the stations")
        elif t == "adjust-dwell" and self.dwell_min is None:
            fail("'dwell_min' is missing", "give 'dwell_min' a number")
        elif t == "adjust-frequency" and not self.frequencies:
            fail("adjust-frequency needs 'frequencies'", "give [{start, end, headway_min}]")
        elif t == "adjust-speed" and self.factor is None:
            fail("'factor' is missing", "give 'factor' a number (0.2 to 5)")
        if t != "add-trip-pattern" and not self.select:
            fail(f"{t} needs 'select' (which trips)", "give select: {train: ..., serving: [...], ...}")
        return self


class ServicesFile(Schema):
    edits: list[Edit] = []


def load_services(ctx: Context) -> list[dict[str, Any]] | None:
    """The edits of services.yaml with station names resolved to place ids, or None after problems."""
    f = ctx.path("services.yaml")
    if not f.exists():
        return []
    data = ctx.raw.get("services.yaml")
    if data is UNREADABLE:
        return None
    if data is None:
        ctx.problems.add(f, "file", "is empty", "write 'edits: []' to declare no service edits, or delete the file")
        return None
    m = check(ServicesFile, data, file=f, record="", problems=ctx.problems, context=ctx.context())
    if isinstance(data, dict) and isinstance(data.get("edits"), list):
        unique([e.get("id") for e in data["edits"] if isinstance(e, dict)], f, "edit", ctx.problems)
    if m is None or not ctx.ok("services.yaml"):
        return None
    out = []
    for raw, e in zip(data["edits"], m.edits):
        d = dict(raw)
        for key in ("stops", "between"):
            if getattr(e, key) is not None:
                d[key] = list(getattr(e, key))
        if e.select is not None:
            sel = dict(raw["select"])
            for key in ("serving", "between"):
                if getattr(e.select, key) is not None:
                    sel[key] = list(getattr(e.select, key))
            if e.select.share is not None:
                sel["share"] = e.select.share
            d["select"] = sel
        if e.type == "adjust-dwell":
            d["dwell_min"] = e.dwell_min
            d.setdefault("stops", "all")
        if e.type == "adjust-speed":
            d["factor"] = e.factor
        if e.dwell_min is not None:
            d["dwell_min"] = e.dwell_min
        for key in ("hop_min", "hop_km"):
            if getattr(e, key) is not None:
                d[key] = list(getattr(e, key))
        out.append(d)
    return out


def check_patterns(ctx: Context, services: list[dict[str, Any]] | None, rail: list[dict[str, Any]] | None) -> None:
    """Every hop of a trip pattern without ``hop_min`` has track under it: both stops on one of its
    lines (``lines``, else its ``project``), or on two of them that share a station."""
    if services is None or rail is None:
        return
    on = {li["id"]: set(li["station_ids"]) for li in rail}
    f = ctx.path("services.yaml")
    for e in services:
        if e["type"] != "add-trip-pattern" or e.get("hop_min") is not None:
            continue
        ids = [i for i in (e.get("lines") or [e.get("project")]) if i in on]
        for a, b in zip(e["stops"][:-1], e["stops"][1:]):
            if any(a in on[i] and b in on[i] for i in ids):
                continue
            if any(a in on[i] and b in on[j] and on[i] & on[j] for i in ids for j in ids if i != j):
                continue
            ctx.problems.add(f, f"edit {e['id']!r}", f"no track from {a} to {b} on the lines [{', '.join(ids)}]",
                             "list the rail.yaml lines the trains run on in 'lines' (in travel order, joined at a shared station), "
                             "or give hop_min", "lines")
            break


# --------------------------------------------------------------------------- scenario timetable keys
class ScenarioTimetable(Schema):
    feed: FeedRef | None = None  # type: ignore[valid-type]
    feeds: list[FeedRef] | None = None  # type: ignore[valid-type]
    project_edits: Bool | None = None

    @model_validator(mode="after")
    def _one(self) -> Any:
        if self.feed is not None and self.feeds is not None:
            fail("gives both 'feed' and 'feeds'", "give one feed (feed: id) or a list (feeds: [a, b])")
        return self


def scenario_timetable(s: dict[str, Any], cfg: TransitConfig) -> dict[str, Any]:
    """A validated scenario's ``timetable``, ``services``, ``remove_services`` keys, normalised."""
    tt = s.get("timetable") or {}
    feeds = tt.get("feeds") or ([tt["feed"]] if tt.get("feed") else ([cfg.default_feed] if cfg.default_feed else []))
    pe = tt.get("project_edits", True)
    return {"feeds": list(feeds), "project_edits": pe, "services": list(s.get("services") or []),
            "remove_services": list(s.get("remove_services") or [])}


__all__ = ["EditRef", "FeedRef", "ScenarioTimetable", "ServicesFile", "TransitFile", "check_patterns", "load_services", "load_transit",
           "scenario_timetable"]
