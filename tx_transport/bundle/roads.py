"""``roads/nodes.csv`` and ``roads/edges.csv``: the OSM road layer (generated; tens of
thousands of rows, so the column schemas are checked column-wise rather than row by row)."""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import cut
from .base import Context
from .problems import Problems
from .readers import read_csv

#: Rows named per check before the rest are counted.
ROWS_SHOWN = 5
MAX_EDGE_KM = 500.0


@dataclass(frozen=True)
class Column:
    """A column of a CSV table: its kind and bounds (the table's schema)."""

    name: str
    kind: str  # "int", "float" or "text"
    required: bool = True
    gt: float | None = None
    ge: float | None = None
    le: float | None = None


NODE_COLUMNS = (Column("node_id", "int", ge=0), Column("lat", "float"), Column("lon", "float"), Column("ref", "text", required=False))
EDGE_COLUMNS = (Column("u", "int", ge=0), Column("v", "int", ge=0), Column("length_km", "float", gt=0, le=MAX_EDGE_KM),
                Column("highway", "text"), Column("project", "text"))


def report(mask: np.ndarray, file: Path, problems: Problems, record: Callable[[int], str], problem: Callable[[int], str], fix: str,
           field: str | None = None) -> bool:
    """Add a problem for the first rows where ``mask`` holds, and one that counts the rest."""
    idx = np.flatnonzero(mask)
    for i in idx[:ROWS_SHOWN]:
        problems.add(file, record(int(i)), problem(int(i)), fix, field)
    if len(idx) > ROWS_SHOWN:
        problems.add(file, f"rows {int(idx[ROWS_SHOWN]) + 2}…", f"and {len(idx) - ROWS_SHOWN:,} more rows with the same kind of problem",
                     fix, field)
    return bool(len(idx))


def check_table(df: pd.DataFrame, columns: tuple[Column, ...], file: Path, problems: Problems,
                record: Callable[[int], str]) -> pd.DataFrame | None:
    """Columns parsed to their kinds and checked against their bounds; None after problems."""
    known = [c.name for c in columns]
    bad = False
    for c in df.columns:
        if c not in known:
            close = difflib.get_close_matches(str(c), known, n=1)
            problems.add(file, "header", f"unknown column {c!r}", (f"did you mean {close[0]!r}? " if close else "")
                         + f"the columns are {', '.join(known)} (see networks/README.md)", c)
            bad = True
    out = df.copy()
    for col in columns:
        if col.name not in df.columns:
            if not col.required:
                out[col.name] = ""
            continue
        s = df[col.name]
        if col.kind == "text":
            continue
        num = pd.to_numeric(s, errors="coerce").to_numpy(dtype=float)
        nan = np.isnan(num)
        bad |= report(nan, file, problems, record,
                      lambda i, s=s, col=col: f"{col.name} is missing" if str(s.iloc[i]).strip() in ("", "nan")
                      else f"{col.name} is not a number ({cut(repr(s.iloc[i]), 60)})", f"write {col.name} as a number", col.name)
        fin = ~nan
        inf = fin & ~np.isfinite(num)
        lo_bad = fin & ((num <= col.gt) if col.gt is not None else False) | fin & ((num < col.ge) if col.ge is not None else False)
        hi_bad = fin & ((num > col.le) if col.le is not None else False)
        if col.name == "length_km":
            bad |= report(inf | lo_bad, file, problems, record,
                          lambda i, num=num: f"length_km must be a positive finite number, got {num[i]:g}", "give the edge length in km (> 0)",
                          col.name)
            bad |= report(hi_bad & ~inf, file, problems, record,
                          lambda i, num=num: f"length_km is {num[i]:g}, longer than any road edge ({MAX_EDGE_KM:g} km)",
                          "give the edge length in km (not metres)", col.name)
        else:
            bad |= report(inf | lo_bad | hi_bad, file, problems, record,
                          lambda i, num=num, col=col: f"{col.name} {num[i]:g} is out of range", f"correct {col.name}", col.name)
        if col.kind == "int":
            frac = np.isfinite(num) & (num != np.round(num))
            bad |= report(frac, file, problems, record, lambda i, num=num, col=col: f"{col.name} {num[i]:g} is not a whole number",
                          f"write {col.name} as an integer", col.name)
        out[col.name] = num
    return None if bad else out


def load_roads(ctx: Context, modes_ok: bool) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """(nodes indexed by node_id, edges) of the road layer; empty tables when the bundle has none."""
    fn, fe = ctx.path("roads/nodes.csv"), ctx.path("roads/edges.csv")
    if not fn.exists() and not fe.exists():
        return (pd.DataFrame(columns=["lat", "lon", "ref"]).rename_axis("node_id"),
                pd.DataFrame(columns=["u", "v", "length_km", "highway", "project"]))
    if fn.exists() != fe.exists():
        missing, present = (fn, fe) if not fn.exists() else (fe, fn)
        ctx.problems.add(missing, "file", f"is missing while {present.name} is present",
                         "give both roads/nodes.csv and roads/edges.csv (or neither, for a bundle without a road layer)")
        return None
    nodes = read_csv(fn, ctx.problems, ["node_id", "lat", "lon"], numeric=("node_id", "lat", "lon"))
    edges = read_csv(fe, ctx.problems, ["u", "v", "length_km", "highway", "project"], numeric=("u", "v", "length_km"))
    n = e = None
    if nodes is not None:
        n = check_table(nodes, NODE_COLUMNS, fn, ctx.problems, lambda i: f"row {i + 2}")
    if n is not None:
        a = ctx.area
        lat, lon = n["lat"].to_numpy(), n["lon"].to_numpy()
        out = ~((lat >= a["min_lat"]) & (lat <= a["max_lat"]) & (lon >= a["min_lon"]) & (lon <= a["max_lon"]))
        swapped = (lon >= a["min_lat"]) & (lon <= a["max_lat"]) & (lat >= a["min_lon"]) & (lat <= a["max_lon"])
        if report(out, fn, ctx.problems, lambda i: f"row {i + 2} (node {int(n.node_id.iloc[i])})",
                  lambda i: f"coordinate (lat {lat[i]:g}, lon {lon[i]:g}) outside the plausible area"
                  + ("; lat and lon look swapped" if swapped[i] else ""), "give WGS84 decimal degrees"):
            n = None
    if n is not None:
        dup = n.node_id.duplicated().to_numpy()
        if report(dup, fn, ctx.problems, lambda i: f"node {int(n.node_id.iloc[i])}", lambda i: "duplicate node id", "give each node a unique id",
                  "node_id"):
            n = None
    if n is not None:
        n["node_id"] = n["node_id"].astype(np.int64)
        n["ref"] = n["ref"].astype(str)
        n = n.set_index("node_id")
    if edges is not None:
        e = check_table(edges, EDGE_COLUMNS, fe, ctx.problems, lambda i: f"row {i + 2}")
    if e is not None:
        def erec(i: int) -> str:
            return f"row {i + 2} (edge {e.u.iloc[i]:.0f}-{e.v.iloc[i]:.0f})"

        ok = True
        if n is not None:
            miss = ~e.u.isin(n.index).to_numpy() | ~e.v.isin(n.index).to_numpy()
            ok &= not report(miss, fe, ctx.problems, erec, lambda i: "references a node that is not in roads/nodes.csv",
                             "add the node or correct u/v")
        classes = ctx.refs.road_classes
        if classes is not None:
            badc = ~e.highway.isin(sorted(classes)).to_numpy()
            ok &= not report(badc, fe, ctx.problems, lambda i: f"row {i + 2}", lambda i: f"highway {e.highway.iloc[i]!r} is unknown",
                             f"use an OSM highway class of modes.yaml road.classes: {sorted(classes)}", "highway")
        projects = ctx.refs.projects
        if projects is not None:
            proj = e.project.astype(str)
            junction = proj.str.startswith("junction:").to_numpy()
            badp = ~proj.isin(sorted(projects)).to_numpy() & ~junction
            ok &= not report(badp, fe, ctx.problems, lambda i: f"project {proj.iloc[i]!r}",
                             lambda i: "edges reference a project that no file defines",
                             "define the corridor in expressways.yaml or set project to 'osm-roads'", "project")
            nodes_ref = ctx.refs.corridor_nodes
            if nodes_ref is not None:
                badj = junction & ~proj.str.removeprefix("junction:").isin(sorted(nodes_ref)).to_numpy()
                ok &= not report(badj, fe, ctx.problems, lambda i: f"project {proj.iloc[i]!r}",
                                 lambda i: "names a junction that is not a node of expressways.yaml",
                                 "write junction:<node id> with a node id of expressways.yaml", "project")
        if ok:
            e["u"] = e.u.astype(np.int64)
            e["v"] = e.v.astype(np.int64)
        else:
            e = None
    if n is None or e is None or not modes_ok:
        return None
    return n, e


__all__ = ["EDGE_COLUMNS", "NODE_COLUMNS", "Column", "check_table", "load_roads"]
