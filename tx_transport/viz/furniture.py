"""Map furniture: scale bar, attribution, legends, label placement, optional tiles, saving."""

from __future__ import annotations

import contextlib
import math
import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import shapely
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.text import Text
from matplotlib.transforms import Bbox

from .._files import atomic_write
from ..geo import METRIC_CRS
from .fonts import _font_kw, _legend_prop
from .style import _HALO, ATTRIBUTION

_WARNED: set[str] = set()


# ---------------------------------------------------------------------------------------------- title, legend
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



# ---------------------------------------------------------------------------------------------- locator inset, context legend
def add_locator(ax: Axes, net: Any, view: Sequence[float] | None = None, *, corner: str | None = None,
                avoid: Sequence[Any] = (), avoid_points: Sequence[tuple[float, float]] = (), points: Sequence[tuple[float, float, str]] = (),
                size: float = 0.27) -> Axes | None:
    """A small map of the region in a corner of ``ax``, with the main map's frame drawn on it.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        A map in :data:`~tx_transport.geo.METRIC_CRS` (metres).
    net : Network
    view : (minx, miny, maxx, maxy), optional
        The main map's frame (default its current limits).
    corner : {'upper left', 'upper right'}, optional
        Default: the upper corner that hides the least of ``avoid`` and ``points``.
    avoid : sequence of shapely geometries (metric)
        What the inset should not cover (e.g. the isochrone bands).
    avoid_points : sequence of (x, y)
        Points of the main map the inset should not hide (each counts as much as a covered frame).
    points : sequence of (x, y, colour)
        Places to mark on the inset (e.g. targets outside the main frame).
    size : float, default 0.27
        Inset width or height (the longer side) as a fraction of the main axes.

    Returns
    -------
    matplotlib.axes.Axes or None
        The inset (``gid`` ``"locator"``), or ``None`` when the main map already shows most of
        the region (then no inset is needed).
    """
    from shapely.geometry import box

    from .layers import _draw_polys, _extent, _layers
    from .style import TONGXIANG

    if view is None:
        (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
        view = (x0, y0, x1, y1)
    region = _extent(net, "region")
    rw, rh = region[2] - region[0], region[3] - region[1]
    if (view[2] - view[0]) > 0.55 * rw and (view[3] - view[1]) > 0.55 * rh:
        return None
    ax.apply_aspect()
    axw, axh = ax.get_window_extent().width, ax.get_window_extent().height
    # inset box in axes fraction with the region's aspect
    if rw / axw >= rh / axh:
        w = size
        h = size * (rh / rw) * (axw / axh)
    else:
        h = size
        w = size * (rw / rh) * (axh / axw)
    pad = 0.012
    boxes = {"upper left": (pad, 1 - pad - h, w, h), "upper right": (1 - pad - w, 1 - pad - h, w, h)}
    if corner is None:
        def cost(b: tuple[float, float, float, float]) -> float:
            bx = box(view[0] + b[0] * (view[2] - view[0]), view[1] + b[1] * (view[3] - view[1]),
                     view[0] + (b[0] + b[2]) * (view[2] - view[0]), view[1] + (b[1] + b[3]) * (view[3] - view[1]))
            c = sum(g.intersection(bx).area for g in avoid if g is not None and not g.is_empty) / max(bx.area, 1.0)
            return c + sum(1.0 for x, y in avoid_points if bx.contains(shapely.Point(x, y)))

        corner = min(boxes, key=lambda k: cost(boxes[k]))
    ins = ax.inset_axes(boxes[corner])
    ins.set_gid("locator")
    lay = _layers(net)
    b = lay["boundaries"]
    b = b[b.intersects(box(*region))]
    _draw_polys(ins, b[b["level"] == "province"].geometry, gid="locator:provinces", facecolor="#eeeeec", edgecolor="#8d8d8d",
                linewidth=0.4, zorder=1)
    _draw_polys(ins, b[b["level"] == "prefecture"].geometry, gid="locator:prefectures", facecolor="none", edgecolor="#b5b5b5",
                linewidth=0.25, zorder=1.1)
    if TONGXIANG in b.index:
        _draw_polys(ins, b.loc[[TONGXIANG]].geometry, gid="locator:tongxiang", facecolor="#1d1d1d", edgecolor="#1d1d1d",
                    linewidth=0.3, zorder=2)
    ins.add_patch(Rectangle((view[0], view[1]), view[2] - view[0], view[3] - view[1], facecolor="none", edgecolor="#d7301f",
                            linewidth=1.0, zorder=3, gid="locator:frame"))
    for x, y, c in points:
        ins.scatter([x], [y], s=9, color=c, edgecolor="white", linewidth=0.3, zorder=4, gid="locator:points")
    ins.set_xlim(region[0], region[2])
    ins.set_ylim(region[1], region[3])
    ins.set_aspect("equal", adjustable="datalim")
    ins.set_xticks([])
    ins.set_yticks([])
    ins.set_facecolor("white")
    for s in ins.spines.values():
        s.set_linewidth(0.6)
        s.set_color("#555555")
    ins.set_zorder(30)
    return ins


def context_handles(ax: Axes, scenario: str | None = None) -> list[Any]:
    """Legend entries for the context layers drawn on a map (found by their ``gid``).

    Every line, boundary and point layer drawn for context (expressways and rail of a scenario,
    cities and towns, the Jiaxing and prefecture boundaries) gets an entry, styled as drawn.
    """
    from matplotlib.colors import to_hex
    from matplotlib.lines import Line2D

    from .fonts import label

    drawn = {str(c.get_gid()): c for c in ax.collections}
    out: list[Any] = []
    lines = {name: drawn[key] for key, name in (("context:expressway", "Expressway"), ("context:rail", "Rail")) if key in drawn}
    cols = {name: to_hex(c.get_edgecolor()[0]) for name, c in lines.items()}
    if len(set(cols.values())) == 1 and len(cols) > 1:  # drawn alike (e.g. grey context): one entry
        lines, cols = {"Expressway / rail": next(iter(lines.values()))}, {"Expressway / rail": next(iter(cols.values()))}
    for name, c in lines.items():
        out.append(Line2D([], [], color=cols[name], lw=1.2, alpha=c.get_alpha(),
                          label=f"{name} ({scenario})" if scenario else f"{name} in service"))
    if "context-places" in drawn:
        out.append(Line2D([], [], marker="o", ls="", ms=3.6, mfc="#222222", mec="white", label="City or town"))
    if "boundary:330400" in drawn:
        out.append(Line2D([], [], color="#7a7a7a", lw=0.9, ls=(0, (3, 2)), label=label("Jiaxing", "嘉兴") + " boundary"))
    if "boundaries:prefectures" in drawn or "boundaries:provinces" in drawn:
        out.append(Line2D([], [], color="#a0a0a0", lw=0.7, label="Prefecture / province boundary"))
    return out
