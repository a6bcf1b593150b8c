"""End-to-end smoke tests on the embedded network (more specific tests live per module)."""

import math

import pytest

import tx_transport as tx


def test_load_embedded(net):
    assert {"baseline-2020", "plan-2025", "actual-2026", "vision-2035"} <= set(net.scenarios)
    assert net.places.crs.to_epsg() == 4326
    assert "tongxiang-station" in net.places.index


def test_rail_route_is_a_real_train(net):
    r = net.route("tongxiang-station", "shanghai-hongqiao", scenario="baseline-2020", profile="rail")
    tt = net.timetable("baseline-2020")
    trains = r.legs[r.legs["mode"] == "rail"]
    assert len(trains) == 1  # a direct train: the fastest journey of the day
    code = trains.train.iloc[0]
    trip = tt.trips.trip_id[tt.trips.code == code]
    st = tt.stop_times[tt.stop_times.trip_id.isin(trip)].set_index("stop_id")
    assert math.isclose(r.time_min, (st.arr_s["shanghai-hongqiao"] - st.dep_s["tongxiang-station"]) / 60, abs_tol=1e-9)
    assert 20 < r.time_min < 60


def test_unknown_place_is_query_error(net):
    with pytest.raises(tx.QueryError, match="unknown place 'nowhere'"):
        net.route("nowhere", "tongxiang")
