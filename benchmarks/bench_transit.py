"""Benchmark of the timetable router against the time-expanded networkx oracle, in one run.

Run from the repository root::

    python benchmarks/bench_transit.py [--out docs/timetable_performance.md]

Measures, on the embedded bundle (scenario baseline-2020: the 2016 YRD feed plus the service edits
of the lines opened by 2020):

- building a scenario's timetable (feed read with gtfs-kit, edits) and compiling it; the cached call;
- a one-origin range query over 07:00–09:00 (every departure of the origin in the window, one
  earliest-arrival search each, all stops), RAPTOR vs Dijkstra on the time-expanded graph of the
  same timetable (tests/transit_oracle.py), same queries, same answers checked;
- a door-to-door window query (car to every station, trains, car from every station, every minute
  of 07:00–09:00) from Tongxiang's centre to every place;
- the all-station × all-station fastest-journey-of-the-day matrix, and the oracle's time per origin
  on a sample of origins (the full oracle matrix would take minutes).

Timings are medians of repeated runs (``time.perf_counter``) on this machine; the ratios are what
matter (both sides run here, in the same process).
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import tx_transport as tx  # noqa: E402
from tx_transport._files import atomic_write_text  # noqa: E402
from tx_transport.transit.layer import TransitLayer  # noqa: E402

SCENARIO = "baseline-2020"


def timed(fn, repeat: int = 5) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def main(argv: list[str] | None = None) -> int:
    from transit_oracle import TimeExpandedOracle

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(ROOT / "docs" / "timetable_performance.md"))
    args = ap.parse_args(argv)
    net = tx.load_network()
    sel = net.selection(SCENARIO)
    rows: list[tuple[str, str, str, str]] = []

    # ---------------------------------------------------------------- build and compile
    def cold():
        layer = TransitLayer(net._b)
        tt = layer.timetable(sel)
        return layer, tt

    t_build, (layer, tt) = timed(cold, 3)

    def compile_cold():
        layer._compiled.clear()
        return layer.compiled(sel)

    t_compile, ct = timed(compile_cold, 3)
    ct = net.compiled_timetable(SCENARIO)
    t_cached, _ = timed(lambda: net.compiled_timetable(SCENARIO), 20)
    rows.append(("timetable of a scenario (read feed, apply edits), cold", f"{t_build * 1000:.0f} ms", "", ""))
    rows.append(("compile to arrays", f"{t_compile * 1000:.0f} ms", "", ""))
    rows.append(("compiled timetable, cached", f"{t_cached * 1e6:.0f} µs", "", ""))
    size = f"{ct.n_stops} stops, {ct.n_trips} trips, {ct.n_events} stop events"

    # ---------------------------------------------------------------- oracle on the same timetable
    change = {str(ct.stop_ids[i]): float(c) for i, c in enumerate(ct.change_s) if c != net._b.transit.change_min * 60}
    tf = [(str(ct.stop_ids[f]), str(ct.stop_ids[t]), float(s)) for f, t, s in zip(ct.tf_from, ct.tf_to, ct.tf_s)]
    t0 = time.perf_counter()
    oracle = TimeExpandedOracle(tt.stop_times, change, net._b.transit.change_min * 60, tf)
    t_oracle_build = time.perf_counter() - t0
    rows.append(("time-expanded networkx graph of the same timetable (oracle), build", f"{t_oracle_build * 1000:.0f} ms",
                 f"{oracle.G.number_of_nodes():,} nodes, {oracle.G.number_of_edges():,} edges", ""))

    # ---------------------------------------------------------------- one-origin range query 07:00-09:00
    for station in ("shanghai-hongqiao", "tongxiang-station"):
        o = ct.stop_index(station)
        deps = np.unique(ct.departures_from(o))
        w = deps[(deps >= 7 * 3600) & (deps <= 9 * 3600)]
        r0 = np.full((len(w), ct.n_stops), np.inf)
        r0[:, o] = w
        sub = ct.restrict(7 * 3600, 9 * 3600 + 6 * 3600)
        t_r, ea = timed(lambda sub=sub, r0=r0: sub.earliest_arrival(r0, max_rounds=5), 7)

        def run_oracle(w=w, station=station):
            out = np.full((len(w), ct.n_stops), np.inf)
            for k, d in enumerate(w):
                for s, v in oracle.earliest_arrival({station: float(d)}).items():
                    out[k, ct.stop_index(s)] = v
            return out

        t_o, ref = timed(run_oracle, 1)
        ok = bool(np.array_equal(np.where(ref <= 15 * 3600, ea, np.inf), np.where(ref <= 15 * 3600, ref, np.inf)))
        rows.append((f"range query {station}, 07:00–09:00 ({len(w)} departures × every stop)", f"{t_r * 1000:.1f} ms",
                     f"oracle {t_o * 1000:.0f} ms ({t_o / t_r:.0f}× slower)", "same answers" if ok else "DIFFERENT"))

    # ---------------------------------------------------------------- door to door
    k = net.door_to_door(SCENARIO)
    dst = net._idx(k.car, [f"place:{p}" for p in net.places.index])
    src = int(net._idx(k.car, ["place:tongxiang"])[0])
    k.egress()

    def d2d():
        k._cache.pop("origins", None)
        return k.window_times(src, dst)

    t_d, _ = timed(d2d, 5)
    rows.append((f"door to door from Tongxiang centre, 07:00–09:00 every minute, to all {len(dst)} places", f"{t_d * 1000:.0f} ms",
                 "car search + trains from every station in reach + egress", ""))

    # ---------------------------------------------------------------- all-station fastest matrix
    t_m, F = timed(lambda: ct.fastest_journeys(max_rounds=5), 1)
    sample = [ct.stop_index(s) for s in ("tongxiang-station", "hangzhou-east", "jiaxing-south", "nanjing-south", "hefei-south")]

    def oracle_row(o: int) -> np.ndarray:
        sid = str(ct.stop_ids[o])
        best = np.full(ct.n_stops, np.inf)
        for d in np.unique(ct.departures_from(o)):
            for s, v in oracle.earliest_arrival({sid: float(d)}, transfers_at_start=False).items():
                i = ct.stop_index(s)
                best[i] = min(best[i], v - d)
        best[o] = 0
        return best

    t0 = time.perf_counter()
    same = all(np.array_equal(oracle_row(o), F[o]) for o in sample)
    t_os = (time.perf_counter() - t0) / len(sample)
    served = int((np.diff(ct.trip_start) > 0).sum())
    n_orig = len(np.unique(ct.ev_stop))
    rows.append((f"fastest journey of the day, every station × every station ({ct.n_stops} × {ct.n_stops})", f"{t_m:.2f} s",
                 f"oracle {t_os:.2f} s per origin on {len(sample)} origins, ~{t_os * n_orig / 60:.0f} min for all "
                 f"{n_orig} served stations ({t_os * n_orig / t_m:.0f}× slower)", "same answers" if same else "DIFFERENT"))
    del served

    lines = [
        "# Timetable router: measured speed",
        "",
        f"Generated by `python benchmarks/bench_transit.py` on {platform.machine()} with Python {platform.python_version()}, "
        f"numpy {np.__version__}; scenario `{SCENARIO}` ({size}). Medians of repeated runs; the oracle is Dijkstra on the "
        "time-expanded networkx graph of the same timetable (tests/transit_oracle.py), run on the same queries in the same "
        "process, and its answers are compared with the router's.",
        "",
        "| what | time | against | check |",
        "|---|---|---|---|",
    ]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    lines += ["", "How: rounds of RAPTOR vectorised with numpy over every trip that calls at a stop improved in the round "
              "before (see tx_transport/transit/raptor.py); a window is one batch of departures; the door-to-door window only "
              "routes the departures that can change an arrival (the last moment to catch each train), see "
              "tx_transport/doortodoor.py.", ""]
    atomic_write_text(args.out, "\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
