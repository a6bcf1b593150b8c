"""Places coloured by the change of their travel time between two scenarios."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.colors import TwoSlopeNorm
from matplotlib.lines import Line2D
from shapely.geometry import box

if TYPE_CHECKING:
    from ..network import Network
from .furniture import _basemap, _LabelPlacer, _legend_below, _title, add_attribution, add_locator, add_scale_bar, context_handles
from .isochrone_maps import _context_network
from .layers import (
    _auto_view,
    _draw_boundaries,
    _draw_tongxiang,
    _extent,
    _layers,
    _new_axes,
    _pad,
    _place_label,
    _setup_map_axes,
    _tongxiang_handle,
)
from .style import TONGXIANG


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
    if extent is None:  # frame what changed (and Tongxiang); unchanged places far away are left to the locator inset
        moved_ids = [i for i in ids if (new[i] or gone[i] or (both[i] and abs(change[i]) >= 0.5))]
        fp = pl.loc[moved_ids] if moved_ids else p
        tb = _layers(net)["boundaries"].loc[TONGXIANG].geometry.bounds if TONGXIANG in _layers(net)["boundaries"].index else fp.total_bounds
        view = _auto_view(np.r_[np.minimum(fp.total_bounds[:2], tb[:2]), np.maximum(fp.total_bounds[2:], tb[2:])], frac=0.08)
    else:
        view = _extent(net, extent)
    if ax is None:
        ax = _new_axes(view, bottom_in=0.95, right_in=1.0)
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
    inner = box(*_pad(view, -0.01))
    in_view = pd.Series([bool(inner.contains(pl.at[i, "geometry"])) for i in ids], index=ids)
    same = both & (change.abs() < 0.5) & in_view
    moved = both & (change.abs() >= 0.5)
    p = pl.loc[[i for i in ids if shown[i] and in_view[i]]]
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
    handles += context_handles(ax)
    fig = ax.figure
    if moved.any():
        cax = ax.inset_axes((1.025, 0.1, 0.03, 0.8))  # follows the map box (equal aspect), outside it on the right
        cb = fig.colorbar(sc, cax=cax)
        cb.set_label("change in travel time (min)", fontsize=8)
        cb.ax.tick_params(labelsize=7)
        cb.ax.set_gid("colorbar")
        v = change[moved].values
        cb.ax.set_ylim(min(float(v.min()), 0.0), max(float(v.max()), 0.0))  # centred colours, bar clipped to the data (and 0)
    leg = _legend_below(ax, handles, ncol=3)
    an, bn = (times_a.name if getattr(times_a, "name", None) is not None else "a"), (
        times_b.name if getattr(times_b, "name", None) is not None else "b")
    _title(ax, title if title is not None else f"Change in travel time, {an} → {bn}")
    sb = add_scale_bar(ax)
    at = add_attribution(ax)
    loc = add_locator(ax, net, view, avoid_points=list(zip(p.geometry.x, p.geometry.y)))
    P = _LabelPlacer(ax)
    for art in (sb, at, leg, loc):
        P.block(art)
    P.block_points(np.c_[p.geometry.x, p.geometry.y], radius_px=4.5)
    order = change.abs().where(both, np.inf).sort_values(ascending=False, kind="stable").index
    order = [i for i in order if shown[i] and not same[i] and in_view[i]][: max(int(n_labels), 0)]
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


