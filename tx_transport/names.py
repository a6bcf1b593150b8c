"""Place names: what a user types (an id, an English or Chinese name, any case) to a place id.

:func:`resolve_place` is used by :class:`~tx_transport.network.Network` for every origin and
destination and by the command line. A query matches, best first:

0. the place id exactly (always wins);
1. the id, ``name_en`` or ``name_zh`` ignoring case, width (full-width ``（``, ``Ａ``) and
   spacing;
2. a name without its qualifier in brackets: ``海宁站(硖石)`` → ``海宁站``,
   ``Haining station (Xiashi)`` → ``Haining station``;
3. a name without the station suffix: ``桐乡站`` → ``桐乡``, ``Hangzhou East station`` →
   ``Hangzhou East`` (so the timetable names 桐乡, 杭州东, 上海虹桥 find the stations).

Other names of a place (``aliases`` in places.csv, ``|``-separated: a station's later name, e.g.
松江南 is ``上海松江`` since 2024) count from level 2.

The best level decides: ``上海`` is the city place ``shanghai`` (level 1) rather than
``上海站`` (level 3). ``prefer_kinds=("station",)`` (what the rail profile asks) first keeps only
matches of those kinds when there are any, so ``上海`` is then ``shanghai-station``. Two places
at the best level are an ambiguity: a :class:`~tx_transport.errors.QueryError` lists them with
their kinds. An unknown name is a ``QueryError`` with up to five close matches (never the list
of every place); long inputs are cut in messages.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd

from .errors import QueryError, cut

#: Queries longer than this are not compared for close matches (no place name is this long).
_FUZZY_MAX_LEN = 100
_PAREN = re.compile(r"\s*[(（][^()（）]*[)）]\s*$")
_SPACE = re.compile(r"\s+")


def normalise(text: str) -> str:
    """Case-, width- and space-insensitive form of a name (NFKC, casefold, single spaces)."""
    return _SPACE.sub(" ", unicodedata.normalize("NFKC", text)).strip().casefold()


def _variants(name: str) -> list[tuple[int, str]]:
    """(level, normalised form) of one name: itself, without the qualifier in brackets, and
    without the station suffix (站 / " station")."""
    n = normalise(name)
    if not n:
        return []
    out = [(1, n)]
    bare = _PAREN.sub("", n).strip()
    if bare and bare != n:
        out.append((2, bare))
    for form in {n, bare}:
        for suffix in ("站", " station"):
            if form.endswith(suffix) and len(form) > len(suffix):
                out.append((3, form[: -len(suffix)].strip()))
    return out


class PlaceIndex:
    """Name lookup over a places table (index: place id; columns ``name_en``, ``name_zh``,
    ``kind``); build it once and call :meth:`resolve` many times."""

    def __init__(self, places: pd.DataFrame) -> None:
        self.places = places
        self.ids = [str(i) for i in places.index]
        self._id_set = set(self.ids)
        self.kind = {str(i): str(k) for i, k in zip(places.index, places.get("kind", pd.Series("", index=places.index)))}
        self._names: dict[str, tuple[str, str]] = {}
        self._keys: dict[str, dict[str, int]] = {}  # normalised form -> {place id: best level}
        aliases = _column(places, "aliases") if "aliases" in places.columns else [""] * len(self.ids)
        for pid, en, zh, al in zip(self.ids, _column(places, "name_en"), _column(places, "name_zh"), aliases):
            self._names[pid] = (en, zh)
            forms = [(1, normalise(pid))] + _variants(en) + _variants(zh)
            # other names of the place (a station's later name, `aliases` in places.csv, "|"-separated) rank
            # with the bracket-less forms
            names = [a.strip() for a in str(al).split("|") if a.strip()]
            if self.kind.get(pid) == "station":  # a station alias is given as the timetable writes it (上海松江)
                names += [a + "站" for a in names if not a.endswith("站") and not a.isascii()]
            forms += [(max(level, 2), form) for a in names for level, form in _variants(a)]
            for level, form in forms:
                slot = self._keys.setdefault(form, {})
                slot[pid] = min(level, slot.get(pid, level))

    def label(self, pid: str) -> str:
        """``id (kind, name_zh, name_en)`` for messages."""
        en, zh = self._names.get(pid, ("", ""))
        return f"{pid} ({', '.join(x for x in (self.kind.get(pid, ''), zh, en) if x)})"

    def resolve(self, query: Any, *, prefer_kinds: Sequence[str] | None = None) -> str:
        """The place id that ``query`` names; see the module docstring for the rules.

        Raises
        ------
        QueryError
            Not a string, empty, unknown (with close matches) or ambiguous (with the candidates).
        """
        if not isinstance(query, str):
            raise QueryError(f"a place must be given as a place id or name (text), got {type(query).__name__} {cut(repr(query), 60)}")
        if query in self._id_set:
            return query
        key = normalise(query)
        if not key:
            raise QueryError("empty place name; give a place id or name (list them with `tx-transport places`)")
        hits = dict(self._keys.get(key, {}))
        if prefer_kinds:
            preferred = {p: lv for p, lv in hits.items() if self.kind.get(p) in set(prefer_kinds)}
            hits = preferred or hits
        if not hits:
            raise QueryError(f"unknown place {cut(query)!r}.{self._suggest(key)} List places with `tx-transport places [TEXT]`")
        best = min(hits.values())
        top = sorted(p for p, lv in hits.items() if lv == best)
        if len(top) == 1:
            return top[0]
        raise QueryError(f"place name {cut(query)!r} is ambiguous: it names {', '.join(self.label(p) for p in top)}; give the place id")

    def close_matches(self, text: str, n: int = 5) -> list[str]:
        """Ids of up to ``n`` places whose id or a name is close to ``text`` (difflib)."""
        key = normalise(text) if isinstance(text, str) else ""
        if not key or len(key) > _FUZZY_MAX_LEN:
            return []
        forms = difflib.get_close_matches(key, list(self._keys), n=2 * n, cutoff=0.6)
        ids: list[str] = []
        for f in forms:
            for pid in sorted(self._keys[f], key=lambda p: self._keys[f][p]):
                if pid not in ids:
                    ids.append(pid)
        return ids[:n]

    def _suggest(self, key: str) -> str:
        ids = self.close_matches(key)
        return f" Did you mean {', '.join(self.label(p) for p in ids)}?" if ids else ""

    def search(self, text: str = "", *, kinds: Iterable[str] | None = None) -> pd.DataFrame:
        """Places whose id or names contain ``text`` (case- and width-insensitive), best first.

        An exact name (any level of :meth:`resolve`) comes first, then names that start with the
        text, then the others; ties by id. ``kinds`` keeps only those kinds.
        """
        key = normalise(text) if isinstance(text, str) else ""
        want = set(kinds) if kinds else None
        rows = []
        for pid in self.ids:
            if want is not None and self.kind.get(pid) not in want:
                continue
            en, zh = self._names[pid]
            forms = [normalise(pid), normalise(en), normalise(zh)]
            if key:
                exact = pid in self._keys.get(key, {})
                if exact:
                    rank = 0
                elif any(f.startswith(key) for f in forms):
                    rank = 1
                elif any(key in f for f in forms):
                    rank = 2
                else:
                    continue
            else:
                rank = 0
            rows.append((rank, pid))
        order = [pid for _, pid in sorted(rows)]
        cols = [c for c in ("kind", "name_zh", "name_en", "lat", "lon") if c in self.places.columns]
        out = self.places.loc[order, cols].copy() if order else self.places.iloc[:0][cols].copy()
        out.index.name = "id"
        return out


def _column(df: pd.DataFrame, name: str) -> list[str]:
    if name not in df.columns:
        return [""] * len(df)
    return ["" if v is None or (isinstance(v, float) and v != v) else str(v) for v in df[name]]


def resolve_place(query: Any, places: pd.DataFrame, *, prefer_kinds: Sequence[str] | None = None) -> str:
    """The place id that ``query`` names (an id, or an English or Chinese name in any case).

    Parameters
    ----------
    query : str
        What the user typed: ``"tongxiang-station"``, ``"桐乡站"``, ``"桐乡"``, ``"Wuzhen"``,
        ``"hangzhou east"``, ``"乌镇"``.
    places : DataFrame
        Indexed by place id, with ``name_en``, ``name_zh`` and ``kind`` (``Network.places``).
    prefer_kinds : sequence of str, optional
        Place kinds to prefer when the name matches places of several kinds, e.g.
        ``("station",)`` so that ``上海`` is Shanghai station rather than the city centre.

    Returns
    -------
    str
        The place id.

    Raises
    ------
    QueryError
        Unknown (with close matches), ambiguous (with the candidates and their kinds), empty or
        not text.
    """
    if isinstance(query, str) and query in places.index:
        return query
    return PlaceIndex(places).resolve(query, prefer_kinds=prefer_kinds)


def search_places(text: str, places: pd.DataFrame, *, kinds: Iterable[str] | None = None) -> pd.DataFrame:
    """Places whose id, English or Chinese name contains ``text`` (any case), best match first.

    Returns the rows of ``places`` (index ``id``; ``kind``, ``name_zh``, ``name_en``, ``lat``,
    ``lon``); every place when ``text`` is empty. ``kinds`` keeps only those place kinds.
    """
    return PlaceIndex(places).search(text, kinds=kinds)


__all__ = ["PlaceIndex", "normalise", "resolve_place", "search_places"]
