"""The interactive web map (tx_transport.viz.webmap): its layers, popups and offline page.

The page itself is opened in a real browser in tests/test_browser.py."""

import json
import re

import folium
import numpy as np
import pytest
import shapely

import tx_transport as tx
from tx_transport.cli import main
from tx_transport.viz import webmap

SCEN = ["baseline-2020", "plan-2025"]


@pytest.fixture(scope="module")
def small_map(net):
    return webmap.explore(net, SCEN, profiles=("car", "rail"), tiles=None)


@pytest.fixture(scope="module")
def page(small_map):
    return small_map.get_root().render()


def _children(el):
    yield el
    for c in el._children.values():
        yield from _children(c)


def _groups(m):
    return [c for c in m._children.values() if isinstance(c, folium.FeatureGroup)]


def _geojsons(el):
    return [c for c in _children(el) if isinstance(c, folium.GeoJson)]


def test_layer_switch_structure(small_map, net):
    groups = _groups(small_map)
    base = [g.layer_name for g in groups if not g.overlay]
    # one radio choice per scenario and profile, the main scenario first and shown
    assert base == ["plan-2025 · car", "plan-2025 · rail", "baseline-2020 · car", "baseline-2020 · rail"]
    assert [g.show for g in groups if not g.overlay] == [True, False, False, False]
    over = [g.layer_name for g in groups if g.overlay]
    assert over == ["Projects: existing", "Projects: in the plan (plan-2025)", "Projects: vision (vision-2035)",
                    "Difference baseline-2020 → plan-2025 (car, ≤ 60 min)"]
    assert small_map.attrs["base_layers"] == 4 and small_map.attrs["overlays"] == 4
    assert any(isinstance(c, folium.LayerControl) for c in small_map._children.values())


def test_bands_are_the_isochrones(small_map, net):
    (g,) = [g for g in _groups(small_map) if g.layer_name == "baseline-2020 · car"]
    (bands,) = [j for j in _geojsons(g) if j.options.get("className") == "tx-band"]
    feats = bands.data["features"]
    assert [f["properties"]["cutoff_min"] for f in feats] == [60.0, 45.0, 30.0, 15.0]  # largest drawn first
    iso = net.isochrones("tongxiang", [15, 30, 45, 60], scenario="baseline-2020", profile="car")
    for f in feats:
        drawn = shapely.geometry.shape(f["geometry"])
        want = iso.loc[iso.cutoff_min == f["properties"]["cutoff_min"]].geometry.iloc[0]
        # simplified for the web, but the same area within a few per cent
        assert drawn.intersection(want).area / want.union(drawn).area > 0.95


def test_projects_coloured_by_status(small_map, net):
    over = {g.layer_name: g for g in _groups(small_map) if g.overlay}
    by_status = {}
    for g in over.values():
        for j in _geojsons(g):
            for f in j.data["features"]:
                if "project" in f["properties"]:
                    by_status[f["properties"]["project"]] = (f["properties"]["status"], j.style_function(f)["color"])
    assert by_status["g60"] == ("existing", webmap.STATUS_COLOURS["existing"])
    plan_only = set(net.selection("plan-2025").projects) - set(net.projects.index[net.projects.status == "existing"])
    assert plan_only and all(by_status[p] == ("plan", webmap.STATUS_COLOURS["plan"]) for p in plan_only if p in by_status)
    vision_only = set(net.selection("vision-2035").projects) - set(net.selection("plan-2025").projects)
    assert vision_only and all(by_status[p][0] == "vision" for p in vision_only if p in by_status)
    assert "osm-roads" not in by_status  # the road layer is not a project


def test_place_popups_bilingual_with_times_and_goals(small_map, net):
    (g,) = [g for g in _groups(small_map) if g.layer_name == "plan-2025 · car"]
    feats = {f["properties"]["place"]: f["properties"] for j in _geojsons(g) for f in j.data["features"] if "place" in f["properties"]}
    wz = feats["wuzhen"]["popup"]
    assert "Wuzhen" in wz and "乌镇" in wz
    # door-to-door times to the one-hour-circle targets, as net.travel_times gives them
    t = net.travel_times("wuzhen", ["shanghai"], scenario="plan-2025", profile="door-to-door").iloc[0, 0]
    assert re.search(rf"Shanghai 上海</td><td class='tx-(pass|fail)'>{t:.0f} min", wz)
    # the goal items of Wuzhen, met or not
    g301 = tx.check(net, "plan-2025", paths=False)
    item = g301[(g301.goal == "301510") & (g301.group == "centre-to-town") & (g301.target == "wuzhen")].iloc[0]
    assert f"{'✓' if item['pass'] else '✗'} {item['value']:.0f} min / 30" in wz
    st = feats["tongxiang-station"]["popup"]
    r = net.route("tongxiang-station", "shanghai-hongqiao", scenario="plan-2025", profile="rail").time_min
    assert "rail, station to station" in st and f"{r:.0f} min" in st
    # labels by importance: cities and Tongxiang's towns labelled, stations only on hover
    assert feats["shanghai"]["label_class"] == "tx-label-city" and feats["wuzhen"]["label_class"] == "tx-label-town"
    assert "label" not in feats["tongxiang-station"] and feats["tongxiang-station"]["tooltip"]


def test_goal_routes_match_the_goal_table(small_map, net):
    (g,) = [g for g in _groups(small_map) if g.layer_name == "plan-2025 · rail"]
    (routes,) = [j for j in _geojsons(g) if j.options.get("className") == "tx-route"]
    got = {(f["properties"]["origin"], f["properties"]["target"]) for f in routes.data["features"]}
    goals = tx.check(net, "plan-2025", paths=False)
    want = set(zip(*goals[goals.measure == "station-to-station"][["origin", "target"]].values.T))
    assert got == want
    f = next(f for f in routes.data["features"] if f["properties"]["target"] == "shanghai-hongqiao")
    line = shapely.geometry.shape(f["geometry"])
    hq = net.places.loc["shanghai-hongqiao"].geometry
    assert line.coords[-1] == pytest.approx((hq.x, hq.y), abs=1e-3)
    car = [j for j in _geojsons([x for x in _groups(small_map) if x.layer_name == "plan-2025 · car"][0])
           if j.options.get("className") == "tx-route"][0]
    assert len(car.data["features"]) >= 25  # centre-to-town, nearest town and interchange items


def test_difference_layer(small_map, net):
    (g,) = [g for g in _groups(small_map) if g.layer_name.startswith("Difference")]
    assert g.show is False
    js = _geojsons(g)
    areas = {f["properties"]["change"] for j in js for f in j.data["features"] if "change" in f["properties"]}
    assert "gained" in areas
    pts = {f["properties"]["place"]: f["properties"]["change_min"] for j in js for f in j.data["features"] if "change_min" in f["properties"]}
    a = net.travel_times("tongxiang", list(pts), scenario="baseline-2020", profile="car").iloc[0]
    b = net.travel_times("tongxiang", list(pts), scenario="plan-2025", profile="car").iloc[0]
    for pid, v in pts.items():
        assert v == pytest.approx(b[pid] - a[pid], abs=0.06)
        assert abs(v) >= 0.5


def test_page_is_offline(page):
    # no script, stylesheet or image from the network: Leaflet is inlined
    assert not re.findall(r"<(?:script|link|img)[^>]+(?:src|href)=[\"']https?://", page)
    assert "cdn.jsdelivr" not in page and "jquery" not in page.lower().replace("jquery-free", "")
    assert 'window.L=t' in page or "window.L = " in page or "L.version" in page or '"1.9.4"' in page
    assert page.count("<script") >= 2


def test_tiles_option(net, monkeypatch):
    monkeypatch.setattr(webmap, "tiles_reachable", lambda *a, **k: False)
    m = webmap.explore(net, ["plan-2025"], profiles=("car",), tiles="auto", difference=False, routes=False)
    assert not [c for c in _children(m) if isinstance(c, folium.TileLayer)]
    monkeypatch.setattr(webmap, "tiles_reachable", lambda *a, **k: True)
    m = webmap.explore(net, ["plan-2025"], profiles=("car",), tiles="auto", difference=False, routes=False)
    (tl,) = [c for c in _children(m) if isinstance(c, folium.TileLayer)]
    assert tl.tiles == webmap.OSM_TILES and tl.control is False
    assert m.attrs["overlays"] == 3


def test_tiles_probe_fails_fast_offline():
    import time

    t0 = time.perf_counter()
    assert webmap.tiles_reachable("http://127.0.0.1:9/{z}/{x}/{y}.png", timeout_s=0.5) is False  # discard port: refused
    assert time.perf_counter() - t0 < 2.0


def test_explore_errors_and_network_method(net):
    with pytest.raises(tx.QueryError, match="unknown scenario"):
        net.explore(["plan-2099"], tiles=None)
    with pytest.raises(tx.QueryError, match="unknown profile"):
        net.explore(["plan-2025"], profiles=("hovercraft",), tiles=None)
    m = net.explore("plan-2025", profiles=("car",), tiles=None, difference=False, routes=False)
    assert isinstance(m, folium.Map) and m.attrs["base_layers"] == 1


def test_cli_map(tmp_path, capsys):
    out = tmp_path / "m.html"
    assert main(["map", "--scenario", "plan-2025", "--profiles", "car", "--tiles", "none", "-o", str(out)]) == 0
    assert "1 scenario · profile layers" in capsys.readouterr().out
    text = out.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and json.dumps("plan-2025 · car") in text
    assert main(["map", "--scenario", "plan-2099", "-o", str(tmp_path / "x.html"), "--tiles", "none"]) == 2
    assert "unknown scenario" in capsys.readouterr().err
    assert main(["map", "-o", str(tmp_path / "x.png")]) == 2
    assert not (tmp_path / "x.html").exists()


def test_features_are_valid_geojson(small_map):
    for j in _geojsons(small_map):
        json.dumps(j.data)
        for f in j.data["features"]:
            g = shapely.geometry.shape(f["geometry"])
            assert not g.is_empty and np.isfinite(g.bounds).all()
