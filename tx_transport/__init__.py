"""tx-transport: regional transport network analysis for Tongxiang inside the Yangtze River Delta.

Quick start::

    import tx_transport as tx
    net = tx.load_network()                      # the embedded, sourced default network
    net.route("tongxiang-station", "shanghai-hongqiao", scenario="plan-2025", profile="rail")
    net.travel_times(["tongxiang"], ["shanghai", "hangzhou"], scenario="plan-2025", profile="door-to-door")
    net.isochrones("tongxiang", [15, 30, 45, 60], scenario="plan-2025", profile="car")
    tx.validate("my_networks")                    # every problem of a bundle folder ([] when valid)
    tx.check(net, "plan-2025")                    # every goal of networks/goals.yaml
    tx.compare(net, "baseline-2020", "plan-2025") # goal changes, OD changes, per-project attribution
    tx.report(net, "report/")                     # the report the CLI's `report` writes (a Report object)
    tx.population_reached(net, "tongxiang", [30, 60, 90], profiles=["car"])  # people within T minutes
    net.explore(["baseline-2020", "plan-2025"])   # interactive map (folium), works offline
    tx.search_places("乌镇", net.places)           # places by Chinese or English name, any case
    cells = tx.grid_origins(net.boundaries[net.boundaries.name_en == "Tongxiang"], 500)  # 500 m grid
    grid = tx.join_points(net, cells, max_join_m=7000)  # the embedded road layer is a main-road skeleton
    tx.travel_time_sweep(net, grid, out="sweep/", n_workers=2)   # chunked, resumable, to Parquet
    net.timetable("plan-2025").to_gtfs("plan-2025-gtfs/")          # the scenario's timetable as a GTFS feed
    net.transit_table(["tongxiang"], ["shanghai"], scenario="plan-2025")  # window percentiles, trains a day

The Python API mirrors the CLI: ``check``, ``compare`` and ``report`` return DataFrames (or a
:class:`Comparison` of DataFrames) for notebooks.
"""

from ._startup import quiet_exit_on_signal, started_as_command_line

if started_as_command_line():  # Ctrl-C while the command line imports: one line, no traceback
    quiet_exit_on_signal()

from ._version import __version__
from .accessibility import load_zones, population_reached
from .bundle import BundleErrors, Problem, validate
from .comparison import Comparison, compare
from .doortodoor import DoorToDoorKernel
from .errors import NetworkDataError, QueryError, TxTransportError, UnreachableError
from .goals import check, check_all, mileage_table
from .kernel import CompiledGraph
from .names import resolve_place, search_places
from .network import Network, Route, load_network
from .parallel import travel_time_tables
from .reporting import report
from .results import Report
from .sweep import read_sweep, run_sweep, travel_time_sweep
from .transit import CompiledTimetable, Timetable, read_feed
from .zones import grid_origins, join_points

__all__ = [
    "BundleErrors",
    "CompiledGraph",
    "CompiledTimetable",
    "Comparison",
    "DoorToDoorKernel",
    "Network",
    "NetworkDataError",
    "Problem",
    "QueryError",
    "Report",
    "Route",
    "Timetable",
    "TxTransportError",
    "UnreachableError",
    "__version__",
    "check",
    "check_all",
    "compare",
    "grid_origins",
    "join_points",
    "load_network",
    "load_zones",
    "mileage_table",
    "population_reached",
    "read_feed",
    "read_sweep",
    "report",
    "resolve_place",
    "run_sweep",
    "search_places",
    "travel_time_sweep",
    "travel_time_tables",
    "validate",
]
