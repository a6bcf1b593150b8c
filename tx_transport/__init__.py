"""tx-transport: regional transport network analysis for Tongxiang inside the Yangtze River Delta.

Quick start::

    import tx_transport as tx
    net = tx.load_network()                      # the embedded, sourced default network
    net.route("tongxiang-station", "shanghai-hongqiao", scenario="plan-2025", profile="rail")
    net.travel_times(["tongxiang"], ["shanghai", "hangzhou"], scenario="plan-2025", profile="door-to-door")
    net.isochrones("tongxiang", [15, 30, 45, 60], scenario="plan-2025", profile="car")
    tx.check(net, "plan-2025")                    # every goal of networks/goals.yaml
    tx.compare(net, "baseline-2020", "plan-2025") # goal changes, OD changes, per-project attribution
    tx.report(net, "report/")                     # the report the CLI's `report` writes
    cells = tx.grid_origins(net.boundaries[net.boundaries.name_en == "Tongxiang"], 500)  # 500 m grid
    grid = tx.join_points(net, cells, max_join_m=7000)  # the embedded road layer is a main-road skeleton
    tx.travel_time_sweep(net, grid, out="sweep/", n_workers=2)   # chunked, resumable, to Parquet

The Python API mirrors the CLI: ``check``, ``compare`` and ``report`` return DataFrames (or a
:class:`Comparison` of DataFrames) for notebooks.
"""

from ._version import __version__
from .comparison import Comparison, compare
from .errors import NetworkDataError, QueryError, TxTransportError, UnreachableError
from .goals import check, check_all, mileage_table
from .kernel import CompiledGraph
from .network import Network, Route, load_network
from .parallel import travel_time_tables
from .reporting import report
from .sweep import read_sweep, run_sweep, travel_time_sweep
from .zones import grid_origins, join_points

__all__ = [
    "CompiledGraph",
    "Comparison",
    "Network",
    "NetworkDataError",
    "QueryError",
    "Route",
    "TxTransportError",
    "UnreachableError",
    "__version__",
    "check",
    "check_all",
    "compare",
    "grid_origins",
    "join_points",
    "load_network",
    "mileage_table",
    "read_sweep",
    "report",
    "run_sweep",
    "travel_time_sweep",
    "travel_time_tables",
]
