"""``modes.yaml``: road classes, peak factors, urban areas, connectors, rail classes and station
times, waterway classes (speeds and fixed times the graph is built from)."""

from __future__ import annotations

from typing import Any

from pydantic import model_validator

from .base import Context
from .readers import UNREADABLE
from .schema import Detour, Fraction, Id, Minutes, Record, Schema, Text, check, fail, number, ref, speed, text

RoadClassRef = ref("road_classes", problem="{v} is not one of road.classes", fix="name a class of road.classes ({choices})",
                   what="road class")
Adcode = text()


class RoadClass(Record):
    """``road.classes.<osm highway>``."""

    design_speed_kmh: speed("road")  # type: ignore[valid-type]
    operating_factor: Fraction
    peak_factor: Fraction | None = None
    jtg: Text | None = None


class Disc(Schema):
    place: ref("places_ids", problem="unknown place {v}", fix="use a place id of places.csv", what="place")  # type: ignore[valid-type]
    urban_population: number(gt=0, whole=True)  # type: ignore[valid-type]
    m2_per_resident: number(gt=0, le=10_000)  # type: ignore[valid-type]


class UrbanArea(Record):
    """``road.areas.<id>``: speeds inside an urban core, and how its polygon is built."""

    name_en: Text | None = None
    free_flow_kmh: speed("road")  # type: ignore[valid-type]
    peak_kmh: speed("road")  # type: ignore[valid-type]
    districts: list[text(nonempty=True)] | None = None  # type: ignore[valid-type]
    disc: Disc | None = None
    source: text(nonempty=True, missing="has no 'source'", fix="say where the speeds come from")  # type: ignore[valid-type]

    @model_validator(mode="after")
    def _speeds_and_shape(self) -> Any:
        if self.peak_kmh > self.free_flow_kmh:
            fail(f"peak_kmh {self.peak_kmh:g} is above free_flow_kmh {self.free_flow_kmh:g}",
                 "peak speeds cannot exceed free-flow speeds; check the two values")
        if (self.districts is None) == (self.disc is None):
            fail("needs either 'districts' (adcodes) or 'disc' (place, urban_population, m2_per_resident), not both or neither",
                 "give one of the two (see networks/README.md, modes.yaml road.areas)")
        return self


class RoadSection(Schema):
    classes: dict[str, RoadClass]
    areas: dict[Id, UrbanArea] = {}  # type: ignore[valid-type]
    plan_classes: dict[str, ref("road_classes", problem="maps to {v}, which is not one of road.classes",  # type: ignore[valid-type]
                                fix="map it to one of {choices}", what="road class")] = {}
    default_class: RoadClassRef  # type: ignore[valid-type]
    ramp_toll_min: Minutes
    connector_detour: Detour
    connector_class: RoadClassRef | None = None  # type: ignore[valid-type]
    connector_speed_kmh: speed("road") | None = None  # type: ignore[valid-type]
    connector_sectors: number(ge=1, le=36, whole=True) | None = None  # type: ignore[valid-type]
    connector_max_km: number(ge=0, le=100) | None = None  # type: ignore[valid-type]
    connector_count: number(ge=1, le=50, whole=True) | None = None  # type: ignore[valid-type]
    schematic_detour: Detour | None = None

    @model_validator(mode="after")
    def _connector_speed(self) -> Any:
        if self.connector_class is None and self.connector_speed_kmh is None:
            fail("connectors have neither 'connector_class' nor 'connector_speed_kmh'",
                 "give connector_class (a class of road.classes) or connector_speed_kmh (km/h)")
        if not self.classes:
            fail("'classes' is empty", "give the road classes (OSM highway tags) with their speeds")
        return self


class RailClass(Record):
    """``rail.classes.<class>``: train dynamics."""

    accel_ms2: number(gt=0, le=5)  # type: ignore[valid-type]
    decel_ms2: number(gt=0, le=5)  # type: ignore[valid-type]
    dwell_min: number(ge=0, le=60)  # type: ignore[valid-type]


class RailStation(Schema):
    enter_min: Minutes
    exit_min: Minutes


class RailSection(Schema):
    classes: dict[str, RailClass]
    running_time_supplement: number(ge=0, le=1) | None = None  # type: ignore[valid-type]
    station: RailStation


class WaterClass(Record):
    speed_kmh: speed("waterway")  # type: ignore[valid-type]
    vessel: Text | None = None


class WaterSection(Schema):
    classes: dict[str, WaterClass] = {}
    port_transfer_min: Minutes | None = None
    lock_min: Minutes | None = None


class ModesFile(Schema):
    """modes.yaml."""

    road: RoadSection
    rail: RailSection
    waterway: WaterSection | None = None


def load_modes(ctx: Context) -> dict[str, Any] | None:
    """The parsed modes.yaml (as written), or None after problems."""
    data = ctx.raw.get("modes.yaml")
    f = ctx.path("modes.yaml")
    if data is UNREADABLE:
        return None
    if data is None:
        if f.exists():
            ctx.problems.add(f, "file", "is empty", "write the road, rail and waterway sections (see networks/README.md)")
        return None
    m = check(ModesFile, data, file=f, record="", problems=ctx.problems, context=ctx.context())
    return data if m is not None else None


__all__ = ["ModesFile", "load_modes"]
