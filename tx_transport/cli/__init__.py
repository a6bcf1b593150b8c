"""Command-line interface: a thin layer over the public API (``tx-transport --help``).

Behaves like a Unix tool:

- every error is one line on stderr, ``tx-transport: error: ...``, with exit status 2 (long
  values are cut); a bug shows one line too (exit 70; ``TX_TRANSPORT_DEBUG=1`` shows the
  traceback);
- Ctrl-C and SIGTERM end with one line and exit 130 / 143, leaving no partial output and no
  temporary file; a closed pipe (``tx-transport check | head -1``) ends quietly with exit 141;
- ``--network`` may come before or after the subcommand; ``python -m tx_transport`` works;
- progress bars appear only on an interactive terminal;
- outputs are checked before the work starts and written all-or-nothing
  (:mod:`tx_transport._files`).

Subcommands live in :mod:`.network_cmds` (scenarios, places, route, isochrones, map),
:mod:`.goal_cmds` (check, compare, report) and :mod:`.bundle_cmds` (validate); they import only
:mod:`._common`. A bundle with several problems lists them one per line (the first
:data:`~tx_transport.bundle.problems.MESSAGE_PROBLEMS`), after one error line.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from collections.abc import Callable

from .._files import cleanup_temporaries
from .._startup import quiet_exit_on_signal
from ..bundle.problems import MESSAGE_PROBLEMS, BundleErrors
from ..errors import TxTransportError
from . import bundle_cmds, goal_cmds, network_cmds
from ._common import PROG, one_line

#: Exit status by outcome.
EXIT_OK, EXIT_NOTHING_FOUND, EXIT_ERROR, EXIT_BUG = 0, 1, 2, 70
EXIT_SIGPIPE = 128 + 13


class Interrupted(KeyboardInterrupt):
    """Raised by the CLI's SIGINT/SIGTERM handler (a ``KeyboardInterrupt``, so that every
    ``finally`` block and context manager cleans up on the way out)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


class _Parser(argparse.ArgumentParser):
    """argparse with one-line usage errors (exit 2) and long values cut."""

    def error(self, message: str) -> None:  # type: ignore[override]
        _say(f"error: {message} (see '{self.prog} --help')")
        raise SystemExit(EXIT_ERROR)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``tx-transport`` (every subcommand has ``--help`` with an example)."""
    p = _Parser(prog=PROG, description="Transport network analysis for Tongxiang in the Yangtze River Delta.",
                epilog="example: tx-transport report --out report/\nexit status: 0 ok, 1 nothing found (places), 2 error, "
                       "130 interrupted, 141 closed pipe, 143 terminated",
                formatter_class=argparse.RawDescriptionHelpFormatter)
    net_help = "bundle folder (default: the embedded network); may also follow the subcommand"
    p.add_argument("--network", default=None, metavar="BUNDLE", help=net_help)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--network", default=argparse.SUPPRESS, metavar="BUNDLE", help=net_help)
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)

    def add(name: str, func: Callable[[argparse.Namespace], int], help_: str, epilog: str) -> argparse.ArgumentParser:
        sp = sub.add_parser(name, help=help_, description=help_, epilog=epilog, parents=[common],
                            formatter_class=argparse.RawDescriptionHelpFormatter)
        sp.set_defaults(func=func)
        return sp

    network_cmds.register(sub, add)
    goal_cmds.register(sub, add)
    bundle_cmds.register(sub, add)
    return p


def _say(message: str) -> None:
    """One line on stderr (never raises: stderr may be closed too)."""
    try:
        print(f"{PROG}: {one_line(message)}", file=sys.stderr)
        sys.stderr.flush()
    except (OSError, ValueError):
        pass


def _say_problems(exc: BundleErrors) -> None:
    """A bundle's problems: one error line, then one line per problem (the first few)."""
    if len(exc.problems) == 1:
        _say(f"error: {exc.problems[0]}")
        return
    more = f"; `{PROG} validate {exc.root}` lists all" if len(exc.problems) > MESSAGE_PROBLEMS else ""
    _say(f"error: {len(exc.problems)} problems in bundle {exc.root}{more}:")
    try:
        for p in exc.problems[:MESSAGE_PROBLEMS]:
            print(f"  {one_line(str(p))}", file=sys.stderr)
    except (OSError, ValueError):
        pass


def _on_signal(signum: int, frame: object) -> None:
    # the first signal interrupts; later ones are ignored so that the clean-up runs to its end
    for s in (signal.SIGINT, signal.SIGTERM):
        signal.signal(s, signal.SIG_IGN)
    raise Interrupted(signum)


def _install_handlers() -> dict[int, object] | None:
    if threading.current_thread() is not threading.main_thread():
        return None
    old = {}
    for s in (signal.SIGINT, signal.SIGTERM):
        old[s] = signal.getsignal(s)
        if old[s] != signal.SIG_IGN:  # a signal the process was started to ignore stays ignored
            signal.signal(s, _on_signal)
    return old


def _restore_handlers(old: dict[int, object] | None) -> None:
    for s, h in (old or {}).items():
        signal.signal(s, h)  # type: ignore[arg-type]


def _quiet_stdout() -> None:
    """After a closed pipe: send what is left in the stdout buffer to /dev/null, so that Python's
    final flush does not print an error."""
    try:
        fd = os.open(os.devnull, os.O_WRONLY)
        os.dup2(fd, sys.stdout.fileno())
        os.close(fd)
    except (OSError, ValueError, AttributeError):
        pass


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status (see the module docstring)."""
    old = _install_handlers()
    try:
        return _run(argv)
    finally:
        if argv is None:  # the real program: a late signal (while Python exits) ends quietly too
            quiet_exit_on_signal()
        else:  # called in-process (tests, notebooks): give the caller its handlers back
            _restore_handlers(old)


def _run(argv: list[str] | None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error (2, already reported)
        return exc.code if isinstance(exc.code, int) else (EXIT_OK if exc.code is None else EXIT_ERROR)
    except KeyboardInterrupt as exc:
        return _interrupted(exc)
    try:
        rc = int(args.func(args))
        sys.stdout.flush()
        return rc
    except BrokenPipeError:
        cleanup_temporaries()
        _quiet_stdout()
        return EXIT_SIGPIPE
    except KeyboardInterrupt as exc:
        return _interrupted(exc)
    except BundleErrors as exc:
        _say_problems(exc)
        return EXIT_ERROR
    except TxTransportError as exc:
        _say(f"error: {exc}")
        return EXIT_ERROR
    except OSError as exc:  # a file-system problem (permissions, disk full, read-only folder)
        _say(f"error: {exc.strerror or exc}" + (f": {exc.filename}" if exc.filename else ""))
        return EXIT_ERROR
    except MemoryError:
        cleanup_temporaries()
        _say("error: out of memory; ask for less (fewer cutoffs, fewer places) or free memory")
        return EXIT_ERROR
    except RecursionError:
        _say("error: the input is nested too deeply")
        return EXIT_ERROR
    except Exception as exc:
        cleanup_temporaries()
        if os.environ.get("TX_TRANSPORT_DEBUG"):
            raise
        _say(f"internal error: {type(exc).__name__}: {exc}. This is a bug in tx-transport: please report it with the "
             "command line (TX_TRANSPORT_DEBUG=1 shows the traceback)")
        return EXIT_BUG


def _interrupted(exc: KeyboardInterrupt) -> int:
    cleanup_temporaries()
    signum = getattr(exc, "signum", signal.SIGINT)
    _say("interrupted" if signum == signal.SIGINT else "terminated")
    return 128 + int(signum)


__all__ = ["build_parser", "main"]
