"""Scenario comparison and per-project attribution.

:func:`compare` answers "what does scenario B change against A, and what does each project
contribute?" with tables a report can quote:

- ``goals``: every goal item in both scenarios, the change, and whether it is newly met or lost;
- ``od``: travel times between the centre and towns of the bundle and the YRD targets, before and after;
- ``isochrone_area``: area of each band in both scenarios, area gained and lost;
- ``attribution``: for every project that differs, the goal minutes it saves when added to A on
  its own, and the minutes lost when it is removed from B (the two bracket its contribution
  when projects interact);
- ``attribution_detail``: the same per project and goal item.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
from tqdm import tqdm

from .geo import METRIC_CRS
from .goals import check_selection
from .scenario import with_projects

if TYPE_CHECKING:
    from .network import Network

KEY = ["goal", "group", "origin", "target", "measure"]
TIME_GOALS = ("one-hour-circle", "301510")


@dataclass
class Comparison:
    """Result of :func:`compare` (all DataFrames; see the module docstring)."""

    a: str
    b: str
    goals: pd.DataFrame
    od: pd.DataFrame
    isochrone_area: pd.DataFrame
    attribution: pd.DataFrame
    attribution_detail: pd.DataFrame
    isochrones: dict[tuple[str, str], gpd.GeoDataFrame] = field(default_factory=dict, repr=False)
    projects_differing: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        g = self.goals[self.goals.expected.astype(bool)]
        return {
            "a": self.a, "b": self.b,
            "goals_newly_met": int((g.change == "newly met").sum()),
            "goals_lost": int((g.change == "lost").sum()),
            "goals_met_a": int(g.pass_a.sum()), "goals_met_b": int(g.pass_b.sum()), "goal_items": len(g),
            "projects_differing": len(self.projects_differing),
        }


def _goal_change(pa: bool, pb: bool) -> str:
    return {(False, True): "newly met", (True, False): "lost", (True, True): "still met", (False, False): "still not met"}[(pa, pb)]


#: Goal groups whose ``target`` is the nearest facility found (it may differ between scenarios):
#: they are matched on origin only.
NEAREST_GROUPS = ("town-to-nearest-town", "town-to-trunk-road", "town-to-interchange", "mileage")


def _item_key(g: pd.DataFrame) -> pd.DataFrame:
    g = g.copy()
    g["item"] = np.where(g["group"].isin(NEAREST_GROUPS), "", g["target"].astype(str))
    return g


def compare_goals(ga: pd.DataFrame, gb: pd.DataFrame) -> pd.DataFrame:
    """Join two goal tables on the goal item and classify the change.

    Items are matched on goal, group, origin, measure and target, except for the "nearest"
    items (nearest town / trunk road / interchange, mileage), matched without the target since
    the nearest facility may change: ``target_a`` and ``target_b`` say which it is.
    """
    ga, gb = _item_key(ga), _item_key(gb)
    keys = ["goal", "group", "origin", "measure", "item"]
    cols = keys + ["target", "value", "limit", "unit", "pass", "expected"]
    m = ga[cols].merge(gb[cols + ["path"]], on=keys + ["limit", "unit", "expected"], how="outer", suffixes=("_a", "_b"))
    m["target"] = m["target_b"].fillna(m["target_a"])
    m["pass_a"] = m["pass_a"].fillna(False).astype(bool)
    m["pass_b"] = m["pass_b"].fillna(False).astype(bool)
    m["delta"] = m["value_b"] - m["value_a"]
    m["change"] = [_goal_change(a, b) for a, b in zip(m.pass_a, m.pass_b)]
    return m.rename(columns={"path": "path_b"})


def od_changes(net: Network, a: str, b: str, origins: Sequence[str], destinations: Sequence[str],
               profiles: Sequence[str]) -> pd.DataFrame:
    """Travel times (min) for every origin × destination × profile in both scenarios."""
    rows = []
    for prof in profiles:
        ta = net.travel_times(origins, destinations, scenario=a, profile=prof)
        tb = net.travel_times(origins, destinations, scenario=b, profile=prof)
        sa = ta.stack(future_stack=True).rename("time_a")
        sb = tb.stack(future_stack=True).rename("time_b")
        df = pd.concat([sa, sb], axis=1).reset_index()
        df.insert(2, "profile", prof)
        rows.append(df)
    out = pd.concat(rows, ignore_index=True)
    out = out[out.origin != out.destination]
    out["delta_min"] = out.time_b - out.time_a
    return out.reset_index(drop=True)


def isochrone_area_changes(net: Network, a: str, b: str, origin: str, profiles: Sequence[str], cutoffs: Sequence[float]
                           ) -> tuple[pd.DataFrame, dict[tuple[str, str], gpd.GeoDataFrame]]:
    rows = []
    isos: dict[tuple[str, str], gpd.GeoDataFrame] = {}
    for prof in profiles:
        ia = net.isochrones(origin, cutoffs, scenario=a, profile=prof)
        ib = net.isochrones(origin, cutoffs, scenario=b, profile=prof)
        isos[(a, prof)] = ia
        isos[(b, prof)] = ib
        ma, mb = ia.to_crs(METRIC_CRS), ib.to_crs(METRIC_CRS)
        for (_, ra), (_, rb) in zip(ma.iterrows(), mb.iterrows()):
            rows.append({"origin": origin, "profile": prof, "cutoff_min": ra.cutoff_min,
                         "area_a_km2": ra.geometry.area / 1e6, "area_b_km2": rb.geometry.area / 1e6,
                         "gained_km2": rb.geometry.difference(ra.geometry).area / 1e6,
                         "lost_km2": ra.geometry.difference(rb.geometry).area / 1e6})
    return pd.DataFrame(rows), isos


def attribution(net: Network, a: str, b: str, progress: bool = True) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-project contribution to the time goals between scenarios ``a`` and ``b``.

    For every project in ``b`` but not ``a`` (or the reverse): the goal minutes saved when the
    project is added to ``a`` on its own, and lost when it is removed from ``b``. Savings are
    summed over the time-goal items (one-hour circles and "301510") reachable in both runs.
    """
    sa, sb = net.selection(a), net.selection(b)
    diff = sorted((set(sb.projects) - set(sa.projects)) | (set(sa.projects) - set(sb.projects)))
    base_a = check_selection(net, sa, paths=False, goals=TIME_GOALS)
    base_b = check_selection(net, sb, paths=False, goals=TIME_GOALS)
    rows, detail = [], []
    # kinds of edge the time goals can use: a project with none of them (e.g. a waterway, freight
    # only) cannot change a time goal and is not re-checked
    goal_profiles = {m["profile"] for c in net.goals.get("one_hour_circles") or [] for m in c.get("measures") or []}
    goal_profiles |= {(net.goals.get("circle_301510") or {}).get("profile", "car")}
    kinds: set[str] = set()
    timetable_goal = False
    for gp in goal_profiles:
        pdef = net._b.profiles.get(gp)
        if pdef is None:
            continue
        if pdef.get("router") == "timetable":
            timetable_goal = True
            if pdef.get("measure") == "window":
                kinds |= set(net._b.profiles[pdef["access_profile"]]["use"])
        else:
            kinds |= set(pdef["use"])
    # a rail project changes timetable goals through its service edits (services.yaml)
    with_edits = {e["project"] for e in net._b.services if e.get("project")} if timetable_goal else set()
    et = net._edges
    proj_kinds = pd.DataFrame({"p": et.project.astype(str), "k": et.kind.astype(str)}).groupby("p")["k"].agg(set)
    for p in tqdm(diff, desc=f"attribution {a} -> {b}", disable=not progress, leave=False):
        in_b = p in sb.projects
        meta = net.projects.loc[p]
        if not (proj_kinds.get(p, set()) & kinds) and p not in with_edits:
            rows.append({"project": p, "name_en": meta["name_en"], "mode": meta["mode"], "in": b if in_b else a,
                         "saved_min_added_to_a": 0.0, "goals_met_added_to_a": 0, "saved_min_removed_from_b": 0.0,
                         "goals_lost_removed_from_b": 0, "largest_effect": "no effect on time goals (mode not used by their profiles)"})
            continue
        plus = with_projects(sa, add={p} if in_b else set(), remove=set() if in_b else {p}, name=f"{a}{'+' if in_b else '-'}{p}")
        minus = with_projects(sb, remove={p} if in_b else set(), add=set() if in_b else {p}, name=f"{b}{'-' if in_b else '+'}{p}")
        g_plus = check_selection(net, plus, paths=False, goals=TIME_GOALS)
        g_minus = check_selection(net, minus, paths=False, goals=TIME_GOALS)
        add_eff = compare_goals(base_a, g_plus)
        rem_eff = compare_goals(g_minus, base_b)
        for kind, eff in (("added to " + a, add_eff), ("removed from " + b, rem_eff)):
            e = eff[eff.delta.abs() > 0.05]
            for r in e.itertuples():
                detail.append({"project": p, "test": kind, "goal": r.goal, "group": r.group, "origin": r.origin, "target": r.target,
                               "measure": r.measure, "time_without_min": r.value_a, "time_with_min": r.value_b,
                               "saved_min": -r.delta, "change": r.change})
        saved_add = float(np.nansum(-add_eff.delta.values))
        saved_rem = float(np.nansum(-rem_eff.delta.values))
        top = add_eff.assign(s=-add_eff.delta).sort_values("s", ascending=False).head(1)
        rows.append({
            "project": p, "name_en": meta["name_en"], "mode": meta["mode"], "in": b if in_b else a,
            "saved_min_added_to_a": saved_add, "goals_met_added_to_a": int((add_eff.change == "newly met").sum()),
            "saved_min_removed_from_b": saved_rem, "goals_lost_removed_from_b": int((rem_eff.change == "newly met").sum()),
            "largest_effect": (f"{top.origin.iloc[0]}→{top.target.iloc[0]} ({top.group.iloc[0]}) −{top.s.iloc[0]:.1f} min"
                               if len(top) and top.s.iloc[0] > 0.05 else ""),
        })
    att = pd.DataFrame(rows)
    if len(att):
        att = att.sort_values("saved_min_added_to_a", ascending=False).reset_index(drop=True)
    return att, pd.DataFrame(detail)


def compare(net: Network, a: str, b: str, *, od_origins: Sequence[str] | None = None, od_destinations: Sequence[str] | None = None,
            profiles: Sequence[str] = ("car", "door-to-door"), iso_origin: str | None = None,
            cutoffs: Sequence[float] = (15, 30, 45, 60), with_attribution: bool = True, progress: bool = True) -> Comparison:
    """Compare scenario ``b`` against scenario ``a``.

    Parameters
    ----------
    net : Network
    a, b : str
        Scenario names (e.g. ``"baseline-2020"``, ``"plan-2025"``).
    od_origins, od_destinations : list of place ids, optional
        Default: the centre and towns of the 301510 goal (else the bundle's centre) to the city
        centres and airports of the bundle.
    profiles : profiles for the OD and isochrone comparisons.
    iso_origin : origin of the isochrone-area comparison; default the bundle's centre
        (:attr:`Network.centre`).
    cutoffs : isochrone bands (minutes).
    with_attribution : compute the per-project attribution (the slowest part).

    Returns
    -------
    Comparison
    """
    net.selection(a)
    net.selection(b)
    c301 = net.goals.get("circle_301510") or {}
    iso_origin = iso_origin or net.centre
    origins = list(od_origins) if od_origins else [c301.get("city_centre") or iso_origin] + list(c301.get("towns") or [])
    pl = net.places
    dests = list(od_destinations) if od_destinations else list(pl.index[pl.kind.isin(["city", "airport"])])
    dests = [d for d in dests if d not in origins]
    ga = check_selection(net, net.selection(a), paths=False)
    gb = check_selection(net, net.selection(b), paths=True)
    goals = compare_goals(ga, gb)
    od = od_changes(net, a, b, origins, dests, profiles)
    iso_area, isos = isochrone_area_changes(net, a, b, iso_origin, profiles, cutoffs)
    if with_attribution:
        att, det = attribution(net, a, b, progress=progress)
    else:
        att, det = pd.DataFrame(), pd.DataFrame()
    diff = sorted(set(net.selection(a).projects) ^ set(net.selection(b).projects))
    return Comparison(a, b, goals, od, iso_area, att, det, isos, diff)


__all__ = ["Comparison", "compare", "compare_goals", "attribution"]
