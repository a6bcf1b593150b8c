"""``profiles.yaml``: road and water profiles (edge kinds a trip may use, their costs) and
timetable profiles (``router: timetable``)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, model_validator

from .base import Context
from .readers import UNREADABLE
from .schema import Record, Schema, check, fail, got, kebab_id, number, one_of, ref, text

#: Edge kinds of the scenario graph (road and water). Rail is routed on the timetable, not on graph edges.
EDGE_KINDS = ("road", "ramp", "connector", "waterway", "port_transfer")
_RAIL_KINDS = ("rail_board", "rail_wait", "rail_run", "rail_dwell", "rail_alight", "rail_transfer")
TIMETABLE_MEASURES = ("fastest-of-day", "window")
TIMETABLE_PROFILE_KEYS = {"description", "router", "measure", "statistic", "access_profile", "access_max_min", "egress_max_min", "period"}
WINDOW_ONLY = ("statistic", "access_profile", "access_max_min", "egress_max_min", "period")


def _edge_kind(v: Any) -> str:
    if not isinstance(v, str):
        fail(f"'use' must be a flat list of edge kinds, got item {got(v)}", "write it as use: [road, ramp, connector] (one kind per item)")
    if v in _RAIL_KINDS:
        fail(f"edge kind {v!r} is no longer a graph edge: rail runs on the timetable",
             "route rail with a timetable profile (router: timetable, measure: fastest-of-day or window)")
    if v not in EDGE_KINDS:
        fail(f"edge kind {v!r} is unknown", f"use kinds of {sorted(EDGE_KINDS)}")
    return v


def _cost_kind(v: Any) -> str:
    if not isinstance(v, str) or v not in EDGE_KINDS:
        fail(f"cost for unknown edge kind {v!r}", f"use kinds of {sorted(EDGE_KINDS)}")
    return v


_MINUTES = number(ge=0, le=1440)


def _cost(v: Any) -> Any:
    if v == "base":
        return v
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not (0 <= float(v) <= 1440):
        fail(f"cost {got(v)} is neither 'base' nor minutes from 0 to 1440", "write base (the edge's own time) or a number of minutes")
    return v


EdgeKind = Annotated[str, BeforeValidator(_edge_kind)]
Description = text(nonempty=True, missing="has no description", fix="add a one-line 'description'")


class RoadProfile(Record):
    """A profile on the scenario graph: the edge kinds a trip may use and their costs."""

    description: Description  # type: ignore[valid-type]
    use: list[EdgeKind]
    cost: dict[Annotated[str, BeforeValidator(_cost_kind)], Annotated[Any, BeforeValidator(_cost)]] = {}

    @model_validator(mode="after")
    def _not_empty(self) -> Any:
        if not self.use:
            fail("'use' is empty: the profile could not take any edge", "list the edge kinds, e.g. use: [road, ramp, connector]")
        return self


class TimetableProfile(Record):
    """A profile routed on the timetable (``router: timetable``)."""

    description: Description  # type: ignore[valid-type]
    router: one_of(("timetable",), fix="use 'router: timetable' or leave 'router' out for road/water profiles")  # type: ignore[valid-type]
    measure: one_of(TIMETABLE_MEASURES,  # type: ignore[valid-type]
                    fix="use 'fastest-of-day' (station to station) or 'window' (door to door over the departure window)")
    statistic: str | None = None
    access_profile: ref("road_profiles", problem="access_profile {v} is not a road profile of this file",  # type: ignore[valid-type]
                        fix="name a road profile such as car", what="profile") | None = None
    period: one_of(("free-flow", "peak"), fix="use 'free-flow' or 'peak'") | None = None  # type: ignore[valid-type]
    access_max_min: number(gt=0, le=600) | None = None  # type: ignore[valid-type]
    egress_max_min: number(gt=0, le=600) | None = None  # type: ignore[valid-type]

    @model_validator(mode="after")
    def _window_keys(self) -> Any:
        from ..doortodoor import STATISTICS

        if self.measure != "window":
            given = [k for k in WINDOW_ONLY if getattr(self, k) is not None]
            if given:
                fail(f"{', '.join(given)} apply only to measure: window", "remove them, or use measure: window")
        elif self.statistic is not None and self.statistic not in STATISTICS:
            fail(f"statistic {self.statistic!r} is unknown", f"use one of {', '.join(STATISTICS)}")
        return self


class ProfilesFile(Schema):
    profiles: dict[kebab_id("profile name"), Any]  # type: ignore[valid-type]


def load_profiles(ctx: Context) -> dict[str, dict[str, Any]] | None:
    """The profiles of profiles.yaml, normalised as the graph reads them, or None after problems."""
    f = ctx.path("profiles.yaml")
    data = ctx.raw.get("profiles.yaml")
    if data is UNREADABLE:
        return None
    if data is None:
        if f.exists():
            ctx.problems.add(f, "file", "is empty", "write 'profiles:' with at least one profile (see networks/README.md)")
        return None
    pf = check(ProfilesFile, data, file=f, record="", problems=ctx.problems, context=ctx.context())
    if pf is None:
        return None
    if not pf.profiles:
        ctx.problems.add(f, "profiles", "is empty", "give at least one profile (see networks/README.md)")
        return None
    out: dict[str, dict[str, Any]] = {}
    ok = True
    for name, p in data["profiles"].items():
        rec = f"profile {name!r}"
        timetable = isinstance(p, dict) and "router" in p
        m = check(TimetableProfile if timetable else RoadProfile, p, file=f, record=rec, problems=ctx.problems, context=ctx.context())
        if m is None:
            ok = False
            continue
        p = dict(p)
        if timetable:
            if p["measure"] == "window":
                p.setdefault("statistic", "median")
                if p.setdefault("access_profile", "car") not in (ctx.refs.road_profiles or {p["access_profile"]}):
                    ctx.problems.add(f, rec, f"access_profile {p['access_profile']!r} is not a road profile of this file",
                                     "name a road profile such as car (the default)", "access_profile")
                    ok = False
                p.setdefault("period", "free-flow")
                for key in ("access_max_min", "egress_max_min"):
                    p[key] = float(p.get(key, 90))
            p["use"] = []
        else:
            p["use"] = list(p["use"])
        out[name] = p
    return out if ok else None


__all__ = ["EDGE_KINDS", "ProfilesFile", "RoadProfile", "TimetableProfile", "load_profiles"]
