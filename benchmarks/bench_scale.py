"""Scale benchmark: a ~1 M-edge road-like graph and the embedded network, serial and on Dask.

Run from the repository root (one command, everything generated from a seed; nothing stored)::

    nice -n 10 python benchmarks/bench_scale.py                 # full run (~1 M edges, up to 10,000 origins)
    python benchmarks/bench_scale.py --quick                    # small graph, 100/1,000 origins (minutes)

Measured in one run and written to ``benchmarks/SCALE_RESULTS.md`` (the figures quoted in
``docs/performance.md``):

- the generated graph (:func:`tx_transport.synthetic.road_like_graph`, a perturbed street grid
  with a road hierarchy and motorways with ramps): ``Network.with_road_graph`` + first compile,
  the compiled kernel's memory (array bytes per edge and per node, pickled size);
- 1 → all nodes: ``CompiledGraph.times_from`` against ``scipy.sparse.csgraph.dijkstra`` on the
  same CSR arrays (the reference);
- 1,000 origins × all nodes as a long table streamed to Parquet, serial and on a 2-worker
  ``LocalCluster``, and scipy on the same 1,000 sources (compute only, nothing kept);
- the scaling curve in origins (100, 1,000, 10,000 grid cells joined to the road graph) ×
  10,000 destinations, streamed to Parquet, serial and on the cluster;
- peak memory: RSS of this process (serial) or of the worker processes (cluster), sampled
  every 0.2 s with psutil, as the increase over the RSS before the sweep;
- the embedded network: compile, 1 → all and a 1,000-origin × all-node table.

Times are wall-clock seconds on whatever else the machine runs (the load average is recorded).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import os
import pickle
import platform
import shutil
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # this checkout's tx_transport, whatever is installed

import geopandas as gpd  # noqa: E402
import numpy as np  # noqa: E402
import psutil  # noqa: E402
import shapely  # noqa: E402
from scipy.sparse.csgraph import dijkstra  # noqa: E402

import tx_transport as tx  # noqa: E402
from tx_transport.geo import METRIC_CRS  # noqa: E402
from tx_transport.sweep import run_sweep  # noqa: E402
from tx_transport.synthetic import road_like_graph  # noqa: E402
from tx_transport.zones import grid_origins, join_points  # noqa: E402

HERE = Path(__file__).resolve().parent
SCENARIO = "plan-2025"


class PeakRSS:
    """Peak RSS (bytes) over time of this process, or of its child processes, above a baseline."""

    def __init__(self, children: bool) -> None:
        self.children = children
        self.me = psutil.Process()
        self.base = self._rss()
        self.peak = self.base
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def _procs(self) -> list[psutil.Process]:
        return self.me.children(recursive=True) if self.children else [self.me]

    def _rss(self) -> int:
        total = 0
        for p in self._procs():
            try:
                total += p.memory_info().rss
            except psutil.Error:
                pass
        return total

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            self.peak = max(self.peak, self._rss())

    def __enter__(self) -> PeakRSS:
        self._t.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._t.join()
        self.peak = max(self.peak, self._rss())

    @property
    def delta_mb(self) -> float:
        return (self.peak - self.base) / 2**20

    @property
    def peak_mb(self) -> float:
        return self.peak / 2**20


def fmt_s(s: float) -> str:
    return f"{s * 1e3:.1f} ms" if s < 1 else (f"{s:.2f} s" if s < 100 else f"{s:.0f} s ({s / 60:.1f} min)")


def median_time(fn, repeats: int) -> float:
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


def kernel_memory(cg: tx.CompiledGraph) -> dict[str, float]:
    arrays = [cg.indptr, cg.indices, cg.weights, cg.lon, cg.lat, cg.edge_u, cg.edge_v, cg.edge_time_s, cg.edge_sample,
              cg.point_sample]
    edge_b = sum(a.nbytes for a in (cg.indices, cg.weights, cg.edge_u, cg.edge_v, cg.edge_time_s, cg.edge_sample))
    node_b = sum(a.nbytes for a in (cg.indptr, cg.lon, cg.lat, cg.point_sample))
    ids = sys.getsizeof(cg.nodes) + sum(sys.getsizeof(n) for n in cg.nodes)
    return {"edges": len(cg.edge_u), "arcs": len(cg.indices), "nodes": len(cg.nodes),
            "array_mb": sum(a.nbytes for a in arrays) / 2**20, "ids_mb": ids / 2**20,
            "bytes_per_edge": edge_b / len(cg.edge_u), "bytes_per_node": (node_b + ids) / len(cg.nodes),
            "pickle_mb": len(pickle.dumps(cg, protocol=5)) / 2**20}


def spaced_points(net: tx.Network, hull: shapely.Geometry, n: int, max_join_m: float) -> gpd.GeoDataFrame:
    """``n`` grid cells over ``hull`` (cell size chosen to give at least ``n``), evenly picked, joined."""
    area_m2 = float(gpd.GeoSeries([hull], crs="EPSG:4326").to_crs(METRIC_CRS).area.iloc[0])
    cell = np.sqrt(area_m2 / (n * 1.15))
    g = grid_origins(gpd.GeoSeries([hull], crs="EPSG:4326"), cell)
    while len(g) < n:
        cell *= 0.95
        g = grid_origins(gpd.GeoSeries([hull], crs="EPSG:4326"), cell)
    g = g.iloc[np.unique(np.linspace(0, len(g) - 1, n).round().astype(int))]
    g["population"] = 1.0
    return join_points(net, g.drop(columns="cell"), max_join_m=max_join_m)


def folder_mb(p: Path) -> float:
    return sum(f.stat().st_size for f in p.glob("*.parquet")) / 2**20


class Bench:
    def __init__(self, out_dir: Path) -> None:
        self.rows: list[dict[str, Any]] = []
        self.out_dir = out_dir
        self.client = None
        self.cluster = None

    def row(self, network: str, what: str, **kw: Any) -> None:
        r = {"network": network, "what": what, **kw}
        self.rows.append(r)
        print(" | ".join(f"{k}={v}" for k, v in r.items()), flush=True)

    def start_cluster(self) -> float:
        from distributed import Client, LocalCluster

        t0 = time.perf_counter()
        self.cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0")
        self.client = Client(self.cluster)
        return time.perf_counter() - t0

    def sweep(self, network: str, what: str, kernels, origins, destinations, *, cluster: bool, ref_s: float | None = None,
              **kw: Any) -> float:
        out = self.out_dir / f"{network}-{what}-{'dask' if cluster else 'serial'}".replace(" ", "_").replace("×", "x")
        shutil.rmtree(out, ignore_errors=True)
        with PeakRSS(children=cluster) as mem:
            t0 = time.perf_counter()
            run_sweep(kernels, origins, destinations, out=out, client=self.client if cluster else None, progress=True, **kw)
            dt = time.perf_counter() - t0
        import json

        manifest = json.loads((out / "_manifest.json").read_text())
        self.row(network, what, mode="2-worker LocalCluster" if cluster else "serial", seconds=dt,
                 rows=manifest["rows"], parquet_mb=round(folder_mb(out), 1), tasks=manifest["tasks"],
                 peak_rss_mb=round(mem.peak_mb), rss_increase_mb=round(mem.delta_mb),
                 vs_scipy=(f"{ref_s / dt:.2f}×" if ref_s else ""))
        shutil.rmtree(out, ignore_errors=True)
        return dt


def scipy_many(cg: tx.CompiledGraph, src: np.ndarray, chunk: int = 16) -> None:
    """scipy's Dijkstra on the same CSR from every source, in chunks (results dropped)."""
    for a in range(0, len(src), chunk):
        dijkstra(cg.matrix, directed=True, indices=src[a:a + chunk])


def bench_network(b: Bench, name: str, net: tx.Network, hull: shapely.Geometry, origin_counts: list[int], table_origins: int,
                  repeats: int, max_join_m: float, first: bool = True) -> None:
    t0 = time.perf_counter()
    cg = net.compiled(SCENARIO, "car")
    b.row(name, "first compile (full graph, edge table, kernel)" if first else "compile (edge table warm)",
          seconds=time.perf_counter() - t0)
    mem = kernel_memory(cg)
    b.row(name, "compiled kernel memory", **{k: (round(v, 1) if isinstance(v, float) else v) for k, v in mem.items()})
    t0 = time.perf_counter()
    net.compiled("baseline-2020", "car")
    b.row(name, "compile another scenario (edge table warm)", seconds=time.perf_counter() - t0)

    pts_all = spaced_points(net, hull, max(origin_counts + [table_origins]), max_join_m)
    t0 = time.perf_counter()
    join_points(net, pts_all.drop(columns=["node", "join_m"]), max_join_m=max_join_m)
    b.row(name, f"join_points, {len(pts_all)} points (KD-tree)", seconds=time.perf_counter() - t0)
    src0 = net._idx(cg, [pts_all.node.iloc[0]])
    cg.times_from(src0)  # warm the CSR matrix
    t_k = median_time(lambda: cg.times_from(src0), repeats)
    t_s = median_time(lambda: dijkstra(cg.matrix, directed=True, indices=src0), repeats)
    b.row(name, "1 → all nodes", seconds=t_k, scipy_seconds=t_s, vs_scipy=f"{t_s / t_k:.2f}×")

    key = {(SCENARIO, "car"): cg}
    tab = pts_all.iloc[np.unique(np.linspace(0, len(pts_all) - 1, table_origins).round().astype(int))]
    src = net._idx(cg, list(tab.node))
    t0 = time.perf_counter()
    scipy_many(cg, src)
    t_ref = time.perf_counter() - t0
    b.row(name, f"{len(tab)} origins × all nodes, scipy dijkstra only (reference, nothing kept)", seconds=t_ref)
    for cluster in (False, True):
        b.sweep(name, f"{len(tab)} origins × all {len(cg.nodes)} nodes → Parquet", key, tab, "nodes", cluster=cluster,
                ref_s=t_ref)
    dest = pts_all.iloc[np.unique(np.linspace(0, len(pts_all) - 1, min(10_000, len(pts_all))).round().astype(int))]
    for n in origin_counts:
        o = pts_all.iloc[np.unique(np.linspace(0, len(pts_all) - 1, n).round().astype(int))]
        for cluster in (False, True):
            b.sweep(name, f"{len(o)} origins × {len(dest)} destinations → Parquet", key, o, dest, cluster=cluster)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--grid", type=int, default=500, help="generated grid side in nodes (500: ~1 M directed edges)")
    ap.add_argument("--origins", default="100,1000,10000", help="scaling curve, origins per sweep")
    ap.add_argument("--table-origins", type=int, default=1000, help="origins of the origins × all-nodes table")
    ap.add_argument("--quick", action="store_true", help="grid 150, origins 100,1000, table 200")
    ap.add_argument("--skip-embedded", action="store_true")
    ap.add_argument("--out-dir", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")) / "tx-bench-scale")
    ap.add_argument("--results", type=Path, default=HERE / "SCALE_RESULTS.md")
    args = ap.parse_args(argv)
    if args.quick:
        args.grid, args.origins, args.table_origins = 150, "100,1000", 200
    counts = [int(x) for x in args.origins.split(",")]
    args.out_dir.mkdir(parents=True, exist_ok=True)
    b = Bench(args.out_dir)
    load0 = " ".join(f"{v:.2f}" for v in os.getloadavg())
    started = _dt.datetime.now().astimezone().isoformat(timespec="seconds")
    b.row("-", "LocalCluster(n_workers=2) start", seconds=b.start_cluster())
    try:
        base = tx.load_network()
        if not args.skip_embedded:
            tong = base.boundaries[base.boundaries.name_en == "Jiaxing"].geometry.iloc[0]
            bench_network(b, "embedded", base, tong, [100, 1000], args.table_origins, 20, 25_000.0)  # a main-road skeleton
        t0 = time.perf_counter()
        G = road_like_graph(args.grid, args.grid)
        name = f"generated {args.grid}×{args.grid}"
        b.row(name, f"generate the graph (networkx, {G.number_of_nodes()} nodes, {G.number_of_edges()} edges)",
              seconds=time.perf_counter() - t0)
        hull = shapely.MultiPoint([(d["x"], d["y"]) for _, d in G.nodes(data=True)]).convex_hull.buffer(-0.01)
        with PeakRSS(children=False) as mem:
            t0 = time.perf_counter()
            net = base.with_road_graph(G)
            net.compiled(SCENARIO, "car")
            dt = time.perf_counter() - t0
        b.row(name, "with_road_graph + first compile (RSS increase incl. the scenario networkx graph)", seconds=dt,
              rss_increase_mb=round(mem.delta_mb))
        net._compiled.clear()
        bench_network(b, name, net, hull, counts, args.table_origins, 5, 2_000.0, first=False)
    finally:
        b.client.close()
        b.cluster.close()
    render(args, b.rows, started, load0)
    return 0


def render(args: argparse.Namespace, rows: list[dict[str, Any]], started: str, load0: str) -> None:
    import scipy

    cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                if ln.startswith("model name")), "unknown")
    lines = ["# tx-transport scale benchmark", "",
             f"- started {started}; {cpu}, {os.cpu_count()} cores, {psutil.virtual_memory().total / 2**30:.0f} GiB, "
             f"Python {platform.python_version()}, numpy {np.__version__}, scipy {scipy.__version__}",
             f"- load average (1/5/15 min) at start {load0}, at end {' '.join(f'{v:.2f}' for v in os.getloadavg())} "
             "(a shared machine: other engineers' jobs ran at the same time)",
             f"- command: `{'nice -n 10 ' if os.nice(0) > 0 else ''}python benchmarks/bench_scale.py {' '.join(sys.argv[1:])}".rstrip() + "`",
             "", "| network | measurement | mode | time | rows | Parquet MB | peak RSS MB (+increase) | vs scipy | other |",
             "|---|---|---|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        other = {k: v for k, v in r.items() if k not in ("network", "what", "mode", "seconds", "rows", "parquet_mb", "peak_rss_mb",
                                                         "rss_increase_mb", "vs_scipy")}
        other.pop("scipy_seconds", None)
        extra = ", ".join(f"{k} {v}" for k, v in other.items())
        if "scipy_seconds" in r:
            extra = f"scipy {fmt_s(r['scipy_seconds'])}" + (f", {extra}" if extra else "")
        rss = f"{r['peak_rss_mb']} (+{r['rss_increase_mb']})" if "peak_rss_mb" in r else (
            f"+{r['rss_increase_mb']}" if "rss_increase_mb" in r else "")
        lines.append(f"| {r['network']} | {r['what']} | {r.get('mode', '')} | {fmt_s(r['seconds']) if 'seconds' in r else ''} | "
                     f"{r.get('rows', '')} | {r.get('parquet_mb', '')} | {rss} | {r.get('vs_scipy', '')} | {extra} |")
    lines.append("")
    args.results.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))
    print(f"written to {args.results}")


if __name__ == "__main__":
    sys.exit(main())
