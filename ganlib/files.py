"""Safe files: atomic writes, one writer per folder, and clean-up after writers that were killed.

An atomic write goes to a temporary file beside the target, is flushed to disk, then renamed over the
target: a crash mid-write leaves the previous file intact, and readers never see a half-written one.

Folder locks need POSIX ``fcntl.flock``. Where Python has no ``fcntl`` (Windows), ``lock_folder`` warns
once per lock and goes on without one, so two processes there can write the same folder.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from io import BytesIO
from pathlib import Path
from typing import Any

try:
    import fcntl
except ImportError:  # not POSIX: lock_folder runs without a lock, and says so when it is used
    fcntl = None  # type: ignore[assignment]

import torch

from .errors import GanlibError

LOCK_FILE = ".ganlib.lock"
# the temporary names atomic_path makes: "." + target name + "." + mkstemp's 8 random characters + ".tmp"
# + the target's suffix; only such files are removed as leftovers
_TMP_RE = re.compile(r"^\..+\.[a-z0-9_]{8}\.tmp(\.[A-Za-z0-9]+)?$")


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path in the target's folder; on success it replaces ``path`` atomically.

    On any failure the temporary file is removed and the exception propagates; ``path`` is untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp" + path.suffix, dir=path.parent)
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; results are ordinary files others may read
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def write_bytes(data: bytes | memoryview, path: str | Path) -> None:
    """Write ``data`` to ``path`` atomically and flushed to disk (a full disk raises ``OSError`` here,
    with its errno, before the target is touched)."""
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def save_torch(obj: Any, path: str | Path) -> None:
    """``torch.save`` made atomic. Serialised in memory first, so that a failing disk gives a plain
    ``OSError`` (torch's own writer reports ENOSPC as an opaque RuntimeError)."""
    buffer = BytesIO()
    torch.save(obj, buffer)
    write_bytes(buffer.getbuffer(), path)


def save_json(obj: Any, path: str | Path) -> None:
    """Write ``obj`` as indented JSON, atomically."""
    write_bytes((json.dumps(obj, indent=1, sort_keys=False) + "\n").encode(), path)


def save_figure(fig: Any, path: str | Path, dpi: int = 100) -> None:
    """Save a matplotlib figure as PNG, atomically."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=dpi, bbox_inches="tight")


def remove_leftovers(folder: str | Path) -> list[str]:
    """Delete the temporary files that killed writers left in ``folder``; return their names.

    Call it only while holding the folder's ``lock_folder``, so that no live writer's file is removed.
    """
    folder = Path(folder)
    removed = []
    for entry in sorted(folder.iterdir()) if folder.is_dir() else []:
        if _TMP_RE.match(entry.name) and entry.is_file():
            entry.unlink(missing_ok=True)
            removed.append(entry.name)
    return removed


@contextmanager
def lock_folder(folder: str | Path) -> Iterator[Path]:
    """Hold ``folder`` (created if missing) for this process alone while the block runs.

    An exclusive ``fcntl.flock`` on ``folder/.ganlib.lock``, which holds the owner's PID. The operating
    system drops the lock when its process ends, however it ends, so a killed owner never leaves a stale
    lock. A second process gets a one-line ``GanlibError`` naming the folder and the owner's PID. The
    folder is also proven writable here (the lock file is created and written), before any work starts.
    Without ``fcntl`` (not POSIX) the lock file is written but not locked, with a one-line warning.
    """
    folder = Path(folder)
    _make_folder(folder)
    path = folder / LOCK_FILE
    fd = _acquire(path, folder)
    try:
        try:
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
        except OSError as exc:
            raise _cannot_write(folder, exc) from None
        yield folder
    finally:
        try:  # removed while still locked, so nobody can lock a file that is about to disappear
            os.unlink(path)
        except OSError:
            pass
        os.close(fd)


def _cannot_write(folder: Path, exc: OSError) -> GanlibError:
    return GanlibError(f"cannot write to {folder} ({os_reason(exc)}); nothing there was changed")


def _make_folder(folder: Path) -> None:
    if folder.exists() and not folder.is_dir():
        raise GanlibError(f"output path {folder} exists and is not a folder; choose a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise GanlibError(f"cannot create the folder {folder} ({os_reason(exc)})") from None


def _acquire(path: Path, folder: Path) -> int:
    """Open and lock ``path``; retry when its owner removed it between our open and our lock."""
    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise _cannot_write(folder, exc) from None
        if fcntl is None:
            warnings.warn(f"ganlib: this system has no fcntl, so {folder} is not locked; run one ganlib process "
                          f"per folder", RuntimeWarning, stacklevel=4)
            return fd
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise GanlibError(f"{folder} is in use by another ganlib process (PID {owner}); wait for it to "
                              f"finish or choose another folder") from None
        try:
            if os.fstat(fd).st_ino == os.stat(path).st_ino:
                return fd
        except FileNotFoundError:
            pass
        os.close(fd)


def os_reason(exc: OSError) -> str:
    """The OS's words for a failed file operation ("No space left on device"), on one line."""
    if exc.errno is not None:
        return os.strerror(exc.errno)
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
