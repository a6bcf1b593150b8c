"""Isochrones: real outcomes on the embedded network and exact cases on synthetic graphs."""

from __future__ import annotations

import math
import pickle

import geopandas as gpd
import numpy as np
import pytest
import shapely
from scipy import ndimage
from scipy.sparse import csr_matrix
from shapely.geometry import Point

from tx_transport import isochrones as iso
from tx_transport.geo import METRIC_CRS, to_metric, to_wgs84
from tx_transport.kernel import EPS_S, CompiledGraph

SCENARIO = "plan-2025"
CUTOFFS = (15, 30, 45, 60)
BUFFER_M = 1000.0
RES_M = 250.0


# ---------------------------------------------------------------------------- helpers
def metric(geom):
    """A WGS84 geometry in METRIC_CRS (m)."""
    return shapely.transform(geom, lambda xy: np.column_stack(to_metric(xy[:, 0], xy[:, 1])))


def synthetic_cg(xy_m, edges, *, points=(), name="synthetic"):
    """A CompiledGraph from node positions in METRIC_CRS (m) and directed edges ``(u, v, time_s)``.

    Every edge is a sampled local road; ``points`` are the indices of place-like nodes.
    """
    xy = np.asarray(xy_m, dtype=float)
    n = len(xy)
    lon, lat = (np.asarray(a, dtype=float) for a in to_wgs84(xy[:, 0], xy[:, 1]))
    u = np.array([e[0] for e in edges], dtype=np.int64)
    v = np.array([e[1] for e in edges], dtype=np.int64)
    w = np.array([e[2] for e in edges], dtype=float)
    m = csr_matrix((w + EPS_S, (u, v)), shape=(n, n))
    m.sort_indices()
    point = np.zeros(n, dtype=bool)
    point[list(points)] = True
    return CompiledGraph(list(range(n)), m.indptr, m.indices, m.data, lon, lat, u, v, w,
                         np.ones(len(u), dtype=bool), point, name, "car")


def bands_from(cg, origins, cutoffs, **kw):
    dist = cg.dijkstra(np.asarray(origins), limit_s=max(cutoffs) * 60.0, min_only=True)
    return iso.isochrone_polygons(cg, np.asarray(dist), cutoffs, **kw)


def both_ways(a, b, t):
    return [(a, b, t), (b, a, t)]


# ---------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def car_bands(net):
    return net.isochrones("tongxiang", (60, 15, 45, 30), scenario=SCENARIO, profile="car",
                          buffer_m=BUFFER_M, resolution_m=RES_M)


@pytest.fixture(scope="module")
def car_times(net):
    return net.travel_times("tongxiang", None, scenario=SCENARIO, profile="car").iloc[0]


@pytest.fixture(scope="module")
def rail(net):
    bands = net.isochrones("tongxiang-station", CUTOFFS, scenario=SCENARIO, profile="rail")
    times = net.travel_times("tongxiang-station", None, scenario=SCENARIO, profile="rail").iloc[0]
    return bands, times


# ---------------------------------------------------------------------------- embedded network
def test_bands_shape_crs_and_order(car_bands):
    assert list(car_bands.columns) == ["cutoff_min", "area_km2", "geometry"]
    assert car_bands.crs.to_epsg() == 4326
    assert car_bands.cutoff_min.tolist() == [15.0, 30.0, 45.0, 60.0]  # ascending, given unsorted
    assert (car_bands.geom_type == "MultiPolygon").all()
    assert car_bands.geometry.is_valid.all()
    minx, miny, maxx, maxy = car_bands.total_bounds  # degrees around Tongxiang, not metres
    assert 119 < minx < maxx < 122.5 and 29 < miny < maxy < 32
    assert all(g.contains(Point(120.56081, 30.63287)) for g in car_bands.geometry)


def test_areas_km2_equal_area_and_increasing(car_bands):
    areas = car_bands.area_km2.to_numpy()
    assert np.all(np.diff(areas) > 0)
    assert areas[0] > 10  # a quarter of an hour by car covers far more than the buffer disk
    # the same areas in METRIC_CRS (equal-area) and in an independent local equal-area CRS
    own = car_bands.to_crs(METRIC_CRS).area.to_numpy() / 1e6
    np.testing.assert_allclose(areas, own, rtol=1e-6)
    laea = car_bands.to_crs("+proj=laea +lat_0=30.6 +lon_0=120.6 +datum=WGS84 +units=m").area.to_numpy() / 1e6
    np.testing.assert_allclose(areas, laea, rtol=2e-3)
    # and not the (inflated) conformal Web Mercator area
    merc = car_bands.to_crs(3857).area.to_numpy() / 1e6
    assert np.all(merc > 1.25 * areas)


def test_bands_are_nested(car_bands):
    geoms = [metric(g) for g in car_bands.geometry]
    for small, big in zip(geoms[:-1], geoms[1:]):
        outside = small.difference(big).area
        assert outside <= 1e-6 * small.area + 1.0  # m²


def test_deterministic_including_projection_cache(net, car_bands):
    iso._XY_CACHE.clear()
    a = net.isochrones("tongxiang", CUTOFFS, scenario=SCENARIO)  # projects the nodes
    b = net.isochrones("tongxiang", CUTOFFS, scenario=SCENARIO)  # served from the cache
    assert a.geometry.to_wkb().tolist() == b.geometry.to_wkb().tolist()
    assert a.geometry.to_wkb().tolist() == car_bands.geometry.to_wkb().tolist()
    assert a.area_km2.tolist() == b.area_km2.tolist()


def test_places_inside_agree_with_route_times(net, car_bands, car_times):
    modes = net.modes["road"]
    # slack of the buffer: the area up to buffer_m (+ one cell of contouring) beyond a road reached
    # in time, covered at local (connector) speed along a detour
    from tx_transport.graph import connector_speeds

    tol_min = (BUFFER_M + 2 * RES_M) * float(modes["connector_detour"]) / (connector_speeds(net.modes)[0] / 0.06)
    assert 2 < tol_min < 6
    pts = net.places.geometry
    band60 = car_bands.geometry.iloc[-1]
    inside = pts.apply(band60.contains)
    assert inside.sum() >= 10
    t_in = car_times[inside.index[inside]]
    assert t_in.notna().all()
    assert (t_in <= 60 + tol_min).all(), t_in[t_in > 60 + tol_min]
    # places reached in time lie in the band (they are point samples themselves)
    band60_m = metric(band60)
    for pid, t in car_times.items():
        if t <= 45:
            x, y = to_metric(pts[pid].x, pts[pid].y)
            assert band60_m.distance(Point(float(x), float(y))) <= BUFFER_M, pid
    # stronger: each band contains every place reached within its own cutoff, up to one cell
    for c, g in zip(car_bands.cutoff_min, car_bands.geometry):
        gm = metric(g)
        for pid in car_times.index[car_times <= c]:
            x, y = to_metric(pts[pid].x, pts[pid].y)
            assert gm.distance(Point(float(x), float(y))) <= RES_M, (c, pid)
    # and far places (over an hour and a half) are outside the 60-min band
    far = car_times.index[car_times > 90]
    assert len(far) > 0 and not pts[far].apply(band60.contains).any()


def test_band_matches_exact_vector_buffer_of_samples(net, car_bands):
    # the raster-and-contour band vs the exact union of buffer_m disks around every sample
    # reached within 15 min (the OSMnx-style vector construction)
    cg = net.compiled(SCENARIO, "car")
    dist = cg.dijkstra(cg.index_of(["place:tongxiang"]), limit_s=3600, min_only=True)
    x, y = iso.metric_xy(cg)
    sx, sy, st = iso.time_samples(cg, np.asarray(dist), 15 * 60.0, RES_M / 2, x, y)
    exact = shapely.union_all(shapely.buffer(shapely.points(sx, sy), BUFFER_M, quad_segs=8))
    band = metric(car_bands.geometry.iloc[0])
    # the band is contoured on a 250 m grid with a disk filter of whole cells, so its edge may sit up to
    # half a cell inside the exact buffer: with the place connectors in six directions the 15-min band
    # has ~140 km of edge, and half a cell along it is ~9 % of its area; measured 3-4 % smaller
    assert band.area == pytest.approx(exact.area, rel=0.05)
    assert band.symmetric_difference(exact).area <= 0.08 * exact.area
    # every sample reached within the cutoff is inside the band
    assert shapely.contains_xy(band, sx, sy).all()


def test_multi_origin_is_union_of_single_origins(net):
    origins = ["tongxiang", "wuzhen"]
    multi = net.isochrones(origins, (15, 30), scenario=SCENARIO)
    singles = [net.isochrones(o, (15, 30), scenario=SCENARIO) for o in origins]
    for k in range(2):
        m = metric(multi.geometry.iloc[k])
        un = shapely.union_all([metric(s.geometry.iloc[k]) for s in singles])
        # the grid is aligned on a common lattice, so this holds to contouring precision (the
        # contour of the minimum surface interpolates across the seam where the two origins' times
        # meet, the union of the single contours does not: a few cells along the seam)
        assert m.area == pytest.approx(un.area, rel=3e-3)
        assert m.symmetric_difference(un).area <= 3e-3 * un.area
        assert multi.area_km2.iloc[k] > max(s.area_km2.iloc[k] for s in singles)


def test_rail_islands_around_reached_stations(net, rail):
    bands, times = rail
    places = net.places
    reached = times[times <= 60].index
    st_xy = np.column_stack(to_metric(places.loc[reached].lon.to_numpy(), places.loc[reached].lat.to_numpy()))
    # islands grow with the cutoff
    counts = [len(g.geoms) for g in bands.geometry]
    assert counts == sorted(counts) and counts[2] >= 3
    # every island is around a reached station (buffer disk of ~pi km²), none elsewhere
    for c, g in zip(bands.cutoff_min, bands.geometry):
        ok = times[times <= c].index
        ok_xy = np.column_stack(to_metric(places.loc[ok].lon.to_numpy(), places.loc[ok].lat.to_numpy()))
        for part in metric(g).geoms:
            d = np.hypot(ok_xy[:, 0] - part.centroid.x, ok_xy[:, 1] - part.centroid.y).min()
            assert d <= RES_M, (c, part.centroid)
            assert part.area <= 2 * math.pi * (BUFFER_M + RES_M) ** 2  # a disk, or two close stations
    # Shanghai Hongqiao is reached within 45 min and has its own island there
    assert times["shanghai-hongqiao"] <= 45
    hq = places.loc["shanghai-hongqiao"]
    band45 = bands.geometry.iloc[2]
    assert band45.contains(Point(hq.lon, hq.lat))
    home = places.loc["tongxiang-station"]
    part_hq = next(p for p in band45.geoms if p.contains(Point(hq.lon, hq.lat)))
    assert not part_hq.contains(Point(home.lon, home.lat))
    # nothing along the track: midpoints of rail links between stations, away from any reached
    # station, are not covered
    band60_m = metric(bands.geometry.iloc[-1])
    links = net.links[net.links["mode"] == "rail"]
    checked = 0
    for geom in links.geometry:
        if geom.length == 0:
            continue
        mid = geom.interpolate(0.5, normalized=True)
        mx, my = (float(a) for a in to_metric(mid.x, mid.y))
        if np.hypot(st_xy[:, 0] - mx, st_xy[:, 1] - my).min() <= BUFFER_M + 2 * RES_M:
            continue
        assert not band60_m.contains(Point(mx, my))
        checked += 1
    assert checked >= 5
    # the straight line Tongxiang station -> Hongqiao is not covered either
    line = metric(shapely.LineString([(home.lon, home.lat), (hq.lon, hq.lat)]))
    for f in np.linspace(0.1, 0.9, 9):
        p = line.interpolate(f, normalized=True)
        if np.hypot(st_xy[:, 0] - p.x, st_xy[:, 1] - p.y).min() > BUFFER_M + 2 * RES_M:
            assert not band60_m.contains(p)


# ---------------------------------------------------------------------------- synthetic graphs
@pytest.mark.parametrize("speed_kmh, cutoff_min", [(60.0, 10.0), (50.0, 7.0), (90.0, 3.3), (60.0, 30.0)])
def test_partial_edge_reaches_expected_distance(speed_kmh, cutoff_min):
    length = 20_000.0
    t_edge = length / (speed_kmh / 3.6)
    cg = synthetic_cg([(0.0, 0.0), (length, 0.0)], both_ways(0, 1, t_edge))
    bands = bands_from(cg, [0], [cutoff_min / 2, cutoff_min], buffer_m=BUFFER_M, resolution_m=RES_M)
    for c, g in zip(bands.cutoff_min, bands.geometry):
        reach = min(speed_kmh / 3.6 * c * 60.0, length)
        minx, miny, maxx, maxy = metric(g).bounds
        assert maxx == pytest.approx(reach + BUFFER_M, abs=RES_M)
        assert minx == pytest.approx(-BUFFER_M, abs=RES_M)
        assert maxy == pytest.approx(BUFFER_M, abs=RES_M) and miny == pytest.approx(-BUFFER_M, abs=RES_M)
        # a stadium: the reached segment buffered by buffer_m, to one grid cell (the raster disk
        # is the lattice polygon inscribed in the circle)
        def stadium(b, reach=reach):
            return 2 * b * reach + math.pi * b**2

        assert stadium(BUFFER_M - RES_M) < metric(g).area < stadium(BUFFER_M + RES_M)


def test_partial_edge_reached_from_both_ends():
    # a 20 km road at 60 km/h reached from both ends: in 5 min each end covers 5 km
    cg = synthetic_cg([(0.0, 0.0), (20_000.0, 0.0)], both_ways(0, 1, 1200.0))
    g = metric(bands_from(cg, [0, 1], [5.0]).geometry.iloc[0])
    assert len(g.geoms) == 2
    assert not g.contains(Point(10_000.0, 0.0))
    assert g.contains(Point(5_500.0, 0.0)) and g.contains(Point(14_500.0, 0.0))
    assert not g.contains(Point(6_500.0, 0.0)) and not g.contains(Point(13_500.0, 0.0))


def test_one_way_edge_is_not_reached_backwards():
    # only 0 -> 1 exists; from node 1 the edge cannot be driven, only the buffer around 1 counts
    cg = synthetic_cg([(0.0, 0.0), (20_000.0, 0.0)], [(0, 1, 1200.0)])
    g = metric(bands_from(cg, [1], [10.0]).geometry.iloc[0])
    assert math.pi * (BUFFER_M - RES_M) ** 2 < g.area < math.pi * (BUFFER_M + RES_M) ** 2
    assert g.distance(Point(20_000.0, 0.0)) == 0 and not g.contains(Point(18_000.0, 0.0))


def test_holes_kept_where_nothing_is_reached():
    # a square ring road 20 km a side, the interior has no road: the band is an annulus
    s = 10_000.0
    xy = [(-s, -s), (s, -s), (s, s), (-s, s)]
    t = 2 * s / (60 / 3.6)  # 20 min per side
    edges = [e for k in range(4) for e in both_ways(k, (k + 1) % 4, t)]
    cg = synthetic_cg(xy, edges)
    bands = bands_from(cg, [0], [25.0, 60.0])
    ring = metric(bands.geometry.iloc[1])
    assert len(ring.geoms) == 1
    poly = ring.geoms[0]
    assert len(poly.interiors) == 1
    assert not ring.contains(Point(0.0, 0.0))
    hole = shapely.Polygon(poly.interiors[0])
    assert hole.area == pytest.approx((2 * (s - BUFFER_M)) ** 2, rel=0.03)
    outer = (2 * (s + BUFFER_M)) ** 2 - (4 - math.pi) * BUFFER_M**2
    assert ring.area == pytest.approx(outer - (2 * (s - BUFFER_M)) ** 2, rel=0.03)
    assert bands.area_km2.iloc[1] == pytest.approx(ring.area / 1e6, rel=1e-6)
    # at 25 min the two sides from the origin corner are covered, plus 5 km of the next ones
    part = metric(bands.geometry.iloc[0])
    for px, py in ((s, -s + 5_000), (-s + 5_000, s)):  # reached at 25 min exactly
        assert part.contains(Point(px, py))
    assert not part.contains(Point(s, -s + 5_000 + BUFFER_M + 2 * RES_M))
    assert not part.contains(Point(-s + 5_000 + BUFFER_M + 2 * RES_M, s))
    assert not part.contains(Point(s, s))


def test_place_points_and_unreached_graph():
    # two places linked by a track that is not sampled (like rail): two islands, nothing between
    xy = [(0.0, 0.0), (30_000.0, 0.0)]
    cg = synthetic_cg(xy, both_ways(0, 1, 600.0), points=[0, 1])
    cg.edge_sample[:] = False
    g = metric(bands_from(cg, [0], [5.0, 15.0]).geometry.iloc[1])
    assert len(g.geoms) == 2 and not g.contains(Point(15_000.0, 0.0))
    # nothing reached within the cutoffs: empty geometries, zero area
    empty = iso.isochrone_polygons(cg, np.full(2, np.inf), [15, 30])
    assert empty.geometry.is_empty.all() and (empty.area_km2 == 0).all() and empty.crs.to_epsg() == 4326


def test_bad_arguments():
    cg = synthetic_cg([(0.0, 0.0), (1000.0, 0.0)], both_ways(0, 1, 60.0))
    with pytest.raises(ValueError):
        iso.isochrone_polygons(cg, np.zeros(2), [0, 15])
    with pytest.raises(ValueError):
        iso.isochrone_polygons(cg, np.zeros(2), [])
    with pytest.raises(ValueError):
        iso.isochrone_polygons(cg, np.zeros(3), [15])


def test_disk_filter_matches_footprint_filter():
    rng = np.random.default_rng(1)
    for r in range(0, 9):
        grid = np.where(rng.random((60, 70)) < 0.05, rng.random((60, 70)) * 100, np.inf)
        yy, xx = np.mgrid[-r:r + 1, -r:r + 1]
        disk = (xx * xx + yy * yy) <= r * r + 1e-9
        ref = ndimage.minimum_filter(grid, footprint=disk, mode="constant", cval=np.inf)
        np.testing.assert_array_equal(iso.disk_minimum_filter(grid, r), ref)


def test_projection_cache_is_checked_and_graph_stays_plain():
    cg = synthetic_cg([(0.0, 0.0), (10_000.0, 0.0)], both_ways(0, 1, 600.0))
    fields = set(vars(cg))
    a = bands_from(cg, [0], [5.0])
    # the kernel may memoise private caches (matrix, index), but no field changes and pickles hold none
    assert {k for k in vars(cg) if not k.startswith("_")} == fields
    assert not [k for k in pickle.loads(pickle.dumps(cg)).__dict__ if k.startswith("_")]
    # move node 1 north by 5 km in place: the cached projection must not be reused
    lon, lat = (float(v) for v in to_wgs84(10_000.0, 5_000.0))
    cg.lon[1], cg.lat[1] = lon, lat
    b = bands_from(cg, [0], [5.0])
    assert metric(a.geometry.iloc[0]).bounds[3] < 2_000 < metric(b.geometry.iloc[0]).bounds[3]


def test_geodataframe_roundtrip(car_bands):
    # usable as-is by geopandas writers / readers (WKB round trip keeps the geometry)
    back = gpd.GeoSeries.from_wkb(car_bands.geometry.to_wkb(), crs=4326)
    assert back.geom_equals_exact(car_bands.geometry, tolerance=0).all()
