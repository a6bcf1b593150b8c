"""Trace between two stations on the OSM rail graph from the nearest point of the nearest segment.

``build_bundle.build_rail`` used to start each trace at the OSM rail *node* nearest to a station.
The graph's edges are up to tens of kilometres long, so that node can lie kilometres along the
line (or on a siding): the trace then ran past the station and back, a dead-end spur that was
counted twice in rail-km (Tongxiang, issue 10). Here each station is projected onto its nearest
segment, the segment is split there for the search, and the trace runs projection to projection.
"""

from __future__ import annotations

import networkx as nx
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer
from shapely.geometry import LineString, Point

METRIC_PROJ = "+proj=aeqd +lat_0=31 +lon_0=119.5 +datum=WGS84 +units=m"


class RailTracer:
    """Nearest-segment projection and shortest paths on an OSM rail graph (``length_km`` on edges)."""

    def __init__(self, g: nx.Graph, nodes: pd.DataFrame):
        self.g, self.nodes = g, nodes
        self._to_m = Transformer.from_crs("EPSG:4326", METRIC_PROJ, always_xy=True)
        self.edges = sorted((min(u, v), max(u, v)) for u, v in g.edges if u != v)
        x, y = self._to_m.transform(nodes.lon.values, nodes.lat.values)
        pos = dict(zip(nodes.index, zip(x, y)))
        self.lines = np.array([LineString([pos[u], pos[v]]) for u, v in self.edges])
        self.tree = shapely.STRtree(self.lines)

    def project(self, lat: float, lon: float) -> tuple[int, int, float, float]:
        """(u, v, fraction from u, distance in m) of the point's projection onto its nearest segment."""
        p = Point(*self._to_m.transform(lon, lat))
        i = int(self.tree.nearest(p))
        u, v = self.edges[i]
        return u, v, float(self.lines[i].project(p, normalized=True)), float(self.lines[i].distance(p))

    def trace(self, a: tuple[float, float], b: tuple[float, float]) -> tuple[list[tuple[float, float]], float]:
        """Coordinates (lon, lat) and length (km, along the graph's edge lengths) from point a to point b (lat, lon).

        Raises ``networkx.NetworkXNoPath`` when the two segments are not connected.
        """
        ends = []
        g = self.g
        added = [("trace", 0), ("trace", 1)]
        try:
            for q, (lat, lon) in zip(added, (a, b)):
                u, v, t, _ = self.project(lat, lon)
                length = g[u][v]["length_km"]
                g.add_edge(q, u, length_km=t * length)
                g.add_edge(q, v, length_km=(1.0 - t) * length)
                nu, nv = self.nodes.loc[u], self.nodes.loc[v]
                ends.append(((u, v), t, (float(nu.lon + t * (nv.lon - nu.lon)), float(nu.lat + t * (nv.lat - nu.lat)))))
            if ends[0][0] == ends[1][0]:  # both on one segment: the direct piece
                g.add_edge(added[0], added[1], length_km=abs(ends[0][1] - ends[1][1]) * g[ends[0][0][0]][ends[0][0][1]]["length_km"])
            path = nx.shortest_path(g, added[0], added[1], weight="length_km")
            km = nx.path_weight(g, path, "length_km")
        finally:
            g.remove_nodes_from([q for q in added if q in g])
        coords = [ends[0][2]] + [(float(self.nodes.lon[n]), float(self.nodes.lat[n])) for n in path[1:-1]] + [ends[1][2]]
        return coords, float(km)
