"""The timetable router: hand-checked cases on a small timetable, and an independent oracle
(Dijkstra on a time-expanded networkx graph, tests/transit_oracle.py) on random timetables and on
the embedded feed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from transit_oracle import TimeExpandedOracle

from tx_transport.transit import Timetable
from tx_transport.transit.timetable import ST_COLS, STOP_COLS, TF_COLS, TRIP_COLS

H = 3600


def make_tt(trips: dict[str, list[tuple[str, float, float]]], transfers=(), change=None) -> Timetable:
    """trips: trip id -> [(stop, arr_h, dep_h)] (hours)."""
    stops = sorted({s for evs in trips.values() for s, _, _ in evs} | {t for f, t, _ in transfers} | {f for f, _, _ in transfers})
    sp = pd.DataFrame([{"stop_id": s, "stop_name": s, "lon": 120.0 + i * 0.01, "lat": 30.0, "feed": "t"} for i, s in enumerate(stops)],
                      columns=STOP_COLS)
    tr = pd.DataFrame([{"trip_id": t, "route_id": t, "code": t.upper(), "feed": "t", "origin": "t"} for t in trips], columns=TRIP_COLS)
    rows = [(t, s, round(a * H), round(d * H)) for t, evs in trips.items() for s, a, d in evs]
    stt = pd.DataFrame(rows, columns=ST_COLS)
    tf = [{"from_stop": f, "to_stop": t, "min_s": m * 60, "mode": "metro", "source": "test"} for f, t, m in transfers]
    tf += [{"from_stop": s, "to_stop": s, "min_s": m * 60, "mode": "change", "source": "test"} for s, m in (change or {}).items()]
    return Timetable(sp, tr, stt, pd.DataFrame(tf, columns=TF_COLS), name="test")


def ea(ct, origin: str, t_h: float, **kw) -> dict[str, float]:
    r0 = np.full(ct.n_stops, np.inf)
    r0[ct.stop_index(origin)] = t_h * H
    a = ct.earliest_arrival(r0, **kw)[0]
    return {s: a[i] / H for i, s in enumerate(ct.stop_ids) if np.isfinite(a[i])}


# ---------------------------------------------------------------------------- hand-checked cases
def test_direct_and_change_with_minimum_change_time():
    tt = make_tt({
        "a": [("A", 8.0, 8.0), ("B", 8.5, 8.55), ("C", 9.0, 9.0)],
        "b": [("B", 8.6, 8.6), ("D", 9.0, 9.0)],       # leaves B 3 min after a arrives: too short a change
        "c": [("B", 8.75, 8.75), ("D", 9.25, 9.25)],   # 12 min after: catchable with a 10-min change
    })
    ct = tt.compile(default_change_s=600)
    r = ea(ct, "A", 7.9)
    assert r["B"] == pytest.approx(8.5) and r["C"] == pytest.approx(9.0)
    assert r["D"] == pytest.approx(9.25)  # the 8:36 train is missed, the 8:45 one is taken
    ct0 = tt.compile(default_change_s=0)
    assert ea(ct0, "A", 7.9)["D"] == pytest.approx(9.0)
    # ready after the departure: nothing is reached from A
    assert ea(ct, "A", 8.01) == {}


def test_staying_on_board_costs_nothing_and_rounds_limit_changes():
    tt = make_tt({
        "a": [("A", 8.0, 8.0), ("B", 8.5, 8.6), ("C", 9.0, 9.0)],
        "b": [("C", 9.5, 9.5), ("D", 10.0, 10.0)],
    })
    ct = tt.compile(default_change_s=600)
    assert ea(ct, "A", 8.0)["C"] == pytest.approx(9.0)  # through B on the same train: no change time
    assert "D" not in ea(ct, "A", 8.0, max_rounds=1)
    assert ea(ct, "A", 8.0, max_rounds=2)["D"] == pytest.approx(10.0)


def test_per_station_change_time_and_transfers_between_stations():
    tt = make_tt({
        "a": [("A", 8.0, 8.0), ("B", 8.5, 8.5)],
        "b": [("B", 8.6, 8.6), ("C", 9.0, 9.0)],
        "c": [("X", 9.0, 9.0), ("Y", 9.5, 9.5)],
    }, transfers=[("B", "X", 20)], change={"B": 5})
    ct = tt.compile(default_change_s=1800)
    r = ea(ct, "A", 8.0)
    assert r["C"] == pytest.approx(9.0)  # B's own 5-min change applies, not the 30-min default
    assert r["Y"] == pytest.approx(9.5)  # B → X transfer of 20 min reaches the 9:00 train at X
    tt2 = make_tt({"a": [("A", 8.0, 8.0), ("B", 8.5, 8.5)], "c": [("X", 8.7, 8.7), ("Y", 9.5, 9.5)]}, transfers=[("B", "X", 20)])
    assert "Y" not in ea(tt2.compile(default_change_s=600), "A", 8.0)  # 8:30 + 20 min > 8:42


def test_repeat_daily_adds_the_previous_evening_run():
    tt = make_tt({"n": [("A", 23.0, 23.0), ("B", 24.5, 24.6), ("C", 25.5, 25.5)]})
    r = ea(tt.compile(default_change_s=600), "B", 0.2)
    assert r["C"] == pytest.approx(1.5)  # the train that left A at 23:00 yesterday, from B at 00:36
    # without the repeat, only the run of the service day itself: 24 h later
    assert ea(tt.compile(default_change_s=600, repeat_daily=False), "B", 0.2)["C"] == pytest.approx(25.5)


def test_journey_lists_trains_and_changes():
    tt = make_tt({
        "a": [("A", 8.0, 8.0), ("B", 8.5, 8.5)],
        "b": [("B", 8.75, 8.75), ("C", 9.0, 9.0)],
        "c": [("A", 7.0, 7.0), ("C", 9.5, 9.5)],  # slower direct train
    })
    ct = tt.compile(default_change_s=600)
    r0 = np.full(ct.n_stops, np.inf)
    r0[ct.stop_index("A")] = 6.5 * H
    arr, legs = ct.journey(r0, ct.stop_index("C"))
    assert arr == 9.0 * H
    assert [(leg.kind, str(ct.trip_codes[leg.trip])) for leg in legs] == [("train", "A"), ("train", "B")]
    assert legs[1].dep_s - legs[0].arr_s >= 600


def test_fastest_journey_and_direct_counts():
    tt = make_tt({
        "s1": [("A", 7.0, 7.0), ("B", 8.0, 8.0)],        # 60 min
        "f1": [("A", 9.0, 9.0), ("B", 9.75, 9.75)],      # 45 min: the fastest of the day
        "s2": [("B", 10.0, 10.0), ("A", 11.0, 11.0)],
    })
    ct = tt.compile(default_change_s=600)
    F = ct.fastest_journeys()
    a, b = ct.stop_index("A"), ct.stop_index("B")
    assert F[a, b] == 45 * 60 and F[b, a] == 60 * 60 and F[a, a] == 0
    n = ct.direct_trips()
    assert n[a, b] == 2 and n[b, a] == 1
    assert ct.fastest_direct_s()[a, b] == 45 * 60


def test_restrict_keeps_arrivals_inside_the_interval():
    tt = make_tt({"x": [("A", 6.0, 6.0), ("B", 7.0, 7.0)], "y": [("A", 8.0, 8.0), ("B", 9.0, 9.0)],
                  "z": [("A", 20.0, 20.0), ("B", 21.0, 21.0)]})
    ct = tt.compile(default_change_s=600)
    sub = ct.restrict(7.5 * H, 12 * H)
    assert sub.n_trips == 1 and list(sub.stop_ids) == list(ct.stop_ids)
    assert ea(sub, "A", 7.5)["B"] == ea(ct, "A", 7.5)["B"] == pytest.approx(9.0)


# ---------------------------------------------------------------------------- oracle on random timetables
@st.composite
def random_timetable(draw):
    n_stops = draw(st.integers(3, 7))
    stops = [f"S{i}" for i in range(n_stops)]
    trips = {}
    for t in range(draw(st.integers(1, 12))):
        k = draw(st.integers(2, n_stops))
        seq = draw(st.permutations(stops))[:k]
        t0 = draw(st.integers(5 * 60, 22 * 60))
        evs, now = [], t0
        for i, s in enumerate(seq):
            if i:
                now += draw(st.integers(5, 90))
            arr = now
            dwell = draw(st.integers(0, 5)) if 0 < i < k - 1 else 0
            now += dwell
            evs.append((s, arr / 60.0, now / 60.0))
        trips[f"t{t}"] = evs
    transfers = []
    for _ in range(draw(st.integers(0, 3))):
        a, b = draw(st.sampled_from(stops)), draw(st.sampled_from(stops))
        if a != b:
            transfers.append((a, b, draw(st.integers(1, 60))))
    tt = make_tt(trips, transfers)
    return tt, draw(st.sampled_from(sorted(tt.stops.stop_id))), draw(st.integers(4 * 60, 23 * 60)) / 60.0, draw(st.integers(0, 20))


@settings(max_examples=200, deadline=None)
@given(random_timetable())
def test_raptor_equals_time_expanded_dijkstra_on_random_timetables(case):
    tt, origin, t_h, change_min = case
    ct = tt.compile(default_change_s=change_min * 60)
    got = ea(ct, origin, t_h, max_rounds=20)
    tf = list(zip(tt.transfers.from_stop, tt.transfers.to_stop, tt.transfers.min_s))
    oracle = TimeExpandedOracle(tt.stop_times, {}, change_min * 60, tf)
    want = {s: v / H for s, v in oracle.earliest_arrival({origin: t_h * H}).items()}
    assert got.keys() == want.keys()
    for s in want:
        assert got[s] == pytest.approx(want[s], abs=1e-9)


# ---------------------------------------------------------------------------- the embedded feed
@pytest.fixture(scope="module")
def feed_tt(net):
    return net.timetable("timetable-2016")


def test_raptor_equals_oracle_on_the_real_feed(net, feed_tt):
    ct = net.compiled_timetable("timetable-2016")
    tf = ct.tf_from, ct.tf_to, ct.tf_s
    change = {str(ct.stop_ids[i]): float(c) for i, c in enumerate(ct.change_s) if c != net._b.transit.change_min * 60}
    oracle = TimeExpandedOracle(feed_tt.stop_times, change, net._b.transit.change_min * 60,
                                [(str(ct.stop_ids[f]), str(ct.stop_ids[t]), float(s)) for f, t, s in zip(*tf)])
    served = np.unique(ct.ev_stop)
    rng = np.random.default_rng(20161)
    for _ in range(300):
        o = int(rng.choice(served))
        t0 = float(rng.integers(0, 24 * 3600))
        r0 = np.full(ct.n_stops, np.inf)
        r0[o] = t0
        got = ct.earliest_arrival(r0, max_rounds=12)[0]
        want = np.full(ct.n_stops, np.inf)
        for s, v in oracle.earliest_arrival({str(ct.stop_ids[o]): t0}).items():
            want[ct.stop_index(s)] = v
        np.testing.assert_array_equal(got, want)


def test_as_is_scenario_reproduces_the_feeds_fastest_trains(net, feed_tt):
    """For every station pair with a direct train, the fastest journey of the day is the feed's
    fastest direct train, or faster only through a real connection (checked leg by leg)."""
    ct = net.compiled_timetable("timetable-2016")
    st = feed_tt.stop_times
    # the feed's own fastest direct trains, computed independently from the stop_times table
    rows = []
    for _tid, g in st.groupby("trip_id", sort=False):
        s, arr, dep = g.stop_id.to_numpy(), g.arr_s.to_numpy(), g.dep_s.to_numpy()
        for i in range(len(s) - 1):
            for j in range(i + 1, len(s)):
                rows.append((s[i], s[j], arr[j] - dep[i]))
    direct = pd.DataFrame(rows, columns=["a", "b", "t"]).groupby(["a", "b"]).t.min()
    F = ct.fastest_journeys(max_rounds=5)
    faster = []
    for (a, b), t in direct.items():
        f = F[ct.stop_index(a), ct.stop_index(b)]
        assert f <= t, (a, b, f, t)
        if f < t:
            faster.append((a, b))
    assert len(faster) < len(direct)  # most pairs: the fastest direct train is the fastest journey
    for a, b in faster[:: max(1, len(faster) // 40)]:
        r = net.route(a, b, scenario="timetable-2016", profile="rail")
        trains = r.legs[r.legs["mode"] == "rail"]
        assert len(trains) >= 2 and r.time_min * 60 == pytest.approx(F[ct.stop_index(a), ct.stop_index(b)])
