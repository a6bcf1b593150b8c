"""Safe file writing: every file the library writes goes through :func:`atomic_write`."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path


def atomic_write(path: str | os.PathLike[str], writer: Callable[[Path], None]) -> Path:
    """Write ``path`` through a temporary file in the same folder, then rename it over the target.

    ``writer`` receives the temporary path (which does not exist yet) and writes the whole file
    there. A reader never sees a half-written file; if ``writer`` fails, the previous file at
    ``path`` is left untouched and the temporary file is removed. An existing file keeps its
    permissions.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=path.suffix or ".tmp")
    os.close(fd)
    tmp = Path(name)
    try:
        tmp.unlink()  # some writers (GeoPackage, GraphML) refuse or append to an existing file
        writer(tmp)
        os.chmod(tmp, path.stat().st_mode & 0o777 if path.exists() else 0o644)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """:func:`atomic_write` of ``data``."""
    return atomic_write(path, lambda p: p.write_bytes(data))


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    """:func:`atomic_write` of ``text`` as UTF-8, newlines written as given."""
    return atomic_write_bytes(path, text.encode("utf-8"))
