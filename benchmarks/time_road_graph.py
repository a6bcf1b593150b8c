"""Time each step of ``Network.with_road_graph`` on a generated ~1 M-edge graph (this checkout).

Run from the repository root, once per checkout to compare (e.g. ``git stash`` / another
worktree), on a quiet machine::

    python benchmarks/time_road_graph.py            # 500 x 500 grid: ~1 M directed edges
    python benchmarks/time_road_graph.py --grid 150

Prints one JSON line: seconds per step and the load average (figures in docs/performance.md).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # this checkout's tx_transport

import tx_transport as tx  # noqa: E402
from tx_transport.synthetic import road_like_graph  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--grid", type=int, default=500)
    args = ap.parse_args(argv)
    G = road_like_graph(args.grid, args.grid)
    net = tx.load_network().with_road_graph(G)
    steps = [
        ("scenario graph (build_graph)", lambda: net._full_graph),
        ("edge table (EdgeTable.from_graph)", lambda: net._edges),
        ("first compile", lambda: net.compiled("plan-2025", "car")),
        ("compile another scenario", lambda: net.compiled("baseline-2020", "car")),
        ("first (lon, lat) origin query", lambda: net.travel_times([(120.55, 30.62)], ["tongxiang"], scenario="plan-2025")),
        ("4 more (lon, lat) origins", lambda: net.travel_times([(120.56, 30.64), (120.6, 30.6), (120.5, 30.66), (120.58, 30.61)],
                                                               ["tongxiang"], scenario="plan-2025")),
    ]
    out = {"checkout": str(Path(tx.__file__).parent.parent), "edges": G.number_of_edges()}
    for name, fn in steps:
        t0 = time.perf_counter()
        fn()
        out[name] = round(time.perf_counter() - t0, 3)
    out["load"] = [round(v, 2) for v in os.getloadavg()]
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
