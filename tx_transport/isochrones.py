"""Isochrone polygons from a compiled search.

Method (the raster-and-contour approach of Valhalla and r5r, made exact along edges):

1. every usable local-road edge ``u → v`` whose tail ``u`` is reached within the largest cutoff
   is sampled every ``resolution_m / 2`` metres; the sample at fraction ``f`` of the edge is
   reached at ``d_u + f·t`` (the reverse edge ``v → u``, when the road is two-way, samples the
   same points from ``v``), so partial edges count to the exact point reached and one-way roads
   are only reached in their own direction; reached places (stations, airports, ports) are point
   samples, and so is every reached node of a sampled edge;
2. samples are binned onto a grid in :data:`~tx_transport.geo.METRIC_CRS` (a fixed lattice:
   cell ``(i, j)`` is centred on ``(i·resolution_m, j·resolution_m)`` whatever the extent)
   keeping the minimum time per cell, and a minimum filter with a disk of radius ``buffer_m``
   spreads each time to the area within the buffer;
3. each band is the filled contour ``time ≤ cutoff`` (contourpy), returned in EPSG:4326. For the
   band of cutoff ``c`` every cell above ``c`` counts as ``10·c`` (plus one second), so the
   band depends only on the cells reached within ``c``: asking 15 min alone or together with
   30/45/60 gives the same 15-min band (the bands do not depend on which other cutoffs are asked).

Bands are nested (the same time surface, increasing thresholds), keep holes where nothing is
reached, and stations reached by rail make islands. Expressway edges between interchanges and
rail track are not reached area.

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

from .errors import QueryError, cut
from .geo import WGS84, to_metric, to_wgs84
from .kernel import CompiledGraph

#: Most isochrone bands one call may ask for (each band is a full contour and polygon).
MAX_CUTOFFS = 24
#: Largest cutoff (minutes): a day.
MAX_CUTOFF_MIN = 1440.0
#: Largest time grid (cells); about 200 MB per float array.
MAX_GRID_CELLS = 25_000_000
#: Most road samples (points along reached edges) one call may take; about 80 MB per array.
MAX_SAMPLES = 10_000_000

_XY_CACHE: OrderedDict[tuple[int, int], tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = OrderedDict()
_XY_CACHE_SIZE = 8
_XY_LOCK = threading.Lock()


def validate_cutoffs(cutoffs: Sequence[float] | float | str) -> list[float]:
    """Isochrone cutoffs as sorted, distinct, positive, finite minutes.

    Parameters
    ----------
    cutoffs : sequence of float (or one number)
        Minutes; duplicates are dropped (``30, 30`` is one band).

    Returns
    -------
    list of float
        Ascending.

    Raises
    ------
    QueryError
        Not numbers, not positive and finite, above :data:`MAX_CUTOFF_MIN`, none, or more than
        :data:`MAX_CUTOFFS` distinct values.
    """
    if isinstance(cutoffs, (int, float, np.number)) and not isinstance(cutoffs, bool):
        cutoffs = [cutoffs]
    if isinstance(cutoffs, (str, bytes)) or not hasattr(cutoffs, "__iter__"):
        raise QueryError(f"cutoffs must be a list of minutes, got {cut(repr(cutoffs))}")
    vals: list[float] = []
    for c in cutoffs:
        if isinstance(c, bool):
            raise QueryError(f"cutoffs must be minutes, got {c!r}")
        try:
            x = float(c)
        except (TypeError, ValueError):
            raise QueryError(f"cutoffs must be minutes, got {cut(repr(c))}") from None
        if not (np.isfinite(x) and x > 0):
            raise QueryError(f"cutoffs must be positive, finite minutes, got {cut(repr(c))}")
        if x > MAX_CUTOFF_MIN:
            raise QueryError(f"cutoff {x:g} min is above the cap of {MAX_CUTOFF_MIN:g} min (a day)")
        vals.append(x)
    out = sorted(set(vals))
    if not out:
        raise QueryError("give at least one cutoff (minutes), e.g. 15,30,45,60")
    if len(out) > MAX_CUTOFFS:
        raise QueryError(f"{len(out)} distinct cutoffs asked; the cap is {MAX_CUTOFFS} bands per call: ask fewer (e.g. every 10 min)")
    return out


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
    if cnt.sum() > MAX_SAMPLES:
        raise QueryError(f"the isochrone would need {int(cnt.sum()):,} road samples (cap {MAX_SAMPLES:,}); "
                         "use a coarser resolution_m or smaller cutoffs")
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
    cutoffs = sorted({float(c) for c in cutoffs_min})
    if not cutoffs or cutoffs[0] <= 0 or not np.isfinite(cutoffs[-1]):
        raise ValueError("cutoffs must be positive, finite minutes")
    if not (np.isfinite(resolution_m) and np.isfinite(buffer_m) and resolution_m > 0 and buffer_m >= 0):
        raise QueryError(f"resolution_m must be positive and buffer_m non-negative (metres), got {resolution_m!r} and {buffer_m!r}")
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
        # a fixed lattice: cell (i, j) is centred on (i, j) * resolution_m in METRIC_CRS whatever
        # the extent, so bands of different origins, cutoffs and scenarios share one lattice and
        # compare (union, difference) without slivers
        ci = np.round(sx / resolution_m).astype(np.int64)
        cj = np.round(sy / resolution_m).astype(np.int64)
        m = int(np.ceil(pad / resolution_m))
        i0, j0 = int(ci.min()) - m, int(cj.min()) - m
        nx_ = int(ci.max()) + m - i0 + 1
        ny_ = int(cj.max()) + m - j0 + 1
        if nx_ * ny_ > MAX_GRID_CELLS:
            raise QueryError(f"the isochrone grid would have {nx_ * ny_:,} cells (cap {MAX_GRID_CELLS:,}); "
                             "use a coarser resolution_m or smaller cutoffs")
        grid = np.full((ny_, nx_), np.inf)
        np.minimum.at(grid, (cj - j0, ci - i0), st)
        r = max(int(round(buffer_m / resolution_m)), 0)
        surface = disk_minimum_filter(grid, r) / 60.0  # minutes; inf where nothing is in reach
        gx = (i0 + np.arange(nx_)) * resolution_m
        gy = (j0 + np.arange(ny_)) * resolution_m
        for c in cutoffs:
            # cells beyond c count as 10·c (+1 s): the band depends only on cells reached in c
            z = np.where(surface <= c, surface, c * 10 + 1.0 / 60.0)
            g, a = _band(z, gx, gy, c)
            geoms.append(g)
            areas.append(a)
    else:
        geoms = [shapely.MultiPolygon() for _ in cutoffs]
        areas = [0.0 for _ in cutoffs]
    return gpd.GeoDataFrame({"cutoff_min": cutoffs, "area_km2": areas}, geometry=geoms, crs=WGS84)
