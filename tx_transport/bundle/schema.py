"""The schema machinery: pydantic v2 models with bounded, typed fields, and the translation of
validation errors into :class:`~tx_transport.bundle.problems.Problem` records.

Every file's schema (in the module named after the file) is built from the field types here:
numbers that refuse text, booleans and non-finite values and carry their bounds, kebab-case ids,
one-of choices, clock times, and references to other files (places, projects, lines, profiles,
feeds, edits) resolved against the bundle's :class:`Refs` passed as validation context. Error
messages name the key and the value and say how to fix it, in the words of
``networks/README.md``.
"""

from __future__ import annotations

import datetime as _dt
import difflib
import math
import re
import types
import typing
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, ClassVar, NoReturn, Union, get_args, get_origin

from pydantic import BaseModel, BeforeValidator, ConfigDict, StrictBool, StrictStr, ValidationError, ValidationInfo
from pydantic_core import PydanticCustomError

from ..errors import NetworkDataError, cut
from .problems import Problem, Problems

#: Placeholder for the key a message is about (filled in when the error is translated).
K = "\x00key\x00"
ID_RE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
README = "see networks/README.md"


# --------------------------------------------------------------------------- base models
class Schema(BaseModel):
    """A mapping with known keys only (a misspelt key would otherwise be ignored silently)."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True, populate_by_name=False)
    #: A record (a line, a class, a scenario): messages name it, and its keys are fields of it.
    __record__: ClassVar[bool] = False


class Record(Schema):
    """A record of a file: errors inside it name the record, then the key."""

    __record__: ClassVar[bool] = True


@dataclass(frozen=True)
class Hint:
    """Annotated metadata: how to word a missing value."""

    missing: str | None = None
    fix: str | None = None


def fail(problem: str, fix: str, *, at: str | None = None) -> NoReturn:
    """Raise a validation error with our own words (``K`` stands for the key)."""
    raise PydanticCustomError("tx", "{problem}", {"problem": problem, "fix": fix, "at": at or ""})


def got(v: Any) -> str:
    """``type value`` for a message, the value cut."""
    return f"{type(v).__name__} {cut(repr(v), 60)}"


def _context(info: ValidationInfo) -> dict[str, Any]:
    return info.context if isinstance(info.context, dict) else {}


# --------------------------------------------------------------------------- field types
def number(*, gt: float | None = None, ge: float | None = None, le: float | None = None, whole: bool = False,
           above: str | None = None, above_fix: str | None = None, below: str | None = None, below_fix: str | None = None) -> Any:
    """A finite number (an integer when ``whole``) within bounds.

    YAML values must be numbers (``120``, not ``"120"``); CSV cells are text and are parsed.
    ``above``/``below`` replace the wording of the ``le``/``ge`` bound messages.
    """

    def check(v: Any, info: ValidationInfo) -> float | int:
        if v is None or (isinstance(v, str) and not v.strip()):
            fail(f"'{K}' is missing", f"give '{K}' a number")
        if isinstance(v, bool):
            fail(f"'{K}' must be a number, got {v!r}", f"write '{K}' as a plain number (true/false is not a number)")
        if isinstance(v, (int, float)):
            x = float(v)
        elif isinstance(v, str):
            try:
                x = float(v)
            except ValueError:
                fail(f"'{K}' is not a number ({cut(repr(v), 60)})", f"write '{K}' as a plain number")
            if not _context(info).get("csv"):
                fail(f"'{K}' is text ({cut(repr(v), 60)}), not a number", f"write '{K}' as a plain number, without quotes")
        else:
            fail(f"'{K}' is not a number (got {got(v)})", f"write '{K}' as a plain number")
        if not math.isfinite(x):
            fail(f"'{K}' is not finite ({cut(repr(v), 40)})", f"give '{K}' a finite number")
        if gt is not None and x <= gt:
            if gt == 0:
                fail(f"'{K}' must be positive, got {x:g}", f"give '{K}' a value > 0 (units as documented in networks/README.md)")
            fail(f"'{K}' must be > {gt:g}, got {x:g}", f"correct '{K}'")
        low = f">= {ge:g}" if ge is not None else f"> {gt:g}" if gt is not None else ""
        span = " and ".join(x for x in (low, f"<= {le:g}" if le is not None else "") if x)
        if ge is not None and x < ge:
            fail(below.format(x=x) if below else f"'{K}' must be >= {ge:g}, got {x:g}", below_fix or f"give '{K}' a value {span}")
        if le is not None and x > le:
            fail(above.format(x=x) if above else f"'{K}' must be <= {le:g}, got {x:g}",
                 above_fix or f"give '{K}' a value {span} (units as documented in networks/README.md)")
        if whole:
            if x != int(x):
                fail(f"'{K}' must be a whole number, got {cut(repr(v), 40)}", f"give '{K}' as an integer")
            return int(x)
        return x

    return Annotated[int if whole else float, BeforeValidator(check), Hint(fix=f"give '{K}' a number")]


#: Minutes a single step may take (port handling, a lock, a station time): 0 to one day.
MAX_STEP_MIN = 1440.0
#: Sanity caps on design and model speeds by mode (km/h): not data, a guard against typos
#: (Chinese design standards top out at 120 km/h for expressways (JTG B01-2014) and 350 km/h for
#: HSR [M]; inland barges run at about 10 km/h).
MAX_SPEED_KMH = {"road": 160.0, "expressway": 160.0, "rail": 450.0, "waterway": 60.0}

Minutes = number(ge=0, le=MAX_STEP_MIN)
Positive = number(gt=0)
NonNegative = number(ge=0)
Year = number(ge=1800, le=2200, whole=True)
Fraction = number(gt=0, le=1, above=f"{K} {{x:g}} is above 1", above_fix="give it as a fraction (0.85, not 85)")
Detour = number(gt=0, ge=1, below=f"'{K}' is {{x:g}}, which would make a link shorter than the straight line",
                below_fix=f"give '{K}' as a factor >= 1 (e.g. 1.3 for a path 30 % longer than the straight line)")


def speed(mode: str) -> Any:
    """A speed in km/h: positive, at most :data:`MAX_SPEED_KMH` of the mode."""
    return number(gt=0, le=MAX_SPEED_KMH[mode])


def text(*, missing: str | None = None, fix: str | None = None, nonempty: bool = False) -> Any:
    """Text (a YAML number or date where text belongs is an error, not silently converted)."""

    def check(v: Any) -> Any:
        if nonempty and (v is None or (isinstance(v, str) and not v.strip())):
            fail(missing or f"'{K}' is empty", fix or f"give '{K}' a value")
        return v

    return Annotated[StrictStr, BeforeValidator(check), Hint(missing=missing, fix=fix)]


Text = text()


def kebab_id(what: str | None = None) -> Any:
    """A kebab-case id: lower-case letters, digits and single hyphens."""

    def check(v: Any) -> str:
        if not isinstance(v, str) or not ID_RE.match(v):
            fail(f"{what or K} {cut(repr(v), 80)} is not a kebab-case id",
                 "use lower-case letters, digits and single hyphens, e.g. 'tongxiang-station'")
        return v

    return Annotated[str, BeforeValidator(check), Hint(fix=f"give '{K}' a kebab-case id")]


Id = kebab_id()


def one_of(values: Iterable[str], *, fix: str | None = None) -> Any:
    """One of a fixed set of words."""
    allowed = tuple(values)

    def check(v: Any) -> str:
        if not isinstance(v, str) or v not in allowed:
            fail(f"{K} {cut(repr(v), 60)} is unknown", fix or f"use one of {sorted(allowed)}")
        return v

    return Annotated[str, BeforeValidator(check), Hint(fix=f"give '{K}': one of {sorted(allowed)}")]


def clock() -> Any:
    """A clock time ``HH:MM`` or ``HH:MM:SS`` (hours may exceed 24), kept as text."""
    from ..transit.timetable import parse_clock

    def check(v: Any) -> str:
        if isinstance(v, int) and not isinstance(v, bool):
            # YAML 1.1 reads an unquoted 07:30 as the base-60 number 450
            fail(f"'{K}' is the number {v}, not a clock time (an unquoted 07:30 reads as a number in YAML)",
                 f"write '{K}' as HH:MM in quotes, e.g. \"07:00\"")
        if not isinstance(v, str):
            fail(f"'{K}' is not a clock time (got {got(v)})", f"write '{K}' as HH:MM in quotes, e.g. \"07:00\"")
        try:
            parse_clock(v, K)
        except ValueError as exc:
            fail(str(exc), f"write '{K}' as HH:MM, e.g. \"07:00\" (quoted)")
        return v

    return Annotated[str, BeforeValidator(check), Hint(fix=f"give '{K}' as HH:MM")]


Clock = clock()


def _date(v: Any) -> str:
    if isinstance(v, _dt.datetime) or isinstance(v, bool):
        fail(f"'{K}' is {got(v)}, not a date", f"write '{K}' as YYYY-MM-DD")
    if isinstance(v, _dt.date):
        return v.isoformat()
    if isinstance(v, str):
        try:
            return _dt.date.fromisoformat(v.strip()).isoformat()
        except ValueError:
            pass
    fail(f"{K} {cut(repr(v), 40)} is not a date", "write it as YYYY-MM-DD")


Date = Annotated[str, BeforeValidator(_date)]
Bool = StrictBool


def ref(kind: str, *, problem: str, fix: str, what: str) -> Any:
    """An id that must exist in another file: ``refs.<kind>`` (a set, or None to skip the check
    when that file could not be read). ``problem``/``fix`` use ``{v}`` for the value and
    ``{choices}`` for the known ids."""

    def check(v: Any, info: ValidationInfo) -> str:
        if not isinstance(v, str):
            fail(f"'{K}' items must be {what} ids, got {got(v)}" if isinstance(v, (list, dict)) else
                 f"'{K}' must be a {what} id, got {got(v)}", f"write it as one {what} id per item, e.g. [id-1, id-2]")
        refs = _context(info).get("refs")
        known = getattr(refs, kind, None) if refs is not None else None
        if known is not None and v not in known:
            close = difflib.get_close_matches(v, sorted(known), n=3) if len(v) < 200 else []
            hint = f"did you mean {', '.join(repr(c) for c in close)}? " if close and "{choices}" not in fix else ""
            fail(problem.format(v=cut(repr(v), 80)), hint + fix.format(choices=sorted(known)))
        return v

    return Annotated[str, BeforeValidator(check)]


def station_ref() -> Any:
    """A station: a place id, or the Chinese timetable name of a station (resolved to the id)."""
    from ..transit.config import station_id

    def check(v: Any, info: ValidationInfo) -> str:
        refs = _context(info).get("refs")
        places = getattr(refs, "places", None)
        if not isinstance(v, str):
            fail(f"a station must be a place id or a Chinese station name, got {got(v)}", "write one station per item")
        if places is None:
            return v
        cache = refs.station_cache
        if v not in cache:
            try:
                cache[v] = station_id(v, places, Path("-"), "-")
            except NetworkDataError as exc:
                cache[v] = exc
        hit = cache[v]
        if isinstance(hit, NetworkDataError):
            fail(hit.problem, hit.fix)
        return hit

    return Annotated[str, BeforeValidator(check)]


StationRef = station_ref()
PlaceRef = ref("places_ids", problem="unknown place {v}", fix="use a place id of places.csv", what="place")


# --------------------------------------------------------------------------- references known to the bundle
@dataclass
class Refs:
    """Ids the files may refer to, read leniently from the raw files (None: that file could not
    be read, so references to it are not checked rather than all reported as unknown)."""

    places: Any = None                  # DataFrame (id index; name_zh, kind, lat, lon) for station names
    places_ids: set[str] | None = None
    projects: set[str] | None = None
    lines: set[str] | None = None
    road_classes: set[str] | None = None
    plan_classes: set[str] | None = None
    rail_classes: set[str] | None = None
    water_classes: set[str] | None = None
    areas: set[str] | None = None
    profiles: set[str] | None = None
    road_profiles: set[str] | None = None
    feeds: set[str] | None = None
    edits: set[str] | None = None
    scenarios: set[str] | None = None
    adcodes: set[str] | None = None
    corridor_nodes: set[str] | None = None
    station_cache: dict[str, Any] = field(default_factory=dict)  # station reference -> place id (or the error)
    design_speeds: dict[str, float] | None = None   # project id -> design speed (km/h), where given
    project_modes: dict[str, str] | None = None     # project id -> rail / expressway / road / waterway


# --------------------------------------------------------------------------- errors -> problems
#: How list items and dict entries are named in records: list/dict key -> (label, id keys).
LABELS: dict[str, tuple[str, tuple[str, ...]]] = {
    "lines": ("line", ("id",)), "corridors": ("corridor", ("id",)), "links": ("link", ("id",)),
    "channels": ("channel", ("id",)), "stations": ("station", ()), "nodes": ("node", ("id", "place")),
    "edits": ("edit", ("id",)), "feeds": ("feed", ("id",)), "one_hour_circles": ("one_hour_circles", ("id",)),
    "scenarios": ("scenario", ()), "profiles": ("profile", ()),
}
#: Lists whose items without an id are named "<label> N" rather than "<list> item N".
_SHORT = {"stations", "nodes"}


def _unwrap(tp: Any) -> Any:
    while True:
        origin = get_origin(tp)
        if origin is Annotated:
            tp = get_args(tp)[0]
        elif origin in (Union, types.UnionType):
            args = [a for a in get_args(tp) if a is not type(None)]
            if len(args) != 1:
                return tp
            tp = args[0]
        else:
            return tp


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def _field(model: type[BaseModel], key: Any) -> tuple[str, Any] | None:
    for name, f in model.model_fields.items():
        if (f.alias or name) == key:
            return name, f
    return None


def _allowed(model: type[BaseModel]) -> list[str]:
    return sorted(f.alias or n for n, f in model.model_fields.items())


def _label(name: str, index: Any, data: Any, *, item: bool) -> str | None:
    if name not in LABELS:
        return None
    label, id_keys = LABELS[name]
    if not item:
        return f"{label} {cut(repr(index), 80)}"
    for k in id_keys:
        if isinstance(data, dict) and isinstance(data.get(k), str):
            return f"{label} {cut(repr(data[k]), 80)}"
    return f"{label} {index + 1}" if name in _SHORT else f"{name} item {index + 1}"


def _steps(loc: tuple[Any, ...], model: type[BaseModel], data: Any) -> list[dict[str, Any]]:
    """Walk ``loc`` through the model and the data: one step per part (field, list item, dict key)."""
    steps: list[dict[str, Any]] = []
    tp: Any = model
    parent = ""
    for p in loc:
        if p == "[key]":
            break
        t = _unwrap(tp)
        if _is_model(t) and isinstance(p, str):
            hit = _field(t, p)
            steps.append({"kind": "field", "name": p, "holder": t, "info": hit[1] if hit else None})
            parent = p
            tp = hit[1].annotation if hit else Any
            data = data.get(p) if isinstance(data, dict) else None
        elif get_origin(t) is list and isinstance(p, int):
            item = data[p] if isinstance(data, list) and 0 <= p < len(data) else None
            steps.append({"kind": "item", "text": f" item {p + 1}", "label": _label(parent, p, item, item=True), "parent": parent})
            tp, data = (get_args(t)[0] if get_args(t) else Any), item
        elif get_origin(t) is dict:
            item = data.get(p) if isinstance(data, dict) else None
            steps.append({"kind": "key", "text": f".{p}", "label": _label(parent, p, item, item=False), "parent": parent})
            tp, data = (get_args(t)[1] if len(get_args(t)) > 1 else Any), item
        else:
            steps.append({"kind": "key", "text": f".{p}" if isinstance(p, str) else f" item {p + 1}", "label": None, "parent": parent})
            tp, data = Any, None
        u = _unwrap(tp)
        steps[-1]["record"] = _is_model(u) and getattr(u, "__record__", False)
    return steps


def _render(steps: list[dict[str, Any]], include_last_field: bool) -> list[str]:
    segs: list[str] = []
    cur = ""
    for n, st in enumerate(steps):
        if st["kind"] == "field":
            if n == len(steps) - 1 and not include_last_field:
                break
            cur = f"{cur}.{st['name']}" if cur else st["name"]
        elif st["label"] is not None:
            par = st["parent"]
            if par and (cur == par or cur.endswith("." + par)):
                cur = cur[: -len(par)].rstrip(".")
            if cur:
                segs.append(cur)
            segs.append(st["label"])
            cur = ""
            continue
        else:
            cur = f"{cur}{st['text']}" if cur else st["text"].lstrip(". ")
        if st.get("record") and cur:
            segs.append(cur)
            cur = ""
    if cur:
        segs.append(cur)
    return segs


def _hint(field_info: Any) -> Hint:
    for m in getattr(field_info, "metadata", []) or []:
        if isinstance(m, Hint):
            return m
    ann = getattr(field_info, "annotation", None)
    for a in get_args(ann) if get_origin(ann) is Annotated else ():
        if isinstance(a, Hint):
            return a
    for a in typing.get_args(ann) or ():  # Optional[Annotated[...]]
        if get_origin(a) is Annotated:
            for m in get_args(a)[1:]:
                if isinstance(m, Hint):
                    return m
    return Hint()


_CONTAINER = {"model_type", "dict_type", "list_type", "model_attributes_type"}


def translate(err: dict[str, Any], model: type[BaseModel], data: Any) -> tuple[str, str | None, str, str]:
    """(record path, key, problem, fix) of one pydantic error (record relative to the validated value)."""
    typ = err["type"]
    loc = tuple(err.get("loc") or ())
    v = err.get("input")
    steps = _steps(loc, model, data)
    fields = [st for st in steps if st["kind"] == "field"]
    key = fields[-1]["name"] if fields else ""
    holder = fields[-1]["holder"] if fields else None
    field_info = fields[-1]["info"] if fields else None
    last_is_field = bool(steps) and steps[-1]["kind"] == "field"
    include = typ in _CONTAINER or not (last_is_field and getattr(steps[-1]["holder"], "__record__", False))
    record = ", ".join(s for s in _render(steps, include) if s)
    name = key or "value"
    if typ == "tx":
        ctx = err.get("ctx") or {}
        problem, fix = str(ctx.get("problem", err.get("msg"))), str(ctx.get("fix", README))
        if ctx.get("at"):
            record = f"{record}, {ctx['at']}" if record else str(ctx["at"])
    elif typ == "missing":
        h = _hint(field_info)
        problem = h.missing or f"'{K}' is missing"
        fix = h.fix or f"add '{K}' ({README})"
    elif typ == "extra_forbidden":
        allowed = _allowed(holder) if holder is not None else []
        bad = loc[-1] if loc else v
        close = difflib.get_close_matches(str(bad), allowed, n=1)
        problem = f"unknown key {cut(repr(bad), 60)}"
        fix = (f"did you mean {close[0]!r}? " if close else "") + f"allowed keys: {', '.join(allowed)}"
    elif typ in ("model_type", "dict_type", "model_attributes_type"):
        problem = f"must be a mapping of keys to values, got {got(v)}"
        fix = "write it as 'key: value' lines or {key: value, ...} (" + README + ")"
    elif typ == "list_type":
        problem = f"'{K}' must be a list, got {got(v)}"
        fix = (f"write it as {K}: [{cut(v, 60)}] or as '- ' items" if isinstance(v, str)
               else f"write each of '{K}' as a '- ' item or [a, b]")
    elif typ in ("string_type", "string_sub_type"):
        if loc and loc[-1] == "[key]":
            problem, fix = f"key {cut(repr(v), 60)} must be text", "write the key as text (in quotes if it looks like a number)"
        else:
            problem = f"'{K}' must be text, got {got(v)}"
            fix = f"write '{K}' as text (in quotes if it looks like a number, a date or true/false)"
    elif typ in ("bool_type", "bool_parsing"):
        problem = f"'{K}' must be true or false, got {got(v)}"
        fix = f"write {K}: true or {K}: false without quotes, or remove the key"
    else:
        problem, fix = f"'{K}': {err.get('msg')} (got {got(v)})", README
    return record, key or None, problem.replace(K, name), fix.replace(K, name)


def check(model: type[BaseModel], data: Any, *, file: str | Path, record: str, problems: Problems,
          context: dict[str, Any] | None = None) -> Any:
    """Validate ``data`` against ``model``; every error becomes a problem of ``file``/``record``.
    Returns the model instance, or None after problems."""
    try:
        return model.model_validate(data, context=context or {})
    except ValidationError as exc:
        for err in exc.errors(include_url=False):
            sub, key, problem, fix = translate(err, model, data)
            rec = ", ".join(s for s in (record, sub) if s) or "top level"
            problems.items.append(Problem(str(file), rec, problem, fix, key))
        return None
    except RecursionError:
        problems.add(file, record or "top level", "is nested too deeply", "flatten the structure")
        return None


def unique(ids: list[Any], file: str | Path, what: str, problems: Problems, record: Callable[[str], str] | None = None) -> None:
    """Every id once (``record(id)`` names it; default ``"<what> 'id'"``)."""
    seen: set[str] = set()
    for i in ids:
        if not isinstance(i, str):
            continue
        if i in seen:
            problems.add(file, record(i) if record else f"{what} {i!r}", f"duplicate {what} id", f"give each {what} a unique id")
        seen.add(i)


__all__ = ["ID_RE", "MAX_SPEED_KMH", "MAX_STEP_MIN", "Bool", "Clock", "Date", "Detour", "Fraction", "Hint", "Id", "K", "Minutes",
           "NonNegative", "PlaceRef", "Positive", "Record", "Refs", "Schema", "StationRef", "Text", "Year", "check", "fail", "got",
           "kebab_id", "number", "one_of", "ref", "speed", "text", "translate", "unique"]
