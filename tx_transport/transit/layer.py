"""The timetable layer of a network: feeds → stops joined to places → scenario timetables → compiled.

:class:`TransitLayer` is the collaborator :class:`~tx_transport.network.Network` uses for
everything timetable: it reads the bundle's feeds once, maps their stops onto the bundle's
station places (by id, or by Chinese name within 2 km), applies a scenario's service edits
and caches the compiled timetables per scenario.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..errors import NetworkDataError, QueryError
from ..geo import haversine_km
from .edits import EditContext, EditError, RailLine, apply_edits
from .feed import merge_timetables, read_feed
from .raptor import CompiledTimetable
from .timetable import TF_COLS, Timetable, empty_timetable

if TYPE_CHECKING:
    from ..io import Bundle
    from ..scenario import ScenarioSelection

#: A feed stop whose name matches a station place is that place when within this distance (km).
NAME_MATCH_KM = 2.0


class TransitLayer:
    """Timetables of a bundle, per scenario (see the module docstring)."""

    def __init__(self, bundle: Bundle) -> None:
        self._b = bundle
        self._feeds: dict[str, Timetable] = {}
        self._timetables: dict[tuple[Any, ...], Timetable] = {}
        self._compiled: dict[tuple[Any, ...], CompiledTimetable] = {}
        self.stop_match: pd.DataFrame = pd.DataFrame(columns=["feed", "feed_stop_id", "stop_id", "how", "distance_km"])
        self._opened = {str(p): (None if pd.isna(o) else int(o)) for p, o in bundle.projects["opened"].items()}

    # ------------------------------------------------------------------ feeds
    @property
    def config(self):
        return self._b.transit

    def feed(self, fid: str) -> Timetable:
        """The feed ``fid`` on its service day, with stops mapped onto places (cached)."""
        if fid not in self._feeds:
            spec = self.config.feed(fid)
            tt = read_feed(spec.path, feed_id=fid, service_date=spec.service_date)
            self._feeds[fid] = self._map_stops(tt, fid)
        return self._feeds[fid]

    def _map_stops(self, tt: Timetable, fid: str) -> Timetable:
        places = self._b.places
        stations = places[places.kind == "station"]
        zh = stations["name_zh"].astype(str).str.removesuffix("站")
        mapping: dict[str, str] = {}
        rows = []
        for s in tt.stops.itertuples():
            sid = str(s.stop_id)
            if sid in places.index:
                d = float(haversine_km(s.lat, s.lon, places.lat[sid], places.lon[sid]))
                mapping[sid] = sid
                rows.append((fid, sid, sid, "id", d))
                continue
            cand = stations.index[zh == str(s.stop_name).removesuffix("站")]
            if len(cand):
                d = haversine_km(s.lat, s.lon, stations.lat[cand].to_numpy(), stations.lon[cand].to_numpy())
                j = int(np.argmin(d))
                if d[j] <= NAME_MATCH_KM:
                    mapping[sid] = str(cand[j])
                    rows.append((fid, sid, str(cand[j]), "name", float(d[j])))
                    continue
            mapping[sid] = f"{fid}:{sid}"
            rows.append((fid, sid, f"{fid}:{sid}", "feed-only", np.nan))
        self.stop_match = pd.concat([self.stop_match, pd.DataFrame(rows, columns=self.stop_match.columns)], ignore_index=True)
        out = tt.copy()
        out.stops = out.stops.assign(stop_id=out.stops.stop_id.map(mapping)).drop_duplicates("stop_id")
        out.stop_times = out.stop_times.assign(stop_id=out.stop_times.stop_id.map(mapping))
        if len(out.transfers):
            out.transfers = out.transfers.assign(from_stop=out.transfers.from_stop.map(mapping), to_stop=out.transfers.to_stop.map(mapping))
        out.trips = out.trips.assign(trip_id=out.trips.trip_id if len(self.config.feeds) < 2 else fid + ":" + out.trips.trip_id)
        if len(self.config.feeds) >= 2:
            out.stop_times = out.stop_times.assign(trip_id=fid + ":" + out.stop_times.trip_id)
        return out

    def base(self, feeds: Iterable[str]) -> Timetable:
        """The feeds of a scenario as one timetable, with the bundle's change times and transfers."""
        feeds = tuple(feeds)
        key = ("base", feeds)
        if key not in self._timetables:
            parts = [self.feed(f) for f in feeds]
            tt = merge_timetables(parts, "+".join(feeds)) if parts else empty_timetable("no feed")
            tt.transfers = pd.concat([tt.transfers, self._bundle_transfers(tt)], ignore_index=True)
            self._timetables[key] = tt
        return self._timetables[key]

    def _bundle_transfers(self, tt: Timetable) -> pd.DataFrame:
        cfg = self.config
        rows = [{"from_stop": s, "to_stop": s, "min_s": m * 60.0, "mode": "change", "source": "transit.yaml change_min_by_station"}
                for s, m in cfg.change_min_by_station.items()]
        rows += [{"from_stop": t["from"], "to_stop": t["to"], "min_s": t["min"] * 60.0, "mode": t["mode"], "source": t["source"]}
                 for t in cfg.transfers]
        # walks between stops of different feeds that are not the same place
        st = tt.stops
        if st.feed.nunique() > 1 and cfg.walk_transfer_max_km > 0:
            lat, lon = st.lat.to_numpy(), st.lon.to_numpy()
            for i in range(len(st)):
                d = haversine_km(lat[i], lon[i], lat, lon)
                for j in np.flatnonzero((d <= cfg.walk_transfer_max_km) & (st.feed.to_numpy() != st.feed.iloc[i])):
                    walk = float(d[j]) * 1.3 / cfg.walk_speed_kmh * 3600.0
                    rows.append({"from_stop": st.stop_id.iloc[i], "to_stop": st.stop_id.iloc[j], "min_s": max(walk, 60.0), "mode": "walk",
                                 "source": "generated: straight line × 1.3 at walk_speed_kmh [assumption]"})
        return pd.DataFrame(rows, columns=TF_COLS)

    # ------------------------------------------------------------------ scenarios
    def edit_context(self, sel: ScenarioSelection) -> EditContext:
        b = self._b
        lines = {}
        for li in b.rail_lines:
            cls = b.modes["rail"]["classes"][li["rail_class"]]
            km = np.concatenate([[0.0], np.cumsum(li["segment_km"])]).tolist()
            lines[li["id"]] = RailLine(li["id"], list(li["station_ids"]), km, float(sel.speed_kmh.get(li["id"]) or li["operating_speed_kmh"]),
                                       float(cls["accel_ms2"]), float(cls["decel_ms2"]), float(cls["dwell_min"]))
        return EditContext(lines, b.places, float(b.modes["rail"].get("running_time_supplement") or 0.0))

    def removed_lines(self, sel: ScenarioSelection) -> list[dict[str, Any]]:
        """Lines whose trains are in the base feed but that the scenario takes out of service.

        A rail.yaml line that had opened by the feed's service day and is not among the scenario's
        projects loses every feed train that calls at two of its stations in a row (the train runs
        on the line between them).
        """
        year = self._lines_until(sel)
        if year is None:
            return []
        return [li for li in self._b.rail_lines if li["opened"] is not None and li["opened"] <= year and li["id"] not in sel.projects]

    def _lines_until(self, sel: ScenarioSelection) -> int | None:
        """The year up to which the scenario's base feeds hold the trains of opened lines."""
        years = [self.config.feed(f).lines_included_until for f in sel.timetable.get("feeds") or []]
        years = [y for y in years if y is not None]
        return min(years) if years else None

    def scenario_edits(self, sel: ScenarioSelection, spec: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """The edits a scenario applies, in services.yaml order (after the removal of the feed
        trains of lines the scenario takes out, :meth:`removed_lines`)."""
        spec = sel.timetable if spec is None else spec
        want = set(spec.get("services") or [])
        drop = set(spec.get("remove_services") or [])
        out = [{"id": f"remove-line-{li['id']}", "type": "remove-trips", "select": {"on_line": list(li["station_ids"])}}
               for li in self.removed_lines(sel)]
        until = self._lines_until(sel)
        for e in self._b.services:
            if e["id"] in drop:
                continue
            if e.get("project") is not None:
                opened = self._opened.get(e["project"])
                in_feed = until is not None and opened is not None and opened <= until  # its trains are in the feed
                if spec.get("project_edits", True) and e["project"] in sel.projects and not in_feed:
                    out.append(e)
            elif e["id"] in want:
                out.append(e)
        return out

    def timetable(self, sel: ScenarioSelection) -> Timetable:
        """The timetable a scenario runs (base feeds + its edits), cached."""
        spec = sel.timetable
        edits = self.scenario_edits(sel)
        speeds = tuple(sorted((k, v) for k, v in sel.speed_kmh.items() if any(li["id"] == k for li in self._b.rail_lines)))
        key = (tuple(spec.get("feeds") or ()), tuple(e["id"] for e in edits), speeds)
        if key not in self._timetables:
            base = self.base(spec.get("feeds") or ())
            try:
                tt = apply_edits(base, edits, self.edit_context(sel), name=sel.name)
            except EditError as exc:
                raise NetworkDataError(str(self._b.path / "services.yaml"), str(exc).split(":")[0], str(exc), "correct the edit") from None
            tt.service_date = base.service_date
            self._timetables[key] = tt
        tt = self._timetables[key]
        return tt if tt.name == sel.name else dataclasses.replace(tt, name=sel.name)

    def compiled(self, sel: ScenarioSelection) -> CompiledTimetable:
        """The compiled timetable of a scenario (cached per feeds, edits and speeds)."""
        spec = sel.timetable
        edits = self.scenario_edits(sel)
        speeds = tuple(sorted((k, v) for k, v in sel.speed_kmh.items() if any(li["id"] == k for li in self._b.rail_lines)))
        key = (tuple(spec.get("feeds") or ()), tuple(e["id"] for e in edits), speeds)
        ct = self._compiled.get(key)
        if ct is None:
            tt = self.timetable(sel)
            cfg = self.config
            order = list(self._b.places.index[self._b.places.kind == "station"])
            ct = tt.compile(default_change_s=cfg.change_min * 60.0, scenario=sel.name, repeat_daily=cfg.repeat_daily, stop_order=order)
            if len(self._compiled) >= 32:
                self._compiled.pop(next(iter(self._compiled)))
            self._compiled[key] = ct
        return ct

    def stations_served(self, ct: CompiledTimetable) -> np.ndarray:
        """Boolean per compiled stop: some trip calls there."""
        has = np.zeros(ct.n_stops, dtype=bool)
        has[np.unique(ct.ev_stop)] = True
        return has


def require_station(ct: CompiledTimetable, stop: str, scenario: str) -> int:
    if not ct.has_stop(stop):
        raise QueryError(f"{stop!r} is not a station of the timetable of scenario {scenario!r}")
    return ct.stop_index(stop)


__all__ = ["NAME_MATCH_KM", "TransitLayer", "require_station"]
