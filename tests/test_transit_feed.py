"""GTFS in and out: reading feeds with gtfs-kit, frequencies and transfers, clear errors, round trips."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tx_transport import NetworkDataError
from tx_transport.transit import parse_clock, read_feed


def write_feed(root: Path, *, stop_times=None, frequencies=None, transfers=None, calendar=None, stops=None) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    pd.DataFrame([{"agency_id": "a", "agency_name": "A", "agency_url": "https://example.invalid", "agency_timezone": "Asia/Shanghai"}]
                 ).to_csv(root / "agency.txt", index=False)
    (stops if stops is not None else pd.DataFrame({
        "stop_id": ["A", "B", "C"], "stop_name": ["甲", "乙", "丙"], "stop_lat": [30.0, 30.1, 30.2], "stop_lon": [120.0, 120.1, 120.2]})
     ).to_csv(root / "stops.txt", index=False)
    pd.DataFrame({"route_id": ["r1", "r2"], "agency_id": "a", "route_short_name": ["G1", "G2"], "route_long_name": ["x", "y"],
                  "route_type": 2}).to_csv(root / "routes.txt", index=False)
    pd.DataFrame({"route_id": ["r1", "r2", "r1"], "service_id": ["wk", "wk", "sun"], "trip_id": ["t1", "t2", "t3"],
                  "trip_short_name": ["G1", "G2", "G1"]}).to_csv(root / "trips.txt", index=False)
    (stop_times if stop_times is not None else pd.DataFrame({
        "trip_id": ["t1", "t1", "t1", "t2", "t2", "t3", "t3"],
        "arrival_time": ["08:00:00", "08:30:00", "09:00:00", "23:50:00", "24:40:00", "10:00:00", "10:30:00"],
        "departure_time": ["08:00:00", "08:32:00", "09:00:00", "23:50:00", "24:40:00", "10:00:00", "10:30:00"],
        "stop_id": ["A", "B", "C", "C", "A", "A", "B"], "stop_sequence": [1, 2, 3, 1, 2, 1, 2]})
     ).to_csv(root / "stop_times.txt", index=False)
    (calendar if calendar is not None else pd.DataFrame({
        "service_id": ["wk", "sun"], "monday": [1, 0], "tuesday": [1, 0], "wednesday": [1, 0], "thursday": [1, 0], "friday": [1, 0],
        "saturday": [0, 0], "sunday": [0, 1], "start_date": "20240101", "end_date": "20241231"})).to_csv(root / "calendar.txt", index=False)
    if frequencies is not None:
        frequencies.to_csv(root / "frequencies.txt", index=False)
    if transfers is not None:
        transfers.to_csv(root / "transfers.txt", index=False)
    return root


def test_reads_one_service_day_in_seconds(tmp_path):
    tt = read_feed(write_feed(tmp_path / "f"), feed_id="f", service_date="2024-03-07")  # a Thursday
    assert set(tt.trips.trip_id) == {"t1", "t2"}
    t1 = tt.stop_times[tt.stop_times.trip_id == "t1"]
    assert list(t1.stop_id) == ["A", "B", "C"]
    assert list(t1.dep_s) == [8 * 3600, 8 * 3600 + 32 * 60, 9 * 3600]
    assert tt.stop_times[tt.stop_times.trip_id == "t2"].arr_s.max() == 24 * 3600 + 40 * 60  # past midnight stays > 24 h
    assert dict(zip(tt.trips.trip_id, tt.trips.code)) == {"t1": "G1", "t2": "G2"}
    sunday = read_feed(tmp_path / "f", feed_id="f", service_date="20240310")
    assert set(sunday.trips.trip_id) == {"t3"}


def test_frequencies_are_expanded(tmp_path):
    fq = pd.DataFrame({"trip_id": ["t1"], "start_time": ["07:00:00"], "end_time": ["08:00:00"], "headway_secs": [1200], "exact_times": [1]})
    tt = read_feed(write_feed(tmp_path / "f", frequencies=fq), feed_id="f", service_date="2024-03-07")
    firsts = sorted(tt.stop_times.groupby("trip_id").dep_s.first())
    assert [x for x in firsts if x < 9 * 3600] == [7 * 3600, 7 * 3600 + 1200, 7 * 3600 + 2400]
    assert any("frequencies.txt expanded" in n for n in tt.notes)


def test_transfers_give_change_times_and_links(tmp_path):
    tf = pd.DataFrame({"from_stop_id": ["B", "B"], "to_stop_id": ["B", "C"], "transfer_type": [2, 2], "min_transfer_time": [300, 900]})
    tt = read_feed(write_feed(tmp_path / "f", transfers=tf), feed_id="f", service_date="2024-03-07")
    ct = tt.compile(default_change_s=1200)
    assert ct.change_s[ct.stop_index("B")] == 300 and ct.change_s[ct.stop_index("A")] == 1200
    assert list(zip(ct.tf_from, ct.tf_to, ct.tf_s)) == [(ct.stop_index("B"), ct.stop_index("C"), 900)]


@pytest.mark.parametrize("case, what", [
    ("missing", "stops.txt"),
    ("bad_time", "stop_times.txt"),
    ("backwards", "stop_times.txt"),
    ("unknown_stop", "stop_times.txt"),
    ("no_service", "calendar.txt"),
])
def test_bad_feeds_name_the_file_and_the_fix(tmp_path, case, what):
    root = tmp_path / "f"
    good = dict(trip_id=["t1", "t1"], arrival_time=["08:00:00", "08:30:00"], departure_time=["08:00:00", "08:30:00"], stop_id=["A", "B"],
                stop_sequence=[1, 2])
    date = "2024-03-07"
    if case == "missing":
        write_feed(root)
        (root / "stops.txt").unlink()
    elif case == "bad_time":
        write_feed(root, stop_times=pd.DataFrame({**good, "arrival_time": ["8h00", "08:30:00"]}))
    elif case == "backwards":
        write_feed(root, stop_times=pd.DataFrame({**good, "arrival_time": ["08:00:00", "07:30:00"], "departure_time": ["08:00:00", "07:30:00"]}))
    elif case == "unknown_stop":
        write_feed(root, stop_times=pd.DataFrame({**good, "stop_id": ["A", "Z"]}))
    else:
        write_feed(root)
        date = "2030-01-01"
    with pytest.raises(NetworkDataError) as e:
        read_feed(root, feed_id="f", service_date=date)
    msg = str(e.value)
    assert what in msg and "Fix:" in msg and "Traceback" not in msg


def test_to_gtfs_round_trip_and_gtfs_kit_reads_it(tmp_path):
    import gtfs_kit as gk

    tt = read_feed(write_feed(tmp_path / "f"), feed_id="f", service_date="2024-03-07")
    out = tt.to_gtfs(tmp_path / "out")
    back = read_feed(out, feed_id="f", service_date=None)
    pd.testing.assert_frame_equal(back.stop_times.reset_index(drop=True), tt.stop_times.reset_index(drop=True), check_dtype=False)
    q = gk.read_feed(out, dist_units="km").assess_quality()
    assert len(q) > 0
    assert not list(tmp_path.glob(".out*"))  # no temporary folder left beside it


def test_parse_clock():
    assert parse_clock("07:30") == 27000 and parse_clock("25:00:10") == 90010
    for bad in ("7h30", "07:75", "", "99:00"):
        with pytest.raises(ValueError):
            parse_clock(bad)


def test_embedded_feed_is_valid_gtfs(net):
    """The shipped feed reads with gtfs-kit, and every stop is a station place of the bundle."""
    import gtfs_kit as gk

    spec = net._b.transit.feed(net._b.transit.default_feed)
    feed = gk.read_feed(spec.path, dist_units="km")
    q = feed.assess_quality()
    assert len(q)
    tt = net.timetable("timetable-2016")
    st = tt.stop_times
    assert (st.groupby("trip_id").size() >= 2).all()
    same = st.trip_id.to_numpy()[1:] == st.trip_id.to_numpy()[:-1]
    assert (st.dep_s.to_numpy() >= st.arr_s.to_numpy()).all()
    assert (st.arr_s.to_numpy()[1:][same] >= st.dep_s.to_numpy()[:-1][same]).all()
    kinds = net.places.kind.reindex(tt.stops.stop_id)
    assert (kinds == "station").mean() > 0.95
    assert np.isfinite(tt.stops.lat).all()


# ---------------------------------------------------------------------------- a second feed in a bundle
@pytest.fixture
def bundle_with_metro(tmp_path):
    """A copy of the embedded bundle with a small metro feed (frequencies.txt) added in transit.yaml:
    stop M1 beside Tongxiang station, M2 in Tongxiang's centre."""
    import shutil

    import yaml

    from tx_transport.io import DEFAULT_BUNDLE

    b = tmp_path / "b"
    shutil.copytree(DEFAULT_BUNDLE, b)
    st = pd.read_csv(b / "places.csv")
    stn = st.set_index("id").loc["tongxiang-station"]
    ctr = st.set_index("id").loc["tongxiang"]
    feed = b / "transit" / "metro"
    write_feed(feed, stops=pd.DataFrame({"stop_id": ["M1", "M2"], "stop_name": ["桐乡站地铁", "梧桐"],
                                         "stop_lat": [stn.lat + 0.001, ctr.lat], "stop_lon": [stn.lon, ctr.lon]}),
               stop_times=pd.DataFrame({"trip_id": ["t1", "t1", "t2", "t2"], "arrival_time": ["06:00:00", "06:12:00", "06:00:00", "06:12:00"],
                                        "departure_time": ["06:00:00", "06:12:00", "06:00:00", "06:12:00"],
                                        "stop_id": ["M2", "M1", "M1", "M2"], "stop_sequence": [1, 2, 1, 2]}),
               frequencies=pd.DataFrame({"trip_id": ["t1", "t2"], "start_time": ["06:00:00", "06:00:00"], "end_time": ["23:00:00", "23:00:00"],
                                         "headway_secs": [300, 300], "exact_times": [1, 1]}))
    cfg = yaml.safe_load((b / "transit.yaml").read_text(encoding="utf-8"))
    cfg["feeds"].append({"id": "metro", "path": "transit/metro", "service_date": "2024-03-07", "source": "test feed"})
    (b / "transit.yaml").write_text(yaml.safe_dump(cfg, allow_unicode=True, sort_keys=False), encoding="utf-8")
    sc = yaml.safe_load((b / "scenarios.yaml").read_text(encoding="utf-8"))
    sc["scenarios"]["with-metro"] = {"description": "baseline with a metro", "opened_by": 2020,
                                    "timetable": {"feeds": ["cr-2016", "metro"]}}
    (b / "scenarios.yaml").write_text(yaml.safe_dump(sc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return b


def test_several_feeds_at_once_are_joined_to_roads_and_to_each_other(bundle_with_metro):
    import tx_transport as tx

    net = tx.load_network(bundle_with_metro)
    tt = net.timetable("with-metro")
    assert {"metro:M1", "metro:M2"} <= set(tt.stops.stop_id)   # stops of another feed keep their own ids
    assert (tt.trips.feed == "metro").sum() > 300               # frequencies.txt expanded: every 5 min, both ways
    walk = tt.transfers[(tt.transfers["mode"] == "walk")]
    assert {("metro:M1", "tongxiang-station"), ("tongxiang-station", "metro:M1")} <= set(zip(walk.from_stop, walk.to_stop))
    joins = net.stop_joins("with-metro").set_index("stop_id")
    assert joins.loc["metro:M2", "joined_by"] == "nearest road node" and joins.loc["metro:M2", "distance_km"] < 3
    # the metro takes the train traveller from the centre to the station: rail beats the car to Hongqiao at least as often
    with_m = net.transit_table(["tongxiang"], ["shanghai-hongqiao"], scenario="with-metro").iloc[0]
    without = net.transit_table(["tongxiang"], ["shanghai-hongqiao"], scenario="baseline-2020").iloc[0]
    assert with_m.p50_min <= without.p50_min + 1e-9


def test_a_feed_stop_far_from_every_road_is_an_error_naming_it(bundle_with_metro):
    import tx_transport as tx

    f = bundle_with_metro / "transit" / "metro" / "stops.txt"
    s = pd.read_csv(f)
    s.loc[s.stop_id == "M2", "stop_lat"] = 30.45   # in Tongxiang's box, but kilometres from any main road? move it to a lake
    s.loc[s.stop_id == "M2", "stop_lon"] = 121.0
    s.to_csv(f, index=False)
    net = tx.load_network(bundle_with_metro)
    joins = None
    try:
        joins = net.stop_joins("with-metro")
    except NetworkDataError as e:
        assert "stop 'metro:M2'" in str(e) and "stop_join_max_km" in str(e)
    else:
        d = joins.set_index("stop_id").loc["metro:M2", "distance_km"]
        assert d <= net._b.transit.stop_join_max_km  # joined only when within the limit
