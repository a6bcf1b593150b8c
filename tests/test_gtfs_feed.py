"""The embedded GTFS feed networks/transit/cr-2016 (national timetable of 2016-03-10, YRD) and the station positions.

Everything here reads the shipped files only (no ../shared): the feed through gtfs-kit, places.csv,
the OSM rail layer networks/rails/osm_rail.geojson and its exceptions table.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import geopandas as gpd
import gtfs_kit as gk
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point

import tx_transport as tx

ROOT = Path(__file__).resolve().parents[1]
FEED = ROOT / "networks" / "transit" / "cr-2016"
RAILS = ROOT / "networks" / "rails"
MAX_KMH = 380.0  # faster than any scheduled Chinese train (300–350 km/h top speed) even as a straight-line average
UTM51 = "EPSG:32651"  # a metric CRS independent of the build's own projection


def _minutes(t: pd.Series) -> np.ndarray:
    hms = t.str.split(":", expand=True).astype(int)
    return (hms[0] * 60 + hms[1] + hms[2] / 60.0).to_numpy()


def _haversine_km(lat1, lon1, lat2, lon2) -> np.ndarray:
    p1, p2 = np.radians(lat1), np.radians(lat2)
    a = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(np.radians(np.asarray(lon2) - np.asarray(lon1)) / 2) ** 2
    return 2 * 6371.0088 * np.arcsin(np.sqrt(a))


@pytest.fixture(scope="module")
def feed():
    return gk.read_feed(FEED, dist_units="km")


@pytest.fixture(scope="module")
def st(feed):
    s = feed.stop_times.sort_values(["trip_id", "stop_sequence"]).reset_index(drop=True)
    return s.assign(arr=_minutes(s.arrival_time), dep=_minutes(s.departure_time))


@pytest.fixture(scope="module")
def places():
    return pd.read_csv(ROOT / "networks" / "places.csv", dtype={"id": str}).set_index("id")


# --------------------------------------------------------------------------- gtfs-kit
def test_gtfs_kit_reads_the_feed_and_its_quality_indicators_are_clean(feed):
    q = dict(zip(*gk.assess_quality(feed).T.values))
    assert q["num_route_short_names_duplicated"] == 0
    assert q["num_departure_times_missing"] == 0
    assert q["num_first_departure_times_missing"] == 0 and q["num_last_departure_times_missing"] == 0
    # the feed has no shapes by design (no OSM trace of every line exists); that alone is what gtfs-kit would flag
    assert feed.shapes is None and q["frac_trips_missing_shapes"] == 1.0
    d = dict(zip(*feed.describe().T.values))
    assert d["timezone"] == "Asia/Shanghai"
    assert d["num_trips_active_on_sample_date"] == len(feed.trips) == d["num_trips"]


def test_one_service_day_active_on_2016_03_10(feed):
    assert feed.get_dates() == ["20160310"]
    assert set(feed.get_trips(date="20160310").trip_id) == set(feed.trips.trip_id)
    assert feed.get_trips(date="20160311").empty and feed.get_trips(date="20160309").empty
    cal = feed.calendar
    assert list(cal.service_id) == ["d20160310"] and cal.thursday.iloc[0] == 1  # 2016-03-10 was a Thursday
    assert cal[["monday", "tuesday", "wednesday", "friday", "saturday", "sunday"]].to_numpy().sum() == 0


# --------------------------------------------------------------------------- structure
def test_ids_unique_and_references_resolve(feed, st):
    for table, key in [("stops", "stop_id"), ("routes", "route_id"), ("trips", "trip_id"), ("agency", "agency_id")]:
        df = getattr(feed, table)
        assert df[key].notna().all() and df[key].is_unique, f"{table}.{key} not unique"
    assert not st.duplicated(["trip_id", "stop_sequence"]).any()
    assert set(st.stop_id) <= set(feed.stops.stop_id)
    assert set(st.stop_id) == set(feed.stops.stop_id), "every stop is used by a trip"
    assert set(st.trip_id) == set(feed.trips.trip_id)
    assert set(feed.trips.route_id) == set(feed.routes.route_id)
    assert set(feed.routes.agency_id) == set(feed.agency.agency_id)
    assert feed.stops.stop_code.is_unique  # 12306 telecodes


def test_routes_and_trips_follow_the_contract(feed):
    r = feed.routes
    assert (r.route_type == 2).all()
    assert (r.route_desc == r.route_id.str[0]).all() and set(r.route_desc) <= {"G", "D", "C"}
    assert (r.route_short_name.str.split("/").str[0] == r.route_id).all()
    assert r.route_short_name.str.fullmatch(r"[GDC]\d{1,4}(/[GDC]\d{1,4})*").all()
    assert r.route_long_name.str.fullmatch(r"\S+–\S+").all()
    t = feed.trips.merge(r[["route_id", "route_short_name"]], on="route_id")
    assert (t.trip_short_name == t.route_short_name).all()
    # split trips (<train_no>-k) come as complete sets -1..-n, n >= 2, and never next to an unsplit one
    m = t.trip_id.str.extract(r"^(?P<train>[0-9A-Za-z]+?)(?:-(?P<k>\d+))?$")
    assert m.train.notna().all()
    for train, g in m.dropna(subset=["k"]).groupby("train"):
        assert sorted(g.k.astype(int)) == list(range(1, len(g) + 1)) and len(g) >= 2, train
        assert train not in set(m.train[m.k.isna()])


def test_times_monotonic_and_two_or_more_stops_per_trip(st):
    assert st.arrival_time.str.fullmatch(r"\d\d:[0-5]\d:[0-5]\d").all()
    assert st.departure_time.str.fullmatch(r"\d\d:[0-5]\d:[0-5]\d").all()
    assert (st.groupby("trip_id").size() >= 2).all()
    assert (st.dep >= st.arr).all()
    same = st.trip_id.eq(st.trip_id.shift(-1))
    assert (st.stop_sequence.shift(-1)[same] > st.stop_sequence[same]).all()
    assert (st.arr.shift(-1)[same] >= st.dep[same]).all(), "a trip goes back in time"
    first, last = ~st.trip_id.eq(st.trip_id.shift(1)), ~same
    assert (st.arr[first] == st.dep[first]).all() and (st.arr[last] == st.dep[last]).all()
    assert st.dep.min() >= 0 and st.arr.max() < 48 * 60
    assert (st.arr >= 24 * 60).any(), "overnight trains keep times past 24:00:00 on the service day"


def test_no_hop_faster_than_380_kmh_straight_line(feed, st):
    stops = feed.stops.set_index("stop_id")
    nxt = st.shift(-1)
    same = st.trip_id.eq(nxt.trip_id)
    a, b = st[same], nxt[same]
    km = _haversine_km(stops.stop_lat[a.stop_id].to_numpy(), stops.stop_lon[a.stop_id].to_numpy(),
                       stops.stop_lat[b.stop_id].to_numpy(), stops.stop_lon[b.stop_id].to_numpy())
    minutes = b.arr.to_numpy() - a.dep.to_numpy()
    assert (km[minutes == 0] < 1.0).all(), "a zero-minute hop between different stations"
    kmh = km[minutes > 0] / (minutes[minutes > 0] / 60.0)
    worst = int(np.argmax(kmh))
    assert kmh.max() <= MAX_KMH, f"hop at {kmh[worst]:.0f} km/h: {a.trip_id.iloc[worst]} {a.stop_id.iloc[worst]} -> {b.stop_id.iloc[worst]}"
    assert km.max() < 400, "a very long non-stop hop: an out-of-area gap left in a trip?"


def test_spot_facts_of_the_feed(feed, st):
    stops = feed.stops.set_index("stop_id")
    assert stops.loc["tongxiang-station", ["stop_name", "stop_code"]].tolist() == ["桐乡", "TCH"]
    assert stops.loc["shanghai-hongqiao", ["stop_name", "stop_code"]].tolist() == ["上海虹桥", "AOH"]
    assert stops.loc["hangzhou-east", "stop_name"] == "杭州东"
    calls = st.groupby("trip_id").stop_id.agg(list)
    direct = [c for c in calls if "shanghai-hongqiao" in c and "hangzhou-east" in c]
    assert len(direct) > 50  # the Shanghai–Hangzhou HSR carried well over 100 train pairs a day in 2016
    assert any("tongxiang-station" in c for c in calls)
    # English names for every stop
    tr = pd.read_csv(FEED / "translations.txt")
    assert set(tr.record_id) == set(feed.stops.stop_id) and tr.translation.str.contains("station", case=False).all()
    assert (FEED / "LICENSE-Parse12306.txt").read_text().startswith("The MIT License")
    attr = pd.read_csv(FEED / "attributions.txt")
    assert attr.organization_name.str.contains("Parse12306").any()


# --------------------------------------------------------------------------- stations = places, on the rail
def test_every_stop_is_a_station_place_at_the_same_position(feed, places):
    stops = feed.stops.set_index("stop_id")
    assert stops.index.isin(places.index).all(), sorted(set(stops.index) - set(places.index))
    p = places.loc[stops.index]
    assert (p.kind == "station").all()
    assert np.allclose(p.lat, stops.stop_lat, atol=1e-6) and np.allclose(p.lon, stops.stop_lon, atol=1e-6)
    base = p.name_zh.str.replace(r"[（(].*$", "", regex=True).str.removesuffix("站")
    renamed = base != stops.stop_name
    assert renamed.sum() <= 2, list(stops.index[renamed])  # stations renamed since 2016 (余杭 → 临平南站)
    assert p.coord_source.str.contains("Parse12306").all()
    assert pd.Index(places.index).is_unique
    assert all(re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", i) for i in places.index)


@pytest.fixture(scope="module")
def rail_dist(feed):
    rail = gpd.read_file(RAILS / "osm_rail.geojson").to_crs(UTM51)
    pts = gpd.GeoDataFrame(feed.stops[["stop_id"]], geometry=[Point(xy) for xy in zip(feed.stops.stop_lon, feed.stops.stop_lat)],
                           crs="EPSG:4326").to_crs(UTM51)
    _, dist = rail.sindex.nearest(pts.geometry, return_all=False, return_distance=True)
    return pd.Series(dist, index=feed.stops.stop_id.to_numpy())


def test_stations_within_500_m_of_osm_rail_except_listed(rail_dist):
    exc = pd.read_csv(RAILS / "station_rail_exceptions.csv").set_index("stop_id")
    far = set(rail_dist.index[rail_dist > 500])
    assert far == set(exc.index), f"unlisted: {sorted(far - set(exc.index))}, stale: {sorted(set(exc.index) - far)}"
    assert (exc.reason.str.len() > 20).all()
    rec = exc.rail_dist_m.to_numpy(float)
    got = rail_dist[exc.index].to_numpy()
    assert np.all(np.abs(got - rec) <= np.maximum(10.0, 0.02 * rec)), "the exceptions table does not match the shipped files"
    assert (rail_dist <= 500).sum() >= 0.6 * len(rail_dist)
    assert rail_dist.loc[["tongxiang-station", "jiaxing-south", "suzhou-north", "changzhou-north", "jinshan-north"]].max() < 300


def test_osm_rail_layer_carries_its_odbl_notice():
    text = (RAILS / "osm_rail.geojson").read_text(encoding="utf-8")
    assert "OpenStreetMap contributors" in text and "ODbL" in text
    rail = gpd.read_file(RAILS / "osm_rail.geojson")
    assert (rail.geom_type == "LineString").all() and len(rail) > 100
    assert "osm_rail.geojson" in (ROOT / "networks" / "ATTRIBUTION.md").read_text(encoding="utf-8")


def test_rail_km_in_tongxiang_matches_the_osm_rail_layer():
    """The traced HSR inside Tongxiang is as long as the OSM rail there (no spur at the station)."""
    net = tx.load_network()
    got = tx.check(net, "baseline-2020")
    lib_km = float(got.loc[got.goal == "rail-km", "value"].iloc[0])
    b = gpd.read_file(ROOT / "networks" / "boundaries.geojson")
    poly = b.loc[b.adcode == "330483"].to_crs(UTM51).geometry.iloc[0]
    osm_km = gpd.read_file(RAILS / "osm_rail.geojson").to_crs(UTM51).intersection(poly).length.sum() / 1000.0
    assert osm_km > 10
    assert abs(lib_km - osm_km) <= 0.03 * osm_km, f"library {lib_km:.1f} km vs OSM rail {osm_km:.1f} km"


# --------------------------------------------------------------------------- the build's rules, on synthetic rows
@pytest.fixture(scope="module")
def build():
    spec = importlib.util.spec_from_file_location("build_gtfs", ROOT / "networks" / "build" / "build_gtfs.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules["build_gtfs"] = mod
    spec.loader.exec_module(mod)
    return mod


def test_build_splits_at_out_of_area_gaps_and_keeps_overnight_times_monotonic(build):
    rows = pd.DataFrame({"train_code": "D1/D2", "train_no": "T1", "seq": [1, 2, 4, 5, 6, 7, 9, 10],
                         "station": ["A", "B", "X", "C", "D", "Y", "E", "Z"],
                         "arrive": ["", "22:10", "22:40", "23:05", "23:50", "00:20", "00:50", "01:30"],
                         "depart": ["22:00", "22:12", "22:42", "23:07", "23:52", "00:22", "00:52", "01:30"]})
    trains = pd.DataFrame({"train_no": ["T1"], "train_code": ["D1/D2"], "origin": ["A"], "terminus": ["Z"]})
    trips, stats = build.build_trips(rows, trains, {"A", "B", "C", "D", "E"})
    assert [t["trip_id"] for t in trips] == ["T1-1", "T1-2"]
    assert [[s["station"] for s in t["stops"]] for t in trips] == [["A", "B"], ["C", "D"]]
    assert [(s["arr"], s["dep"]) for s in trips[1]["stops"]] == [(23 * 60 + 7, 23 * 60 + 7), (23 * 60 + 50, 23 * 60 + 50)]
    assert len(stats["split"]) == 1 and "E" in stats["shortened"][0]  # the lone call at E has no hop
    times = build.absolute_times([("", "23:50"), ("00:10", "00:12"), ("01:00", "01:00")])
    assert times == [(1430, 1430), (1450, 1452), (1500, 1500)]
    assert build.gtfs_time(1500) == "25:00:00"
    with pytest.raises(ValueError, match="12 h"):
        build.absolute_times([("", "10:00"), ("09:58", "10:01")])  # a small step back is a data error, not a new day


def test_build_station_id_rule(build):
    pinyin = {"无锡东": "wuxidong", "无锡": "wuxi", "义乌": "yiwu", "苏州园区": "suzhouyuanqu", "苏州": "suzhou",
              "安亭北": "antingbei", "歙县北": "shexianbei"}
    stations, cities = set(pinyin), {"歙县"}
    assert build.new_station_id("无锡东", pinyin, stations, cities) == ("wuxi-east", "Wuxi East station")
    assert build.new_station_id("义乌", pinyin, stations, cities) == ("yiwu-station", "Yiwu station")
    assert build.new_station_id("苏州园区", pinyin, stations, cities) == ("suzhou-yuanqu-station", "Suzhou Yuanqu station")
    assert build.new_station_id("歙县北", pinyin, stations, cities) == ("shexian-north", "Shexian North station")
    assert build.new_station_id("安亭北", pinyin, stations, cities) == ("antingbei-station", "Antingbei station")
