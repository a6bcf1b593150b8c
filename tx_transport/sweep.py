"""Chunked travel-time sweeps: origins × destinations × scenarios × profiles, serial or on Dask.

A sweep splits the origins into chunks; each task computes one chunk for one
(scenario, profile) kernel and either **writes** its rows to one Parquet partition (long
format) or **reduces** them on the worker (destinations and population reached within
cutoffs, isochrone areas), so that memory stays bounded by one chunk per worker whatever the
number of origins. The same call runs serially (no cluster), on a temporary
``dask.distributed.LocalCluster`` (``n_workers=2``) or on any ``client=`` the user passes.

Example::

    import tx_transport as tx
    from tx_transport.zones import grid_origins, join_points
    from tx_transport.sweep import travel_time_sweep, read_sweep

    net = tx.load_network()
    tong = net.boundaries[net.boundaries.name_en == "Tongxiang"]
    grid = join_points(net, grid_origins(tong, 1000.0), max_join_m=7000)  # 1 km cells, joined to roads
    travel_time_sweep(net, grid, scenarios=["plan-2025"], out="sweep/", n_workers=2)
    table = read_sweep("sweep/")        # origin, destination, scenario, profile, time_min

Times run from the origin's road node to the destination's: the joining distance
(``join_m``, reported by :func:`~tx_transport.zones.join_points`) is not timed; add
``join_m / speed`` where the access leg matters (it is large on the embedded main-road
skeleton, small on a detailed OSM road graph).

The kernel protocol
-------------------
A sweep does not need a :class:`~tx_transport.network.Network`, only *kernels*: plain
picklable objects (shipped once to every worker) with

``sources`` : sequence of node ids
    The ids that ``src_idx`` indexes.
``targets`` : sequence of node ids
    The ids of the columns that :meth:`times_from` returns.
``times_from(src_idx: numpy.ndarray, limit_s: float) -> numpy.ndarray``
    Travel times in **seconds**, shape ``(len(src_idx), len(targets))``, ``inf`` where a target
    is not reached within ``limit_s`` (a target exactly at the limit is reached). Must be
    deterministic: the distributed result is compared with the serial one exactly.

:class:`~tx_transport.kernel.CompiledGraph` (car, freight, rail on the scenario graph)
implements it (``sources`` and ``targets`` are its ``nodes``); a door-to-door kernel (car
access + timetable + car egress) only needs the same three members to be swept. The
``"isochrone_area"`` reduction additionally needs the edge arrays of a ``CompiledGraph``.

Output folder (``out=``)
------------------------
``part-<kernel>-<chunk>.parquet``
    One partition per (kernel, origin chunk), written atomically (temporary file, then rename)
    by the worker that computed it; columns ``origin, destination, scenario, profile,
    time_min`` (float32 minutes; **a pair that is unreachable, or beyond ``cutoff_min``, has no
    row**), or the reduction's columns. Integer ids stay int64; text ids, scenario and profile
    are dictionary-encoded (categoricals in pandas).
``origins.parquet``, ``destinations.parquet``
    The joined points (GeoParquet) with their weights, node and joining distance.
``_sweep.json``
    The sweep's parameters and fingerprint, written first: a rerun with the same inputs
    resumes (partitions present are complete and are kept), other inputs are refused unless
    ``overwrite=True``.
``_manifest.json`` then ``_SUCCESS``
    Written only once every partition is on disk and accounted for. A failed, killed or
    interrupted sweep never has ``_SUCCESS``; :func:`read_sweep` refuses such a folder.

``out`` must be a folder every worker can write (a local folder for a ``LocalCluster``, a
shared file system for a remote cluster).
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import shutil
import time
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from ._files import atomic_write, atomic_write_text
from .errors import QueryError, TxTransportError

if TYPE_CHECKING:
    import geopandas as gpd

    from .network import Network

#: Reductions computed on the workers instead of writing every pair.
REDUCTIONS = ("reach", "isochrone_area")
#: Cells (origins × targets) one chunk aims at when ``chunk_size`` is not given (~32 MB of float64).
CHUNK_CELLS = 4_000_000
TABLE_COLUMNS = ("origin", "destination", "scenario", "profile", "time_min")
_FORMAT = "tx-transport-sweep/1"


class SweepError(TxTransportError, RuntimeError):
    """A sweep did not complete (a task failed, or workers were lost); the output folder is not
    marked complete and a rerun resumes it."""


@runtime_checkable
class Kernel(Protocol):
    """What a sweep needs of a compiled kernel (see the module docstring)."""

    @property
    def sources(self) -> Sequence[Hashable]: ...

    @property
    def targets(self) -> Sequence[Hashable]: ...

    def times_from(self, src_idx: np.ndarray, limit_s: float = np.inf) -> np.ndarray: ...


# --------------------------------------------------------------------------- one task
@dataclass
class _Job:
    """Everything a task needs for one (scenario, profile): shipped once per worker."""

    kernel: Any
    scenario: str
    profile: str
    dst_idx: np.ndarray | None  # columns of times_from; None = every target
    dst_ids: np.ndarray
    dst_weight: np.ndarray
    reduce: str | None
    cutoffs_min: tuple[float, ...]
    limit_s: float
    isochrone: dict[str, float] = field(default_factory=dict)


def _run_chunk(job: _Job, key: int, chunk: int, src_idx: np.ndarray, origin_ids: np.ndarray, origin_weight: np.ndarray,
               out: str | None) -> Any:
    """Compute one chunk; write it (returning ``(file, rows)``) or return the table itself."""
    import pyarrow as pa

    t = np.asarray(job.kernel.times_from(np.asarray(src_idx, dtype=np.int64), job.limit_s), dtype=float)
    if t.shape != (len(src_idx), len(job.kernel.targets)):
        raise SweepError(f"kernel {type(job.kernel).__name__}.times_from returned shape {t.shape}, expected "
                         f"{(len(src_idx), len(job.kernel.targets))} (origins × targets)")
    if job.reduce == "isochrone_area":
        table = _isochrone_rows(job, t, origin_ids, origin_weight)
    else:
        minutes = (t if job.dst_idx is None else t[:, job.dst_idx]) / 60.0
        del t
        if job.reduce == "reach":
            table = _reach_rows(job, minutes, origin_ids, origin_weight)
        else:
            ok = np.isfinite(minutes)
            if job.limit_s < np.inf:
                ok &= minutes <= job.limit_s / 60.0
            oi, di = np.nonzero(ok)
            table = pa.table({
                "origin": _id_column(origin_ids, oi),
                "destination": _id_column(job.dst_ids, di),
                "scenario": pa.DictionaryArray.from_arrays(np.zeros(len(oi), dtype=np.int32), [job.scenario]),
                "profile": pa.DictionaryArray.from_arrays(np.zeros(len(oi), dtype=np.int32), [job.profile]),
                "time_min": pa.array(minutes[oi, di].astype(np.float32)),
            })
    if out is None:
        return table
    import pyarrow.parquet as pq

    path = Path(out) / _part_name(key, chunk)
    # dictionary encoding only where values repeat (ids, names); not on the float minutes: ~2x faster writes
    dict_cols = [c for c in table.column_names if c != "time_min"]
    atomic_write(path, lambda tmp: pq.write_table(table, tmp, compression="zstd", use_dictionary=dict_cols))
    return path.name, table.num_rows


def _id_column(ids: np.ndarray, pos: np.ndarray):
    """``ids[pos]`` as an Arrow column: integers as int64, text dictionary-encoded (each id once per partition)."""
    import pyarrow as pa

    if ids.dtype.kind in "iu":
        return pa.array(ids[pos])
    return pa.DictionaryArray.from_arrays(pa.array(pos.astype(np.int32)), pa.array(ids, type=pa.string()))


def _reach_rows(job: _Job, minutes: np.ndarray, origin_ids: np.ndarray, origin_weight: np.ndarray):
    import pyarrow as pa

    n = len(origin_ids)
    cols: dict[str, list[np.ndarray]] = {"count": [], "weight": [], "cut": []}
    for c in job.cutoffs_min:
        reached = minutes <= c
        cols["count"].append(reached.sum(axis=1))
        cols["weight"].append(reached.astype(float) @ job.dst_weight)
        cols["cut"].append(np.full(n, c))
    k = len(job.cutoffs_min)
    return pa.table({
        "origin": pa.array(np.tile(origin_ids, k)),
        "scenario": pa.DictionaryArray.from_arrays(np.zeros(n * k, dtype=np.int32), [job.scenario]),
        "profile": pa.DictionaryArray.from_arrays(np.zeros(n * k, dtype=np.int32), [job.profile]),
        "cutoff_min": pa.array(np.concatenate(cols["cut"])),
        "origin_weight": pa.array(np.tile(origin_weight, k)),
        "destinations_reached": pa.array(np.concatenate(cols["count"]).astype(np.int64)),
        "weight_reached": pa.array(np.concatenate(cols["weight"])),
    })


def _isochrone_rows(job: _Job, t: np.ndarray, origin_ids: np.ndarray, origin_weight: np.ndarray):
    import pyarrow as pa

    from .isochrones import isochrone_polygons

    rows: dict[str, list[Any]] = {"origin": [], "cutoff_min": [], "origin_weight": [], "area_km2": []}
    for i, o in enumerate(origin_ids):
        gdf = isochrone_polygons(job.kernel, t[i], job.cutoffs_min, **job.isochrone)
        for c, a in zip(gdf.cutoff_min, gdf.area_km2):
            rows["origin"].append(o)
            rows["cutoff_min"].append(float(c))
            rows["origin_weight"].append(float(origin_weight[i]))
            rows["area_km2"].append(float(a))
    n = len(rows["origin"])
    return pa.table({
        "origin": pa.array(np.asarray(rows["origin"])) if n else pa.array(origin_ids[:0]),
        "scenario": pa.DictionaryArray.from_arrays(np.zeros(n, dtype=np.int32), [job.scenario]),
        "profile": pa.DictionaryArray.from_arrays(np.zeros(n, dtype=np.int32), [job.profile]),
        "cutoff_min": pa.array(np.asarray(rows["cutoff_min"], dtype=float)),
        "origin_weight": pa.array(np.asarray(rows["origin_weight"], dtype=float)),
        "area_km2": pa.array(np.asarray(rows["area_km2"], dtype=float)),
    })


def _part_name(key: int, chunk: int) -> str:
    return f"part-{key:03d}-{chunk:06d}.parquet"


# --------------------------------------------------------------------------- the sweep
def run_sweep(kernels: Mapping[tuple[str, str], Any], origins: pd.DataFrame, destinations: pd.DataFrame | str | None = None, *,
              out: str | os.PathLike[str] | None = None, reduce: str | None = None,
              cutoffs_min: Sequence[float] = (15, 30, 45, 60), cutoff_min: float | None = None, weight: str | None = None,
              chunk_size: int | None = None, client: Any = None, n_workers: int | None = None, overwrite: bool = False,
              progress: bool = True, isochrone: Mapping[str, float] | None = None) -> pd.DataFrame | Path:
    """Sweep every origin chunk through every kernel; the engine under :func:`travel_time_sweep`.

    Parameters
    ----------
    kernels : mapping
        ``(scenario, profile) -> kernel`` (see the kernel protocol in the module docstring).
    origins : DataFrame
        One row per origin, index = origin id, a ``node`` column (ids in every kernel's
        ``sources``), optional weight column.
    destinations : DataFrame, ``"nodes"`` or None
        As ``origins`` (``node`` ids in every kernel's ``targets``); ``"nodes"``: every target of
        each kernel (its node id is the destination id); ``None``: the origins.
    out : path, optional
        Output folder (see the module docstring); without it the table is returned in memory
        (small sweeps only).
    reduce : {None, "reach", "isochrone_area"}
        ``None``: the long table; ``"reach"``: per origin and cutoff, ``destinations_reached``
        and ``weight_reached`` (sum of the destinations' weight, e.g. population) within
        ``cutoffs_min``; ``"isochrone_area"``: per origin and cutoff the isochrone ``area_km2``
        (:func:`~tx_transport.isochrones.isochrone_polygons`, options in ``isochrone``).
    cutoffs_min : sequence of float, default (15, 30, 45, 60)
        Cutoffs (minutes) of the reductions.
    cutoff_min : float, optional
        Table mode: search no further and write no pair beyond this many minutes.
    weight : str, optional
        Weight column of origins and destinations (default ``"population"`` where present,
        else 1 per point); an empty (NaN) weight counts 0, e.g. a station without residents.
    chunk_size : int, optional
        Origins per task (default: at most :data:`CHUNK_CELLS` cells and 256 origins per chunk,
        and at least 16 chunks per kernel when there are enough origins).
    client : dask.distributed.Client, optional
        Run on this Dask cluster.
    n_workers : int, optional
        Without ``client``: 2 or more starts a temporary ``LocalCluster`` of that many
        single-threaded worker processes; ``None``/1: serial in this process.
    overwrite : bool, default False
        Replace a different (or completed) sweep in ``out`` instead of refusing.
    progress : bool, default True
        Show a tqdm bar over the tasks.

    Returns
    -------
    pandas.DataFrame or pathlib.Path
        The table (rows ordered by kernel, then origin chunk) without ``out``; ``out`` with it.

    Raises
    ------
    QueryError
        Bad arguments, ids missing from a kernel, or an ``out`` folder holding another sweep.
    SweepError
        A task failed or workers were lost for good; the folder is not marked complete.
    """
    if reduce not in (None, *REDUCTIONS):
        raise QueryError(f"reduce must be None or one of {', '.join(REDUCTIONS)}, got {reduce!r}")
    if not kernels:
        raise QueryError("no kernel to sweep (give at least one scenario and profile)")
    cuts = _cutoffs(cutoffs_min) if reduce else ()
    limit_s = max(cuts) * 60.0 if reduce else (np.inf if cutoff_min is None else _cutoffs([cutoff_min])[0] * 60.0)
    if not isinstance(origins, pd.DataFrame) or "node" not in origins.columns:
        raise QueryError("origins must be a DataFrame with a 'node' column (use tx_transport.zones.join_points)")
    if len(origins) == 0:
        raise QueryError("no origins to sweep")
    if isinstance(destinations, str) and destinations != "nodes":
        raise QueryError(f"destinations must be a DataFrame, 'nodes' or None, got {destinations!r}")
    dest = origins if destinations is None else destinations
    if isinstance(dest, pd.DataFrame) and "node" not in dest.columns:
        raise QueryError("destinations must be a DataFrame with a 'node' column (use tx_transport.zones.join_points)")
    wcol = weight if weight is not None else "population"
    o_w = _weights(origins, wcol, weight is not None, "origins")
    o_ids = _ids(origins.index)
    keys = list(kernels)
    jobs = []
    for s, p in keys:
        k = kernels[(s, p)]
        if not isinstance(k, Kernel):
            raise QueryError(f"kernel for {(s, p)} lacks sources/targets/times_from (see tx_transport.sweep)")
        if reduce == "isochrone_area" and not hasattr(k, "edge_sample"):
            raise QueryError(f"reduce='isochrone_area' needs a CompiledGraph (edge arrays); {(s, p)} is a {type(k).__name__}")
        if isinstance(dest, pd.DataFrame):
            d_idx, d_ids, d_w = _positions(k.targets, dest["node"], "destination", dest.index), _ids(dest.index), \
                _weights(dest, wcol, weight is not None, "destinations")
        else:
            d_idx, d_ids, d_w = None, _ids(pd.Index(k.targets)), np.ones(len(k.targets))
        jobs.append(_Job(k, str(s), str(p), d_idx, d_ids, d_w, reduce, cuts, float(limit_s), dict(isochrone or {})))
    src = [_positions(kernels[key].sources, origins["node"], "origin", origins.index) for key in keys]
    n_o = len(origins)
    if chunk_size is None:  # bounded memory per task, and at least ~16 tasks per kernel to balance the workers
        widest = max(len(kernels[key].targets) for key in keys)
        chunk_size = int(max(1, min(256, CHUNK_CELLS // max(widest, 1), -(-n_o // 16))))
    if int(chunk_size) < 1:
        raise QueryError(f"chunk_size must be a positive number of origins, got {chunk_size!r}")
    chunk_size = int(chunk_size)
    bounds = [(a, min(a + chunk_size, n_o)) for a in range(0, n_o, chunk_size)]
    tasks = [(ki, ci, a, b) for ki in range(len(keys)) for ci, (a, b) in enumerate(bounds)]

    folder = None
    done: set[str] = set()
    if out is not None:
        folder = Path(out)
        fp = _fingerprint(keys, kernels, origins, dest, reduce, cuts, limit_s, wcol, chunk_size, isochrone)
        params = {"format": _FORMAT, "fingerprint": fp, "scenarios_profiles": [list(k) for k in keys],
                  "origins": n_o, "destinations": "nodes" if isinstance(dest, str) else len(dest), "reduce": reduce,
                  "cutoffs_min": list(cuts), "cutoff_min": cutoff_min, "weight": wcol, "chunk_size": chunk_size,
                  "tasks": len(tasks)}
        done = _prepare_folder(folder, params, overwrite)
        _write_points(folder, origins, dest)

    todo = [t for t in tasks if _part_name(t[0], t[1]) not in done]
    results: dict[tuple[int, int], Any] = {}
    t0 = time.perf_counter()
    bar = tqdm(total=len(tasks), initial=len(tasks) - len(todo), desc="sweep", unit="chunk", disable=not progress)
    try:
        own = None
        if client is None and n_workers is not None and int(n_workers) > 1:
            own = _local_client(int(n_workers))
            client = own[1]
        try:
            if client is None:
                for ki, ci, a, b in todo:
                    results[(ki, ci)] = _run_chunk(jobs[ki], ki, ci, src[ki][a:b], o_ids[a:b], o_w[a:b],
                                                   None if folder is None else str(folder))
                    bar.update()
            else:
                results = _run_dask(client, jobs, src, todo, o_ids, o_w, folder, bar)
        finally:
            if own is not None:
                own[1].close()
                own[0].close()
    finally:
        bar.close()
    elapsed = time.perf_counter() - t0
    if folder is None:
        import pyarrow as pa

        tables = [results[(ki, ci)] for ki, ci, _, _ in tasks]
        return pa.concat_tables(tables, promote_options="permissive").to_pandas() if tables else pd.DataFrame()
    _finish(folder, tasks, results, done, elapsed)
    return folder


def _run_dask(client: Any, jobs: list[_Job], src: list[np.ndarray], todo: list[tuple[int, int, int, int]],
              o_ids: np.ndarray, o_w: np.ndarray, folder: Path | None, bar: tqdm) -> dict[tuple[int, int], Any]:
    from distributed import as_completed

    # every kernel goes to every worker once; tasks then carry only their origin chunk
    job_f = [client.scatter(j, broadcast=True, hash=False) for j in jobs]
    _await_replicas(client, job_f)
    futs = {}
    for ki, ci, a, b in todo:
        f = client.submit(_run_chunk, job_f[ki], ki, ci, src[ki][a:b], o_ids[a:b], o_w[a:b],
                          None if folder is None else str(folder), pure=False)
        futs[f] = (ki, ci)
    results: dict[tuple[int, int], Any] = {}
    try:
        for f in as_completed(futs):
            try:
                results[futs[f]] = f.result()
            except TxTransportError:
                raise
            except Exception as exc:  # noqa: BLE001 - KilledWorker, task errors, lost connections
                ki, ci = futs[f]
                where = f" The completed partitions in {folder} are kept; rerun the same call to resume." if folder else ""
                raise SweepError(f"sweep task for {(jobs[ki].scenario, jobs[ki].profile)}, origin chunk {ci} failed "
                                 f"({type(exc).__name__}: {exc}); the sweep is not complete.{where}") from exc
            bar.update()
    finally:
        client.cancel(list(futs))
        client.cancel(job_f)
    return results


def _await_replicas(client: Any, futures: list[Any], timeout_s: float = 30.0) -> None:
    """Wait until the scheduler knows every scattered kernel is on every worker, so that no task
    starts before its worker has registered the copy (it would fetch a second one)."""
    workers = set(client.scheduler_info(n_workers=-1)["workers"]) if _takes_n_workers(client) else \
        set(client.scheduler_info()["workers"])
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        who = client.who_has(futures)
        if all(workers <= set(who.get(f.key, ())) for f in futures):
            return
        time.sleep(0.02)


def _takes_n_workers(client: Any) -> bool:
    import inspect

    try:
        return "n_workers" in inspect.signature(client.scheduler_info).parameters
    except (TypeError, ValueError):
        return False


def _local_client(n: int) -> tuple[Any, Any]:
    try:
        from distributed import Client, LocalCluster
    except ImportError:  # pragma: no cover - dask is an extra
        raise QueryError("n_workers needs dask.distributed: pip install 'tx-transport[dask]'") from None
    cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=":0")
    return cluster, Client(cluster)


# --------------------------------------------------------------------------- inputs
def _cutoffs(values: Iterable[float]) -> tuple[float, ...]:
    try:
        c = tuple(sorted(float(v) for v in values))
    except (TypeError, ValueError):
        raise QueryError(f"cutoffs must be minutes, got {values!r}") from None
    if not c or not all(np.isfinite(v) and v > 0 for v in c):
        raise QueryError(f"cutoffs must be positive, finite minutes, got {values!r}")
    return c


def _ids(index: pd.Index) -> np.ndarray:
    """Ids as one Parquet-friendly array: integers stay integers, anything else becomes text."""
    a = np.asarray(index)
    if a.dtype.kind in "iu":
        return a.astype(np.int64)
    if a.dtype.kind == "O" and len(a) and all(isinstance(x, (int, np.integer)) and not isinstance(x, bool) for x in a):
        return a.astype(np.int64)
    return a.astype(str).astype(object)


def _weights(df: pd.DataFrame, col: str, required: bool, what: str) -> np.ndarray:
    if col not in df.columns:
        if required:
            raise QueryError(f"{what} have no weight column {col!r} (columns: {', '.join(map(str, df.columns))})")
        return np.ones(len(df))
    raw = df[col]
    w = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float)
    bad = (np.isnan(w) & raw.notna().to_numpy()) | np.isinf(w) | (w < 0)
    if bad.any():
        raise QueryError(f"{what} {col!r} must be non-negative numbers (empty means 0); not so for "
                         f"{', '.join(map(str, df.index[bad][:10]))}")
    return np.nan_to_num(w, nan=0.0)


def _positions(ids: Sequence[Hashable], wanted: pd.Series, what: str, names: pd.Index) -> np.ndarray:
    index = {n: i for i, n in enumerate(ids)}
    pos = np.fromiter((index.get(n, -1) for n in wanted), dtype=np.int64, count=len(wanted))
    if (pos < 0).any():
        bad = [f"{names[i]!r} (node {wanted.iloc[i]!r})" for i in np.flatnonzero(pos < 0)[:10]]
        raise QueryError(f"{what}(s) {', '.join(bad)} are not nodes of the kernel; join them to this network with "
                         f"tx_transport.zones.join_points")
    return pos


def _fingerprint(keys, kernels, origins, dest, reduce, cuts, limit_s, wcol, chunk_size, isochrone) -> str:
    h = hashlib.blake2b(digest_size=16)
    for k in keys:
        h.update(repr(k).encode())
        h.update(pickle.dumps(kernels[k], protocol=5))
    for df in (origins, dest):
        if isinstance(df, str):
            h.update(df.encode())
            continue
        cols = [c for c in ("node", wcol) if c in df.columns]
        h.update(pd.util.hash_pandas_object(pd.DataFrame({c: df[c].astype(str) for c in cols}, index=df.index.astype(str)),
                                            index=True).to_numpy().tobytes())
    h.update(repr((reduce, cuts, limit_s, wcol, chunk_size, sorted((isochrone or {}).items()))).encode())
    return h.hexdigest()


# --------------------------------------------------------------------------- the output folder
_OURS = ("_SUCCESS", "_manifest.json", "_sweep.json", "origins.parquet", "destinations.parquet")


def _is_ours(p: Path) -> bool:
    return p.name in _OURS or (p.name.startswith("part-") and p.suffix == ".parquet") or \
        (p.name.startswith(".part-") or p.name.startswith(".origins.") or p.name.startswith(".destinations."))


def _prepare_folder(folder: Path, params: dict[str, Any], overwrite: bool) -> set[str]:
    """Create, resume or (with ``overwrite``) clear ``folder``; return the partitions already done."""
    folder.mkdir(parents=True, exist_ok=True)
    state = folder / "_sweep.json"
    old = None
    if state.exists():
        try:
            old = json.loads(state.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            old = None
    # the completion mark goes first: whatever happens next, the folder is not complete until _finish
    (folder / "_SUCCESS").unlink(missing_ok=True)
    if old is not None and old.get("fingerprint") == params["fingerprint"] and not overwrite:
        return {p.name for p in folder.glob("part-*.parquet")}  # resume: every partition on disk is complete
    if not overwrite:
        if old is not None:
            raise QueryError(f"{folder} holds another sweep (different kernels, points or options); pass overwrite=True "
                             f"to replace it, or use another folder")
        entries = list(folder.iterdir())
        if any(_is_ours(p) for p in entries):
            raise QueryError(f"{folder} holds sweep files of unknown origin; pass overwrite=True or use another folder")
        if entries:
            raise QueryError(f"{folder} is not empty ({entries[0].name}, ...); give an empty or new folder")
    for p in folder.iterdir():
        if _is_ours(p):
            shutil.rmtree(p) if p.is_dir() else p.unlink()
    atomic_write_text(state, json.dumps(params, indent=1))
    return set()


def _write_points(folder: Path, origins: pd.DataFrame, dest: pd.DataFrame | str) -> None:
    for name, df in (("origins", origins), ("destinations", dest)):
        if isinstance(df, str):
            continue
        if (folder / f"{name}.parquet").exists():
            continue
        out = df.copy()
        out.index = pd.Index(_ids(df.index), name=df.index.name or name[:-1])
        if "node" in out.columns:
            out["node"] = out["node"].astype(str)
        for c in out.columns:
            if c != getattr(out, "_geometry_column_name", None) and out[c].dtype == object:
                if any(hasattr(v, "geom_type") for v in out[c].head(1)):
                    continue
                out[c] = out[c].astype(str)
        atomic_write(folder / f"{name}.parquet", lambda tmp, o=out: o.to_parquet(tmp))


def _finish(folder: Path, tasks, results: dict[tuple[int, int], Any], done: set[str], elapsed: float) -> None:
    names = [_part_name(ki, ci) for ki, ci, _, _ in tasks]
    missing = [n for n in names if not (folder / n).is_file()]
    if missing:
        raise SweepError(f"{len(missing)} partition(s) of the sweep in {folder} are missing ({missing[0]}, ...); it is not "
                         f"marked complete; rerun the same call to resume")
    import pyarrow.parquet as pq

    rows = {}
    for (ki, ci), r in results.items():
        rows[_part_name(ki, ci)] = int(r[1])
    for n in names:
        if n not in rows:
            rows[n] = int(pq.ParquetFile(folder / n).metadata.num_rows)
    params = json.loads((folder / "_sweep.json").read_text(encoding="utf-8"))
    manifest = {**params, "parts": [{"file": n, "rows": rows[n]} for n in names], "rows": sum(rows.values()),
                "resumed_parts": len(done & set(names)), "elapsed_s": round(elapsed, 3)}
    atomic_write_text(folder / "_manifest.json", json.dumps(manifest, indent=1))
    atomic_write_text(folder / "_SUCCESS", "")


def read_sweep(out: str | os.PathLike[str], *, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """Read a completed sweep's table (rows ordered by kernel, then origin chunk).

    Raises
    ------
    QueryError
        The folder has no ``_SUCCESS`` (a sweep that failed, was interrupted or is running), or
        a partition listed in its manifest is missing.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = Path(out)
    if not (folder / "_SUCCESS").is_file():
        raise QueryError(f"{folder} holds no completed sweep (no _SUCCESS); rerun the sweep to finish it")
    manifest = json.loads((folder / "_manifest.json").read_text(encoding="utf-8"))
    files = [folder / p["file"] for p in manifest["parts"]]
    lost = [f.name for f in files if not f.is_file()]
    if lost:
        raise QueryError(f"{folder}: partition(s) {', '.join(lost[:5])} listed in _manifest.json are missing; rerun the sweep "
                         f"with overwrite=True")
    tables = [pq.read_table(f, columns=list(columns) if columns else None) for f in files]
    return pa.concat_tables(tables, promote_options="permissive").to_pandas() if tables else pd.DataFrame()


# --------------------------------------------------------------------------- the network front end
def travel_time_sweep(net: Network, origins: gpd.GeoDataFrame | Sequence[str] | None = None,
                      destinations: gpd.GeoDataFrame | Sequence[str] | str | None = None, *,
                      scenarios: Iterable[str] | None = None, profiles: Sequence[str] = ("car",), max_join_m: float = 1000.0,
                      **kw: Any) -> pd.DataFrame | Path:
    """Travel times from many origins to many destinations, for every scenario × profile.

    Parameters
    ----------
    net : Network
    origins : GeoDataFrame, list of place ids, or None
        Points or zones (joined to the road layer with
        :func:`~tx_transport.zones.join_points` unless they already have a ``node`` column),
        place ids, or ``None`` for every place.
    destinations : as ``origins``, ``"nodes"`` (every node of the graph) or None (the origins)
    scenarios : scenario names, default all.
    profiles : profile names, default ``("car",)``.
    max_join_m : float, default 1000
        Join limit for points (m).
    **kw
        :func:`run_sweep` options: ``out``, ``reduce``, ``cutoffs_min``, ``cutoff_min``,
        ``weight``, ``chunk_size``, ``client``, ``n_workers``, ``overwrite``, ``progress``.

    Returns
    -------
    pandas.DataFrame or pathlib.Path
        See :func:`run_sweep`. Table columns: ``origin``, ``destination``, ``scenario``,
        ``profile``, ``time_min`` (a missing pair is unreachable or beyond ``cutoff_min``).
    """
    scen = list(scenarios) if scenarios is not None else list(net.scenarios)
    kernels = {(s, p): net.sweep_kernel(s, p) for s in scen for p in profiles}
    o = _as_points(net, origins, max_join_m)
    d = destinations if destinations is None or isinstance(destinations, str) else _as_points(net, destinations, max_join_m)
    return run_sweep(kernels, o, d, **kw)


def _as_points(net: Network, pts: Any, max_join_m: float) -> pd.DataFrame:
    from .zones import join_points

    if pts is None:
        pts = list(net.places.index)
    if isinstance(pts, pd.DataFrame):
        if "node" in pts.columns:
            return pts
        return join_points(net, pts, max_join_m=max_join_m)
    ids = list(pts)
    places = net.places
    unknown = [p for p in ids if p not in places.index]
    if unknown:
        net.resolve_place(str(unknown[0]))  # raises QueryError: unknown place, with close matches
    out = places.loc[ids].copy()
    out["node"] = [f"place:{p}" for p in ids]
    out["join_m"] = 0.0
    return out


__all__ = ["CHUNK_CELLS", "REDUCTIONS", "Kernel", "SweepError", "read_sweep", "run_sweep", "travel_time_sweep"]
