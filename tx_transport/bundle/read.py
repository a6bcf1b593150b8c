"""Compose the layer loaders into :func:`read_bundle` and :func:`validate`.

The files are read first (encodings, YAML and CSV syntax), then the ids other files may refer
to are gathered leniently from what could be read, then every file is checked against its
schema in dependency order; every problem is collected. Only a bundle without problems becomes a
:class:`~tx_transport.bundle.base.Bundle`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from ..errors import NetworkDataError
from .base import DEFAULT_BUNDLE, Bundle, Context
from .goals import load_goals
from .modes import load_modes
from .places import load_manifest, load_places, read_places
from .problems import BundleErrors, Problem
from .profiles import load_profiles
from .projects import build_projects, check_project_ids, load_channels, load_corridors, load_trunk
from .rail import check_rail, load_rail, load_segments
from .readers import missing, read_yaml
from .roads import load_roads
from .scenarios import load_scenarios
from .transit import check_patterns, load_services, load_transit, scenario_timetable
from .zones import check_counties, load_boundaries, load_urban_areas

T = TypeVar("T")
REQUIRED_YAML = ("modes.yaml", "profiles.yaml", "scenarios.yaml")
OPTIONAL_YAML = ("bundle.yaml", "rail.yaml", "expressways.yaml", "trunk_roads.yaml", "waterways.yaml", "goals.yaml", "transit.yaml",
                 "services.yaml")
PROJECT_FILES = (("rail.yaml", "lines", "rail"), ("expressways.yaml", "corridors", "expressway"), ("trunk_roads.yaml", "links", "road"),
                 ("waterways.yaml", "channels", "waterway"))
#: A feed stop whose stop_id is a place id must lie this close to the place (km).
FEED_STOP_KM = 5.0


def raw_yaml(ctx: Context, name: str) -> Any:
    """Read a YAML file into ``ctx.raw`` (None: absent or empty; UNREADABLE after a problem)."""
    f = ctx.path(name)
    ctx.raw[name] = read_yaml(f, ctx.problems) if f.exists() else None
    return ctx.raw[name]


def _run(ctx: Context, name: str, fn: Callable[..., T], *args: Any) -> T | None:
    with ctx.guard(name):
        return fn(*args)
    return None


def _keys(d: Any, *path: str) -> set[str] | None:
    """The string keys of the mapping at ``path`` (empty when the path is absent, None when a level is not a mapping)."""
    for p in path:
        if not isinstance(d, dict):
            return None
        d = d.get(p)
        if d is None:
            return set()
    return {k for k in d if isinstance(k, str)} if isinstance(d, dict) else None


def _refs(ctx: Context, places: pd.DataFrame | None) -> None:
    """The ids other files may refer to, read leniently (see :class:`~tx_transport.bundle.schema.Refs`)."""
    r = ctx.refs
    if places is not None and "id" in places.columns:
        ok = places["id"].map(lambda x: isinstance(x, str))
        p = places[ok]
        r.places = pd.DataFrame({"name_zh": p.get("name_zh", pd.Series("", index=p.index)).astype(str).to_numpy(),
                                 "kind": p.get("kind", pd.Series("", index=p.index)).astype(str).to_numpy(),
                                 "lat": pd.to_numeric(p.get("lat"), errors="coerce").to_numpy(),
                                 "lon": pd.to_numeric(p.get("lon"), errors="coerce").to_numpy()},
                                index=pd.Index(p["id"].to_numpy(), name="id"))
        r.places_ids = set(p["id"])
    modes = ctx.raw.get("modes.yaml")
    if isinstance(modes, dict):
        r.road_classes = _keys(modes, "road", "classes")
        r.plan_classes = _keys(modes, "road", "plan_classes")
        r.areas = _keys(modes, "road", "areas")
        r.rail_classes = _keys(modes, "rail", "classes")
        r.water_classes = _keys(modes, "waterway", "classes")
    prof = ctx.raw.get("profiles.yaml")
    if isinstance(prof, dict) and isinstance(prof.get("profiles"), dict):
        r.profiles = {k for k in prof["profiles"] if isinstance(k, str)}
        r.road_profiles = {k for k, v in prof["profiles"].items() if isinstance(k, str) and not (isinstance(v, dict) and "router" in v)}
    projects: set[str] | None = {"osm-roads"}
    design: dict[str, float] = {}
    modes_of: dict[str, str] = {"osm-roads": "road"}
    for name, key, mode in PROJECT_FILES:
        data = ctx.raw.get(name)
        if data is None and not ctx.path(name).exists():
            items: Any = []
        else:
            items = data.get(key) if isinstance(data, dict) else None
        if not isinstance(items, list):
            projects = None
            if name == "rail.yaml":
                r.lines = None
            continue
        ids = [it.get("id") for it in items if isinstance(it, dict) and isinstance(it.get("id"), str)]
        if projects is not None:
            projects |= set(ids)
        if name == "rail.yaml":
            r.lines = set(ids)
        if name == "expressways.yaml":
            r.corridor_nodes = {str(n.get("id") or n.get("place")) for it in items if isinstance(it, dict)
                                for n in (it.get("nodes") if isinstance(it.get("nodes"), list) else []) if isinstance(n, dict)}
        for it in items:
            if isinstance(it, dict) and isinstance(it.get("id"), str):
                modes_of[it["id"]] = mode
                v = it.get("design_speed_kmh")
                if isinstance(v, (int, float)) and not isinstance(v, bool) and mode != "waterway" and v > 0:
                    design[it["id"]] = float(v)
    if ctx.raw.get("rail.yaml") is None and not ctx.path("rail.yaml").exists():
        r.lines = set()
    r.projects = projects
    r.design_speeds, r.project_modes = design, modes_of
    for name, key, attr in (("transit.yaml", "feeds", "feeds"), ("services.yaml", "edits", "edits")):
        data = ctx.raw.get(name)
        if not ctx.path(name).exists():
            setattr(r, attr, set())
        elif isinstance(data, dict) and isinstance(data.get(key) or [], list):
            setattr(r, attr, {it.get("id") for it in data.get(key) or [] if isinstance(it, dict) and isinstance(it.get("id"), str)})
    sc = ctx.raw.get("scenarios.yaml")
    r.scenarios = _keys(sc, "scenarios") if isinstance(sc, dict) else None


def _raw_feeds(ctx: Context) -> list[Any]:
    """The feeds of a transit.yaml that has problems elsewhere (its feeds are still read)."""
    import datetime as _dt

    from ..transit.config import FeedSpec

    data = ctx.raw.get("transit.yaml")
    out = []
    for fd in data.get("feeds") or [] if isinstance(data, dict) and isinstance(data.get("feeds"), list) else []:
        if not (isinstance(fd, dict) and isinstance(fd.get("id"), str) and isinstance(fd.get("path"), str)):
            continue
        sd = fd.get("service_date")
        try:
            sd = None if sd is None else (sd if isinstance(sd, _dt.date) else _dt.date.fromisoformat(str(sd))).isoformat()
        except ValueError:
            continue
        p = (ctx.root / fd["path"]).resolve()
        if p.exists():
            out.append(FeedSpec(fd["id"], p, sd, str(fd.get("source", ""))))
    return out


def _feeds(ctx: Context, bundle: Bundle | None, transit: Any) -> None:
    """validate only: read every GTFS feed of transit.yaml with gtfs-kit; its errors become problems."""
    from ..geo import haversine_km
    from ..transit.feed import read_feed

    specs = transit.feeds if transit is not None else _raw_feeds(ctx)
    for spec in specs:
        try:
            tt = read_feed(spec.path, feed_id=spec.id, service_date=spec.service_date)
        except NetworkDataError as exc:
            ctx.problems.add(exc.file, exc.record, exc.problem, exc.fix)
            continue
        except Exception as exc:  # noqa: BLE001 - a feed gtfs-kit cannot handle is a problem of the feed, never a traceback
            ctx.problems.add(spec.path, "feed", f"could not be read ({type(exc).__name__}: {str(exc)[:200]})",
                             "check it against the GTFS reference (stops.txt, trips.txt, stop_times.txt, routes.txt, calendar.txt)")
            continue
        places = bundle.places if bundle is not None else None
        if places is None:
            continue
        st = tt.stops[tt.stops.stop_id.isin(places.index)]
        if len(st):
            d = haversine_km(st.lat.to_numpy(), st.lon.to_numpy(), places.lat[st.stop_id].to_numpy(), places.lon[st.stop_id].to_numpy())
            for k in np.flatnonzero(np.asarray(d) > FEED_STOP_KM)[:10]:
                ctx.problems.add(Path(spec.path) / "stops.txt", f"stop_id {st.stop_id.iloc[k]!r}",
                                 f"is {float(np.asarray(d)[k]):.1f} km from the place of the same id in places.csv",
                                 "a stop whose id is a place id is that place: correct the stop's position or the place's, or give the "
                                 "stop another id")


def _gather(path: str | Path | None, *, extras: bool) -> tuple[Bundle | None, Context]:
    root = Path(path) if path is not None else DEFAULT_BUNDLE
    ctx = Context(root)
    pr = ctx.problems
    if not root.exists():
        pr.add(root, "folder", "does not exist", "pass the path of a network bundle folder (like networks/)")
        return None, ctx
    if root.is_file():
        pr.add(root, "path", "is a file, not a bundle folder", "pass the folder that holds places.csv")
        return None, ctx
    # 1. read every file (encodings, syntax)
    places_raw = None
    if not ctx.path("places.csv").exists():
        missing(ctx.path("places.csv"), pr, "create places.csv (see networks/README.md)")
    else:
        places_raw = _run(ctx, "places.csv", read_places, ctx)
    for name in REQUIRED_YAML + OPTIONAL_YAML:
        if name in REQUIRED_YAML and not ctx.path(name).exists():
            missing(ctx.path(name), pr)
        _run(ctx, name, raw_yaml, ctx, name)
    # 2. what files may refer to, gathered leniently
    _run(ctx, ".", _refs, ctx, places_raw)
    # 3. every file against its schema, in dependency order
    man = _run(ctx, "bundle.yaml", load_manifest, ctx) or {"centre": None}
    places = _run(ctx, "places.csv", load_places, ctx, places_raw)
    modes = _run(ctx, "modes.yaml", load_modes, ctx)
    profiles = _run(ctx, "profiles.yaml", load_profiles, ctx)
    lines = _run(ctx, "rail.yaml", check_rail, ctx)
    geom = _run(ctx, "rail_segments.geojson", load_segments, ctx, places)
    rail = _run(ctx, "rail.yaml", load_rail, ctx, lines, places, geom)
    corridors = _run(ctx, "expressways.yaml", load_corridors, ctx, places)
    trunk = _run(ctx, "trunk_roads.yaml", load_trunk, ctx, places)
    channels = _run(ctx, "waterways.yaml", load_channels, ctx, places)
    _run(ctx, "rail.yaml", check_project_ids, ctx)
    roads = _run(ctx, "roads/edges.csv", load_roads, ctx, modes is not None)
    boundaries = _run(ctx, "boundaries.geojson", load_boundaries, ctx)
    urban = _run(ctx, "zones/urban_areas.geojson", load_urban_areas, ctx, modes)
    transit = _run(ctx, "transit.yaml", load_transit, ctx)
    services = _run(ctx, "services.yaml", load_services, ctx)
    _run(ctx, "services.yaml", check_patterns, ctx, services, rail)
    scenarios = _run(ctx, "scenarios.yaml", load_scenarios, ctx)
    goals = _run(ctx, "goals.yaml", load_goals, ctx)
    bundle = None
    parts = (places, modes, profiles, rail, corridors, trunk, channels, roads, boundaries, transit, services, scenarios, goals)
    if not pr and all(x is not None for x in parts) and urban is not False:
        with ctx.guard("."):
            assert roads is not None and transit is not None and scenarios is not None
            bundle = Bundle(root, dict(ctx.area), places, rail, geom or {}, corridors, trunk, channels, roads[0], roads[1],  # type: ignore[arg-type]
                            boundaries, scenarios, goals, modes, profiles, centre=man["centre"])  # type: ignore[arg-type]
            bundle.urban_areas = urban if urban is not False else None  # type: ignore[assignment]
            bundle.projects = build_projects(rail, corridors, trunk, channels)  # type: ignore[arg-type]
            bundle.transit = transit
            bundle.services = services  # type: ignore[assignment]
            bundle.scenario_timetables = {name: scenario_timetable(s, transit) for name, s in scenarios.items()}
    if extras:
        _run(ctx, "transit.yaml", _feeds, ctx, bundle, transit)
        _run(ctx, "zones/counties.geojson", check_counties, ctx)
    if pr:
        return None, ctx
    if bundle is None:  # every loader gave up without saying why: never load silently
        pr.add(root, "bundle", "could not be read", "check the files against networks/README.md (this is a bug in tx-transport: please report it)")
    return bundle, ctx


def _total(path: str | Path | None, *, extras: bool) -> tuple[Bundle | None, Context]:
    """:func:`_gather`, and anything unexpected outside the layer loaders becomes a problem too."""
    try:
        return _gather(path, extras=extras)
    except Exception as exc:  # noqa: BLE001 - the promise: never a traceback (MemoryError, RecursionError included)
        ctx = Context(Path(str(path)) if path is not None else DEFAULT_BUNDLE)
        ctx.problems.add(ctx.root, "bundle", f"could not be checked ({type(exc).__name__}: {str(exc)[:200]})",
                         "compare the files with networks/README.md; if they look right, this is a bug in tx-transport: please report it")
        return None, ctx


def read_bundle(path: str | Path | None = None) -> Bundle:
    """Read and validate a bundle folder. See :func:`tx_transport.load_network`.

    Raises
    ------
    BundleErrors
        (a :class:`~tx_transport.errors.NetworkDataError`) listing every problem of the bundle.
    """
    bundle, ctx = _total(path, extras=False)
    if ctx.problems:
        raise BundleErrors(ctx.problems.items, ctx.root)
    assert bundle is not None
    return bundle


def check_bundle(path: str | Path | None = None) -> tuple[Bundle | None, list[Problem]]:
    """The bundle (None when it has problems) and every problem, GTFS feeds and census zones included."""
    bundle, ctx = _total(path, extras=True)
    return (bundle if not ctx.problems else None), list(ctx.problems)


def validate(path: str | Path | None = None) -> list[Problem]:
    """Every problem of a bundle folder, in one run (an empty list when the bundle is valid).

    Checks what :func:`tx_transport.load_network` checks (a schema for every file: types,
    bounds, ids, references between files, geometries, encodings) and also reads the GTFS feeds
    named in ``transit.yaml`` (with gtfs-kit) and ``zones/counties.geojson``.

    Parameters
    ----------
    path : str or Path, optional
        A bundle folder (default: the embedded bundle).

    Returns
    -------
    list of Problem
        Each with ``file``, ``record``, ``field``, ``problem`` and ``fix``; ``str(p)`` is
        ``"file: record: problem. Fix: fix"``.

    Examples
    --------
    >>> import tx_transport as tx
    >>> tx.validate()
    []
    """
    return check_bundle(path)[1]


__all__ = ["check_bundle", "read_bundle", "validate"]
