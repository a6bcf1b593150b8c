"""Queries on the embedded network (tx_transport.network) against networkx and physics.

The oracle for road and water profiles is plain networkx on ``net.graph(scenario, profile=p)``:
an independent search on the graph the library publishes (the kernel only compiles it).
Timetable profiles (``rail``, ``door-to-door``) have their own oracles in test_raptor.py and
test_doortodoor.py; here they are checked for consistency (routes vs tables, reachability).
"""

from __future__ import annotations

import math

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import yaml
from shapely.geometry import LineString

import tx_transport as tx
from tx_transport.geo import haversine_km
from tx_transport.io import DEFAULT_BUNDLE
from tx_transport.scenario import with_projects

SCENARIOS = ["baseline-2020", "plan-2025"]
#: Every profile of the embedded bundle (read at collection so that each is its own test).
_PROFILE_DEFS = yaml.safe_load((DEFAULT_BUNDLE / "profiles.yaml").read_text(encoding="utf-8"))["profiles"]
PROFILES = list(_PROFILE_DEFS)
#: Profiles routed on the scenario graph (the others run on the timetable).
GRAPH_PROFILES = [p for p, d in _PROFILE_DEFS.items() if not d.get("router")]
#: Places worth asking each profile about (origins first); a town in the rail profile and a
#: town in the freight profile give unreachable pairs.
PLACES = {
    "car": ["tongxiang", "wuzhen", "shimen", "jiaxing", "hangzhou", "tongxiang-station"],
    "rail": ["tongxiang-station", "shanghai-hongqiao", "hangzhou-east", "jiaxing-south", "hangzhou-xiaoshan-airport"],
    "door-to-door": ["tongxiang", "wuzhen", "hangzhou-xiaoshan-airport", "shanghai", "hangzhou"],
    "freight-water": ["tongxiang-port", "shanghai-port", "tongxiang", "hangzhou-port", "jiaxing-inland-port"],
}
DEFAULT_PLACES = ["tongxiang", "tongxiang-station", "wuzhen", "jiaxing", "hangzhou-east"]
N_ORIGINS = 3
TOL_MIN = 1e-3


@pytest.fixture(scope="module")
def oracle_graph(net):
    """``net.graph(scenario, profile=...)``, built once per module (a few seconds each)."""
    cache: dict[tuple[str, str], nx.MultiDiGraph] = {}

    def get(scenario: str, profile: str) -> nx.MultiDiGraph:
        if (scenario, profile) not in cache:
            cache[(scenario, profile)] = net.graph(scenario, profile=profile)
        return cache[(scenario, profile)]

    return get


def oracle_minutes(net, H: nx.MultiDiGraph, profile: str, origin: str, targets: list[str]) -> list[float]:
    """Shortest times (min) by networkx, NaN where there is no path."""
    src = f"place:{origin}"
    if src not in H:
        return [0.0 if t == origin else math.nan for t in targets]
    dist = nx.single_source_dijkstra_path_length(H, src, weight="travel_time")
    return [dist[f"place:{t}"] / 60.0 if f"place:{t}" in dist else math.nan for t in targets]


def places_for(net, profile: str) -> list[str]:
    return [p for p in PLACES.get(profile, DEFAULT_PLACES) if p in net.places.index]


# --------------------------------------------------------------------------- travel times against networkx
@pytest.mark.parametrize("scenario", SCENARIOS)
@pytest.mark.parametrize("profile", GRAPH_PROFILES)
def test_travel_times_equal_networkx_on_the_published_graph(net, oracle_graph, scenario, profile):
    places = places_for(net, profile)
    origins = places[:N_ORIGINS]
    tab = net.travel_times(origins, places, scenario=scenario, profile=profile)
    assert list(tab.index) == origins and list(tab.columns) == places
    H = oracle_graph(scenario, profile)
    for o in origins:
        ref = oracle_minutes(net, H, profile, o, places)
        got = tab.loc[o].to_numpy(dtype=float)
        np.testing.assert_array_equal(np.isnan(got), np.isnan(ref), err_msg=f"{scenario} {profile} from {o}: reachability")
        np.testing.assert_allclose(got, ref, atol=TOL_MIN, equal_nan=True, err_msg=f"{scenario} {profile} from {o}")
    assert np.nanmax(tab.to_numpy()) > 0  # something is reached


@pytest.mark.parametrize("profile", PROFILES)
def test_route_time_equals_travel_time(net, profile):
    places = places_for(net, profile)
    tab = net.travel_times(places[:1], places, scenario="plan-2025", profile=profile)
    for t in places[1:]:
        if math.isnan(tab.iloc[0][t]):
            continue
        r = net.route(places[0], t, scenario="plan-2025", profile=profile)
        assert r.time_min == pytest.approx(tab.iloc[0][t], abs=TOL_MIN)


# --------------------------------------------------------------------------- routes
def _near(point, lon: float, lat: float, km: float) -> bool:
    return float(haversine_km(point[1], point[0], lat, lon)) <= km


def check_route(net, r: tx.Route, origin: str, target: str) -> None:
    assert isinstance(r.legs, pd.DataFrame) and len(r.legs)
    assert {"mode", "from_node", "to_node", "from_name", "to_name", "time_min", "length_km", "projects"} <= set(r.legs.columns)
    assert r.time_min == pytest.approx(r.legs.time_min.sum(), abs=1e-9)
    assert r.length_km == pytest.approx(r.legs.length_km.sum(), abs=1e-9)
    assert (r.legs.time_min >= 0).all() and (r.legs.length_km >= 0).all()
    assert r.nodes[0] == f"place:{origin}" and r.nodes[-1] == f"place:{target}"
    assert isinstance(r.geometry, LineString) and not r.geometry.is_empty
    o, t = net.places.loc[origin], net.places.loc[target]
    assert _near(r.geometry.coords[0], o.lon, o.lat, 0.5)
    assert _near(r.geometry.coords[-1], t.lon, t.lat, 0.5)
    # consecutive legs join
    assert (r.legs.to_node.iloc[:-1].to_numpy() == r.legs.from_node.iloc[1:].to_numpy()).all()
    d = r.to_dict()
    assert d["geometry_wkt"].startswith("LINESTRING") and len(d["legs"]) == len(r.legs)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_car_route(net, scenario):
    r = net.route("tongxiang", "jiaxing", scenario=scenario, profile="car")
    check_route(net, r, "tongxiang", "jiaxing")
    assert set(r.legs["mode"]) <= {"road", "expressway"}
    assert r.length_km > haversine_km(30.63287, 120.56081, 30.7522, 120.75)  # no shorter than the crow flies


@pytest.mark.parametrize(("origin", "target"), [("tongxiang-station", "shanghai-hongqiao"), ("tongxiang-station", "hangzhou-east"),
                                                ("jiaxing-south", "ningbo-station"), ("tongxiang-station", "nanjing-south")])
def test_rail_route_lists_trains_and_changes(net, origin, target):
    r = net.route(origin, target, scenario="baseline-2020", profile="rail")
    check_route(net, r, origin, target)
    modes = list(r.legs["mode"])
    assert set(modes) <= {"rail", "wait", "transfer"} and modes[0] == "rail" and modes[-1] == "rail"
    rail = r.legs[r.legs["mode"] == "rail"]
    assert (rail.length_km > 0).all() and (rail.time_min > 0).all() and rail.train.str.len().gt(0).all()
    # the clock times follow each other: every leg leaves when the one before arrives
    assert (r.legs.dep.iloc[1:].to_numpy() == r.legs.arr.iloc[:-1].to_numpy()).all()
    assert r.depart == r.legs.dep.iloc[0] and r.arrive == r.legs.arr.iloc[-1]
    tab = net.travel_times(origin, target, scenario="baseline-2020", profile="rail").iloc[0, 0]
    assert r.time_min == pytest.approx(tab, abs=TOL_MIN)


def test_door_to_door_route_uses_rail_with_road_access(net):
    r = net.route("shanghai-hongqiao", "tongxiang-station", scenario="baseline-2020", profile="door-to-door")
    check_route(net, r, "shanghai-hongqiao", "tongxiang-station")
    assert set(r.legs["mode"]) <= {"road", "expressway", "station", "wait", "rail", "transfer"}
    assert "rail" in set(r.legs["mode"])  # rail beats the peak-hour car from Hongqiao to Tongxiang
    car = net.travel_times("shanghai-hongqiao", "tongxiang-station", scenario="baseline-2020", profile="car", period="peak").iloc[0, 0]
    assert r.time_min < car - 5
    r2 = net.route("tongxiang", "jiaxing", scenario="baseline-2020", profile="door-to-door")
    assert set(r2.legs["mode"]) <= {"road", "expressway"} and "car alone" in r2.note


@pytest.mark.parametrize(("origin", "target"), [("wuzhen", "shanghai-hongqiao"), ("tongxiang-station", "wuzhen")])
def test_a_town_is_not_a_station(net, origin, target):
    with pytest.raises(tx.QueryError, match="is a town, not a station") as info:
        net.route(origin, target, scenario="baseline-2020", profile="rail")
    assert "door-to-door" in str(info.value)


def test_unknown_scenario_lists_the_valid_ones(net):
    for call in (lambda: net.route("tongxiang", "jiaxing", scenario="plan-2099"),
                 lambda: net.travel_times("tongxiang", "jiaxing", scenario="plan-2099"),
                 lambda: net.compiled("plan-2099", "car")):
        with pytest.raises(tx.QueryError, match="unknown scenario 'plan-2099'") as info:
            call()
        assert all(s in str(info.value) for s in net.scenarios)


def test_unknown_profile_lists_the_valid_ones(net):
    for call in (lambda: net.route("tongxiang", "jiaxing", profile="bicycle"),
                 lambda: net.travel_times("tongxiang", "jiaxing", profile="bicycle"),
                 lambda: net.compiled("baseline-2020", "bicycle")):
        with pytest.raises(tx.QueryError, match="unknown profile 'bicycle'") as info:
            call()
        assert all(p in str(info.value) for p in net.profiles)


def test_unreachable_pairs_are_nan_not_errors(net):
    tab = net.travel_times(["tongxiang-station", "wuzhen"], ["shanghai-hongqiao", "wuzhen", "tongxiang"],
                           scenario="baseline-2020", profile="rail")
    assert np.isfinite(tab.loc["tongxiang-station", "shanghai-hongqiao"])
    assert tab.loc["tongxiang-station", ["wuzhen", "tongxiang"]].isna().all()
    assert tab.loc["wuzhen", ["shanghai-hongqiao", "tongxiang"]].isna().all()
    assert tab.loc["wuzhen", "wuzhen"] == 0
    water = net.travel_times("tongxiang-port", ["shanghai-port", "wuzhen"], scenario="baseline-2020", profile="freight-water")
    assert np.isfinite(water.iloc[0, 0]) and np.isnan(water.iloc[0, 1])


def test_cutoff_turns_far_pairs_into_nan(net):
    full = net.travel_times("tongxiang", ["wuzhen", "jiaxing", "hangzhou", "shanghai"], scenario="baseline-2020")
    cut = net.travel_times("tongxiang", ["wuzhen", "jiaxing", "hangzhou", "shanghai"], scenario="baseline-2020", cutoff_min=45)
    near = full.iloc[0] <= 45
    assert near.any() and (~near).any()
    np.testing.assert_allclose(cut.iloc[0][near], full.iloc[0][near])
    assert cut.iloc[0][~near].isna().all()


# --------------------------------------------------------------------------- points
def test_lon_lat_points_are_snapped_to_the_road_layer(net):
    p = net.places.loc["tongxiang"]
    pt = (float(p.lon) + 0.002, float(p.lat) + 0.001)  # ~200 m from the place
    tab = net.travel_times([pt, "tongxiang"], ["jiaxing", "wuzhen"], scenario="baseline-2020", profile="car")
    assert tab.index[0] == f"{pt[0]:.5f},{pt[1]:.5f}"
    assert np.isfinite(tab.to_numpy()).all()
    np.testing.assert_allclose(tab.iloc[0], tab.iloc[1], atol=10)  # a few minutes of access at most
    r = net.route(pt, "jiaxing", scenario="baseline-2020", profile="car")
    assert r.origin == tab.index[0]
    assert r.time_min == pytest.approx(tab.iloc[0]["jiaxing"], abs=TOL_MIN)
    assert _near(r.geometry.coords[0], *pt, 3.0)


def test_lon_lat_points_snap_to_a_station_in_the_rail_profile(net):
    s = net.places.loc["tongxiang-station"]
    tab = net.travel_times([(float(s.lon) + 0.003, float(s.lat))], ["shanghai-hongqiao"], scenario="baseline-2020", profile="rail")
    assert list(tab.index) == ["tongxiang-station"]
    assert np.isfinite(tab.iloc[0, 0])


def test_point_outside_the_network_area_is_a_query_error(net):
    with pytest.raises(tx.QueryError, match="outside the network area"):
        net.travel_times([(2.35, 48.85)], ["jiaxing"], scenario="baseline-2020")


# --------------------------------------------------------------------------- reachable
def _check_reachable(net, res: gpd.GeoDataFrame, origins: list[str], cutoff: float, scenario: str, profile: str) -> None:
    assert isinstance(res, gpd.GeoDataFrame) and res.crs.to_epsg() == 4326
    assert {"time_min", "origin"} <= set(res.columns)
    assert (res.time_min <= cutoff).all()
    assert res.time_min.is_monotonic_increasing
    tab = net.travel_times(origins, None, scenario=scenario, profile=profile)
    best = tab.min(axis=0)
    expected = set(best.index[best <= cutoff])
    assert set(res.index) == expected
    np.testing.assert_allclose(res.time_min, best[res.index], atol=TOL_MIN)
    for pid, row in res.iterrows():
        assert tab.loc[row.origin, pid] == pytest.approx(row.time_min, abs=TOL_MIN)


def test_reachable_within_a_cutoff_that_reaches_everything(net):
    # every place is reached by car: no all-NaN column (see the xfail below)
    res = net.reachable("tongxiang", 1e5, scenario="baseline-2020", profile="car")
    _check_reachable(net, res, ["tongxiang"], 1e5, "baseline-2020", "car")
    assert res.index[0] == "tongxiang" and res.time_min.iloc[0] == 0


@pytest.mark.parametrize(("origins", "cutoff", "profile"), [(["tongxiang"], 30, "car"), (["tongxiang", "wuzhen"], 20, "car"),
                                                            (["tongxiang-station"], 40, "rail")])
def test_reachable_returns_places_within_the_cutoff_sorted(net, origins, cutoff, profile):
    res = net.reachable(origins, cutoff, scenario="baseline-2020", profile=profile)
    _check_reachable(net, res, origins, cutoff, "baseline-2020", profile)


# --------------------------------------------------------------------------- known effects of projects
def test_airport_railway_opens_the_airport_by_rail(net):
    def airport(scenario):
        return net.travel_times("tongxiang-station", "hangzhou-xiaoshan-airport", scenario=scenario, profile="rail").iloc[0, 0]

    assert "hangzhou-airport-rail" not in net.selection("baseline-2020").projects
    assert "hangzhou-airport-rail" in net.selection("plan-2025").projects
    assert np.isnan(airport("baseline-2020"))
    with pytest.raises(tx.UnreachableError):
        net.route("tongxiang-station", "hangzhou-xiaoshan-airport", scenario="baseline-2020", profile="rail")
    assert np.isfinite(airport("plan-2025"))
    r = net.route("tongxiang-station", "hangzhou-xiaoshan-airport", scenario="plan-2025", profile="rail")
    assert "hangzhou-airport-rail" in ",".join(r.legs.loc[r.legs["mode"] == "rail", "projects"])
    # the only rail project between them: without it plan-2025 cannot do it either
    sel = with_projects(net.selection("plan-2025"), remove={"hangzhou-airport-rail"}, name="plan-2025-without-airport-rail")
    ct = net.compiled_timetable(selection=sel)
    assert not ct.has_stop("hangzhou-xiaoshan-airport") or np.isinf(
        ct.fastest_journeys(np.array([ct.stop_index("tongxiang-station")]))[0, ct.stop_index("hangzhou-xiaoshan-airport")])


def interchange_nodes(net) -> list:
    """Nodes of every expressway interchange (traced: the road node with its ref; schematic: x:<id>)."""
    b = net._b
    refs = {str(r): nid for nid, r in b.road_nodes["ref"].items() if r}
    out = []
    for c in b.corridors:
        for n in c["nodes"]:
            if n.get("kind", "interchange") == "interchange":
                out.append(refs.get(n["id"], f"x:{n['id']}"))
    return out


def nearest_interchange_min(cg, nodes: list, town: str) -> float:
    idx = {n: i for i, n in enumerate(cg.nodes)}
    d = cg.dijkstra(np.array([idx[f"place:{town}"]]))[0]
    return float(min(d[idx[n]] for n in nodes if n in idx)) / 60.0


def test_sutai_s9_brings_towns_closer_to_an_interchange(net):
    towns = ["wuzhen", "shimen"]
    nodes = interchange_nodes(net)
    assert "x:s9-wuzhen-south" in nodes
    base = net.selection("baseline-2020")
    assert "s9-sutai-ii" in net.selection("actual-2026").projects and "s9-sutai-ii" not in base.projects
    before = {t: nearest_interchange_min(net.compiled("baseline-2020", "car"), nodes, t) for t in towns}
    after = {t: nearest_interchange_min(net.compiled("actual-2026", "car"), nodes, t) for t in towns}
    # S9 phase II alone on the 2020 network (actual-2026 also opens the Tongde link, which serves Shimen too)
    only = net.compiled(profile="car", selection=with_projects(base, add={"s9-sutai-ii"}, name="baseline-2020-with-s9"))
    with_s9 = {t: nearest_interchange_min(only, nodes, t) for t in towns}
    for t in towns:
        assert np.isfinite(before[t]) and np.isfinite(after[t])
        assert after[t] <= before[t] + TOL_MIN  # adding links never makes a trip longer
        assert with_s9[t] <= before[t] + TOL_MIN
    assert max(before[t] - after[t] for t in towns) >= 1.0, (before, after)
    assert max(before[t] - with_s9[t] for t in towns) >= 1.0, (before, with_s9)  # S9 phase II is enough


# --------------------------------------------------------------------------- plausibility from physics (not fitted)
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_rail_tongxiang_to_shanghai_hongqiao(net, scenario):
    # 111 km of HSR: at 300 km/h cruise 22.2 min, plus acceleration (0.3 m/s²) and braking (0.5 m/s²)
    # losses of 3.7 min: 26 min non-stop at best; stops and the running-time supplement add a few
    t = net.travel_times("tongxiang-station", "shanghai-hongqiao", scenario=scenario, profile="rail").iloc[0, 0]
    assert 25 <= t <= 45


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_rail_tongxiang_to_hangzhou_east(net, scenario):
    # 48 km: 9.6 min at 300 km/h plus 3.7 min of acceleration and braking
    t = net.travel_times("tongxiang-station", "hangzhou-east", scenario=scenario, profile="rail").iloc[0, 0]
    assert 10 <= t <= 25


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_car_tongxiang_to_jiaxing(net, scenario):
    # 24 km as the crow flies, ~30 km by road: 20 min at 90 km/h, 36 min at 50 km/h
    t = net.travel_times("tongxiang", "jiaxing", scenario=scenario, profile="car").iloc[0, 0]
    assert 15 <= t <= 45


def test_removing_an_existing_line_removes_its_trains(net):
    """A scenario without the Shanghai–Hangzhou HSR has no train between Tongxiang and Hongqiao (the
    feed's trains that run on the line go with it), while other lines keep theirs."""
    sel = with_projects(net.selection("baseline-2020"), remove={"shanghai-hangzhou-hsr"}, name="baseline-2020-without-hsr")
    ct = net.compiled_timetable(selection=sel)
    full = net.compiled_timetable("baseline-2020")
    F = ct.fastest_journeys(np.array([ct.stop_index("tongxiang-station")]))[0]
    assert np.isinf(F[ct.stop_index("shanghai-hongqiao")])
    assert full.n_trips > ct.n_trips
    H = ct.fastest_journeys(np.array([ct.stop_index("hangzhou-east")]))[0]
    assert np.isfinite(H[ct.stop_index("ningbo-station")])


def test_graph_applies_speed_overrides_like_the_kernel(net):
    from tx_transport.scenario import ScenarioSelection

    base = net.selection("plan-2025")
    slow = ScenarioSelection("slow-g60", base.projects, {"g60": 60.0}, base.status, base.corridor_design)
    cg = net.compiled(profile="car", selection=slow)
    s, t = cg.index_of(["place:tongxiang", "place:hangzhou"])
    fast = net.travel_times("tongxiang", "hangzhou", scenario="plan-2025", profile="car").iloc[0, 0]
    slow_min = cg.dijkstra(np.array([s]))[0, t] / 60
    assert slow_min > fast
