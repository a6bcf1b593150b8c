"""Count the checks the bundle loader makes, per file (re-runnable: ``python tools/count_bundle_checks.py``).

- fields: keys or columns of the file's schema models (``tx_transport/bundle/``), each with a checked
  type and its bounds, choices or reference;
- rules: ``fail(...)`` calls in the models' validators, inherited ones included (cross-field rules:
  status and years, chainage, edit types, ...);
- loader: checks in the file's loader (uniqueness, traces, geometries, references across files, ...).

Every file is also checked for its encoding and syntax (YAML: duplicate keys, alias bombs).
"""

from __future__ import annotations

import ast
import inspect
import sys
import typing
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pydantic import BaseModel  # noqa: E402

from tx_transport.bundle import goals, modes, places, profiles, projects, rail, roads, scenarios, transit, zones  # noqa: E402
from tx_transport.bundle.schema import Record, Schema  # noqa: E402

FILES = {
    "bundle.yaml": ([places.Manifest], [(places, "load_manifest")]),
    "places.csv": ([places.PlaceRow], [(places, "load_places")]),
    "modes.yaml": ([modes.ModesFile], [(modes, "load_modes")]),
    "profiles.yaml": ([profiles.ProfilesFile, profiles.RoadProfile, profiles.TimetableProfile], [(profiles, "load_profiles")]),
    "rail.yaml": ([rail.RailFile], [(rail, "load_rail"), (projects, "items_file"), (projects, "check_project_ids")]),
    "rail_segments.geojson": ([rail.SegmentProps], [(rail, "load_segments")]),
    "expressways.yaml": ([projects.CorridorsFile], [(projects, "items_file")]),
    "trunk_roads.yaml": ([projects.LinksFile], [(projects, "items_file")]),
    "waterways.yaml": ([projects.ChannelsFile], [(projects, "items_file")]),
    "roads/nodes.csv": ([], [(roads, "load_roads")]),
    "roads/edges.csv": ([], [(roads, "check_table")]),
    "boundaries.geojson": ([zones.BoundaryProps], [(zones, "load_boundaries")]),
    "zones/urban_areas.geojson": ([zones.UrbanAreaProps], [(zones, "load_urban_areas")]),
    "zones/counties.geojson": ([zones.CountyProps], [(zones, "check_counties")]),
    "transit.yaml": ([transit.TransitFile], [(transit, "load_transit")]),
    "services.yaml": ([transit.ServicesFile], [(transit, "load_services")]),
    "scenarios.yaml": ([scenarios.ScenariosFile, scenarios.Scenario], [(scenarios, "load_scenarios")]),
    "goals.yaml": ([goals.GoalsFile], [(goals, "load_goals")]),
}
CSV_COLUMNS = {"roads/nodes.csv": len(roads.NODE_COLUMNS), "roads/edges.csv": len(roads.EDGE_COLUMNS)}
LOADER_CALLS = {"add", "report", "unique", "check", "check_properties", "geometries", "properties_present", "read_csv", "read_layer"}


def models_of(tp: typing.Any, seen: set[type]) -> list[type]:
    """The models reachable from an annotation (fields, list items, dict values, base classes)."""
    out: list[type] = []
    for a in typing.get_args(tp) or ():
        out += models_of(a, seen)
    if isinstance(tp, type) and issubclass(tp, BaseModel) and tp not in seen and tp not in (BaseModel, Schema, Record):
        seen.add(tp)
        out.append(tp)
        for base in tp.__mro__[1:]:
            out += models_of(base, seen)
        for f in tp.model_fields.values():
            out += models_of(f.annotation, seen)
    return out


def calls(source: str, names: set[str]) -> int:
    return sum(1 for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Call)
               and (getattr(n.func, "attr", None) in names or getattr(n.func, "id", None) in names))


def main() -> None:
    total = 0
    print(f"{'file':28s} {'fields':>6s} {'rules':>6s} {'loader':>6s} {'total':>6s}")
    for f, (roots, loaders) in FILES.items():
        seen: set[type] = set()
        ms = [m for r in roots for m in models_of(r, seen)]
        fields = sum(len(m.__annotations__) for m in ms) + CSV_COLUMNS.get(f, 0)
        rules = sum(calls(inspect.getsource(m), {"fail"}) for m in ms)
        loader = sum(calls(inspect.getsource(getattr(mod, fn)), LOADER_CALLS) for mod, fn in loaders)
        total += fields + rules + loader
        print(f"{f:28s} {fields:6d} {rules:6d} {loader:6d} {fields + rules + loader:6d}")
    print(f"{'total':28s} {'':20s} {total:6d}   (+ for every file: encoding, syntax, duplicate YAML keys, alias bombs)")


if __name__ == "__main__":
    main()
