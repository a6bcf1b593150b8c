"""Origins and destinations beyond places: regular grids, zones and points joined to the road graph.

Two steps take any set of locations to a travel-time sweep (:mod:`tx_transport.sweep`):

1. :func:`grid_origins` covers a boundary with a regular grid of square cells in a metric CRS
   (cell centroids as points), optionally weighted by population spread from a zones layer by
   areal interpolation;
2. :func:`join_points` joins any points or zones GeoDataFrame (a grid, census zones, firms,
   schools) to the nearest local-road node of the network's road layer, reports the joining distance of
   every point and raises :class:`~tx_transport.errors.QueryError` naming the points farther
   than the limit.

Nearest nodes are found with a KD-tree (:class:`scipy.spatial.cKDTree`) over the road-layer
nodes in geocentric Cartesian coordinates on a sphere of radius
:data:`~tx_transport.geo.EARTH_RADIUS_KM` (metres): the straight-line (chord) distance there is
a metric and increases with the great-circle distance, so the KD-tree returns exactly the node
that a haversine scan over every node would (the rule :meth:`Network.travel_times` uses for a
``(lon, lat)`` origin), in ``O(log n)`` per point and with no projection zone to leave.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS
from scipy.spatial import cKDTree

from .errors import QueryError
from .geo import EARTH_RADIUS_KM, METRIC_CRS, WGS84, haversine_km

if TYPE_CHECKING:
    from .network import Network

#: Largest grid :func:`grid_origins` builds (cells); a larger one is almost always a unit mistake.
MAX_GRID_CELLS = 5_000_000
_TIE_MARGIN = 4
_R_M = EARTH_RADIUS_KM * 1000.0


def _unit_xyz(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    lo, la = np.radians(np.asarray(lon, dtype=float)), np.radians(np.asarray(lat, dtype=float))
    return np.column_stack([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)]) * _R_M


class NodeTree:
    """Nearest-node look-ups over nodes given in lon/lat degrees (a KD-tree, see the module docstring).

    Parameters
    ----------
    lon, lat : numpy.ndarray
        Coordinates (degrees) of every node; nodes with a missing coordinate are left out.
    mask : numpy.ndarray of bool, optional
        Only these nodes are candidates (e.g. the road layer).
    """

    def __init__(self, lon: np.ndarray, lat: np.ndarray, mask: np.ndarray | None = None) -> None:
        lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
        ok = np.isfinite(lon) & np.isfinite(lat)
        if mask is not None:
            ok &= np.asarray(mask, dtype=bool)
        self.positions = np.flatnonzero(ok)
        self._lon, self._lat = lon[ok], lat[ok]
        self._tree = cKDTree(_unit_xyz(self._lon, self._lat)) if len(self.positions) else None

    def __len__(self) -> int:
        return len(self.positions)

    def nearest_k(self, lon: np.ndarray, lat: np.ndarray, k: int = 1) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` nearest candidate nodes of each point, nearest first.

        Returns positions (into the ``lon``/``lat`` arrays given) and great-circle distances
        (m, the haversine formula of :func:`tx_transport.geo.haversine_km`), both of shape
        ``(len(lon), k)``; nodes at the same distance come in position order, as a scan would
        find them. ``k`` larger than the number of candidates is reduced to it.
        """
        if self._tree is None:
            raise QueryError("the network has no road-layer node to join points to")
        lon = np.atleast_1d(np.asarray(lon, dtype=float))
        lat = np.atleast_1d(np.asarray(lat, dtype=float))
        n = len(self.positions)
        k = max(1, min(int(k), n))
        kq = min(n, k + _TIE_MARGIN)  # a few more, so that ties at the k-th place are ordered by position
        _, idx = self._tree.query(_unit_xyz(lon, lat), k=kq)
        idx = np.asarray(idx).reshape(len(lon), kq)
        pos = self.positions[idx]
        dist = haversine_km(lat[:, None], lon[:, None], self._lat[idx], self._lon[idx]) * 1000.0
        order = np.lexsort((pos, dist), axis=-1)[:, :k]
        return np.take_along_axis(pos, order, axis=1), np.take_along_axis(dist, order, axis=1)

    def nearest(self, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Position (into the ``lon``/``lat`` arrays given) of the nearest candidate node to each
        point, and the great-circle distance (m) to it."""
        pos, dist = self.nearest_k(lon, lat, 1)
        return pos[:, 0], dist[:, 0]


# --------------------------------------------------------------------------- grids
def _as_geoseries(boundary: Any, what: str) -> gpd.GeoSeries:
    if isinstance(boundary, gpd.GeoDataFrame):
        gs = boundary.geometry
    elif isinstance(boundary, gpd.GeoSeries):
        gs = boundary
    elif isinstance(boundary, shapely.Geometry):
        gs = gpd.GeoSeries([boundary], crs=WGS84)
    else:
        raise QueryError(f"{what} must be a GeoDataFrame, GeoSeries or shapely geometry, got {type(boundary).__name__}")
    if gs.crs is None:
        raise QueryError(f"{what} has no CRS; set one, e.g. gdf.set_crs('EPSG:4326')")
    return gs


def _metric_crs(crs: Any) -> CRS:
    try:
        c = CRS.from_user_input(crs)
    except Exception:  # noqa: BLE001 - any unreadable CRS is the same user error
        raise QueryError(f"crs {crs!r} is not a CRS pyproj understands; give e.g. 'EPSG:32651' (UTM 51N)") from None
    if not c.is_projected or c.axis_info[0].unit_name not in ("metre", "meter"):
        raise QueryError(f"the grid CRS must be projected in metres (got {c.name}); use e.g. tx_transport.geo.METRIC_CRS "
                         f"or 'EPSG:32651' (UTM 51N)")
    return c


def grid_origins(boundary: Any, cell_m: float, *, crs: Any = METRIC_CRS, zones: gpd.GeoDataFrame | None = None,
                 population: str = "population") -> gpd.GeoDataFrame:
    """A regular grid of square cells over a boundary, as points (cell centroids).

    Parameters
    ----------
    boundary : GeoDataFrame, GeoSeries or shapely geometry
        The area to cover (all its geometries are unioned). A bare shapely geometry is taken as
        EPSG:4326 lon/lat.
    cell_m : float
        Cell side in metres of ``crs``.
    crs : CRS-like, default :data:`~tx_transport.geo.METRIC_CRS`
        A projected CRS in metres in which the grid is regular (the default is an equal-area
        Albers for the Yangtze River Delta, so every full cell has the same area).
    zones : GeoDataFrame, optional
        Polygons with a ``population`` column: each zone's population is spread evenly over its
        area and every cell gets the share of each zone it overlaps (areal interpolation). The
        part of a zone outside ``boundary`` is in no cell.
    population : str, default ``"population"``
        The column of ``zones`` to interpolate.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per cell that overlaps the boundary, index ``cell_id`` (0, 1, ... row by row
        from the south-west), EPSG:4326: ``geometry`` (the centroid of the cell clipped to the
        boundary, a point inside it), ``cell`` (the clipped cell polygon), ``x_m``, ``y_m`` (the
        point in ``crs``), ``area_km2`` (clipped area) and, with ``zones``, ``population``.
        ``attrs["cell_m"]`` and ``attrs["crs"]`` record the grid.

    Raises
    ------
    QueryError
        A non-positive cell size, a CRS not in metres, a boundary without a CRS, more than
        :data:`MAX_GRID_CELLS` cells, or a zones layer without a numeric, non-negative
        ``population``.
    """
    try:
        cell = float(cell_m)
    except (TypeError, ValueError):
        raise QueryError(f"cell_m must be a number of metres, got {cell_m!r}") from None
    if not (np.isfinite(cell) and cell > 0):
        raise QueryError(f"cell_m must be a positive number of metres, got {cell_m!r}")
    mcrs = _metric_crs(crs)
    gs = _as_geoseries(boundary, "boundary").to_crs(mcrs)
    area = shapely.union_all(gs.values.array if hasattr(gs.values, "array") else np.asarray(gs.values))
    if area.is_empty or area.area <= 0:
        raise QueryError("the boundary has no area; give a polygon (or polygons)")
    x0, y0, x1, y1 = area.bounds
    i0, j0 = int(np.floor(x0 / cell)), int(np.floor(y0 / cell))
    nx_, ny_ = int(np.ceil(x1 / cell)) - i0, int(np.ceil(y1 / cell)) - j0
    if nx_ * ny_ > MAX_GRID_CELLS:
        raise QueryError(f"a {cell:g} m grid over this boundary has {nx_ * ny_:,} cells (more than {MAX_GRID_CELLS:,}); "
                         f"use a larger cell_m, or check that cell_m is in metres")
    jj, ii = np.meshgrid(np.arange(ny_), np.arange(nx_), indexing="ij")
    xs, ys = (ii.ravel() + i0) * cell, (jj.ravel() + j0) * cell
    boxes = shapely.box(xs, ys, xs + cell, ys + cell)
    shapely.prepare(area)
    hit = shapely.intersects(area, boxes)
    clipped = shapely.intersection(boxes[hit], area)
    a = shapely.area(clipped)
    ok = a > 0
    clipped, a = clipped[ok], a[ok]
    pts = shapely.centroid(clipped)
    outside = ~shapely.contains_properly(clipped, pts) & ~shapely.intersects(clipped, pts)
    if outside.any():
        pts[outside] = shapely.point_on_surface(clipped[outside])
    out = gpd.GeoDataFrame({"x_m": shapely.get_x(pts), "y_m": shapely.get_y(pts), "area_km2": a / 1e6,
                            "cell": gpd.GeoSeries(clipped, crs=mcrs).to_crs(WGS84).values},
                           geometry=gpd.GeoSeries(pts, crs=mcrs).to_crs(WGS84).values, crs=WGS84)
    out.index = pd.RangeIndex(len(out), name="cell_id")
    if zones is not None:
        out[population] = _areal_population(zones, population, clipped, mcrs)
    out.attrs.update(cell_m=cell, crs=mcrs.to_wkt())
    return out


def _areal_population(zones: gpd.GeoDataFrame, column: str, cells: np.ndarray, mcrs: CRS) -> np.ndarray:
    """Population of each cell: every zone's population spread evenly over its area."""
    if not isinstance(zones, gpd.GeoDataFrame):
        raise QueryError(f"zones must be a GeoDataFrame of polygons with a {column!r} column, got {type(zones).__name__}")
    if column not in zones.columns:
        raise QueryError(f"zones has no {column!r} column (columns: {', '.join(map(str, zones.columns))}); "
                         f"pass population='<column>'")
    pop = pd.to_numeric(zones[column], errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(pop) | (pop < 0)
    if bad.any():
        ids = ", ".join(map(str, zones.index[bad][:10]))
        raise QueryError(f"zones {column!r} must be a non-negative number; not so for zone(s) {ids}")
    zg = np.asarray(_as_geoseries(zones, "zones").to_crs(mcrs).values)
    za = shapely.area(zg)
    tree = shapely.STRtree(cells)
    zi, ci = tree.query(zg, predicate="intersects")
    share = shapely.area(shapely.intersection(zg[zi], cells[ci]))
    with np.errstate(divide="ignore", invalid="ignore"):
        w = np.where(za[zi] > 0, pop[zi] * share / za[zi], 0.0)
    return np.bincount(ci, weights=w, minlength=len(cells))


# --------------------------------------------------------------------------- joining
def _name(x: Any) -> str:
    return repr(x.item() if isinstance(x, np.generic) else x)


def join_points(net: Network, points: gpd.GeoDataFrame, *, max_join_m: float = 1000.0) -> gpd.GeoDataFrame:
    """Join points (or zones, by their centroid) to the nearest local-road node of the network.

    Candidates are the road-layer nodes on at least one non-motorway road (a point next to an
    expressway joins the local road, not the carriageway: expressways are entered at ramps).

    Parameters
    ----------
    net : Network
        The network (embedded road layer, or one from :meth:`Network.with_road_graph`).
    points : GeoDataFrame
        Any CRS; its index names the points in results and errors. Polygons join by their
        centroid (computed in :data:`~tx_transport.geo.METRIC_CRS`).
    max_join_m : float, default 1000
        Largest allowed distance (m, great circle) from a point to its road node.

    Returns
    -------
    geopandas.GeoDataFrame
        A copy of ``points`` (same index and columns, EPSG:4326) plus ``node`` (the road-layer
        node id) and ``join_m`` (the distance in m to it).

    Raises
    ------
    QueryError
        A missing CRS, an empty or missing geometry, or points farther than ``max_join_m``
        from every road node (the message names them and their distances).
    """
    if not isinstance(points, gpd.GeoDataFrame):
        raise QueryError(f"points must be a GeoDataFrame, got {type(points).__name__}")
    if points.crs is None:
        raise QueryError("points have no CRS; set one, e.g. gdf.set_crs('EPSG:4326')")
    try:
        limit = float(max_join_m)
    except (TypeError, ValueError):
        raise QueryError(f"max_join_m must be metres, got {max_join_m!r}") from None
    if not limit >= 0:
        raise QueryError(f"max_join_m must be non-negative metres, got {max_join_m!r}")
    geom = points.geometry
    missing = geom.isna().to_numpy() | geom.is_empty.to_numpy()
    if missing.any():
        raise QueryError(f"point(s) {', '.join(_name(x) for x in points.index[missing][:10])} have no geometry; drop or fix them")
    if not (geom.geom_type == "Point").all():
        geom = geom.to_crs(METRIC_CRS).centroid
    wgs = geom.to_crs(WGS84)
    lon, lat = wgs.x.to_numpy(), wgs.y.to_numpy()
    tree = net._local_road_tree
    pos, dist = tree.nearest(lon, lat)
    far = dist > limit
    if far.any():
        order = np.argsort(-dist[far], kind="stable")[:10]
        names = [f"{_name(points.index[far][i])} ({dist[far][i]:,.0f} m)" for i in order]
        more = f" and {int(far.sum()) - len(names)} more" if far.sum() > len(names) else ""
        raise QueryError(f"{int(far.sum())} point(s) are farther than max_join_m={limit:g} m from the road layer: "
                         f"{', '.join(names)}{more}. Drop them, raise max_join_m, or load a road graph that covers them "
                         f"(Network.with_road_graph)")
    out = gpd.GeoDataFrame(points.drop(columns=points.geometry.name), geometry=wgs.values, crs=WGS84)
    nodes = net._edges.nodes
    out["node"] = [nodes[i] for i in pos]
    out["join_m"] = dist
    return out


__all__ = ["MAX_GRID_CELLS", "NodeTree", "grid_origins", "join_points"]
