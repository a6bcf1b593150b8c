"""Direct trains between YRD stations in the 2020 station boards: the 2020 check table.

Run from the repository root::

    python networks/build/board_pairs_2020.py [--shared /work/shared]

Input (read-only, never read by the package at run time):

- ``<shared>/data/timetables/railwayvis_station_boards_2020.csv``: departure/arrival boards of 321
  stations, one row per train call (GitHub ``thaddywu/RailwayVIS`` commit 68e69805, Apache-2.0).
  The boards are one snapshot of the national timetable; they contain Hefei–Anqing trains (opened
  2020-12-22) and Shanghai Hongqiao–Nantong West–Yancheng–Lianyungang trains (Yancheng–Nantong,
  opened 2020-12-30), so the snapshot is of the timetable in force from about 2020-12-30 [I].
- ``<shared>/data/timetables/parse12306_stations_20160310.csv`` and
  ``parse12306_hsr_stop_times_20160310.csv`` / ``parse12306_train_variants_20160310.csv``:
  the national HSR/EMU timetable of 2016-03-10 (GitHub ``metromancn/Parse12306``, MIT), used for the
  station coordinates (province test) and for the 2016 comparison columns.
- ``networks/boundaries.geojson``: the province outlines (310000, 320000, 330000, 340000).

Output: ``docs/observed_rail_2020.csv``, one row per ordered pair (A, B) of YRD stations that both
have a 2020 board and at least one direct G/D/C train from A to B:

``from, to, trains_per_day, fastest_min, median_min, fastest_trains, trains_2016, fastest_min_2016,
from_in_2016, to_in_2016``

- A *direct train* is one train (matched across boards, see below) that is on both boards and calls
  at A before B. Only G, D and C trains are counted (the modelled HSR/EMU layer); conventional trains
  (K, T, Z, ...) are left out.
- ``fastest_min`` / ``median_min``: in-vehicle minutes, departure at A to arrival at B.
- ``fastest_trains``: the public code(s) of the fastest train(s), as shown on A's board (a train
  whose code changes on the way is written ``G1202/G1203``).
- ``trains_2016`` / ``fastest_min_2016``: the same measures in the 2016-03-10 timetable (trains that
  run on that day), for the same station names; empty where a station was not in it.
- ``from_in_2016`` / ``to_in_2016``: whether the station name is in the 2016 timetable.

Matching a train across boards: the boards show one code per call, and a train whose number changes
on the way (G1202 -> G1203) shows different codes at different stations. A train is identified by
(letter, number with its last bit cleared, origin, terminus): the two codes of one through train
differ only in the last bit, and two different trains with such codes run in opposite directions
(swapped origin and terminus). A key that occurs twice on one board is reported and dropped.

Order along the train: the boards give no stop sequence. A train's calls are ordered by time on a
24-hour circle cut at the largest gap between consecutive calls (a train spends far less than a day
inside the YRD), then checked against the board types: its origin (``始``) must come first and its
terminus (``终``) last; a train that fails is reported and dropped.

A companion ``docs/observed_rail_2020.md`` records the provenance, the counts and the station names
that differ between the 2016 and 2020 data.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from shapely.geometry import Point, shape

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(REPO))

from tx_transport._files import atomic_write_text  # noqa: E402

YRD_PROVINCES = {"310000": "Shanghai", "320000": "Jiangsu", "330000": "Zhejiang", "340000": "Anhui"}

# Board stations that are not in the 2016 HSR timetable (so have no coordinate there): their
# province, from general knowledge of Chinese railway geography [M]. The other board stations missing
# from the 2016 list (about 160, e.g. 万州, 信阳, 商丘东, 菏泽) are outside the YRD [M]; the companion
# .md lists them so that the classification can be reviewed.
NEW_BOARD_STATION_PROVINCE = {
    "南通": "320000", "南通西": "320000", "启东": "320000", "海安": "320000", "盐城": "320000",
    "新沂": "320000", "连云港": "320000", "连云港东": "320000",
    "杭州南": "330000", "温州": "330000",
    "宣城": "340000", "淮南": "340000", "淮南南": "340000", "阜阳": "340000", "阜阳西": "340000",
    "黄山": "340000",
}
HSR_LETTERS = ("G", "D", "C")
CODE_RE = re.compile(r"^([GDC])(\d+)$")


def hhmm(s: str) -> float:
    """Minutes after midnight of an ``HH:MM`` string; NaN for '-' or blank."""
    if not isinstance(s, str) or ":" not in s:
        return np.nan
    h, m = s.strip().split(":")[:2]
    return int(h) * 60 + int(m)


def province_of(stations: pd.DataFrame, boundaries: Path) -> dict[str, str | None]:
    """Province adcode of every 2016 station by point-in-polygon (coordinates are GCJ-02 or
    similar, offset by < 1 km, which does not matter for a province test)."""
    fc = json.loads(boundaries.read_text(encoding="utf-8"))
    provs = {f["properties"]["adcode"]: shape(f["geometry"]) for f in fc["features"]
             if f["properties"]["adcode"] in YRD_PROVINCES}
    out: dict[str, str | None] = {}
    for name, lon, lat in zip(stations.station, stations.lon, stations.lat):
        p = Point(float(lon), float(lat))
        out[name] = next((a for a, g in provs.items() if g.contains(p)), None)
    return out


def train_key(code: str, origin: str, terminus: str) -> tuple | None:
    m = CODE_RE.match(code)
    if not m:
        return None
    return (m.group(1), int(m.group(2)) & ~1, origin, terminus)


def unroll(times: list[float]) -> list[float]:
    """Times (min after midnight, any order) -> times on a line, cut at the largest circular gap."""
    order = np.argsort(times)
    t = np.asarray(times, dtype=float)[order]
    gaps = np.diff(np.r_[t, t[0] + 1440])
    start = (int(np.argmax(gaps)) + 1) % len(t)
    base = t[start]
    out = np.empty(len(t))
    for i in order:
        out[i] = (times[i] - base) % 1440 + base
    return list(out)


def board_trains(boards: pd.DataFrame, yrd: set[str], problems: list[str]) -> dict[tuple, list[dict]]:
    """Calls of every G/D/C train at the YRD board stations, in order along the train."""
    b = boards[boards.station.isin(yrd)].copy()
    b = b[b.train.str.match(r"^[GDC]\d+$")]
    b["key"] = [train_key(c, o, d) for c, o, d in zip(b.train, b["from"], b["to"])]
    dup = b.groupby(["station", "key"]).size()
    for (station, key), n in dup[dup > 1].items():
        problems.append(f"key {key} occurs {n} times on the {station} board: dropped there")
    b = b[~b.set_index(["station", "key"]).index.isin(dup[dup > 1].index)]
    trains: dict[tuple, list[dict]] = {}
    for key, g in b.groupby("key", sort=False):
        calls = []
        for r in g.itertuples(index=False):
            arr, dep = hhmm(r.arrival), hhmm(r.departure)
            if np.isnan(arr) and np.isnan(dep):
                problems.append(f"{r.train} at {r.station}: no time: dropped")
                continue
            calls.append({"station": r.station, "type": r.type, "code": r.train,
                          "arr": arr if not np.isnan(arr) else dep,
                          "dep": dep if not np.isnan(dep) else arr})
        if not calls:
            continue
        # order by arrival; a call's departure follows its arrival (dwell may cross midnight)
        t = unroll([c["arr"] for c in calls])
        for c, ta in zip(calls, t):
            c["arr"] = ta
            c["dep"] = ta + (c["dep"] - (ta % 1440)) % 1440
        calls.sort(key=lambda c: c["arr"])
        types = [c["type"] for c in calls]
        bad = ("始" in types and types.index("始") != 0) or ("终" in types and types.index("终") != len(types) - 1)
        if bad:
            problems.append(f"train {key}: origin/terminus out of order {[(c['station'], c['type']) for c in calls]}: dropped")
            continue
        trains[key] = calls
    return trains


def pair_table(trains: dict[tuple, list[dict]]) -> pd.DataFrame:
    rows = []
    for calls in trains.values():
        for i, a in enumerate(calls):
            for bcall in calls[i + 1:]:
                if bcall["station"] == a["station"]:
                    continue
                code = a["code"] if a["code"] == bcall["code"] else f"{a['code']}/{bcall['code']}"
                rows.append((a["station"], bcall["station"], bcall["arr"] - a["dep"], code))
    return pd.DataFrame(rows, columns=["from", "to", "minutes", "code"])


def summarise(pairs: pd.DataFrame, codes: bool = True) -> pd.DataFrame:
    out = []
    for (a, b), g in pairs.groupby(["from", "to"], sort=True):
        fastest = g.minutes.min()
        row = {"from": a, "to": b, "trains_per_day": len(g), "fastest_min": int(fastest),
               "median_min": float(np.median(g.minutes))}
        if codes:
            row["fastest_trains"] = " ".join(sorted(set(g.code[g.minutes == fastest])))
        out.append(row)
    return pd.DataFrame(out)


def pairs_2016(tt: Path, stations: set[str]) -> pd.DataFrame:
    """Direct-train pairs between ``stations`` in the 2016-03-10 timetable (trains running that day)."""
    st = pd.read_csv(tt / "parse12306_hsr_stop_times_20160310.csv", dtype=str)
    var = pd.read_csv(tt / "parse12306_train_variants_20160310.csv", dtype=str)
    run = set(var.train_no[var.runs_20160310.astype(str).str.lower().isin(["true", "1", "yes"])])
    st = st[st.train_no.isin(run)].copy()
    st["seq"] = st.seq.astype(int)
    st = st.sort_values(["train_no", "seq"])
    rows = []
    for _, g in st.groupby("train_no", sort=False):
        # unroll times along the sequence: a time smaller than the previous one is the next day
        t_prev, day, calls = -1.0, 0, []
        for r in g.itertuples(index=False):
            arr, dep = hhmm(r.arrive), hhmm(r.depart)
            arr = dep if np.isnan(arr) else arr
            dep = arr if np.isnan(dep) else dep
            if np.isnan(arr):
                continue
            if arr + day * 1440 < t_prev:
                day += 1
            a = arr + day * 1440
            if dep + day * 1440 < a:
                day += 1
            d = dep + day * 1440
            t_prev = d
            if r.station in stations:
                calls.append((r.station, a, d))
        for i, (sa, _, da) in enumerate(calls):
            for sb, ab, _ in calls[i + 1:]:
                if sb != sa:
                    rows.append((sa, sb, ab - da, ""))
    return pd.DataFrame(rows, columns=["from", "to", "minutes", "code"])


def yrd_board_stations(boards: pd.DataFrame, st16: pd.DataFrame,
                       boundaries: Path = REPO / "networks" / "boundaries.geojson") -> tuple[set[str], list[str]]:
    """The board stations in Shanghai, Jiangsu, Zhejiang or Anhui, and the board stations of unknown province.

    A station of the 2016 timetable is placed by its coordinate (:func:`province_of`); a board station
    that is not in it by ``NEW_BOARD_STATION_PROVINCE`` [M]; any other is taken as outside the YRD and
    returned in the second list for review. ``build_gtfs_2020.py`` uses the same set.
    """
    prov16 = province_of(st16, boundaries)
    names16 = set(st16.station)
    board_names = sorted(boards.station.unique())
    unknown = [n for n in board_names if n not in names16 and n not in NEW_BOARD_STATION_PROVINCE]
    yrd = set()
    for n in board_names:
        p = prov16.get(n) if n in names16 else NEW_BOARD_STATION_PROVINCE.get(n)
        if p in YRD_PROVINCES:
            yrd.add(n)
    return yrd, unknown


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shared", type=Path, default=Path("/work/shared"), help="the shared folder (holds data/timetables)")
    ap.add_argument("--out", type=Path, default=REPO / "docs" / "observed_rail_2020.csv")
    args = ap.parse_args(argv)
    tt = args.shared / "data" / "timetables"
    boards = pd.read_csv(tt / "railwayvis_station_boards_2020.csv", dtype=str, keep_default_na=False)
    st16 = pd.read_csv(tt / "parse12306_stations_20160310.csv", dtype={"lon": float, "lat": float})
    names16 = set(st16.station)
    yrd, unknown = yrd_board_stations(boards, st16)
    problems: list[str] = []
    trains = board_trains(boards, yrd, problems)
    table = summarise(pair_table(trains))
    old = summarise(pairs_2016(tt, yrd & names16), codes=False).rename(
        columns={"trains_per_day": "trains_2016", "fastest_min": "fastest_min_2016"})[
        ["from", "to", "trains_2016", "fastest_min_2016"]]
    table = table.merge(old, on=["from", "to"], how="left")
    table["trains_2016"] = table.trains_2016.astype("Int64")
    table["fastest_min_2016"] = table.fastest_min_2016.astype("Int64")
    table.loc[table["from"].isin(names16) & table["to"].isin(names16) & table.trains_2016.isna(), "trains_2016"] = 0
    table["from_in_2016"] = table["from"].isin(names16)
    table["to_in_2016"] = table["to"].isin(names16)
    atomic_write_text(args.out, table.to_csv(index=False))

    new_names = sorted(n for n in yrd if n not in names16)
    n_train_calls = sum(len(c) for c in trains.values())
    md = [
        "# observed_rail_2020.csv: direct trains between YRD stations in the 2020 boards",
        "",
        "Generated by `python networks/build/board_pairs_2020.py --shared /work/shared`; do not edit by hand.",
        "",
        "Sources: station boards of 2020 (GitHub thaddywu/RailwayVIS, commit 68e69805cce2ae8b818dba102cf8354ead54af43,",
        "`scripts/schedulers/*.csv`, Apache-2.0; snapshot of the timetable in force from about 2020-12-30 [I: it has",
        "Hefei–Anqing trains, opened 2020-12-22, and Hongqiao–Nantong West–Yancheng trains, Yancheng–Nantong opened",
        "2020-12-30]); 2016 columns from the national HSR/EMU timetable of 2016-03-10 (GitHub metromancn/Parse12306, MIT).",
        "Method: see the docstring of the script. G/D/C trains only. Whether every board train runs every day is",
        "not stated in the boards (weekend or peak-day trains may be included) [I].",
        "",
        f"- YRD board stations (Shanghai, Jiangsu, Zhejiang, Anhui): {len(yrd)}: {' '.join(sorted(yrd))}",
        f"- G/D/C trains matched across these boards: {len(trains)} ({n_train_calls} calls)",
        f"- ordered station pairs with at least one direct train: {len(table)}",
        f"- pairs with both stations in the 2016 timetable: {int((table.from_in_2016 & table.to_in_2016).sum())}",
        f"- problems (dropped records): {len(problems)}",
        "",
        "## Station names: 2016 vs 2020",
        "",
        "YRD board stations that are not in the 2016-03-10 HSR/EMU timetable (new HSR stations, or stations",
        "without G/D/C service in 2016 — none of them is a renamed 2016 station; they are new places for the feed):",
        "",
        ", ".join(new_names) if new_names else "(none)",
        "",
        "Renamed stations that matter when comparing later timetables with the 2016 feed (not board stations,",
        "so they do not appear as rows here) are listed in networks/services.yaml (header) [S: see there].",
        "",
        "## Problems",
        "",
    ] + [f"- {p}" for p in problems[:200]] + (["- (none)"] if not problems else [])
    if unknown:
        md += ["", "## Board stations outside the 2016 list taken as outside the YRD [M] (review)", "",
               ", ".join(unknown)]
    atomic_write_text(args.out.with_suffix(".md"), "\n".join(md) + "\n")
    print(f"wrote {args.out} ({len(table)} pairs, {len(yrd)} YRD board stations, {len(trains)} trains, "
          f"{len(problems)} problems)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
