"""``scenarios.yaml``: which projects are in service (``opened_by``, ``plan_by``, ``all``,
``extends``, ``add``, ``remove``), speed overrides, and the timetable keys."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationInfo, model_validator

from .base import Context
from .readers import UNREADABLE
from .schema import MAX_SPEED_KMH, Bool, Positive, Record, Schema, Year, check, fail, got, kebab_id, ref, text
from .transit import EditRef, ScenarioTimetable

ProjectRef = ref("projects", problem="unknown project {v}", fix="use a project id of rail/expressways/trunk_roads/waterways.yaml",
                 what="project")


class Scenario(Record):
    description: text(nonempty=True, missing="has no description", fix="add a one-line 'description'")  # type: ignore[valid-type]
    opened_by: Year | None = None
    plan_by: Year | None = None
    all: Bool | None = None
    extends: ref("scenarios", problem="extends unknown scenario {v}", fix="use one of {choices}",  # type: ignore[valid-type]
                 what="scenario") | None = None
    add: list[ProjectRef] | None = None  # type: ignore[valid-type]
    remove: list[ProjectRef] | None = None  # type: ignore[valid-type]
    speed_kmh: dict[ref("projects", problem="unknown project {v}", fix="use a project id", what="project"),  # type: ignore[valid-type]
                    Positive] | None = None
    timetable: ScenarioTimetable | None = None
    services: list[EditRef] | None = None  # type: ignore[valid-type]
    remove_services: list[EditRef] | None = None  # type: ignore[valid-type]

    @model_validator(mode="before")
    @classmethod
    def _extends_one(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("extends") is not None and not isinstance(data["extends"], str):
            fail(f"'extends' must be one scenario name, got {got(data['extends'])}", "write extends: <scenario name> (one name, not a list)")
        return data

    @model_validator(mode="after")
    def _speeds(self, info: ValidationInfo) -> Any:
        refs = (info.context or {}).get("refs") if isinstance(info.context, dict) else None
        design = getattr(refs, "design_speeds", None) or {}
        modes = getattr(refs, "project_modes", None) or {}
        for p, v in (self.speed_kmh or {}).items():
            cap = design.get(p) or MAX_SPEED_KMH.get(modes.get(p, ""), MAX_SPEED_KMH["rail"])
            if v > cap:
                fail(f"{v:g} km/h is above the project's design speed ({cap:g} km/h)",
                     "give an operating speed in km/h no higher than the design speed", at=f"speed_kmh.{p}")
        return self


class ScenariosFile(Schema):
    scenarios: dict[kebab_id("scenario name"), Any]  # type: ignore[valid-type]


def load_scenarios(ctx: Context) -> dict[str, dict[str, Any]] | None:
    """The scenarios (opened_by/plan_by as int, speeds as float), or None after problems."""
    f = ctx.path("scenarios.yaml")
    data = ctx.raw.get("scenarios.yaml")
    if data is UNREADABLE:
        return None
    if data is None:
        if f.exists():
            ctx.problems.add(f, "file", "is empty", "write 'scenarios:' with at least one scenario (see networks/README.md)")
        return None
    sf = check(ScenariosFile, data, file=f, record="", problems=ctx.problems, context=ctx.context())
    if sf is None:
        return None
    if not sf.scenarios:
        ctx.problems.add(f, "top level", "needs a non-empty 'scenarios' mapping", "see networks/README.md")
        return None
    out: dict[str, dict[str, Any]] = {}
    for name, s in data["scenarios"].items():
        if check(Scenario, s, file=f, record=f"scenario {name!r}", problems=ctx.problems, context=ctx.context()) is None:
            continue
        s = dict(s)
        for key in ("opened_by", "plan_by"):
            if s.get(key) is not None:
                s[key] = int(s[key])
        if s.get("speed_kmh"):
            s["speed_kmh"] = {p: float(v) for p, v in s["speed_kmh"].items()}
        out[name] = s
    # cycles in extends
    for name in data["scenarios"]:
        seen, cur = set(), name
        while isinstance(cur, str) and cur in data["scenarios"]:
            if cur in seen:
                ctx.problems.add(f, f"scenario {name!r}", "'extends' forms a cycle", "remove the cycle", "extends")
                break
            seen.add(cur)
            nxt = data["scenarios"][cur]
            cur = nxt.get("extends") if isinstance(nxt, dict) else None
    return out if ctx.ok("scenarios.yaml") else None


__all__ = ["Scenario", "ScenariosFile", "load_scenarios"]
