"""The road model: traced YRD expressway grid, speeds by area and period, town access, rail-km.

Expected ranges come from data files (networks/build/research_drives.csv, the expressway and mode
files), never from the model's own output.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd
import pytest
import yaml

import tx_transport as tx
from tx_transport.geo import haversine_km
from tx_transport.graph import connector_speeds

ROOT = Path(__file__).resolve().parents[1]
NETWORKS = ROOT / "networks"


def _load_script(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)  # type: ignore[union-attr]
    return mod


@pytest.fixture(scope="module")
def corridors():
    return yaml.safe_load((NETWORKS / "expressways.yaml").read_text(encoding="utf-8"))["corridors"]


@pytest.fixture(scope="module")
def road_edges():
    return pd.read_csv(NETWORKS / "roads" / "edges.csv")


# ----------------------------------------------------------------------------- traced grid
def test_every_traced_corridor_is_one_connected_line(corridors, road_edges):
    traced = [c for c in corridors if c.get("geometry") == "osm-traced"]
    assert len(traced) >= 12  # the YRD grid, not only Tongxiang's own corridors
    for c in traced:
        e = road_edges[(road_edges.project == c["id"]) & (road_edges.highway == "motorway")]
        assert len(e), c["id"]
        g = nx.Graph()
        g.add_edges_from(zip(e.u, e.v))
        assert nx.is_connected(g), f"{c['id']} trace falls apart"


def test_corridors_sharing_a_node_are_joined_without_toll(net, corridors):
    G = net.graph("vision-2035", profile="car")
    refs: dict[str, list] = {}
    for n, d in G.nodes(data=True):
        if d.get("ref"):
            refs.setdefault(d["ref"], []).append(n)
    shared = [r for r, ns in refs.items() if len(ns) > 1]
    assert {"zjs-g60-jct", "zhapu-jct", "g25-huzhou", "g60-hangzhou-pengbu"} <= set(shared)
    for r in shared:
        a, b = refs[r][:2]
        assert nx.has_path(G, a, b)
        assert nx.shortest_path_length(G, a, b, weight="travel_time") < 10.0  # seconds: a junction link, no toll


def test_motorway_entered_only_through_ramps(net):
    G = net.graph("plan-2025", profile="car")
    mw = {n for u, v, d in G.edges(data=True) if d.get("highway") == "motorway" for n in (u, v)}
    for u, v, d in G.edges(data=True):
        if (u in mw) != (v in mw):
            assert d["kind"] == "ramp", (u, v, d["kind"], d.get("project"))
        if d["kind"] == "connector":
            assert u not in mw and v not in mw


def test_scenarios_have_their_own_motorway_network(net):
    sel20, sel25 = net.selection("baseline-2020"), net.selection("plan-2025")
    assert "s9-sutai-ii" not in sel20.projects and "s9-sutai-ii" in sel25.projects
    assert {"g15-shanghai-ningbo", "hangzhou-ring", "zhajiasu-sujiahang"} <= set(sel20.projects)


def test_tongxiang_to_suzhou_drives_on_expressways(net):
    r = net.route("tongxiang", "suzhou", scenario="baseline-2020")
    km = r.legs.groupby("mode").length_km.sum()
    assert km.get("expressway", 0.0) > 0.6 * r.length_km, r.legs


def test_build_log_reports_detours_of_every_traced_segment(corridors):
    log = (NETWORKS / "build" / "build_log.md").read_text(encoding="utf-8")
    for c in corridors:
        if c.get("geometry") != "osm-traced":
            continue
        for a, b in zip(c["nodes"][:-1], c["nodes"][1:]):
            assert f"- expressway {c['id']}: {a['id']} -> {b['id']}: traced" in log


# ----------------------------------------------------------------------------- speeds
def test_urban_core_speeds_applied_and_slower_at_peak(net):
    G = net.graph("baseline-2020", profile="car")
    areas = net.modes["road"]["areas"]
    seen = set()
    for _, _, d in G.edges(data=True):
        if d["kind"] != "road" or d.get("highway") in ("motorway", "motorway_link") or d.get("project") != "osm-roads":
            continue
        a = d.get("area")
        if a:
            seen.add(a)
            assert d["speed_kph"] == pytest.approx(areas[a]["free_flow_kmh"])
            assert d["speed_peak_kph"] == pytest.approx(areas[a]["peak_kmh"])
            assert d["travel_time_peak"] > d["travel_time"]
        else:
            c = net.modes["road"]["classes"][d["highway"]]
            assert d["speed_kph"] == pytest.approx(c["design_speed_kmh"] * c["operating_factor"])
    assert {"shanghai-core", "hangzhou-core", "nanjing-core", "tongxiang-urban"} <= seen


def test_city_centre_trip_slower_at_peak_and_free_flow_default(net):
    ff = net.travel_times("tongxiang", ["shanghai", "hangzhou"], scenario="plan-2025")
    ff2 = net.travel_times("tongxiang", ["shanghai", "hangzhou"], scenario="plan-2025", period="free-flow")
    pk = net.travel_times("tongxiang", ["shanghai", "hangzhou"], scenario="plan-2025", period="peak")
    assert np.allclose(ff.values, ff2.values)
    assert (pk.values > ff.values + 5).all()
    r = net.route("tongxiang", "shanghai", scenario="plan-2025", period="peak")
    assert r.time_min == pytest.approx(pk.loc["tongxiang", "shanghai"], abs=1e-3)


def test_unknown_period_is_a_query_error(net):
    with pytest.raises(tx.QueryError, match="period"):
        net.travel_times("tongxiang", "wuzhen", period="rush-hour")


@pytest.mark.parametrize("period", ["free-flow", "peak"])
def test_car_kernel_matches_networkx_with_area_speeds(net, period):
    G = net.graph("plan-2025", profile="car")  # travel_time at free flow; travel_time_peak carried along
    weight = "travel_time" if period == "free-flow" else "travel_time_peak"
    oracle = nx.single_source_dijkstra_path_length(G, "place:tongxiang", weight=weight)
    dests = ["shanghai", "hangzhou", "suzhou", "ningbo", "shimen", "wuzhen", "nanjing"]
    tab = net.travel_times("tongxiang", dests, scenario="plan-2025", period=period)
    for d in dests:
        assert tab.loc["tongxiang", d] == pytest.approx(oracle[f"place:{d}"] / 60.0, abs=1e-3)


def test_every_road_number_has_a_source(net):
    road = net.modes["road"]
    for aid, a in road["areas"].items():
        assert "[S" in a["source"] or "[I]" in a["source"], aid
        assert a["peak_kmh"] < a["free_flow_kmh"]


# ----------------------------------------------------------------------------- observed drives
@pytest.fixture(scope="module")
def calibration():
    return _load_script(ROOT / "docs" / "calibration.py", "calibration_for_tests")


def test_every_observed_drive_is_mapped(calibration):
    drives = pd.read_csv(calibration.DRIVES)
    assert len(drives) == len(calibration.DRIVE_MAP)


def test_city_drives_fall_in_the_observed_ranges(net, calibration):
    """Free-flow or peak time within the observed range widened by 25 % (sources are of low to
    fair reliability) for the drives between places of the bundle."""
    drives = pd.read_csv(calibration.DRIVES)
    checked = 0
    for (o, t, sc, _), r in zip(calibration.DRIVE_MAP, drives.itertuples()):
        lo, hi = calibration._range(r.minutes)
        if np.isnan(lo) or not isinstance(o, str) or o.startswith("ic:") or "target" in r.to:
            continue
        ff = net.route(o, t, scenario=sc).time_min
        pk = net.route(o, t, scenario=sc, period="peak").time_min
        assert lo * 0.75 <= ff <= hi * 1.25 or lo * 0.75 <= pk <= hi * 1.25, (o, t, lo, hi, ff, pk)
        checked += 1
    assert checked >= 5


def test_expressway_chainage_gives_the_published_distance(net, corridors):
    """S12 Xitang–Puyuan is 41 km [S]: the model's expressway distance between the interchanges."""
    s12 = next(c for c in corridors if c["id"] == "s12")
    kms = {n["id"]: n["km"] for n in s12["nodes"] if n.get("km") is not None}
    G = net.graph("baseline-2020", profile="car")
    ref = {d["ref"]: n for n, d in G.nodes(data=True) if d.get("ref") in kms and G.nodes[n].get("layer") == "road"}
    mw = G.edge_subgraph([(u, v, k) for u, v, k, d in G.edges(keys=True, data=True) if d.get("project") == "s12"])
    for a, b in zip(list(kms)[:-1], list(kms)[1:]):
        d = nx.shortest_path_length(mw, ref[a], ref[b], weight="length") / 1000.0
        assert d == pytest.approx(kms[b] - kms[a], rel=0.01)


# ----------------------------------------------------------------------------- town access
def test_towns_reached_from_the_centre_in_plausible_times(net):
    """Each town between straight line at 60 km/h (fastest main road) and straight line × the
    connector detour at the local-road speed (no main road at all)."""
    towns = net.goals["circle_301510"]["towns"]
    v_local = connector_speeds(net.modes)[0]
    det = float(net.modes["road"]["connector_detour"])
    t = net.travel_times("tongxiang", towns, scenario="plan-2025").loc["tongxiang"]
    p = net.places
    for town in towns:
        crow = float(haversine_km(p.lat["tongxiang"], p.lon["tongxiang"], p.lat[town], p.lon[town]))
        assert crow / 60 * 60 <= t[town] <= crow * det / v_local * 60 + 3, (town, crow, t[town])
    assert t["shimen"] < 30  # ~11 km away: not the 38 min of a layer without local roads


def test_connectors_reach_out_in_several_directions(net):
    G = net.graph("plan-2025", profile="car")
    out = [v for _, v, d in G.out_edges("place:shimen", data=True) if d["kind"] == "connector"]
    assert len(out) >= 3
    lon0, lat0 = G.nodes["place:shimen"]["x"], G.nodes["place:shimen"]["y"]
    ang = {int(np.degrees(np.arctan2(G.nodes[n]["y"] - lat0, G.nodes[n]["x"] - lon0)) // 90) for n in out}
    assert len(ang) >= 2


# ----------------------------------------------------------------------------- rail-km
def test_rail_km_inside_tongxiang_matches_the_osm_rail(net):
    from tx_transport.goals import mileage_table, osm_rail_km

    km, what = osm_rail_km(net, "330483")
    mt = mileage_table(net, net.selection("baseline-2020"), "330483")
    lib = float(mt[mt.project == "shanghai-hangzhou-hsr"].km.sum())
    assert 15 < km < 23, what
    assert abs(lib - km) < 0.6, (lib, km, what)  # no spur inflates the library's figure
    g = tx.check(net, "baseline-2020", paths=False)
    note = g[g.goal == "rail-km"].note.iloc[0]
    assert f"{km:.1f} km" in note


def test_rail_segments_have_no_back_and_forth():
    feats = json.loads((NETWORKS / "rail_segments.geojson").read_text())["features"]
    for f in feats:
        c = [tuple(x) for x in f["geometry"]["coordinates"]]
        assert all(c[i] != c[i + 2] for i in range(len(c) - 2)), (f["properties"]["line"], f["properties"]["from"])


def test_drop_spurs_removes_a_dead_end_walk():
    build = _load_script(NETWORKS / "build" / "build_bundle.py", "build_bundle_for_tests")
    assert build._drop_spurs([1, 2, 3, 9, 8, 9, 3, 4, 5]) == [1, 2, 3, 4, 5]
    assert build._drop_spurs([1, 2, 3]) == [1, 2, 3]
    assert build._drop_spurs([1, 2, 7, 2, 3, 3, 4]) == [1, 2, 3, 4]
