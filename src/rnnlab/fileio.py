"""Atomic file writing — the ground floor every module that writes a file stands on.

A file is written under a temporary name in the same folder, flushed and ``fsync``-ed, then
renamed over the target with ``os.replace`` (atomic on POSIX), and the folder is ``fsync``-ed so
the rename itself survives a power cut. At any instant the target holds either its old content
or the new one — never a mixture, never a truncated file. New files get the mode the user's
umask gives (``tempfile`` alone would make them 0600).

>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> atomic_write_text(d / "a.txt", "hello")
>>> (d / "a.txt").read_text()
'hello'
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path


def current_umask() -> int:
    """The process's umask, read without changing it where possible (``/proc/self/status`` on
    Linux): setting it to 0 and back, the only portable way, opens a moment in which another
    thread's new files would be world-writable."""
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o077)                   # (the fallback: briefly stricter, never looser)
    os.umask(mask)
    return mask


def umask_mode(base: int = 0o666) -> int:
    """``base`` with the process's umask applied: the mode a new file (0o666) or folder (0o777) gets."""
    return base & ~current_umask()


def fsync_dir(path: str | os.PathLike) -> None:
    """Make a rename inside ``path`` durable (no-op where folders cannot be opened)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file in the same folder, fsync and ``os.replace``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # mkstemp: created exclusively with mode 0600 (nobody else can open it meanwhile), then given
    # the mode the user's umask asks for just before the rename makes it visible
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, umask_mode())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    fsync_dir(path.parent)


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))
