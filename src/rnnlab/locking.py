"""One writer per folder: an exclusive ``flock`` on the folder itself, held by the writing process.

Two processes pointed at the same run folder or checkpoint folder would interleave their files
(one's checkpoint, the other's history). :func:`acquire` takes an exclusive, non-blocking
``fcntl.flock`` on the folder's own file descriptor; a second process is refused with
:class:`FolderInUseError` naming the folder and the holder's pid (read from ``/proc/locks``
where there is one).

Why the folder and not a lock file inside it: nothing is added to the run (a finished run folder
holds only its results), and a lock can never go *stale* — the kernel drops a flock when its
holder dies, even by SIGKILL, so the next process simply takes it over. Locks are re-entrant
within one process (a run that locks its folder may lock it again, e.g. through its checkpoint
writer). Where ``fcntl`` is missing (Windows) locking is a no-op.

>>> import tempfile
>>> d = tempfile.mkdtemp()
>>> with FolderLock(d, "run folder"):
...     holder(d) is None        # this process holds it: no *other* holder
True
"""
from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

from .errors import FolderInUseError  # noqa: F401  (raised here; defined with the other errors)

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

_held: dict[str, tuple[int, int]] = {}          # real folder path -> (fd, count) held by this process
_guard = threading.Lock()


def _key(folder: str | os.PathLike) -> str:
    return os.path.realpath(folder)


def holder(folder: str | os.PathLike) -> int | None:
    """The pid of *another* live process holding ``folder``'s lock (-1: pid unknown), else None."""
    if fcntl is None or _key(folder) in _held:
        return None
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            return _flock_pid(fd) or -1
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def _flock_pid(fd: int) -> int | None:
    """The pid holding a flock on ``fd``'s inode, from ``/proc/locks`` (Linux); None if unknown."""
    st = os.fstat(fd)
    want = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"
    try:
        with open("/proc/locks", encoding="ascii", errors="replace") as fh:
            for line in fh:
                parts = line.split()
                if "->" in parts:                 # a waiter, not a holder
                    continue
                if len(parts) >= 6 and parts[1] == "FLOCK" and parts[5].lower() == want:
                    pid = int(parts[4])
                    if pid != os.getpid():
                        return pid
    except (OSError, ValueError):
        return None
    return None


def acquire(folder: str | os.PathLike, what: str = "folder") -> None:
    """Lock ``folder`` (created if missing) for this process, or raise :class:`FolderInUseError`."""
    if fcntl is None:
        return
    Path(folder).mkdir(parents=True, exist_ok=True)
    key = _key(folder)
    with _guard:
        if key in _held:
            fd, count = _held[key]
            _held[key] = (fd, count + 1)
            return
        fd = os.open(folder, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            pid = _flock_pid(fd)
            os.close(fd)
            who = f"process {pid}" if pid else "another process"
            raise FolderInUseError(f"{folder}: this {what} is in use by {who}; wait for it to finish, stop it, "
                                   "or use another folder") from None
        _held[key] = (fd, 1)


def claim(folder: str | os.PathLike, what: str = "folder") -> None:
    """Hold ``folder``'s lock from now on (until :func:`release_all_under` or the process ends):
    what a writer calls before each write — the first call locks, later ones cost one lookup."""
    if fcntl is None or _key(folder) in _held:
        return
    acquire(folder, what)


def release(folder: str | os.PathLike) -> None:
    """Undo one :func:`acquire` of ``folder``; the last one unlocks (the file stays, harmless)."""
    key = _key(folder)
    with _guard:
        if key not in _held:
            return
        fd, count = _held[key]
        if count > 1:
            _held[key] = (fd, count - 1)
            return
        del _held[key]
        os.close(fd)                             # closing drops the flock


def release_all_under(folder: str | os.PathLike) -> None:
    """Drop every lock this process holds on ``folder`` or inside it (before it is renamed or deleted)."""
    root = _key(folder)
    with _guard:
        keys = [k for k in _held if k == root or k.startswith(root + os.sep)]
        for k in keys:
            fd, _ = _held.pop(k)
            os.close(fd)


class FolderLock:
    """``with FolderLock(folder, "run folder"): ...`` — :func:`acquire` on entry, :func:`release` on exit."""

    def __init__(self, folder: str | os.PathLike, what: str = "folder") -> None:
        self.folder, self.what = Path(folder), what

    def __enter__(self) -> "FolderLock":
        acquire(self.folder, self.what)
        return self

    def __exit__(self, *exc: Any) -> None:
        release(self.folder)
