"""The generated road-like graphs are deterministic, OSMnx-shaped and usable as a road layer."""

import networkx as nx
import numpy as np

from tx_transport import osm
from tx_transport.synthetic import road_like_graph


def edges(G):
    return [(u, v, d["highway"], round(d["length"], 6)) for u, v, d in G.edges(data=True)]


def test_same_seed_same_graph_other_seed_other_graph():
    a, b, c = road_like_graph(12, 15, seed=3), road_like_graph(12, 15, seed=3), road_like_graph(12, 15, seed=4)
    assert edges(a) == edges(b) and dict(a.nodes(data=True)) == dict(b.nodes(data=True))
    assert edges(a) != edges(c)


def test_osmnx_layout_and_size():
    G = road_like_graph(40, 40, motorway_every=20)
    assert G.graph["crs"] == "EPSG:4326"
    grid_edges = sum(1 for *_, d in G.edges(data=True) if not d["highway"].startswith("motorway"))
    assert 0.85 * 4 * 40 * 39 < grid_edges <= 4 * 40 * 39  # both directions, a few streets dropped or one-way
    assert {d["highway"] for *_, d in G.edges(data=True)} >= {"residential", "tertiary", "primary", "motorway", "motorway_link"}
    osm.check_crs(G)  # lon/lat nodes
    lengths = np.array([d["length"] for *_, d in G.edges(data=True)])
    assert (lengths > 0).all() and np.median(lengths) < 250
    # motorways are entered only through ramps: no street edge touches a carriageway node
    mw = {n for u, v, d in G.edges(data=True) if d["highway"] == "motorway" for n in (u, v)}
    assert not any(u in mw or v in mw for u, v, d in G.edges(data=True) if not d["highway"].startswith("motorway"))
    assert len(max(nx.strongly_connected_components(G), key=len)) > 0.9 * G.number_of_nodes()
