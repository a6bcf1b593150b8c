"""Check the rail data files of the bundle: rail.yaml, services.yaml, transit.yaml (and the stations they name).

Run from the repository root::

    python networks/build/check_rail_data.py [--shared /work/shared] [--networks networks]

Standalone (it does not import the loader, which does not know these formats yet). It checks:

- the three files parse as YAML, with no duplicate keys;
- line, edit ids are unique and kebab-case; an edit's ``project`` and ``lines`` are rail.yaml line ids;
- every station named anywhere resolves: a place id of ``build/places_src.csv``, a place ``name_zh`` (with or
  without a trailing 站 or a bracketed note), or a station of the 2016-03-10 timetable
  (``<shared>/data/timetables/parse12306_stations_20160310.csv``);
- rail.yaml: ``km`` increases along a line, no station twice, no ``services`` left;
- services.yaml: stops ≥ 2 and distinct; each stop lies on one of the edit's lines, in line order (lines in
  travel order, consecutive lines share a station); exactly one of ``frequencies`` / ``departures``; bands are
  ``HH:MM`` with start < end, sorted, not overlapping, ``headway_min`` > 0; ``hop_min`` (if any) has
  ``len(stops) - 1`` positive numbers;
- transit.yaml: ``change_min`` positive; transfers name two different resolvable stations, ``min`` > 0, a mode;
- every record that holds a number has a source tag (``[S: …]``, ``[M]``, ``[M?]``, ``[I]`` or "assumption")
  in its ``source`` / ``speed_source`` (or, for places, a non-empty ``coord_source``).

Exit status 0 when everything passes, 1 with one line per problem otherwise.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pandas as pd
import yaml

HERE = Path(__file__).resolve().parent
KEBAB = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
TAG = re.compile(r"\[S: [^\]]+\]|\[M\??\]|\[I\]|assumption|\[S\]")


class UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that rejects duplicate mapping keys."""


def _construct_mapping(loader: UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def load_yaml(path: Path, problems: list[str]) -> dict | None:
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=UniqueKeyLoader)
    except (OSError, yaml.YAMLError) as exc:
        problems.append(f"{path}: does not parse ({exc})".replace("\n", " "))
        return None


def minutes(s: str) -> int:
    return int(s[:2]) * 60 + int(s[3:])


class Resolver:
    """Station name or place id -> a canonical key (place id, or 'tt:<2016 name>')."""

    def __init__(self, places: pd.DataFrame, names_2016: set[str]):
        self.ids = set(places.id)
        self.by_name: dict[str, str] = {}
        for pid, zh in zip(places.id, places.name_zh):
            for n in self._variants(str(zh)):
                self.by_name.setdefault(n, pid)
        self.names_2016 = names_2016

    @staticmethod
    def _variants(zh: str) -> set[str]:
        out = {zh}
        base = re.split(r"[（(]", zh)[0].strip()
        out.add(base)
        for v in list(out):
            if v.endswith("站"):
                out.add(v[:-1])
        return {v for v in out if v}

    def __call__(self, name: object) -> str | None:
        if not isinstance(name, str):
            return None
        if name in self.ids:
            return name
        for v in self._variants(name):
            if v in self.by_name:
                return self.by_name[v]
        for v in self._variants(name):
            if v in self.names_2016:
                return "tt:" + v
        return None


def check(networks: Path, shared: Path) -> list[str]:
    problems: list[str] = []
    places = pd.read_csv(networks / "build" / "places_src.csv", dtype=str, keep_default_na=False)
    if not places.id.is_unique:
        problems.append(f"places_src.csv: duplicate ids {sorted(places.id[places.id.duplicated()])}")
    for r in places.itertuples(index=False):
        if not r.coord_source.strip():
            problems.append(f"places_src.csv, place {r.id!r}: empty coord_source")
        if not KEBAB.match(r.id):
            problems.append(f"places_src.csv, place {r.id!r}: id is not kebab-case")
    st_file = shared / "data" / "timetables" / "parse12306_stations_20160310.csv"
    names_2016 = set(pd.read_csv(st_file).station) if st_file.exists() else set()
    if not names_2016:
        problems.append(f"{st_file}: not found: 2016 timetable names cannot be resolved (pass --shared)")
    resolve = Resolver(places, names_2016)

    # ---------------------------------------------------------------- rail.yaml
    rail_f = networks / "rail.yaml"
    rail = load_yaml(rail_f, problems) or {}
    lines = rail.get("lines") or []
    line_keys: dict[str, list[str]] = {}
    seen: set[str] = set()
    for li in lines:
        lid = li.get("id")
        rec = f"{rail_f}, line {lid!r}"
        if not isinstance(lid, str) or not KEBAB.match(lid):
            problems.append(f"{rec}: id is not kebab-case")
        if lid in seen:
            problems.append(f"{rec}: duplicate id")
        seen.add(lid)
        if "services" in li:
            problems.append(f"{rec}: 'services' retired: move it to services.yaml as an add-trip-pattern edit")
        for key in ("source", "speed_source"):
            if not TAG.search(str(li.get(key, ""))):
                problems.append(f"{rec}: {key} has no source tag ([S: url], [M], [M?], [I] or assumption)")
        keys, kms = [], []
        for s in li.get("stations") or []:
            k = resolve(s.get("place"))
            if k is None:
                problems.append(f"{rec}: station {s.get('place')!r} resolves to no place and no 2016 timetable station")
            keys.append(k or f"?{s.get('place')}")
            if s.get("km") is not None:
                kms.append(float(s["km"]))
        if len(keys) < 2:
            problems.append(f"{rec}: fewer than two stations")
        if len(set(keys)) != len(keys):
            problems.append(f"{rec}: a station is listed twice")
        if any(b <= a for a, b in zip(kms[:-1], kms[1:])):
            problems.append(f"{rec}: km does not increase along the line")
        line_keys[lid] = keys

    # ---------------------------------------------------------------- services.yaml
    sv_f = networks / "services.yaml"
    sv = load_yaml(sv_f, problems) or {}
    eids: set[str] = set()
    for e in sv.get("edits") or []:
        eid = e.get("id")
        rec = f"{sv_f}, edit {eid!r}"
        if not isinstance(eid, str) or not KEBAB.match(eid):
            problems.append(f"{rec}: id is not kebab-case")
        if eid in eids:
            problems.append(f"{rec}: duplicate id")
        eids.add(eid)
        if not TAG.search(str(e.get("source", ""))):
            problems.append(f"{rec}: source has no source tag")
        if e.get("project") is not None and e["project"] not in line_keys:
            problems.append(f"{rec}: project {e['project']!r} is not a rail.yaml line")
        if e.get("type") != "add-trip-pattern":
            continue
        stops = e.get("stops") or []
        skeys = [resolve(s) for s in stops]
        for s, k in zip(stops, skeys):
            if k is None:
                problems.append(f"{rec}: stop {s!r} resolves to no place and no 2016 timetable station")
        if len(stops) < 2 or len(set(skeys)) != len(skeys):
            problems.append(f"{rec}: needs at least two distinct stops")
        lids = e.get("lines") or ([e["project"]] if e.get("project") else [])
        for lid in lids:
            if lid not in line_keys:
                problems.append(f"{rec}: line {lid!r} is not a rail.yaml line")
        if all(lid in line_keys for lid in lids) and lids and None not in skeys:
            for a, b in zip(lids[:-1], lids[1:]):
                if not set(line_keys[a]) & set(line_keys[b]):
                    problems.append(f"{rec}: lines {a!r} and {b!r} share no station")
            # each stop on a line, line index never decreasing, order along a line consistent
            li_idx, last_pos, direction, last_k = 0, None, 0, None
            for s, k in zip(stops, skeys):
                while li_idx < len(lids) and k not in line_keys[lids[li_idx]]:
                    li_idx, direction = li_idx + 1, 0
                    nxt = line_keys[lids[li_idx]] if li_idx < len(lids) else []
                    last_pos = nxt.index(last_k) if last_k in nxt else None
                if li_idx >= len(lids):
                    problems.append(f"{rec}: stop {s!r} is on none of the lines {lids} (after the previous stop)")
                    break
                pos = line_keys[lids[li_idx]].index(k)
                if last_pos is not None:
                    d = (pos > last_pos) - (pos < last_pos)
                    if direction and d != direction:
                        problems.append(f"{rec}: stop {s!r} is out of order on line {lids[li_idx]!r}")
                    direction = direction or d
                last_pos, last_k = pos, k
        has_f, has_d = "frequencies" in e, "departures" in e
        if has_f == has_d:
            problems.append(f"{rec}: give exactly one of 'frequencies' or 'departures'")
        if has_f:
            prev_end = -1
            for band in e.get("frequencies") or []:
                st, en, h = band.get("start"), band.get("end"), band.get("headway_min")
                if not (isinstance(st, str) and HHMM.match(st) and isinstance(en, str) and HHMM.match(en)):
                    problems.append(f"{rec}: band {band}: start/end must be 'HH:MM' strings")
                    continue
                if minutes(st) >= minutes(en):
                    problems.append(f"{rec}: band {band}: start must be before end")
                if minutes(st) < prev_end:
                    problems.append(f"{rec}: band {band}: overlaps or is before the previous band")
                prev_end = minutes(en)
                if not isinstance(h, (int, float)) or h <= 0:
                    problems.append(f"{rec}: band {band}: headway_min must be a positive number")
        if has_d:
            deps = e.get("departures") or []
            if not deps or not all(isinstance(d, str) and HHMM.match(d) for d in deps):
                problems.append(f"{rec}: departures must be a non-empty list of 'HH:MM'")
            elif [minutes(d) for d in deps] != sorted(minutes(d) for d in deps):
                problems.append(f"{rec}: departures must be in time order")
        if "hop_min" in e:
            hm = e["hop_min"]
            if not isinstance(hm, list) or len(hm) != len(stops) - 1 or not all(isinstance(x, (int, float)) and x > 0 for x in hm):
                problems.append(f"{rec}: hop_min must be {len(stops) - 1} positive numbers")

    # ---------------------------------------------------------------- transit.yaml
    tr_f = networks / "transit.yaml"
    tr = load_yaml(tr_f, problems) or {}
    cm = tr.get("change_min")
    if not isinstance(cm, (int, float)) or cm <= 0:
        problems.append(f"{tr_f}: change_min must be a positive number")
    for st, v in (tr.get("change_min_by_station") or {}).items():
        if resolve(st) is None:
            problems.append(f"{tr_f}: change_min_by_station {st!r} resolves to no station")
        if not isinstance(v, (int, float)) or v <= 0:
            problems.append(f"{tr_f}: change_min_by_station {st!r} must be positive")
    pairs = set()
    for t in tr.get("transfers") or []:
        rec = f"{tr_f}, transfer {t.get('from')!r} -> {t.get('to')!r}"
        a, b = resolve(t.get("from")), resolve(t.get("to"))
        if a is None or b is None:
            problems.append(f"{rec}: a station resolves to nothing")
        elif a == b:
            problems.append(f"{rec}: from and to are the same station")
        if (a, b) in pairs or (b, a) in pairs:
            problems.append(f"{rec}: duplicate transfer")
        pairs.add((a, b))
        if not isinstance(t.get("min"), (int, float)) or t["min"] <= 0:
            problems.append(f"{rec}: min must be a positive number")
        if not t.get("mode"):
            problems.append(f"{rec}: mode missing")
        if not TAG.search(str(t.get("source", ""))):
            problems.append(f"{rec}: source has no source tag")
    return problems


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shared", type=Path, default=Path("/work/shared"))
    ap.add_argument("--networks", type=Path, default=HERE.parent)
    args = ap.parse_args(argv)
    problems = check(args.networks, args.shared)
    for p in problems:
        print(p)
    print(f"{len(problems)} problem(s)" if problems else "rail data OK")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
