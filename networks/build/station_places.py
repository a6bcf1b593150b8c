"""Merge the stations of the timetable feed into the places of the bundle.

``build_gtfs.py`` writes ``networks/build/stations_cr2016.csv``: one row per stop of the
``cr-2016`` GTFS feed, with the place id, names, WGS84 coordinate and provenance. This module is
the hook that ``build_bundle.build_places`` calls on ``places_src.csv`` before it writes
``places.csv``:

- a curated station of ``places_src.csv`` that is a feed stop keeps its id, names and row
  order; its coordinate, ``coord_source`` and ``coord_status`` become the timetable's, and it is
  no longer snapped (``locate`` is cleared);
- a feed stop that is not curated is appended (sorted by id) as a new place of kind ``station``;
- every other row is left as it is.

Without the stations file (the timetable has not been built) the rows pass through unchanged.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
STATIONS_FILE = HERE / "stations_cr2016.csv"
PLACE_COLUMNS = ["id", "name_en", "name_zh", "kind", "lat", "lon", "population", "population_source",
                 "coord_source", "coord_status"]


class StationMergeError(RuntimeError):
    """The stations file and places_src.csv disagree; the message says how to fix it."""


def merge_station_places(src: pd.DataFrame, stations_file: Path = STATIONS_FILE) -> pd.DataFrame:
    """Return ``src`` (rows of places_src.csv, all columns as str) with the feed stations merged in.

    Parameters
    ----------
    src
        places_src.csv as read with ``dtype=str, keep_default_na=False`` (with its ``locate`` column).
    stations_file
        The stations table written by ``build_gtfs.py``.

    Returns
    -------
    pandas.DataFrame
        Same columns as ``src``; curated rows first in their order, new stations after them.

    Raises
    ------
    StationMergeError
        When the stations file no longer fits places_src.csv (a curated id it names is gone, or
        a new station's id or Chinese name is now taken by a curated row): rerun build_gtfs.py.
    """
    if not stations_file.exists():
        return src
    st = pd.read_csv(stations_file, dtype=str, keep_default_na=False)
    out = src.copy()
    ids = dict(zip(out["id"], out.index))
    fix = f"rerun `python networks/build/build_gtfs.py --shared PATH` so that {stations_file.name} matches places_src.csv"
    new_rows = []
    for _, s in st.iterrows():
        if s["match"] in ("curated", "alias"):
            if s["id"] not in ids:
                raise StationMergeError(f"{stations_file.name}: station {s['id']!r} is no longer in places_src.csv; {fix}")
            i = ids[s["id"]]
            for col in ("lat", "lon", "coord_source", "coord_status"):
                out.loc[i, col] = s[col]
            if "locate" in out.columns:
                out.loc[i, "locate"] = ""
        else:
            if s["id"] in ids:
                raise StationMergeError(f"{stations_file.name}: new station id {s['id']!r} is already used in places_src.csv; {fix}")
            names = out["name_zh"].str.replace(r"[（(][^（()）]*站[)）]$", "", regex=True).str.removesuffix("站")
            clash = out[(out["kind"] == "station") & (names == s["timetable_name"])]
            if len(clash):
                raise StationMergeError(f"{stations_file.name}: station {s['timetable_name']} is now curated as "
                                        f"{clash['id'].iloc[0]!r} in places_src.csv; {fix}")
            new_rows.append({c: s.get(c, "") for c in out.columns})
    if new_rows:
        add = pd.DataFrame(new_rows, columns=out.columns).sort_values("id")
        out = pd.concat([out, add], ignore_index=True)
    return out
