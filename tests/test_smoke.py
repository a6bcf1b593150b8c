"""End-to-end smoke tests on the embedded network (more specific tests live per module)."""

import math

import networkx as nx
import pytest

import tx_transport as tx


def test_load_embedded(net):
    assert {"baseline-2020", "plan-2025", "actual-2026", "vision-2035"} <= set(net.scenarios)
    assert net.places.crs.to_epsg() == 4326
    assert "tongxiang-station" in net.places.index


def test_rail_route_matches_networkx(net):
    r = net.route("tongxiang-station", "shanghai-hongqiao", scenario="baseline-2020", profile="rail")
    H = net.graph("baseline-2020", profile="rail")
    ref = nx.shortest_path_length(H, "place:tongxiang-station", "place:shanghai-hongqiao", weight="travel_time")
    # the rail profile refunds the single street boarding (board_once_penalty_min)
    ref -= net._b.profiles["rail"]["board_once_penalty_min"] * 60
    assert math.isclose(r.time_min, ref / 60, abs_tol=1 / 60)
    assert 20 < r.time_min < 60


def test_unknown_place_is_query_error(net):
    with pytest.raises(tx.QueryError, match="unknown place 'nowhere'"):
        net.route("nowhere", "tongxiang")
