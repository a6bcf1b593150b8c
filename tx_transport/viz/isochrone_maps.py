"""Isochrone maps: nested bands with targets, and the area gained and lost between two scenarios."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import shapely
from matplotlib.axes import Axes
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from shapely.geometry import box

from ..geo import METRIC_CRS, WGS84

if TYPE_CHECKING:
    from ..network import Network
from .furniture import _basemap, _LabelPlacer, _legend_below, _map_furniture, add_locator, context_handles
from .layers import (
    _auto_view,
    _draw_boundaries,
    _draw_lines,
    _draw_polys,
    _draw_tongxiang,
    _layers,
    _new_axes,
    _pad,
    _place_label,
    _setup_map_axes,
    _tongxiang_handle,
)
from .style import _FAIL, _PASS, MODE_COLOURS, TONGXIANG


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


def _context_points(ax: Axes, net: Network, view: Sequence[float], skip: set[str]) -> gpd.GeoDataFrame:
    """Cities (and towns at local scale) as small dots; returns them for :func:`_context_labels`."""
    pl = _layers(net)["places"]
    p = pl[pl.intersects(box(*_pad(view, -0.012))) & pl["kind"].isin(["city", "town"]) & ~pl.index.isin(list(skip))]
    small = (view[2] - view[0]) < 130_000
    if not small:
        p = p[p["kind"] == "city"]
    ax.scatter(p.geometry.x, p.geometry.y, s=10, marker="o", facecolor="#222222", edgecolor="white", linewidth=0.5,
               zorder=8, gid="context-places")
    return p


def _context_labels(P: _LabelPlacer, net: Network, p: gpd.GeoDataFrame, hidden_by: Any = None) -> None:
    """Label the context places, most important first; places under ``hidden_by`` (an inset axes) are dropped."""
    pl = _layers(net)["places"]
    if hidden_by is not None and len(p):
        bb = hidden_by.get_window_extent(P.renderer).padded(6)
        xy = P.ax.transData.transform(np.c_[p.geometry.x, p.geometry.y])
        keep = ~((xy[:, 0] >= bb.x0) & (xy[:, 0] <= bb.x1) & (xy[:, 1] >= bb.y0) & (xy[:, 1] <= bb.y1))
        p = p[keep]
        for c in P.ax.collections:
            if c.get_gid() == "context-places":
                c.set_offsets(np.c_[p.geometry.x, p.geometry.y].reshape(-1, 2))
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
    bounds = [iso.total_bounds]
    if TONGXIANG in _layers(net)["boundaries"].index:
        bounds.append(_layers(net)["boundaries"].loc[TONGXIANG].geometry.bounds)
    for _, x, y, _ in origins:
        bounds.append((x, y, x, y))
    arr = np.array(bounds, dtype=float)
    view = _auto_view((arr[:, 0].min(), arr[:, 1].min(), arr[:, 2].max(), arr[:, 3].max()))  # the bands, not the far targets
    if ax is None:
        ax = _new_axes(view, bottom_in=1.0)
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
    tser = pd.Series(times, dtype=float) if times is not None else None
    for tid in tgt.index:
        tvals[tid] = float(tser.get(tid, np.nan)) if tser is not None else np.nan
    inner = _pad(view, -0.025)
    inside = np.array([inner[0] <= g.x <= inner[2] and inner[1] <= g.y <= inner[3] for g in tgt.geometry], dtype=bool)
    tin, tout = tgt[inside], tgt[~inside]
    colour_of = {tid: ("#777777" if tser is None else (_PASS if tvals[tid] <= limit_min else _FAIL)) for tid in tgt.index}
    if len(tin):
        if tser is None:
            ax.scatter(tin.geometry.x, tin.geometry.y, s=40, marker="o", facecolor="#777777", edgecolor="white", zorder=10, gid="targets")
        else:
            ok = np.array([tvals[t] <= limit_min for t in tin.index])  # NaN compares False: unreachable fails
            g = tin.geometry
            ax.scatter(g.x[ok], g.y[ok], s=48, marker="o", facecolor=_PASS, edgecolor="white", linewidth=0.8, zorder=10,
                       gid="targets:pass")
            ax.scatter(g.x[~ok], g.y[~ok], s=58, marker="X", facecolor=_FAIL, edgecolor="white", linewidth=0.6, zorder=10,
                       gid="targets:fail")
    edge = _edge_points(view, inner, [(g.x, g.y) for g in tout.geometry])
    arrows: list[Any] = []
    for (tid, _), (ex, ey, ang) in zip(tout.iterrows(), edge):
        u = np.radians(ang)
        arr = ax.annotate("", xy=(ex, ey), xytext=(-16 * np.cos(u), -16 * np.sin(u)), textcoords="offset points", zorder=10,
                          annotation_clip=False, arrowprops={"arrowstyle": "-|>,head_length=0.55,head_width=0.3", "color": colour_of[tid],
                                                             "lw": 2.0, "shrinkA": 0, "shrinkB": 0})
        arr.set_gid(f"targets:outside:{tid}")
        arrows.append(arr)
    if len(tgt):
        if tser is None:
            handles.append(Line2D([], [], marker="o", ls="", ms=6, mfc="#777777", mec="white", label="Target"))
        else:
            handles.append(Line2D([], [], marker="o", ls="", ms=7, mfc=_PASS, mec="white", label=f"Target within {limit_min:g} min"))
            handles.append(Line2D([], [], marker="X", ls="", ms=7.5, mfc=_FAIL, mec="white",
                                  label=f"Target over {limit_min:g} min or unreachable"))
        if len(tout):
            handles.append(Line2D([], [], marker=r"$\rightarrow$", ls="", ms=11, color="#555555",
                                  label="Target beyond the frame (arrow points to it)"))
    ctx = _context_points(ax, net, view, skip=set(tgt.index) | {o[0] for o in origins})
    handles.append(_tongxiang_handle())
    handles += context_handles(ax, scenario)
    _legend_below(ax, handles, ncol=3)
    if title is None:
        prof = iso_gdf.attrs.get("profile")
        who = ", ".join(o[3] for o in origins) or "origin"
        title = f"{(prof or 'Travel').capitalize()} isochrones from {who}" + (f", {scenario}" if scenario else "")
    loc = add_locator(ax, net, view, avoid=[shapely.make_valid(iso.geometry.iloc[-1])],
                      avoid_points=[(g.x, g.y) for g in tin.geometry] + [(x, y) for x, y, _ in edge],
                      points=[(g.x, g.y, colour_of[t]) for t, g in tgt.geometry.items()])
    P = _map_furniture(ax, title)
    P.block(loc)
    P.block_points(np.array([(x, y) for _, x, y, _ in origins]).reshape(-1, 2), radius_px=6)
    P.block_points(np.c_[tin.geometry.x, tin.geometry.y], radius_px=5)
    P.block_points(np.array([(x, y) for x, y, _ in edge]).reshape(-1, 2), radius_px=5)
    for arr in arrows:
        arr.update_positions(P.renderer)
        P.block(arr.arrow_patch)
    for key, x, y, lab in origins:
        P.place(x, y, lab, gid=f"label:origin:{key}", fontsize=8.0, fontweight="bold", offset_scale=1.8)
    for t, xy in zip([*tin.index, *tout.index], [(g.x, g.y) for g in tin.geometry] + [(x, y) for x, y, _ in edge]):
        v = tvals.get(t, np.nan)
        txt = _place_label(pl, t) + ("" if times is None else (f" {v:.0f} min" if np.isfinite(v) else " unreachable"))
        P.place(xy[0], xy[1], txt, gid=f"label:target:{t}", fontsize=7.5, fontweight="bold", color=colour_of[t] if times is not None
                else "#222222", offset_scale=1.4)
    _context_labels(P, net, ctx, hidden_by=loc)
    return ax


def _edge_points(view: Sequence[float], inner: Sequence[float], pts: Sequence[tuple[float, float]]) -> list[tuple[float, float, float]]:
    """Where the line from the view centre to each outside point leaves ``inner``: (x, y, direction in degrees)."""
    cx, cy = (view[0] + view[2]) / 2, (view[1] + view[3]) / 2
    out = []
    for x, y in pts:
        dx, dy = x - cx, y - cy
        ts = [t for t in ((inner[2] - cx) / dx if dx > 0 else (inner[0] - cx) / dx if dx < 0 else np.inf,
                          (inner[3] - cy) / dy if dy > 0 else (inner[1] - cy) / dy if dy < 0 else np.inf) if t > 0]
        t = min(ts) if ts else 0.0
        out.append((cx + t * dx, cy + t * dy, float(np.degrees(np.arctan2(dy, dx)))))
    return out


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
    ctx = _context_points(ax, net, view, skip={o[0] for o in origins})
    handles += context_handles(ax, iso_b.attrs.get("scenario"))
    if tolerance_m > 0:
        handles.append(Line2D([], [], ls="", label=f"(changes narrower than {tolerance_m:g} m ignored)"))
    _legend_below(ax, handles, ncol=3)
    if title is None:
        title = f"Area within {cutoff_min:g} min: {labels[0]} → {labels[1]}"
    loc = add_locator(ax, net, view, avoid=[shapely.union_all([a, b])])
    P = _map_furniture(ax, title)
    P.block(loc)
    P.block_points(np.array([(x, y) for _, x, y, _ in origins]).reshape(-1, 2), radius_px=6)
    for key, x, y, lab in origins:
        P.place(x, y, lab, gid=f"label:origin:{key}", fontsize=8.0, fontweight="bold", offset_scale=1.8)
    _context_labels(P, net, ctx, hidden_by=loc)
    return ax


