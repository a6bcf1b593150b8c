"""``goals.yaml``: the plan's goals (one-hour circles, 301510, mileage, coverage, grids, rail
service, population reached) as data, every place, profile, project and boundary resolved."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, ValidationInfo

from .base import Context
from .readers import UNREADABLE
from .schema import Bool, PlaceRef, Positive, Record, Schema, Text, Year, check, fail, got, kebab_id, number, one_of, ref, unique

ProfileRef = ref("profiles", problem="unknown profile {v}", fix="use one of {choices}", what="profile")
ProjectRef = ref("projects", problem="unknown project {v}", fix="use a project id of expressways.yaml / waterways.yaml", what="project")
LimitMin = number(gt=0, le=1440)


def _boundary(v: Any, info: ValidationInfo) -> Any:
    s = str(v) if isinstance(v, int) and not isinstance(v, bool) else v
    if not isinstance(s, str):
        fail(f"boundary must be an adcode, got {got(v)}", 'write e.g. boundary: "330483"')
    refs = (info.context or {}).get("refs") if isinstance(info.context, dict) else None
    known = getattr(refs, "adcodes", None)
    if known and s not in known:
        fail(f"boundary {v!r} is not an adcode of boundaries.geojson", f"use one of {sorted(known)}")
    return s


class Measure(Record):
    measure: Text
    profile: ProfileRef  # type: ignore[valid-type]
    origin: PlaceRef  # type: ignore[valid-type]
    source: Text | None = None


class Target(Record):
    target: PlaceRef  # type: ignore[valid-type]
    station: PlaceRef | None = None  # type: ignore[valid-type]
    expected_within_limit: Bool | None = None


class OneHourCircle(Record):
    id: kebab_id("circle id")  # type: ignore[valid-type]
    name_en: Text | None = None
    name_zh: Text | None = None
    limit_min: LimitMin  # type: ignore[valid-type]
    note: Text | None = None
    measures: list[Measure]
    targets: list[Target]


class RailService(Record):
    stations: list[PlaceRef]  # type: ignore[valid-type]
    note: Text | None = None


class Circle301510(Record):
    name_en: Text | None = None
    name_zh: Text | None = None
    official: Bool | None = None
    note: Text | None = None
    profile: ProfileRef  # type: ignore[valid-type]
    city_centre: PlaceRef  # type: ignore[valid-type]
    towns: list[PlaceRef]  # type: ignore[valid-type]
    centre_limit_min: LimitMin  # type: ignore[valid-type]
    neighbour_limit_min: LimitMin  # type: ignore[valid-type]
    neighbour_reading: one_of(("nearest-town", "nearest-trunk-road"), fix="use 'nearest-town' or 'nearest-trunk-road'")  # type: ignore[valid-type]
    interchange_limit_min: LimitMin  # type: ignore[valid-type]


class MileageTarget(Record):
    goal: kebab_id("goal id")  # type: ignore[valid-type]
    modes: list[one_of(("rail", "expressway", "road", "waterway"))]  # type: ignore[valid-type]
    target_km: Positive
    year: Year | None = None
    source: Text | None = None


class Mileage(Record):
    boundary: Annotated[str, BeforeValidator(_boundary)]
    targets: list[MileageTarget]


class Coverage(Record):
    limit_min: LimitMin  # type: ignore[valid-type]
    profile: ProfileRef  # type: ignore[valid-type]
    centres: list[PlaceRef]  # type: ignore[valid-type]
    towns: list[PlaceRef]  # type: ignore[valid-type]
    note: Text | None = None


class Grid(Record):
    name_zh: Text | None = None
    name_en: Text | None = None
    reading: Text | None = None
    horizontals: list[ProjectRef]  # type: ignore[valid-type]
    verticals: list[ProjectRef]  # type: ignore[valid-type]


class PopulationReached(Record):
    origin: PlaceRef  # type: ignore[valid-type]
    limit_min: LimitMin | None = None  # type: ignore[valid-type]
    profiles: list[ProfileRef] | None = None  # type: ignore[valid-type]
    report_cutoffs_min: list[LimitMin] | None = None  # type: ignore[valid-type]
    target_people: number(ge=0, whole=True) | None = None  # type: ignore[valid-type]
    buffer_m: number(gt=0, le=50_000) | None = None  # type: ignore[valid-type]
    note: Text | None = None


class GoalsFile(Schema):
    """goals.yaml."""

    model_error_min: dict[ProfileRef, number(ge=0, le=120)] | None = None  # type: ignore[valid-type]
    one_hour_circles: list[OneHourCircle] | None = None
    rail_service: RailService | None = None
    circle_301510: Circle301510 | None = None
    mileage: Mileage | None = None
    coverage: Coverage | None = None
    population_reached: PopulationReached | None = None
    networks: dict[str, Grid] | None = None


def load_goals(ctx: Context) -> dict[str, Any] | None:
    """goals.yaml as written ({} when absent or empty: no goals), or None after problems."""
    f = ctx.path("goals.yaml")
    data = ctx.raw.get("goals.yaml")
    if data is UNREADABLE:
        return None
    if data is None:
        return {}
    check(GoalsFile, data, file=f, record="", problems=ctx.problems, context=ctx.context())
    if isinstance(data, dict) and isinstance(data.get("one_hour_circles"), list):
        unique([c.get("id") for c in data["one_hour_circles"] if isinstance(c, dict)], f, "one_hour_circles", ctx.problems)
    return data if ctx.ok("goals.yaml") else None


__all__ = ["GoalsFile", "load_goals"]
