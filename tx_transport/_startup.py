"""Quiet Ctrl-C / SIGTERM for the command line outside :func:`tx_transport.cli.main`.

While the package is imported by ``tx-transport`` or ``python -m tx_transport`` (about a second,
before the command-line handlers exist) and after the command has finished, a signal ends the
process with one line and exit status 130 (SIGINT) or 143 (SIGTERM) instead of a
``KeyboardInterrupt`` traceback. Nothing is being written at those moments, so there is nothing
to clean up. Library use (``import tx_transport`` in a notebook) never installs these handlers.
Standard library only: it runs before the heavy imports.
"""

from __future__ import annotations

import os
import signal
import sys
import threading


def _exit_quietly(signum: int, frame: object) -> None:
    try:
        sys.stderr.write("tx-transport: interrupted\n" if signum == signal.SIGINT else "tx-transport: terminated\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass
    try:
        sys.stdout.flush()
    except (OSError, ValueError):
        pass
    os._exit(128 + signum)


def quiet_exit_on_signal() -> None:
    """Make SIGINT/SIGTERM end the process with one line and 128 + signal number (a signal the
    process was started to ignore, e.g. SIGINT of a background job, stays ignored)."""
    if threading.current_thread() is threading.main_thread():
        for s in (signal.SIGINT, signal.SIGTERM):
            if signal.getsignal(s) != signal.SIG_IGN:
                signal.signal(s, _exit_quietly)


def started_as_command_line(argv: list[str] | None = None) -> bool:
    """True while ``tx-transport`` or ``python -m tx_transport`` imports the package."""
    argv = sys.argv if argv is None else argv
    first = argv[0] if argv else ""
    return first == "-m" or os.path.basename(first) in ("tx-transport", "tx-transport.exe", "tx-transport-script.py")
