"""Reading the files of a bundle as text: encodings, YAML (safe, no duplicate keys, bounded
aliases), CSV (header, ragged rows) and JSON. A file that cannot be read adds a problem and
reads as ``None``; nothing here raises on bad input."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from .problems import Problems

#: How many more values YAML aliases (``*name``) may add to a file before it is refused (a
#: "billion laughs" file expands a few lines into billions of values).
MAX_ALIAS_EXPANSION = 100_000
#: libyaml's safe loader when PyYAML was built with it (same result, several times faster).
_BASE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
SAVE_UTF8 = "save the file as UTF-8 (in most editors: Save with Encoding -> UTF-8)"


class _AliasBomb(yaml.YAMLError):
    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem


def _check_aliases(root: Any) -> None:
    """Refuse a node graph whose aliases expand to far more values than it holds, or that
    refers to itself (computed on the shared nodes, without expanding anything)."""
    size: dict[int, int] = {}
    busy: set[int] = set()
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if key in size:
            continue
        kids = [c for pair in node.value for c in pair] if isinstance(node, yaml.MappingNode) else \
            list(node.value) if isinstance(node, yaml.SequenceNode) else []
        if not done:
            busy.add(key)
            stack.append((node, True))
            for c in kids:
                if id(c) in busy:
                    raise _AliasBomb("an alias refers to a value that contains it (a recursive structure)")
                if id(c) not in size:
                    stack.append((c, False))
            continue
        busy.discard(key)
        size[key] = 1 + sum(size[id(c)] for c in kids)
        if size[key] - len(size) > MAX_ALIAS_EXPANSION:
            raise _AliasBomb(f"aliases (*name) expand it to more than {MAX_ALIAS_EXPANSION:,} extra values")


class _YAML_LOADER(_BASE_LOADER):  # type: ignore[misc,valid-type]  # noqa: N801
    """Safe loader that rejects a key given twice in one mapping (YAML would keep the last
    silently) and alias bombs (see :func:`_check_aliases`)."""

    def get_single_data(self) -> Any:
        node = self.get_single_node()
        if node is None:
            return None
        _check_aliases(node)
        return self.construct_document(node)


def _no_duplicate_keys(loader: Any, node: Any, deep: bool = False) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        try:
            dup = key in seen
            seen.add(key)
        except TypeError:  # an unhashable key ({[a]: b}): let the constructor report it
            dup = False
        if dup:
            raise yaml.constructor.ConstructorError(None, None, f"key {key!r} appears twice in one mapping", key_node.start_mark)
    return loader.construct_mapping(node, deep=deep)


_YAML_LOADER.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _no_duplicate_keys)


def decode(raw: bytes, path: Path, problems: Problems) -> str | None:
    """UTF-8 text of a file (a UTF-8 byte-order mark is fine); UTF-16 and legacy encodings are problems."""
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in raw[:4]:
        problems.add(path, "file", "is UTF-16 (or UTF-32) text, not UTF-8", SAVE_UTF8)
        return None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        problems.add(path, f"line {line}", "is not UTF-8 text (GB18030/GBK or another legacy encoding?)", SAVE_UTF8)
        return None


def read_bytes(path: Path, problems: Problems) -> bytes | None:
    try:
        return path.read_bytes()
    except IsADirectoryError:
        problems.add(path, "file", "is a folder, not a file", f"replace it by the file {path.name} (see networks/README.md)")
    except OSError as exc:
        problems.add(path, "file", f"cannot be read ({exc.strerror or exc})", "check that it is a readable file")
    return None


def missing(path: Path, problems: Problems, fix: str | None = None) -> None:
    problems.add(path, "file", "required file is missing",
                 fix or f"create {path.name} (see networks/README.md) or load another bundle")


class Unreadable:
    """Marker: the file exists but could not be read (a problem says why)."""

    def __repr__(self) -> str:
        return "UNREADABLE"


UNREADABLE: Any = Unreadable()


def read_yaml(path: Path, problems: Problems) -> Any:
    """The parsed YAML document (``None`` when the file is empty), or :data:`UNREADABLE`."""
    raw = read_bytes(path, problems)
    if raw is None:
        return UNREADABLE
    text = decode(raw, path, problems)
    if text is None:
        return UNREADABLE
    try:
        return yaml.load(text, Loader=_YAML_LOADER)  # noqa: S506 (a safe loader)
    except _AliasBomb as exc:
        problems.add(path, "aliases", f"is refused: {exc.problem}", "write the values out instead of repeating aliases")
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "file"
        problems.add(path, where, f"is not valid YAML ({getattr(exc, 'problem', None) or exc})", "correct the YAML syntax at that position")
    except RecursionError:
        problems.add(path, "file", "is nested too deeply to read", "flatten the structure")
    return UNREADABLE


def read_json(path: Path, problems: Problems) -> Any:
    """The parsed JSON document, or :data:`UNREADABLE`."""
    raw = read_bytes(path, problems)
    if raw is None:
        return UNREADABLE
    text = decode(raw, path, problems)
    if text is None:
        return UNREADABLE
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        problems.add(path, f"line {exc.lineno}, column {exc.colno}", f"is not valid JSON ({exc.msg})",
                     "correct the JSON at that position, or rebuild the file with networks/build/build_bundle.py")
    except RecursionError:
        problems.add(path, "file", "is nested too deeply to read", "rebuild the file")
    return UNREADABLE


def read_csv(path: Path, problems: Problems, required_cols: list[str], numeric: tuple[str, ...] = ()) -> pd.DataFrame | None:
    """A CSV as text columns (``numeric`` columns are parsed by pandas, fast for large layers, and
    come back as text only when some value is not a number; the caller reports it). ``None``
    after a problem. Checks the encoding, the header (required, unique columns) and that no row
    has fewer or more fields than the header (a truncated or shifted line)."""
    raw = read_bytes(path, problems)
    if raw is None:
        return None
    text = decode(raw, path, problems)
    if text is None:
        return None
    if not text.strip():
        problems.add(path, "file", "is empty", f"write the header row {required_cols} and the records")
        return None
    header = next(csv.reader(io.StringIO(text.split("\n", 1)[0].rstrip("\r"))), [])
    dup = sorted({c for c in header if header.count(c) > 1})
    if dup:
        problems.add(path, "header", f"column(s) {dup} appear twice", "give every column once")
        return None
    missing_cols = [c for c in required_cols if c not in header]
    if missing_cols:
        problems.add(path, "header", f"missing column(s) {missing_cols}", f"add the column(s); required: {required_cols}")
        return None
    dtype: Any = {c: str for c in header if c not in numeric}
    try:
        df = pd.read_csv(io.StringIO(text), dtype=dtype, keep_default_na=False)
    except pd.errors.ParserError as exc:
        problems.add(path, "file", f"is not a readable CSV ({str(exc).strip()})",
                     "every row needs as many comma-separated fields as the header (quote values that hold commas)")
        return None
    except (ValueError, OverflowError) as exc:
        problems.add(path, "file", f"is not a readable CSV ({exc})", "save it as comma-separated UTF-8 with one header row")
        return None
    if not isinstance(df.index, pd.RangeIndex) or list(df.columns) != header:
        problems.add(path, "file", "rows have more fields than the header", "remove the extra commas, or quote values that hold commas")
        return None
    short = _short_rows(text, len(header))
    if short:
        rows = [k + 2 for k in short[:5]]
        more = f" (and {len(short) - 5} more)" if len(short) > 5 else ""
        problems.add(path, f"row {rows[0]}" if len(rows) == 1 else f"rows {', '.join(map(str, rows))}{more}",
                     "has fewer fields than the header (a truncated line?)", "complete the row or remove it")
        return None
    return df


def _short_rows(text: str, n_fields: int) -> list[int]:
    """Data records (0-based, blank lines skipped) with fewer fields than the header: pandas fills
    them silently."""
    if '"' not in text:  # the generated layers: count separators, fast
        rows = [ln for ln in text.split("\n")[1:] if ln.strip("\r")]
        return [k for k, ln in enumerate(rows) if ln.count(",") < n_fields - 1]
    recs = [r for r in csv.reader(io.StringIO(text)) if r][1:]
    return [k for k, r in enumerate(recs) if len(r) < n_fields]


__all__ = ["MAX_ALIAS_EXPANSION", "UNREADABLE", "decode", "missing", "read_csv", "read_json", "read_yaml"]
