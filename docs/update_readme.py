"""Regenerate the headline table in README.md from the library (never typed by hand).

Run from the repository root: ``python docs/update_readme.py``. It replaces the text between
``<!-- headline:start -->`` and ``<!-- headline:end -->`` with the plan-2025 headline that
:func:`tx_transport.reporting.headline` computes; ``tests/test_report.py`` checks that the README
is up to date.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import tx_transport as tx
from tx_transport.goals import check
from tx_transport.reporting import _md_table, atomic_write_text, headline

ROOT = Path(__file__).resolve().parent.parent
START, END = "<!-- headline:start -->", "<!-- headline:end -->"


def headline_markdown(net: tx.Network, scenario: str = "plan-2025") -> str:
    return _md_table(headline(check(net, scenario, paths=False)))


def main() -> int:
    readme = ROOT / "README.md"
    text = readme.read_text(encoding="utf-8")
    if START not in text or END not in text:
        print(f"README.md lacks the {START} / {END} markers", file=sys.stderr)
        return 2
    table = headline_markdown(tx.load_network())
    new = re.sub(re.escape(START) + ".*?" + re.escape(END), lambda m: f"{START}\n{table}\n{END}", text, flags=re.S)
    atomic_write_text(readme, new)
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
