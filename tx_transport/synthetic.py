"""Deterministic road-like test graphs in the OSMnx layout (for tests and scale benchmarks).

:func:`road_like_graph` generates, from a seed, a perturbed street grid with a road hierarchy
and a few motorways entered through ``motorway_link`` ramps, as an OSMnx-style
``networkx.MultiDiGraph`` in EPSG:4326 (``x``/``y`` on nodes; ``highway``, ``length`` (m),
``oneway``, optional ``maxspeed`` and ``geometry`` on edges), ready for
:meth:`tx_transport.Network.with_road_graph`. Nothing is stored: the same arguments give the
same graph on every machine. It is **not data**: no street of it exists.
"""

from __future__ import annotations

import networkx as nx
import numpy as np
from shapely.geometry import LineString

from .geo import WGS84, to_metric, to_wgs84

#: Tongxiang city centre (lon, lat) [M], the default centre of the generated grid.
TONGXIANG_LONLAT = (120.565, 30.630)


def road_like_graph(n_rows: int, n_cols: int, *, spacing_m: float = 150.0, center: tuple[float, float] = TONGXIANG_LONLAT,
                    seed: int = 0, drop_share: float = 0.04, oneway_share: float = 0.05, geometry_share: float = 0.2,
                    motorway_every: int = 120, first_id: int = 10_000_000) -> nx.MultiDiGraph:
    """A perturbed ``n_rows × n_cols`` street grid with a road hierarchy and motorways.

    Parameters
    ----------
    n_rows, n_cols : int
        Grid size in nodes; the graph has about ``4 · n_rows · n_cols`` directed edges.
    spacing_m : float, default 150
        Mean distance (m) between neighbouring intersections.
    center : (float, float)
        Centre (lon, lat) of the grid in degrees.
    seed : int, default 0
        Seed of every random choice (node jitter, dropped and one-way streets, speeds).
    drop_share, oneway_share, geometry_share : float
        Shares of grid streets removed, made one-way, and given a curved ``geometry``.
    motorway_every : int, default 120
        Every ``motorway_every``-th row and column carries a motorway (separate carriageway
        nodes offset by 40 m, ramps to the grid every 20 nodes); 0 for none.
    first_id : int
        Node ids are ``first_id, first_id + 1, ...`` (integers, as OSM ids).

    Returns
    -------
    networkx.MultiDiGraph
        EPSG:4326, ``simplified=True``; every street in both directions unless one-way.
    """
    if n_rows < 2 or n_cols < 2 or spacing_m <= 0:
        raise ValueError("need at least a 2 x 2 grid and a positive spacing")
    rng = np.random.default_rng(seed)
    cx, cy = (float(np.asarray(v).ravel()[0]) for v in to_metric([center[0]], [center[1]]))
    r, c = np.meshgrid(np.arange(n_rows), np.arange(n_cols), indexing="ij")
    x = cx + (c.ravel() - (n_cols - 1) / 2) * spacing_m + rng.normal(0, spacing_m * 0.12, r.size)
    y = cy + (r.ravel() - (n_rows - 1) / 2) * spacing_m + rng.normal(0, spacing_m * 0.12, r.size)
    ids = first_id + np.arange(r.size, dtype=np.int64)

    def level(i: np.ndarray) -> np.ndarray:  # road class of a grid line by its index
        out = np.full(i.shape, "residential", dtype=object)
        out[i % 4 == 0] = "tertiary"
        out[i % 12 == 0] = "secondary"
        out[i % 36 == 0] = "primary"
        return out

    # horizontal (along a row) and vertical (along a column) street segments
    hu = (r[:, :-1] * n_cols + c[:, :-1]).ravel()
    vu = (r[:-1, :] * n_cols + c[:-1, :]).ravel()
    a = np.concatenate([hu, vu])
    b = np.concatenate([hu + 1, vu + n_cols])
    hw = np.concatenate([level(r[:, :-1].ravel()), level(c[:-1, :].ravel())])
    keep = (rng.random(len(a)) >= drop_share) | (hw != "residential")
    a, b, hw = a[keep], b[keep], hw[keep]
    oneway = (rng.random(len(a)) < oneway_share) & (hw == "residential")
    curved = rng.random(len(a)) < geometry_share
    maxspeed = np.where(rng.random(len(a)) < 0.1, np.where(hw == "residential", "30", "60"), None)
    lon, lat = to_wgs84(x, y)

    G = nx.MultiDiGraph(crs=WGS84, simplified=True, name=f"road_like_graph({n_rows}, {n_cols}, seed={seed})")
    G.add_nodes_from((int(i), {"x": float(xx), "y": float(yy), "street_count": 4}) for i, xx, yy in zip(ids, lon, lat))
    seg = np.hypot(x[b] - x[a], y[b] - y[a])
    bend = rng.normal(0, 0.15, len(a))

    def edges():
        for k in range(len(a)):
            ia, ib = int(a[k]), int(b[k])
            d = {"osmid": int(k), "highway": str(hw[k]), "oneway": bool(oneway[k]), "reversed": False,
                 "length": float(seg[k])}
            if maxspeed[k] is not None:
                d["maxspeed"] = maxspeed[k]
            if curved[k]:
                mx, my = (x[ia] + x[ib]) / 2 - bend[k] * (y[ib] - y[ia]), (y[ia] + y[ib]) / 2 + bend[k] * (x[ib] - x[ia])
                gx, gy = to_wgs84([x[ia], mx, x[ib]], [y[ia], my, y[ib]])
                d["geometry"] = LineString(zip(gx, gy))
                d["length"] = float(np.hypot(mx - x[ia], my - y[ia]) + np.hypot(x[ib] - mx, y[ib] - my))
            yield int(ids[ia]), int(ids[ib]), d
            if not oneway[k]:
                back = dict(d, reversed=True)
                if "geometry" in d:
                    back["geometry"] = LineString(list(d["geometry"].coords)[::-1])
                yield int(ids[ib]), int(ids[ia]), back

    G.add_edges_from(edges())
    if motorway_every:
        _add_motorways(G, x, y, ids, n_rows, n_cols, motorway_every, first_id + r.size)
    return G


def _add_motorways(G: nx.MultiDiGraph, x: np.ndarray, y: np.ndarray, ids: np.ndarray, n_rows: int, n_cols: int,
                   every: int, next_id: int) -> None:
    """Dual-carriageway motorways along every ``every``-th grid row and column, with ramps."""
    lines = [("row", i) for i in range(every // 2, n_rows, every)] + [("col", j) for j in range(every // 2, n_cols, every)]
    for kind, i in lines:
        grid = (i * n_cols + np.arange(n_cols)) if kind == "row" else (np.arange(n_rows) * n_cols + i)
        for side, off in (("+", 40.0), ("-", -40.0)):
            mx = x[grid] + (0.0 if kind == "row" else off)
            my = y[grid] + (off if kind == "row" else 0.0)
            mid = next_id + np.arange(len(grid))
            next_id += len(grid)
            mlon, mlat = to_wgs84(mx, my)
            G.add_nodes_from((int(n), {"x": float(a), "y": float(b), "street_count": 2}) for n, a, b in zip(mid, mlon, mlat))
            order = range(len(grid) - 1) if side == "+" else range(len(grid) - 1, 0, -1)
            step = 1 if side == "+" else -1
            for k in order:
                u, v = int(mid[k]), int(mid[k + step])
                G.add_edge(u, v, highway="motorway", oneway=True, reversed=False, maxspeed="120",
                           length=float(np.hypot(mx[k + step] - mx[k], my[k + step] - my[k])))
            for k in range(5, len(grid), 20):  # ramps: off the carriageway to the grid, and back on
                g = int(ids[grid[k]])
                ln = float(np.hypot(mx[k] - x[grid[k]], my[k] - y[grid[k]])) + 150.0
                G.add_edge(int(mid[k]), g, highway="motorway_link", oneway=True, reversed=False, length=ln)
                G.add_edge(g, int(mid[k]), highway="motorway_link", oneway=True, reversed=False, length=ln)


__all__ = ["road_like_graph", "TONGXIANG_LONLAT"]
