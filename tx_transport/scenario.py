"""Scenario resolution: which projects are in service, at what speed.

The rules are data (``networks/scenarios.yaml``); see ``networks/README.md``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .errors import QueryError, cut

if TYPE_CHECKING:
    from .io import Bundle


@dataclass(frozen=True)
class ScenarioSelection:
    """The resolved content of a scenario.

    Attributes
    ----------
    name : str
        Scenario name.
    projects : frozenset of str
        Project ids in service (the OSM road layer ``osm-roads`` always is).
    speed_kmh : dict
        Operating-speed overrides (km/h) by project id.
    status : dict
        Status of each project (existing, under-construction, planned).
    corridor_design : dict
        Design speed (km/h) of each expressway corridor, for its traced motorway edges.
    timetable : dict
        The scenario's timetable: base ``feeds``, whether the projects' service edits apply
        (``project_edits``), extra ``services`` and ``remove_services`` (edit ids).
    """

    name: str
    projects: frozenset[str]
    speed_kmh: dict[str, float] = field(default_factory=dict)
    status: dict[str, str] = field(default_factory=dict)
    corridor_design: dict[str, float] = field(default_factory=dict)
    timetable: dict = field(default_factory=dict)


def resolve_scenario(b: Bundle, name: str) -> ScenarioSelection:
    """Resolve scenario ``name`` of bundle ``b`` into a :class:`ScenarioSelection`.

    Raises
    ------
    QueryError
        If the scenario does not exist (the message lists the valid names).
    """
    if name not in b.scenarios:
        raise QueryError(f"unknown scenario {cut(name)!r}; valid scenarios: {', '.join(sorted(b.scenarios))}")
    s = b.scenarios[name]
    pr = b.projects
    chosen: set[str] = set()
    speeds: dict[str, float] = {}
    if s.get("extends"):
        parent = resolve_scenario(b, s["extends"])
        chosen |= set(parent.projects)
        speeds.update(parent.speed_kmh)
    if s.get("all"):
        chosen |= set(pr.index)
    if s.get("opened_by") is not None:
        op = pr.opened.astype("float")
        chosen |= set(pr.index[(op.notna()) & (op <= s["opened_by"])])
    if s.get("plan_by") is not None:
        py = pr.plan_year.astype("float")
        chosen |= set(pr.index[(py.notna()) & (py <= s["plan_by"])])
    chosen |= set(s.get("add") or [])
    chosen -= set(s.get("remove") or [])
    chosen.add("osm-roads")
    speeds.update(s.get("speed_kmh") or {})
    design = {c["id"]: float(c["design_speed_kmh"]) for c in b.corridors}
    tt = b.scenario_timetables.get(name) or {"feeds": [b.transit.default_feed] if b.transit.default_feed else [],
                                             "project_edits": True, "services": [], "remove_services": []}
    return ScenarioSelection(name, frozenset(chosen), speeds, dict(pr.status), design, dict(tt))


def with_projects(sel: ScenarioSelection, add: set[str] = frozenset(), remove: set[str] = frozenset(),  # type: ignore[assignment]
                  name: str | None = None) -> ScenarioSelection:
    """A copy of ``sel`` with projects added or removed (used for per-project attribution)."""
    return ScenarioSelection(name or sel.name, frozenset((set(sel.projects) | set(add)) - set(remove)),
                             sel.speed_kmh, sel.status, sel.corridor_design, sel.timetable)
