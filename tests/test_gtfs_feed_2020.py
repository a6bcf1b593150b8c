"""The embedded GTFS feed networks/transit/cr-2020 (2020 station boards + recognised 2016 calls, YRD).

Shipped files only (no ../shared): the feed through gtfs-kit, places.csv, and as the independent
check docs/observed_rail_2020.csv (direct trains between the YRD board stations, built from the
boards by networks/build/board_pairs_2020.py). The build's rules are checked on synthetic trains.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import gtfs_kit as gk
import numpy as np
import pandas as pd
import pytest

from tx_transport.errors import NetworkDataError
from tx_transport.transit.config import station_id

ROOT = Path(__file__).resolve().parents[1]
FEED = ROOT / "networks" / "transit" / "cr-2020"
OBSERVED = ROOT / "docs" / "observed_rail_2020.csv"
MAX_KMH = 380.0  # faster than any scheduled Chinese train (300–350 km/h top speed) even as a straight-line average


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


@pytest.fixture(scope="module")
def observed(places):
    obs = pd.read_csv(OBSERVED)
    ids = {n: station_id(n, places, OBSERVED, n) for n in pd.unique(obs[["from", "to"]].values.ravel())}
    return obs.assign(a=obs["from"].map(ids), b=obs["to"].map(ids))


# --------------------------------------------------------------------------- gtfs-kit
def test_gtfs_kit_reads_the_feed_and_assesses_its_quality(feed):
    q = dict(zip(*gk.assess_quality(feed).T.values))
    assert q["num_departure_times_missing"] == 0
    assert q["num_first_departure_times_missing"] == 0 and q["num_last_departure_times_missing"] == 0
    # a public code reused by another train since 2016 is the only duplicated short name (its route id says -2016)
    dup = feed.routes[feed.routes.route_short_name.duplicated(keep=False)]
    assert q["num_route_short_names_duplicated"] == dup.route_id.str.endswith("-2016").sum()
    assert feed.shapes is None and q["frac_trips_missing_shapes"] == 1.0
    d = dict(zip(*feed.describe().T.values))
    assert d["timezone"] == "Asia/Shanghai"
    assert d["num_trips_active_on_sample_date"] == len(feed.trips) == d["num_trips"]


def test_one_service_day_active_on_2020_12_31(feed):
    assert feed.get_dates() == ["20201231"]
    assert set(feed.get_trips(date="20201231").trip_id) == set(feed.trips.trip_id)
    assert feed.get_trips(date="20201230").empty and feed.get_trips(date="20210101").empty
    cal = feed.calendar
    assert list(cal.service_id) == ["d20201231"] and cal.thursday.iloc[0] == 1  # 2020-12-31 was a Thursday
    assert cal[["monday", "tuesday", "wednesday", "friday", "saturday", "sunday"]].to_numpy().sum() == 0


# --------------------------------------------------------------------------- structure
def test_ids_unique_and_references_resolve(feed, st):
    for table, key in [("stops", "stop_id"), ("routes", "route_id"), ("trips", "trip_id"), ("agency", "agency_id")]:
        df = getattr(feed, table)
        assert df[key].notna().all() and df[key].is_unique, f"{table}.{key} not unique"
    assert not st.duplicated(["trip_id", "stop_sequence"]).any()
    assert not st.duplicated(["trip_id", "stop_id"]).any(), "a trip calls twice at one station"
    assert set(st.stop_id) == set(feed.stops.stop_id), "every stop is used by a trip and exists"
    assert set(st.trip_id) == set(feed.trips.trip_id)
    assert set(feed.trips.route_id) == set(feed.routes.route_id)
    r = feed.routes
    assert (r.route_type == 2).all() and set(r.route_desc) <= {"G", "D", "C"} and (r.route_desc == r.route_id.str[0]).all()
    assert r.route_short_name.str.fullmatch(r"[GDC]\d{1,4}(/[GDC]\d{1,4})*").all()
    assert r.route_long_name.str.fullmatch(r"\S+–\S+").all()
    t = feed.trips.merge(r[["route_id", "route_short_name"]], on="route_id")
    assert (t.trip_short_name == t.route_short_name).all()


def test_times_monotonic_and_two_or_more_stops_per_trip(st):
    assert st.arrival_time.str.fullmatch(r"\d\d:[0-5]\d:[0-5]\d").all()
    assert (st.groupby("trip_id").size() >= 2).all()
    assert (st.dep >= st.arr).all()
    same = st.trip_id.eq(st.trip_id.shift(-1))
    assert (st.stop_sequence.shift(-1)[same] > st.stop_sequence[same]).all()
    assert (st.arr.shift(-1)[same] >= st.dep[same]).all(), "a trip goes back in time"
    first, last = ~st.trip_id.eq(st.trip_id.shift(1)), ~same
    assert (st.arr[first] == st.dep[first]).all() and (st.arr[last] == st.dep[last]).all()
    assert st.dep.min() >= 0 and st.arr.max() < 48 * 60


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


def test_every_stop_is_a_station_place_at_the_same_position(feed, places):
    stops = feed.stops.set_index("stop_id")
    assert stops.index.isin(places.index).all(), sorted(set(stops.index) - set(places.index))
    p = places.loc[stops.index]
    assert (p.kind == "station").all()
    assert np.allclose(p.lat, stops.stop_lat, atol=1e-6) and np.allclose(p.lon, stops.stop_lon, atol=1e-6)
    # the loader resolves a stop name to its own stop (timetable names are station names), except for stations
    # renamed since the 2016 timetable whose 2016 calls are kept (余杭 → 临平南站)
    unresolved = []
    for i, n in zip(stops.index, stops.stop_name):
        try:
            assert station_id(n, places, FEED, n) == i, n
        except NetworkDataError:
            unresolved.append(n)
    assert len(unresolved) <= 2, unresolved
    tr = pd.read_csv(FEED / "translations.txt")
    assert set(tr.record_id) == set(stops.index) and tr.translation.str.contains("station", case=False).all()


def test_licences_and_attributions_ship_with_the_feed(feed):
    assert "Apache License" in (FEED / "LICENSE-RailwayVIS.txt").read_text() and "Version 2.0" in (FEED / "LICENSE-RailwayVIS.txt").read_text()
    assert (FEED / "LICENSE-Parse12306.txt").read_text().startswith("The MIT License")
    attr = pd.read_csv(FEED / "attributions.txt")
    text = " ".join(attr.organization_name)
    assert "RailwayVIS" in text and "68e69805cce2ae8b818dba102cf8354ead54af43" in text and "Apache" in text
    assert "Parse12306" in text and "MIT" in text


# --------------------------------------------------------------------------- the point of the feed
@pytest.fixture(scope="module")
def direct(st, observed):
    """Fastest direct train and direct trains a day between every two board stations, from the feed alone."""
    board = set(observed.a) | set(observed.b)
    calls = st[st.stop_id.isin(board)][["trip_id", "stop_id", "arr", "dep", "stop_sequence"]]
    pairs = calls.merge(calls, on="trip_id", suffixes=("_a", "_b"))
    pairs = pairs[(pairs.stop_sequence_a < pairs.stop_sequence_b) & (pairs.stop_id_a != pairs.stop_id_b)]
    pairs = pairs.assign(minutes=pairs.arr_b - pairs.dep_a)
    return pairs.groupby(["stop_id_a", "stop_id_b"]).agg(fastest=("minutes", "min"), trains=("trip_id", "nunique"))


def test_fastest_direct_train_between_board_stations_equals_the_2020_boards(observed, direct):
    got = direct.reindex(pd.MultiIndex.from_arrays([observed.a, observed.b]))
    missing = observed[got.fastest.isna().to_numpy()]
    assert missing.empty, f"board pairs without a direct train in the feed: {missing[['from', 'to']].head().values.tolist()}"
    diff = got.fastest.to_numpy() - observed.fastest_min.to_numpy()
    bad = observed[diff != 0].assign(feed=got.fastest.to_numpy()[diff != 0])
    assert bad.empty, f"{len(bad)} pairs differ, e.g. {bad[['from', 'to', 'fastest_min', 'feed']].head().values.tolist()}"
    assert (got.trains.to_numpy() == observed.trains_per_day.to_numpy()).all(), "direct trains a day differ from the boards"
    # and the feed has no direct board-to-board connection that the boards do not show
    assert set(direct.index) == set(zip(observed.a, observed.b))


def test_2017_speed_up_and_post_2016_services_are_in(direct):
    """Facts of the 2020 boards that the 2016 feed lacks (the brief's examples)."""
    assert direct.loc[("shanghai-station", "nanjing-south"), "fastest"] < 75  # 93 min in 2016; the Fuxing trains of 2017
    for a, b in [("shanghai-hongqiao", "shanghai-south"), ("hangzhou-east", "hangzhou-south"), ("hefei-station", "huainan-south"),
                 ("nanjing-station", "haian"), ("fuyang-west-ah", "hefei-station")]:
        assert (a, b) in direct.index, (a, b)


def test_library_fastest_journeys_never_slower_than_the_boards(net, observed):
    """baseline-2020 runs cr-2020: the router's fastest journey (changes allowed) is at most the fastest direct train."""
    ct = net.compiled_timetable("baseline-2020")
    origins = sorted(set(observed.a))
    F = ct.fastest_journeys(np.array([ct.stop_index(o) for o in origins]), max_rounds=net._b.transit.max_transfers + 1)
    row = {o: k for k, o in enumerate(origins)}
    model = np.array([F[row[a], ct.stop_index(b)] / 60.0 for a, b in zip(observed.a, observed.b)])
    assert np.isfinite(model).all()
    assert (model <= observed.fastest_min.to_numpy() + 1e-9).all()
    assert (np.abs(model - observed.fastest_min.to_numpy()) < 1e-9).mean() > 0.5  # most pairs: the direct train is the fastest


# --------------------------------------------------------------------------- the build's rules, on synthetic trains
@pytest.fixture(scope="module")
def build():
    spec = importlib.util.spec_from_file_location("build_gtfs_2020", ROOT / "networks" / "build" / "build_gtfs_2020.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules["build_gtfs_2020"] = mod
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture
def line(build):
    """Stations A–X–Y–B–Z on a meridian, 20 km apart (A, B boards); a 2016 train A–X–Y–B–Z."""
    pos = pd.DataFrame({"lat": [30.0 + 0.18 * k for k in range(5)], "lon": [120.0] * 5}, index=list("AXYBZ"))
    t16 = build.Train16("T16", ["G1"], ["T16"], [build.Call("A", 600, 600), build.Call("X", 610, 612), build.Call("Y", 620, 625),
                                                 build.Call("B", 635, 637), build.Call("Z", 650, 650)], [0] * 5)
    return pos, t16


def test_build_retimes_2016_calls_between_board_calls_keeping_dwells(build, line):
    pos, t16 = line
    tb = build.TripBuilder({"A", "B"}, {("G", "A", "B"): 20.0}, pos, {s: s for s in pos.index})
    r = build.Train20(("G", 0, "A", "Z"), ["G1"], [build.Call("A", 700, 700, "board", "始"), build.Call("B", 741, 742, "board", "过")])
    calls = tb.build(r, t16)
    # 2016: running A→B 35 − 7 dwell = 28 min; 2020: 41 − 7 = 34 → scale 34/28; X at 10 × 34/28 = 12.1, Y at 2 + 18 × 34/28 = 23.9
    assert [(c.stop, c.arr, c.dep) for c in calls] == [("A", 700, 700), ("X", 712, 714), ("Y", 724, 729), ("B", 741, 742),
                                                        ("Z", 755, 755)]
    assert [c.origin for c in calls] == ["board", "2016-between", "2016-between", "board", "2016-after"]


def test_build_keeps_no_2016_calls_the_2020_train_has_no_time_for(build, line):
    pos, t16 = line
    tb = build.TripBuilder({"A", "B"}, {("G", "A", "B"): 20.0}, pos, {s: s for s in pos.index})
    # 25 min < fastest 20 + 2 × (2 + 1): the two calls do not fit; the terminus B ends the trip (no extension to Z)
    r = build.Train20(("G", 0, "A", "B"), ["G1"], [build.Call("A", 700, 700, "board", "过"), build.Call("B", 725, 725, "board", "终")])
    assert [(c.stop, c.arr, c.dep) for c in tb.build(r, t16)] == [("A", 700, 700), ("B", 725, 725)]
    assert tb.stats["sections: too fast for the 2016 calls (not kept)"] == 1
    # 27 min fits the calls only with 1-min dwells: the 5-min dwell at Y is shortened, running is 20 + 4 = 24 min
    r = build.Train20(("G", 0, "A", "B"), ["G1"], [build.Call("A", 700, 700, "board", "过"), build.Call("B", 727, 727, "board", "终")])
    calls = tb.build(r, t16)
    assert [c.stop for c in calls] == ["A", "X", "Y", "B"]
    assert all(b.arr > a.dep for a, b in zip(calls[:-1], calls[1:])) and calls[-1].arr == 727
    assert tb.stats["sections: 2016 dwells shortened to fit"] == 1


def test_build_matches_by_code_and_board_order(build):
    board = {"A", "B", "C"}
    t16 = {"N1": build.Train16("N1", ["G1"], ["N1"], [build.Call(s, 0, 0) for s in "AXBC"], [0] * 4),
           "N2": build.Train16("N2", ["G2"], ["N2"], [build.Call(s, 0, 0) for s in "CBA"], [0] * 3),
           "N3": build.Train16("N3", ["D3"], ["N3"], [build.Call(s, 0, 0) for s in "XAY"], [0] * 3)}
    r20 = [build.Train20(("G", 0, "A", "C"), ["G1"], [build.Call(s, 0, 0) for s in "AC"]),   # same order A…C: 2a
           build.Train20(("G", 2, "A", "C"), ["G2"], [build.Call(s, 0, 0) for s in "ABC"]),  # 2016 G2 ran the other way
           build.Train20(("D", 2, "A", "B"), ["D3"], [build.Call(s, 0, 0) for s in "AB"]),   # the 2016 train's one board call: 2b
           build.Train20(("G", 4, "A", "B"), ["G5"], [build.Call(s, 0, 0) for s in "AB"])]   # code not in 2016
    assert build.match_trains(r20, t16, board) == {"G1": ("N1", "2a"), "D3": ("N3", "2b")}
