"""Door to door over the timetable, against an independent oracle: plain networkx Dijkstra on the
scenario's car graph for the road legs, and the time-expanded timetable graph for the trains."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
from transit_oracle import TimeExpandedOracle

SCEN = "timetable-2016"


@pytest.fixture(scope="module")
def setup(net):
    k = net.door_to_door(SCEN)
    G = net.graph(SCEN, profile="car")
    tt = net.timetable(SCEN)
    ct = k.tt
    change = {str(ct.stop_ids[i]): float(c) for i, c in enumerate(ct.change_s) if c != net._b.transit.change_min * 60}
    oracle = TimeExpandedOracle(tt.stop_times, change, net._b.transit.change_min * 60,
                                [(str(ct.stop_ids[f]), str(ct.stop_ids[t]), float(s)) for f, t, s in zip(ct.tf_from, ct.tf_to, ct.tf_s)])
    return k, G, oracle


@pytest.mark.parametrize("origin, dest", [("tongxiang", "shanghai"), ("shanghai-hongqiao", "hangzhou"), ("jiaxing", "ningbo"),
                                          ("tongxiang", "nanjing")])
def test_window_times_equal_the_oracle(net, setup, origin, dest):
    k, G, oracle = setup
    ct = k.tt
    key = "travel_time_peak" if net._b.profiles["door-to-door"].get("period") == "peak" else "travel_time"

    def w(u, v, d):  # the door-to-door profile's road period (edges without a peak time keep their free-flow time)
        return min(e.get(key, e["travel_time"]) for e in d.values())

    car_from_o = nx.single_source_dijkstra_path_length(G, f"place:{origin}", weight=w)
    car_to_d = nx.single_source_dijkstra_path_length(G.reverse(copy=False), f"place:{dest}", weight=w)
    # where each stop meets the road (the documented joining rule): its place node, or the nearest
    # road node plus a connector time for a stop that is not a place
    join = {str(s): (k.car.nodes[n], float(js)) for s, n, js in zip(ct.stop_ids, k.stop_node, k.stop_join_s) if n >= 0}
    acc = {s: car_from_o[n] + js for s, (n, js) in join.items() if n in car_from_o}
    egr = {s: car_to_d[n] + js for s, (n, js) in join.items() if n in car_to_d}
    src = int(net._idx(k.car, [f"place:{origin}"])[0])
    dst = int(net._idx(k.car, [f"place:{dest}"])[0])
    w, _ = k.window_times(src, np.array([dst]))
    mins = k.minutes_s
    for j in (0, 17, 60, 93, len(mins) - 1):
        t = float(mins[j])
        ready = {s: t + a + k.enter_s for s, a in acc.items() if a <= k.access_max_s}
        ea = oracle.earliest_arrival(ready) if ready else {}
        best = car_from_o.get(f"place:{dest}", np.inf)
        for b, arr in ea.items():
            eg = egr.get(b, np.inf)
            if eg <= k.egress_max_s and arr <= k.window_end_s + k.horizon_s:
                best = min(best, arr + k.exit_s + eg - t)
        assert w[j, 0] == pytest.approx(best, abs=1.0), (origin, dest, j)


def test_door_to_door_never_slower_than_the_car_and_rail_wins_somewhere(net):
    places = ["tongxiang", "shanghai", "hangzhou", "jiaxing", "ningbo", "nanjing", "suzhou", "shanghai-hongqiao", "hangzhou-east"]
    d2d = net.travel_times(places, places, scenario=SCEN, profile="door-to-door")
    car = net.travel_times(places, places, scenario=SCEN, profile="car", period="peak")  # the window is the morning peak
    assert (d2d.to_numpy() <= car.to_numpy() + 1e-6).all()
    assert (d2d.to_numpy() < car.to_numpy() - 5).any()


def test_transit_table_percentiles_are_ordered(net):
    t = net.transit_table(["tongxiang", "jiaxing"], ["shanghai", "hangzhou", "ningbo"], scenario=SCEN)
    cols = ["min_min", "p5_min", "p25_min", "p50_min", "p75_min", "p95_min"]
    vals = t[cols].to_numpy()
    assert (np.diff(vals, axis=1) >= -1e-9).all()
    assert (t.p95_min <= t.car_min + 1e-6).all()
    d2d = net.travel_times(["tongxiang", "jiaxing"], ["shanghai", "hangzhou", "ningbo"], scenario=SCEN, profile="door-to-door")
    assert np.allclose(t.p50_min.to_numpy(), d2d.to_numpy().ravel())


def test_door_to_door_route_adds_up(net):
    r = net.route("shanghai-hongqiao", "hangzhou", scenario=SCEN, profile="door-to-door")
    assert r.legs.time_min.sum() == pytest.approx(r.time_min, abs=0.05)
    if (r.legs["mode"] == "rail").any():
        assert {"station", "rail"} <= set(r.legs["mode"])
        assert r.legs.loc[r.legs["mode"] == "rail", "train"].str.len().gt(0).all()


def test_door_to_door_isochrone_contains_the_car_isochrone(net):
    car = net.isochrones("shanghai-hongqiao", [60, 120], scenario=SCEN, profile="car", period="peak")
    d2d = net.isochrones("shanghai-hongqiao", [60, 120], scenario=SCEN, profile="door-to-door")
    for c, d in zip(car.itertuples(), d2d.itertuples()):
        assert d.area_km2 >= c.area_km2 - 1.0
        assert d.geometry.buffer(1e-3).contains(c.geometry.buffer(-1e-3))
    assert d2d.area_km2.iloc[-1] > car.area_km2.iloc[-1] + 1000  # from Hongqiao the trains reach much further in two hours
