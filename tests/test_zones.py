"""Grids, areal population and joining points to the road layer (tx_transport.zones)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely

import tx_transport as tx
from tx_transport.geo import METRIC_CRS, WGS84, haversine_km
from tx_transport.synthetic import road_like_graph
from tx_transport.zones import grid_origins, join_points


def metric_box(x0, y0, x1, y1) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(geometry=[shapely.box(x0, y0, x1, y1)], crs=METRIC_CRS)


def test_grid_covers_the_boundary_with_cells_of_the_given_size():
    b = tx.load_network().boundaries
    tong = b[b.name_en == "Tongxiang"]
    g = grid_origins(tong, 1000.0)
    area = float(tong.to_crs(METRIC_CRS).area.iloc[0]) / 1e6
    assert g.area_km2.sum() == pytest.approx(area, rel=1e-9)  # the clipped cells tile the boundary
    assert g.area_km2.max() == pytest.approx(1.0, rel=1e-9)
    assert g.crs == WGS84 and g.index.name == "cell_id" and g.index.is_unique
    cells = g.set_geometry("cell").to_crs(METRIC_CRS)
    pts = g.to_crs(METRIC_CRS)
    assert cells.geometry.covers(pts.geometry, align=False).all()  # each point lies in its own cell
    # the lattice is aligned on multiples of the cell size
    b = cells.geometry.bounds
    full = np.isclose(cells.area, 1e6)
    assert np.allclose(np.mod(b.minx[full] + 1e-6, 1000.0), 0.0, atol=1e-3)


def test_grid_areal_population_conserves_and_splits_by_area():
    boundary = metric_box(0, 0, 4000, 2000)
    zones = gpd.GeoDataFrame({"population": [800.0, 300.0, 1000.0]},
                             geometry=[shapely.box(0, 0, 2000, 2000),     # 4 cells, 200 each
                                       shapely.box(2000, 0, 3000, 1000),  # 1 cell, 300
                                       shapely.box(3000, 1000, 5000, 2000)],  # half outside: 500 in one cell
                             crs=METRIC_CRS).to_crs(WGS84)
    g = grid_origins(boundary, 1000.0, zones=zones)
    assert len(g) == 8
    pop = dict(zip(zip(np.round(g.x_m / 500), np.round(g.y_m / 500)), g.population))
    assert pop[(1, 1)] == pytest.approx(200.0) and pop[(3, 3)] == pytest.approx(200.0)
    assert pop[(5, 1)] == pytest.approx(300.0)
    assert pop[(7, 3)] == pytest.approx(500.0)
    assert pop[(7, 1)] == pytest.approx(0.0, abs=1e-9)
    assert g.population.sum() == pytest.approx(800 + 300 + 500)


@pytest.mark.parametrize(("kwargs", "match"), [({"cell_m": 0}, "positive"), ({"cell_m": "x"}, "metres"),
                                               ({"cell_m": 1000, "crs": "EPSG:4326"}, "projected in metres"),
                                               ({"cell_m": 0.5}, "cells")])
def test_grid_rejects_bad_input(kwargs, match):
    with pytest.raises(tx.QueryError, match=match):
        grid_origins(metric_box(0, 0, 4000, 4000), **kwargs)
    with pytest.raises(tx.QueryError, match="no CRS"):
        grid_origins(gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 1, 1)]), 100.0)
    with pytest.raises(tx.QueryError, match="'people'"):
        grid_origins(metric_box(0, 0, 4000, 4000), 1000.0, zones=metric_box(0, 0, 1, 1), population="people")


def brute_nearest(G, lon, lat):
    """Oracle: scan every road-layer node of the networkx graph that is on a non-motorway road."""
    local = {n for u, v, d in G.edges(data=True) if d.get("kind") == "road" and d.get("mode") == "road"
             and d.get("highway") != "motorway" for n in (u, v)}
    ids = [n for n, d in G.nodes(data=True) if d.get("layer") == "road" and n in local]
    xy = np.array([(G.nodes[n]["x"], G.nodes[n]["y"]) for n in ids])
    d = haversine_km(lat, lon, xy[:, 1], xy[:, 0]) * 1000.0
    i = int(np.argmin(d))
    return ids[i], float(d[i])


def test_join_points_finds_the_nearest_road_node(net):
    rng = np.random.default_rng(4)
    lon, lat = 120.3 + rng.random(60) * 0.6, 30.4 + rng.random(60) * 0.5
    pts = gpd.GeoDataFrame({"population": np.arange(60.0)}, geometry=gpd.points_from_xy(lon, lat), crs=WGS84,
                           index=[f"p{i}" for i in range(60)]).to_crs(METRIC_CRS)  # any CRS in
    j = join_points(net, pts, max_join_m=50_000)
    assert list(j.index) == list(pts.index) and j.crs == WGS84
    assert (j.population == pts.population).all()  # weights are carried through
    G = net._full_graph
    for i in range(60):
        node, dist = brute_nearest(G, lon[i], lat[i])
        assert j.node.iloc[i] == node
        assert j.join_m.iloc[i] == pytest.approx(dist, rel=1e-6, abs=1e-3)


def test_join_points_names_the_points_beyond_the_limit():
    net2 = tx.load_network().with_road_graph(road_like_graph(20, 20, motorway_every=0))
    pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy([120.565, 120.9, 120.566], [30.63, 30.9, 30.631]), crs=WGS84,
                           index=["centre", "far-away", "near"])
    with pytest.raises(tx.QueryError, match=r"1 point\(s\) are farther than max_join_m=500 m.*'far-away' \(\d+,\d{3} m\)"):
        join_points(net2, pts, max_join_m=500)
    ok = join_points(net2, pts.drop(index="far-away"), max_join_m=500)
    assert (ok.join_m < 500).all()
    assert all(isinstance(n, int) for n in ok.node)  # OSM-style integer node ids


def test_join_points_joins_zones_by_centroid_and_checks_input(net):
    zones = metric_box(-5000, -45000, -3000, -43000)  # a 2 km square near Tongxiang in METRIC_CRS
    j = join_points(net, zones, max_join_m=10_000)
    c = zones.centroid.to_crs(WGS84).iloc[0]
    assert j.geometry.iloc[0].equals_exact(c, 1e-9)
    assert j.node.iloc[0] == brute_nearest(net._full_graph, c.x, c.y)[0]
    with pytest.raises(tx.QueryError, match="no CRS"):
        join_points(net, gpd.GeoDataFrame(geometry=[shapely.Point(120.5, 30.6)]))
    with pytest.raises(tx.QueryError, match="'b' have no geometry"):
        join_points(net, gpd.GeoDataFrame(geometry=[shapely.Point(120.5, 30.6), None], index=["a", "b"], crs=WGS84))


def test_join_points_never_joins_onto_a_motorway():
    G = road_like_graph(30, 30, motorway_every=20, seed=2)
    net2 = tx.load_network().with_road_graph(G)
    mw = {n for u, v, d in G.edges(data=True) if d["highway"] == "motorway" for n in (u, v)}
    on_mw = sorted(mw)[:20]
    pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy([G.nodes[n]["x"] for n in on_mw], [G.nodes[n]["y"] for n in on_mw]),
                           crs=WGS84)
    j = join_points(net2, pts, max_join_m=300)
    assert not set(j.node) & mw
    assert (j.join_m > 0).all() and (j.join_m < 300).all()  # the carriageway is 40 m off the street grid
