"""Exceptions raised by tx-transport.

Every error the library raises on bad input is a :class:`TxTransportError`, whose message names
what is wrong and how to fix it, so that a notebook or the CLI can show it in one line.
"""

from __future__ import annotations

from typing import Any

#: Longest user value echoed in an error message (characters); longer values are cut.
ECHO_MAX = 80


def cut(value: Any, limit: int = ECHO_MAX) -> str:
    """``str(value)`` shortened to ``limit`` characters for an error message.

    A long value (a pasted file, a 50 MB argument) is never echoed whole: the start is kept and
    the total length is said, e.g. ``'aaaa… (52428800 characters)'``. Newlines become spaces so
    that a message stays on one line.
    """
    s = value if isinstance(value, str) else str(value)
    if len(s) > limit:
        s = f"{s[:limit]}… ({len(s)} characters)"
    return s.replace("\r", " ").replace("\n", " ")


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
        self.record = cut(record, 300)
        self.problem = cut(problem, 600)
        self.fix = cut(fix, 1500)
        super().__init__(f"{self.file}: {self.record}: {self.problem}. Fix: {self.fix}")


class QueryError(TxTransportError, ValueError):
    """A query names something the network does not have (place, scenario, profile) or asks
    for something that cannot be answered (an unreachable target)."""


class UnreachableError(QueryError):
    """No path exists between an origin and a target under the given scenario and profile."""


class OutputError(TxTransportError, OSError):
    """An output file or folder cannot be written, or is in use; the message names the path the
    user gave (never a temporary name). Also an :class:`OSError`, so ``except OSError`` keeps
    working."""
