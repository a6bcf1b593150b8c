"""Total validation of a bundle (issue 11): ``tx.validate`` and ``tx-transport validate`` list every
problem of a bundle in one run (file, record, problem, fix), ``load_network`` raises one error that
lists them all, and random corruptions of a copy of the bundle never give a traceback nor load
silently with a changed meaning (Hypothesis).

Bundles are copies of the embedded one: entries that a test does not change are symlinked (the
loader never writes), changed files are real copies.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import json
import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tx_transport as tx
from tx_transport.bundle import BundleErrors, Problem, read_bundle
from tx_transport.bundle.problems import MESSAGE_PROBLEMS
from tx_transport.cli import main
from tx_transport.io import DEFAULT_BUNDLE

FEED = "transit/cr-2016"


# --------------------------------------------------------------------------- bundle copies
@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> Path:
    """One real copy of the embedded bundle per module (others may edit networks/ meanwhile)."""
    dst = tmp_path_factory.mktemp("pristine") / "networks"
    shutil.copytree(DEFAULT_BUNDLE, dst, ignore=shutil.ignore_patterns("build", "samples"))
    return dst


def shallow_copy(src: Path, dst: Path, changed: list[str]) -> Path:
    """``dst`` mirrors ``src`` with symlinks, except the ``changed`` files (relative paths), which are
    real copies (their folders are real folders of symlinks)."""
    parents = {Path(c).parents[k].as_posix() for c in changed for k in range(len(Path(c).parents) - 1)}

    def mirror(s: Path, d: Path, rel: str) -> None:
        d.mkdir(parents=True, exist_ok=True)
        for p in s.iterdir():
            r = f"{rel}{p.name}"
            if r in changed:
                shutil.copy2(p, d / p.name)
            elif r in parents:
                mirror(p, d / p.name, r + "/")
            else:
                os.symlink(p, d / p.name)

    mirror(src, dst, "")
    return dst


@pytest.fixture
def copy(pristine, tmp_path) -> Callable[..., Path]:
    def make(*changed: str) -> Path:
        return shallow_copy(pristine, tmp_path / "b", list(changed))

    return make


def edit_yaml(b: Path, name: str, change: Callable[[Any], Any]) -> None:
    f = b / name
    data = yaml.safe_load(f.read_text(encoding="utf-8"))
    change(data)
    f.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def edit_csv(b: Path, name: str, change: Callable[[pd.DataFrame], Any]) -> None:
    f = b / name
    df = pd.read_csv(f, dtype=str, keep_default_na=False)
    out = change(df)
    (df if out is None else out).to_csv(f, index=False)


def run_cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(list(argv))
    return rc, out.getvalue(), err.getvalue()


# --------------------------------------------------------------------------- the embedded bundle
def test_embedded_bundle_validates():
    assert tx.validate() == []
    assert tx.validate(DEFAULT_BUNDLE) == []
    rc, out, err = run_cli("validate")
    places = pd.read_csv(DEFAULT_BUNDLE / "places.csv", dtype=str)
    n_projects = sum(len(yaml.safe_load((DEFAULT_BUNDLE / f).read_text(encoding="utf-8"))[k]) for f, k in
                     (("rail.yaml", "lines"), ("expressways.yaml", "corridors"), ("trunk_roads.yaml", "links"), ("waterways.yaml", "channels")))
    n_scen = len(yaml.safe_load((DEFAULT_BUNDLE / "scenarios.yaml").read_text(encoding="utf-8"))["scenarios"])
    n_feeds = len(yaml.safe_load((DEFAULT_BUNDLE / "transit.yaml").read_text(encoding="utf-8"))["feeds"])
    assert rc == 0 and err == ""
    assert out == (f"ok: {DEFAULT_BUNDLE} ({len(places)} places, {n_projects} projects, {n_scen} scenarios, "
                   f"{n_feeds} feed{'s' if n_feeds != 1 else ''})\n")


def test_validate_takes_the_bundle_as_argument_or_network(pristine):
    rc, out, _ = run_cli("validate", str(pristine))
    assert rc == 0 and out.startswith(f"ok: {pristine} (")
    rc, out, _ = run_cli("--network", str(pristine), "validate")
    assert rc == 0 and out.startswith(f"ok: {pristine} (")
    rc, _, err = run_cli("validate", str(pristine), "--network", str(pristine / "x"))
    assert rc == 2 and "give the bundle once" in err


def test_loader_reads_the_same_bundle_as_before(pristine):
    # the schema loader keeps the Bundle the rest of the package reads: a few normalised fields
    b = read_bundle(pristine)
    li = next(x for x in b.rail_lines if x["id"] == "shanghai-hangzhou-hsr")
    assert li["station_ids"][:2] == ["shanghai-hongqiao", "songjiang-south"]
    assert abs(sum(li["segment_km"]) - 159.0) < 1e-9  # chainage 0 … 159 km
    assert set(li["segment_length_source"]) == {"chainage"}
    assert b.profiles["rail"]["use"] == [] and b.profiles["door-to-door"]["statistic"] == "median"
    assert isinstance(b.scenarios["plan-2025"]["opened_by"], int)
    assert b.road_edges.u.dtype.kind == "i" and b.road_nodes.index.dtype.kind == "i"
    assert b.transit.feeds[0].service_date == "2016-03-10" and b.scenario_timetables["timetable-2016"]["project_edits"] is False
    # station names in services.yaml are resolved to place ids
    ids = set(b.places.index)
    assert all(s in ids for e in b.services for s in e.get("stops", []))


# --------------------------------------------------------------------------- many problems at once
def break_ten_files(b: Path) -> list[tuple[str, str, str]]:
    """One problem in each of ten files; returns (file, record, words of the problem)."""
    edit_csv(b, "places.csv", lambda df: df.__setitem__("lat", df["lat"].where(df["id"] != "wuzhen", "30°44′N")))
    edit_yaml(b, "modes.yaml", lambda d: d["waterway"].update(port_transfer_min=-240))
    edit_yaml(b, "rail.yaml", lambda d: d["lines"][0].update(rail_class="maglev"))
    edit_yaml(b, "scenarios.yaml", lambda d: d["scenarios"]["plan-2025"].update(add=["hyperloop"]))
    edit_yaml(b, "goals.yaml", lambda d: d["coverage"].update(profile="bicycle"))
    edit_yaml(b, "services.yaml", lambda d: d["edits"][0].update(frequencies=[{"start": "09:00", "end": "07:00", "headway_min": 30}]))
    edit_yaml(b, "transit.yaml", lambda d: d.update(change_min=500))
    edit_csv(b, "roads/edges.csv", lambda df: df.__setitem__("highway", df["highway"].where(df.index != 2, "cart_track")))
    fc = json.loads((b / "rail_segments.geojson").read_text(encoding="utf-8"))
    f0 = fc["features"][0]
    f0["geometry"] = {"type": "Point", "coordinates": f0["geometry"]["coordinates"][0]}
    (b / "rail_segments.geojson").write_text(json.dumps(fc, ensure_ascii=False), encoding="utf-8")
    st_file = b / FEED / "stop_times.txt"
    lines = st_file.read_text(encoding="utf-8").split("\n")
    lines[5] = re.sub(r",(\d\d):(\d\d):00,", r",\1:5x:00,", lines[5], count=1)
    st_file.write_text("\n".join(lines), encoding="utf-8")
    return [("places.csv", "id 'wuzhen'", "'lat' is not a number"),
            ("modes.yaml", "waterway.port_transfer_min", "must be >= 0"),
            ("rail.yaml", "line 'shanghai-hangzhou-hsr'", "rail_class 'maglev' is unknown"),
            ("rail_segments.geojson", "feature 1", "Point, not a LineString"),
            ("roads/edges.csv", "row 4", "highway 'cart_track' is unknown"),
            ("transit.yaml", "change_min", "must be <= 120"),
            ("services.yaml", "frequencies item 1", "end is not after start"),
            ("scenarios.yaml", "scenario 'plan-2025'", "unknown project 'hyperloop'"),
            ("goals.yaml", "coverage", "unknown profile 'bicycle'"),
            (f"{FEED}/stop_times.txt", "", "is not HH:MM:SS")]


def test_problems_in_ten_files_are_all_listed_in_one_run(copy):
    b = copy("places.csv", "modes.yaml", "rail.yaml", "scenarios.yaml", "goals.yaml", "services.yaml", "transit.yaml",
             "roads/edges.csv", "rail_segments.geojson", f"{FEED}/stop_times.txt")
    expected = break_ten_files(b)
    problems = tx.validate(b)
    assert len(problems) == len(expected) == 10, "\n".join(map(str, problems))
    for (file, record, words), p in zip(expected, problems):
        assert isinstance(p, Problem) and Path(p.file).as_posix().endswith(file), (file, str(p))
        assert record in p.record and words in p.problem and p.fix, (record, words, str(p))
        assert str(p) == f"{p.file}: {p.record}: {p.problem}. Fix: {p.fix}"
    assert problems[0].field == "lat" and problems[1].field == "port_transfer_min"
    # the command line: every problem on its own line, exit 2
    rc, out, err = run_cli("validate", str(b))
    assert rc == 2
    assert out.splitlines() == [str(p) for p in problems]
    assert err == f"tx-transport: error: 10 problems in {b}\n"
    # load_network (no feed reading) raises one NetworkDataError listing the nine others
    with pytest.raises(tx.NetworkDataError) as info:
        tx.load_network(b)
    e = info.value
    assert isinstance(e, BundleErrors) and [str(p) for p in e.problems] == [str(p) for p in problems[:9]]
    msg = str(e).splitlines()
    assert msg[0] == f"9 problems in bundle {b}:" and msg[1:] == [f"  {p}" for p in problems[:9]]
    assert (e.file, e.record, e.problem, e.fix) == (problems[0].file, problems[0].record, problems[0].problem, problems[0].fix)
    # other commands list them too, one per line on stderr, exit 2
    rc, out, err = run_cli("scenarios", "--network", str(b))
    assert rc == 2 and out == ""
    assert err.splitlines()[0] == f"tx-transport: error: 9 problems in bundle {b}:" and len(err.splitlines()) == 10


def test_many_problems_are_cut_in_the_message(copy):
    b = copy("places.csv")
    edit_csv(b, "places.csv", lambda df: df.__setitem__("kind", "village"))
    with pytest.raises(BundleErrors) as info:
        read_bundle(b)
    e = info.value
    n = len(pd.read_csv(b / "places.csv"))
    assert len(e.problems) == n and n > MESSAGE_PROBLEMS
    lines = str(e).splitlines()
    assert len(lines) == MESSAGE_PROBLEMS + 2
    assert lines[-1] == f"  ... and {n - MESSAGE_PROBLEMS} more (run `tx-transport validate {b}` to list them all)"
    assert all("kind 'village' is unknown" in line for line in lines[1:-1])


def test_one_problem_is_one_line(copy):
    b = copy("modes.yaml")
    edit_yaml(b, "modes.yaml", lambda d: d["road"].update(connector_count=2.5))
    with pytest.raises(tx.NetworkDataError) as info:
        tx.load_network(b)
    assert str(info.value) == (f"{b / 'modes.yaml'}: road.connector_count: 'connector_count' must be a whole number, got 2.5. "
                               "Fix: give 'connector_count' as an integer")


def test_an_unexpected_failure_names_the_file(copy, monkeypatch):
    from tx_transport.bundle import read as read_mod

    def boom(ctx):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(read_mod, "load_scenarios", boom)
    b = copy()
    problems = tx.validate(b)
    assert [(Path(p.file).name, p.record) for p in problems] == [("scenarios.yaml", "file")]
    assert "could not be checked (ZeroDivisionError: a bug)" in problems[0].problem and "bug in tx-transport" in problems[0].fix
    with pytest.raises(tx.NetworkDataError, match="scenarios.yaml: file: could not be checked"):
        read_bundle(b)


# --------------------------------------------------------------------------- checks the schemas added
@pytest.mark.parametrize("change, file, record, words", [
    (lambda b: edit_csv(b, "places.csv", lambda df: df.rename(columns={"population": "populaton"})),
     "places.csv", "header", "unknown column 'populaton'"),
    (lambda b: edit_csv(b, "places.csv", lambda df: df.__setitem__("coord_status", df["coord_status"].where(df.index != 0, "guessed"))),
     "places.csv", "row 2", "coord_status 'guessed' is unknown"),
    (lambda b: (b / "roads/edges.csv").write_text((b / "roads/edges.csv").read_text(encoding="utf-8").rstrip("\n").rsplit(",", 1)[0],
                                                   encoding="utf-8"),
     "edges.csv", "row 30298", "fewer fields than the header"),
    (lambda b: edit_yaml(b, "rail.yaml", lambda d: d["lines"][0].update(opened=2010.5)), "rail.yaml", "line 'shanghai-hangzhou-hsr'",
     "'opened' must be a whole number"),
    (lambda b: edit_yaml(b, "rail.yaml", lambda d: d["lines"][0].update(design_speed_kmh="350")), "rail.yaml",
     "line 'shanghai-hangzhou-hsr'", "is text ('350'), not a number"),
    (lambda b: edit_yaml(b, "rail.yaml", lambda d: d["lines"][0].pop("source")), "rail.yaml", "line 'shanghai-hangzhou-hsr'",
     "has no 'source'"),
    (lambda b: edit_yaml(b, "rail.yaml", lambda d: d["lines"][0]["stations"][3].update(km=20)), "rail.yaml",
     "line 'shanghai-hangzhou-hsr', station 'jiashan-south'", "does not increase"),
    (lambda b: edit_yaml(b, "expressways.yaml", lambda d: d["corridors"][0]["nodes"][0].update(lanes=4)), "expressways.yaml",
     "corridor 'g60', node 'g60-shanghai-xinzhuang'", "unknown key 'lanes'"),
    (lambda b: edit_yaml(b, "waterways.yaml", lambda d: d["channels"][0].update(design_speed_kmh=12)), "waterways.yaml",
     "channel 'grand-canal'", "unknown key 'design_speed_kmh'"),
    (lambda b: edit_yaml(b, "modes.yaml", lambda d: d["road"]["areas"]["tongxiang-urban"].update(peak_kmh=60)), "modes.yaml",
     "road.areas.tongxiang-urban", "peak_kmh 60 is above free_flow_kmh 48.7"),
    (lambda b: edit_yaml(b, "modes.yaml", lambda d: d["rail"]["classes"]["hsr"].update(accel_ms2=30)), "modes.yaml",
     "rail.classes.hsr", "'accel_ms2' must be <= 5"),
    (lambda b: edit_yaml(b, "profiles.yaml", lambda d: d["profiles"]["rail"].update(statistic="median")), "profiles.yaml",
     "profile 'rail'", "statistic apply only to measure: window"),
    (lambda b: edit_yaml(b, "services.yaml", lambda d: d["edits"][0].update(factor=2)), "services.yaml", "edit 'hzhs-hongqiao-huangshan'",
     "factor do(es) not apply to add-trip-pattern edits"),
    (lambda b: edit_yaml(b, "services.yaml", lambda d: d["edits"][0]["frequencies"][0].update(start=420)), "services.yaml",
     "frequencies item 1", "'start' is the number 420, not a clock time"),
    (lambda b: edit_yaml(b, "transit.yaml", lambda d: d["transfers"][0].update({"from": "atlantis"})), "transit.yaml", "transfers item 1",
     "station 'atlantis' is not a place id"),
    (lambda b: edit_yaml(b, "goals.yaml", lambda d: d["networks"]["expressway_grid"].pop("verticals")), "goals.yaml",
     "networks.expressway_grid", "'verticals' is missing"),
    (lambda b: edit_yaml(b, "goals.yaml", lambda d: d["population_reached"].update(target_people=-5)), "goals.yaml",
     "population_reached", "'target_people' must be >= 0"),
    (lambda b: edit_yaml(b, "scenarios.yaml", lambda d: d["scenarios"]["plan-2025"].update(timetable={"feed": "cr-2099"})),
     "scenarios.yaml", "scenario 'plan-2025', timetable", "feed 'cr-2099' is not in transit.yaml"),
])
def test_checks_of_the_schemas(copy, change, file, record, words):
    b = copy("places.csv", "rail.yaml", "expressways.yaml", "waterways.yaml", "modes.yaml", "profiles.yaml", "services.yaml",
             "transit.yaml", "goals.yaml", "scenarios.yaml", "roads/edges.csv")
    change(b)
    problems = tx.validate(b)
    assert len(problems) == 1, "\n".join(map(str, problems))
    p = problems[0]
    assert Path(p.file).name == file and record in p.record and words in p.problem, str(p)


def test_trace_that_runs_the_wrong_way_or_far_from_its_stations(copy):
    b = copy("rail_segments.geojson")
    fc = json.loads((b / "rail_segments.geojson").read_text(encoding="utf-8"))
    fc["features"][0]["geometry"]["coordinates"].reverse()  # Hongqiao -> Songjiang South, drawn backwards
    (b / "rail_segments.geojson").write_text(json.dumps(fc, ensure_ascii=False), encoding="utf-8")
    problems = tx.validate(b)
    assert [p.record for p in problems] == ["feature 1 (shanghai-hangzhou-hsr shanghai-hongqiao -> songjiang-south)"] * 2
    assert "the trace's start is" in problems[0].problem and "from its station 'shanghai-hongqiao'" in problems[0].problem
    assert "the trace's end is" in problems[1].problem


def test_trace_of_stations_that_are_not_consecutive(copy):
    b = copy("rail_segments.geojson")
    fc = json.loads((b / "rail_segments.geojson").read_text(encoding="utf-8"))
    extra = json.loads(json.dumps(fc["features"][0]))
    extra["properties"]["to"] = "jinshan-north"  # skips songjiang-south; ends checked against jinshan-north too
    extra["geometry"]["coordinates"] = fc["features"][0]["geometry"]["coordinates"] + fc["features"][1]["geometry"]["coordinates"][1:]
    fc["features"].append(extra)
    (b / "rail_segments.geojson").write_text(json.dumps(fc, ensure_ascii=False), encoding="utf-8")
    problems = tx.validate(b)
    assert len(problems) == 1 and "no osm-traced line of rail.yaml has" in problems[0].problem, "\n".join(map(str, problems))


def test_feed_stop_far_from_its_place(copy):
    b = copy(f"{FEED}/stops.txt")
    edit_csv(b, f"{FEED}/stops.txt", lambda df: df.__setitem__("stop_lat", df["stop_lat"].where(df["stop_id"] != "tongxiang-station",
                                                                                                  "30.9")))
    problems = tx.validate(b)
    assert len(problems) == 1 and problems[0].record == "stop_id 'tongxiang-station'", "\n".join(map(str, problems))
    assert re.search(r"is \d+\.\d km from the place of the same id", problems[0].problem)
    tx.load_network(b)  # the loader does not read feeds; validate does


# --------------------------------------------------------------------------- fuzzing: corruptions never pass silently
YAML_FILES = ["modes.yaml", "profiles.yaml", "scenarios.yaml", "rail.yaml", "expressways.yaml", "trunk_roads.yaml", "waterways.yaml",
              "goals.yaml", "transit.yaml", "services.yaml"]
CSV_FILES = ["places.csv", "roads/nodes.csv", "roads/edges.csv"]
GEOJSON_FILES = ["rail_segments.geojson", "boundaries.geojson", "zones/urban_areas.geojson"]
FEED_FILES = [f"{FEED}/stops.txt", f"{FEED}/stop_times.txt", f"{FEED}/trips.txt"]
#: Keys networks/README.md documents as required, by record ("*" = every entry of a list or mapping).
#: Deleting any of them must be detected (optional keys have documented defaults, so they are not deleted).
REQUIRED = {
    "modes.yaml": {"": ["road", "rail"], "road": ["classes", "default_class", "ramp_toll_min", "connector_detour"],
                   "road.classes.*": ["design_speed_kmh", "operating_factor"], "road.areas.*": ["free_flow_kmh", "peak_kmh", "source"],
                   "road.areas.*.disc": ["place", "urban_population", "m2_per_resident"], "rail": ["classes", "station"],
                   "rail.classes.*": ["accel_ms2", "decel_ms2", "dwell_min"], "rail.station": ["enter_min", "exit_min"],
                   "waterway.classes.*": ["speed_kmh"]},
    "profiles.yaml": {"": ["profiles"], "profiles.*": ["description", "use", "router", "measure"]},
    "scenarios.yaml": {"": ["scenarios"], "scenarios.*": ["description"]},
    "rail.yaml": {"lines.*": ["id", "status", "opened", "plan_year", "rail_class", "design_speed_kmh", "operating_speed_kmh", "stations",
                              "source"], "lines.*.stations.*": ["place"]},
    "expressways.yaml": {"corridors.*": ["id", "status", "opened", "plan_year", "design_speed_kmh", "nodes", "source"],
                         "corridors.*.nodes.*": ["place", "id", "lat", "lon"]},
    "trunk_roads.yaml": {"links.*": ["id", "status", "opened", "plan_year", "road_class", "design_speed_kmh", "nodes", "source"],
                         "links.*.nodes.*": ["place", "id", "lat", "lon"]},
    "waterways.yaml": {"channels.*": ["id", "status", "opened", "plan_year", "waterway_class", "nodes", "source"],
                       "channels.*.nodes.*": ["place", "id", "lat", "lon"]},
    "goals.yaml": {"one_hour_circles.*": ["id", "limit_min", "measures", "targets"],
                   "one_hour_circles.*.measures.*": ["measure", "profile", "origin"], "one_hour_circles.*.targets.*": ["target"],
                   "circle_301510": ["profile", "city_centre", "towns", "centre_limit_min", "neighbour_limit_min", "neighbour_reading",
                                     "interchange_limit_min"],
                   "mileage": ["boundary", "targets"], "mileage.targets.*": ["goal", "modes", "target_km"],
                   "coverage": ["limit_min", "profile", "centres", "towns"], "networks.*": ["horizontals", "verticals"],
                   "rail_service": ["stations"], "population_reached": ["origin"]},
    "transit.yaml": {"feeds.*": ["id", "path", "source"], "transfers.*": ["from", "to", "min", "source"],
                     "station_links.*": ["station", "place", "min", "source"]},
    "services.yaml": {"edits.*": ["id", "type", "stops", "lines", "frequencies", "source"]},
}
ID_FIELDS = {"places.csv": ["id"], "roads/nodes.csv": ["node_id"]}
LISTS_WITH_IDS = {"rail.yaml": "lines", "expressways.yaml": "corridors", "trunk_roads.yaml": "links", "waterways.yaml": "channels",
                  "services.yaml": "edits", "transit.yaml": "feeds", "goals.yaml": "one_hour_circles"}
GEOJSON_REQUIRED = {"rail_segments.geojson": ["line", "from", "to"], "boundaries.geojson": ["adcode", "name_en", "name_zh", "level"],
                    "zones/urban_areas.geojson": ["area"]}


def mappings(data: Any, pattern: str) -> list[dict[str, Any]]:
    """The mappings of a YAML tree at a pattern such as ``lines.*.stations.*`` or ``road.classes.*``."""
    out = [data]
    for part in [p for p in pattern.split(".") if p]:
        nxt = []
        for d in out:
            if part == "*":
                nxt += list(d.values()) if isinstance(d, dict) else list(d) if isinstance(d, list) else []
            elif isinstance(d, dict) and part in d:
                nxt.append(d[part])
        out = nxt
    return [d for d in out if isinstance(d, dict)]


def leaves(data: Any) -> list[tuple[Any, Any]]:
    """(container, key) of every scalar leaf (values of mappings, items of lists)."""
    out: list[tuple[Any, Any]] = []
    if isinstance(data, dict):
        for k, v in data.items():
            out += leaves(v) if isinstance(v, (dict, list)) else [(data, k)]
    elif isinstance(data, list):
        for i, v in enumerate(data):
            out += leaves(v) if isinstance(v, (dict, list)) else [(data, i)]
    return out


def all_mappings(data: Any) -> list[dict[str, Any]]:
    out = [data] if isinstance(data, dict) else []
    for v in data.values() if isinstance(data, dict) else data if isinstance(data, list) else []:
        out += all_mappings(v)
    return out


def known_ids(b: Path) -> set[str]:
    """Ids files refer to: places, projects, profiles, scenarios, feeds, edits, classes, areas."""
    ids = set(pd.read_csv(b / "places.csv", dtype=str)["id"])
    y = {n: yaml.safe_load((b / n).read_text(encoding="utf-8")) for n in YAML_FILES}
    for f, k in LISTS_WITH_IDS.items():
        ids |= {it["id"] for it in y[f].get(k) or []}
    ids |= set(y["profiles.yaml"]["profiles"]) | set(y["scenarios.yaml"]["scenarios"])
    m = y["modes.yaml"]
    ids |= set(m["road"]["classes"]) | set(m["road"]["plan_classes"]) | set(m["road"]["areas"]) | set(m["rail"]["classes"])
    return ids | set(m["waterway"]["classes"])


def corrupt_yaml(b: Path, file: str, op: str, draw: Callable[[Any], Any], ids: set[str]) -> str | None:
    f = b / file
    data = yaml.safe_load(f.read_text(encoding="utf-8"))
    pick = lambda seq: seq[draw(st.integers(0, len(seq) - 1))]  # noqa: E731
    if op == "delete-required":
        cands = [(d, k) for pat, keys in REQUIRED.get(file, {}).items() for d in mappings(data, pat) for k in keys if k in d
                 and not (k == "lines" and d.get("lines") == [d.get("project")])]  # the documented fallback: no change
        if not cands:
            return None
        d, k = pick(cands)
        del d[k]
        what = f"deleted required key {k!r}"
    elif op in ("number-type", "number-sign"):
        cands = [(c, k) for c, k in leaves(data) if isinstance(c[k], (int, float)) and not isinstance(c[k], bool)
                 and (op == "number-type" or c[k] != 0)]
        if not cands:
            return None
        c, k = pick(cands)
        old = c[k]
        c[k] = -old if op == "number-sign" else pick(["abc", [old], {"value": old}, True, f"{old} km"])
        what = f"{old!r} -> {c[k]!r} at {k!r}"
    elif op == "unknown-key":
        d = pick(all_mappings(data))
        d["zz-unknown-key"] = 1
        what = f"inserted an unknown key in a mapping with keys {sorted(map(str, d))[:5]}"
    elif op == "swap-latlon":
        cands = [d for d in all_mappings(data) if isinstance(d.get("lat"), (int, float)) and isinstance(d.get("lon"), (int, float))]
        if not cands:
            return None
        d = pick(cands)
        d["lat"], d["lon"] = d["lon"], d["lat"]
        what = f"swapped lat/lon of {d.get('id')}"
    elif op == "wrong-reference":
        cands = [(c, k) for c, k in leaves(data) if isinstance(c[k], str) and c[k] in ids and k != "id"]
        if not cands:
            return None
        c, k = pick(cands)
        what = f"reference {c[k]!r} at {k!r} -> 'zz-nowhere'"
        c[k] = "zz-nowhere"
    elif op == "duplicate-id":
        key = LISTS_WITH_IDS.get(file)
        items = data.get(key) if key else None
        if not items:
            return None
        items.append(json.loads(json.dumps(pick(items), default=str)) if file != "transit.yaml" else dict(pick(items)))
        what = f"duplicated an item of {key}"
    else:
        return None
    f.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return what


def corrupt_csv(b: Path, file: str, op: str, draw: Callable[[Any], Any]) -> str | None:
    f = b / file
    text = f.read_text(encoding="utf-8")
    lines = text.rstrip("\n").split("\n")
    pick = lambda seq: seq[draw(st.integers(0, len(seq) - 1))]  # noqa: E731
    df = pd.read_csv(f, dtype=str, keep_default_na=False)
    row = draw(st.integers(0, len(df) - 1))
    if op == "truncate":
        line = lines[row + 1]
        cut = draw(st.integers(1, line.rindex(",")))  # the last field (or more) is cut off, the row is not gone
        f.write_text("\n".join(lines[:row + 1] + [line[:cut]]), encoding="utf-8")
        return f"truncated at row {row + 2}, character {cut}"
    num_cols = [c for c in df.columns if c in ("lat", "lon", "population", "node_id", "u", "v", "length_km")]
    if op in ("number-type", "number-sign"):
        col = pick(num_cols)
        old = df.at[row, col]
        if op == "number-sign" and (old.strip() == "" or float(old) == 0):
            return None
        df.at[row, col] = f"-{old}" if op == "number-sign" else pick(["abc", "1,5", "", "nan", "inf"])
        if df.at[row, col] == old:
            return None
        what = f"{col} {old!r} -> {df.at[row, col]!r} at row {row + 2}"
    elif op == "swap-latlon" and "lat" in df.columns:
        df.loc[row, ["lat", "lon"]] = [df.at[row, "lon"], df.at[row, "lat"]]
        what = f"swapped lat/lon at row {row + 2}"
    elif op == "duplicate-id" and file in ID_FIELDS:
        df = pd.concat([df, df.iloc[[row]]], ignore_index=True)
        what = f"duplicated row {row + 2}"
    elif op == "unknown-key":
        df["zz_unknown"] = ""
        what = "an unknown column"
    elif op == "delete-required":
        col = pick(list(df.columns[:3]))
        df = df.drop(columns=[col])
        what = f"deleted column {col}"
    else:
        return None
    df.to_csv(f, index=False)
    return what


def corrupt_geojson(b: Path, file: str, op: str, draw: Callable[[Any], Any]) -> str | None:
    f = b / file
    fc = json.loads(f.read_text(encoding="utf-8"))
    k = draw(st.integers(0, len(fc["features"]) - 1))
    ft = fc["features"][k]
    g = ft["geometry"]
    if op == "swap-latlon":
        def swap(c: Any) -> Any:
            return [c[1], c[0]] if isinstance(c[0], (int, float)) else [swap(x) for x in c]

        g["coordinates"] = swap(g["coordinates"])
        what = f"swapped axes of feature {k + 1}"
    elif op == "number-type":
        g["type"] = "Point" if g["type"] != "Point" else "LineString"
        g["coordinates"] = [float("nan"), 30.0] if g["type"] == "Point" else [[120.0, 30.0]]
        what = f"feature {k + 1} made a broken {g['type']}"
    elif op == "delete-required":
        key = draw(st.sampled_from(GEOJSON_REQUIRED[file]))
        ft["properties"].pop(key, None)
        what = f"deleted property {key!r} of feature {k + 1}"
    elif op == "unknown-key":
        ft["properties"]["zz_unknown"] = 1
        what = f"unknown property in feature {k + 1}"
    elif op == "duplicate-id":
        fc["features"].append(json.loads(json.dumps(ft)))
        what = f"duplicated feature {k + 1}"
    else:
        return None
    f.write_text(json.dumps(fc, ensure_ascii=False), encoding="utf-8")
    return what


def corrupt_encoding(b: Path, file: str, draw: Callable[[Any], Any]) -> str | None:
    f = b / file
    raw = f.read_bytes()
    how = draw(st.sampled_from(["utf-16", "gb18030", "byte"]))
    if how == "byte":
        pos = draw(st.integers(0, len(raw)))
        new = raw[:pos] + b"\xff" + raw[pos:]
    else:
        new = raw.decode("utf-8").encode(how)
    if new == raw:
        return None  # an ASCII file is the same in GB18030: nothing changed
    f.write_bytes(new)
    return f"re-encoded ({how})"


#: Examples per run (the default keeps the test near 30 s); TX_FUZZ_EXAMPLES=1000 TX_FUZZ_RANDOM=1 explores further.
FUZZ_EXAMPLES = int(os.environ.get("TX_FUZZ_EXAMPLES", "130"))
FUZZ_RANDOM = bool(os.environ.get("TX_FUZZ_RANDOM"))
OPS = ["delete-required", "number-type", "number-sign", "unknown-key", "swap-latlon", "wrong-reference", "duplicate-id", "truncate",
       "encoding"]


@st.composite
def corruptions(draw: Any) -> tuple[str, str]:
    kind = draw(st.sampled_from(["yaml"] * 6 + ["csv"] * 3 + ["geojson"] * 2 + ["feed"]))
    files = {"yaml": YAML_FILES, "csv": CSV_FILES, "geojson": GEOJSON_FILES, "feed": FEED_FILES}[kind]
    file = draw(st.sampled_from(files))
    ops = {"yaml": ["delete-required", "number-type", "number-sign", "unknown-key", "swap-latlon", "wrong-reference", "duplicate-id",
                    "encoding"],
           "csv": ["delete-required", "number-type", "number-sign", "unknown-key", "swap-latlon", "duplicate-id", "truncate", "encoding"],
           "geojson": ["delete-required", "number-type", "unknown-key", "swap-latlon", "duplicate-id", "encoding"],
           "feed": ["encoding", "delete-required"]}[kind]
    return file, draw(st.sampled_from(ops))


def test_random_corruptions_are_always_detected(pristine, tmp_path):
    """Every corruption is designed to change the bundle's meaning (an ASCII file re-encoded to
    GB18030 and other no-ops are skipped), so each must be reported: never a traceback, never a
    silent load, always a problem naming the corrupted file, never the loader's fallback for the
    unexpected."""
    from hypothesis import assume

    ids = known_ids(pristine)
    seen: dict[str, int] = {}
    counter = itertools.count()

    @settings(max_examples=FUZZ_EXAMPLES, deadline=None, derandomize=not FUZZ_RANDOM, database=None,
              suppress_health_check=list(HealthCheck))
    @given(target=corruptions(), data=st.data())
    def one(target: tuple[str, str], data: Any) -> None:
        file, op = target
        b = tmp_path / f"c{next(counter)}"
        shallow_copy(pristine, b, [file])
        draw = data.draw
        if op == "encoding":
            what = corrupt_encoding(b, file, draw)
        elif file in YAML_FILES:
            what = corrupt_yaml(b, file, op, draw, ids)
        elif file in CSV_FILES:
            what = corrupt_csv(b, file, op, draw)
        elif file in GEOJSON_FILES:
            what = corrupt_geojson(b, file, op, draw)
        else:  # a GTFS table: drop a column the reader needs
            df = pd.read_csv(b / file, dtype=str, keep_default_na=False)
            col = draw(st.sampled_from([c for c in df.columns if c in ("stop_id", "stop_lat", "trip_id", "arrival_time", "stop_sequence")]))
            df.drop(columns=[col]).to_csv(b / file, index=False)
            what = f"deleted column {col}"
        assume(what is not None)
        if file in FEED_FILES:  # only validate reads the feeds
            problems = tx.validate(b)
        else:
            try:
                read_bundle(b)
                problems = []
            except BundleErrors as exc:
                problems = exc.problems
        assert problems, f"{file}: {op}: {what}: loaded silently"
        # gtfs-kit says which feed it cannot read, not which table: the feed folder counts as named
        names = (file, str(Path(file).parent)) if file in FEED_FILES else (file,)
        named = [p for p in problems if Path(p.file).as_posix().endswith(names) or Path(p.file) == b]
        assert named, (file, op, what, [str(p) for p in problems])
        assert not any("could not be checked" in p.problem for p in problems), (file, op, what, [str(p) for p in problems])
        seen[op] = seen.get(op, 0) + 1
        shutil.rmtree(b)

    one()
    assert sum(seen.values()) >= min(100, FUZZ_EXAMPLES * 0.75), seen
    assert set(OPS) <= set(seen), seen
