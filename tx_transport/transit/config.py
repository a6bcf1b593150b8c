"""The timetable settings of a bundle as the transit layer reads them: :class:`TransitConfig`
(``transit.yaml``: feeds, change times, transfers, departure window, station links) and
:func:`station_id`, which resolves a station reference (a place id or the Chinese timetable name
of a station, ``桐乡``, ``杭州东``) to a place id.

The files are validated by their schemas in :mod:`tx_transport.bundle.transit` (``transit.yaml``,
``services.yaml`` and a scenario's timetable keys); the rest of the code sees place ids only.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import NetworkDataError


@dataclass
class FeedSpec:
    id: str
    path: Path
    service_date: str | None
    source: str
    #: rail.yaml lines opened in or before this year have their trains in the feed: their
    #: add-trip-pattern edits are not applied on it, and a scenario without such a line removes
    #: its trains. Default: the year before the service date.
    lines_included_until: int | None = None


@dataclass
class TransitConfig:
    """The parsed ``transit.yaml`` (defaults when the file is absent)."""

    feeds: list[FeedSpec] = field(default_factory=list)
    default_feed: str | None = None
    repeat_daily: bool = True
    change_min: float = 10.0
    change_min_by_station: dict[str, float] = field(default_factory=dict)
    window_start_s: int = 7 * 3600
    window_end_s: int = 9 * 3600
    window_step_s: int = 60
    max_transfers: int = 4
    stop_join_max_km: float = 3.0
    walk_transfer_max_km: float = 0.4
    walk_speed_kmh: float = 4.5
    transfers: list[dict[str, Any]] = field(default_factory=list)
    station_links: list[dict[str, Any]] = field(default_factory=list)

    def feed(self, fid: str) -> FeedSpec:
        for f in self.feeds:
            if f.id == fid:
                return f
        raise KeyError(fid)


def station_id(ref: Any, places: pd.DataFrame, file: Path, record: str) -> str:
    """A place id for a station reference (place id, or Chinese name with or without 站)."""
    if isinstance(ref, str) and ref in places.index:
        return ref
    if isinstance(ref, str) and ref.strip():
        r = ref.strip()
        zh = places["name_zh"].astype(str)
        # 松江南站(上海松江站) is 松江南: a trailing "(…站)" gives another name of the same station
        base = zh.str.replace(r"[（(][^（()）]*站[)）]$", "", regex=True)
        is_station = (places["kind"] == "station").to_numpy()
        tiers = ((zh, r), (zh, r + "站"), (zh, r.removesuffix("站")), (base, r + "站"), (base, r))
        # stations first (湖州 is the station 湖州站, not the city 湖州), then any place
        for only_stations, (col, cand) in [(True, t) for t in tiers] + [(False, t) for t in tiers]:
            hit = places.index[(col == cand).to_numpy() & (is_station if only_stations else True)]
            if len(hit) == 1:
                return str(hit[0])
            if len(hit) > 1:
                st = [h for h in hit if places.loc[h, "kind"] == "station"]
                if len(st) == 1:
                    return str(st[0])
                raise NetworkDataError(str(file), record, f"station {ref!r} matches several places ({', '.join(hit)})",
                                       "use the place id instead of the name")
    pool = list(places.index) + list(places["name_zh"].astype(str))
    close = difflib.get_close_matches(str(ref), pool, n=3)
    hint = f"did you mean {', '.join(close)}? " if close else ""
    raise NetworkDataError(str(file), record, f"station {ref!r} is not a place id or a station name in places.csv",
                           f"{hint}add the station to places.csv (build/places_src.csv) or correct the reference")


__all__ = ["FeedSpec", "TransitConfig", "station_id"]
