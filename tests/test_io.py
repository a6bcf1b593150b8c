"""The bundle loader (tx_transport.io): every problem is one NetworkDataError naming the file,
the record and a fix; valid bundles load unchanged; the public tables have the documented shape.

Each error test copies the embedded bundle, breaks exactly one thing and loads it. The embedded
bundle is copied once per module; per test only the small files are copied and the large,
rarely broken ones (roads/, boundaries.geojson, ...) are symlinked (about 5 ms instead of 15 ms
per copy); a test that edits one of those first replaces the link by a copy (:func:`own`).
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import yaml

import tx_transport as tx
from tx_transport.geo import METRIC_CRS
from tx_transport.io import DEFAULT_BUNDLE, read_bundle

#: Large entries that tests only read: symlinked into the per-test copy.
LINKED = {"roads", "boundaries.geojson", "rail_segments.geojson", "build", "samples"}


# --------------------------------------------------------------------------- fixtures and helpers
@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> Path:
    """One copy of the embedded bundle per module (other people may edit networks/ meanwhile)."""
    dst = tmp_path_factory.mktemp("pristine") / "networks"
    shutil.copytree(DEFAULT_BUNDLE, dst)
    return dst


@pytest.fixture
def bundle(pristine: Path, tmp_path: Path) -> Path:
    """A cheap, writable copy of the bundle for one test."""
    dst = tmp_path / "b"
    dst.mkdir()
    for p in pristine.iterdir():
        if p.name in LINKED:
            os.symlink(p, dst / p.name)
        elif p.is_dir():
            shutil.copytree(p, dst / p.name)
        else:
            shutil.copy2(p, dst / p.name)
    return dst


def own(b: Path, name: str) -> Path:
    """Replace the symlinked entry ``name`` of bundle ``b`` by a real copy (before editing it)."""
    p = b / name
    if p.is_symlink():
        target = p.resolve()
        p.unlink()
        (shutil.copytree if target.is_dir() else shutil.copy2)(target, p)
    return p


def edit_yaml(b: Path, name: str, change: Callable[[Any], Any]) -> None:
    f = b / name
    data = yaml.safe_load(f.read_text(encoding="utf-8"))
    change(data)  # edits in place
    f.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def edit_csv(b: Path, name: str, change: Callable[[pd.DataFrame], pd.DataFrame | None]) -> None:
    own(b, name.split("/")[0])  # a no-op unless the file lies in a symlinked folder
    f = b / name
    df = pd.read_csv(f, dtype=str, keep_default_na=False, encoding="utf-8")
    out = change(df)
    (df if out is None else out).to_csv(f, index=False, encoding="utf-8")


def row_of(df: pd.DataFrame, pid: str) -> int:
    return int(np.flatnonzero(df["id"] == pid)[0])


def expect_error(path: Path, file: str, record: str, fix: str, *also: str) -> tx.NetworkDataError:
    """Load ``path`` and check the error names ``file``, the ``record`` and a ``fix``."""
    with pytest.raises(tx.NetworkDataError) as info:
        tx.load_network(path)
    e = info.value
    msg = str(e)
    assert Path(e.file).as_posix().endswith(file), (e.file, file)
    assert Path(file).name in msg
    assert record in e.record and record in msg, (record, msg)
    assert fix.lower() in e.fix.lower() and "Fix:" in msg, (fix, msg)
    for a in also:
        assert a in msg, (a, msg)
    assert isinstance(e, tx.TxTransportError) and isinstance(e, ValueError)
    return e


def first_line(data: dict) -> dict:
    return data["lines"][0]


def folder_digest(root: Path) -> dict[str, str]:
    out = {}
    for dirpath, _, files in os.walk(root):
        for name in files:
            p = Path(dirpath) / name
            out[p.relative_to(root).as_posix()] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


# --------------------------------------------------------------------------- valid bundles
def test_valid_copy_loads_like_the_embedded_bundle(pristine):
    copy = read_bundle(pristine)
    embedded = read_bundle(DEFAULT_BUNDLE)
    pd.testing.assert_frame_equal(copy.places, embedded.places)
    pd.testing.assert_frame_equal(copy.projects, embedded.projects)
    assert set(copy.scenarios) == set(embedded.scenarios)
    net = tx.load_network(pristine)
    assert net.path == pristine
    assert "tongxiang-station" in net.places.index


def test_loader_never_modifies_the_users_files(pristine, tmp_path):
    b = tmp_path / "full"
    shutil.copytree(pristine, b)
    before = folder_digest(b)
    net = tx.load_network(b)
    assert len(net.places) and len(net.projects)
    assert folder_digest(b) == before
    # nor when the bundle is broken
    edit_yaml(b, "scenarios.yaml", lambda d: d["scenarios"]["plan-2025"].update(extends="nowhere"))
    broken = folder_digest(b)
    with pytest.raises(tx.NetworkDataError):
        tx.load_network(b)
    assert folder_digest(b) == broken


def test_csv_saved_with_a_byte_order_mark_loads(bundle):
    # spreadsheet programs save "CSV UTF-8" with a BOM; the header 'id' must still be found
    f = bundle / "places.csv"
    f.write_bytes(b"\xef\xbb\xbf" + f.read_bytes())
    assert "tongxiang" in tx.load_network(bundle).places.index


def test_bundle_yaml_widens_the_plausible_area(bundle):
    def far(df):
        df.loc[row_of(df, "hefei"), "lat"] = "35.5"

    edit_csv(bundle, "places.csv", far)
    expect_error(bundle, "places.csv", "id 'hefei'", "bundle.yaml", "outside the plausible area")
    (bundle / "bundle.yaml").write_text("area: {max_lat: 36.0}\n", encoding="utf-8")
    assert tx.load_network(bundle).places.loc["hefei", "lat"] == 35.5
    (bundle / "bundle.yaml").write_text("area: {max_lat: north}\n", encoding="utf-8")
    expect_error(bundle, "bundle.yaml", "area.max_lat", "number", "not a number")
    (bundle / "bundle.yaml").write_text("area: {top: 36}\n", encoding="utf-8")
    expect_error(bundle, "bundle.yaml", "area.top", "max_lat")


# --------------------------------------------------------------------------- folder and files
def test_path_that_does_not_exist(tmp_path):
    expect_error(tmp_path / "nope", "nope", "folder", "bundle folder", "does not exist")


def test_path_that_is_a_file(bundle):
    expect_error(bundle / "places.csv", "places.csv", "path", "folder", "is a file, not a bundle folder")


@pytest.mark.parametrize("name", ["modes.yaml", "profiles.yaml", "places.csv", "scenarios.yaml"])
def test_missing_required_file(bundle, name):
    (bundle / name).unlink()
    expect_error(bundle, name, "file", f"create {name}", "required file is missing")


@pytest.mark.parametrize("name", ["scenarios.yaml", "rail.yaml", "modes.yaml", "goals.yaml", "profiles.yaml"])
def test_malformed_yaml_names_the_line(bundle, name):
    f = bundle / name
    text = f.read_text(encoding="utf-8").rstrip("\n")
    line = text.count("\n") + 2
    f.write_text(text + "\nbroken: a: b\n", encoding="utf-8")
    expect_error(bundle, name, f"line {line}, column", "correct the YAML syntax", "is not valid YAML")


def test_yaml_with_a_list_at_top_level(bundle):
    (bundle / "rail.yaml").write_text("- shanghai-hangzhou-hsr\n- beijing-shanghai-hsr\n", encoding="utf-8")
    expect_error(bundle, "rail.yaml", "top level", "key: value", "must be a mapping")


def test_yaml_section_that_is_not_a_list(bundle):
    (bundle / "waterways.yaml").write_text("channels: grand-canal\n", encoding="utf-8")
    expect_error(bundle, "waterways.yaml", "channels", "'- ' item", "must be a list")


@pytest.mark.parametrize(("name", "column"), [("places.csv", "lat"), ("places.csv", "id"),
                                              ("roads/nodes.csv", "lon"), ("roads/edges.csv", "length_km")])
def test_csv_header_missing_a_column(bundle, name, column):
    edit_csv(bundle, name, lambda df: df.rename(columns={column: column + "_x"}))
    expect_error(bundle, name, "header", "add the column", f"missing column(s) ['{column}']")


def test_empty_csv(bundle):
    (bundle / "places.csv").write_text("", encoding="utf-8")
    expect_error(bundle, "places.csv", "file", "header row", "is empty")


def test_csv_that_is_not_utf8(bundle):
    f = bundle / "places.csv"
    f.write_bytes(f.read_text(encoding="utf-8").encode("gb18030"))
    expect_error(bundle, "places.csv", "line 2", "UTF-8", "is not UTF-8 text")  # names the first line that is not UTF-8


# --------------------------------------------------------------------------- places
def test_duplicate_place_id(bundle):
    edit_csv(bundle, "places.csv", lambda df: pd.concat([df, df.iloc[[row_of(df, "wuzhen")]]], ignore_index=True))
    expect_error(bundle, "places.csv", "place 'wuzhen'", "unique", "duplicate place id")


@pytest.mark.parametrize("key", ["lat", "lon"])
def test_missing_coordinate(bundle, key):
    def blank(df):
        df.loc[row_of(df, "wuzhen"), key] = ""

    edit_csv(bundle, "places.csv", blank)
    expect_error(bundle, "places.csv", "id 'wuzhen'", f"give '{key}' a number", f"'{key}' is missing")


def test_coordinate_outside_the_plausible_area(bundle):
    def projected(df):  # metres of a projected CRS instead of degrees
        df.loc[row_of(df, "wuzhen"), ["lat", "lon"]] = ["3403000", "546000"]

    edit_csv(bundle, "places.csv", projected)
    e = expect_error(bundle, "places.csv", "id 'wuzhen'", "WGS84 decimal degrees", "outside the plausible area")
    assert "swapped" not in str(e)


def test_swapped_lat_lon_is_hinted(bundle):
    def swap(df):
        i = row_of(df, "wuzhen")
        df.loc[i, ["lat", "lon"]] = [df.loc[i, "lon"], df.loc[i, "lat"]]

    edit_csv(bundle, "places.csv", swap)
    expect_error(bundle, "places.csv", "id 'wuzhen'", "lat and lon look swapped", "outside the plausible area")


def test_non_numeric_coordinate(bundle):
    def dms(df):
        df.loc[row_of(df, "wuzhen"), "lat"] = "30°44′N"

    edit_csv(bundle, "places.csv", dms)
    expect_error(bundle, "places.csv", "id 'wuzhen'", "plain number", "'lat' is not a number")


@pytest.mark.parametrize("bad", ["Tong_Xiang", "Wuzhen", "wu--zhen", "wuzhen-", "乌镇"])
def test_place_id_not_kebab_case(bundle, bad):
    def rename(df):
        df.loc[row_of(df, "wuzhen"), "id"] = bad

    edit_csv(bundle, "places.csv", rename)
    expect_error(bundle, "places.csv", f"id {bad!r}", "lower-case letters", "is not a kebab-case id")


def test_unknown_place_kind(bundle):
    def kind(df):
        df.loc[row_of(df, "wuzhen"), "kind"] = "village"

    edit_csv(bundle, "places.csv", kind)
    expect_error(bundle, "places.csv", "id 'wuzhen'", "use one of", "kind 'village' is unknown")


# --------------------------------------------------------------------------- rail
def test_unknown_place_in_a_rail_line(bundle):
    lid = {}

    def change(d):
        li = first_line(d)
        lid["id"] = li["id"]
        li["stations"][1]["place"] = "atlantis-station"

    edit_yaml(bundle, "rail.yaml", change)
    expect_error(bundle, "rail.yaml", f"line {lid['id']!r}, station 2", "places.csv",
                 "station 'atlantis-station' is not a place id or a station name in places.csv")


def test_unknown_rail_class(bundle):
    lid = {}

    def change(d):
        li = first_line(d)
        lid["id"] = li["id"]
        li["rail_class"] = "maglev"

    edit_yaml(bundle, "rail.yaml", change)
    expect_error(bundle, "rail.yaml", f"line {lid['id']!r}", "modes.yaml rail.classes", "rail_class 'maglev' is unknown")


def test_rail_line_id_not_kebab_case(bundle):
    edit_yaml(bundle, "rail.yaml", lambda d: first_line(d).update(id="Shanghai_Hangzhou_HSR"))
    expect_error(bundle, "rail.yaml", "'Shanghai_Hangzhou_HSR'", "lower-case", "is not a kebab-case id")


def test_station_written_as_a_plain_string(bundle):
    lid = {}

    def change(d):
        li = first_line(d)
        lid["id"] = li["id"]
        li["stations"][1] = li["stations"][1]["place"]

    edit_yaml(bundle, "rail.yaml", change)
    expect_error(bundle, "rail.yaml", f"line {lid['id']!r}, station 2", "key: value", "must be a mapping")


def test_rail_chainage_not_a_number(bundle):
    lid = {}

    def change(d):
        li = first_line(d)
        lid["id"] = li["id"]
        li["stations"][-1]["km"] = "about 159"

    edit_yaml(bundle, "rail.yaml", change)
    expect_error(bundle, "rail.yaml", f"line {lid['id']!r}, station", "plain number", "'km' is not a number")


def test_retired_services_key_says_where_trains_go(bundle):
    lid = {}

    def change(d):
        li = first_line(d)
        lid["id"] = li["id"]
        li["services"] = [{"name": "all-stop", "stops": "all", "headway_min": 60, "source": "x"}]

    edit_yaml(bundle, "rail.yaml", change)
    expect_error(bundle, "rail.yaml", f"line {lid['id']!r}", "add-trip-pattern edits in services.yaml", "'services'")


def _first_pattern(d: dict) -> dict:
    return next(e for e in d["edits"] if e["type"] == "add-trip-pattern")


def test_service_edit_with_an_unknown_station(bundle):
    rec = {}

    def change(d):
        e = _first_pattern(d)
        e["stops"][1] = "亚特兰蒂斯"
        rec["id"] = e["id"]

    edit_yaml(bundle, "services.yaml", change)
    expect_error(bundle, "services.yaml", f"edit {rec['id']!r}", "add the station to places.csv", "'亚特兰蒂斯' is not a place id")


def test_service_edit_with_a_bad_frequency(bundle):
    rec = {}

    def change(d):
        e = _first_pattern(d)
        e["frequencies"] = [{"start": "9:00", "end": "07:00", "headway_min": 30}]
        rec["id"] = e["id"]

    edit_yaml(bundle, "services.yaml", change)
    expect_error(bundle, "services.yaml", f"edit {rec['id']!r}, frequencies item 1", "start < end", "end is not after start")


def test_service_edit_of_an_unknown_project(bundle):
    rec = {}

    def change(d):
        e = _first_pattern(d)
        e["project"] = "hyperloop"
        rec["id"] = e["id"]

    edit_yaml(bundle, "services.yaml", change)
    expect_error(bundle, "services.yaml", f"edit {rec['id']!r}", "name a rail.yaml line", "project 'hyperloop' is not a project of the bundle")


def test_scenario_naming_an_unknown_service_edit(bundle):
    edit_yaml(bundle, "scenarios.yaml", lambda d: d["scenarios"]["plan-2025"].update(services=["more-trains-to-mars"]))
    expect_error(bundle, "scenarios.yaml", "scenario 'plan-2025'", "name an edit id of services.yaml",
                 "service edit 'more-trains-to-mars' is not in services.yaml")


def test_transit_feed_path_must_exist(bundle):
    edit_yaml(bundle, "transit.yaml", lambda d: d["feeds"][0].update(path="transit/nowhere"))
    expect_error(bundle, "transit.yaml", "feed 'cr-2016'", "relative to the bundle folder", "does not exist")


# --------------------------------------------------------------------------- speeds
def _set(path: list[Any], value: Any) -> Callable[[Any], None]:
    def change(d):
        for k in path[:-1]:
            d = d[k]
        d[path[-1]] = value

    return change


SPEEDS = [
    ("rail.yaml", ["lines", 0, "operating_speed_kmh"], "line {id!r}"),
    ("rail.yaml", ["lines", 0, "design_speed_kmh"], "line {id!r}"),
    ("expressways.yaml", ["corridors", 0, "design_speed_kmh"], "corridor {id!r}"),
    ("trunk_roads.yaml", ["links", 0, "design_speed_kmh"], "link {id!r}"),
    ("modes.yaml", ["road", "classes", "primary", "design_speed_kmh"], "road.classes.primary"),
    ("modes.yaml", ["road", "classes", "motorway", "operating_factor"], "road.classes.motorway"),
    ("modes.yaml", ["rail", "classes", "hsr", "accel_ms2"], "rail.classes.hsr"),
    ("modes.yaml", ["waterway", "classes", "III", "speed_kmh"], "waterway.classes.III"),
]


@pytest.mark.parametrize("value", [-120, 0])
@pytest.mark.parametrize(("name", "path", "record"), SPEEDS, ids=lambda x: x if isinstance(x, str) else None)
def test_non_positive_speed(bundle, name, path, record, value):
    data = yaml.safe_load((bundle / name).read_text(encoding="utf-8"))
    item = data
    for k in path[:2]:
        item = item[k]
    rec = record.format(id=item.get("id") if isinstance(item, dict) else None)
    edit_yaml(bundle, name, _set(path, value))
    expect_error(bundle, name, rec, "value > 0", f"'{path[-1]}' must be positive, got {value:g}")


def test_operating_speed_above_design_speed(bundle):
    lid = {}

    def change(d):
        li = first_line(d)
        lid["id"] = li["id"]
        li["operating_speed_kmh"] = li["design_speed_kmh"] * 10  # a typo: 3000 for 300

    edit_yaml(bundle, "rail.yaml", change)
    expect_error(bundle, "rail.yaml", f"line {lid['id']!r}", "at most at the design speed", "exceeds design_speed_kmh")


def test_zero_connector_speed(bundle):
    edit_yaml(bundle, "modes.yaml", _set(["road", "connector_speed_kmh"], 0))
    expect_error(bundle, "modes.yaml", "road.connector_speed_kmh", "value > 0", "must be positive")


@pytest.mark.parametrize(("name", "path", "record"), [
    ("waterways.yaml", ["channels", 0, "sinuosity"], "channel"),
    ("rail.yaml", ["lines", 0, "schematic_detour"], "line"),
    ("modes.yaml", ["road", "connector_detour"], "road.connector_detour"),
])
def test_detour_factor_below_one(bundle, name, path, record):
    edit_yaml(bundle, name, _set(path, 0.3))
    expect_error(bundle, name, record, "factor >= 1", "shorter than the straight line")


def test_non_positive_scenario_speed_override(bundle):
    edit_yaml(bundle, "scenarios.yaml", lambda d: d["scenarios"]["plan-2025"].update(speed_kmh={"g60": -100}))
    expect_error(bundle, "scenarios.yaml", "scenario 'plan-2025', speed_kmh.g60", "value > 0", "must be positive")


def test_non_numeric_corridor_length(bundle):
    data = yaml.safe_load((bundle / "expressways.yaml").read_text(encoding="utf-8"))
    cid = data["corridors"][0]["id"]
    edit_yaml(bundle, "expressways.yaml", _set(["corridors", 0, "length_km"], "103 km"))
    expect_error(bundle, "expressways.yaml", f"corridor {cid!r}", "plain number", "'length_km' is not a number")


# --------------------------------------------------------------------------- roads layer
def test_road_edge_references_a_missing_node(bundle):
    def dangling(df):
        df.loc[4, "u"] = "987654321"

    edit_csv(bundle, "roads/edges.csv", dangling)
    expect_error(bundle, "roads/edges.csv", "row 6 (edge 987654321-", "add the node",
                 "references a node that is not in roads/nodes.csv")


@pytest.mark.parametrize(("value", "problem"), [("three", "length_km is not a number ('three')"),
                                                ("-0.3", "must be a positive"), ("0", "must be a positive"),
                                                ("inf", "must be a positive finite number")])
def test_bad_road_edge_length(bundle, value, problem):
    def bad(df):
        df.loc[9, "length_km"] = value

    edit_csv(bundle, "roads/edges.csv", bad)
    expect_error(bundle, "roads/edges.csv", "row 11", "number" if value == "three" else "km (> 0)", problem)


def test_road_edge_with_unknown_highway_class(bundle):
    def bad(df):
        df.loc[2, "highway"] = "cart_track"

    edit_csv(bundle, "roads/edges.csv", bad)
    expect_error(bundle, "roads/edges.csv", "row 4", "modes.yaml road.classes", "highway 'cart_track' is unknown")


def test_road_node_outside_the_area(bundle):
    def bad(df):
        df.loc[0, "lat"] = "3.0"

    edit_csv(bundle, "roads/nodes.csv", bad)
    expect_error(bundle, "roads/nodes.csv", "row 2 (node", "WGS84", "outside the plausible area")


# --------------------------------------------------------------------------- links (trunk roads, expressways, waterways)
@pytest.mark.parametrize(("name", "key", "what"), [("trunk_roads.yaml", "links", "link"),
                                                   ("expressways.yaml", "corridors", "corridor"),
                                                   ("waterways.yaml", "channels", "channel")])
def test_link_node_references_a_missing_place(bundle, name, key, what):
    rec = {}

    def change(d):
        item = d[key][0]
        rec["id"] = item["id"]
        item["nodes"][0] = {"place": "atlantis"}

    edit_yaml(bundle, name, change)
    expect_error(bundle, name, f"{what} {rec['id']!r}, node 'atlantis'", "add the place",
                 "references a place that is not in places.csv")


def test_unknown_link_status(bundle):
    data = yaml.safe_load((bundle / "trunk_roads.yaml").read_text(encoding="utf-8"))
    lid = data["links"][0]["id"]
    edit_yaml(bundle, "trunk_roads.yaml", _set(["links", 0, "status"], "open"))
    expect_error(bundle, "trunk_roads.yaml", f"link {lid!r}", "use one of", "status 'open' is unknown")


def test_duplicate_project_id_across_files(bundle):
    rail = yaml.safe_load((bundle / "rail.yaml").read_text(encoding="utf-8"))
    edit_yaml(bundle, "trunk_roads.yaml", _set(["links", 0, "id"], rail["lines"][0]["id"]))
    expect_error(bundle, "b", f"project '{rail['lines'][0]['id']}'", "unique id", "used by two projects")


# --------------------------------------------------------------------------- modes and profiles
def test_plan_class_mapped_to_unknown_road_class(bundle):
    edit_yaml(bundle, "modes.yaml", lambda d: d["road"]["plan_classes"].update({"first-class": "autobahn"}))
    expect_error(bundle, "modes.yaml", "road.plan_classes.first-class", "map it to one of", "'autobahn'")


def test_missing_station_time(bundle):
    edit_yaml(bundle, "modes.yaml", lambda d: d["rail"]["station"].pop("enter_min"))
    expect_error(bundle, "modes.yaml", "rail.station.enter_min", "give 'enter_min' a number", "is missing")


def test_unknown_edge_kind_in_a_profile(bundle):
    edit_yaml(bundle, "profiles.yaml", lambda d: d["profiles"]["car"]["use"].append("teleport"))
    expect_error(bundle, "profiles.yaml", "profile 'car'", "use kinds of", "edge kind 'teleport' is unknown")


def test_unknown_edge_kind_in_a_profile_cost(bundle):
    edit_yaml(bundle, "profiles.yaml", lambda d: d["profiles"]["car"].setdefault("cost", {}).update(teleport=0))
    expect_error(bundle, "profiles.yaml", "profile 'car'", "use kinds of", "cost for unknown edge kind 'teleport'")


def test_profile_use_not_a_list(bundle):
    edit_yaml(bundle, "profiles.yaml", lambda d: d["profiles"]["car"].update(use="road"))
    expect_error(bundle, "profiles.yaml", "profile 'car'", "use: [road", "'use' must be a list")


def test_unknown_timetable_measure(bundle):
    edit_yaml(bundle, "profiles.yaml", lambda d: d["profiles"]["rail"].update(measure="slowest-of-day"))
    expect_error(bundle, "profiles.yaml", "profile 'rail'", "use 'fastest-of-day'", "measure 'slowest-of-day' is unknown")


# --------------------------------------------------------------------------- scenarios
def test_unknown_scenario_in_extends(bundle):
    edit_yaml(bundle, "scenarios.yaml", lambda d: d["scenarios"]["plan-2025"].update(extends="baseline-2019"))
    expect_error(bundle, "scenarios.yaml", "scenario 'plan-2025'", "use one of", "extends unknown scenario 'baseline-2019'")


def test_scenario_extends_cycle(bundle):
    def cycle(d):
        d["scenarios"]["plan-2025"]["extends"] = "actual-2026"
        d["scenarios"]["actual-2026"]["extends"] = "plan-2025"

    edit_yaml(bundle, "scenarios.yaml", cycle)
    expect_error(bundle, "scenarios.yaml", "scenario '", "remove the cycle", "forms a cycle")


@pytest.mark.parametrize("key", ["add", "remove"])
def test_unknown_project_in_scenario(bundle, key):
    edit_yaml(bundle, "scenarios.yaml", lambda d: d["scenarios"]["actual-2026"].update({key: ["hyperloop"]}))
    expect_error(bundle, "scenarios.yaml", f"scenario 'actual-2026', {key}", "project id", "unknown project 'hyperloop'")


def test_scenario_add_written_as_a_string(bundle):
    edit_yaml(bundle, "scenarios.yaml", lambda d: d["scenarios"]["actual-2026"].update(add="s9-sutai-ii"))
    expect_error(bundle, "scenarios.yaml", "scenario 'actual-2026', add", "add: [s9-sutai-ii]", "must be a list")


def test_scenario_name_not_kebab_case(bundle):
    edit_yaml(bundle, "scenarios.yaml", lambda d: d["scenarios"].update({"Plan 2030": {"description": "x", "all": True}}))
    expect_error(bundle, "scenarios.yaml", "scenario 'Plan 2030'", "lower-case", "is not a kebab-case id")


def test_scenario_without_description(bundle):
    edit_yaml(bundle, "scenarios.yaml", lambda d: d["scenarios"]["plan-2025"].pop("description"))
    expect_error(bundle, "scenarios.yaml", "scenario 'plan-2025'", "description", "has no description")


# --------------------------------------------------------------------------- goals
GOAL_PROFILES = [
    (lambda d: d["one_hour_circles"][0]["measures"][0], lambda d: f"one_hour_circles {d['one_hour_circles'][0]['id']!r}"),
    (lambda d: d["circle_301510"], lambda d: "circle_301510"),
    (lambda d: d["coverage"], lambda d: "coverage"),
]


@pytest.mark.parametrize(("where", "record"), GOAL_PROFILES, ids=["one-hour-circle", "301510", "coverage"])
def test_unknown_profile_in_goals(bundle, where, record):
    rec = {}

    def change(d):
        where(d)["profile"] = "bicycle"
        rec["r"] = record(d)

    edit_yaml(bundle, "goals.yaml", change)
    expect_error(bundle, "goals.yaml", rec["r"], "use one of", "unknown profile 'bicycle'")


def test_unknown_place_in_goals(bundle):
    edit_yaml(bundle, "goals.yaml", lambda d: d["circle_301510"]["towns"].append("atlantis"))
    expect_error(bundle, "goals.yaml", "circle_301510", "place id of places.csv", "unknown place 'atlantis'")


def test_unknown_mileage_boundary(bundle):
    edit_yaml(bundle, "goals.yaml", lambda d: d["mileage"].update(boundary="999999"))
    expect_error(bundle, "goals.yaml", "mileage", "330483", "boundary '999999' is not an adcode")


# --------------------------------------------------------------------------- public tables
PLACE_COLUMNS = ["name_en", "name_zh", "kind", "lat", "lon", "population", "coord_source", "coord_status", "geometry"]
LINK_COLUMNS = ["link_id", "project", "mode", "link_class", "length_km", "speed_kmh", "lanes", "status", "opened",
                "plan_year", "name_en", "geometry_kind", "source", "geometry"]


def test_places_table(net):
    p = net.places
    assert isinstance(p, gpd.GeoDataFrame) and p.crs.to_epsg() == 4326
    assert set(PLACE_COLUMNS) <= set(p.columns)
    assert p.index.is_unique and "tongxiang" in p.index
    assert (p.geometry.geom_type == "Point").all()
    np.testing.assert_allclose(p.geometry.x, p.lon)
    np.testing.assert_allclose(p.geometry.y, p.lat)
    assert set(p.kind) <= {"city", "town", "station", "interchange", "port", "airport", "venue"}


def test_links_table(net):
    L = net.links
    assert isinstance(L, gpd.GeoDataFrame) and L.crs.to_epsg() == 4326
    documented = [c for c in LINK_COLUMNS if c != "lanes"]
    assert set(documented) <= set(L.columns), sorted(set(documented) - set(L.columns))
    assert set(L["mode"]) == {"road", "expressway", "rail", "waterway"}
    assert (L.geometry.geom_type == "LineString").all() and not L.geometry.is_empty.any()
    assert (L.length_km > 0).all()
    assert set(L["project"]) <= set(net.projects.index)


def test_links_table_has_lanes(net):
    L = net.links
    assert "lanes" in L.columns
    assert (L.loc[L["project"] == "s9-sutai-ii", "lanes"] == 6).all()


def test_boundaries_table(net):
    b = net.boundaries
    assert isinstance(b, gpd.GeoDataFrame) and b.crs.to_epsg() == 4326
    assert {"name_en", "name_zh", "level"} <= set(b.columns)
    assert b.index.is_unique and all(isinstance(a, str) for a in b.index)
    assert b.loc["330483", "name_en"] == "Tongxiang"
    area_km2 = float(b.loc[["330483"]].to_crs(METRIC_CRS).area.iloc[0]) / 1e6
    assert 700 <= area_km2 <= 760, area_km2  # Tongxiang: 727 km² (official figure)


def test_scenarios_and_profiles_are_name_to_description(net):
    raw = yaml.safe_load((net.path / "scenarios.yaml").read_text(encoding="utf-8"))["scenarios"]
    assert net.scenarios == {k: v["description"] for k, v in raw.items()}
    assert {"baseline-2020", "plan-2025", "actual-2026", "vision-2035"} <= set(net.scenarios)
    assert all(isinstance(v, str) and v for v in net.profiles.values())
    assert {"car", "rail", "door-to-door", "freight-water"} <= set(net.profiles)


REQUIRED_PLACE_IDS = """tongxiang tongxiang-station wuzhen puyuan chongfu shimen zhouquan dama heshan gaoqiao tudian fengming wuzhen-wic
shanghai-hongqiao shanghai-station hangzhou-east hangzhou-west hangzhou-station jiaxing-south haining-west huzhou-station
suzhou-station suzhou-north shaoxing-north ningbo-station nanjing-south hefei-south shanghai hangzhou jiaxing huzhou suzhou
shaoxing ningbo nanjing hefei hangzhou-xiaoshan-airport shanghai-hongqiao-airport shanghai-pudong-airport jiaxing-airport""".split()


def test_embedded_bundle_has_the_required_places_with_sources(net):
    p = net.places
    assert set(REQUIRED_PLACE_IDS) <= set(p.index), sorted(set(REQUIRED_PLACE_IDS) - set(p.index))
    assert p.coord_source.str.len().gt(0).all()
    assert set(p.coord_status) <= {"sourced", "derived", "assumption"}
    assert set(p.loc[["shanghai", "hangzhou", "hefei"], "kind"]) == {"city"}
    assert p.loc["hangzhou-xiaoshan-airport", "kind"] == "airport"


# --------------------------------------------------------------------------- review findings: silent errors now loud
def _edit_yaml(path, mutate):
    import yaml as _y

    data = _y.safe_load(path.read_text(encoding="utf-8"))
    mutate(data)
    if path.is_symlink():
        path.unlink()
    path.write_text(_y.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def test_misspelt_scenario_rule_is_an_error(tmp_path):
    b = tmp_path / "b"
    shutil.copytree(DEFAULT_BUNDLE, b, ignore=shutil.ignore_patterns("build", "samples"))
    _edit_yaml(b / "scenarios.yaml", lambda d: d["scenarios"]["plan-2025"].update({"plan_by_year": 2025}))
    with pytest.raises(tx.NetworkDataError, match=r"scenarios.yaml: scenario 'plan-2025': unknown key 'plan_by_year'.*did you mean 'plan_by'"):
        tx.load_network(b)


def test_misspelt_project_key_is_an_error(tmp_path):
    b = tmp_path / "b"
    shutil.copytree(DEFAULT_BUNDLE, b, ignore=shutil.ignore_patterns("build", "samples"))
    _edit_yaml(b / "rail.yaml", lambda d: d["lines"][0].update({"plan_yaer": 2030}))
    with pytest.raises(tx.NetworkDataError, match=r"rail.yaml: line 'shanghai-hangzhou-hsr': unknown key 'plan_yaer'"):
        tx.load_network(b)


def test_duplicate_yaml_key_is_an_error(tmp_path):
    b = tmp_path / "b"
    shutil.copytree(DEFAULT_BUNDLE, b, ignore=shutil.ignore_patterns("build", "samples"))
    f = b / "trunk_roads.yaml"
    text = f.read_text(encoding="utf-8").replace("    opened: 2019\n", "    opened: 2015\n    opened: 2019\n", 1)
    f.write_text(text, encoding="utf-8")
    with pytest.raises(tx.NetworkDataError, match=r"trunk_roads.yaml: line \d+, column \d+: .*'opened' appears twice"):
        tx.load_network(b)


@pytest.mark.parametrize("mutate, needle", [
    (lambda d: d["lines"][0].update({"opened": 2040}), "future year"),
    (lambda d: d["lines"][8].update({"opened": 2024}), "'opened' is set"),
])
def test_status_and_year_must_agree(tmp_path, mutate, needle):
    b = tmp_path / "b"
    shutil.copytree(DEFAULT_BUNDLE, b, ignore=shutil.ignore_patterns("build", "samples"))
    _edit_yaml(b / "rail.yaml", mutate)
    with pytest.raises(tx.NetworkDataError, match=needle):
        tx.load_network(b)


def test_percent_operating_factor_and_scenario_overspeed_are_errors(tmp_path):
    b = tmp_path / "b"
    shutil.copytree(DEFAULT_BUNDLE, b, ignore=shutil.ignore_patterns("build", "samples"))
    _edit_yaml(b / "modes.yaml", lambda d: d["road"]["classes"]["primary"].update({"operating_factor": 75}))
    with pytest.raises(tx.NetworkDataError, match=r"road.classes.primary: operating_factor 75 is above 1.*0.85, not 85"):
        tx.load_network(b)
    shutil.rmtree(b)
    shutil.copytree(DEFAULT_BUNDLE, b, ignore=shutil.ignore_patterns("build", "samples"))
    _edit_yaml(b / "scenarios.yaml", lambda d: d["scenarios"]["plan-2025"].update({"speed_kmh": {"shanghai-hangzhou-hsr": 3000}}))
    with pytest.raises(tx.NetworkDataError, match=r"3000 km/h is above the project's design speed \(350 km/h\)"):
        tx.load_network(b)


def test_half_a_road_layer_or_missing_traces_are_errors(tmp_path):
    b = tmp_path / "b"
    shutil.copytree(DEFAULT_BUNDLE, b, ignore=shutil.ignore_patterns("build", "samples"))
    (b / "roads" / "nodes.csv").unlink()
    with pytest.raises(tx.NetworkDataError, match=r"nodes.csv: file: is missing while edges.csv is present"):
        tx.load_network(b)
    shutil.rmtree(b)
    shutil.copytree(DEFAULT_BUNDLE, b, ignore=shutil.ignore_patterns("build", "samples"))
    (b / "rail_segments.geojson").unlink()
    with pytest.raises(tx.NetworkDataError, match=r"rail_segments.geojson: line 'shanghai-hangzhou-hsr'.*no trace.*schematic"):
        tx.load_network(b)
