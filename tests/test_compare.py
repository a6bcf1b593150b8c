"""Scenario comparison and per-project attribution on the embedded network."""

import numpy as np
import pytest

from tx_transport.comparison import compare


@pytest.fixture(scope="module")
def cmp_plan(net):
    return compare(net, "baseline-2020", "plan-2025", progress=False)


def test_goal_changes(cmp_plan):
    g = cmp_plan.goals
    assert set(g.change) <= {"newly met", "lost", "still met", "still not met"}
    newly = g[g.change == "newly met"]
    assert {"rail-km", "expressway-km"} <= set(newly.goal)
    s = cmp_plan.summary()
    assert s["goals_met_b"] - s["goals_met_a"] == s["goals_newly_met"] - s["goals_lost"]


def test_od_deltas_consistent(cmp_plan):
    od = cmp_plan.od
    ok = od.time_a.notna() & od.time_b.notna()
    assert np.allclose(od.delta_min[ok], (od.time_b - od.time_a)[ok])
    # adding links never makes a car trip slower (baseline is a subset of the plan)
    car = od[ok & (od.profile == "car")]
    assert (car.delta_min <= 1e-6).all()
    # S9 Sutai II gives Wuzhen a direct expressway south to the Qianjiang tunnel (baseline: local
    # roads to G60 first): a gain of minutes, not a rounding error
    wz = car[(car.origin == "wuzhen") & (car.destination == "hangzhou-xiaoshan-airport")].delta_min.iloc[0]
    assert wz < -2


def test_isochrone_area_grows(cmp_plan):
    a = cmp_plan.isochrone_area
    car = a[a.profile == "car"]
    assert (car.area_b_km2 >= car.area_a_km2 - 1).all()
    assert (car.gained_km2 >= 0).all() and (car.lost_km2 >= 0).all()
    assert np.allclose(car.area_b_km2 - car.area_a_km2, car.gained_km2 - car.lost_km2, atol=2.0)


def test_attribution_names_the_big_projects(net, cmp_plan):
    att = cmp_plan.attribution.set_index("project")
    diff = set(net.selection("plan-2025").projects) ^ set(net.selection("baseline-2020").projects)
    assert set(att.index) == diff
    assert att.loc["s9-sutai-ii", "saved_min_added_to_a"] > 10
    assert att.loc["hangzhou-airport-rail", "saved_min_added_to_a"] > 5
    assert (att.saved_min_added_to_a >= -1e-6).all()
    det = cmp_plan.attribution_detail
    s9 = det[(det.project == "s9-sutai-ii") & det.test.str.startswith("added")]
    assert (s9.saved_min > 0).any()


def test_compare_with_itself_is_empty(net):
    c = compare(net, "plan-2025", "plan-2025", progress=False, profiles=("car",))
    assert len(c.attribution) == 0
    assert (c.goals.change.isin(["still met", "still not met"])).all()
    assert np.allclose(c.od.delta_min.dropna(), 0)
