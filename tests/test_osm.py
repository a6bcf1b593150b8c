"""Bring-your-own road data: tx_transport.osm and Network.with_road_graph (all offline)."""

from __future__ import annotations

import math
import socket
from pathlib import Path

import networkx as nx
import pytest
import yaml

import tx_transport as tx
from tx_transport import osm
from tx_transport.io import DEFAULT_BUNDLE

ox = pytest.importorskip("osmnx")

SAMPLE = DEFAULT_BUNDLE / "samples" / "wuzhen_roads.osm"


def _xml(ways: list[tuple[list[int], dict[str, str]]], nodes: dict[int, tuple[float, float]] | None = None) -> str:
    """A small OSM XML document (nodes on a line near Tongxiang unless given)."""
    nodes = nodes or {i: (30.60 + 0.002 * i, 120.50 + 0.002 * i) for i in range(1, 12)}
    out = ["<?xml version='1.0' encoding='UTF-8'?>", '<osm version="0.6" generator="test">']
    out += [f'  <node id="{i}" lat="{la}" lon="{lo}"/>' for i, (la, lo) in nodes.items()]
    for k, (refs, tags) in enumerate(ways, start=1):
        body = "".join(f'<nd ref="{r}"/>' for r in refs) + "".join(f'<tag k="{a}" v="{b}"/>' for a, b in tags.items())
        out.append(f'  <way id="{k}">{body}</way>')
    out.append("</osm>")
    return "\n".join(out)


@pytest.fixture(scope="module")
def modes() -> dict:
    return yaml.safe_load((DEFAULT_BUNDLE / "modes.yaml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def sample_graph() -> nx.MultiDiGraph:
    return osm.road_graph_from_xml(SAMPLE)


@pytest.fixture(scope="module")
def net2(net, sample_graph):
    return net.with_road_graph(sample_graph)


# --------------------------------------------------------------------------- speed rule
def test_speed_table_matches_modes_yaml(modes):
    table = osm.chinese_speed_table()
    classes = modes["road"]["classes"]
    assert set(table) == set(classes)
    for hw, c in classes.items():
        assert table[hw] == pytest.approx(c["design_speed_kmh"] * c["operating_factor"])
    assert set(osm.DRIVABLE_CLASSES) <= set(table)
    # another bundle's modes are honoured
    custom = {"road": {"default_class": "primary", "classes": {"primary": {"design_speed_kmh": 50, "operating_factor": 1.0}}}}
    assert osm.chinese_speed_table(custom) == {"primary": 50.0}


@pytest.mark.parametrize(("value", "expected"), [
    ("80", 80.0), (60, 60.0), ("80;60", 60.0), ("80 | 60", 60.0), (["100", "80"], 80.0), ("['70', '50']", 50.0),
    ("60 mph", 60 * 1.609344), ("50 km/h", 50.0), ("50kmh", 50.0), ("40 kph", 40.0), ("10 knots", 18.52),
    ("none", None), ("signals", None), ("walk", None), ("CN:urban", None), ("", None), (None, None), ("0", None),
    (float("nan"), None), ("abc;70", 70.0),
])
def test_parse_maxspeed(value, expected):
    got = osm.parse_maxspeed(value)
    if expected is None:
        assert got is None
    else:
        assert got == pytest.approx(expected)


def test_edge_speed_rule(modes):
    cls = modes["road"]["classes"]
    f = cls["primary"]["operating_factor"]
    assert osm.edge_speed_kph("primary") == pytest.approx(cls["primary"]["design_speed_kmh"] * f)
    # a posted limit replaces the design speed (operating factor kept), not capped by the class ...
    assert osm.edge_speed_kph("primary", "60") == pytest.approx(60 * f)
    assert osm.edge_speed_kph("primary", "100") == pytest.approx(100 * f)
    # ... but by the legal maximum; lists take the first class; unknown classes the default
    assert osm.edge_speed_kph("motorway", "150") == pytest.approx(120 * cls["motorway"]["operating_factor"])
    assert osm.edge_speed_kph(["residential", "primary"]) == pytest.approx(osm.chinese_speed_table()["residential"])
    assert osm.edge_speed_kph("busway") == pytest.approx(osm.chinese_speed_table()[modes["road"]["default_class"]])


# --------------------------------------------------------------------------- reading OSM XML
def test_sample_file_is_small_attributed_and_positive_ids():
    text = SAMPLE.read_text(encoding="utf-8")
    assert SAMPLE.stat().st_size < 300_000
    assert "ODbL" in text.split("<osm ", 1)[0] and "OpenStreetMap contributors" in text
    assert "ODbL" in (SAMPLE.parent / "README.md").read_text(encoding="utf-8")
    raw = ox.graph_from_xml(SAMPLE, simplify=False, retain_all=True)
    assert all(isinstance(n, int) and n > 0 for n in raw.nodes)
    assert all(o > 0 for _, _, o in raw.edges(data="osmid"))
    ys = [d["y"] for _, d in raw.nodes(data=True)]
    xs = [d["x"] for _, d in raw.nodes(data=True)]
    assert 30.4 < min(ys) and max(ys) < 30.9 and 120.3 < min(xs) and max(xs) < 120.8


def test_sample_loads_offline_without_network(monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    monkeypatch.setattr(socket.socket, "connect", no_network)
    G = osm.road_graph_from_xml(SAMPLE)
    assert G.number_of_edges() > 100
    assert G.graph["crs"] == "EPSG:4326"
    assert nx.is_strongly_connected(G)
    assert {"motorway", "motorway_link", "primary"} <= {d["highway"] for _, _, d in G.edges(data=True)}


def test_footway_is_filtered(sample_graph):
    raw = ox.graph_from_xml(SAMPLE, simplify=False, retain_all=True)
    assert "footway" in {d.get("highway") for _, _, d in raw.edges(data=True)}
    assert {d["highway"] for _, _, d in sample_graph.edges(data=True)} <= set(osm.DRIVABLE_CLASSES)
    assert all(isinstance(d["highway"], str) for _, _, d in sample_graph.edges(data=True))


def test_non_drivable_ways_filtered(tmp_path):
    f = tmp_path / "mixed.osm"
    f.write_text(_xml([
        ([1, 2, 3], {"highway": "residential"}),
        ([3, 4], {"highway": "tertiary", "maxspeed": "30"}),
        ([4, 5], {"highway": "cycleway"}),
        ([4, 6], {"highway": "path"}),
        ([4, 7], {"highway": "steps"}),
        ([3, 8], {"highway": "residential", "access": "private"}),
        ([3, 9], {"highway": "service", "service": "parking_aisle"}),
        ([2, 10], {"highway": "service"}),
        ([2, 11], {"highway": "unclassified", "motor_vehicle": "no"}),
        ([5, 6], {"highway": "unclassified", "access": "no", "motor_vehicle": "yes"}),  # the specific tag wins
    ]), encoding="utf-8")
    G = osm.road_graph_from_xml(f, retain_all=True)
    assert {d["highway"] for _, _, d in G.edges(data=True)} == {"residential", "tertiary", "service", "unclassified"}
    assert set(G.nodes) == {1, 2, 3, 4, 10, 5, 6}  # simplification keeps 2 (class change to the service spur)


def test_travel_time_is_length_over_speed(sample_graph):
    for _, _, d in sample_graph.edges(data=True):
        assert d["length"] > 0 or d["highway"] == "motorway_link"
        assert d["speed_kph"] == pytest.approx(osm.edge_speed_kph(d["highway"], d.get("maxspeed")))
        assert d["travel_time"] == pytest.approx(d["length"] / (d["speed_kph"] / 3.6))


def test_maxspeed_tags_of_sample_are_used(sample_graph, modes):
    f = modes["road"]["classes"]["primary"]["operating_factor"]
    tagged = {d.get("maxspeed"): d["speed_kph"] for _, _, d in sample_graph.edges(data=True) if d["highway"] == "primary"}
    assert tagged["80;60"] == pytest.approx(60 * f)
    assert tagged["60"] == pytest.approx(60 * f)
    assert tagged[None] == pytest.approx(modes["road"]["classes"]["primary"]["design_speed_kmh"] * f)


def test_missing_file_names_the_file(tmp_path):
    missing = tmp_path / "nowhere.osm"
    with pytest.raises(tx.NetworkDataError, match="nowhere.osm.*does not exist.*Fix"):
        osm.road_graph_from_xml(missing)


def test_malformed_xml_names_the_file(tmp_path):
    bad = tmp_path / "broken.osm"
    bad.write_text(_xml([([1, 2], {"highway": "primary"})])[:-40], encoding="utf-8")
    with pytest.raises(tx.NetworkDataError, match=r"broken\.osm: line \d+.*not.*OSM XML|broken\.osm.*cannot be read") as ei:
        osm.road_graph_from_xml(bad)
    assert ei.value.file == str(bad) and "pbf" in ei.value.fix


def test_no_drivable_way_names_the_file(tmp_path):
    f = tmp_path / "paths.osm"
    f.write_text(_xml([([1, 2, 3], {"highway": "footway"}), ([3, 4], {"highway": "cycleway"})]), encoding="utf-8")
    with pytest.raises(tx.NetworkDataError, match=r"paths\.osm: ways: has no drivable way.*cycleway, footway"):
        osm.road_graph_from_xml(f)
    empty = tmp_path / "empty.osm"
    empty.write_text('<?xml version="1.0"?><osm version="0.6"></osm>', encoding="utf-8")
    with pytest.raises(tx.NetworkDataError, match="empty.osm"):
        osm.road_graph_from_xml(empty)


# --------------------------------------------------------------------------- as the road layer
def test_with_road_graph_route_matches_networkx(net2):
    r = net2.route("wuzhen", "tongxiang", scenario="baseline-2020", profile="car")
    H = net2.graph("baseline-2020", profile="car")
    ref = nx.shortest_path_length(H, "place:wuzhen", "place:tongxiang", weight="travel_time")
    assert math.isclose(r.time_min, ref / 60, abs_tol=1e-3)
    assert 10 < r.time_min < 60
    assert r.geometry.length > 0
    # the route runs on the sample's own nodes (OSM ids, int)
    assert any(isinstance(n, int) and n >= 10_000_000 for n in r.nodes)


def test_with_road_graph_times_roads_by_the_same_rule(net2, sample_graph):
    F = net2._full_graph
    n = 0
    areas = net2.modes["road"]["areas"]
    for u, v, d in F.edges(data=True):
        if d["project"] == "osm-roads" and d["kind"] == "road":
            k = int(d["link_id"].rsplit("-", 1)[1])
            ref = sample_graph.edges[u, v, k]
            if d.get("area"):  # inside an urban area: the area's speed caps the class speed
                cap = float(areas[d["area"]]["free_flow_kmh"])
                assert d["speed_kph"] == pytest.approx(min(ref["speed_kph"], cap))
                assert d["travel_time"] == pytest.approx(ref["travel_time"] * ref["speed_kph"] / d["speed_kph"])
            else:
                assert d["travel_time"] == pytest.approx(ref["travel_time"])
                assert d["speed_kph"] == pytest.approx(ref["speed_kph"])
            n += 1
    assert n == sum(1 for _, _, h in sample_graph.edges(data="highway") if h != "motorway_link")


def test_with_road_graph_expressway_only_via_links(net2):
    F = net2._full_graph
    mw = {n for u, v, d in F.edges(data=True) if d.get("highway") == "motorway" and d["project"] == "osm-roads" for n in (u, v)}
    for u, v, d in F.edges(data=True):
        if d["project"] != "osm-roads" or d["kind"] == "connector":
            continue
        if (u in mw) != (v in mw):  # an edge entering or leaving the motorway
            assert d["highway"] in ("motorway", "motorway_link")
    # places never snap onto the motorway itself
    for u, v, d in F.edges(data=True):
        if d["kind"] == "connector" and str(u).startswith("place:"):
            assert v not in mw
    ramps = [d for _, _, d in F.edges(data=True) if d.get("highway") == "motorway_link" and d["project"] == "osm-roads"]
    toll = net2.modes["road"]["ramp_toll_min"] * 60
    assert ramps
    for d in ramps:  # every sample ramp joins a local road: one full toll per traversal
        assert d["travel_time"] - d["length"] / (d["speed_kph"] / 3.6) == pytest.approx(toll)
    r = net2.route("wuzhen", "tongxiang", profile="car")
    assert "expressway" in set(r.legs["mode"])


def test_ramp_toll_only_between_expressway_and_local_road(net, tmp_path):
    f = tmp_path / "junction.osm"
    f.write_text(_xml([
        ([1, 2], {"highway": "motorway"}),
        ([2, 3], {"highway": "motorway_link"}),      # junction: motorway to motorway
        ([3, 4], {"highway": "motorway"}),
        ([4, 5], {"highway": "motorway_link"}),      # interchange: motorway to a local road
        ([5, 6, 7], {"highway": "primary"}),
    ]), encoding="utf-8")
    G = osm.road_graph_from_xml(f)
    F = net.with_road_graph(G)._full_graph
    toll = net.modes["road"]["ramp_toll_min"] * 60
    extra = {(u, v): d["travel_time"] - d["length"] / (d["speed_kph"] / 3.6)
             for u, v, d in F.edges(data=True) if d.get("highway") == "motorway_link" and d["project"] == "osm-roads"}
    assert extra[(2, 3)] == pytest.approx(0) and extra[(3, 2)] == pytest.approx(0)
    assert extra[(4, 5)] == pytest.approx(toll) and extra[(5, 4)] == pytest.approx(toll)


def test_with_road_graph_travel_times_and_isochrones(net2):
    tab = net2.travel_times(["wuzhen", "tongxiang"], ["puyuan", "shimen", "chongfu", (120.56, 30.63)], profile="car")
    assert tab.notna().all().all() and (tab.values > 0).all()
    assert tab.loc["tongxiang", "puyuan"] < tab.loc["wuzhen", "chongfu"]
    iso = net2.isochrones("tongxiang", [10, 20, 30], profile="car")
    assert list(iso.cutoff_min) == [10, 20, 30]
    assert iso.crs.to_epsg() == 4326
    assert (iso.area_km2.diff().dropna() > 0).all()
    assert iso.geometry.iloc[-1].buffer(1e-9).contains(iso.geometry.iloc[0])


def test_places_outside_sample_snap_to_nearest_sample_node(net2, sample_graph):
    # documented: the sample replaces the whole road layer, so Hangzhou joins the nearest sample node
    F = net2._full_graph
    conn = [v for u, v, d in F.out_edges("place:hangzhou", data=True) if d["kind"] == "connector"]
    assert conn and all(n in sample_graph for n in conn)
    assert math.isfinite(net2.travel_times("tongxiang", "hangzhou", profile="car").iloc[0, 0])


def test_projected_graph_is_rejected(net, sample_graph):
    P = ox.project_graph(sample_graph)
    with pytest.raises(tx.QueryError, match="EPSG:4326"):
        net.with_road_graph(P)
    with pytest.raises(tx.NetworkDataError, match="not EPSG:4326.*project_graph"):
        osm.prepare_road_graph(P)
    # projected coordinates without a crs attribute are caught when the graph is built
    P.graph.pop("crs")
    with pytest.raises(tx.QueryError, match="not lon/lat"):
        net.with_road_graph(P).route("wuzhen", "tongxiang")


# --------------------------------------------------------------------------- GraphML
def test_graphml_round_trip_preserves_travel_times(tmp_path, sample_graph, net):
    path = osm.save_road_graphml(sample_graph, tmp_path / "roads.graphml")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["roads.graphml"]
    G = osm.load_road_graphml(path)
    assert set(G.nodes) == set(sample_graph.nodes) and all(isinstance(n, int) for n in G.nodes)
    for u, v, k, d in sample_graph.edges(keys=True, data=True):
        assert G.edges[u, v, k]["travel_time"] == d["travel_time"]
        assert G.edges[u, v, k]["length"] == d["length"]
    r1 = net.with_road_graph(sample_graph).route("wuzhen", "tongxiang")
    r2 = net.with_road_graph(G).route("wuzhen", "tongxiang")
    assert r1.time_min == pytest.approx(r2.time_min, abs=1e-9)


def test_atomic_save_keeps_target_when_writer_fails(tmp_path, sample_graph, monkeypatch):
    target = tmp_path / "roads.graphml"
    target.write_text("previous content", encoding="utf-8")

    def failing_writer(G, filepath, **kw):
        Path(filepath).write_text("<graphml>half", encoding="utf-8")
        raise OSError("disk full")

    monkeypatch.setattr(ox, "save_graphml", failing_writer)
    with pytest.raises(OSError, match="disk full"):
        osm.save_road_graphml(sample_graph, target)
    assert target.read_text(encoding="utf-8") == "previous content"
    assert [p.name for p in tmp_path.iterdir()] == ["roads.graphml"]


def test_load_graphml_errors_name_the_file(tmp_path):
    with pytest.raises(tx.NetworkDataError, match="nothing.graphml.*does not exist"):
        osm.load_road_graphml(tmp_path / "nothing.graphml")
    bad = tmp_path / "bad.graphml"
    bad.write_text("<graphml><graph", encoding="utf-8")
    with pytest.raises(tx.NetworkDataError, match="bad.graphml.*cannot be read"):
        osm.load_road_graphml(bad)


# --------------------------------------------------------------------------- downloads (never reach the network)
OFFLINE = {"requests_timeout": 2, "overpass_rate_limit": False, "doh_url_template": None, "use_cache": False,
           # an unroutable local endpoint: fails at once, whatever the machine's connectivity
           "nominatim_url": "http://127.0.0.1:9/", "overpass_url": "http://127.0.0.1:9/api"}


def test_download_fails_fast_with_query_error():
    import time

    before = (ox.settings.requests_timeout, ox.settings.nominatim_url, ox.settings.doh_url_template)
    t0 = time.perf_counter()
    with osm.osmnx_settings(**OFFLINE):
        with pytest.raises(tx.QueryError, match="could not download.*Tongxiang.*road_graph_from_xml"):
            osm.road_graph_from_place("Tongxiang, Zhejiang, China")
        with pytest.raises(tx.QueryError, match="could not download.*bbox"):
            osm.road_graph_from_bbox((120.40, 30.55, 120.65, 30.78))
    assert time.perf_counter() - t0 < 10
    assert (ox.settings.requests_timeout, ox.settings.nominatim_url, ox.settings.doh_url_template) == before


def test_download_wrappers_apply_the_speed_rule(monkeypatch, tmp_path):
    f = tmp_path / "dl.osm"
    f.write_text(_xml([([1, 2, 3], {"highway": "secondary", "maxspeed": "50"}), ([3, 4, 5], {"highway": "secondary"})]),
                 encoding="utf-8")
    seen = {}

    def fake(query, **kw):
        seen.update(kw, query=query)
        return ox.graph_from_xml(f, simplify=False, retain_all=True)

    monkeypatch.setattr(ox, "graph_from_place", fake)
    G = osm.road_graph_from_place("Somewhere", timeout_s=1)
    assert seen["network_type"] == "drive" and seen["simplify"] is False
    speeds = sorted(d["speed_kph"] for _, _, d in G.edges(data=True))
    assert speeds[0] == pytest.approx(osm.edge_speed_kph("secondary", "50"))
    assert speeds[-1] == pytest.approx(osm.chinese_speed_table()["secondary"])


def test_download_network_type_is_for_cars():
    with pytest.raises(tx.QueryError, match="network_type 'walk'"):
        osm.road_graph_from_place("Somewhere", network_type="walk")


def test_bbox_is_checked_before_download():
    with pytest.raises(tx.QueryError, match="west < east"):
        osm.road_graph_from_bbox((120.65, 30.55, 120.40, 30.78))
    with pytest.raises(tx.QueryError, match="four numbers"):
        osm.road_graph_from_bbox((120.4, 30.5))  # type: ignore[arg-type]


def test_osmnx_settings_restored_after_error():
    before = ox.settings.requests_timeout
    with pytest.raises(RuntimeError):
        with osm.osmnx_settings(requests_timeout=1):
            assert ox.settings.requests_timeout == 1
            raise RuntimeError("boom")
    assert ox.settings.requests_timeout == before
