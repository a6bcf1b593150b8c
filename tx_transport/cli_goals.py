"""CLI subcommands for goals, comparisons and the report (registered by :mod:`tx_transport.cli`)."""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

EPILOGS = {
    "check": "example: tx-transport check --scenario plan-2025 --json",
    "compare": "example: tx-transport compare baseline-2020 plan-2025 --out compare/",
    "report": "example: tx-transport report --out report/",
}


def _jsonable(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if hasattr(v, "item"):
        v = v.item()
        if isinstance(v, float) and not math.isfinite(v):
            return None
    if isinstance(v, float):
        return round(v, 2)
    return v


def cmd_check(args: argparse.Namespace) -> int:
    from .goals import check
    from .network import load_network

    net = load_network(args.network)
    df = check(net, args.scenario, paths=not args.no_paths)
    if args.json:
        rows = [{k: _jsonable(v) for k, v in r.items()} for r in df.to_dict("records")]
        print(json.dumps(rows, ensure_ascii=False, indent=1))
        return 0
    show = df[["goal", "group", "origin", "target", "measure", "value", "limit", "unit", "pass", "margin"]].copy()
    with pd.option_context("display.max_rows", None, "display.width", 200):
        print(show.round(1).to_string(index=False))
    met = int(df["pass"].sum())
    print(f"\n{met} of {len(df)} goal items met in {args.scenario or next(iter(net.scenarios))}")
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from .cli import _check_writable_dir
    from .comparison import compare
    from .network import load_network
    from .reporting import atomic_write_text

    out = Path(args.out)
    _check_writable_dir(out, "--out")
    net = load_network(args.network)
    c = compare(net, args.a, args.b, with_attribution=not args.no_attribution)
    for name, df in (("goals", c.goals), ("od", c.od), ("isochrone_area", c.isochrone_area), ("attribution", c.attribution),
                     ("attribution_detail", c.attribution_detail)):
        atomic_write_text(out / f"{name}.csv", df.to_csv(index=False))
    s = c.summary()
    print(json.dumps(s, indent=1))
    if len(c.attribution):
        print(c.attribution[["project", "saved_min_added_to_a", "saved_min_removed_from_b", "largest_effect"]].round(1).to_string(index=False))
    print(f"wrote {out}/goals.csv, od.csv, isochrone_area.csv, attribution.csv, attribution_detail.csv")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from .cli import _check_writable_dir
    from .network import load_network
    from .reporting import report

    _check_writable_dir(Path(args.out), "--out")
    net = load_network(args.network)
    r = report(net, args.out, figures=not args.no_figures)
    print(r["headline"].to_string(index=False))
    print(f"\nwrote {Path(args.out) / 'report.md'} and {len(r['files'])} files in {r['seconds']:.0f} s")
    return 0


def register(sub: Any, add: Callable[..., argparse.ArgumentParser]) -> None:
    """Add the goal subcommands to the CLI parser."""
    from . import cli

    cli.EPILOGS.update(EPILOGS)
    sp = add("check", cmd_check, "check every goal of goals.yaml for a scenario")
    sp.add_argument("--scenario", default="plan-2025", help="scenario name (default plan-2025; list them with `tx-transport scenarios`)")
    sp.add_argument("--json", action="store_true", help="print a JSON list of goal rows")
    sp.add_argument("--no-paths", action="store_true", help="skip the path legs of failed goals (faster)")
    sp = add("compare", cmd_compare, "compare scenario B against scenario A (goals, OD times, isochrone areas, per-project attribution)")
    sp.add_argument("a")
    sp.add_argument("b")
    sp.add_argument("--out", required=True, help="output folder for the CSV tables")
    sp.add_argument("--no-attribution", action="store_true", help="skip the per-project attribution (faster)")
    sp = add("report", cmd_report, "run every goal for every scenario; write report.md, report.html, CSV tables and PNG figures")
    sp.add_argument("--out", required=True, help="output folder")
    sp.add_argument("--no-figures", action="store_true")
