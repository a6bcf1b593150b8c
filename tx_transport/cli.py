"""Command-line interface: a thin layer over the public API (``tx-transport --help``)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ._files import atomic_write
from .errors import TxTransportError


def _fmt_table(df: Any) -> str:
    return df.to_string()


def _check_writable_dir(folder: Path, flag: str) -> None:
    """Fail fast, before any long computation, when ``folder`` cannot be created or written."""
    folder = Path(folder)
    probe = folder
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        raise TxTransportError(f"{flag} {folder}: {probe} is a file, not a folder")
    if not os.access(probe, os.W_OK):
        raise TxTransportError(f"{flag} {folder}: no permission to write in {probe}; choose another folder")


def _load(args: argparse.Namespace):
    from .network import load_network

    return load_network(args.network)


def cmd_scenarios(args: argparse.Namespace) -> int:
    net = _load(args)
    for name, desc in net.scenarios.items():
        print(f"{name:16s} {desc}")
    return 0


def cmd_route(args: argparse.Namespace) -> int:
    net = _load(args)
    r = net.route(args.origin, args.target, scenario=args.scenario, profile=args.profile)
    if args.json:
        d = r.to_dict()
        if not args.geometry:
            d.pop("geometry_wkt")
        print(json.dumps(d, ensure_ascii=False, indent=2))
        return 0
    print(f"{r.origin} -> {r.target}  scenario {r.scenario}, profile {r.profile}")
    print(f"time_min {r.time_min:.1f}   length_km {r.length_km:.1f}")
    legs = r.legs[["mode", "from_name", "to_name", "time_min", "length_km", "projects"]].copy()
    legs[["time_min", "length_km"]] = legs[["time_min", "length_km"]].round(1)
    print(legs.to_string(index=False))
    return 0


def cmd_isochrones(args: argparse.Namespace) -> int:
    out = Path(args.output)
    if out.suffix.lower() != ".gpkg":
        raise TxTransportError(f"-o must name a GeoPackage file (.gpkg), got {out.name!r}")
    _check_writable_dir(out.parent, "-o")
    try:
        cutoffs = [float(c) for c in args.cutoffs.split(",") if c.strip()]
    except ValueError:
        raise TxTransportError(f"--cutoffs must be comma-separated minutes, got {args.cutoffs!r}") from None
    origins = [o.strip() for o in args.origins.split(",") if o.strip()]
    net = _load(args)
    gdf = net.isochrones(origins, cutoffs, scenario=args.scenario, profile=args.profile)
    atomic_write(out, lambda p: gdf.to_file(p, layer="isochrones", driver="GPKG"))
    print(gdf[["cutoff_min", "area_km2"]].round(1).to_string(index=False))
    print(f"wrote {out} (layer 'isochrones')")
    return 0


def cmd_map(args: argparse.Namespace) -> int:
    out = Path(args.output)
    if out.suffix.lower() not in (".html", ".htm"):
        raise TxTransportError(f"-o must name an HTML file (.html), got {out.name!r}")
    _check_writable_dir(out.parent, "-o")
    from .viz.webmap import explore, save_map

    net = _load(args)
    scenarios = [s.strip() for v in (args.scenario or []) for s in v.split(",") if s.strip()] or None
    profiles = [p.strip() for p in args.profiles.split(",") if p.strip()]
    tiles = None if args.tiles in ("none", "") else args.tiles
    m = explore(net, scenarios, profiles=profiles, tiles=tiles)
    save_map(m, out)
    print(f"wrote {out}: {m.attrs['base_layers']} scenario · profile layers, {m.attrs['overlays']} overlays; open it in a browser")
    return 0


EPILOGS = {
    "scenarios": "example: tx-transport scenarios",
    "route": "example: tx-transport route tongxiang-station shanghai-hongqiao --scenario plan-2025 --profile rail --json",
    "isochrones": "example: tx-transport isochrones --from tongxiang --cutoffs 15,30,45,60 --scenario plan-2025 --profile car -o iso.gpkg",
    "map": "example: tx-transport map --scenario baseline-2020,plan-2025 -o map.html",
}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="tx-transport", description="Transport network analysis for Tongxiang in the Yangtze River Delta.",
                                epilog="example: tx-transport report --out report/")
    p.add_argument("--network", default=None, help="bundle folder (default: the embedded network)")
    sub = p.add_subparsers(dest="command", required=True)

    def add(name: str, func: Callable[[argparse.Namespace], int], help_: str) -> argparse.ArgumentParser:
        sp = sub.add_parser(name, help=help_, description=help_, epilog=EPILOGS.get(name),
                            formatter_class=argparse.RawDescriptionHelpFormatter)
        sp.set_defaults(func=func)
        return sp

    add("scenarios", cmd_scenarios, "list the scenarios with a one-line description")
    sp = add("route", cmd_route, "fastest route between two places")
    sp.add_argument("origin", help="place id, e.g. tongxiang-station")
    sp.add_argument("target", help="place id, e.g. shanghai-hongqiao")
    sp.add_argument("--scenario", default="plan-2025", help="scenario name (default plan-2025; list them with `tx-transport scenarios`)")
    sp.add_argument("--profile", default="car", help="car | rail | door-to-door | freight-water (profiles.yaml; default car)")
    sp.add_argument("--json", action="store_true", help="print JSON")
    sp.add_argument("--geometry", action="store_true", help="with --json, include the path as WKT")
    sp = add("isochrones", cmd_isochrones, "isochrone bands to a GeoPackage (layer 'isochrones')")
    sp.add_argument("--from", dest="origins", required=True, help="place id(s), comma-separated")
    sp.add_argument("--cutoffs", default="15,30,45,60", help="minutes, comma-separated")
    sp.add_argument("--scenario", default="plan-2025", help="scenario name (default plan-2025; list them with `tx-transport scenarios`)")
    sp.add_argument("--profile", default="car", help="car | rail | door-to-door | freight-water (profiles.yaml; default car)")
    sp.add_argument("-o", "--output", required=True, help="output .gpkg file")
    sp = add("map", cmd_map, "interactive HTML map of scenarios (isochrones, goal routes, projects, places); works offline")
    sp.add_argument("--scenario", action="append", help="scenario(s), comma-separated or repeated (default: all)")
    sp.add_argument("--profiles", default="door-to-door,rail,car", help="profiles with isochrone bands (default door-to-door,rail,car)")
    sp.add_argument("--tiles", default="auto", help="auto (OpenStreetMap tiles if reachable now) | none | a tile URL template")
    sp.add_argument("-o", "--output", required=True, help="output .html file")
    from .cli_goals import EPILOGS as GOAL_EPILOGS
    from .cli_goals import register

    EPILOGS.update(GOAL_EPILOGS)
    register(sub, add)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except TxTransportError as exc:
        print(f"tx-transport: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a file system problem (permissions, disk full, read-only folder)
        print(f"tx-transport: error: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "), file=sys.stderr)
        return 2
    except BrokenPipeError:  # pragma: no cover
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
