"""The public API lives in tx_transport/__init__.py and mirrors the CLI."""

import importlib

import tx_transport as tx


def test_public_api():
    for name in ("load_network", "Network", "Route", "check", "check_all", "compare", "report", "travel_time_tables",
                 "NetworkDataError", "QueryError", "UnreachableError", "TxTransportError", "CompiledGraph", "__version__"):
        assert hasattr(tx, name), name
    assert set(tx.__all__) <= set(dir(tx))
    # the function exports do not shadow the modules
    assert importlib.import_module("tx_transport.reporting").report is tx.report
    assert importlib.import_module("tx_transport.comparison").compare is tx.compare


def test_errors_share_one_base():
    for exc in (tx.NetworkDataError, tx.QueryError, tx.UnreachableError):
        assert issubclass(exc, tx.TxTransportError) and issubclass(exc, ValueError)
