"""Timetables: GTFS feeds in and out, scenario service edits, and the RAPTOR router.

- :mod:`.feed` reads GTFS feeds (gtfs-kit) into :class:`~.timetable.Timetable` tables;
- :mod:`.edits` applies a scenario's service edits (Conveyal-style modifications) as data;
- :mod:`.timetable` holds the tables and compiles them to arrays;
- :mod:`.raptor` routes on the compiled arrays (earliest arrival, departure windows, fastest
  journeys of the day, journeys with their trains).
"""

from .feed import merge_timetables, read_feed
from .raptor import CompiledTimetable, Leg
from .timetable import Timetable, clock, parse_clock

__all__ = ["CompiledTimetable", "Leg", "Timetable", "clock", "merge_timetables", "parse_clock", "read_feed"]
