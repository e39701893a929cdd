"""Where data files live — one search order for the library, the command line and the tests.

The package ships no data. :func:`find_data_file` looks for a file named by its path relative to
a data directory (e.g. ``"ucr/GunPoint_TRAIN.ts"``) in this order:

1. the ``path`` argument (a file, or a directory that holds ``relpath`` or its base name) — on the
   command line, a task's ``--data`` option; when given it is the only place looked at;
2. the folder given to :func:`data_dir_override` (``rnnlab run TASK --data DIR`` for the tasks
   whose config has no ``data`` option of its own);
3. ``$RNNLAB_DATA/relpath``;
4. the per-user cache, ``$XDG_CACHE_HOME/rnnlab/relpath`` (``~/.cache/rnnlab/relpath`` when
   ``XDG_CACHE_HOME`` is unset);
5. the documented fallbacks (:func:`fallback_dirs`): ``shared/data`` in the current folder and in
   its parent, and beside a source checkout (``<checkout>/../shared/data``) — where a course
   machine keeps the data next to the repository. ``RNNLAB_DATA_FALLBACKS=0`` switches them off;
6. if a ``url`` is given, a download into the cache (written to a temporary file, checked against
   ``sha256`` when given, then moved into place with :func:`os.replace`, so an interrupted or
   corrupt download never leaves a partial file behind).

:func:`data_dirs` is that list (2–5, existing folders only); the test suite uses it too
(``tests/_datadir.py``), so the CLI and the tests find the same files. Files found locally are not
re-hashed (that would cost time on every load). Every not-found message names ``--data``.
"""
from __future__ import annotations

import hashlib
import os
import pathlib
import tempfile
import urllib.error
import urllib.request
from contextlib import contextmanager
from typing import Iterator

from ..errors import DataNotFoundError, InputError
from ..fileio import umask_mode

ENV_VAR = "RNNLAB_DATA"
FALLBACKS_VAR = "RNNLAB_DATA_FALLBACKS"
_override: list[pathlib.Path] = []          # set by data_dir_override (the CLI's --data DIR)
_CHUNK = 1 << 20
_TIMEOUT_S = 60.0


def cache_dir() -> pathlib.Path:
    """The per-user cache folder: ``$XDG_CACHE_HOME/rnnlab``, else ``~/.cache/rnnlab``."""
    base = os.environ.get("XDG_CACHE_HOME")
    root = pathlib.Path(base).expanduser() if base else pathlib.Path.home() / ".cache"
    return root / "rnnlab"


def checkout_dir() -> pathlib.Path | None:
    """The source checkout this rnnlab runs from (``<checkout>/src/rnnlab``), or None when installed."""
    here = pathlib.Path(__file__).resolve()
    root = here.parents[3]
    if here.parents[2].name == "src" and (root / "pyproject.toml").is_file():
        return root
    return None


def fallback_dirs() -> list[pathlib.Path]:
    """The documented fallbacks: ``./shared/data``, ``../shared/data`` and ``<checkout>/../shared/data``
    (existing folders only, each once); none when ``$RNNLAB_DATA_FALLBACKS`` is ``0``."""
    if os.environ.get(FALLBACKS_VAR, "1").strip().lower() in ("0", "no", "off", "false"):
        return []
    cwd = pathlib.Path.cwd()
    cands = [cwd / "shared" / "data", cwd.parent / "shared" / "data"]
    root = checkout_dir()
    if root is not None:
        cands += [root / "shared" / "data", root.parent / "shared" / "data"]
    out: list[pathlib.Path] = []
    seen: set[str] = set()
    for c in cands:
        key = os.path.realpath(c)
        if key not in seen and c.is_dir():
            seen.add(key)
            out.append(c)
    return out


@contextmanager
def data_dir_override(path: str | os.PathLike | None) -> Iterator[None]:
    """Search ``path`` (a folder) before everything else while the block runs (``--data DIR``)."""
    if path is None:
        yield
        return
    p = pathlib.Path(path).expanduser()
    if not p.is_dir():
        raise InputError(f"--data: expected a folder holding the data files, got {str(path)!r} "
                         f"({'a file' if p.exists() else 'nothing there'})")
    _override.append(p)
    try:
        yield
    finally:
        _override.remove(p)


def data_dirs() -> list[pathlib.Path]:
    """The folders searched after an explicit path, in order: the ``--data`` folder, ``$RNNLAB_DATA``
    (when set), the cache, then :func:`fallback_dirs`."""
    dirs = list(reversed(_override))
    env = os.environ.get(ENV_VAR)
    if env:
        dirs.append(pathlib.Path(env).expanduser())
    dirs.append(cache_dir())
    return dirs + fallback_dirs()


def _check_relpath(relpath: str) -> pathlib.PurePosixPath:
    rel = pathlib.PurePosixPath(str(relpath).replace(os.sep, "/"))
    if not str(relpath) or rel.is_absolute() or ".." in rel.parts:
        raise InputError(f"relpath: expected a path relative to the data directory "
                         f"(like 'ucr/GunPoint_TRAIN.ts'), got {relpath!r}")
    return rel


def _how_to_provide(rel: pathlib.PurePosixPath, url: str | None) -> str:
    env = os.environ.get(ENV_VAR)
    env_note = f"(now {env!r})" if env else "(now unset)"
    lines = [
        "Provide the file in one of three ways:",
        f"  1. give --data /some/where/{rel.name} (or a folder holding '{rel}') to `rnnlab run`, "
        f"or path=... to the loader;",
        f"  2. set the environment variable {ENV_VAR} {env_note} to a folder that holds '{rel}';",
        f"  3. put the file at '{cache_dir() / rel}' (the per-user cache).",
    ]
    if url:
        lines.append(f"It can be downloaded by hand from {url}")
    return "\n".join(lines)


def _from_explicit(path: str | os.PathLike, rel: pathlib.PurePosixPath) -> pathlib.Path:
    p = pathlib.Path(path).expanduser()
    if p.is_file():
        return p
    if p.is_dir():
        for cand in (p / rel, p / rel.name):
            if cand.is_file():
                return cand
        raise DataNotFoundError(f"{p}: expected this folder (--data / path=) to hold '{rel}' or "
                                f"'{rel.name}', found neither")
    raise DataNotFoundError(f"{p}: expected a data file (or a folder holding '{rel}') for --data / path=, "
                            "found nothing at that path")


def _download(url: str, target: pathlib.Path, sha256: str | None) -> pathlib.Path:
    """Download ``url`` to ``target`` atomically; raise DataNotFoundError on any failure."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    tmp = pathlib.Path(tmp_name)
    digest = hashlib.sha256()
    try:
        with os.fdopen(fd, "wb") as out:
            with urllib.request.urlopen(url, timeout=_TIMEOUT_S) as response:
                while True:
                    chunk = response.read(_CHUNK)
                    if not chunk:
                        break
                    digest.update(chunk)
                    out.write(chunk)
        if sha256 is not None and digest.hexdigest() != sha256.lower():
            raise DataNotFoundError(
                f"{url}: checksum mismatch; expected sha256 {sha256.lower()}, found "
                f"{digest.hexdigest()}. The download was deleted; the source may have changed or "
                "the transfer was corrupted.")
        os.chmod(tmp, umask_mode())          # mkstemp made it 0600: readable as the user's umask says
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()
    return target


def find_data_file(relpath: str, path: str | os.PathLike | None = None, url: str | None = None,
                   sha256: str | None = None) -> pathlib.Path:
    """Return the local path of a data file, downloading it into the cache if allowed.

    Parameters
    ----------
    relpath:
        The file's path relative to a data directory, with ``/`` separators.
    path:
        An explicit file, or a folder holding ``relpath`` or its base name. When given, it is the
        only place looked at.
    url:
        Where to download the file from when it is found nowhere locally (``None``: no download).
    sha256:
        The expected hex digest of the download; on a mismatch the download is deleted.

    Raises
    ------
    DataNotFoundError
        When the file is not found and cannot be downloaded; the message lists the ways to
        provide it.
    """
    rel = _check_relpath(relpath)
    if path is not None:
        return _from_explicit(path, rel)
    for folder in data_dirs():
        cand = folder / rel
        if cand.is_file():
            return cand
    searched = ", ".join(f"'{d / rel}'" for d in data_dirs())
    if not url:
        raise DataNotFoundError(f"data file '{rel}' not found (searched {searched}); give --data.\n"
                                + _how_to_provide(rel, None))
    target = cache_dir() / rel
    try:
        return _download(url, target, sha256)
    except DataNotFoundError:
        raise
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DataNotFoundError(
            f"data file '{rel}' not found (searched {searched}) and the download from {url} "
            f"failed ({reason}); are you offline? Give --data.\n" + _how_to_provide(rel, url)) from None
