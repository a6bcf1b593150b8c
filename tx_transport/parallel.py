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

from .kernel import CompiledGraph

if TYPE_CHECKING:
    from .network import Network

_WORKER: dict[str, Any] = {}


def _init(graphs: dict[tuple[str, str], CompiledGraph], src: dict[tuple[str, str], np.ndarray],
          dst: dict[tuple[str, str], np.ndarray]) -> None:
    _WORKER.update(graphs=graphs, src=src, dst=dst)


def table_minutes(cg: CompiledGraph, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Minutes from matrix indices ``src`` to ``dst`` on ``cg`` (NaN where unreachable)."""
    d = cg.dijkstra(src)[:, dst] / 60.0
    d[~np.isfinite(d)] = np.nan
    return d


def _task(key: tuple[str, str]) -> np.ndarray:
    return table_minutes(_WORKER["graphs"][key], _WORKER["src"][key], _WORKER["dst"][key])


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
    graphs = {k: net.compiled(*k) for k in keys}
    src = {k: net._idx(graphs[k], [f"place:{x}" for x in o]) for k in keys}
    dst = {k: net._idx(graphs[k], [f"place:{x}" for x in d]) for k in keys}
    if client is not None:
        futures = {k: client.submit(table_minutes, client.scatter(graphs[k]), src[k], dst[k], pure=False) for k in keys}
        arrays = {k: f.result() for k, f in futures.items()}
    elif processes and processes > 1 and len(keys) > 1:
        with ProcessPoolExecutor(processes, initializer=_init, initargs=(graphs, src, dst)) as ex:
            arrays = dict(zip(keys, ex.map(_task, keys)))
    else:
        arrays = {k: table_minutes(graphs[k], src[k], dst[k]) for k in keys}
    out = {}
    for k, a in arrays.items():
        df = pd.DataFrame(a, index=pd.Index(o, name="origin"), columns=pd.Index(d, name="destination"))
        out[k] = df
    return out


__all__ = ["table_minutes", "travel_time_tables"]
