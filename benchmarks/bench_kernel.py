"""Benchmark the compiled kernel and the isochrones against networkx / OSMnx-style baselines.

Run from the repository root::

    python benchmarks/bench_kernel.py            # full run (the networkx table loop takes minutes)
    python benchmarks/bench_kernel.py --quick    # fewer repeats, networkx table on 8 origins (extrapolated)

Everything is measured in one run on the embedded network: times are medians over repeats
(``time.perf_counter``), ratios are baseline / tx_transport. The Markdown table is printed and
written to ``benchmarks/RESULTS.md`` with the machine and the date.

Sections
--------
build   load the bundle, build the full graph + edge table + first compile (cold), compile one
        more scenario/profile (edge table warm), ``net.compiled`` cached, ``net.graph`` (networkx)
(a)     single source, all destinations: ``CompiledGraph.dijkstra`` vs
        ``networkx.single_source_dijkstra_path_length`` on the same ``net.graph(s, profile='car')``
(b)     the same with a 60-min cutoff (``limit_s`` vs ``cutoff``)
(c)     every place x every place, for every scenario and the car profile (the timetable profiles,
        rail and door-to-door, are benchmarked in benchmarks/bench_transit.py):
        ``net.travel_times`` (serial, and the kernel in 2 worker processes) vs networkx looping
        ``single_source_dijkstra_path_length`` over the origins
(d)     a 4-band isochrone set from one origin: ``net.isochrones`` vs the OSMnx isochrone example
        (``nx.ego_graph`` per cutoff on ``travel_time``, then buffer-and-union of the reached
        nodes and edge geometries in a metric CRS)

pandana and r5py are not benchmarked (not installed; r5py needs a JVM and network access).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import scipy
import shapely
from tqdm import tqdm

import tx_transport as tx
from tx_transport.geo import METRIC_CRS, to_metric
from tx_transport.parallel import travel_time_tables

HERE = Path(__file__).resolve().parent
SCENARIO = "plan-2025"
ORIGIN = "tongxiang"
CUTOFFS = (15, 30, 45, 60)
TABLE_PROFILES = ("car",)


# ------------------------------------------------------------------------------------- helpers
BEST: dict[int, float] = {}


def timeit(fn: Callable[[], Any], repeats: int, warmup: int = 0) -> tuple[float, Any]:
    """Median wall time (s) of ``fn`` over ``repeats`` runs, and the last result (the fastest
    run is kept in ``BEST[id(fn)]``)."""
    out = None
    for _ in range(warmup):
        out = fn()
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        ts.append(time.perf_counter() - t0)
    BEST[id(fn)] = min(ts)
    return statistics.median(ts), out


def fmt_t(s: float | None) -> str:
    if s is None or not np.isfinite(s):
        return "–"
    if s < 1e-3:
        return f"{s * 1e6:.0f} µs"
    if s < 1:
        return f"{s * 1e3:.1f} ms"
    return f"{s:.2f} s"


def machine() -> dict[str, str]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        ncpu = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        ncpu = os.cpu_count() or 1
    import contourpy
    import shapely as shp

    vers = {"numpy": np.__version__, "scipy": scipy.__version__, "networkx": nx.__version__,
            "shapely": shp.__version__, "contourpy": contourpy.__version__}
    try:
        import osmnx

        vers["osmnx"] = osmnx.__version__
    except ImportError:  # pragma: no cover
        pass
    return {
        "date": _dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "nproc": str(ncpu),
        "cpu": cpu,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": ", ".join(f"{k} {v}" for k, v in vers.items()),
        "load": " ".join(f"{v:.2f}" for v in os.getloadavg()),
    }


# ------------------------------------------------------------------------------------- OSMnx-style isochrones
def project_graph(G: nx.MultiDiGraph) -> nx.MultiDiGraph:
    """``G`` in METRIC_CRS (as ``osmnx.project_graph`` does once, before the isochrones)."""
    try:
        import osmnx as ox

        return ox.project_graph(G, to_crs=METRIC_CRS)
    except Exception:  # noqa: BLE001 - fall back to a manual projection
        H = G.copy()
        nodes = list(H.nodes)
        x, y = to_metric([H.nodes[n]["x"] for n in nodes], [H.nodes[n]["y"] for n in nodes])
        for n, a, b in zip(nodes, x, y):
            H.nodes[n]["x"], H.nodes[n]["y"] = float(a), float(b)
        for _, _, d in H.edges(data=True):
            g = d.get("geometry")
            if g is not None:
                d["geometry"] = shapely.transform(g, lambda xy: np.column_stack(to_metric(xy[:, 0], xy[:, 1])))
        H.graph["crs"] = METRIC_CRS
        return H


def osmnx_style_isochrones(Gp: nx.MultiDiGraph, center: Any, cutoffs_min, buffer_m: float) -> list[Any]:
    """The OSMnx isochrone example (``make_iso_polys``, infill=False) with node and edge buffers
    of ``buffer_m``: one ``ego_graph`` per cutoff, buffer every reached node and edge, union."""
    polys = []
    for c in sorted(cutoffs_min, reverse=True):
        sub = nx.ego_graph(Gp, center, radius=c * 60.0, distance="travel_time")
        pts = shapely.points([(d["x"], d["y"]) for _, d in sub.nodes(data=True)])
        lines = []
        for u, v in sub.edges():
            g = Gp.get_edge_data(u, v)[0].get("geometry")
            if g is None:
                g = shapely.LineString([(Gp.nodes[u]["x"], Gp.nodes[u]["y"]), (Gp.nodes[v]["x"], Gp.nodes[v]["y"])])
            lines.append(g)
        geoms = np.concatenate([shapely.buffer(pts, buffer_m), shapely.buffer(np.array(lines, dtype=object), buffer_m)])
        polys.append(shapely.union_all(geoms))
    return polys[::-1]


# ------------------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=None, help="repeats of the fast measurements (default 20, quick 7)")
    ap.add_argument("--nx-origins", type=int, default=None,
                    help="origins per table for the networkx loop (default: every place; the total is extrapolated)")
    ap.add_argument("--quick", action="store_true", help="fewer repeats; networkx table on 8 origins per table")
    ap.add_argument("--out", type=Path, default=HERE / "RESULTS.md")
    args = ap.parse_args(argv)
    R = args.repeats or (7 if args.quick else 20)
    r_slow = 2 if args.quick else 3
    nx_origins = args.nx_origins or (8 if args.quick else None)

    info = machine()
    rows: list[dict[str, Any]] = []
    notes: list[str] = []

    def row(name: str, ours: float | None, base: float | None = None, base_name: str = "", target: str = "",
            ok: bool | None = None) -> None:
        ratio = (base / ours) if (base is not None and ours) else None
        rows.append({"name": name, "ours": ours, "base": base, "base_name": base_name, "ratio": ratio,
                     "target": target, "ok": ok})

    print(f"tx-transport kernel benchmark — {info['cpu']}, {info['nproc']} cores, Python {info['python']}", flush=True)

    # ---------------------------------------------------------------- build (cold and cached)
    t_load, t_first, t_more, t_nxg = [], [], [], []
    combos = [(s, p) for s in tx.load_network().scenarios for p in TABLE_PROFILES]
    for _ in tqdm(range(r_slow), desc="build (cold)", leave=False):
        t0 = time.perf_counter()
        net = tx.load_network()
        t_load.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        net.compiled(SCENARIO, "car")
        t_first.append(time.perf_counter() - t0)
        for s, p in combos:
            if (s, p) == (SCENARIO, "car"):
                continue
            t0 = time.perf_counter()
            net.compiled(s, p)
            t_more.append(time.perf_counter() - t0)
    t_cached, _ = timeit(lambda: net.compiled(SCENARIO, "car"), R)
    for _ in tqdm(range(r_slow), desc="networkx graph", leave=False):
        t0 = time.perf_counter()
        G = net.graph(SCENARIO, profile="car")
        t_nxg.append(time.perf_counter() - t0)
    row("load bundle (`load_network`, cold)", statistics.median(t_load))
    row("first `compiled()` (full graph + edge table + compile, cold)", statistics.median(t_first))
    row("`compiled()` of another scenario/profile (edge table warm)", statistics.median(t_more))
    row("`compiled()` cached", t_cached)
    row("`net.graph(s, profile='car')` (networkx, rebuilt every call)", statistics.median(t_nxg))

    cg = net.compiled(SCENARIO, "car")
    src_node = f"place:{ORIGIN}"
    src = cg.index_of([src_node])
    index = {n: i for i, n in enumerate(cg.nodes)}
    print(f"graph {SCENARIO}/car: {G.number_of_nodes()} nodes, {G.number_of_edges()} edges "
          f"(compiled: {len(cg.nodes)} nodes, {len(cg.indices)} arcs)", flush=True)

    # ---------------------------------------------------------------- (a) single source, all destinations
    t_k, dist = timeit(lambda: cg.dijkstra(src), R, warmup=1)
    t_n, ref = timeit(lambda: nx.single_source_dijkstra_path_length(G, src_node, weight="travel_time"), max(3, R // 4))
    reached_k = int(np.isfinite(dist).sum())
    diff = max(abs(float(dist[0, index[n]]) - v) for n, v in ref.items())
    if reached_k != len(ref) or diff > 0.01:
        notes.append(f"(a) kernel and networkx disagree: {reached_k} vs {len(ref)} nodes reached, max |Δ| {diff:.3g} s")
    notes.append(f"(a) {len(ref)} nodes reached; kernel vs networkx max |Δt| = {diff:.2g} s (EPS_S per edge)")
    row("(a) single source → all nodes, car", t_k, t_n, "networkx single_source_dijkstra_path_length",
        "≥ 20×", t_n / t_k >= 20)
    t_api, _ = timeit(lambda: net.travel_times(ORIGIN, None, scenario=SCENARIO), R, warmup=1)
    row("(a') same via `net.travel_times(origin)` (→ every place; API overhead incl.)", t_api, t_n,
        "networkx single_source_dijkstra_path_length")

    # ---------------------------------------------------------------- (b) 60-min cutoff
    t_kc, dcut = timeit(lambda: cg.dijkstra(src, limit_s=3600.0), R, warmup=1)
    t_nc, rcut = timeit(lambda: nx.single_source_dijkstra_path_length(G, src_node, cutoff=3600.0, weight="travel_time"),
                        max(3, R // 4))
    n_k = int(np.isfinite(dcut).sum())
    if n_k != len(rcut):
        notes.append(f"(b) reached within 60 min: kernel {n_k}, networkx {len(rcut)} (EPS_S at the cutoff)")
    row("(b) single source, 60-min cutoff, car", t_kc, t_nc, "networkx … cutoff=3600", "≥ 20×", t_nc / t_kc >= 20)

    # ---------------------------------------------------------------- (c) tables, every scenario
    places = list(net.places.index)
    for s, p in combos:
        net.compiled(s, p)
    n_tab = len(combos)

    def all_tables():
        return {k: net.travel_times(scenario=k[0], profile=k[1]) for k in combos}

    t_tab, tabs = timeit(all_tables, r_slow, warmup=1)
    cells = sum(t.size for t in tabs.values())
    row(f"(c) place × place tables, {n_tab} scenario×profile ({len(places)}² each), serial `net.travel_times`",
        t_tab, None, "", "< 2 s", t_tab < 2.0)
    # 2 worker processes via the library (compiled graphs shipped once per call, as to Dask workers)
    nproc2 = 2

    def par():
        return travel_time_tables(net, list(net.scenarios), TABLE_PROFILES, places, places, processes=nproc2)

    t_par, par_res = timeit(par, max(r_slow, 3), warmup=1)
    ok_par = all(np.allclose(np.nan_to_num(par_res[k].to_numpy(), nan=-1), np.nan_to_num(tabs[k].to_numpy(), nan=-1))
                 for k in combos)
    if not ok_par:
        notes.append("(c) the worker-process tables differ from net.travel_times")

    # networkx loop
    sel = places if nx_origins is None else places[:nx_origins]
    t_nx_tab = 0.0
    max_dev = 0.0
    dev_where = ""
    nx_graphs: dict[tuple[str, str], nx.MultiDiGraph] = {}
    for k in tqdm(combos, desc="networkx graphs (c)", leave=False):
        nx_graphs[k] = net.graph(k[0], profile=k[1])
    with tqdm(total=len(combos) * len(sel), desc="networkx tables (c)", leave=False) as bar:
        for k in combos:
            H = nx_graphs[k]
            tab = tabs[k]
            for o in sel:
                t0 = time.perf_counter()
                d = nx.single_source_dijkstra_path_length(H, f"place:{o}", weight="travel_time")
                row_min = [d.get(f"place:{q}", np.inf) / 60.0 for q in places]
                t_nx_tab += time.perf_counter() - t0
                ours = tab.loc[o].to_numpy(dtype=float)
                theirs = np.asarray(row_min)
                fin = np.isfinite(theirs) & np.isfinite(ours)
                if (np.isfinite(theirs) != np.isfinite(ours)).any():
                    dev_where = f"{k}: origin {o} reachability differs"
                    max_dev = np.inf
                elif fin.any():
                    dv = float(np.abs(theirs[fin] - ours[fin]).max())
                    if dv > max_dev:
                        max_dev, dev_where = dv, f"{k}, origin {o}"
                bar.update()
    scale = len(places) / len(sel)
    t_nx_total = t_nx_tab * scale
    label = "networkx loop" + ("" if scale == 1 else f" (measured on {len(sel)} origins/table, ×{scale:.1f})")
    row(f"(c') same, `tx_transport.parallel.travel_time_tables`, {nproc2} worker processes (incl. start-up)",
        t_par, t_nx_total, label, "< 2 s", t_par < 2.0)
    rows[-2].update(base=t_nx_total, base_name=label, ratio=t_nx_total / t_tab)
    notes.append(f"(c) fastest run: serial {fmt_t(BEST[id(all_tables)])}, {nproc2} processes {fmt_t(BEST[id(par)])} "
                 "(medians in the table; both are CPU-bound, so a loaded machine inflates them)")
    notes.append(f"(c) {cells} cells; networkx vs kernel max |Δ| = {max_dev:.3g} min ({dev_where or 'all equal'})")

    # ---------------------------------------------------------------- (d) isochrones
    def ours_iso():
        return net.isochrones(ORIGIN, CUTOFFS, scenario=SCENARIO, profile="car")

    from tx_transport import isochrones as iso_mod

    iso_mod._XY_CACHE.clear()
    t0 = time.perf_counter()
    ours_iso()
    t_iso_first = time.perf_counter() - t0
    t_iso, bands = timeit(ours_iso, R, warmup=1)
    Gp = project_graph(G)
    t_osm, polys = timeit(lambda: osmnx_style_isochrones(Gp, src_node, CUTOFFS, 1000.0), r_slow)
    row("(d) 4-band isochrone set (15/30/45/60 min), one origin, incl. search", t_iso, t_osm,
        "OSMnx example: ego_graph + buffer/union (1 km)", "< 100 ms", t_iso < 0.1)
    row("(d') same, first call (node projection not cached yet)", t_iso_first)
    notes.append("(d) band areas km², tx_transport / OSMnx-style: " + ", ".join(
        f"{c:g} min {a:.0f} / {p.area / 1e6:.0f}" for c, a, p in zip(bands.cutoff_min, bands.area_km2, polys)))
    notes.append("(d) OSMnx-style buffers every edge of the ego graph, expressways between interchanges included, and "
                 "counts edges reached at one end only as whole; tx_transport cuts edges at the exact point reached.")

    # ---------------------------------------------------------------- report
    info["load_end"] = " ".join(f"{v:.2f}" for v in os.getloadavg())
    md = render(info, rows, notes, R, r_slow)
    print()
    print(md)
    args.out.write_text(md, encoding="utf-8")
    print(f"written to {args.out}")
    return 0


def render(info: dict[str, str], rows: list[dict[str, Any]], notes: list[str], R: int, r_slow: int) -> str:
    lines = [
        "# tx-transport kernel benchmark",
        "",
        f"- date: {info['date']}",
        f"- machine: {info['cpu']}, nproc {info['nproc']} ({info['platform']})",
        f"- Python {info['python']}; {info['versions']}",
        f"- load average (1/5/15 min) at start {info['load']}, at end {info.get('load_end', '?')} "
        f"(other processes on the machine inflate the timings; {info['nproc']} cores)",
        f"- network: embedded bundle; scenario `{SCENARIO}`, origin `{ORIGIN}` unless stated",
        f"- medians over {R} repeats (fast measurements) or {r_slow} (build, tables, OSMnx-style); "
        "ratio = baseline / tx_transport; command: `python benchmarks/bench_kernel.py`",
        "",
        "| benchmark | tx_transport | baseline | baseline time | ratio | target | pass |",
        "|---|---:|---|---:|---:|---|---|",
    ]
    for r in rows:
        ratio = f"{r['ratio']:.0f}×" if r["ratio"] is not None and r["ratio"] >= 10 else (
            f"{r['ratio']:.1f}×" if r["ratio"] is not None else "")
        ok = "" if r["ok"] is None else ("✅ pass" if r["ok"] else "❌ fail")
        lines.append(f"| {r['name']} | {fmt_t(r['ours'])} | {r['base_name']} | {fmt_t(r['base']) if r['base'] is not None else ''} "
                     f"| {ratio} | {r['target']} | {ok} |")
    lines += ["", "Notes:", ""] + [f"- {n}" for n in notes] + [""]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
