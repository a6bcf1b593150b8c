"""tx-transport: regional transport network analysis for Tongxiang inside the Yangtze River Delta.

Quick start::

    import tx_transport as tx
    net = tx.load_network()                      # the embedded, sourced default network
    net.route("tongxiang-station", "shanghai-hongqiao", scenario="plan-2025", profile="rail")
    net.travel_times(["tongxiang"], ["shanghai", "hangzhou"], scenario="plan-2025", profile="door-to-door")
    net.isochrones("tongxiang", [15, 30, 45, 60], scenario="plan-2025", profile="car")
    tx.check(net, "plan-2025")                    # every goal of networks/goals.yaml
"""

from .errors import NetworkDataError, QueryError, TxTransportError, UnreachableError
from .kernel import CompiledGraph
from .network import Network, Route, load_network

__version__ = "0.1.0"

__all__ = [
    "CompiledGraph",
    "Network",
    "NetworkDataError",
    "QueryError",
    "Route",
    "TxTransportError",
    "UnreachableError",
    "__version__",
    "load_network",
]
