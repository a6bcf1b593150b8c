"""Subcommand about the bundle itself: ``validate``."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from ..errors import cut
from ._common import PROG, UsageError, one_line

EPILOGS = {
    "validate": "example: tx-transport validate my_networks      (exit status 0 when valid, 2 with every problem listed)",
}


def cmd_validate(args: argparse.Namespace) -> int:
    from ..bundle import DEFAULT_BUNDLE, check_bundle

    given = [p for p in (args.bundle, getattr(args, "network", None)) if p is not None]
    if len(set(given)) > 1:
        raise UsageError(f"give the bundle once: {cut(args.bundle)!r} and --network {cut(args.network)!r} differ")
    path = given[0] if given else None
    bundle, problems = check_bundle(path)
    shown = cut(str(path) if path is not None else DEFAULT_BUNDLE, 300)
    if not problems:
        assert bundle is not None
        n_projects = int((bundle.projects.index != "osm-roads").sum())
        print(f"ok: {shown} ({len(bundle.places)} places, {n_projects} projects, {len(bundle.scenarios)} scenarios, "
              f"{len(bundle.transit.feeds)} feed{'s' if len(bundle.transit.feeds) != 1 else ''})")
        return 0
    for p in problems:
        print(one_line(str(p)))
    import sys

    print(f"{PROG}: error: {len(problems)} problem{'s' if len(problems) != 1 else ''} in {shown}", file=sys.stderr)
    return 2


def register(sub: argparse._SubParsersAction, add: Callable[..., argparse.ArgumentParser]) -> None:
    """Add these subcommands to the parser (``add(name, func, help, epilog)``)."""
    sp = add("validate", cmd_validate, "check every file of a bundle and list all problems (file, record, problem, fix)",
             EPILOGS["validate"])
    sp.add_argument("bundle", nargs="?", default=None, metavar="BUNDLE",
                    help="bundle folder (default: --network, else the embedded network)")
