"""Problems found in a bundle, and the one error that lists them all.

The loader never stops at the first problem: every check adds a :class:`Problem` (file, record,
field, what is wrong, how to fix it) to a :class:`Problems` collector, and
:func:`~tx_transport.bundle.read_bundle` raises one :class:`BundleErrors` listing all of them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import NetworkDataError, cut

#: Problems written out in the message of :class:`BundleErrors` (the rest are counted).
MESSAGE_PROBLEMS = 20


@dataclass(frozen=True)
class Problem:
    """One problem of a bundle.

    Attributes
    ----------
    file : str
        The file that holds it (path as given to the loader).
    record : str
        The record: a row, an id, or a key path such as ``road.classes.primary``.
    problem : str
        What is wrong (names the field, e.g. ``'lat' is not a number ('30°N')``).
    fix : str
        What to change.
    field : str or None
        The key or column the problem is about, when there is one.
    """

    file: str
    record: str
    problem: str
    fix: str
    field: str | None = None

    def __post_init__(self) -> None:
        # never echo a pasted file or a 50 MB value whole
        object.__setattr__(self, "file", str(self.file))
        object.__setattr__(self, "record", cut(self.record, 300))
        object.__setattr__(self, "problem", cut(self.problem, 600))
        object.__setattr__(self, "fix", cut(self.fix, 1500))

    def __str__(self) -> str:
        return f"{self.file}: {self.record}: {self.problem}. Fix: {self.fix}"


@dataclass
class Problems:
    """An ordered collector of problems (the loader's notebook)."""

    items: list[Problem] = field(default_factory=list)

    def add(self, file: str | Path, record: str, problem: str, fix: str, field: str | None = None) -> None:
        self.items.append(Problem(str(file), record, problem, fix, field))

    def extend(self, problems: Iterable[Problem]) -> None:
        self.items.extend(problems)

    def of(self, file: str | Path) -> list[Problem]:
        """The problems of one file."""
        return [p for p in self.items if p.file == str(file)]

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[Problem]:
        return iter(self.items)

    def __bool__(self) -> bool:
        return bool(self.items)


def format_problems(problems: list[Problem], root: str | Path | None = None, limit: int = MESSAGE_PROBLEMS) -> str:
    """One problem: its line. Several: a heading line, the first ``limit`` and "and K more"."""
    if len(problems) == 1:
        return str(problems[0])
    where = f" in bundle {root}" if root is not None else ""
    lines = [f"{len(problems)} problems{where}:"] + [f"  {p}" for p in problems[:limit]]
    if len(problems) > limit:
        lines.append(f"  ... and {len(problems) - limit} more (run `tx-transport validate {root or 'BUNDLE'}` to list them all)")
    return "\n".join(lines)


class BundleErrors(NetworkDataError):
    """Every problem of a bundle, raised at once by :func:`~tx_transport.load_network`.

    A :class:`~tx_transport.errors.NetworkDataError` whose ``file``, ``record``, ``problem`` and
    ``fix`` are those of the first problem; ``problems`` holds them all, and the message lists
    the first :data:`MESSAGE_PROBLEMS` ("file: record: problem. Fix: ...", one per line).
    """

    def __init__(self, problems: Iterable[Problem], root: str | Path | None = None) -> None:
        self.problems = list(problems)
        if not self.problems:
            raise ValueError("BundleErrors needs at least one problem")
        self.root = None if root is None else str(root)
        first = self.problems[0]
        self.file, self.record, self.problem, self.fix = first.file, first.record, first.problem, first.fix
        Exception.__init__(self, format_problems(self.problems, self.root))

    def __reduce__(self) -> tuple[Any, ...]:  # picklable (Dask workers, multiprocessing)
        return (BundleErrors, (self.problems, self.root))


__all__ = ["MESSAGE_PROBLEMS", "BundleErrors", "Problem", "Problems", "format_problems"]
