"""Isochrone polygons from a compiled search.

Method (the raster-and-contour approach of Valhalla and r5r, made exact along edges):

1. every usable local-road edge ``u → v`` whose tail ``u`` is reached within the largest cutoff
   is sampled every ``resolution_m / 2`` metres; the sample at fraction ``f`` of the edge is
   reached at ``d_u + f·t`` (the reverse edge ``v → u``, when the road is two-way, samples the
   same points from ``v``), so partial edges count to the exact point reached and one-way roads
   are only reached in their own direction; reached places (stations, airports, ports) are point
   samples, and so is every reached node of a sampled edge;
2. samples are binned onto a grid in :data:`~tx_transport.geo.METRIC_CRS` (aligned on
   multiples of ``resolution_m``) keeping the minimum time per cell, and a minimum filter with a disk of radius ``buffer_m`` spreads each time to
   the area within the buffer;
3. each band is the filled contour ``time ≤ cutoff`` (contourpy), returned in EPSG:4326.

Bands are nested by construction (one time surface, increasing thresholds), keep holes where
nothing is reached, and stations reached by rail make islands. Expressway edges between
interchanges and rail track are not reached area.

Performance: the metric projection of the node coordinates is cached (per coordinate arrays,
checked by content, so a :class:`~tx_transport.kernel.CompiledGraph` stays a plain picklable
dataclass and every scenario compiled from one edge table shares the entry); the disk filter
runs as a few separable rectangle filters; each band is contoured on the crop of the grid that
can hold it and built as one MultiPolygon from contourpy's ragged arrays.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence

import contourpy
import geopandas as gpd
import numpy as np
import shapely
from scipy import ndimage

from .geo import WGS84, to_metric, to_wgs84
from .kernel import CompiledGraph

_XY_CACHE: OrderedDict[tuple[int, int], tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = OrderedDict()
_XY_CACHE_SIZE = 8
_XY_LOCK = threading.Lock()


def metric_xy(cg: CompiledGraph) -> tuple[np.ndarray, np.ndarray]:
    """Node coordinates of ``cg`` in :data:`~tx_transport.geo.METRIC_CRS` (m), cached.

    The cache is keyed by the identity of ``cg.lon``/``cg.lat`` and validated against a copy of
    their content, so a changed or reused array is re-projected, never served stale.
    """
    lon = np.asarray(cg.lon, dtype=float)
    lat = np.asarray(cg.lat, dtype=float)
    key = (id(cg.lon), id(cg.lat))
    with _XY_LOCK:
        hit = _XY_CACHE.get(key)
        if hit is not None and hit[0].shape == lon.shape and hit[1].shape == lat.shape and \
                np.array_equal(hit[0], lon, equal_nan=True) and np.array_equal(hit[1], lat, equal_nan=True):
            _XY_CACHE.move_to_end(key)
            return hit[2], hit[3]
    x, y = to_metric(lon, lat)
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    x.flags.writeable = False
    y.flags.writeable = False
    with _XY_LOCK:
        _XY_CACHE[key] = (lon.copy(), lat.copy(), x, y)
        _XY_CACHE.move_to_end(key)
        while len(_XY_CACHE) > _XY_CACHE_SIZE:
            _XY_CACHE.popitem(last=False)
    return x, y


def time_samples(cg: CompiledGraph, dist_s: np.ndarray, max_s: float, step_m: float,
                 x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sample points (metric x, y) and their arrival times (s) on reached edges and places.

    A directed edge ``u → v`` is sampled from its tail: the point at fraction ``f`` is reached at
    ``d_u + f·t``. Only samples reached within ``max_s`` are returned.
    """
    dist_s = np.asarray(dist_s, dtype=float)
    du = dist_s[cg.edge_u]
    keep = cg.edge_sample & (du <= max_s)
    u, v = cg.edge_u[keep], cg.edge_v[keep]
    du, tt = du[keep], cg.edge_time_s[keep]
    xs, ys = x[u], y[u]
    dx, dy = x[v] - xs, y[v] - ys
    seg = np.hypot(dx, dy)
    nseg = np.maximum(np.ceil(seg / step_m).astype(np.int64), 1)
    # only the samples up to the point reached at max_s (the edge is cut there)
    with np.errstate(divide="ignore", invalid="ignore"):
        reach = np.where(tt > 0, (max_s - du) / tt, np.inf)
    last = np.minimum(np.floor(reach * nseg + 1e-9), nseg).astype(np.int64)
    cnt = last + 1
    rep = np.repeat(np.arange(len(u)), cnt)
    start = np.cumsum(cnt) - cnt
    k = np.arange(len(rep)) - np.repeat(start, cnt)
    f = k / nseg[rep]
    sx = xs[rep] + f * dx[rep]
    sy = ys[rep] + f * dy[rep]
    st = du[rep] + f * tt[rep]
    # reached places, and the head of every sampled edge (a node reached by any path is reached
    # area even when none of its sampled edges leaves it, e.g. the end of a one-way road)
    pts = cg.point_sample.copy()
    pts[cg.edge_v[cg.edge_sample]] = True
    pts &= dist_s <= max_s
    sx = np.concatenate([sx, x[pts]])
    sy = np.concatenate([sy, y[pts]])
    st = np.concatenate([st, dist_s[pts]])
    ok = (st <= max_s) & np.isfinite(sx) & np.isfinite(sy)
    return sx[ok], sy[ok], st[ok]


def _disk_rectangles(r: int) -> list[tuple[int, int]]:
    """Half-extents (rows, cols) of rectangles whose union is the disk ``dx² + dy² ≤ r²``."""
    half = [int(np.floor(np.sqrt(r * r - d * d + 1e-9))) for d in range(r + 1)]
    return [(d, half[d]) for d in range(r + 1) if d == r or half[d + 1] < half[d]]


def disk_minimum_filter(grid: np.ndarray, r: int) -> np.ndarray:
    """``scipy.ndimage.minimum_filter`` with a disk footprint of radius ``r`` cells (``inf``
    outside the grid), computed exactly as the minimum of separable rectangle filters."""
    if r <= 0:
        return grid.copy()
    out = None
    col = grid
    done = 0
    for dr, dc in _disk_rectangles(r):
        if dr > done:  # grow the vertical window incrementally: rows -dr..dr
            col = ndimage.minimum_filter1d(grid, 2 * dr + 1, axis=0, mode="constant", cval=np.inf)
            done = dr
        a = ndimage.minimum_filter1d(col, 2 * dc + 1, axis=1, mode="constant", cval=np.inf) if dc > 0 else col.copy()
        out = a if out is None else np.minimum(out, a, out=out)
    return out


def _band(surface: np.ndarray, gx: np.ndarray, gy: np.ndarray, level: float) -> tuple[shapely.Geometry, float]:
    """The filled contour ``surface ≤ level`` as a MultiPolygon in EPSG:4326, and its area (km²)."""
    inside = surface <= level
    rows = np.flatnonzero(inside.any(axis=1))
    if len(rows) == 0:
        return shapely.MultiPolygon(), 0.0
    cols = np.flatnonzero(inside.any(axis=0))
    # crop to the cells that can hold the band plus one cell of "outside" around it: every grid
    # cell with a corner <= level is kept, so the contour is the same as on the whole grid
    r0, r1 = max(rows[0] - 1, 0), min(rows[-1] + 2, surface.shape[0])
    c0, c1 = max(cols[0] - 1, 0), min(cols[-1] + 2, surface.shape[1])
    z = np.ascontiguousarray(surface[r0:r1, c0:c1])
    gen = contourpy.contour_generator(gx[c0:c1], gy[r0:r1], z, name="serial",
                                      fill_type=contourpy.FillType.ChunkCombinedOffsetOffset)
    points, offsets, outer = (a[0] for a in gen.filled(-1.0, level))
    if points is None or len(outer) < 2:
        return shapely.MultiPolygon(), 0.0
    offsets = offsets.astype(np.int64)
    outer = outer.astype(np.int64)
    if np.diff(offsets).min() < 4:  # degenerate rings (never seen from contourpy): drop them
        polys = []
        for p in range(len(outer) - 1):
            rings = [points[offsets[k]:offsets[k + 1]] for k in range(outer[p], outer[p + 1])]
            if len(rings[0]) >= 4:
                polys.append(shapely.Polygon(rings[0], [rg for rg in rings[1:] if len(rg) >= 4]))
        metric = shapely.MultiPolygon(polys) if polys else shapely.MultiPolygon()
        area = float(shapely.area(metric)) / 1e6
        return shapely.transform(metric, lambda xy: np.column_stack(to_wgs84(xy[:, 0], xy[:, 1]))), area
    goff = np.array([0, len(outer) - 1], dtype=np.int64)
    metric = shapely.from_ragged_array(shapely.GeometryType.MULTIPOLYGON, points, (offsets, outer, goff))[0]
    lon, lat = to_wgs84(points[:, 0], points[:, 1])
    wgs = shapely.from_ragged_array(shapely.GeometryType.MULTIPOLYGON, np.column_stack([lon, lat]), (offsets, outer, goff))[0]
    return wgs, float(shapely.area(metric)) / 1e6


def isochrone_polygons(cg: CompiledGraph, dist_s: np.ndarray, cutoffs_min: Sequence[float], *,
                       buffer_m: float = 1000.0, resolution_m: float = 250.0) -> gpd.GeoDataFrame:
    """Nested isochrone bands from arrival times ``dist_s`` (s) at every node of ``cg``.

    Parameters
    ----------
    cg : CompiledGraph
        The compiled scenario/profile graph the times come from.
    dist_s : numpy.ndarray
        Earliest arrival time (s) at every node (``inf`` where not reached), e.g. the minimum
        over several origins.
    cutoffs_min : sequence of float
        Band limits in minutes.
    buffer_m : float, default 1000
        Distance (m) around reached roads and places that counts as reached.
    resolution_m : float, default 250
        Grid cell size (m). Boundaries are accurate to about one cell.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per cutoff (ascending): ``cutoff_min``, ``area_km2`` (computed in the equal-area
        :data:`~tx_transport.geo.METRIC_CRS`) and ``geometry`` (MultiPolygon, EPSG:4326); empty
        geometry where nothing is reached.
    """
    cutoffs = sorted(float(c) for c in cutoffs_min)
    if not cutoffs or cutoffs[0] <= 0 or not np.isfinite(cutoffs[-1]):
        raise ValueError("cutoffs must be positive, finite minutes")
    if not (resolution_m > 0 and buffer_m >= 0):
        raise ValueError("resolution_m must be positive and buffer_m non-negative")
    dist_s = np.asarray(dist_s, dtype=float)
    if dist_s.shape != (len(cg.nodes),):
        raise ValueError(f"dist_s must have one time per node ({len(cg.nodes)}), got shape {dist_s.shape}")
    max_s = cutoffs[-1] * 60.0
    x, y = metric_xy(cg)
    sx, sy, st = time_samples(cg, dist_s, max_s, resolution_m / 2.0, x, y)
    geoms: list[shapely.Geometry] = []
    areas: list[float] = []
    if len(st):
        pad = buffer_m + 2 * resolution_m
        # the grid is aligned on multiples of resolution_m, so bands of different origins,
        # cutoffs and scenarios share one lattice and compare (union, difference) without slivers
        x0 = np.floor((sx.min() - pad) / resolution_m) * resolution_m
        y0 = np.floor((sy.min() - pad) / resolution_m) * resolution_m
        nx_ = int(np.ceil((sx.max() + pad - x0) / resolution_m)) + 1
        ny_ = int(np.ceil((sy.max() + pad - y0) / resolution_m)) + 1
        grid = np.full((ny_, nx_), np.inf)
        ix = np.round((sx - x0) / resolution_m).astype(np.int64)
        iy = np.round((sy - y0) / resolution_m).astype(np.int64)
        np.minimum.at(grid, (iy, ix), st)
        r = max(int(round(buffer_m / resolution_m)), 0)
        surface = disk_minimum_filter(grid, r)
        big = max_s * 10 + 1.0
        surface = np.where(np.isfinite(surface), surface, big) / 60.0
        gx = x0 + np.arange(nx_) * resolution_m
        gy = y0 + np.arange(ny_) * resolution_m
        for c in cutoffs:
            g, a = _band(surface, gx, gy, c)
            geoms.append(g)
            areas.append(a)
    else:
        geoms = [shapely.MultiPolygon() for _ in cutoffs]
        areas = [0.0 for _ in cutoffs]
    return gpd.GeoDataFrame({"cutoff_min": cutoffs, "area_km2": areas}, geometry=geoms, crs=WGS84)
