"""The network map of a scenario: links by mode, planned links dashed, places and stations."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from matplotlib.axes import Axes
from matplotlib.lines import Line2D
from matplotlib.transforms import Bbox
from shapely.geometry import box

if TYPE_CHECKING:
    from ..network import Network
from .fonts import label
from .furniture import _basemap, _LabelPlacer, _legend_below, _map_furniture, add_locator, context_handles
from .layers import (
    _draw_boundaries,
    _draw_lines,
    _draw_tongxiang,
    _extent,
    _layers,
    _new_axes,
    _pad,
    _place_label,
    _setup_map_axes,
    _tongxiang_handle,
    short_project_label,
)
from .style import _LABEL_ORDER, _MODE_NAME, _MODE_ORDER, _MODE_WIDTH, _MODE_Z, _OSM_COLOUR, MODE_COLOURS, OSM_ROADS, TONGXIANG


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
        ``'tongxiang'`` is the city with a small margin, ``'region'`` every city and station of
        the network (Yangtze River Delta).
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
    vb = box(*_pad(view, -0.012))  # markers fully inside the frame: none cut in half at the edge
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
    handles += context_handles(ax)
    _legend_below(ax, handles, ncol=3)
    if title is None:
        tx_name = label("Tongxiang", "桐乡")
        title = (f"Transport network of {tx_name} and the Yangtze River Delta, {scenario}" if extent == "region"
                 else f"{tx_name} transport network, {scenario}")
    # labels, most important first
    tx_poly = lay["boundaries"].loc[TONGXIANG].geometry if TONGXIANG in lay["boundaries"].index else None
    loc = add_locator(ax, net, view, avoid=[tx_poly] if tx_poly is not None else [],
                      avoid_points=list(zip(places.geometry.x, places.geometry.y)))
    P = _map_furniture(ax, title)
    P.block(loc)
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


