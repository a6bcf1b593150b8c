"""Safe file writing: all-or-nothing outputs.

Every file the library writes goes through :func:`atomic_write` (a temporary sibling, then a
rename over the target); every output *folder* (the report, the comparison tables) goes through
:func:`atomic_folder`: the whole folder is written into a temporary sibling directory, gets a
``manifest.json`` (files, sizes, SHA-256, ``complete: true``) and is then swapped in whole, so a
reader sees the old folder or the new one, never a mix, and files of the old folder that the new
run no longer writes (a scenario that was removed) disappear with it.

Guarantees
----------
- output paths are checked before any work (:func:`check_output_file`,
  :func:`check_output_folder`): an empty path, a folder given as a file, an unwritable parent,
  a folder that is not a previous output of the same kind, ... fail at once;
- ``a/./sub/../x`` is normalised before use, so no stray ``sub/`` is created; parent folders
  created for an output are removed again when the write fails;
- one writer per output folder: a second one fails at once naming the folder (an advisory
  ``flock`` on a hidden sibling lock file, released when the process ends, even when killed);
- every temporary path is registered while it exists, so that an interrupt (see
  :func:`cleanup_temporaries`) leaves nothing behind; the final swap runs with SIGINT/SIGTERM
  deferred, so a signal takes effect before it or after it, never in the middle;
- errors name the path the user gave (:class:`~tx_transport.errors.OutputError`), never a
  temporary name.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import secrets
import shutil
import signal
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from .errors import OutputError

try:  # POSIX advisory locks; without them (Windows) outputs are still atomic, just not locked
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]

MANIFEST = "manifest.json"
_TEMPS: dict[str, None] = {}
_TEMPS_LOCK = threading.Lock()


# --------------------------------------------------------------------------- temporaries
def _register(p: Path) -> None:
    with _TEMPS_LOCK:
        _TEMPS[str(p)] = None


def _unregister(p: Path) -> None:
    with _TEMPS_LOCK:
        _TEMPS.pop(str(p), None)


def _remove(p: str | Path) -> None:
    p = Path(p)
    try:
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p, ignore_errors=True)
        else:
            p.unlink(missing_ok=True)
    except OSError:
        pass


def cleanup_temporaries() -> None:
    """Remove every temporary file, folder and lock file this process still holds.

    Normal code paths remove their temporaries themselves; the CLI calls this after an
    interrupt (Ctrl-C, SIGTERM), in case the signal arrived between creating a temporary and
    entering the block that removes it.
    """
    with _TEMPS_LOCK:
        names = list(_TEMPS)[::-1]
        _TEMPS.clear()
    for n in names:
        _remove(n)


def _temp_sibling(path: Path, tag: str) -> Path:
    """A hidden, unique name next to ``path`` (same folder, so a rename is atomic)."""
    return path.parent / f".{path.name}.{tag}-{os.getpid()}-{secrets.token_hex(4)}{path.suffix if tag == 'tmp' else ''}"


# --------------------------------------------------------------------------- paths
def _real(path: str | os.PathLike[str]) -> Path:
    """Absolute, normalised path (``a/./sub/../x`` -> ``a/x``; symlinks followed)."""
    return Path(os.path.realpath(os.fspath(path)))


def _nearest_existing(p: Path) -> Path:
    while not p.exists() and p != p.parent:
        p = p.parent
    return p


def _check_parent(real: Path, user: str, flag: str) -> None:
    anc = _nearest_existing(real.parent)
    if not anc.is_dir():
        raise OutputError(f"{flag} {user}: {anc} is a file, not a folder; choose another path")
    if not os.access(anc, os.W_OK | os.X_OK):
        raise OutputError(f"{flag} {user}: no permission to write in {anc}; choose another folder")


def _empty_path(path: Any, flag: str, example: str) -> str:
    s = os.fspath(path) if isinstance(path, (str, os.PathLike)) else None
    if s is None:
        raise OutputError(f"{flag} must be a path, got {type(path).__name__}")
    if not s.strip():
        raise OutputError(f"{flag} is empty; give a path, e.g. {flag} {example}")
    if "\0" in s:
        raise OutputError(f"{flag} contains a NUL character; give a plain path")
    return s


def check_output_file(path: str | os.PathLike[str], *, flag: str = "-o", suffixes: tuple[str, ...] = ()) -> Path:
    """Check, before any work, that ``path`` can be written as a file; return it normalised.

    Raises
    ------
    OutputError
        Empty path, wrong suffix, an existing folder, or a parent that is a file or not writable.
    """
    s = _empty_path(path, flag, f"out{suffixes[0] if suffixes else '.txt'}")
    from .errors import cut

    user = cut(s, 200)
    real = _real(s)
    if real.is_dir():
        example = Path(s) / ("out" + (suffixes[0] if suffixes else ""))
        raise OutputError(f"{flag} {user} is an existing folder; give a file name inside it, e.g. {cut(example, 200)}")
    if suffixes and real.suffix.lower() not in suffixes:
        raise OutputError(f"{flag} must name a {'/'.join(suffixes)} file, got {cut(Path(s).name, 80)!r}")
    _check_parent(real, user, flag)
    return real


def _read_manifest(folder: Path) -> dict[str, Any] | None:
    try:
        m = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return m if isinstance(m, dict) and m.get("generator") == "tx-transport" else None


#: Files that mark a folder written by tx-transport before manifests existed, by kind.
_LEGACY = {"report": ("report.md",), "compare": ("goals.csv", "od.csv")}


def check_output_folder(path: str | os.PathLike[str], *, kind: str, flag: str = "--out") -> Path:
    """Check, before any work, that ``path`` can be (re)placed by an output folder of ``kind``.

    The folder may not exist yet, be empty, or hold a previous output of the same kind (its
    ``manifest.json``, or for older outputs the kind's marker files) and nothing else: a folder
    that holds other files is refused rather than replaced.

    Returns
    -------
    pathlib.Path
        The normalised absolute path.
    """
    s = _empty_path(path, flag, f"{kind}/")
    from .errors import cut

    user = cut(s, 200)
    real = _real(s)
    cwd = _real(os.getcwd())
    if real == cwd or real in cwd.parents:
        raise OutputError(f"{flag} {user} is the current folder or contains it; give a new subfolder, e.g. {flag} {kind}/")
    if real.exists() and not real.is_dir():
        raise OutputError(f"{flag} {user} is a file; give a folder")
    if real.is_dir():
        entries = sorted(p.name for p in real.iterdir())
        if entries:
            man = _read_manifest(real)
            if man is not None and man.get("kind") == kind:
                listed = {str(f["path"]).split("/")[0] for f in man.get("files") or [] if isinstance(f, dict) and "path" in f}
                extra = [e for e in entries if e not in listed and e != MANIFEST]
                if extra:
                    raise OutputError(f"{flag} {user} holds files that are not part of the previous {kind} ({cut(', '.join(extra), 120)}); "
                                      "move them away or choose another folder")
            elif not all((real / m).is_file() for m in _LEGACY.get(kind, ("\0",))):
                raise OutputError(f"{flag} {user} is a folder that does not hold a tx-transport {kind} (no {MANIFEST}); "
                                  "give a new or empty folder, or delete it first")
            for dirpath, _dirs, _files in os.walk(real):
                if not os.access(dirpath, os.W_OK | os.X_OK):
                    rel = Path(dirpath).relative_to(real)
                    raise OutputError(f"{flag} {user}: {Path(s) / rel} is not writable, so the previous {kind} cannot be replaced; "
                                      "fix its permissions (chmod u+w) or choose another folder")
    _check_parent(real, user, flag)
    return real


def _make_parents(folder: Path) -> list[Path]:
    """Create ``folder`` and its missing parents; return the folders created (outermost first)."""
    missing = []
    p = folder
    while not p.exists() and p != p.parent:
        missing.append(p)
        p = p.parent
    created = []
    for d in reversed(missing):
        try:
            d.mkdir()
        except FileExistsError:
            continue
        created.append(d)
    return created


def _remove_created(created: list[Path]) -> None:
    for d in reversed(created):
        with contextlib.suppress(OSError):
            d.rmdir()


def _as_output_error(exc: OSError, user: str, real: Path, tmp: Path) -> OutputError:
    """An :class:`OutputError` naming the user's path for an error raised on a temporary path."""
    name = exc.filename
    shown = user
    if isinstance(name, (str, bytes, os.PathLike)):
        name = os.fsdecode(name)
        t = str(tmp)
        if name.startswith(t):
            shown = user.rstrip("/") + name[len(t):]
        elif not name.startswith(str(real.parent) + os.sep + "."):
            shown = name
    what = exc.strerror or str(exc) or type(exc).__name__
    err = OutputError(f"cannot write {shown}: {what}")
    err.errno = exc.errno
    return err


@contextlib.contextmanager
def _signals_deferred() -> Iterator[None]:
    """Hold SIGINT/SIGTERM back during a short critical section (the final swap of a folder):
    a signal that arrives meanwhile is recorded and re-raised when the section ends, so it
    takes effect before the section or after it, never in the middle. Main thread only (signal
    handlers can only be set there); elsewhere the section just runs."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    got: list[int] = []

    def record(signum: int, frame: object) -> None:
        got.append(signum)

    sigs = (signal.SIGINT, signal.SIGTERM)
    old = {s: signal.getsignal(s) for s in sigs}
    for s in sigs:
        signal.signal(s, record)
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h if h is not None else signal.SIG_DFL)
        if got:
            signal.raise_signal(got[0])


# --------------------------------------------------------------------------- files
def atomic_write(path: str | os.PathLike[str], writer: Callable[[Path], None]) -> Path:
    """Write ``path`` through a temporary file in the same folder, then rename it over the target.

    ``writer`` receives the temporary path (which does not exist yet; it keeps the target's
    suffix) and writes the whole file there. A reader never sees a half-written file; if
    ``writer`` fails or is interrupted, the previous file at ``path`` is left untouched, the
    temporary file is removed, and so are parent folders created for it. An existing file keeps
    its permissions. ``a/./sub/../x.csv`` is written as ``a/x.csv``.

    Raises
    ------
    OutputError
        A file-system error, naming ``path`` (also an :class:`OSError`).
    """
    user = os.fspath(path)
    real = _real(user)
    created = _make_parents(real.parent)
    tmp = _temp_sibling(real, "tmp")
    _register(tmp)
    ok = False
    try:
        writer(tmp)
        os.chmod(tmp, real.stat().st_mode & 0o777 if real.exists() else 0o644)
        os.replace(tmp, real)
        ok = True
    except OSError as exc:
        if isinstance(exc, OutputError):
            raise
        raise _as_output_error(exc, user, real, tmp) from None
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        _unregister(tmp)
        if not ok:
            _remove_created(created)
    return real


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """:func:`atomic_write` of ``data``."""
    return atomic_write(path, lambda p: p.write_bytes(data))


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    """:func:`atomic_write` of ``text`` as UTF-8, newlines written as given."""
    return atomic_write_bytes(path, text.encode("utf-8"))


# --------------------------------------------------------------------------- folders
class _FolderLock:
    """An exclusive, non-blocking ``flock`` on ``.<name>.lock`` next to the output folder."""

    def __init__(self, real: Path, user: str, flag: str) -> None:
        self.path = real.parent / f".{real.name}.lock"
        self.fd: int | None = None
        if fcntl is None:  # pragma: no cover
            return
        while True:
            _register(self.path)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                os.close(fd)
                if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                    raise
                _unregister(self.path)  # the file belongs to the other writer
                raise OutputError(f"{flag} {user} is being written by another tx-transport process (lock {self.path.name}); "
                                  "wait for it to finish or choose another folder") from None
            try:
                same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
            except FileNotFoundError:
                same = False
            if same:
                self.fd = fd
                os.write(fd, f"{os.getpid()}\n".encode())
                return
            os.close(fd)  # the previous holder removed the file after we opened it: retry

    def release(self) -> None:
        if self.fd is not None:
            with contextlib.suppress(OSError):
                self.path.unlink()
            os.close(self.fd)
            self.fd = None
        _unregister(self.path)


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths (Linux ``renameat2(RENAME_EXCHANGE)``); False if unsupported."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    fn.restype = ctypes.c_int
    at_fdcwd, rename_exchange = -100, 2
    if fn(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    e = ctypes.get_errno()
    if e in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(e, os.strerror(e), str(b))


def _manifest(folder: Path, kind: str, meta: dict[str, Any]) -> dict[str, Any]:
    files = []
    for dirpath, dirs, names in os.walk(folder):
        dirs.sort()
        for n in sorted(names):
            p = Path(dirpath) / n
            rel = p.relative_to(folder).as_posix()
            if rel == MANIFEST:
                continue
            data = p.read_bytes()
            files.append({"path": rel, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()})
    from ._version import __version__

    return {"generator": "tx-transport", "version": __version__, "kind": kind, **meta, "complete": True, "files": files}


@contextlib.contextmanager
def atomic_folder(path: str | os.PathLike[str], *, kind: str, flag: str = "--out",
                  meta: dict[str, Any] | None = None) -> Iterator[Path]:
    """Write an output folder all-or-nothing.

    Yields a temporary sibling folder to write into; when the block ends without an error, a
    ``manifest.json`` is added and the folder replaces ``path`` in one step (the previous
    folder, if any, is removed whole). On an error or an interrupt the temporary folder is
    removed and ``path`` is left as it was.

    Parameters
    ----------
    path : path-like
        The output folder (see :func:`check_output_folder` for what may already be there).
    kind : str
        What the folder holds (``"report"``, ``"compare"``), recorded in the manifest.
    flag : str
        How the path is named in error messages (the CLI option).
    meta : dict, optional
        Extra JSON-serialisable keys for the manifest.

    Raises
    ------
    OutputError
        The path cannot be used, another process writes it, or a file-system error (naming
        the user's path).
    """
    user = os.fspath(path) if isinstance(path, (str, os.PathLike)) else str(path)
    real = check_output_folder(path, kind=kind, flag=flag)
    created = _make_parents(real.parent)
    lock = None
    tmp = _temp_sibling(real, "tmp")
    ok = False
    try:
        lock = _FolderLock(real, user, flag)
        _register(tmp)
        tmp.mkdir()
        try:
            yield tmp
            data = json.dumps(_manifest(tmp, kind, meta or {}), ensure_ascii=False, indent=1) + "\n"
            (tmp / MANIFEST).write_text(data, encoding="utf-8")
            check_output_folder(path, kind=kind, flag=flag)  # still replaceable after the work
            with _signals_deferred():
                if real.exists():
                    if not _exchange(tmp, real):
                        old = _temp_sibling(real, "old")
                        _register(old)
                        os.rename(real, old)
                        os.rename(tmp, real)
                        _remove(old)
                        _unregister(old)
                else:
                    os.rename(tmp, real)
                _remove(tmp)  # after an exchange: the previous folder
            ok = True
        except OutputError as exc:  # e.g. from atomic_write inside the folder: name the user's path
            if str(tmp) not in str(exc):
                raise
            err = OutputError(str(exc).replace(str(tmp), user.rstrip("/") or user))
            err.errno = exc.errno
            raise err from None
        except OSError as exc:
            raise _as_output_error(exc, user, real, tmp) from None
    finally:
        _remove(tmp)
        _unregister(tmp)
        if lock is not None:
            lock.release()
        if not ok:
            _remove_created(created)


__all__ = ["MANIFEST", "atomic_folder", "atomic_write", "atomic_write_bytes", "atomic_write_text", "check_output_file",
           "check_output_folder", "cleanup_temporaries"]
