"""The goal chart: per target, each scenario's value against the goal's limit."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.lines import Line2D

if TYPE_CHECKING:
    from ..network import Network
from .fonts import _font_kw, _isblank, _legend_prop, label
from .furniture import _renderer, add_attribution
from .layers import _short_place
from .style import _SCENARIO_COLOURS, _SCENARIO_MARKERS, A4_WIDTH_IN

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
    if net is not None and isinstance(t, str) and t in net.boundaries.index:  # an adcode (mileage goals): its name
        b = net.boundaries.loc[t]
        return label(str(b["name_en"]), None if _isblank(b.get("name_zh")) else str(b["name_zh"]))
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
    if ax is None:  # one sub-row per scenario, tall enough that markers never overlap (0.14 in = 10 pt each)
        top_in, bottom_in = 1.0, 0.8
        h = min(top_in + bottom_in + max(0.32, 0.14 * n + 0.08) * len(rows), 22.0)
        fig = plt.figure(figsize=(A4_WIDTH_IN, h))
        ax = fig.add_axes((0.27, bottom_in / h, 0.69, 1 - (top_in + bottom_in) / h))
    vals = df["value"].astype(float)
    finite = vals[np.isfinite(vals)]
    lim = df["limit"].astype(float)
    xmax = float(np.nanmax(np.r_[finite.values, lim.values, 1.0])) * 1.12
    xmin = min(0.0, float(np.nanmin(np.r_[finite.values, 0.0])) * 1.1)
    ax.set_xlim(xmin, xmax)
    ax.set_ylim(len(rows) - 0.5, -0.5)
    step = min(0.3, 0.8 / max(n, 1))  # sub-row pitch (rows are 1 apart)
    off = {s: (i - (n - 1) / 2) * step for i, s in enumerate(scen)}
    ax.figure.canvas.draw_idle()
    pitch_pt = ax.get_window_extent().height / max(len(rows), 1) * step * 72.0 / ax.figure.dpi
    ms = float(np.clip(0.8 * pitch_pt, 2.5, 6.5))  # markers fit their sub-row, whatever the axes size
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
    if n > 1:  # a thin line through each row's scenarios, in order: the change reads at a glance
        for k, i in yidx.items():
            if k in headers:
                continue
            sub = df[df["_key"] == k].drop_duplicates(subset=["scenario"]).set_index("scenario")
            pts = [(float(sub.at[s, "value"]), i + off[s]) for s in scen if s in sub.index and np.isfinite(float(sub.at[s, "value"]))]
            if len(pts) > 1:
                ax.plot(*zip(*pts), color="#a0a0a0", lw=0.8, zorder=3, gid="trend")
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
            ax.plot([v], [y], marker=mk, ms=ms, ls="", color=c, mfc=c if filled else "white", mew=1.4 * ms / 6.5, zorder=4,
                    gid=f"value:{s}", clip_on=False)
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


