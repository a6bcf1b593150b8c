"""Exceptions raised by tx-transport.

Every error the library raises on bad input is a :class:`TxTransportError`, whose message names
what is wrong and how to fix it, so that a notebook or the CLI can show it in one line.
"""

from __future__ import annotations


class TxTransportError(Exception):
    """Base class of every error raised by tx-transport on bad input."""


class NetworkDataError(TxTransportError, ValueError):
    """A network bundle file is malformed.

    Parameters
    ----------
    file : str
        The file that holds the problem (path as given to the loader).
    record : str
        The record (row, id or key) that is wrong.
    problem : str
        What is wrong.
    fix : str
        What to change to fix it.
    """

    def __init__(self, file: str, record: str, problem: str, fix: str) -> None:
        self.file = str(file)
        self.record = str(record)
        self.problem = problem
        self.fix = fix
        super().__init__(f"{self.file}: {self.record}: {problem}. Fix: {fix}")


class QueryError(TxTransportError, ValueError):
    """A query names something the network does not have (place, scenario, profile) or asks
    for something that cannot be answered (an unreachable target)."""


class UnreachableError(QueryError):
    """No path exists between an origin and a target under the given scenario and profile."""
