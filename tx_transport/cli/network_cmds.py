"""Subcommands about the network itself: ``scenarios``, ``places``, ``route``, ``isochrones``, ``map``."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable

from .._files import atomic_write, check_output_file
from ..errors import cut
from ._common import UsageError, jsonable, load, pad, parse_cutoffs, split_list, width

EPILOGS = {
    "scenarios": "example: tx-transport scenarios",
    "places": "example: tx-transport places 乌镇        (exit status 1 when nothing matches)\n"
              "         tx-transport places --kind station --json",
    "route": "example: tx-transport route tongxiang-station shanghai-hongqiao --scenario plan-2025 --profile rail --json\n"
             "         tx-transport route 桐乡 上海虹桥 --profile rail",
    "isochrones": "example: tx-transport isochrones --from tongxiang --cutoffs 15,30,45,60 --scenario plan-2025 --profile car -o iso.gpkg",
    "map": "example: tx-transport map --scenario baseline-2020,plan-2025 -o map.html",
}
SCENARIO_HELP = "scenario name (default plan-2025; list them with `tx-transport scenarios`)"
PROFILE_HELP = "car | rail | door-to-door | freight-water (profiles.yaml; default car)"


def cmd_scenarios(args: argparse.Namespace) -> int:
    net = load(args)
    for name, desc in net.scenarios.items():
        print(f"{name:16s} {desc}")
    return 0


def cmd_places(args: argparse.Namespace) -> int:
    net = load(args)
    kinds = split_list(args.kind) if args.kind else None
    known = sorted(set(net.places.kind.astype(str)))
    for k in kinds or []:
        if k not in known:
            raise UsageError(f"--kind {cut(k)!r} is not a place kind of this bundle; use one of {', '.join(known)}")
    found = net._place_index.search(args.text or "", kinds=kinds)
    if args.json:
        rows = [{"id": pid, **{k: jsonable(v) for k, v in r.items()}} for pid, r in zip(found.index, found.to_dict("records"))]
        for r in rows:
            for k in ("lat", "lon"):
                if isinstance(r.get(k), float):
                    r[k] = round(float(found.loc[r["id"], k]), 6)
        print(json.dumps(rows, ensure_ascii=False, indent=1))
        return 0 if rows else 1
    if not len(found):
        close = net._place_index.close_matches(args.text or "")
        hint = f"; did you mean {', '.join(net._place_index.label(p) for p in close)}?" if close else ""
        print(f"no place matches {cut(args.text)!r}{hint}")
        return 1
    wid = max(width(str(i)) for i in found.index)
    wzh = max(width(str(z)) for z in found.name_zh)
    for pid, r in found.iterrows():
        print(f"{pad(str(pid), wid)}  {r.kind:<9s} {r.lat:9.5f} {r.lon:10.5f}  {pad(str(r.name_zh), wzh)}  {r.name_en}")
    return 0


def cmd_route(args: argparse.Namespace) -> int:
    net = load(args)
    r = net.route(args.origin, args.target, scenario=args.scenario, profile=args.profile)
    same = r.origin == r.target
    if args.json:
        d = r.to_dict()
        if not args.geometry:
            d.pop("geometry_wkt")
        if same:
            d["note"] = "origin and target are the same place"
        print(json.dumps(d, ensure_ascii=False, indent=2))
        return 0
    if same:
        print(f"{cut(args.origin)} and {cut(args.target)} are the same place ({r.origin}): time_min 0.0, length_km 0.0, nothing to route")
        return 0
    print(f"{r.origin} -> {r.target}  scenario {r.scenario}, profile {r.profile}")
    print(f"time_min {r.time_min:.1f}   length_km {r.length_km:.1f}")
    legs = r.legs[["mode", "from_name", "to_name", "time_min", "length_km", "projects"]].copy()
    legs[["time_min", "length_km"]] = legs[["time_min", "length_km"]].round(1)
    print(legs.to_string(index=False))
    return 0


def cmd_isochrones(args: argparse.Namespace) -> int:
    check_output_file(args.output, flag="-o", suffixes=(".gpkg",))
    cutoffs = parse_cutoffs(args.cutoffs)
    origins = split_list(args.origins)
    if not origins:
        raise UsageError("--from needs at least one place id or name, e.g. --from tongxiang (several: --from tongxiang,wuzhen)")
    net = load(args)
    gdf = net.isochrones(origins, cutoffs, scenario=args.scenario, profile=args.profile)
    atomic_write(args.output, lambda p: gdf.to_file(p, layer="isochrones", driver="GPKG"))
    print(gdf[["cutoff_min", "area_km2"]].round(1).to_string(index=False))
    print(f"wrote {cut(args.output, 200)} (layer 'isochrones')")
    return 0


def cmd_map(args: argparse.Namespace) -> int:
    check_output_file(args.output, flag="-o", suffixes=(".html", ".htm"))
    from ..viz.webmap import explore, save_map

    net = load(args)
    scenarios = [s for v in (args.scenario or []) for s in split_list(v)] or None
    profiles = split_list(args.profiles)
    tiles = None if args.tiles in ("none", "") else args.tiles
    m = explore(net, scenarios, profiles=profiles, tiles=tiles)
    save_map(m, args.output)
    print(f"wrote {cut(args.output, 200)}: {m.attrs['base_layers']} scenario · profile layers, {m.attrs['overlays']} overlays; "
          "open it in a browser")
    return 0


def register(sub: argparse._SubParsersAction, add: Callable[..., argparse.ArgumentParser]) -> None:
    """Add these subcommands to the parser (``add(name, func, help, epilog)``)."""
    add("scenarios", cmd_scenarios, "list the scenarios with a one-line description", EPILOGS["scenarios"])
    sp = add("places", cmd_places, "list or search the places (ids, kinds, coordinates, Chinese and English names)", EPILOGS["places"])
    sp.add_argument("text", nargs="?", default="", help="text to search in ids and names (any case, Chinese or English); "
                    "default: every place")
    sp.add_argument("--kind", default=None, help="only these kinds, comma-separated (city, town, station, airport, port, venue)")
    sp.add_argument("--json", action="store_true", help="print a JSON list")
    sp = add("route", cmd_route, "fastest route between two places", EPILOGS["route"])
    sp.add_argument("origin", help="place id or name, e.g. tongxiang-station, 桐乡站, Wuzhen")
    sp.add_argument("target", help="place id or name, e.g. shanghai-hongqiao, 上海虹桥")
    sp.add_argument("--scenario", default="plan-2025", help=SCENARIO_HELP)
    sp.add_argument("--profile", default="car", help=PROFILE_HELP)
    sp.add_argument("--json", action="store_true", help="print JSON")
    sp.add_argument("--geometry", action="store_true", help="with --json, include the path as WKT")
    sp = add("isochrones", cmd_isochrones, "isochrone bands to a GeoPackage (layer 'isochrones')", EPILOGS["isochrones"])
    sp.add_argument("--from", dest="origins", required=True, help="place id(s) or name(s), comma-separated")
    sp.add_argument("--cutoffs", default="15,30,45,60", help="minutes, comma-separated (duplicates dropped, at most 24 bands, "
                    "each at most 1440 min)")
    sp.add_argument("--scenario", default="plan-2025", help=SCENARIO_HELP)
    sp.add_argument("--profile", default="car", help=PROFILE_HELP)
    sp.add_argument("-o", "--output", required=True, help="output .gpkg file (replaced atomically)")
    sp = add("map", cmd_map, "interactive HTML map of scenarios (isochrones, goal routes, projects, places); works offline", EPILOGS["map"])
    sp.add_argument("--scenario", action="append", help="scenario(s), comma-separated or repeated (default: all)")
    sp.add_argument("--profiles", default="door-to-door,rail,car", help="profiles with isochrone bands (default door-to-door,rail,car)")
    sp.add_argument("--tiles", default="auto", help="auto (OpenStreetMap tiles if reachable now) | none | a tile URL template")
    sp.add_argument("-o", "--output", required=True, help="output .html file (replaced atomically)")
