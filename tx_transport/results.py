"""The result of :func:`tx_transport.report`: a small object that reads well in a notebook."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

_KEYS = ("goals", "headline", "comparisons", "files", "seconds")


class Report(Mapping[str, Any]):
    """What :func:`tx_transport.report` wrote and computed.

    Attributes (also readable as ``r["goals"]`` etc., as the dict it replaces)
    -------------------------------------------------------------------------
    goals : pandas.DataFrame
        Every goal item of every scenario (:func:`tx_transport.check` rows).
    headline : pandas.DataFrame
        One line per goal family for the main scenario (the README table).
    comparisons : list of Comparison
    files : list of str
        Paths written, relative to ``out``.
    seconds : float
        Run time.
    out : pathlib.Path
        The report folder.
    scenario : str
        The main scenario of the headline.

    In Jupyter the object shows the headline table (``_repr_html_``); ``repr`` is one line.
    """

    def __init__(self, *, goals: pd.DataFrame, headline: pd.DataFrame, comparisons: list[Any], files: list[str], seconds: float,
                 out: str | Path, scenario: str) -> None:
        self.goals = goals
        self.headline = headline
        self.comparisons = comparisons
        self.files = files
        self.seconds = float(seconds)
        self.out = Path(out)
        self.scenario = scenario

    # dict-style access, as before
    def __getitem__(self, key: str) -> Any:
        if key not in _KEYS:
            raise KeyError(key)
        return getattr(self, key)

    def __iter__(self) -> Iterator[str]:
        return iter(_KEYS)

    def __len__(self) -> int:
        return len(_KEYS)

    def _met(self) -> tuple[int, int]:
        g = self.goals[(self.goals["scenario"] == self.scenario) & self.goals["expected"].astype(bool)]
        return int(g["pass"].sum()), len(g)

    def __repr__(self) -> str:
        met, n = self._met()
        return (f"<Report {str(self.out)!r}: {self.goals['scenario'].nunique()} scenarios, {met} of {n} goal items met in "
                f"{self.scenario}, {len(self.files)} files, {self.seconds:.0f} s>")

    def _repr_html_(self) -> str:
        met, n = self._met()
        head = (f"<p><b>Report</b> in <code>{self.out}</code>: {met} of {n} goal items met in <b>{self.scenario}</b> "
                f"({self.goals['scenario'].nunique()} scenarios, {len(self.files)} files; open <code>report.html</code> or "
                f"<code>figures/map.html</code>)</p>")
        return head + self.headline.to_html(index=False, border=0, na_rep="—")


__all__ = ["Report"]
