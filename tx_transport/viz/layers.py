"""Map layers of a network in the metric CRS, drawing primitives, boundaries, extents and map axes."""

from __future__ import annotations

import re
import weakref
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import shapely
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection, PatchCollection
from matplotlib.patches import Patch, PathPatch
from matplotlib.path import Path as MplPath
from shapely.geometry import box
from shapely.geometry.polygon import orient

from ..geo import METRIC_CRS, WGS84

if TYPE_CHECKING:
    from ..network import Network
from .fonts import _isblank, label
from .style import _EDGE, _LAND, A4_WIDTH_IN, JIAXING, TONGXIANG

# ---------------------------------------------------------------------------------------------- layers
_CACHE: weakref.WeakKeyDictionary[Any, dict[str, Any]] = weakref.WeakKeyDictionary()


def _layers(net: Network) -> dict[str, Any]:
    """Links, places and boundaries of ``net`` in METRIC_CRS (cached per network)."""
    c = _CACHE.get(net)
    if c is None:
        links = net.links.to_crs(METRIC_CRS)
        bnd = net.boundaries.to_crs(METRIC_CRS)
        c = {"links": links, "places": net.places.to_crs(METRIC_CRS), "boundaries": bnd}
        _CACHE[net] = c
    return c


def _short_place(name: str) -> str:
    s = re.sub(r"\s*[(（][^)）]*[)）]", "", str(name))
    return s.replace(" city centre", "").strip()


def _place_label(places: pd.DataFrame, pid: str) -> str:
    r = places.loc[pid]
    return label(_short_place(r["name_en"]), None if _isblank(r.get("name_zh")) else _short_place(r["name_zh"]))


def short_project_label(name_en: str, mode: str = "", max_len: int = 36) -> str:
    """A short map label for a project name.

    Road codes win for roads and expressways (``"Shanghai–Hangzhou Expressway (G60)"`` -> ``G60``);
    otherwise the name without parentheses and qualifiers, the shortest of ``" / "`` alternatives,
    cut at a word boundary to ``max_len`` characters.
    """
    name = str(name_en)
    if mode in ("expressway", "road"):
        m = re.search(r"\b([GS]\d{1,4})\b", name)
        if m:
            return m.group(1)
    s = re.sub(r"\s*\([^)]*\)", "", name)
    s = min((p.strip() for p in s.split(" / ")), key=len)
    s = s.split(", ")[0].strip()
    if len(s) > max_len:
        cut = s[: max_len - 1].rsplit(" ", 1)[0]
        s = cut + "…"
    return s


def _segments(geoms: Iterable[Any]) -> list[np.ndarray]:
    arr = np.asarray(list(geoms), dtype=object)
    if arr.size == 0:
        return []
    parts = shapely.get_parts(arr)
    parts = parts[~shapely.is_empty(parts)]
    coords, idx = shapely.get_coordinates(parts, return_index=True)
    if len(coords) == 0:
        return []
    cuts = np.flatnonzero(np.diff(idx)) + 1
    return [c for c in np.split(coords, cuts) if len(c) >= 2]


def _draw_lines(ax: Axes, geoms: Iterable[Any], *, gid: str, **kw: Any) -> LineCollection | None:
    segs = _segments(geoms)
    if not segs:
        return None
    lc = LineCollection(segs, **kw)
    lc.set_gid(gid)
    ax.add_collection(lc, autolim=False)
    return lc


def _polygon_path(geom: Any) -> MplPath:
    """One compound matplotlib path (exteriors and holes) for a (multi)polygon."""
    verts: list[np.ndarray] = []
    codes: list[np.ndarray] = []
    for poly in shapely.get_parts(np.asarray([geom], dtype=object)):
        if poly.geom_type != "Polygon" or poly.is_empty:
            continue
        poly = orient(poly, 1.0)  # exterior counter-clockwise, holes clockwise: holes stay empty under any fill rule
        for ring in (poly.exterior, *poly.interiors):
            xy = np.asarray(ring.coords)
            if len(xy) < 3:
                continue
            c = np.full(len(xy), MplPath.LINETO, dtype=MplPath.code_type)
            c[0], c[-1] = MplPath.MOVETO, MplPath.CLOSEPOLY
            verts.append(xy)
            codes.append(c)
    if not verts:
        return MplPath(np.empty((0, 2)))
    return MplPath(np.concatenate(verts), np.concatenate(codes))


def _draw_polys(ax: Axes, gs: gpd.GeoSeries, *, gid: str, facecolor: Any = "none", edgecolor: Any = "none",
                linewidth: float = 0.0, linestyle: Any = "solid", alpha: float | None = None, zorder: float = 1.0) -> Any:
    """Polygons as one PatchCollection (holes kept); returns it, or None when nothing to draw."""
    vals = np.asarray(gs.values, dtype=object)
    vals = vals[~shapely.is_missing(vals) & ~shapely.is_empty(vals)]
    paths = [p for p in (_polygon_path(g) for g in vals) if len(p.vertices)]
    if not paths:
        return None
    coll = PatchCollection([PathPatch(p) for p in paths], facecolor=facecolor, edgecolor=edgecolor, linewidth=linewidth,
                           linestyle=linestyle, alpha=alpha, zorder=zorder)
    coll.set_gid(gid)
    ax.add_collection(coll, autolim=False)
    return coll


def _draw_boundaries(ax: Axes, net: Network, view: tuple[float, float, float, float], *, fill: bool = True,
                     highlight_fill: str | None = "white") -> None:
    """Neighbouring boundaries (light grey), Jiaxing outline, Tongxiang fill (outline: see _draw_tongxiang)."""
    b = _layers(net)["boundaries"]
    vb = box(*_pad(view, 0.2))
    b = b[b.intersects(vb)]
    prov = b[b["level"] == "province"]
    pref = b[(b["level"] == "prefecture")]
    _draw_polys(ax, prov.geometry, gid="boundaries:provinces", facecolor=_LAND if fill else "none", edgecolor="#8d8d8d",
                linewidth=0.8, zorder=0.2)
    _draw_polys(ax, pref.geometry, gid="boundaries:prefectures", facecolor="none", edgecolor=_EDGE, linewidth=0.4, zorder=0.3)
    if JIAXING in b.index:
        _draw_polys(ax, b.loc[[JIAXING]].geometry, gid=f"boundary:{JIAXING}", facecolor="none", edgecolor="#7a7a7a",
                    linewidth=0.8, linestyle=(0, (3, 2)), zorder=0.35)
    if highlight_fill and fill and TONGXIANG in b.index:
        _draw_polys(ax, b.loc[[TONGXIANG]].geometry, gid="boundary:330483:fill", facecolor=highlight_fill, edgecolor="none",
                    zorder=0.4)


def _draw_tongxiang(ax: Axes, net: Network, zorder: float = 6.0) -> Any:
    b = _layers(net)["boundaries"]
    if TONGXIANG not in b.index:
        return None
    return _draw_polys(ax, b.loc[[TONGXIANG]].geometry, gid=f"boundary:{TONGXIANG}", facecolor="none",
                       edgecolor="#1d1d1d", linewidth=1.7, zorder=zorder)


def _tongxiang_handle() -> Patch:
    return Patch(facecolor="white", edgecolor="#1d1d1d", linewidth=1.7, label=label("Tongxiang", "桐乡") + " boundary")


# ---------------------------------------------------------------------------------------------- extent and axes
def _pad(b: Sequence[float], frac: float) -> tuple[float, float, float, float]:
    minx, miny, maxx, maxy = (float(v) for v in b)
    d = max(maxx - minx, maxy - miny, 1.0) * frac
    return minx - d, miny - d, maxx + d, maxy + d


def _auto_view(b: Sequence[float], frac: float = 0.05) -> tuple[float, float, float, float]:
    """Padded data bounds, with a strip at the bottom for the scale bar and attribution."""
    minx, miny, maxx, maxy = _pad(b, frac)
    return minx, miny - 0.06 * (maxy - miny), maxx, maxy


def _lonlat_box_to_metric(b: Sequence[float]) -> tuple[float, float, float, float]:
    poly = shapely.segmentize(box(*b), 0.01)
    return tuple(gpd.GeoSeries([poly], crs=WGS84).to_crs(METRIC_CRS).total_bounds)  # type: ignore[return-value]


def _extent(net: Network, extent: str | Sequence[float]) -> tuple[float, float, float, float]:
    """The view box (metric) of an extent keyword, an adcode or a (minlon, minlat, maxlon, maxlat) tuple."""
    lay = _layers(net)
    if isinstance(extent, str):
        if extent == "tongxiang":
            return _pad(lay["boundaries"].loc[TONGXIANG].geometry.bounds, 0.06)
        if extent == "region":  # the cities and airports of the bundle (not every timetable station of the YRD)
            p = lay["places"]
            return _pad(p[p["kind"].isin(["city", "airport"])].total_bounds, 0.05)
        if extent in lay["boundaries"].index:
            return _pad(lay["boundaries"].loc[extent].geometry.bounds, 0.04)
        raise ValueError(f"unknown extent {extent!r}; use 'tongxiang', 'region', an adcode or (minlon, minlat, maxlon, maxlat)")
    vals = [float(v) for v in extent]
    if len(vals) != 4 or not (vals[0] < vals[2] and vals[1] < vals[3]):
        raise ValueError(f"extent {extent!r} is not (minlon, minlat, maxlon, maxlat)")
    return _lonlat_box_to_metric(vals)


def _new_axes(view: Sequence[float], *, top_in: float = 0.55, bottom_in: float = 1.0, right_in: float = 0.15,
              width_in: float = A4_WIDTH_IN, max_height_in: float = 10.8) -> Axes:
    """An A4-wide figure whose axes has exactly the view's aspect."""
    left_in = 0.15
    dx, dy = view[2] - view[0], view[3] - view[1]
    map_w = width_in - left_in - right_in
    map_h = map_w * dy / dx
    if map_h + top_in + bottom_in > max_height_in:
        map_h = max_height_in - top_in - bottom_in
        map_w = map_h * dx / dy
    h = map_h + top_in + bottom_in
    fig = plt.figure(figsize=(width_in, h))
    lx = (width_in - right_in - left_in - map_w) / 2 + left_in
    ax = fig.add_axes((lx / width_in, bottom_in / h, map_w / width_in, map_h / h))
    return ax


def _setup_map_axes(ax: Axes, view: Sequence[float]) -> None:
    ax.set_xlim(view[0], view[2])
    ax.set_ylim(view[1], view[3])
    ax.set_aspect("equal", adjustable="box")
    ax.set_xticks([])
    ax.set_yticks([])
    for s in ax.spines.values():
        s.set_linewidth(0.6)
        s.set_color("#555555")
    ax.set_facecolor("white")


