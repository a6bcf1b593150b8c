"""Travel-time tables for many scenarios and profiles in parallel.

The compiled kernel (:class:`~tx_transport.kernel.CompiledGraph`) is a plain picklable object,
so tables can be computed in worker processes: each worker receives the compiled graphs once
(the initializer of a process pool, or ``client.scatter`` on Dask) and then only a
``(scenario, profile)`` key per task. scipy's Dijkstra holds the GIL, so threads do not help;
processes do.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .doortodoor import DoorToDoorKernel
from .kernel import CompiledGraph
from .transit.raptor import CompiledTimetable

if TYPE_CHECKING:
    from .network import Network

_WORKER: dict[str, Any] = {}


def _init(graphs: dict[tuple[str, str], Any], src: dict[tuple[str, str], np.ndarray],
          dst: dict[tuple[str, str], np.ndarray], opts: dict[tuple[str, str], tuple[Any, ...]] | None = None) -> None:
    _WORKER.update(graphs=graphs, src=src, dst=dst, opts=opts or {})


def table_minutes(cg: CompiledGraph, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Minutes from matrix indices ``src`` to ``dst`` on ``cg`` (NaN where unreachable)."""
    d = cg.dijkstra(src)[:, dst] / 60.0
    d[~np.isfinite(d)] = np.nan
    return d


def kernel_minutes(kernel: Any, src: np.ndarray, dst: np.ndarray, statistic: str = "median", max_rounds: int = 5) -> np.ndarray:
    """Minutes from ``src`` to ``dst`` on any compiled kernel: a road graph, the door-to-door
    kernel (window ``statistic``) or a compiled timetable (fastest journey of the day; ``src``
    and ``dst`` are then stop indices, ``-1`` for a place that is not a stop)."""
    if isinstance(kernel, CompiledGraph):
        return table_minutes(kernel, src, dst)
    if isinstance(kernel, DoorToDoorKernel):
        d = kernel.times(src, dst, statistic=statistic) / 60.0
    else:  # CompiledTimetable
        ok = src >= 0
        d = np.full((len(src), len(dst)), np.inf)
        if ok.any():
            F = kernel.fastest_journeys(src[ok], max_rounds=max_rounds)
            d[ok] = np.where(dst[None, :] >= 0, F[:, np.maximum(dst, 0)], np.inf) / 60.0
    d[~np.isfinite(d)] = np.nan
    return d


def _task(key: tuple[str, str]) -> np.ndarray:
    return kernel_minutes(_WORKER["graphs"][key], _WORKER["src"][key], _WORKER["dst"][key], *_WORKER.get("opts", {}).get(key, ()))


def travel_time_tables(net: Network, scenarios: Iterable[str] | None = None, profiles: Sequence[str] = ("car",),
                       origins: Sequence[str] | None = None, destinations: Sequence[str] | None = None, *,
                       processes: int | None = 2, client: Any = None) -> dict[tuple[str, str], pd.DataFrame]:
    """Place × place travel-time tables (minutes) for every scenario × profile.

    Parameters
    ----------
    net : Network
    scenarios : scenario names, default all.
    profiles : profile names, default ``("car",)``.
    origins, destinations : place ids, default every place.
    processes : int or None, default 2
        Worker processes (``None`` or ``1``: in this process).
    client : dask.distributed.Client, optional
        Run the tables on Dask workers instead (the compiled graphs are scattered once).

    Returns
    -------
    dict
        ``(scenario, profile) -> DataFrame`` (origins × destinations, NaN = unreachable), the
        same as :meth:`Network.travel_times` for each pair.
    """
    scen = list(scenarios) if scenarios is not None else list(net.scenarios)
    o = list(origins) if origins is not None else list(net.places.index)
    d = list(destinations) if destinations is not None else list(net.places.index)
    keys = [(s, p) for s in scen for p in profiles]
    graphs: dict[tuple[str, str], Any] = {}
    src: dict[tuple[str, str], np.ndarray] = {}
    dst: dict[tuple[str, str], np.ndarray] = {}
    opts: dict[tuple[str, str], tuple[Any, ...]] = {}
    for k in keys:
        prof = net._b.profiles[k[1]]
        if prof.get("router") == "timetable" and prof.get("measure") == "window":
            g = net.door_to_door(k[0], profile=k[1])
            graphs[k] = g
            src[k] = net._idx(g.car, [f"place:{x}" for x in o])
            dst[k] = net._idx(g.car, [f"place:{x}" for x in d])
            opts[k] = (prof.get("statistic", "median"),)
        elif prof.get("router") == "timetable":
            ct = net.compiled_timetable(k[0])
            graphs[k] = ct
            src[k] = np.array([ct.stop_index(x) if ct.has_stop(x) else -1 for x in o], dtype=np.int64)
            dst[k] = np.array([ct.stop_index(x) if ct.has_stop(x) else -1 for x in d], dtype=np.int64)
            opts[k] = ("median", net._b.transit.max_transfers + 1)
        else:
            graphs[k] = net.compiled(*k)
            src[k] = net._idx(graphs[k], [f"place:{x}" for x in o])
            dst[k] = net._idx(graphs[k], [f"place:{x}" for x in d])
    if client is not None:
        futures = {k: client.submit(kernel_minutes, client.scatter(graphs[k]), src[k], dst[k], *opts.get(k, ()), pure=False)
                   for k in keys}
        arrays = {k: f.result() for k, f in futures.items()}
    elif processes and processes > 1 and len(keys) > 1:
        with ProcessPoolExecutor(processes, initializer=_init, initargs=(graphs, src, dst, opts)) as ex:
            arrays = dict(zip(keys, ex.map(_task, keys)))
    else:
        arrays = {k: kernel_minutes(graphs[k], src[k], dst[k], *opts.get(k, ())) for k in keys}
    for k in keys:  # a place is 0 min from itself, station or not (as Network.travel_times says)
        if isinstance(graphs[k], CompiledTimetable):
            for i, x in enumerate(o):
                for j, y in enumerate(d):
                    if x == y:
                        arrays[k][i, j] = 0.0
    out = {}
    for k, a in arrays.items():
        df = pd.DataFrame(a, index=pd.Index(o, name="origin"), columns=pd.Index(d, name="destination"))
        out[k] = df
    return out


__all__ = ["kernel_minutes", "table_minutes", "travel_time_tables"]
