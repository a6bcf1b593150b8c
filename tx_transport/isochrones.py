"""Isochrone polygons from a compiled search.

Method (the raster-and-contour approach of Valhalla and r5r, made exact along edges):

1. every usable local-road edge reached within the largest cutoff is sampled every
   ``resolution_m / 2`` metres; a sample's time is the earliest arrival from either end of the
   edge (``min(d_u + f·t, d_v + (1 − f)·t)``), so partial edges count to the exact point reached;
   reached places (stations, airports, ports) are point samples;
2. samples are binned onto a grid in :data:`~tx_transport.geo.METRIC_CRS` keeping the minimum
   time per cell, and a minimum filter with a disk of radius ``buffer_m`` spreads each time to
   the area within the buffer;
3. each band is the filled contour ``time ≤ cutoff`` (contourpy), returned in EPSG:4326.

Bands are nested by construction (one time surface, increasing thresholds), keep holes where
nothing is reached, and stations reached by rail make islands. Expressway edges between
interchanges and rail track are not reached area.
"""

from __future__ import annotations

from collections.abc import Sequence

import contourpy
import geopandas as gpd
import numpy as np
import shapely
from scipy import ndimage

from .geo import METRIC_CRS, WGS84, to_metric
from .kernel import CompiledGraph


def time_samples(cg: CompiledGraph, dist_s: np.ndarray, max_s: float, step_m: float,
                 x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sample points (metric x, y) and their arrival times (s) on reached edges and places."""
    du = dist_s[cg.edge_u]
    dv = dist_s[cg.edge_v]
    keep = cg.edge_sample & (np.minimum(du, dv) <= max_s)
    u, v = cg.edge_u[keep], cg.edge_v[keep]
    du, dv, tt = du[keep], dv[keep], cg.edge_time_s[keep]
    xs, ys = x[u], y[u]
    xe, ye = x[v], y[v]
    seg = np.hypot(xe - xs, ye - ys)
    nseg = np.maximum(np.ceil(seg / step_m).astype(np.int64), 1)
    rep = np.repeat(np.arange(len(u)), nseg + 1)
    offs = np.arange(len(rep)) - np.repeat(np.cumsum(nseg + 1) - (nseg + 1), nseg + 1)
    f = offs / np.repeat(nseg, nseg + 1)
    sx = xs[rep] + f * (xe - xs)[rep]
    sy = ys[rep] + f * (ye - ys)[rep]
    t_from_u = du[rep] + f * tt[rep]
    t_from_v = dv[rep] + (1 - f) * tt[rep]
    st = np.minimum(t_from_u, t_from_v)
    pts = cg.point_sample & (dist_s <= max_s)
    sx = np.concatenate([sx, x[pts]])
    sy = np.concatenate([sy, y[pts]])
    st = np.concatenate([st, dist_s[pts]])
    ok = st <= max_s
    return sx[ok], sy[ok], st[ok]


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
        One row per cutoff (ascending): ``cutoff_min``, ``area_km2`` and ``geometry``
        (MultiPolygon, EPSG:4326); empty geometry where nothing is reached.
    """
    cutoffs = sorted(float(c) for c in cutoffs_min)
    if not cutoffs or cutoffs[0] <= 0:
        raise ValueError("cutoffs must be positive minutes")
    max_s = cutoffs[-1] * 60.0
    x, y = to_metric(cg.lon, cg.lat)
    x = np.asarray(x)
    y = np.asarray(y)
    sx, sy, st = time_samples(cg, dist_s, max_s, resolution_m / 2.0, x, y)
    geoms = []
    if len(st):
        pad = buffer_m + 2 * resolution_m
        x0, y0 = sx.min() - pad, sy.min() - pad
        nx_ = int(np.ceil((sx.max() + pad - x0) / resolution_m)) + 1
        ny_ = int(np.ceil((sy.max() + pad - y0) / resolution_m)) + 1
        grid = np.full((ny_, nx_), np.inf)
        ix = np.round((sx - x0) / resolution_m).astype(np.int64)
        iy = np.round((sy - y0) / resolution_m).astype(np.int64)
        np.minimum.at(grid, (iy, ix), st)
        r = max(int(round(buffer_m / resolution_m)), 0)
        yy, xx = np.mgrid[-r:r + 1, -r:r + 1]
        disk = (xx * xx + yy * yy) <= r * r + 1e-9
        surface = ndimage.minimum_filter(grid, footprint=disk, mode="constant", cval=np.inf)
        big = max_s * 10 + 1.0
        surface = np.where(np.isfinite(surface), surface, big) / 60.0
        gx = x0 + np.arange(nx_) * resolution_m
        gy = y0 + np.arange(ny_) * resolution_m
        gen = contourpy.contour_generator(gx, gy, surface, fill_type=contourpy.FillType.OuterOffset,
                                          line_type=contourpy.LineType.Separate, name="serial")
        for c in cutoffs:
            points_list, offsets_list = gen.filled(-1.0, c)
            polys = []
            for pts, offs in zip(points_list, offsets_list):
                rings = [pts[offs[k]:offs[k + 1]] for k in range(len(offs) - 1)]
                rings = [rg for rg in rings if len(rg) >= 4]
                if rings:
                    polys.append(shapely.Polygon(rings[0], rings[1:]))
            mp = shapely.MultiPolygon(polys) if polys else shapely.MultiPolygon()
            geoms.append(mp)
    else:
        geoms = [shapely.MultiPolygon() for _ in cutoffs]
    gdf = gpd.GeoDataFrame({"cutoff_min": cutoffs}, geometry=geoms, crs=METRIC_CRS)
    gdf["area_km2"] = gdf.geometry.area / 1e6
    out = gdf.to_crs(WGS84)
    return out[["cutoff_min", "area_km2", "geometry"]]
