"""Chunked sweeps (tx_transport.sweep): serial, on a LocalCluster, to Parquet, with lost workers."""

from __future__ import annotations

import json
import os
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd
import pytest

import tx_transport as tx
from tx_transport.sweep import SweepError, read_sweep, run_sweep, travel_time_sweep
from tx_transport.synthetic import road_like_graph
from tx_transport.zones import grid_origins, join_points

distributed = pytest.importorskip("distributed")
pytest.importorskip("pyarrow")

SCEN = ["baseline-2020", "plan-2025"]


class ProbeKernel:
    """A CompiledGraph that logs (pid, id(self)) per task and can kill its worker process.

    With ``kill=True`` a task for the origin chunk starting at ``kill_src`` ends its process
    (``os._exit``) while the file ``marker`` exists; ``once`` removes the marker first, so only
    the first attempt dies.
    """

    def __init__(self, cg, log: str, marker: str = "", kill_src: int = -1, once: bool = True):
        self.cg, self.log, self.marker, self.kill_src, self.once = cg, log, marker, kill_src, once

    sources = property(lambda self: self.cg.sources)
    targets = property(lambda self: self.cg.targets)

    def times_from(self, src_idx, limit_s=np.inf):
        with open(self.log, "a") as f:
            f.write(f"{os.getpid()} {id(self)} {self.cg.scenario} {int(src_idx[0])}\n")
        if self.marker and int(src_idx[0]) == self.kill_src and os.path.exists(self.marker):
            if self.once:
                os.remove(self.marker)
            os._exit(1)
        return self.cg.times_from(src_idx, limit_s)


@pytest.fixture(scope="module")
def small():
    """A 24 × 24 road-like grid as the road layer, and a 500 m grid of origins over it."""
    G = road_like_graph(24, 24, motorway_every=12, seed=1)
    net = tx.load_network().with_road_graph(G)
    import geopandas as gpd
    import shapely

    hull = shapely.MultiPoint([(d["x"], d["y"]) for _, d in G.nodes(data=True)]).convex_hull.buffer(-0.004)
    pts = join_points(net, grid_origins(gpd.GeoSeries([hull], crs="EPSG:4326"), 500.0), max_join_m=400)
    pts["population"] = np.arange(len(pts), dtype=float) * 10.0
    return net, pts


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster, \
            distributed.Client(cluster) as c:
        yield c


def test_serial_sweep_matches_networkx(small):
    net, pts = small
    tab = travel_time_sweep(net, pts, scenarios=["plan-2025"], chunk_size=7, progress=False)
    assert list(tab.columns) == ["origin", "destination", "scenario", "profile", "time_min"]
    G = net.graph("plan-2025", profile="car")
    node = dict(zip(pts.index, pts.node))
    for o in pts.index[::5]:
        ref = nx.single_source_dijkstra_path_length(G, node[o], weight="travel_time")
        got = tab[tab.origin == o].set_index("destination").time_min
        want = pd.Series({d: ref[node[d]] / 60.0 for d in pts.index if node[d] in ref})
        assert set(got.index) == set(want.index)  # a pair without a row is unreachable
        np.testing.assert_allclose(got.loc[want.index].to_numpy(), want.to_numpy(), rtol=1e-6, atol=1e-4)


def test_sweep_of_places_equals_travel_times(net):
    places = ["tongxiang", "wuzhen", "tongxiang-station", "shanghai", "hangzhou-east"]
    tab = travel_time_sweep(net, places, scenarios=SCEN, profiles=("car", "rail"), chunk_size=2, progress=False)
    for (s, p), part in tab.groupby(["scenario", "profile"], observed=True):
        ref = net.travel_times(places, places, scenario=s, profile=p)
        got = part.pivot(index="origin", columns="destination", values="time_min").reindex(index=places, columns=places)
        np.testing.assert_allclose(got.to_numpy(), ref.to_numpy(), rtol=1e-6, equal_nan=True)


def test_cluster_equals_serial_exactly_and_marks_complete(small, client, tmp_path):
    net, pts = small
    kw = dict(scenarios=SCEN, chunk_size=5, progress=False)
    a = travel_time_sweep(net, pts, out=tmp_path / "serial", **kw)
    b = travel_time_sweep(net, pts, out=tmp_path / "dask", client=client, **kw)
    ta, tb = read_sweep(a), read_sweep(b)
    assert len(ta) > 2000
    pd.testing.assert_frame_equal(ta, tb)
    m = json.loads((b / "_manifest.json").read_text())
    assert (b / "_SUCCESS").exists() and m["rows"] == len(tb) and len(m["parts"]) == 2 * -(-len(pts) // 5)
    pts_back = pd.read_parquet(b / "origins.parquet")
    assert (pts_back.population.to_numpy() == pts.population.to_numpy()).all()  # weights carried through
    # the in-memory table is the same as the Parquet one
    pd.testing.assert_frame_equal(travel_time_sweep(net, pts, **kw), ta)


def test_reductions_equal_the_table(small, client):
    net, pts = small
    cuts = (5, 10, 20)
    tab = travel_time_sweep(net, pts, scenarios=["plan-2025"], progress=False)
    red = travel_time_sweep(net, pts, scenarios=["plan-2025"], reduce="reach", cutoffs_min=cuts, client=client,
                            chunk_size=4, progress=False)
    pop = pts.population
    for c in cuts:
        within = tab[tab.time_min <= c]
        want_n = within.groupby("origin").size().reindex(pts.index, fill_value=0)
        want_w = within.assign(w=pop.loc[within.destination].to_numpy()).groupby("origin").w.sum().reindex(pts.index, fill_value=0)
        got = red[red.cutoff_min == c].set_index("origin")
        assert (got.destinations_reached.loc[pts.index].to_numpy() == want_n.to_numpy()).all()
        np.testing.assert_allclose(got.weight_reached.loc[pts.index].to_numpy(), want_w.to_numpy())
        np.testing.assert_array_equal(got.origin_weight.loc[pts.index].to_numpy(), pop.to_numpy())
    iso = travel_time_sweep(net, ["tongxiang", "wuzhen"], scenarios=["plan-2025"], reduce="isochrone_area",
                            cutoffs_min=(15, 30), progress=False)
    ref = net.isochrones("wuzhen", (15, 30), scenario="plan-2025")
    got = iso[iso.origin == "wuzhen"].sort_values("cutoff_min").area_km2.to_numpy()
    np.testing.assert_allclose(got, ref.area_km2.to_numpy())


def test_cutoff_drops_pairs_beyond_it(small):
    net, pts = small
    full = travel_time_sweep(net, pts, scenarios=["plan-2025"], progress=False)
    cut = travel_time_sweep(net, pts, scenarios=["plan-2025"], cutoff_min=8, progress=False)
    pd.testing.assert_frame_equal(cut.reset_index(drop=True), full[full.time_min <= 8].reset_index(drop=True))


def probe_kernels(net, tmp_path: Path, **kw):
    log = tmp_path / "calls.log"
    return {(s, "car"): ProbeKernel(net.compiled(s, "car"), str(log), **kw) for s in SCEN}, log


def test_kernel_is_shipped_once_per_worker(small, client, tmp_path):
    net, pts = small
    kern, log = probe_kernels(net, tmp_path)
    run_sweep(kern, pts, chunk_size=3, client=client, progress=False)
    calls = pd.read_csv(log, sep=" ", names=["pid", "obj", "scenario", "src"])
    assert len(calls) == 2 * -(-len(pts) // 3)
    # every task of a kernel in one worker process used the same object: it was not shipped per task
    assert (calls.groupby(["pid", "scenario"])["obj"].nunique() == 1).all()


def test_worker_killed_mid_sweep_is_retried(small, client, tmp_path):
    net, pts = small
    marker = tmp_path / "kill"
    marker.touch()
    kern, log = probe_kernels(net, tmp_path, marker=str(marker), kill_src=int(net._node_index[pts.node.iloc[10]]))
    out = run_sweep(kern, pts, out=tmp_path / "out", chunk_size=5, client=client, progress=False)
    assert not marker.exists()  # a worker did die mid-sweep
    ref = run_sweep({k: v.cg for k, v in kern.items()}, pts, chunk_size=5, progress=False)
    pd.testing.assert_frame_equal(read_sweep(out), ref)
    calls = pd.read_csv(log, sep=" ", names=["pid", "obj", "scenario", "src"])
    assert calls.pid.nunique() >= 2  # the killed worker's first attempt, then the survivors


def test_a_sweep_that_keeps_losing_workers_fails_loudly_and_resumes(small, client, tmp_path):
    net, pts = small
    client.run_on_scheduler(lambda dask_scheduler: setattr(dask_scheduler, "allowed_failures", 0))
    try:
        marker = tmp_path / "kill"
        marker.touch()
        kern, _ = probe_kernels(net, tmp_path, marker=str(marker), kill_src=int(net._node_index[pts.node.iloc[10]]), once=False)
        out = tmp_path / "out"
        with pytest.raises(SweepError, match="not complete.*rerun the same call to resume"):
            run_sweep(kern, pts, out=out, chunk_size=5, client=client, progress=False)
    finally:
        client.run_on_scheduler(lambda dask_scheduler: setattr(dask_scheduler, "allowed_failures", 3))
    assert not (out / "_SUCCESS").exists() and not (out / "_manifest.json").exists()
    with pytest.raises(tx.QueryError, match="no completed sweep"):
        read_sweep(out)
    marker.unlink()
    run_sweep(kern, pts, out=out, chunk_size=5, client=client, progress=False)  # same inputs: resumes
    m = json.loads((out / "_manifest.json").read_text())
    assert m["resumed_parts"] >= 0 and (out / "_SUCCESS").exists()
    ref = run_sweep({k: v.cg for k, v in kern.items()}, pts, chunk_size=5, progress=False)
    pd.testing.assert_frame_equal(read_sweep(out), ref)


def test_serial_failure_leaves_no_mark_and_rerun_resumes(small, tmp_path):
    net, pts = small

    class Boom(Exception):
        pass

    calls = []
    cg = net.compiled("plan-2025", "car")

    class Failing:
        sources, targets = cg.sources, cg.targets
        fail = True

        def times_from(self, src_idx, limit_s=np.inf):
            calls.append(int(src_idx[0]))
            if self.fail and len(calls) == 3:
                raise Boom("disk full")
            return cg.times_from(src_idx, limit_s)

        def __reduce__(self):  # a stable fingerprint across the two runs
            return (str, ("failing-kernel",))

    k = Failing()
    out = tmp_path / "out"
    with pytest.raises(Boom):
        run_sweep({("plan-2025", "car"): k}, pts, out=out, chunk_size=6, progress=False)
    assert not (out / "_SUCCESS").exists() and len(list(out.glob("part-*.parquet"))) == 2
    k.fail = False
    n_before = len(calls)
    run_sweep({("plan-2025", "car"): k}, pts, out=out, chunk_size=6, progress=False)
    n_chunks = -(-len(pts) // 6)
    assert len(calls) - n_before == n_chunks - 2  # the two finished partitions were kept
    assert json.loads((out / "_manifest.json").read_text())["resumed_parts"] == 2
    pd.testing.assert_frame_equal(read_sweep(out), run_sweep({("plan-2025", "car"): cg}, pts, chunk_size=6, progress=False))
    # another sweep into the same folder is refused, unless asked to overwrite
    with pytest.raises(tx.QueryError, match="holds another sweep"):
        run_sweep({("plan-2025", "car"): cg}, pts.iloc[:5], out=out, progress=False)
    run_sweep({("plan-2025", "car"): cg}, pts.iloc[:5], out=out, progress=False, overwrite=True)
    assert read_sweep(out).origin.nunique() <= 5


def test_sweep_rejects_bad_input(small, tmp_path):
    net, pts = small
    cg = net.compiled("plan-2025", "car")
    with pytest.raises(tx.QueryError, match="reduce must be"):
        run_sweep({("s", "car"): cg}, pts, reduce="mean")
    with pytest.raises(tx.QueryError, match="'node' column"):
        run_sweep({("s", "car"): cg}, pts.drop(columns="node"))
    with pytest.raises(tx.QueryError, match="not nodes of the kernel"):
        run_sweep({("s", "car"): cg}, pts.assign(node="nowhere"))
    with pytest.raises(tx.QueryError, match="unknown place"):
        travel_time_sweep(net, ["atlantis"])
    (tmp_path / "x.txt").write_text("mine")
    with pytest.raises(tx.QueryError, match="not empty"):
        run_sweep({("s", "car"): cg}, pts, out=tmp_path)
    assert (tmp_path / "x.txt").read_text() == "mine"
