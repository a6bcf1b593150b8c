"""Goal checks of the Tongxiang plan, driven by ``goals.yaml`` (never hard-coded).

:func:`check` returns one tidy table, one row per goal item, with the columns

``scenario, goal, group, origin, target, measure, value, limit, unit, pass, margin,
expected, path, note``

- ``goal``: ``one-hour-circle``, ``301510``, ``rail-km``, ``expressway-km``, ``coverage``,
  ``population`` (people within the limit; an indicator, ``expected`` False without a target);
- ``value``: minutes, km or percent (``unit``); NaN when unreachable;
- ``pass``: the goal item is met; ``margin``: by how much (positive = met, negative = missed,
  in ``unit``); ``expected``: False for targets the bundle marks as not expected within the
  limit (e.g. Nanjing, Hefei), which are reported, not hidden;
- ``path``: for time goals, the legs of the fastest path (mode and minutes), so a failed goal
  says along which path it fails.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .errors import QueryError, TxTransportError, UnreachableError
from .geo import METRIC_CRS, haversine_km
from .kernel import CompiledGraph
from .scenario import ScenarioSelection

if TYPE_CHECKING:
    from .network import Network

COLUMNS = ["scenario", "goal", "group", "origin", "target", "measure", "value", "limit", "unit", "pass", "margin",
           "expected", "path", "note"]


def _times(net: Network, cg: CompiledGraph, origins: list[str], targets: list[Any]) -> np.ndarray:
    """Minutes from place ids ``origins`` to node ids ``targets`` on a road kernel (NaN when unreachable)."""
    src = net._idx(cg, [f"place:{o}" for o in origins])
    dst = net._idx(cg, targets)
    d = cg.dijkstra(src)[:, dst] / 60.0
    d[~np.isfinite(d)] = np.nan
    return d


def _route(net: Network, sel: ScenarioSelection, o: str, t: str, profile: str) -> Any:
    if sel.name not in net.scenarios:
        return None
    try:
        return net.route(o, t, scenario=sel.name, profile=profile)
    except (UnreachableError, QueryError):
        return "no path"


def _path_text(net: Network, sel: ScenarioSelection, o: str, t: str, profile: str, route: Any = None) -> str:
    """The legs of the fastest path as text: mode (projects) minutes, naming the stations."""
    r = route if route is not None else _route(net, sel, o, t, profile)
    if r is None or isinstance(r, str):
        return r or ""
    parts = []
    for leg in r.legs.itertuples():
        if leg.time_min < 0.05:
            continue
        if leg.mode in ("station", "wait"):
            parts.append(f"{leg.mode} at {leg.from_name} {leg.time_min:.0f}")
            continue
        if leg.mode == "rail" and getattr(leg, "train", ""):
            parts.append(f"{leg.train} {leg.from_name} {leg.dep} → {leg.to_name} {leg.arr} ({leg.time_min:.0f})")
            continue
        if leg.mode == "transfer":
            parts.append(f"transfer {leg.from_name} → {leg.to_name} {leg.time_min:.0f}")
            continue
        extra = f" {leg.projects}" if leg.mode == "expressway" and leg.projects else ""
        parts.append(f"{leg.mode}{extra} {leg.time_min:.0f}")
    return " → ".join(parts)


def _changes(route: Any) -> int:
    """Changes of train on a route (rail legs after the first)."""
    if route is None or isinstance(route, str):
        return 0
    return max(int((route.legs["mode"] == "rail").sum()) - 1, 0)


def _detour_note(net: Network, route: Any, o: str, t: str) -> str:
    """A caveat when a road path is much longer than the straight line (missing local roads)."""
    if route is None or isinstance(route, str):
        return ""
    p = net._b.places
    crow = float(haversine_km(p.lat[o], p.lon[o], p.lat[t], p.lon[t]))
    ratio = route.length_km / max(crow, 0.1)
    if ratio > 1.8:
        return (f"road path is {ratio:.1f}× the straight line ({route.length_km:.0f} km for {crow:.0f} km): the embedded main-road "
                "layer probably lacks the direct local road, so this time is an upper bound")
    return ""


def interchange_access_nodes(net: Network, sel: ScenarioSelection) -> dict[Any, str]:
    """Local-road nodes at the foot of every expressway interchange ramp in service.

    Returns a dict node id -> interchange name. Junction links (expressway to expressway) are
    not interchanges.
    """
    et = net._edges
    G = net._full_graph
    key = frozenset(sel.projects)
    cache = net.__dict__.setdefault("_ic_cache", {})
    if key in cache:
        return cache[key]
    proj = et.project.astype(str)
    kind = et.kind.astype(str)
    mode = et.mode.astype(str)
    active = np.isin(proj, np.array(sorted(sel.projects)))
    expressway = mode == "expressway"
    mw_nodes = set(et.u[expressway]) | set(et.v[expressway])
    road_nodes = set(et.u[(mode == "road") & (kind == "road")])
    out: dict[Any, str] = {}
    for i in np.flatnonzero(active & (kind == "ramp")):
        for a, b in ((et.u[i], et.v[i]), (et.v[i], et.u[i])):
            if a in road_nodes and b in mw_nodes and b not in road_nodes:
                nb = et.nodes[b]
                ref = G.nodes[nb].get("ref") or (str(nb)[2:] if str(nb).startswith("x:") else str(nb))
                out[et.nodes[a]] = net._interchange_names.get(str(ref), str(G.nodes[nb].get("name", ref)))
    cache[key] = out
    return out


def trunk_road_nodes(net: Network, sel: ScenarioSelection) -> list[Any]:
    """Nodes of the trunk roads (trunk_roads.yaml links and OSM ``trunk`` edges) in service."""
    et = net._edges
    trunk_ids = {t["id"] for t in net._b.trunk_links} & set(sel.projects)
    m = np.isin(et.project, np.array(sorted(trunk_ids), dtype=object)) & (et.kind == "road")
    nodes = set(et.u[m]) | set(et.v[m])
    return [et.nodes[i] for i in sorted(nodes)]


def boundary_label(net: Network, adcode: str) -> str:
    """``name_zh name_en`` of boundary ``adcode`` (``330483`` -> ``桐乡市 Tongxiang``), or the code
    when the bundle has no such boundary."""
    b = net.boundaries
    if str(adcode) not in b.index:
        return str(adcode)
    row = b.loc[str(adcode)]
    name = " ".join(str(row.get(k) or "").strip() for k in ("name_zh", "name_en")).strip()
    return name or str(adcode)


def area_label(net: Network) -> str:
    """The name of the area the goals are about: the ``mileage`` boundary of ``goals.yaml``
    (e.g. ``桐乡市 Tongxiang``), else the name of the bundle's centre place."""
    mg = net.goals.get("mileage") or {}
    if mg.get("boundary") is not None and str(mg["boundary"]) in net.boundaries.index:
        return boundary_label(net, str(mg["boundary"]))
    try:
        return str(net.places.loc[net.centre, "name_en"])
    except TxTransportError:
        return "the area"


def _row(**kw: Any) -> dict[str, Any]:
    r = dict.fromkeys(COLUMNS)
    r.update(kw)
    return r


def _time_row(sel, goal, group, o, t, measure, value, limit, expected=True, path="", note=""):
    ok = bool(value <= limit) if np.isfinite(value) else False
    margin = float(limit - value) if np.isfinite(value) else np.nan
    return _row(scenario=sel.name, goal=goal, group=group, origin=o, target=t, measure=measure, value=float(value),
                limit=float(limit), unit="min", **{"pass": ok}, margin=margin, expected=expected, path=path, note=note)


def check_one_hour(net: Network, sel: ScenarioSelection, paths: bool = True) -> list[dict[str, Any]]:
    """One-hour circles: station to station (fastest scheduled journey of the day) and door to door
    (the departure window's statistic, with its percentiles in the note)."""
    rows = []
    for circle in net.goals.get("one_hour_circles") or []:
        limit = float(circle["limit_min"])
        for m in circle.get("measures") or []:
            prof = m["profile"]
            pdef = net._b.profiles[prof]
            origin = m["origin"]
            targets = circle.get("targets") or []
            station_measure = pdef.get("measure") == "fastest-of-day"
            t_ids = [t.get("station") if station_measure and t.get("station") else t["target"] for t in targets]
            extra: dict[str, str] = {}
            if pdef.get("router") == "timetable" and pdef.get("measure") == "window":
                tab = net.transit_table([origin], t_ids, profile=prof, selection=sel)
                stat = pdef.get("statistic", "median")
                col = {"median": "p50_min", "min": "min_min"}.get(stat, f"{stat}_min")
                vals = tab[col].to_numpy(dtype=float) if col in tab.columns else net._place_times(sel, prof, [origin], t_ids)[0]
                for r in tab.itertuples():
                    extra[r.destination] = (f"window {_clock(net._b.transit.window_start_s)}–{_clock(net._b.transit.window_end_s)}: "
                                            f"p5 {r.p5_min:.0f}, p25 {r.p25_min:.0f}, median {r.p50_min:.0f}, p75 {r.p75_min:.0f}, "
                                            f"p95 {r.p95_min:.0f} min; car {r.car_min:.0f} min; train faster for "
                                            f"{100 * r.rail_share:.0f} % of departure minutes")
            else:
                vals = net._place_times(sel, prof, [origin], t_ids)[0]
                if station_measure:
                    ct = net.compiled_timetable(selection=sel)
                    if ct.has_stop(origin):
                        direct = net.__dict__.setdefault("_direct_cache", {})
                        if id(ct) not in direct:
                            direct[id(ct)] = (ct.direct_trips(), ct.fastest_direct_s())
                        nd, fd = direct[id(ct)]
                        a = ct.stop_index(origin)
                        for tid in t_ids:
                            if ct.has_stop(tid):
                                b = ct.stop_index(tid)
                                fdm = f"{fd[a, b] / 60:.0f} min" if np.isfinite(fd[a, b]) else "none"
                                extra[tid] = f"{int(nd[a, b])} direct train(s) a day; fastest direct {fdm}"
            for t, tid, v in zip(targets, t_ids, vals):
                exp = bool(t.get("expected_within_limit", True))
                route = _route(net, sel, origin, tid, prof) if paths else None
                path = _path_text(net, sel, origin, tid, prof, route) if paths else ""
                notes = [extra[tid]] if tid in extra else []
                n_changes = _changes(route) if station_measure else 0
                if n_changes:
                    notes.append(f"{n_changes} change(s) of train on the fastest journey")
                if not exp:
                    notes.append("not expected within the limit under any plan; reported, not a pass/fail target")
                rows.append(_time_row(sel, "one-hour-circle", circle["id"], origin, tid, m["measure"], v, limit, exp, path, "; ".join(notes)))
    return rows


def _clock(s: float) -> str:
    from .transit.timetable import clock

    return clock(s)


def check_rail_service(net: Network, sel: ScenarioSelection) -> list[dict[str, Any]]:
    """Trains a day calling at the stations of ``goals.yaml`` ``rail_service`` (reported, not pass/fail)."""
    rs = net.goals.get("rail_service")
    if not rs:
        return []
    tt = net._transit.timetable(sel)
    rows = []
    for st in rs.get("stations") or []:
        n = tt.trips_per_day(st)
        rows.append(_row(scenario=sel.name, goal="rail-service", group="trains-per-day", origin=st, target="all directions",
                         measure="trains/day", value=float(n), limit=np.nan, unit="trains", **{"pass": False}, margin=np.nan,
                         expected=False, path="", note=str(rs.get("note", ""))))
    return rows


def check_301510(net: Network, sel: ScenarioSelection, paths: bool = True) -> list[dict[str, Any]]:
    c = net.goals.get("circle_301510")
    if not c:
        return []
    prof = c["profile"]
    cg = net.compiled(selection=sel, profile=prof)
    towns = list(c["towns"])
    centre = c["city_centre"]
    rows = []
    note = "unofficial reading of 301510 (goals.yaml circle_301510)"
    # 30: centre to each town
    v = _times(net, cg, [centre], [f"place:{t}" for t in towns])[0]
    for t, x in zip(towns, v):
        failed = not np.isfinite(x) or x > c["centre_limit_min"]
        route = _route(net, sel, centre, t, prof) if paths and failed else None
        path = _path_text(net, sel, centre, t, prof, route) if route is not None else ""
        caveat = _detour_note(net, route, centre, t)
        rows.append(_time_row(sel, "301510", "centre-to-town", centre, t, prof, x, c["centre_limit_min"], path=path,
                              note=f"{caveat}; {note}" if caveat else note))
    # 15: each town to its nearest neighbour town (or the city centre), or to a trunk road
    if c["neighbour_reading"] == "nearest-town":
        cand = towns + [centre]
        m = _times(net, cg, towns, [f"place:{t}" for t in cand])
        for i, t in enumerate(towns):
            row = m[i].copy()
            row[cand.index(t)] = np.nan
            if np.all(np.isnan(row)):
                best, j = np.nan, None
            else:
                j = int(np.nanargmin(row))
                best = row[j]
            near = cand[j] if j is not None else ""
            route = _route(net, sel, t, near, prof) if paths and near and best > c["neighbour_limit_min"] else None
            path = _path_text(net, sel, t, near, prof, route) if route is not None else ""
            caveat = _detour_note(net, route, t, near)
            rows.append(_time_row(sel, "301510", "town-to-nearest-town", t, near, prof, best, c["neighbour_limit_min"],
                                  path=path, note=f"{caveat}; {note}" if caveat else note))
    else:
        tn = trunk_road_nodes(net, sel)
        m = _times(net, cg, towns, tn) if tn else np.full((len(towns), 1), np.nan)
        for i, t in enumerate(towns):
            best = np.nanmin(m[i]) if np.isfinite(m[i]).any() else np.nan
            rows.append(_time_row(sel, "301510", "town-to-trunk-road", t, "trunk road", prof, best, c["neighbour_limit_min"], note=note))
    # 10: each town to its nearest expressway interchange
    ic = interchange_access_nodes(net, sel)
    nodes = list(ic)
    m = _times(net, cg, towns, nodes) if nodes else np.full((len(towns), 1), np.nan)
    for i, t in enumerate(towns):
        if np.isfinite(m[i]).any():
            j = int(np.nanargmin(m[i]))
            best, name = m[i, j], ic[nodes[j]]
        else:
            best, name = np.nan, ""
        rows.append(_time_row(sel, "301510", "town-to-interchange", t, name, prof, best, c["interchange_limit_min"], note=note))
    return rows


def mileage_table(net: Network, sel: ScenarioSelection, adcode: str) -> pd.DataFrame:
    """Kilometres of each rail line and expressway in service inside boundary ``adcode``.

    Links are clipped to the boundary in :data:`~tx_transport.geo.METRIC_CRS`. For schematic
    links the clipped geometric length is scaled by the link's modelled length over its
    geometric length, so a straight schematic segment still counts its published length.
    """
    if adcode not in net.boundaries.index:
        raise TxTransportError(f"boundary {adcode!r} is not in boundaries.geojson; valid: {', '.join(net.boundaries.index)}")
    L = net.links
    L = L[L["project"].isin(sel.projects) & L["mode"].isin(["rail", "expressway"])]
    Lm = L.to_crs(METRIC_CRS)
    poly = net.boundaries.loc[[adcode]].to_crs(METRIC_CRS).geometry.iloc[0]
    geom_km = Lm.geometry.length / 1000.0
    clipped_km = Lm.geometry.intersection(poly).length / 1000.0
    scale = np.where(geom_km > 0, L.length_km / geom_km.replace(0, np.nan), 0.0)
    # a traced link counts its clipped OSM geometry (its model length may be scaled to a sourced
    # chainage for travel times, which says nothing about where the boundary cuts it)
    traced = L["project"].map(net.projects.geometry).isin(["osm-traced", "osm"]).to_numpy() & (L["mode"] == "expressway").to_numpy()
    scale = np.where(traced, 1.0, scale)
    km = clipped_km * np.nan_to_num(scale, nan=0.0)
    df = pd.DataFrame({"project": L["project"].values, "mode": L["mode"].values, "km": km.values})
    out = df.groupby(["mode", "project"], as_index=False)["km"].sum()
    out["km_geometry"] = out["km"]
    out["length_source"] = out["project"].map(net.projects.geometry).map(
        {"osm-traced": "clipped OSM trace", "osm": "clipped OSM trace"}).fillna("clipped schematic geometry, scaled to the modelled length")
    for item in list(net._b.rail_lines) + list(net._b.corridors):
        sourced = (item.get("in_boundary_km") or {}).get(str(adcode))
        if sourced is None or item["id"] not in sel.projects:
            continue
        mode = "rail" if item in net._b.rail_lines else "expressway"
        if item["id"] not in set(out["project"]):
            out.loc[len(out)] = {"mode": mode, "project": item["id"], "km": 0.0, "km_geometry": 0.0, "length_source": ""}
        k = out.index[out["project"] == item["id"]][0]
        out.loc[k, "km"] = float(sourced)
        out.loc[k, "length_source"] = "published in-boundary length: " + str(item.get("in_boundary_source", ""))
    out = out[out.km > 0.2]  # drop slivers from clipping at the boundary (trace precision ~100 m)
    out = out.sort_values(["mode", "km"], ascending=[True, False])
    out["name_en"] = out["project"].map(net.projects.name_en)
    return out.reset_index(drop=True)


def osm_rail_km(net: Network, adcode: str) -> tuple[float, str]:
    """Kilometres of OpenStreetMap rail inside boundary ``adcode`` and what they were measured on.

    Uses ``rails/osm_rail.geojson`` (the whole OSM rail layer) when the bundle has it, else the
    union of the ``osm-traced`` rail segments (``rail_segments.geojson``); parallel tracks of one
    line count once either way (the layer has one line per railway).
    """
    import geopandas as gpd
    import shapely

    f = net.path / "rails" / "osm_rail.geojson"
    if f.exists():
        geoms, what = list(gpd.read_file(f).geometry), "rails/osm_rail.geojson"
    else:
        geoms, what = list(net._b.rail_geometry.values()), "the OSM-traced rail segments"
    if not geoms:
        return float("nan"), what
    lines = gpd.GeoSeries([shapely.union_all(geoms)], crs="EPSG:4326").to_crs(METRIC_CRS)
    poly = net.boundaries.loc[[adcode]].to_crs(METRIC_CRS).geometry.iloc[0]
    return float(lines.intersection(poly).length.iloc[0] / 1000.0), what


def check_mileage(net: Network, sel: ScenarioSelection) -> list[dict[str, Any]]:
    mg = net.goals.get("mileage")
    if not mg:
        return []
    table = mileage_table(net, sel, str(mg["boundary"]))
    rows = []
    for t in mg.get("targets") or []:
        sub = table[table["mode"].isin(t["modes"])]
        val = float(sub.km.sum())
        per = "; ".join(f"{p} {k:.1f}" for p, k in zip(sub["project"], sub.km))
        note = t.get("source", "")
        if list(t["modes"]) == ["rail"]:
            km, what = osm_rail_km(net, str(mg["boundary"]))
            note = (f"OSM rail inside {boundary_label(net, str(mg['boundary']))}: {km:.1f} km (all of {what}, every scenario); "
                    f"the library counts {val:.1f} km for this scenario's lines; {note}")
        rows.append(_row(scenario=sel.name, goal=t["goal"], group="mileage", origin=boundary_label(net, str(mg["boundary"])),
                         target=f"by {t.get('year', '')}",
                         measure="mileage", value=val, limit=float(t["target_km"]), unit="km", **{"pass": bool(val >= t["target_km"])},
                         margin=val - float(t["target_km"]), expected=True, path=per, note=note))
    return rows


def check_coverage(net: Network, sel: ScenarioSelection) -> list[dict[str, Any]]:
    cov = net.goals.get("coverage")
    if not cov:
        return []
    prof = cov["profile"]
    towns = list(cov["towns"])
    limit = float(cov["limit_min"])
    pop = net.places.population.reindex(towns)
    m = net._place_times(sel, prof, towns, list(cov["centres"]))
    rows = []
    who = f"towns of {area_label(net)}"
    for j, centre in enumerate(cov["centres"]):
        ok = np.nan_to_num(m[:, j], nan=np.inf) <= limit
        share = 100.0 * ok.mean()
        within = [t for t, k in zip(towns, ok) if k]
        rows.append(_row(scenario=sel.name, goal="coverage", group="towns", origin=who, target=centre, measure="share",
                         value=share, limit=100.0, unit="%", **{"pass": bool(share >= 100.0)}, margin=share - 100.0, expected=True,
                         path="within: " + (", ".join(within) if within else "none"), note=cov.get("note", "")))
        known = pop.notna().values
        if known.sum() * 2 >= len(towns):
            p = pop.values[known]
            pshare = 100.0 * float(p[ok[known]].sum() / p.sum())
            rows.append(_row(scenario=sel.name, goal="coverage", group="population", origin=who, target=centre,
                             measure="share", value=pshare, limit=100.0, unit="%", **{"pass": bool(pshare >= 100.0)}, margin=pshare - 100.0,
                             expected=True, path=f"population known for {int(known.sum())} of {len(towns)} places",
                             note="population-weighted over the places whose population is known"))
    return rows


def check_population(net: Network, sel: ScenarioSelection) -> list[dict[str, Any]]:
    """People within ``limit_min`` of the origin (goals.yaml ``population_reached``), per profile.

    An indicator: with no ``target_people`` it is reported with ``expected`` False (not a
    pass/fail item). Only named scenarios are measured (it uses :meth:`Network.isochrones`).
    """
    pr = net.goals.get("population_reached")
    if not pr or sel.name not in net.scenarios:
        return []
    from .accessibility import population_reached

    limit = float(pr.get("limit_min", 60))
    target = pr.get("target_people")
    # the same cutoffs as the report's table, so that the two agree to the person
    cuts = sorted({float(c) for c in (pr.get("report_cutoffs_min") or [])} | {limit})
    df = population_reached(net, pr["origin"], cuts, scenarios=[sel.name], profiles=list(pr.get("profiles") or ["car"]),
                            buffer_m=float(pr.get("buffer_m", 3000.0)))
    rows = []
    for r in df[df.cutoff_min == limit].itertuples():
        ok = bool(target is not None and r.population >= float(target))
        rows.append(_row(scenario=sel.name, goal="population", group=f"people within {limit:g} min", origin=pr["origin"],
                         target=r.profile, measure=r.profile, value=float(r.population), limit=float(target) if target is not None else np.nan,
                         unit="people", **{"pass": ok}, margin=float(r.population - float(target)) if target is not None else np.nan,
                         expected=target is not None, path=f"{100 * r.share:.1f} % of the residents of the zone layer",
                         note=str(pr.get("note", ""))))
    return rows


def _flag_uncertain(net: Network, rows: list[dict[str, Any]]) -> None:
    err = net.goals.get("model_error_min") or {}
    prof_of = {"station-to-station": "rail"}
    for r in rows:
        if r["unit"] != "min" or not r["pass"]:
            continue
        e = err.get(prof_of.get(r["measure"], r["measure"]))
        if e is not None and r["margin"] < float(e):
            flag = (f"uncertain: passes by {r['margin']:.1f} min, less than the model's typical error of {float(e):g} min "
                    "for this measure (docs/calibration.md)")
            r["note"] = f"{flag}; {r['note']}" if r.get("note") else flag


def check_grids(net: Network, sel: ScenarioSelection) -> list[dict[str, Any]]:
    """The named grids of ``goals.yaml`` (e.g. 三横两纵 expressways, 三横一纵 waterways): how many of
    their corridors are in service in the scenario."""
    rows = []
    for gid, g in (net.goals.get("networks") or {}).items():
        goal = gid.replace("_", "-")
        members = list(g.get("horizontals") or []) + list(g.get("verticals") or [])
        inside = [m for m in members if m in sel.projects]
        missing = [m for m in members if m not in sel.projects]
        rows.append(_row(scenario=sel.name, goal=goal, group=str(g.get("name_zh", gid)), origin=area_label(net),
                         target="corridors in service",
                         measure="count", value=float(len(inside)), limit=float(len(members)), unit="corridors",
                         **{"pass": not missing}, margin=float(len(inside) - len(members)), expected=True,
                         path=("missing: " + ", ".join(missing)) if missing else "all in service",
                         note=str(g.get("reading", ""))))
    return rows


def check_selection(net: Network, sel: ScenarioSelection, paths: bool = True, goals: tuple[str, ...] | None = None) -> pd.DataFrame:
    """Every goal for a resolved scenario selection (see :func:`check`)."""
    rows: list[dict[str, Any]] = []
    want = set(goals) if goals else {"one-hour-circle", "rail-service", "301510", "mileage", "coverage", "grids", "population"}
    if "one-hour-circle" in want:
        rows += check_one_hour(net, sel, paths)
    if "rail-service" in want:
        rows += check_rail_service(net, sel)
    if "301510" in want:
        rows += check_301510(net, sel, paths)
    if "mileage" in want:
        rows += check_mileage(net, sel)
    if "coverage" in want:
        rows += check_coverage(net, sel)
    if "grids" in want:
        rows += check_grids(net, sel)
    if "population" in want:
        rows += check_population(net, sel)
    _flag_uncertain(net, rows)
    df = pd.DataFrame(rows, columns=COLUMNS)
    df["pass"] = df["pass"].astype(bool)
    return df


def check(net: Network, scenario: str | None = None, *, paths: bool = True) -> pd.DataFrame:
    """Check every goal of the bundle's ``goals.yaml`` for one scenario.

    Parameters
    ----------
    net : Network
    scenario : str, optional
        Default: the first scenario of the bundle.
    paths : bool, default True
        Add the legs of the fastest path to time goals (slower).

    Returns
    -------
    pandas.DataFrame
        One row per goal item; columns described in the module docstring.
    """
    sel = net.selection(scenario)
    return check_selection(net, sel, paths=paths)


def check_all(net: Network, scenarios: list[str] | None = None, *, paths: bool = True) -> pd.DataFrame:
    """:func:`check` for several scenarios (default all), concatenated."""
    names = scenarios or list(net.scenarios)
    return pd.concat([check(net, s, paths=paths) for s in names], ignore_index=True)


__all__ = ["COLUMNS", "area_label", "boundary_label", "check", "check_all", "check_selection", "interchange_access_nodes", "mileage_table"]
