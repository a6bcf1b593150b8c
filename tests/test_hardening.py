"""Hardening (issue 11, phase 1): each reproduction of the audit ends in a clear error naming the
file and record (or in the right result), outputs are all-or-nothing, names resolve in Chinese or
English, isochrone bands do not depend on the other cutoffs asked, the centre comes from the
bundle, and the kernel refuses negative times.

Loader tests copy the embedded bundle, break exactly one thing and load it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy.sparse import csr_matrix

import tx_transport as tx
from tx_transport import _files
from tx_transport.errors import OutputError, QueryError, TxTransportError
from tx_transport.io import DEFAULT_BUNDLE
from tx_transport.kernel import CompiledGraph
from tx_transport.names import PlaceIndex, resolve_place, search_places

LINKED = {"roads", "boundaries.geojson", "build", "samples"}


# --------------------------------------------------------------------------- bundle copies
@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> Path:
    dst = tmp_path_factory.mktemp("pristine") / "networks"
    shutil.copytree(DEFAULT_BUNDLE, dst)
    return dst


@pytest.fixture
def bundle(pristine: Path, tmp_path: Path) -> Path:
    """A writable copy of the bundle (large, read-only entries symlinked)."""
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


def edit_yaml(b: Path, name: str, change) -> None:
    f = b / name
    data = yaml.safe_load(f.read_text(encoding="utf-8"))
    change(data)
    f.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def load_error(b: Path, file: str, record: str, *needles: str) -> tx.NetworkDataError:
    """Loading ``b`` fails with one NetworkDataError naming ``file`` and ``record`` (and a fix)."""
    with pytest.raises(tx.NetworkDataError) as info:
        tx.load_network(b)
    e = info.value
    msg = str(e)
    assert Path(e.file).name == file, msg
    assert record in e.record, (record, msg)
    assert "Fix:" in msg and e.fix
    assert "\n" not in msg and len(msg) < 2500
    for n in needles:
        assert n in msg, (n, msg)
    return e


# --------------------------------------------------------------------------- loader: crashes
def test_negative_port_transfer_is_an_error(bundle):
    edit_yaml(bundle, "modes.yaml", lambda d: d["waterway"].update(port_transfer_min=-240))
    load_error(bundle, "modes.yaml", "waterway.port_transfer_min", "must be >= 0")


@pytest.mark.parametrize("key, value", [("lock_min", -60), ("lock_min", 10**7), ("port_transfer_min", 1e12)])
def test_waterway_times_are_bounded(bundle, key, value):
    edit_yaml(bundle, "modes.yaml", lambda d: d["waterway"].update({key: value}))
    load_error(bundle, "modes.yaml", f"waterway.{key}", key)


@pytest.mark.parametrize("key, value, needle", [
    ("connector_count", -1, "must be >= 1"), ("connector_count", 2.5, "whole number"), ("connector_count", 10**6, "must be <= 50"),
    ("connector_max_km", -5, "must be >= 0"), ("connector_max_km", 1e9, "must be <= 100"),
])
def test_connector_settings_are_bounded(bundle, key, value, needle):
    edit_yaml(bundle, "modes.yaml", lambda d: d["road"].update({key: value}))
    load_error(bundle, "modes.yaml", f"road.{key}", needle)


def test_billion_laughs_is_refused_quickly(bundle):
    lines = ['a0: &a0 "lol"']
    for k in range(1, 10):
        lines.append(f"a{k}: &a{k} [" + ", ".join([f"*a{k - 1}"] * 9) + "]")
    text = (bundle / "scenarios.yaml").read_text(encoding="utf-8")
    bomb = "\n".join(lines) + "\n" + text.replace("description:", "description: *a9\n    note_was:", 1)
    (bundle / "scenarios.yaml").write_text(bomb, encoding="utf-8")
    t0 = time.perf_counter()
    load_error(bundle, "scenarios.yaml", "aliases", "expand")
    assert time.perf_counter() - t0 < 10  # bounded: no expansion is ever built


def test_recursive_alias_is_refused(bundle):
    (bundle / "goals.yaml").write_text("a: &a [1, *a]\n", encoding="utf-8")
    load_error(bundle, "goals.yaml", "aliases", "recursive")


def test_aliases_within_bounds_still_load(bundle, net):
    # an anchor on one circle's measures, reused by the next circle (an unknown key holding anchors is refused)
    text = (bundle / "goals.yaml").read_text(encoding="utf-8")
    text = text.replace("    measures:\n", "    measures: &measures\n", 1)
    head, tail = text.split("measures: &measures\n", 1)
    first, rest = tail.split("    targets:", 1)
    second_start = rest.index("    measures:\n")
    second_end = rest.index("    targets:", second_start)
    text = head + "measures: &measures\n" + first + "    targets:" + rest[:second_start] + "    measures: *measures\n" + rest[second_end:]
    (bundle / "goals.yaml").write_text(text, encoding="utf-8")
    goals = tx.load_network(bundle).goals
    assert goals["one_hour_circles"][1]["measures"] == net.goals["one_hour_circles"][0]["measures"]
    assert goals["one_hour_circles"][1]["measures"] is goals["one_hour_circles"][0]["measures"]


@pytest.mark.parametrize("key, value, needle", [
    ("extends", ["baseline-2020"], "one scenario name"),
    ("add", [["g60", "s12"]], "items must be project ids"),
    ("remove", [{"g60": 1}], "items must be project ids"),
    ("all", "false", "'all' must be true or false"),
    ("all", 1, "'all' must be true or false"),
])
def test_scenario_rules_of_the_wrong_type(bundle, key, value, needle):
    edit_yaml(bundle, "scenarios.yaml", lambda d: d["scenarios"]["plan-2025"].update({key: value}))
    load_error(bundle, "scenarios.yaml", "scenario 'plan-2025'", needle)


def test_all_false_as_a_string_would_have_put_every_project_in_service(bundle, net):
    # the silent wrong result of the audit: rail-km 20.4 -> 136.4. As a boolean, false means false.
    edit_yaml(bundle, "scenarios.yaml", lambda d: d["scenarios"]["baseline-2020"].update({"all": False}))
    assert tx.load_network(bundle).selection("baseline-2020").projects == net.selection("baseline-2020").projects


def test_profile_use_with_a_nested_list(bundle):
    edit_yaml(bundle, "profiles.yaml", lambda d: d["profiles"]["car"].update(use=[["road", "ramp"], "connector"]))
    load_error(bundle, "profiles.yaml", "profile 'car'", "flat list")


def test_rail_edge_kinds_in_a_road_profile_point_to_the_timetable(bundle):
    """Rail is routed on the timetable: an old profile listing rail graph edges is told so."""
    edit_yaml(bundle, "profiles.yaml", lambda d: d["profiles"]["car"].update(use=["road", "rail_run"]))
    load_error(bundle, "profiles.yaml", "profile 'car'", "'rail_run' is no longer a graph edge", "router: timetable")


@pytest.mark.parametrize("change, record", [
    (lambda d: d.update(one_hour_circles=["shanghai"]), "one_hour_circles item 1"),
    (lambda d: d["one_hour_circles"][0].update(targets=["shanghai"]), "targets item 1"),
    (lambda d: d["one_hour_circles"][0].update(measures="rail"), "measures"),
    (lambda d: d.update(circle_301510="tongxiang"), "circle_301510"),
    (lambda d: d["circle_301510"].update(towns=[["wuzhen"]]), "circle_301510, towns"),
    (lambda d: d["mileage"].update(targets=["rail-km"]), "mileage, targets item 1"),
    (lambda d: d.update(coverage=["shanghai"]), "coverage"),
    (lambda d: d["networks"].update(expressway_grid="g60"), "networks.expressway_grid"),
])
def test_goals_items_of_the_wrong_shape(bundle, change, record):
    edit_yaml(bundle, "goals.yaml", change)
    load_error(bundle, "goals.yaml", record)


def test_waterway_class_that_is_a_scalar(bundle):
    edit_yaml(bundle, "modes.yaml", lambda d: d["waterway"]["classes"].update(III=9))
    load_error(bundle, "modes.yaml", "waterway.classes.III", "mapping")


@pytest.mark.parametrize("encoding, needle", [("gb18030", "not UTF-8"), ("utf-16", "UTF-16"), ("utf-16-be", "UTF-16")])
def test_yaml_in_a_legacy_encoding(bundle, encoding, needle):
    text = (bundle / "goals.yaml").read_text(encoding="utf-8")
    (bundle / "goals.yaml").write_bytes(text.encode(encoding))
    load_error(bundle, "goals.yaml", "", needle, "save the file as UTF-8")


def test_yaml_with_a_utf8_byte_order_mark_loads(bundle, net):
    text = (bundle / "goals.yaml").read_text(encoding="utf-8")
    (bundle / "goals.yaml").write_bytes(text.encode("utf-8-sig"))
    assert tx.load_network(bundle).goals == net.goals


def _segments(b: Path) -> dict:
    return json.loads((b / "rail_segments.geojson").read_text(encoding="utf-8"))


def _write_segments(b: Path, fc: dict) -> None:
    (b / "rail_segments.geojson").write_text(json.dumps(fc, ensure_ascii=False), encoding="utf-8")


def test_rail_segments_without_line(bundle):
    fc = _segments(bundle)
    for f in fc["features"]:
        f["properties"].pop("line")
    _write_segments(bundle, fc)
    load_error(bundle, "rail_segments.geojson", "properties", "'line'")


def test_rail_segments_with_points(bundle):
    fc = _segments(bundle)
    f0 = fc["features"][0]
    f0["geometry"] = {"type": "Point", "coordinates": f0["geometry"]["coordinates"][0]}
    _write_segments(bundle, fc)
    load_error(bundle, "rail_segments.geojson", "feature 1", "Point, not a LineString")


def test_rail_segments_with_swapped_lat_lon(bundle):
    fc = _segments(bundle)
    for f in fc["features"]:
        f["geometry"]["coordinates"] = [[y, x] for x, y in f["geometry"]["coordinates"]]
    _write_segments(bundle, fc)
    load_error(bundle, "rail_segments.geojson", "feature 1", "look swapped")


@pytest.mark.parametrize("content", ["", "# nothing here\n"])
def test_empty_rail_yaml(bundle, content):
    (bundle / "rail.yaml").write_text(content, encoding="utf-8")
    load_error(bundle, "rail.yaml", "file", "is empty", "lines: []")


def test_bundle_without_rail_lines_still_checks(bundle):
    # an explicit 'lines: []' (and no timetable) is a bundle without rail; the goals then simply find no rail path
    (bundle / "rail.yaml").write_text("lines: []\n", encoding="utf-8")
    (bundle / "services.yaml").write_text("edits: []\n", encoding="utf-8")
    (bundle / "transit.yaml").write_text("feeds: []\n", encoding="utf-8")
    edit_yaml(bundle, "scenarios.yaml", lambda d: [s.pop("timetable", None) for s in d["scenarios"].values()])
    (bundle / "rail_segments.geojson").unlink()
    edit_yaml(bundle, "scenarios.yaml", lambda d: [s.pop("speed_kmh", None) for s in d["scenarios"].values()])
    edit_yaml(bundle, "goals.yaml", lambda d: d.pop("networks"))
    net2 = tx.load_network(bundle)
    assert (net2.links["mode"] != "rail").all()
    g = tx.check(net2, "plan-2025", paths=False)
    rail = g[g.measure == "station-to-station"]
    assert len(rail) and rail.value.isna().all() and not rail["pass"].any()


@pytest.mark.parametrize("name, path, record", [
    ("expressways.yaml", ["corridors", 0, "design_speed_kmh"], "corridor"),
    ("trunk_roads.yaml", ["links", 0, "design_speed_kmh"], "link"),
    ("rail.yaml", ["lines", 0, "design_speed_kmh"], "line"),
    ("modes.yaml", ["road", "classes", "motorway", "design_speed_kmh"], "road.classes.motorway"),
    ("modes.yaml", ["waterway", "classes", "III", "speed_kmh"], "waterway.classes.III"),
])
def test_absurd_design_speed_is_refused(bundle, name, path, record):
    def change(d):
        for k in path[:-1]:
            d = d[k]
        d[path[-1]] = 1e9

    edit_yaml(bundle, name, change)
    load_error(bundle, name, record, "must be <= ")


def test_scenario_speed_of_a_project_without_design_speed_is_capped_by_mode(bundle):
    edit_yaml(bundle, "scenarios.yaml", lambda d: d["scenarios"]["plan-2025"].update(speed_kmh={"grand-canal": 300}))
    load_error(bundle, "scenarios.yaml", "speed_kmh.grand-canal", "above the project's design speed (60 km/h)")


def test_centre_in_bundle_yaml(bundle):
    (bundle / "bundle.yaml").write_text("centre: wuzhen\n", encoding="utf-8")
    assert tx.load_network(bundle).centre == "wuzhen"
    (bundle / "bundle.yaml").write_text("centre: atlantis\n", encoding="utf-8")
    load_error(bundle, "bundle.yaml", "centre", "not a place id")


def test_empty_goals_yaml_is_no_goals(bundle):
    (bundle / "goals.yaml").write_text("", encoding="utf-8")
    net2 = tx.load_network(bundle)
    assert len(tx.check(net2, "plan-2025")) == 0
    with pytest.raises(QueryError, match="names no centre: add 'centre: <place id>' to its bundle.yaml"):
        _ = net2.centre


def test_long_values_are_cut_in_loader_errors(bundle):
    edit_yaml(bundle, "scenarios.yaml", lambda d: d["scenarios"]["plan-2025"].update(add=["x" * 1_000_000]))
    e = load_error(bundle, "scenarios.yaml", "plan-2025", "unknown project")
    assert len(str(e)) < 2500 and "characters)" in str(e)


# --------------------------------------------------------------------------- the kernel
def test_kernel_refuses_negative_times():
    m = csr_matrix((np.array([60.0, -30.0]), (np.array([0, 1]), np.array([1, 2]))), shape=(3, 3))
    with pytest.raises(TxTransportError, match=r"edge 'b' -> 'c' has a negative travel time \(-30 s\)"):
        CompiledGraph(["a", "b", "c"], m.indptr, m.indices, m.data, np.zeros(3), np.zeros(3), np.array([0, 1]), np.array([1, 2]),
                      np.array([60.0, -30.0]), np.ones(2, bool), np.zeros(3, bool))
    ok = CompiledGraph(["a", "b"], np.array([0, 1, 1]), np.array([1]), np.array([5.0]), np.zeros(2), np.zeros(2), np.array([0]),
                       np.array([1]), np.array([5.0]), np.ones(1, bool), np.zeros(2, bool))
    assert ok.dijkstra(np.array([0]))[0, 1] == 5.0


# --------------------------------------------------------------------------- names
PLACES = pd.DataFrame(
    {"name_en": ["Tongxiang city centre (Wutong)", "Tongxiang HSR station", "Shanghai city centre", "Shanghai station",
                 "Shanghai Hongqiao station", "Haining city centre (Xiashi)", "Haining station (Xiashi)", "Twin", "Twin"],
     "name_zh": ["桐乡市区(梧桐街道)", "桐乡站", "上海", "上海站", "上海虹桥站", "海宁(硖石)", "海宁站(硖石)", "双一", "双二"],
     "kind": ["city", "station", "city", "station", "station", "city", "station", "town", "venue"]},
    index=pd.Index(["tongxiang", "tongxiang-station", "shanghai", "shanghai-station", "shanghai-hongqiao", "haining",
                    "haining-station", "twin-a", "twin-b"], name="id"))


@pytest.mark.parametrize("query, expected", [
    ("tongxiang", "tongxiang"), ("TongXiang", "tongxiang"), ("  tongxiang-STATION ", "tongxiang-station"),
    ("桐乡站", "tongxiang-station"), ("桐乡", "tongxiang-station"), ("上海虹桥", "shanghai-hongqiao"), ("上海虹桥站", "shanghai-hongqiao"),
    ("Shanghai Hongqiao", "shanghai-hongqiao"), ("shanghai hongqiao STATION", "shanghai-hongqiao"),
    ("上海", "shanghai"), ("上海站", "shanghai-station"), ("海宁", "haining"), ("海宁站", "haining-station"),
    ("ｔｏｎｇｘｉａｎｇ", "tongxiang"), ("桐乡市区（梧桐街道）", "tongxiang"),
])
def test_resolve_place(query, expected):
    assert resolve_place(query, PLACES) == expected


@pytest.mark.parametrize("query, expected", [("上海", "shanghai-station"), ("海宁", "haining-station"), ("Shanghai", "shanghai-station"),
                                             ("tongxiang", "tongxiang"), ("Twin", None)])
def test_resolve_place_preferring_stations(query, expected):
    if expected is None:  # no station among the candidates: the preference does not apply
        with pytest.raises(QueryError, match="ambiguous"):
            resolve_place(query, PLACES, prefer_kinds=("station",))
    else:
        assert resolve_place(query, PLACES, prefer_kinds=("station",)) == expected


def test_ambiguous_name_lists_candidates_with_kinds():
    with pytest.raises(QueryError) as info:
        resolve_place("twin", PLACES)
    msg = str(info.value)
    assert "ambiguous" in msg and "twin-a (town, 双一, Twin)" in msg and "twin-b (venue, 双二, Twin)" in msg


def test_unknown_name_suggests_close_matches_not_every_place(net):
    with pytest.raises(QueryError) as info:
        resolve_place("wuzen", net.places)
    msg = str(info.value)
    assert "unknown place 'wuzen'" in msg and "Did you mean wuzhen (town, 乌镇, Wuzhen)" in msg
    assert msg.count("(") < 20 and "hefei-south" not in msg  # never the list of all places
    with pytest.raises(QueryError) as info:
        resolve_place("乌镇x" * 100_000, net.places)  # long input: cut, and no fuzzy matching over it
    assert len(str(info.value)) < 300 and "(300000 characters)" in str(info.value)
    for bad, needle in (("", "empty place name"), ("   ", "empty place name"), (42, "got int 42"), (None, "got NoneType")):
        with pytest.raises(QueryError, match=needle):
            resolve_place(bad, net.places)


def test_search_places_chinese_english_case(net):
    zh = search_places("乌镇", net.places)
    assert list(zh.index[:1]) == ["wuzhen"] and set(zh.index) >= {"wuzhen", "wuzhen-station", "wuzhen-wic"}
    en = search_places("HONGQIAO", net.places)
    assert set(en.index) == {"shanghai-hongqiao", "shanghai-hongqiao-airport"}
    assert list(en.columns) == ["kind", "name_zh", "name_en", "lat", "lon"]
    assert len(search_places("", net.places)) == len(net.places)
    assert set(search_places("", net.places, kinds=["port"]).kind) == {"port"}
    assert len(search_places("no-such-thing", net.places)) == 0


def test_network_queries_take_names(net):
    by_id = net.route("tongxiang-station", "shanghai-hongqiao", scenario="plan-2025", profile="rail")
    by_name = net.route("桐乡", "上海虹桥", scenario="plan-2025", profile="rail")
    assert (by_name.origin, by_name.target) == ("tongxiang-station", "shanghai-hongqiao")
    assert by_name.time_min == by_id.time_min
    tt = net.travel_times(["乌镇", "Tongxiang"], ["杭州东"], scenario="plan-2025", profile="car")
    assert list(tt.index) == ["wuzhen", "tongxiang"] and list(tt.columns) == ["hangzhou-east"]
    # the rail profile prefers stations: 上海 is Shanghai station there, the city centre by car
    assert net.resolve_place("上海", "rail") == "shanghai-station" and net.resolve_place("上海", "car") == "shanghai"


def test_place_index_matches_resolve_place(net):
    idx = PlaceIndex(net.places)
    for q in ("桐乡", "Wuzhen", "hangzhou east", "嘉兴南"):
        assert idx.resolve(q) == resolve_place(q, net.places)


# --------------------------------------------------------------------------- isochrones
def test_band_does_not_depend_on_the_other_cutoffs(net):
    alone15 = net.isochrones("tongxiang", [15], scenario="plan-2025")
    alone30 = net.isochrones("tongxiang", [30], scenario="plan-2025")
    full = net.isochrones("tongxiang", [15, 30, 45, 60], scenario="plan-2025")
    assert alone15.geometry.to_wkb()[0] == full.geometry.to_wkb()[0]
    assert alone30.geometry.to_wkb()[0] == full.geometry.to_wkb()[1]
    assert alone15.area_km2.iloc[0] == full.area_km2.iloc[0] and alone30.area_km2.iloc[0] == full.area_km2.iloc[1]


def test_duplicate_cutoffs_give_one_band(net):
    g = net.isochrones("tongxiang", [30, 30, 15.0, 15], scenario="plan-2025")
    assert g.cutoff_min.tolist() == [15.0, 30.0]


@pytest.mark.parametrize("cutoffs, needle", [
    (list(range(1, 1001)), "the cap is 24 bands"), ([], "at least one cutoff"), ([0], "positive"), ([float("nan")], "positive"),
    ([5000], "above the cap of 1440 min"), (["a"], "must be minutes"), ("15,30", "list of minutes"), ([True], "minutes"),
])
def test_bad_cutoffs(net, cutoffs, needle):
    t0 = time.perf_counter()
    with pytest.raises(QueryError, match=needle):
        net.isochrones("tongxiang", cutoffs, scenario="plan-2025")
    assert time.perf_counter() - t0 < 5


def test_isochrones_need_an_origin(net):
    with pytest.raises(QueryError, match="empty place name"):
        net.isochrones("", [15])
    with pytest.raises(QueryError, match="at least one origin"):
        net.isochrones([], [15])


def test_isochrone_resolution_is_bounded(net):
    t0 = time.perf_counter()
    with pytest.raises(QueryError, match="coarser resolution_m"):
        net.isochrones("tongxiang", [60], scenario="plan-2025", resolution_m=1.0)
    assert time.perf_counter() - t0 < 20
    with pytest.raises(QueryError, match="resolution_m must be positive"):
        net.isochrones("tongxiang", [15], resolution_m=0)


# --------------------------------------------------------------------------- the centre and names in outputs
def _renamed_centre(b: Path) -> None:
    """Rename the place 'tongxiang' to 'tx-centre' everywhere in the bundle copy."""
    pat = re.compile(r"(?<![-\w])tongxiang(?![-\w])")
    for name in ("places.csv", "goals.yaml", "rail.yaml", "expressways.yaml", "trunk_roads.yaml", "waterways.yaml", "modes.yaml"):
        f = b / name
        f.write_text(pat.sub("tx-centre", f.read_text(encoding="utf-8")), encoding="utf-8")


def test_centre_not_called_tongxiang(bundle, tmp_path):
    _renamed_centre(bundle)
    net2 = tx.load_network(bundle)
    assert "tongxiang" not in net2.places.index and net2.centre == "tx-centre"
    c = tx.compare(net2, "baseline-2020", "plan-2025", with_attribution=False, progress=False)
    assert set(c.isochrone_area.origin) == {"tx-centre"} and "tx-centre" in set(c.od.origin)
    r = tx.report(net2, tmp_path / "rep", scenarios=["plan-2025"], comparisons=(), progress=False)
    md = (tmp_path / "rep" / "report.md").read_text(encoding="utf-8")
    assert "figures/isochrones_door-to-door_plan-2025.png" in md
    assert "Door-to-door isochrones from Tongxiang city centre, plan-2025" in md
    assert r["headline"].measure.str.contains("km inside 桐乡市 Tongxiang").any()


def test_goal_rows_name_the_area_not_its_code(net):
    g = tx.check(net, "plan-2025", paths=False)
    assert "330483" not in set(g.origin.astype(str))
    assert set(g[g.group == "mileage"].origin) == {"桐乡市 Tongxiang"}
    assert set(g[g.goal == "coverage"].origin) == {"towns of 桐乡市 Tongxiang"}
    assert not g.note.fillna("").str.contains("shared/").any()


# --------------------------------------------------------------------------- all-or-nothing files and folders
def test_atomic_write_normalises_the_path_and_creates_no_stray_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _files.atomic_write_text("a/./sub/../x.txt", "hello")
    assert (tmp_path / "a" / "x.txt").read_text() == "hello"
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["x.txt"]


def test_atomic_write_failure_names_the_user_path_and_removes_new_folders(tmp_path):
    target = tmp_path / "new" / "deeper" / "x.gpkg"

    def writer(p: Path) -> None:
        p.write_bytes(b"half")
        raise PermissionError(13, "Permission denied", str(p))

    with pytest.raises(OutputError) as info:
        _files.atomic_write(target, writer)
    assert str(info.value) == f"cannot write {target}: Permission denied"
    assert isinstance(info.value, OSError) and info.value.errno == 13
    assert list(tmp_path.iterdir()) == []


def test_check_output_file(tmp_path, monkeypatch):
    with pytest.raises(OutputError, match="is an existing folder"):
        _files.check_output_file(tmp_path, suffixes=(".gpkg",))
    with pytest.raises(OutputError, match="-o is empty"):
        _files.check_output_file("", suffixes=(".gpkg",))
    (tmp_path / "f").write_text("x")
    with pytest.raises(OutputError, match=r"is a file, not a folder"):
        _files.check_output_file(tmp_path / "f" / "x.gpkg", suffixes=(".gpkg",))
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, m: False if Path(p) == tmp_path else real_access(p, m))
    with pytest.raises(OutputError, match=f"no permission to write in {re.escape(str(tmp_path))}"):
        _files.check_output_file(tmp_path / "new" / "x.gpkg", suffixes=(".gpkg",))


def _write_folder(path: Path, files: dict[str, str], kind: str = "report") -> None:
    with _files.atomic_folder(path, kind=kind) as tmp:
        for rel, text in files.items():
            (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
            (tmp / rel).write_text(text, encoding="utf-8")


def test_atomic_folder_replaces_whole_with_manifest(tmp_path):
    out = tmp_path / "rep"
    _write_folder(out, {"report.md": "one", "tables/goals_old-scenario.csv": "a"})
    _write_folder(out, {"report.md": "two", "tables/goals_new.csv": "b"})
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == \
        ["manifest.json", "report.md", "tables/goals_new.csv"]  # the stale table is gone
    man = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert man["complete"] is True and man["kind"] == "report" and man["generator"] == "tx-transport"
    assert [f["path"] for f in man["files"]] == ["report.md", "tables/goals_new.csv"]
    assert man["files"][0]["bytes"] == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rep"]  # no temporary or lock file left


def test_atomic_folder_failure_keeps_the_previous_folder(tmp_path):
    out = tmp_path / "rep"
    _write_folder(out, {"report.md": "old"})
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    with pytest.raises(RuntimeError, match="boom"), _files.atomic_folder(out, kind="report") as tmp:
        (tmp / "report.md").write_text("new, half")
        raise RuntimeError("boom")
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rep"]


def test_atomic_folder_errors_name_the_users_path(tmp_path):
    out = tmp_path / "rep"
    with pytest.raises(OutputError) as info, _files.atomic_folder(out, kind="report") as tmp:
        raise IsADirectoryError(21, "Is a directory", str(tmp / "figures" / "x.png"))
    assert str(info.value) == f"cannot write {out}/figures/x.png: Is a directory"
    assert list(tmp_path.iterdir()) == []

    def full_disk(p: Path) -> None:
        raise OSError(28, "No space left on device", str(p))

    with pytest.raises(OutputError) as info, _files.atomic_folder(out, kind="report") as tmp:
        _files.atomic_write(tmp / "figures" / "map.png", full_disk)  # a figure saved inside the folder
    assert str(info.value) == f"cannot write {out}/figures/map.png: No space left on device"
    assert list(tmp_path.iterdir()) == []


def test_second_writer_is_refused_naming_the_folder(tmp_path):
    out = tmp_path / "rep"
    with _files.atomic_folder(out, kind="report") as tmp:
        (tmp / "report.md").write_text("first")
        with pytest.raises(OutputError, match=f"--out {re.escape(str(out))} is being written by another tx-transport process"):
            _write_folder(out, {"report.md": "second"})
    assert (out / "report.md").read_text() == "first"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rep"]


@pytest.mark.parametrize("setup, needle", [
    (lambda d: (d / "notes.txt").write_text("mine"), "does not hold a tx-transport report"),
    (lambda d: _write_folder(d / "x", {"goals.csv": "", "od.csv": ""}, kind="compare") or shutil.copytree(d / "x", d, dirs_exist_ok=True)
     or shutil.rmtree(d / "x"), "does not hold a tx-transport report"),
])
def test_folder_that_is_not_a_report_is_refused(tmp_path, setup, needle):
    out = tmp_path / "mine"
    out.mkdir()
    setup(out)
    before = sorted(p.name for p in out.iterdir())
    with pytest.raises(OutputError, match=needle):
        _files.check_output_folder(out, kind="report")
    assert sorted(p.name for p in out.iterdir()) == before


def test_report_folder_with_a_users_file_is_refused(tmp_path):
    out = tmp_path / "rep"
    _write_folder(out, {"report.md": "old"})
    (out / "my notes.txt").write_text("keep me")
    with pytest.raises(OutputError, match="holds files that are not part of the previous report \\(my notes.txt\\)"):
        _files.check_output_folder(out, kind="report")


def test_unwritable_subfolder_of_the_previous_report_fails_before_work(tmp_path, monkeypatch):
    out = tmp_path / "rep"
    _write_folder(out, {"report.md": "old", "figures/a.png": "png"})
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, m: False if Path(p) == out / "figures" else real_access(p, m))
    with pytest.raises(OutputError, match=f"{re.escape(str(out / 'figures'))} is not writable"):
        _files.check_output_folder(out, kind="report")


def test_report_stale_scenarios_disappear(net, tmp_path):
    out = tmp_path / "rep"
    tx.report(net, out, scenarios=["plan-2025", "vision-2035"], figures=False, progress=False)
    assert (out / "tables" / "goals_vision-2035.csv").exists()
    r = tx.report(net, out, scenarios=["plan-2025"], figures=False, progress=False)
    assert not (out / "tables" / "goals_vision-2035.csv").exists()
    man = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    listed = {f["path"] for f in man["files"]}
    on_disk = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()} - {"manifest.json"}
    assert listed == on_disk and set(r["files"]) <= listed and man["complete"] is True
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rep"]


def test_report_refuses_bad_outputs_before_any_work(net, tmp_path):
    with pytest.raises(OutputError, match="out is empty"):
        tx.report(net, "")
    (tmp_path / "file").write_text("x")
    with pytest.raises(OutputError, match="is a file"):
        tx.report(net, tmp_path / "file")
    with pytest.raises(QueryError, match="unknown scenario 'nope'"):
        tx.report(net, tmp_path / "r", scenarios=["nope"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_signal_during_the_swap_takes_effect_after_it(tmp_path, monkeypatch):
    out = tmp_path / "rep"
    _write_folder(out, {"report.md": "old"})
    real_exchange = _files._exchange

    def exchange_with_a_signal(a, b):
        os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C arrives in the middle of the swap
        return real_exchange(a, b)

    monkeypatch.setattr(_files, "_exchange", exchange_with_a_signal)
    with pytest.raises(KeyboardInterrupt):
        _write_folder(out, {"report.md": "new"})
    assert (out / "report.md").read_text() == "new"  # swapped whole, then interrupted
    assert json.loads((out / "manifest.json").read_text(encoding="utf-8"))["complete"] is True
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rep"]


@pytest.mark.parametrize("query, expected", [("上海松江", "songjiang-south"), ("上海松江站", "songjiang-south"),
                                             ("温州北", "yongjia-station"), ("余杭", "linping-south")])
def test_later_station_names_resolve_through_aliases(net, query, expected):
    """A station's later name (places.csv `aliases`, from networks/build/place_aliases.csv) finds it."""
    assert resolve_place(query, net.places, prefer_kinds=("station",)) == expected
    assert expected in net.places.index


def test_an_alias_never_beats_a_place_own_name():
    places = PLACES.assign(aliases=["", "", "", "", "", "", "", "上海", ""])  # twin-a also called 上海
    assert resolve_place("上海", places) == "shanghai"  # own name (level 1) beats the alias (level 2)
