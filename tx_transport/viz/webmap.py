"""The interactive web map: a folium (Leaflet) map that works offline.

:func:`explore` draws, for each scenario and profile, the isochrone bands from the goal's origin
and the routes of the goal table; the projects coloured by status (existing, in the plan,
vision); towns and stations with bilingual popups (travel times to the one-hour-circle targets,
and the goal items they pass or fail); a scenario switch (radio buttons, one per scenario and
profile) and a scenario-difference layer (area gained and lost, change of travel time).

Offline by design: Leaflet's JavaScript and CSS are inlined from ``static/`` (Leaflet 1.9.4,
BSD-2-Clause, ``static/LICENSE-leaflet.txt``), so the page fetches nothing from the network. With
``tiles="auto"`` (the default) a tile layer is added only when the tile server answers at build
time; otherwise the background is plain, with the boundaries drawn. ``tiles=None`` never adds
tiles; a folium tile name or an URL template adds that layer.

``net.explore(...)`` is the notebook entry point (like geopandas' ``GeoDataFrame.explore`` it
returns a :class:`folium.Map`, which renders itself in Jupyter); :func:`save_map` writes the
HTML file atomically; ``tx-transport map`` is the command line.
"""

from __future__ import annotations

import html
import math
import threading
import urllib.request
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
from branca.element import Element, MacroElement, Template

from .._files import atomic_write_text
from ..errors import QueryError
from ..geo import WGS84
from .style import TONGXIANG
from .web_layers import (
    _ON_EACH_FEATURE,
    _PANES,
    STATUS_COLOURS,
    _band_layer,
    _boundaries_layer,
    _difference_layer,
    _fc,
    _goal_origins,
    _goal_routes,
    _legend_html,
    _name,
    _outline_layer,
    _place_popups,
    _places_layers,
    _project_layers,
    _targets,
)

if TYPE_CHECKING:
    from ..network import Network

__all__ = ["STATUS_COLOURS", "OfflineMap", "explore", "save_map", "tiles_reachable"]

STATIC = Path(__file__).resolve().parent / "static"
OSM_TILES = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
OSM_ATTR = '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors'

_CSS = """
.folium-map, .leaflet-container { background: #f6f5f1; font-family: "Noto Sans CJK SC", "Noto Sans SC", "Microsoft YaHei",
  "PingFang SC", "WenQuanYi Zen Hei", "DejaVu Sans", Arial, sans-serif; }
.tx-label { background: rgba(255,255,255,0.82); border: none; box-shadow: none; padding: 0 3px; font-size: 11px; color: #222; }
.tx-label:before { display: none; }
.tx-label-city { font-weight: bold; font-size: 12px; }
.tx-z-low .tx-label-town { display: none; }
.tx-z-region .tx-label-minor { display: none; }
.tx-box { font-family: "Noto Sans CJK SC", "Noto Sans SC", "Microsoft YaHei", "PingFang SC", "DejaVu Sans", Arial, sans-serif;
  background: rgba(255,255,255,0.93); padding: 6px 9px; border-radius: 4px; box-shadow: 0 1px 5px rgba(0,0,0,0.35);
  font-size: 12px; line-height: 1.35; }
.tx-legend { position: absolute; bottom: 52px; left: 10px; z-index: 660; max-width: 270px; }
.tx-title { position: absolute; top: 10px; left: 54px; z-index: 660; max-width: 420px; }
.tx-legend .sw { display: inline-block; width: 22px; height: 0; vertical-align: middle; margin-right: 5px; }
.tx-legend .bx { display: inline-block; width: 14px; height: 11px; vertical-align: middle; margin-right: 5px; }
.tx-legend .dot { display: inline-block; width: 10px; height: 10px; border-radius: 50%; vertical-align: middle; margin-right: 5px; }
.tx-popup table { border-collapse: collapse; font-size: 12px; }
.tx-popup td, .tx-popup th { padding: 1px 6px 1px 0; text-align: left; }
.tx-pass { color: #1a9850; font-weight: bold; } .tx-fail { color: #d73027; font-weight: bold; }
.leaflet-control-layers { font-size: 12px; max-height: 70vh; overflow-y: auto; }
"""


# ---------------------------------------------------------------------------------------------- offline map
@lru_cache(maxsize=1)
def _leaflet_assets() -> str:
    js = (STATIC / "leaflet.js").read_text(encoding="utf-8").replace("</script", "<\\/script")
    css = (STATIC / "leaflet.css").read_text(encoding="utf-8")
    return f"<style>{css}</style>\n<script>{js}</script>\n<style>{_CSS}</style>"


def _descendants(el: Any) -> Iterable[Any]:
    yield el
    for child in list(getattr(el, "_children", {}).values()):
        yield from _descendants(child)


class OfflineMap(folium.Map):
    """A :class:`folium.Map` whose page loads nothing from the network.

    At render time the CDN links folium adds (Leaflet, jQuery, Bootstrap, Font Awesome) are
    dropped and Leaflet is inlined; layers that need more than Leaflet (e.g. ``folium.Popup``,
    which uses jQuery, or awesome-marker icons) would then fail: use GeoJSON layers with
    properties ``popup`` / ``tooltip`` / ``label`` as this module does.
    """

    def render(self, **kwargs: Any) -> None:
        for el in _descendants(self):
            el.default_js = []
            el.default_css = []
        root = self.get_root()
        if "tx_leaflet_inline" not in root.header._children:
            root.header.add_child(Element(_leaflet_assets()), name="tx_leaflet_inline", index=0)
        super().render(**kwargs)


def tiles_reachable(url: str = OSM_TILES, *, timeout_s: float = 1.5) -> bool:
    """True when the tile server answers a request for tile 0/0/0 within ``timeout_s`` seconds."""
    test = url.replace("{s}", "a").replace("{z}", "0").replace("{x}", "0").replace("{y}", "0").replace("{r}", "")
    req = urllib.request.Request(test, headers={"User-Agent": "tx-transport (tile probe)"})
    ok: list[bool] = []

    def probe() -> None:
        try:
            with urllib.request.urlopen(req, timeout=timeout_s) as resp:  # noqa: S310 - an http(s) tile URL
                ok.append(200 <= resp.status < 400)
        except Exception:
            ok.append(False)

    th = threading.Thread(target=probe, daemon=True)  # bounds a hanging name lookup too
    th.start()
    th.join(timeout_s + 0.5)
    return bool(ok and ok[0])


def save_map(m: folium.Map, path: str | Path) -> Path:
    """Write the map's HTML page atomically (temporary file, then rename)."""
    path = Path(path)
    return atomic_write_text(path, m.get_root().render())


class _ZoomClasses(MacroElement):
    """Thin out labels: CSS classes by zoom level, then hide any label that would overlap one of
    higher rank (cities before towns, then page order), after every zoom, move and layer switch."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        (function() {
            var m = {{ this._parent.get_name() }};
            function tx_declutter() {
                var z = m.getZoom(), c = m.getContainer();
                c.classList.toggle('tx-z-low', z < 10);
                c.classList.toggle('tx-z-region', z < 8);
                var labels = Array.from(c.querySelectorAll('.tx-label'));
                labels.sort(function(a, b) {
                    return (b.classList.contains('tx-label-city') ? 1 : 0) - (a.classList.contains('tx-label-city') ? 1 : 0);
                });
                var shown = [];
                labels.forEach(function(el) {
                    el.style.visibility = '';
                    var r = el.getBoundingClientRect();
                    if (r.width === 0 && r.height === 0) { return; }  // hidden by the zoom classes
                    if (el.style.opacity === '0') { return; }  // a label fading out (its layer was just switched off)
                    var hit = shown.some(function(s) {
                        return r.left < s.right && r.right > s.left && r.top < s.bottom && r.bottom > s.top;
                    });
                    if (hit) { el.style.visibility = 'hidden'; } else { shown.push(r); }
                });
            }
            function later() { setTimeout(tx_declutter, 0); setTimeout(tx_declutter, 260); }  // again once fades are done
            m.on('zoomend moveend baselayerchange overlayadd overlayremove', later);
            later();
        })();
        {% endmacro %}
    """)


# ---------------------------------------------------------------------------------------------- explore
def explore(net: Network, scenarios: Sequence[str] | str | None = None, *, profiles: Sequence[str] = ("door-to-door", "rail", "car"),
            origins: Mapping[str, str] | None = None, cutoffs: Sequence[float] = (15, 30, 45, 60),
            difference: tuple[str, str] | bool | None = True, goal_table: pd.DataFrame | None = None,
            isochrones: Mapping[tuple[str, str], gpd.GeoDataFrame] | None = None, routes: bool = True,
            tiles: str | None = "auto", m: folium.Map | None = None, width: str | int = "100%", height: str | int = "100%",
            title: str | None = None) -> folium.Map:
    """An interactive map of the network's scenarios (folium / Leaflet), usable offline.

    Parameters
    ----------
    net : Network
    scenarios : str or sequence of str, optional
        Scenarios to show, each a choice of the layer switch (default: all).
    profiles : sequence of str, default ('door-to-door', 'rail', 'car')
        Profiles with isochrone bands and goal routes; one radio button per scenario and profile.
    origins : mapping profile -> place id, optional
        Origin of each profile's bands; default the goals' origins (``goals.yaml``: Tongxiang's
        centre door to door and by car, Tongxiang station by rail).
    cutoffs : sequence of float, default (15, 30, 45, 60)
        Band limits in minutes.
    difference : (str, str), bool or None, default True
        The scenario pair of the difference layer (area gained and lost within the largest cutoff,
        change of travel time per place, first profile). ``True``: ``('baseline-2020',
        'plan-2025')`` when both are shown, else the first and last scenario; ``False``/``None``: none.
    goal_table : pandas.DataFrame, optional
        :func:`tx_transport.check` rows of the scenarios (computed when not given).
    isochrones : mapping (scenario, profile) -> GeoDataFrame, optional
        Precomputed bands (e.g. from the report); others are computed.
    routes : bool, default True
        Draw the fastest path of every goal item (one-hour circles, "301510").
    tiles : str or None, default 'auto'
        ``'auto'``: OpenStreetMap tiles if the tile server answers now, else none; ``None`` (or
        ``'none'``): a plain background with the boundaries; otherwise a folium tile name or an
        URL template (then loaded by the browser).
    m : folium.Map, optional
        Add the layers to this map instead of a new :class:`OfflineMap`.
    width, height : str or int
        Map size (CSS), default the whole page.
    title : str, optional

    Returns
    -------
    folium.Map
        Layer switch at the top right: the scenario · profile choices (radio buttons) and the
        project, difference overlays (check boxes).
    """
    from ..goals import check

    all_scen = list(net.scenarios)
    scen = [scenarios] if isinstance(scenarios, str) else list(scenarios or all_scen)
    bad = [s for s in scen if s not in all_scen]
    if bad:
        raise QueryError(f"unknown scenario(s) {bad}; valid: {', '.join(all_scen)}")
    prof = [p for p in profiles]
    badp = [p for p in prof if p not in net.profiles]
    if badp or not prof:
        raise QueryError(f"unknown profile(s) {badp or prof}; valid: {', '.join(net.profiles)}")
    orig = {**_goal_origins(net), **dict(origins or {})}
    for p in prof:
        if p not in orig:
            orig[p] = "tongxiang"
    cut = sorted(float(c) for c in cutoffs)
    if not cut or not all(math.isfinite(c) and c > 0 for c in cut):
        raise QueryError(f"cutoffs must be positive minutes, got {cutoffs!r}")
    if goal_table is None:
        goal_table = pd.concat([check(net, s, paths=False) for s in scen], ignore_index=True)
    isos: dict[tuple[str, str], gpd.GeoDataFrame] = dict(isochrones or {})

    def iso_for(s: str, p: str) -> gpd.GeoDataFrame:
        have = isos.get((s, p))
        if have is None or sorted(have["cutoff_min"].astype(float)) != cut:
            isos[(s, p)] = net.isochrones(orig[p], cut, scenario=s, profile=p)
        return isos[(s, p)]

    plan = "plan-2025" if "plan-2025" in all_scen else None
    vision = "vision-2035" if "vision-2035" in all_scen else (all_scen[-1] if all_scen[-1] != plan else None)
    pl = net.places
    place_ids = [str(i) for i in pl.index[pl["kind"].isin(["city", "town", "station"])]]
    targets = _targets(net)
    limit = float(next(iter(c.get("limit_min", 60) for c in net.goals.get("one_hour_circles") or [{}])))

    if m is None:
        if TONGXIANG in net.boundaries.index:
            c = net.boundaries.loc[TONGXIANG].geometry.centroid
            centre = [c.y, c.x]
        else:
            b = pl.total_bounds
            centre = [(b[1] + b[3]) / 2, (b[0] + b[2]) / 2]
        m = OfflineMap(location=centre, zoom_start=10, tiles=None, control_scale=True, width=width, height=height,
                       attributionControl=True)
    for name, z in _PANES:
        folium.map.CustomPane(name, z_index=z, pointer_events=name not in ("tx-boundaries", "tx-outline")).add_to(m)
    if tiles == "auto":
        tiles = OSM_TILES if tiles_reachable(OSM_TILES) else None
    if tiles not in (None, "none", False):
        attr = OSM_ATTR if tiles == OSM_TILES or str(tiles).lower() == "openstreetmap" else None
        folium.TileLayer(tiles, attr=attr, control=False, opacity=0.55).add_to(m)
    _boundaries_layer(net).add_to(m)

    first = True
    main = plan if plan in scen else scen[0]
    order = [main] + [s for s in scen if s != main]
    for s in order:
        popups = _place_popups(net, goal_table, s, place_ids, targets, limit)
        for p in prof:
            fg = folium.FeatureGroup(name=f"{s} · {p}", overlay=False, control=True, show=first)
            first = False
            _band_layer(iso_for(s, p), s, p, _name(pl, orig[p]) if orig[p] in pl.index else orig[p]).add_to(fg)
            if routes:
                feats = _goal_routes(net, goal_table, s, p)
                if feats:
                    folium.GeoJson(_fc(feats), name=f"goal routes {s} {p}", style_function=lambda f: f["properties"]["_style"],
                                   on_each_feature=_ON_EACH_FEATURE, pane="tx-routes", className="tx-route").add_to(fg)
            for lay in _places_layers(net, place_ids, popups):
                lay.add_to(fg)
            fg.add_to(m)
    status_groups, present = _project_layers(net, plan, vision)
    for g in status_groups:
        g.add_to(m)
    out = _outline_layer(net)
    if out is not None:
        out.add_to(m)
    diff_pair: tuple[str, str] | None = None
    if difference is True:
        diff_pair = ("baseline-2020", "plan-2025") if {"baseline-2020", "plan-2025"} <= set(scen) else (scen[0], scen[-1])
        if diff_pair[0] == diff_pair[1]:
            diff_pair = None
    elif isinstance(difference, (tuple, list)):
        diff_pair = (str(difference[0]), str(difference[1]))
        if any(s not in all_scen for s in diff_pair):
            raise QueryError(f"difference {difference!r}: unknown scenario; valid: {', '.join(all_scen)}")
    if diff_pair:
        p0 = prof[0]
        _difference_layer(net, diff_pair[0], diff_pair[1], iso_for(diff_pair[0], p0), iso_for(diff_pair[1], p0), p0, orig[p0], cut[-1],
                          place_ids).add_to(m)
    folium.LayerControl(collapsed=False, position="topright").add_to(m)
    _ZoomClasses().add_to(m)
    m.get_root().html.add_child(Element(_legend_html(prof, cut, present, bool(diff_pair))))
    head = title or "Tongxiang 桐乡 transport network: scenarios and goals"
    frm = ", ".join(f"{_name(pl, o)} ({p})" for p, o in orig.items() if p in prof)
    note = f"Choose a scenario · profile at the top right. Bands: time from {html.escape(frm)}. Click a place or a line for details."

    m.get_root().html.add_child(Element(f"<div class='tx-box tx-title'><b>{html.escape(head)}</b><br><small>{note}</small></div>"))
    m.fit_bounds(_fit_bounds(net, isos, scen, prof))
    m.attrs = {"scenarios": scen, "profiles": prof, "difference": diff_pair, "base_layers": len(scen) * len(prof),  # type: ignore[attr-defined]
               "overlays": len(status_groups) + (1 if diff_pair else 0)}
    return m


def _fit_bounds(net: Network, isos: Mapping[tuple[str, str], gpd.GeoDataFrame], scen: Sequence[str], prof: Sequence[str]) -> list[list[float]]:
    parts = [net.boundaries.loc[[TONGXIANG]].total_bounds] if TONGXIANG in net.boundaries.index else []
    key = (scen[0], prof[0])
    if key in isos:
        parts.append(isos[key].to_crs(WGS84).total_bounds)
    if not parts:
        parts.append(net.places.total_bounds)
    a = np.array(parts)
    return [[float(a[:, 1].min()), float(a[:, 0].min())], [float(a[:, 3].max()), float(a[:, 2].max())]]
