"""Subcommands about the plan's goals: ``check``, ``compare``, ``report``."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable

import pandas as pd

from .._files import atomic_folder, check_output_folder
from ..errors import cut
from ._common import jsonable, load, progress_wanted

EPILOGS = {
    "check": "example: tx-transport check --scenario plan-2025 --json",
    "compare": "example: tx-transport compare baseline-2020 plan-2025 --out compare/",
    "report": "example: tx-transport report --out report/",
}
COMPARE_TABLES = ("goals", "od", "isochrone_area", "attribution", "attribution_detail")


def cmd_check(args: argparse.Namespace) -> int:
    from ..goals import check

    net = load(args)
    df = check(net, args.scenario, paths=not args.no_paths)
    if args.json:
        rows = [{k: jsonable(v) for k, v in r.items()} for r in df.to_dict("records")]
        print(json.dumps(rows, ensure_ascii=False, indent=1))
        return 0
    if not len(df):
        print(f"no goals: the bundle {net.path.name!r} has no goals.yaml, or it is empty; nothing to check")
        return 0
    show = df[["goal", "group", "origin", "target", "measure", "value", "limit", "unit", "pass", "margin"]].copy()
    with pd.option_context("display.max_rows", None, "display.width", 200):
        print(show.round(1).to_string(index=False))
    met = int(df["pass"].sum())
    print(f"\n{met} of {len(df)} goal items met in {args.scenario or next(iter(net.scenarios))}")
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from ..comparison import compare

    check_output_folder(args.out, kind="compare", flag="--out")
    net = load(args)
    net.selection(args.a)  # unknown scenarios fail before any work
    net.selection(args.b)
    with atomic_folder(args.out, kind="compare", flag="--out", meta={"bundle": net.path.name, "a": args.a, "b": args.b}) as tmp:
        c = compare(net, args.a, args.b, with_attribution=not args.no_attribution, progress=progress_wanted())
        for name in COMPARE_TABLES:
            (tmp / f"{name}.csv").write_text(getattr(c, name).to_csv(index=False), encoding="utf-8")
    print(json.dumps(c.summary(), indent=1))
    if len(c.attribution):
        print(c.attribution[["project", "saved_min_added_to_a", "saved_min_removed_from_b", "largest_effect"]].round(1).to_string(index=False))
    print(f"wrote {cut(args.out, 200)}: {', '.join(n + '.csv' for n in COMPARE_TABLES)}, manifest.json")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from ..reporting import report

    check_output_folder(args.out, kind="report", flag="--out")
    net = load(args)
    r = report(net, args.out, figures=not args.no_figures, progress=progress_wanted())
    if len(r["headline"]):
        print(r["headline"].to_string(index=False))
    else:
        print(f"no goals: the bundle {net.path.name!r} has no goals.yaml, or it is empty")
    print(f"\nwrote {cut(args.out, 200)}: report.md and {len(r['files'])} files in {r['seconds']:.0f} s")
    return 0


def register(sub: argparse._SubParsersAction, add: Callable[..., argparse.ArgumentParser]) -> None:
    """Add these subcommands to the parser (``add(name, func, help, epilog)``)."""
    sp = add("check", cmd_check, "check every goal of goals.yaml for a scenario", EPILOGS["check"])
    sp.add_argument("--scenario", default="plan-2025", help="scenario name (default plan-2025; list them with `tx-transport scenarios`)")
    sp.add_argument("--json", action="store_true", help="print a JSON list of goal rows")
    sp.add_argument("--no-paths", action="store_true", help="skip the path legs of failed goals (faster)")
    sp = add("compare", cmd_compare, "compare scenario B against scenario A (goals, OD times, isochrone areas, per-project attribution)",
             EPILOGS["compare"])
    sp.add_argument("a", help="first scenario, e.g. baseline-2020")
    sp.add_argument("b", help="second scenario, e.g. plan-2025")
    sp.add_argument("--out", required=True, help="output folder for the CSV tables (new, empty, or a previous comparison: "
                    "replaced whole)")
    sp.add_argument("--no-attribution", action="store_true", help="skip the per-project attribution (faster)")
    sp = add("report", cmd_report, "run every goal for every scenario; write report.md, report.html, CSV tables and PNG figures",
             EPILOGS["report"])
    sp.add_argument("--out", required=True, help="output folder (new, empty, or a previous report: replaced whole, all or nothing)")
    sp.add_argument("--no-figures", action="store_true", help="skip the PNG figures (faster)")
