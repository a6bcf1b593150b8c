"""Service edits (Conveyal-style modifications) applied to a timetable, checked against hand-computed
times and the rail physics of tx_transport.rail."""

from __future__ import annotations

import pandas as pd
import pytest
from test_raptor import make_tt

from tx_transport.rail import run_time_s
from tx_transport.transit.edits import EditContext, EditError, RailLine, apply_edits, select_trips

H = 3600


def near(x):
    """Equal to the second: edited times are rounded to whole seconds, as GTFS times are (a time
    computed here from a rounded one may differ by one rounding more)."""
    return pytest.approx(x, abs=1.0 / H)


@pytest.fixture
def ctx():
    places = pd.DataFrame({"name_zh": ["甲站", "乙站", "丙站", "丁站", "戊站"], "lon": [120.0, 120.1, 120.2, 120.3, 120.4],
                           "lat": [30.0] * 5}, index=["A", "B", "C", "D", "E"])
    line = RailLine("L", ["A", "B", "C", "D"], [0.0, 30.0, 50.0, 90.0], 300.0, 0.3, 0.5, 2.0)
    return EditContext({"L": line}, places, supplement=0.05)


@pytest.fixture
def tt():
    return make_tt({
        "g1": [("A", 8.0, 8.0), ("C", 8.25, 8.3), ("D", 8.5, 8.5)],
        "g2": [("A", 9.0, 9.0), ("B", 9.15, 9.2), ("D", 9.5, 9.5)],
        "d1": [("D", 10.0, 10.0), ("A", 10.6, 10.6)],
    })


def times(t, trip):
    g = t.stop_times[t.stop_times.trip_id == trip]
    return list(zip(g.stop_id, g.arr_s / H, g.dep_s / H))


def test_add_trip_pattern_uses_rail_physics_and_frequencies(tt, ctx):
    e = {"id": "new", "type": "add-trip-pattern", "project": "L", "stops": ["A", "C", "D"], "dwell_min": 2,
         "frequencies": [{"start": "07:00", "end": "08:00", "headway_min": 30}]}
    out = apply_edits(tt, [e], ctx)
    new = out.trips[out.trips.origin == "new"]
    assert len(new) == 4  # 07:00, 07:30 in both directions
    run_ac = run_time_s(50.0, 300.0, 0.3, 0.5) * 1.05
    run_cd = run_time_s(40.0, 300.0, 0.3, 0.5) * 1.05
    a = times(out, "new:a:0700")
    assert a[0] == ("A", 7.0, 7.0)
    assert a[1][1] == near(7.0 + run_ac / H)
    assert a[1][2] == near(a[1][1] + 2 / 60)
    assert a[2][1] == near(a[1][2] + run_cd / H)
    b = times(out, "new:b:0730")
    assert [s for s, _, _ in b] == ["D", "C", "A"] and b[0][2] == 7.5
    assert len(tt.trips) == 3  # the input is not changed


def test_add_trip_pattern_with_sourced_running_times(tt, ctx):
    e = {"id": "p", "type": "add-trip-pattern", "stops": ["A", "E"], "hop_min": [25], "departures": ["06:05"], "both_directions": False}
    out = apply_edits(tt, [e], ctx)
    assert times(out, "p:a:0605") == [("A", 6 + 5 / 60, 6 + 5 / 60), ("E", 6 + 30 / 60, 6 + 30 / 60)]
    with pytest.raises(EditError, match="no running times"):
        apply_edits(tt, [{**e, "hop_min": None}], ctx)


def test_add_stops_costs_dwell_and_braking(tt, ctx):
    e = {"id": "s", "type": "add-stops", "select": {"trips": ["g1"]}, "stops": ["B"], "dwell_min": 2}
    out = apply_edits(tt, [e], ctx)
    g = times(out, "g1")
    assert [s for s, _, _ in g] == ["A", "B", "C", "D"]
    pen = ctx.lines["L"].stop_penalty_s()
    share = 30.0 / 50.0
    assert g[1][1] == near(8.0 + (0.25 * H * share + pen / 2) / H)
    assert g[2][1] == near(8.25 + (120 + pen) / H)  # every later call shifts by dwell + penalty
    assert times(out, "g2") == times(tt, "g2")


def test_remove_stops_saves_dwell_and_braking(tt, ctx):
    out = apply_edits(tt, [{"id": "r", "type": "remove-stops", "select": {"trips": ["g2"]}, "stops": ["B"]}], ctx)
    saved = 0.05 * H + ctx.lines["L"].stop_penalty_s()
    assert times(out, "g2") == [("A", 9.0, 9.0), ("D", near(9.5 - saved / H), near(9.5 - saved / H))]


def test_adjust_dwell_speed_remove_trips(tt, ctx):
    out = apply_edits(tt, [{"id": "d", "type": "adjust-dwell", "select": {"trips": ["g1"]}, "stops": "all", "dwell_min": 6}], ctx)
    assert times(out, "g1")[1][2] == near(8.35) and times(out, "g1")[2][1] == near(8.55)
    out = apply_edits(tt, [{"id": "v", "type": "adjust-speed", "select": {"trips": ["d1"]}, "between": ["D", "A"], "factor": 0.5}], ctx)
    assert times(out, "d1")[1][1] == near(10.3)
    out = apply_edits(tt, [{"id": "x", "type": "remove-trips", "select": {"train": "^G"}}], ctx)
    assert list(out.trips.trip_id) == ["d1"] and set(out.stop_times.trip_id) == {"d1"}


def test_adjust_frequency_turns_trips_into_a_frequency_pattern(tt, ctx):
    e = {"id": "f", "type": "adjust-frequency", "select": {"trips": ["g1"]}, "frequencies": [{"start": "08:00", "end": "09:00", "headway_min": 20}]}
    out = apply_edits(tt, [e], ctx)
    made = out.trips[out.trips.origin == "f"].trip_id
    assert len(made) == 3 and "g1" not in set(out.trips.trip_id)
    first = out.stop_times[out.stop_times.trip_id.isin(made)].groupby("trip_id").dep_s.first().sort_values() / H
    assert list(first) == pytest.approx([8.0, 8 + 1 / 3, 8 + 2 / 3], abs=0.51 / H)
    g = times(out, made.iloc[1])
    assert g[2][1] - g[0][2] == near(0.5)  # the pattern's running time is kept


def test_selection(tt):
    assert select_trips(tt, {"train": "^G"}) == ["g1", "g2"]
    assert select_trips(tt, {"serving": ["B"]}) == ["g2"]
    assert select_trips(tt, {"between": ["D", "A"]}) == ["d1"]
    assert select_trips(tt, {"between": ["A", "D"], "share": 0.5}) == ["g1"]
    assert select_trips(tt, {"train": "^X"}) == []


def test_scenarios_get_their_projects_edits(net):
    """A rail project's service edits run exactly in the scenarios where the project is in service."""
    with_edits = {e["project"] for e in net._b.services if e.get("project")}
    for name in net.scenarios:
        sel = net.selection(name)
        tt = net.timetable(name)
        origins = set(tt.trips.origin)
        expected = {e["id"] for e in net._transit.scenario_edits(sel) if e["type"] == "add-trip-pattern"}
        assert expected <= origins
        if not sel.timetable.get("project_edits", True):
            assert origins <= {f.id for f in net._b.transit.feeds}
    base = net.timetable("timetable-2016")
    assert set(base.trips.origin) == {net._b.transit.default_feed}
    assert with_edits  # the bundle has project edits at all
