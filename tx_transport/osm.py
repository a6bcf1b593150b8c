"""Bring your own road data: OpenStreetMap XML, OSMnx downloads and GraphML as the road layer.

Every function here returns an OSMnx-style ``networkx.MultiDiGraph`` in EPSG:4326 with, on each
edge, ``highway`` (one OSM class, a string), ``length`` (m), ``speed_kph`` and ``travel_time``
(s), ready for :meth:`tx_transport.Network.with_road_graph`::

    import tx_transport as tx
    from tx_transport.osm import road_graph_from_xml

    net = tx.load_network()
    net2 = net.with_road_graph(road_graph_from_xml("networks/samples/wuzhen_roads.osm"))
    net2.route("wuzhen", "tongxiang", profile="car")

The speed rule
--------------
This module is the one place where an OSM road gets its speed (``graph.py`` calls
:func:`edge_speed_kph` for the road layer of :meth:`~tx_transport.Network.with_road_graph`):

- **class speed**: ``modes.yaml`` ``road.classes[highway]``: ``design_speed_kmh`` (JTG B01-2014)
  × ``operating_factor`` (share of the design speed a car keeps in free flow). This is
  :func:`chinese_speed_table`, also usable as ``osmnx.add_edge_speeds(G, hwy_speeds=...)``.
- **a posted** ``maxspeed`` **replaces the design speed, not the model speed**: the speed is
  ``maxspeed × operating_factor`` of the class. Chinese limits are usually posted at the design
  speed of the road [M], so a tagged limit is the best estimate of that road's own design speed;
  keeping the operating factor keeps tagged and untagged roads on the same free-flow basis
  (``osmnx.add_edge_speeds`` would use the raw limit, making tagged roads look faster).
  The limit is **not** capped by the class design speed (a ``primary`` first-class highway built
  for 100 km/h and tagged 100 keeps that design speed), only clipped to [5, 120] km/h, 120 km/h
  being the legal maximum in China (Road Traffic Safety Law, art. 67). ``"80;60"`` and lists take the lowest value; ``"60 mph"``, ``"50 km/h"``
  and ``"10 knots"`` are converted; ``"none"``, ``"signals"``, ``"CN:urban"`` and other non-numeric
  values fall back to the class speed (:func:`parse_maxspeed`).
- classes missing from ``modes.yaml`` take ``road.default_class``.
- ``travel_time = length / speed`` (the ramp toll of ``modes.yaml`` ``ramp_toll_min`` is added
  by the scenario graph, once per traversal of a ramp between an expressway and a local road).

Drivable classes
----------------
:data:`DRIVABLE_CLASSES` (motorway … tertiary, their ``*_link``, unclassified, residential,
living_street, service) are kept; footway, cycleway, path, steps, pedestrian, track, construction,
… are dropped, as are ways closed to cars (``no`` or ``private`` in the most specific of
``motorcar``, ``motor_vehicle``, ``access``), ``area=yes``, and service ways for parking aisles,
driveways, alleys and emergency access (the exclusions of OSMnx's ``network_type="drive_service"``).
Downloads ask OSMnx for ``network_type="drive"`` by default, which also leaves out every
``highway=service`` way; pass ``network_type="drive_service"`` to get the same classes as a
local file. By default only the largest *strongly* connected component is kept, so that every
node can reach every other (a place snapped onto a cut-off one-way fragment would otherwise be
unreachable).

Errors
------
Problems with a file raise :class:`~tx_transport.errors.NetworkDataError` naming the file and
the fix; a failed download raises :class:`~tx_transport.errors.QueryError`.
"""

from __future__ import annotations

import ast
import math
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import networkx as nx

from ._files import atomic_write
from .errors import NetworkDataError, QueryError, TxTransportError
from .geo import WGS84, haversine_km

#: OSM ``highway`` classes usable by cars (all have a speed in ``modes.yaml`` ``road.classes``).
DRIVABLE_CLASSES: tuple[str, ...] = (
    "motorway", "motorway_link", "trunk", "trunk_link", "primary", "primary_link", "secondary", "secondary_link",
    "tertiary", "tertiary_link", "unclassified", "residential", "living_street", "service",
)
#: ``service=*`` values not driven through (OSMnx ``network_type="drive_service"`` excludes them too).
EXCLUDED_SERVICE = frozenset({"alley", "driveway", "emergency_access", "parking", "parking_aisle", "private"})
#: ``access`` / ``motor_vehicle`` / ``motorcar`` values that close a way to cars.
EXCLUDED_ACCESS = frozenset({"no", "private"})
#: Legal maximum speed in China (km/h), the upper clip of a posted ``maxspeed``.
LEGAL_MAX_KMH = 120.0
#: Lower clip of a posted ``maxspeed`` (km/h).
MIN_POSTED_KMH = 5.0
#: Way tags read from OSM data in addition to OSMnx's ``settings.useful_tags_way``.
EXTRA_WAY_TAGS = ("motor_vehicle", "motorcar")
#: Recorded in ``G.graph["speed_rule"]`` of the graphs built here.
SPEED_RULE = "tx_transport.osm: modes.yaml road.classes design_speed_kmh x operating_factor; maxspeed replaces the design speed"

_UNIT_TO_KMH = {"": 1.0, "km/h": 1.0, "kmh": 1.0, "kph": 1.0, "kmph": 1.0, "mph": 1.609344, "knots": 1.852, "knot": 1.852, "kn": 1.852}
_MAXSPEED_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-z/]*)\s*$")


# --------------------------------------------------------------------------- the speed rule
_MODES_CACHE: dict[tuple[str, int], dict[str, Any]] = {}


def _default_modes() -> dict[str, Any]:
    """The embedded bundle's parsed modes.yaml (re-read when the file changes; do not mutate)."""
    from .io import DEFAULT_BUNDLE, _read_yaml

    f = DEFAULT_BUNDLE / "modes.yaml"
    key = (str(f), f.stat().st_mtime_ns if f.exists() else 0)
    if key not in _MODES_CACHE:
        _MODES_CACHE.clear()
        _MODES_CACHE[key] = _read_yaml(f)
    return _MODES_CACHE[key]


def _road_classes(modes: dict[str, Any] | None) -> tuple[dict[str, Any], str]:
    m = _default_modes() if modes is None else modes
    road = m.get("road", m) if isinstance(m, dict) else None
    if not isinstance(road, dict) or not isinstance(road.get("classes"), dict):
        raise NetworkDataError("modes.yaml", "road.classes", "no road classes in the modes given",
                               "pass the parsed modes.yaml of a bundle (e.g. net.modes) or None for the embedded one")
    return road["classes"], str(road.get("default_class", "primary"))


def chinese_speed_table(modes: dict[str, Any] | None = None) -> dict[str, float]:
    """Model speed (km/h) of each OSM ``highway`` class: JTG design speed × operating factor.

    Parameters
    ----------
    modes : dict, optional
        The parsed ``modes.yaml`` of a bundle (e.g. ``net.modes``). Default: the embedded
        bundle's.

    Returns
    -------
    dict of str to float
        ``{"motorway": 102.0, "primary": 60.0, ...}``, usable as
        ``osmnx.add_edge_speeds(G, hwy_speeds=chinese_speed_table())``. Note that OSMnx then
        uses a posted ``maxspeed`` as is, whereas :func:`edge_speed_kph` applies the operating
        factor to it (see the module docstring).
    """
    classes, _ = _road_classes(modes)
    return {hw: float(c["design_speed_kmh"]) * float(c["operating_factor"]) for hw, c in classes.items()}


def _maybe_list(value: Any) -> Any:
    """A list from a list, tuple, set or the string form of a list (GraphML), else ``value``."""
    if isinstance(value, (list, tuple, set)):
        return list(value)
    if isinstance(value, str) and value.startswith("[") and value.endswith("]"):
        try:
            v = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            return value
        return list(v) if isinstance(v, (list, tuple)) else value
    return value


def parse_maxspeed(value: Any) -> float | None:
    """A posted OSM ``maxspeed`` in km/h, or ``None`` when it gives no usable number.

    Parameters
    ----------
    value : str, number, list or None
        The tag value. Several values (``"80;60"``, ``"80|60"``, a list after OSMnx
        simplification) give the lowest; units ``mph`` and ``knots`` are converted; ``km/h``,
        ``kmh``, ``kph`` or no unit mean km/h.

    Returns
    -------
    float or None
        ``None`` for missing, empty, zero or non-numeric values (``"none"``, ``"signals"``,
        ``"walk"``, ``"CN:urban"``), so that the class speed applies.

    Examples
    --------
    >>> parse_maxspeed("80;60"), parse_maxspeed("60 mph"), parse_maxspeed("signals")
    (60.0, 96.56064, None)
    """
    value = _maybe_list(value)
    if isinstance(value, list):
        parts: list[Any] = value
    elif value is None:
        return None
    elif isinstance(value, (int, float)):
        parts = [value]
    else:
        parts = re.split(r"[;|]", str(value))
    speeds = []
    for p in parts:
        if isinstance(p, bool) or p is None:
            continue
        if isinstance(p, (int, float)):
            kmh = float(p)
        else:
            m = _MAXSPEED_RE.match(str(p).strip().lower())
            if not m or m.group(2) not in _UNIT_TO_KMH:
                continue
            kmh = float(m.group(1)) * _UNIT_TO_KMH[m.group(2)]
        if math.isfinite(kmh) and kmh > 0:
            speeds.append(kmh)
    return min(speeds) if speeds else None


def normalise_highway(value: Any) -> str | None:
    """One OSM ``highway`` class: the first element of a list (OSMnx simplification), else the value."""
    value = _maybe_list(value)
    if isinstance(value, list):
        value = value[0] if value else None
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return str(value).strip()


def edge_speed_kph(highway: Any, maxspeed: Any = None, modes: dict[str, Any] | None = None) -> float:
    """Model free-flow speed (km/h) of one road: the rule of this module's docstring.

    Parameters
    ----------
    highway : str or list
        OSM class (a list takes its first element; an unknown class takes
        ``modes.yaml`` ``road.default_class``).
    maxspeed : str, number, list or None
        Posted limit (:func:`parse_maxspeed`); when usable it replaces the class design speed,
        clipped to [:data:`MIN_POSTED_KMH`, :data:`LEGAL_MAX_KMH`].
    modes : dict, optional
        Parsed ``modes.yaml`` (default: the embedded bundle's).

    Returns
    -------
    float
        ``design_or_posted_kmh × operating_factor``.
    """
    classes, default = _road_classes(modes)
    hw = normalise_highway(highway)
    c = classes.get(hw) if hw is not None else None
    if c is None:
        c = classes[default]
    posted = parse_maxspeed(maxspeed)
    design = float(c["design_speed_kmh"]) if posted is None else min(max(posted, MIN_POSTED_KMH), LEGAL_MAX_KMH)
    return design * float(c["operating_factor"])


# --------------------------------------------------------------------------- graph preparation
def _closed_to_cars(d: dict[str, Any]) -> bool:
    # the most specific access tag present decides (motorcar > motor_vehicle > access), as in OSM
    for tag in ("motorcar", "motor_vehicle", "access"):
        v = _maybe_list(d.get(tag))
        vals = [x for x in (v if isinstance(v, list) else [v]) if x is not None and str(x).strip() not in ("", "nan")]
        if vals:
            if any(str(x).strip().lower() in EXCLUDED_ACCESS for x in vals):
                return True
            break
    if str(d.get("area", "")).lower() == "yes":
        return True
    sv = _maybe_list(d.get("service"))
    svals = sv if isinstance(sv, list) else [sv]
    return any(str(x).strip().lower() in EXCLUDED_SERVICE for x in svals if x is not None)


def check_crs(G: nx.MultiDiGraph, source: str = "road graph") -> None:
    """Raise :class:`NetworkDataError` unless ``G`` is in EPSG:4326 with lon/lat node coordinates.

    Parameters
    ----------
    G : networkx.MultiDiGraph
    source : str
        Named in the error (a file name, or a description).
    """
    crs = G.graph.get("crs")
    if crs is not None:
        from pyproj import CRS

        try:
            epsg = CRS.from_user_input(crs).to_epsg()
        except Exception:  # noqa: BLE001 - any unreadable CRS is the same user error
            epsg = None
        if epsg != 4326:
            raise NetworkDataError(source, "graph crs", f"the road graph is in {crs}, not EPSG:4326 (lon/lat degrees)",
                                   "reproject it with osmnx.project_graph(G, to_latlong=True)")
    for n, d in G.nodes(data=True):
        x, y = d.get("x"), d.get("y")
        try:
            ok = -180.0 <= float(x) <= 180.0 and -90.0 <= float(y) <= 90.0  # type: ignore[arg-type]
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise NetworkDataError(source, f"node {n!r}", f"has x={x!r}, y={y!r}, not lon/lat degrees",
                                   "give every node x (longitude) and y (latitude) in EPSG:4326, "
                                   "e.g. osmnx.project_graph(G, to_latlong=True)")


def _edge_length_m(G: nx.MultiDiGraph, u: Any, v: Any, d: dict[str, Any]) -> float:
    try:
        length = float(d["length"])
        if math.isfinite(length) and length >= 0:
            return length
    except (KeyError, TypeError, ValueError):
        pass
    g = d.get("geometry")
    if g is not None and hasattr(g, "coords"):
        xy = list(g.coords)
    else:
        xy = [(G.nodes[u]["x"], G.nodes[u]["y"]), (G.nodes[v]["x"], G.nodes[v]["y"])]
    return sum(float(haversine_km(a[1], a[0], b[1], b[0])) for a, b in zip(xy[:-1], xy[1:])) * 1000.0


def set_speeds(G: nx.MultiDiGraph, modes: dict[str, Any] | None = None) -> nx.MultiDiGraph:
    """Set ``highway`` (one class), ``length`` (if missing), ``speed_kph`` and ``travel_time`` in place.

    Parameters
    ----------
    G : networkx.MultiDiGraph
        OSMnx-style graph in EPSG:4326.
    modes : dict, optional
        Parsed ``modes.yaml`` (default: the embedded bundle's).

    Returns
    -------
    networkx.MultiDiGraph
        ``G`` itself.
    """
    if modes is None:
        modes = _default_modes()
    for u, v, d in G.edges(data=True):
        d["highway"] = normalise_highway(d.get("highway"))
        d["length"] = _edge_length_m(G, u, v, d)
        d["speed_kph"] = edge_speed_kph(d["highway"], d.get("maxspeed"), modes)
        d["travel_time"] = d["length"] / (d["speed_kph"] / 3.6)
    G.graph["speed_rule"] = SPEED_RULE
    return G


def prepare_road_graph(G: nx.MultiDiGraph, modes: dict[str, Any] | None = None, *, retain_all: bool = False,
                       source: str = "road graph") -> nx.MultiDiGraph:
    """Turn any OSMnx graph into a road layer: drivable classes, simplified, timed, EPSG:4326.

    Parameters
    ----------
    G : networkx.MultiDiGraph
        OSMnx graph in EPSG:4326 (not modified).
    modes : dict, optional
        Parsed ``modes.yaml`` (default: the embedded bundle's).
    retain_all : bool, default False
        Keep every component; by default only the largest strongly connected one.
    source : str
        Named in errors.

    Returns
    -------
    networkx.MultiDiGraph
        A new graph; see the module docstring for what is kept and how speeds are set.

    Raises
    ------
    NetworkDataError
        A projected graph, or no drivable way.
    """
    import osmnx as ox

    if not isinstance(G, nx.MultiDiGraph):
        raise NetworkDataError(source, "graph", f"is a {type(G).__name__}, not a networkx.MultiDiGraph",
                               "build it with osmnx (graph_from_xml, graph_from_place, load_graphml)")
    check_crs(G, source)
    H = G.copy()
    drop = []
    for u, v, k, d in H.edges(keys=True, data=True):
        d["highway"] = normalise_highway(d.get("highway"))
        if d["highway"] not in DRIVABLE_CLASSES or _closed_to_cars(d):
            drop.append((u, v, k))
    H.remove_edges_from(drop)
    H.remove_nodes_from([n for n in list(H.nodes) if H.degree(n) == 0])
    if H.number_of_edges() == 0:
        found = sorted({str(normalise_highway(d.get("highway"))) for _, _, d in G.edges(data=True)})
        raise NetworkDataError(source, "ways", f"has no drivable way (highway classes found: {', '.join(found) or 'none'})",
                               f"give an extract with roads of the classes {', '.join(DRIVABLE_CLASSES)}")
    if not retain_all:
        H = ox.truncate.largest_component(H, strongly=True)
    if not H.graph.get("simplified"):
        H = ox.simplify_graph(H, edge_attrs_differ=["highway", "maxspeed"])
    H.graph["crs"] = WGS84
    return set_speeds(H, modes)


@contextmanager
def osmnx_settings(**overrides: Any) -> Iterator[None]:
    """Temporarily change ``osmnx.settings`` (restored on exit, also after an error).

    Examples
    --------
    Fail fast when there is no network::

        with osmnx_settings(requests_timeout=2, overpass_rate_limit=False, doh_url_template=None):
            road_graph_from_place("Tongxiang, Zhejiang, China")
    """
    import osmnx as ox

    unknown = [k for k in overrides if not hasattr(ox.settings, k)]
    if unknown:
        raise QueryError(f"unknown osmnx setting(s) {unknown}; see osmnx.settings")
    saved = {k: getattr(ox.settings, k) for k in overrides}
    try:
        for k, v in overrides.items():
            setattr(ox.settings, k, v)
        yield
    finally:
        for k, v in saved.items():
            setattr(ox.settings, k, v)


def _way_tags() -> list[str]:
    import osmnx as ox

    return list(dict.fromkeys([*ox.settings.useful_tags_way, "highway", "maxspeed", "oneway", "access", "service", "area",
                               *EXTRA_WAY_TAGS]))


# --------------------------------------------------------------------------- local files
def road_graph_from_xml(path: str | os.PathLike[str], modes: dict[str, Any] | None = None, *,
                        retain_all: bool = False) -> nx.MultiDiGraph:
    """Read an OSM XML file (``.osm``, ``.osm.gz``, ``.osm.bz2``) as a timed road layer, offline.

    Parameters
    ----------
    path : str or path-like
        The file, e.g. an export from openstreetmap.org or an Overpass ``out meta;`` result, or
        ``networks/samples/wuzhen_roads.osm``.
    modes : dict, optional
        Parsed ``modes.yaml`` whose speed rule applies (default: the embedded bundle's; pass
        ``net.modes`` for another bundle).
    retain_all : bool, default False
        Keep every component (default: the largest strongly connected one).

    Returns
    -------
    networkx.MultiDiGraph
        Simplified OSMnx graph, EPSG:4326, integer OSM node ids; edges carry ``highway``,
        ``length`` (m), ``speed_kph``, ``travel_time`` (s) and the OSM tags (``maxspeed``,
        ``oneway``, ``name``, ``ref``, ...).

    Raises
    ------
    NetworkDataError
        The file is missing, is not OSM XML, or has no drivable way; the message names the file
        and the fix.
    """
    import osmnx as ox

    p = Path(path)
    fix_export = ("export the area as OSM XML (openstreetmap.org Export, or Overpass with 'out meta;'); "
                  "a .pbf must be converted first, e.g. 'osmium cat in.osm.pbf -o out.osm'")
    if not p.is_file():
        where = f" (relative to {Path.cwd()})" if not p.is_absolute() else ""
        raise NetworkDataError(str(p), "file", f"does not exist{where}" if not p.exists() else "is not a file",
                               f"check the path, or {fix_export}")
    try:
        with osmnx_settings(useful_tags_way=_way_tags()):
            G = ox.graph_from_xml(p, simplify=False, retain_all=True)
    except Exception as exc:  # noqa: BLE001 - every parser failure is the same user error
        from xml.etree.ElementTree import ParseError
        from xml.sax import SAXParseException

        if isinstance(exc, SAXParseException):
            where, problem = f"line {exc.getLineNumber()}, column {exc.getColumnNumber()}", exc.getMessage()
        elif isinstance(exc, ParseError):
            line, col = getattr(exc, "position", (0, 0))
            where, problem = f"line {line}, column {col}", str(exc)
        elif type(exc).__name__ == "InsufficientResponseError":
            where, problem = "file", "holds no OSM node or way"
        else:
            where, problem = "file", f"{type(exc).__name__}: {exc}"
        raise NetworkDataError(str(p), where, f"cannot be read as OSM XML ({problem})", fix_export) from None
    if G.number_of_edges() == 0:
        raise NetworkDataError(str(p), "ways", "holds no OSM way", fix_export)
    return prepare_road_graph(G, modes, retain_all=retain_all, source=str(p))


# --------------------------------------------------------------------------- downloads
def _download(fn_name: str, what: str, args: tuple[Any, ...], kw: dict[str, Any], modes: dict[str, Any] | None,
              retain_all: bool, timeout_s: float | None) -> nx.MultiDiGraph:
    import osmnx as ox

    for fixed in ("simplify", "retain_all"):
        if fixed in kw:
            raise QueryError(f"{fixed!r} is set by tx_transport.osm (the graph is filtered, then simplified, "
                             f"afterwards); remove it from the call")
    network_type = kw.pop("network_type", "drive")
    if network_type not in ("drive", "drive_service"):
        raise QueryError(f"network_type {network_type!r}: the road layer is for cars; use 'drive' or 'drive_service'")
    settings: dict[str, Any] = {"useful_tags_way": _way_tags()}
    if timeout_s is not None:
        settings["requests_timeout"] = float(timeout_s)
    try:
        with osmnx_settings(**settings):
            G = getattr(ox, fn_name)(*args, network_type=network_type, simplify=False, retain_all=True, **kw)
    except TxTransportError:
        raise
    except Exception as exc:  # noqa: BLE001 - network, geocoder and server errors alike
        raise QueryError(f"could not download the OSM road network for {what} ({type(exc).__name__}: {exc}). "
                         f"Check the network connection and the query, or work offline with "
                         f"road_graph_from_xml('<file>.osm') or load_road_graphml('<file>.graphml')") from exc
    return prepare_road_graph(G, modes, retain_all=retain_all, source=f"OSM download for {what}")


def road_graph_from_place(query: str | dict[str, str] | list[str | dict[str, str]], *, modes: dict[str, Any] | None = None,
                          retain_all: bool = False, timeout_s: float | None = None, **kw: Any) -> nx.MultiDiGraph:
    """Download the drivable OSM network of a place (``osmnx.graph_from_place``), timed by the speed rule.

    Needs the internet (Nominatim, then Overpass). Save the result with
    :func:`save_road_graphml` to work offline afterwards.

    Parameters
    ----------
    query : str, dict or list
        A Nominatim place query, e.g. ``"Tongxiang, Zhejiang, China"`` (it must resolve to a
        polygon).
    modes : dict, optional
        Parsed ``modes.yaml`` (default: the embedded bundle's).
    retain_all : bool, default False
        Keep every component (default: the largest strongly connected one).
    timeout_s : float, optional
        ``osmnx.settings.requests_timeout`` for this call (default: OSMnx's, 180 s).
    **kw
        Passed to ``osmnx.graph_from_place`` (``which_result``, ``truncate_by_edge``,
        ``custom_filter``), and ``network_type``: ``"drive"`` (default, no ``highway=service``)
        or ``"drive_service"`` (service roads too, as a local file keeps them).

    Returns
    -------
    networkx.MultiDiGraph
        As :func:`road_graph_from_xml`.

    Raises
    ------
    QueryError
        The download or the geocoding failed (no network, unknown place, server error).
    """
    return _download("graph_from_place", repr(query), (query,), kw, modes, retain_all, timeout_s)


def road_graph_from_bbox(bbox: tuple[float, float, float, float], *, modes: dict[str, Any] | None = None,
                         retain_all: bool = False, timeout_s: float | None = None, **kw: Any) -> nx.MultiDiGraph:
    """Download the drivable OSM network inside a box (``osmnx.graph_from_bbox``), timed by the speed rule.

    Parameters
    ----------
    bbox : tuple of float
        ``(west, south, east, north)`` in degrees (OSMnx 2 order: left, bottom, right, top),
        e.g. ``(120.40, 30.55, 120.65, 30.78)`` for Wuzhen–Tongxiang.
    modes, retain_all, timeout_s, **kw
        As :func:`road_graph_from_place`.

    Returns
    -------
    networkx.MultiDiGraph

    Raises
    ------
    QueryError
        A malformed box (checked before any download), or the download failed.
    """
    try:
        west, south, east, north = (float(x) for x in bbox)
    except (TypeError, ValueError):
        raise QueryError(f"bbox {bbox!r} is not four numbers (west, south, east, north)") from None
    if not (-180 <= west < east <= 180 and -90 <= south < north <= 90):
        raise QueryError(f"bbox {bbox!r} is not (west, south, east, north) in degrees with west < east and south < north")
    return _download("graph_from_bbox", f"bbox {(west, south, east, north)}", ((west, south, east, north),), kw,
                     modes, retain_all, timeout_s)


# --------------------------------------------------------------------------- GraphML
def load_road_graphml(path: str | os.PathLike[str]) -> nx.MultiDiGraph:
    """Read a road graph saved by :func:`save_road_graphml` (or ``osmnx.save_graphml``).

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    networkx.MultiDiGraph
        As saved (attribute types restored by ``osmnx.load_graphml``: integer node ids, float
        ``length``/``speed_kph``/``travel_time``, shapely ``geometry``).

    Raises
    ------
    NetworkDataError
        Missing or unreadable file, or a graph not in EPSG:4326.
    """
    import osmnx as ox

    p = Path(path)
    if not p.is_file():
        raise NetworkDataError(str(p), "file", "does not exist" if not p.exists() else "is not a file",
                               "check the path; save a graph with tx_transport.osm.save_road_graphml(G, path)")
    try:
        G = ox.load_graphml(p)
    except Exception as exc:  # noqa: BLE001 - every parser failure is the same user error
        raise NetworkDataError(str(p), "file", f"cannot be read as an OSMnx GraphML graph ({type(exc).__name__}: {exc})",
                               "save it again with tx_transport.osm.save_road_graphml(G, path)") from None
    check_crs(G, str(p))
    return G


def save_road_graphml(G: nx.MultiDiGraph, path: str | os.PathLike[str]) -> Path:
    """Write ``G`` as GraphML atomically: a temporary file in the same folder, then ``os.replace``.

    A reader never sees a half-written file, and if writing fails the previous file at ``path``
    is left untouched and the temporary file is removed.

    Parameters
    ----------
    G : networkx.MultiDiGraph
        OSMnx-style graph.
    path : str or path-like
        Target file (its folder is created if needed).

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    import osmnx as ox

    return atomic_write(path, lambda tmp: ox.save_graphml(G, tmp))


def sample_path() -> Path:
    """Path of the bundled sample ``networks/samples/wuzhen_roads.osm`` (see its README)."""
    from .io import DEFAULT_BUNDLE

    return DEFAULT_BUNDLE / "samples" / "wuzhen_roads.osm"


__all__ = [
    "DRIVABLE_CLASSES",
    "chinese_speed_table",
    "check_crs",
    "edge_speed_kph",
    "load_road_graphml",
    "normalise_highway",
    "osmnx_settings",
    "parse_maxspeed",
    "prepare_road_graph",
    "road_graph_from_bbox",
    "road_graph_from_place",
    "road_graph_from_xml",
    "sample_path",
    "save_road_graphml",
    "set_speeds",
]
