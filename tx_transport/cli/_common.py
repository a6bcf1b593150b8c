"""Helpers shared by the subcommands (no import of the subcommand modules: no import circle)."""

from __future__ import annotations

import argparse
import math
import re
import sys
import unicodedata
from typing import TYPE_CHECKING, Any

from ..errors import TxTransportError, cut

if TYPE_CHECKING:
    from ..network import Network

PROG = "tx-transport"
#: Longest error message printed (characters); longer ones are cut.
MESSAGE_MAX = 1000


class UsageError(TxTransportError):
    """A bad command-line argument (reported like every other error: one line, exit 2)."""


def load(args: argparse.Namespace) -> Network:
    """The network the command runs on (``--network`` or the embedded bundle)."""
    from ..network import load_network

    return load_network(getattr(args, "network", None))


def progress_wanted() -> bool:
    """Progress bars only on an interactive terminal (never in pipes, logs or tests)."""
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError, OSError):
        return False


def one_line(message: str) -> str:
    """``message`` on one line, at most :data:`MESSAGE_MAX` characters."""
    return cut(" ".join(str(message).split()), MESSAGE_MAX)


def split_list(text: str) -> list[str]:
    """Comma-separated items (ASCII or full-width commas), stripped, empty items dropped."""
    return [t.strip() for t in re.split(r"[,，]", text) if t.strip()]


def parse_cutoffs(text: str, flag: str = "--cutoffs") -> list[float]:
    """``"15,30,45,60"`` -> sorted, distinct minutes within the isochrone caps."""
    from ..errors import QueryError
    from ..isochrones import validate_cutoffs

    items = split_list(text)
    if not items:
        raise UsageError(f"{flag} is empty; give minutes, comma-separated, e.g. {flag} 15,30,45,60")
    vals = []
    for t in items:
        try:
            vals.append(float(t))
        except ValueError:
            raise UsageError(f"{flag} must be minutes, comma-separated (e.g. 15,30,45,60); {cut(t)!r} is not a number") from None
    try:
        return validate_cutoffs(vals)
    except QueryError as exc:
        raise UsageError(f"{flag}: {exc}") from None


def jsonable(v: Any) -> Any:
    """A JSON value: NaN and infinities become null, NumPy scalars plain numbers, floats 2 decimals."""
    if hasattr(v, "item") and not isinstance(v, (str, bytes)):
        try:
            v = v.item()
        except (ValueError, TypeError):
            pass
    if isinstance(v, float):
        return round(v, 2) if math.isfinite(v) else None
    return v


def width(text: str) -> int:
    """Display width in a terminal (CJK characters take two columns)."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def pad(text: str, n: int) -> str:
    """``text`` padded with spaces to display width ``n``."""
    return text + " " * max(n - width(text), 0)


__all__ = ["PROG", "UsageError", "jsonable", "load", "one_line", "pad", "parse_cutoffs", "progress_wanted", "split_list", "width"]
