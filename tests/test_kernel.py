"""The compiled kernel (tx_transport.kernel) against networkx, and the rail running-time physics.

Property tests draw small MultiDiGraphs (parallel edges, zero-cost edges, self loops, isolated
nodes, int / str / mixed node ids, several projects and edge kinds) and random profiles, and
compare ``EdgeTable.compile`` + ``CompiledGraph.dijkstra`` with networkx on an independently
filtered graph.
"""

from __future__ import annotations

import dataclasses
import math
import pickle

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tx_transport.kernel import EPS_S, CompiledGraph, EdgeTable
from tx_transport.rail import run_time_s

#: Agreement asked of the kernel (s). Distances carry EPS_S per edge; far below this.
TOL = 1e-3
KINDS = ["road", "ramp", "connector", "port_transfer", "waterway"]
PROJECTS = ["p1", "p2", "junction:j1"]
PROP = settings(max_examples=60, deadline=None, database=None)


# --------------------------------------------------------------------------- strategies
@st.composite
def graphs(draw, kinds=tuple(KINDS), max_nodes=8, max_edges=24):
    n = draw(st.integers(1, max_nodes))
    style = draw(st.sampled_from(["int", "str", "mixed"]))

    def label(i):
        if style == "int" or (style == "mixed" and i % 2):
            return i * 7 + 3  # not 0..n-1, so that labels and matrix indices differ
        return f"place:{i}" if i % 3 == 0 else f"n{i}"

    labels = [label(i) for i in range(n)]
    weight = st.one_of(st.just(0), st.integers(0, 600))  # seconds; zero-cost edges are frequent
    edges = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1), weight,
                                    st.sampled_from(list(kinds)), st.sampled_from(PROJECTS)), max_size=max_edges))
    G = nx.MultiDiGraph()
    for i, x in enumerate(labels):
        G.add_node(x, x=120.0 + i / 100, y=30.0 + i / 100)
    for a, b, w, k, p in edges:
        G.add_edge(labels[a], labels[b], travel_time=float(w), kind=k, project=p, mode="road", length=100.0 * w)
    return G


@st.composite
def profiles(draw, kinds=tuple(KINDS)):
    use = draw(st.lists(st.sampled_from(list(kinds)), min_size=1, unique=True))
    cost = draw(st.dictionaries(st.sampled_from(list(kinds)), st.one_of(st.just("base"), st.integers(0, 3)), max_size=3))
    return {"use": use, "cost": cost}


projects_st = st.sets(st.sampled_from(["p1", "p2"]))


def draw_limit(data, reference: dict) -> float:
    """No limit, a round number, or exactly the time of a reached node (the boundary case)."""
    exact = sorted({float(t) for t in reference.values()})
    return data.draw(st.one_of(st.just(np.inf), st.integers(0, 2000).map(float), st.sampled_from(exact)))


# --------------------------------------------------------------------------- the oracle
def usable_graph(G: nx.MultiDiGraph, projects, profile) -> nx.MultiDiGraph:
    """The edges the scenario and profile allow, weighted as the profile says (no penalty)."""
    H = nx.MultiDiGraph()
    H.add_nodes_from(G)
    for a, b, d in G.edges(data=True):
        if not (d["project"] in projects or d["project"].startswith("junction:")) or d["kind"] not in profile["use"]:
            continue
        c = (profile.get("cost") or {}).get(d["kind"], "base")
        H.add_edge(a, b, w=d["travel_time"] if c == "base" else float(c) * 60.0, kind=d["kind"])
    return H


def oracle_lengths(H, sources, limit) -> dict:
    cutoff = None if math.isinf(limit) else limit
    return nx.multi_source_dijkstra_path_length(H, list(sources), cutoff=cutoff, weight="w")


def assert_agree(cg: CompiledGraph, dist: np.ndarray, ref: dict) -> None:
    assert dist.shape == (len(cg.nodes),)
    for i, x in enumerate(cg.nodes):
        if x in ref:
            assert np.isfinite(dist[i]), (x, ref[x])
            assert abs(dist[i] - ref[x]) <= TOL, (x, dist[i], ref[x])
        else:
            assert np.isinf(dist[i]), (x, dist[i])


# --------------------------------------------------------------------------- properties
@PROP
@given(graphs(), profiles(), projects_st, st.data())
def test_single_source_matches_networkx(G, profile, projects, data):
    cg = EdgeTable.from_graph(G).compile(projects, profile)
    assert cg.nodes == list(G.nodes)
    H = usable_graph(G, projects, profile)
    limit = draw_limit(data, oracle_lengths(H, [cg.nodes[0]], np.inf))
    dist = cg.dijkstra(np.arange(len(cg.nodes)), limit_s=limit)
    assert dist.shape == (len(cg.nodes), len(cg.nodes))
    for i, s in enumerate(cg.nodes):
        assert_agree(cg, dist[i], oracle_lengths(H, [s], limit))


@PROP
@given(graphs(), profiles(), projects_st, st.data())
def test_min_only_over_several_sources_matches_networkx(G, profile, projects, data):
    cg = EdgeTable.from_graph(G).compile(projects, profile)
    n = len(cg.nodes)
    src = data.draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=4, unique=True))
    H = usable_graph(G, projects, profile)
    limit = draw_limit(data, oracle_lengths(H, [cg.nodes[i] for i in src], np.inf))
    dist = cg.dijkstra(np.array(src), limit_s=limit, min_only=True)
    assert_agree(cg, dist, oracle_lengths(H, [cg.nodes[i] for i in src], limit))


@PROP
@given(graphs(), profiles(), projects_st)
def test_predecessors_give_a_path_of_the_reported_time(G, profile, projects):
    cg = EdgeTable.from_graph(G).compile(projects, profile)
    H = usable_graph(G, projects, profile)
    dist, pred = cg.dijkstra(np.array([0]), return_predecessors=True)
    assert pred.shape == (1, len(cg.nodes))
    for t in range(len(cg.nodes)):
        if not np.isfinite(dist[0, t]):
            assert pred[0, t] < 0
            continue
        path = [t]
        while path[-1] != 0:
            path.append(int(pred[0, path[-1]]))
            assert len(path) <= len(cg.nodes)
        path.reverse()
        # the cheapest edge between each pair along this node sequence
        cost = sum(min(d["w"] for d in H.get_edge_data(cg.nodes[a], cg.nodes[b]).values()) for a, b in zip(path[:-1], path[1:]))
        assert abs(cost - dist[0, t]) <= TOL


@PROP
@given(graphs(), profiles())
def test_from_graph_equals_compile_of_every_project(G, profile):
    a = CompiledGraph.from_graph(G, profile)
    b = EdgeTable.from_graph(G).compile(PROJECTS, profile)
    src = np.arange(len(a.nodes))
    np.testing.assert_allclose(a.dijkstra(src), b.dijkstra(src), atol=TOL)
    np.testing.assert_allclose(a.matrix.toarray(), b.matrix.toarray())


@PROP
@given(graphs(), profiles(), projects_st)
def test_pickled_kernel_gives_identical_results(G, profile, projects):
    cg = EdgeTable.from_graph(G).compile(projects, profile, scenario="s", profile_name="p")
    cg2 = pickle.loads(pickle.dumps(cg))
    src = np.arange(len(cg.nodes))
    np.testing.assert_array_equal(cg.dijkstra(src), cg2.dijkstra(src))
    d1, p1 = cg.dijkstra(src[:1], limit_s=60.0, return_predecessors=True)
    d2, p2 = cg2.dijkstra(src[:1], limit_s=60.0, return_predecessors=True)
    np.testing.assert_array_equal(d1, d2)
    np.testing.assert_array_equal(p1, p2)
    assert (cg2.nodes, cg2.scenario, cg2.profile) == (cg.nodes, "s", "p")


# --------------------------------------------------------------------------- examples
def graph(*edges, nodes=()) -> nx.MultiDiGraph:
    G = nx.MultiDiGraph()
    G.add_nodes_from(nodes)
    for a, b, w, kind in edges:
        G.add_edge(a, b, travel_time=float(w), kind=kind, project="p", mode="road")
    return G


def times(G, profile, source=0, **kw) -> dict:
    cg = EdgeTable.from_graph(G).compile(["p"], profile)
    d = cg.dijkstra(np.array([source]), **kw)[0]
    return dict(zip(cg.nodes, d))


def test_parallel_edges_take_the_minimum_not_the_sum():
    G = graph(("a", "b", 10, "road"), ("a", "b", 3, "road"), ("a", "b", 7, "road"), ("b", "c", 0, "road"),
              ("b", "c", 5, "ramp"))
    t = times(G, {"use": ["road", "ramp"]})
    assert t["b"] == pytest.approx(3, abs=TOL)
    assert t["c"] == pytest.approx(3, abs=TOL)
    cg = EdgeTable.from_graph(G).compile(["p"], {"use": ["road", "ramp"]})
    assert cg.matrix.nnz == 2 and len(cg.edge_u) == 2
    assert cg.matrix[0, 1] == pytest.approx(3 + EPS_S)


def test_zero_cost_edges_are_edges_and_unreachable_nodes_are_inf():
    t = times(graph(("a", "b", 0, "road"), ("b", "c", 0, "road"), nodes=["a", "b", "c", "island"]), {"use": ["road"]})
    assert t["b"] == pytest.approx(0, abs=TOL) and t["c"] == pytest.approx(0, abs=TOL)
    assert np.isinf(t["island"])


def test_limit_keeps_nodes_exactly_at_the_limit():
    G = graph(*[(i, i + 1, 60, "road") for i in range(50)])
    t = times(G, {"use": ["road"]}, limit_s=600.0)
    assert t[10] == pytest.approx(600, abs=TOL)  # ten edges of EPS_S each must not push it out
    assert np.isinf(t[11])


def test_kinds_not_in_use_are_not_traversable():
    G = graph(("a", "b", 10, "road"), ("b", "c", 10, "waterway"), ("a", "c", 100, "road"))
    assert times(G, {"use": ["road"]})["c"] == pytest.approx(100, abs=TOL)
    assert times(G, {"use": ["road", "waterway"]})["c"] == pytest.approx(20, abs=TOL)
    assert np.isinf(times(G, {"use": ["waterway"]})["b"])


def test_cost_overrides_replace_the_edge_time():
    G = graph(("a", "b", 600, "port_transfer"), ("b", "c", 60, "waterway"))
    assert times(G, {"use": ["port_transfer", "waterway"]})["c"] == pytest.approx(660, abs=TOL)
    assert times(G, {"use": ["port_transfer", "waterway"], "cost": {"port_transfer": 0}})["c"] == pytest.approx(60, abs=TOL)
    assert times(G, {"use": ["port_transfer", "waterway"], "cost": {"port_transfer": 2, "waterway": "base"}})["c"] == \
        pytest.approx(180, abs=TOL)


def test_speed_override_keeps_fixed_time_and_profile_costs_win():
    G = nx.MultiDiGraph()
    # a waterway leg: 9 km at 9 km/h plus a 60-min lock; a road edge of the same project
    G.add_edge("a", "b", travel_time=3600.0 + 3600.0, length=9000.0, speed_kph=9.0, kind="waterway", project="canal", mode="waterway")
    G.add_edge("b", "c", travel_time=600.0, length=10000.0, speed_kph=60.0, kind="road", project="canal", mode="road")
    et = EdgeTable.from_graph(G)
    t = dict(zip(et.nodes, et.compile(["canal"], {"use": ["waterway", "road"]}, {"canal": 18.0}).dijkstra(np.array([0]))[0]))
    assert t["b"] == pytest.approx(1800 + 3600, abs=TOL)  # running time halves, the lock stays
    assert t["c"] - t["b"] == pytest.approx(2000, abs=TOL)
    fixed = {"use": ["waterway", "road"], "cost": {"road": 1}}
    t = dict(zip(et.nodes, et.compile(["canal"], fixed, {"canal": 18.0}).dijkstra(np.array([0]))[0]))
    assert t["c"] - t["b"] == pytest.approx(60, abs=TOL)


def test_kernel_is_a_plain_picklable_object():
    G = graph(("a", "b", 600, "road"), ("b", "c", 60, "waterway"), ("c", "a", 30, "port_transfer"))
    cg = EdgeTable.from_graph(G).compile(["p"], {"use": ["road", "waterway", "port_transfer"]})
    for f in dataclasses.fields(cg):
        value = getattr(cg, f.name)
        assert isinstance(value, (np.ndarray, list, str, float, int, type(None))), (f.name, type(value))
        assert not isinstance(value, nx.Graph)
    blob = pickle.dumps(cg)
    assert b"networkx" not in blob
    cg2 = pickle.loads(blob)
    np.testing.assert_array_equal(cg.dijkstra(np.array([0])), cg2.dijkstra(np.array([0])))


def test_empty_profile_and_empty_graph():
    G = graph(("a", "b", 5, "road"))
    t = times(G, {"use": ["waterway"]})
    assert t["a"] == 0 and np.isinf(t["b"])
    G0 = nx.MultiDiGraph()
    G0.add_node("only")
    cg = EdgeTable.from_graph(G0).compile([], {"use": ["road"]})
    np.testing.assert_array_equal(cg.dijkstra(np.array([0])), [[0.0]])


# --------------------------------------------------------------------------- rail physics
HSR = (300.0, 0.30, 0.50)  # km/h, m/s², m/s²


def threshold_km(v_kmh, a, b):
    v = v_kmh / 3.6
    return (v * v / (2 * a) + v * v / (2 * b)) / 1000.0


def test_long_run_is_cruise_plus_acceleration_and_braking_losses():
    v_kmh, a, b = HSR
    v = v_kmh / 3.6
    for L in (30.0, 100.0, 159.0):
        assert run_time_s(L, v_kmh, a, b) == pytest.approx(L * 1000 / v + v / (2 * a) + v / (2 * b), rel=1e-12)
    assert run_time_s(100.0, *HSR) == pytest.approx(1200 + 138.888889 + 83.333333, abs=1e-5)


def test_short_run_is_triangular():
    v_kmh, a, b = HSR
    L = 0.5 * threshold_km(*HSR)
    vp = math.sqrt(2 * L * 1000 * a * b / (a + b))
    assert vp < v_kmh / 3.6
    assert run_time_s(L, *HSR) == pytest.approx(vp / a + vp / b, rel=1e-12)
    # the train covers L: distance under the triangle
    assert 0.5 * vp * run_time_s(L, *HSR) == pytest.approx(L * 1000, rel=1e-9)
    assert run_time_s(0.0, *HSR) == 0.0


@pytest.mark.parametrize(("v_kmh", "a", "b"), [HSR, (160.0, 0.5, 0.6), (120.0, 0.25, 0.4)])
def test_continuous_at_the_threshold(v_kmh, a, b):
    L = threshold_km(v_kmh, a, b)
    v = v_kmh / 3.6
    at = run_time_s(L, v_kmh, a, b)
    assert at == pytest.approx(v / a + v / b, rel=1e-12)
    assert run_time_s(L * (1 - 1e-9), v_kmh, a, b) == pytest.approx(at, rel=1e-6)
    assert run_time_s(L * (1 + 1e-9), v_kmh, a, b) == pytest.approx(at, rel=1e-6)


@settings(max_examples=200, deadline=None, database=None)
@given(st.floats(0.0, 300.0), st.floats(0.0, 300.0), st.floats(20.0, 400.0), st.floats(0.1, 1.5), st.floats(0.1, 1.5))
def test_run_time_is_monotone_in_length_and_never_beats_cruise(l1, l2, v_kmh, a, b):
    lo, hi = sorted((l1, l2))
    t_lo, t_hi = run_time_s(lo, v_kmh, a, b), run_time_s(hi, v_kmh, a, b)
    assert t_lo <= t_hi * (1 + 1e-12)
    assert t_hi >= hi * 1000 / (v_kmh / 3.6) * (1 - 1e-12)  # no faster than cruising all the way
    # t = L/v + v/2a + v/2b falls with v while L exceeds the threshold distance: a faster line is
    # then never slower over the same distance
    if hi > threshold_km(v_kmh * 1.1, a, b):
        assert run_time_s(hi, v_kmh * 1.1, a, b) <= t_hi * (1 + 1e-12)


@pytest.mark.parametrize(("args", "what"), [((10.0, 0.0, 0.3, 0.5), "speed"), ((10.0, -300.0, 0.3, 0.5), "speed"),
                                            ((10.0, 300.0, 0.0, 0.5), "acceleration"), ((10.0, 300.0, 0.3, -0.5), "braking"),
                                            ((-1.0, 300.0, 0.3, 0.5), "length")])
def test_run_time_rejects_non_positive_parameters(args, what):
    with pytest.raises(ValueError, match="positive speed"):
        run_time_s(*args)
