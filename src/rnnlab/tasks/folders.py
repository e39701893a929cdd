"""Run folders on disk: their default names, what an existing folder holds, ``runs/latest``, and
moving a finished run into place.

>>> from dataclasses import dataclass
>>> from .config import TaskConfig, option
>>> @dataclass
... class Demo(TaskConfig):
...     cell: str = option("rnn", "cell")
...     epochs: int = option(10, "epochs")
...     data: str | None = option(None, "data")
>>> option_tag(Demo(cell="gru", data="/x/y.csv"))
'cell_gru'
>>> import datetime
>>> str(default_folder("echo", Demo(epochs=3), now=datetime.datetime(2026, 11, 30, 8, 5, 1)))
'runs/echo-epochs_3-20261130-080501'
"""
from __future__ import annotations

import dataclasses
import datetime
import hashlib
import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..fileio import atomic_write_text, fsync_dir
from ..training.checkpoint import checkpoint_path
from ..training.signals import Deferred
from .base import CHECKPOINT_DIR, CONFIG_FILE, INCOMPLETE_FILE

RUNS_ROOT = Path("runs")
LATEST = "latest"
STAMP = "%Y%m%d-%H%M%S"
PENDING_SUFFIX = ".incomplete"
#: config fields left out of a folder's name: where the data is and how many threads, not what is run
NOT_IN_NAME = frozenset({"data", "text", "threads", "jobs"})
_MAX_TAG = 60


def option_tag(config: Any) -> str:
    """The options that differ from the config's defaults, as ``name_value-name_value`` (safe characters)."""
    if not dataclasses.is_dataclass(config):
        return ""
    default = type(config)()
    parts = []
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        if f.name in NOT_IN_NAME or value == getattr(default, f.name):
            continue
        shown = re.sub(r"[^A-Za-z0-9.+]+", "_", str(value)).strip("_") or "x"
        parts.append(f"{f.name}_{shown}")
    tag = "-".join(parts)
    if len(tag) > _MAX_TAG:                         # long: a prefix and a digest of the whole
        tag = tag[:_MAX_TAG - 9].rstrip("-_") + "-" + hashlib.sha256(tag.encode()).hexdigest()[:8]
    return tag


def default_folder(task: str, config: Any, root: Path = RUNS_ROOT,
                   now: datetime.datetime | None = None) -> Path:
    """``runs/<task>[-<options that differ from the defaults>]-<YYYYmmdd-HHMMSS>``, made unique with
    ``-2``, ``-3``... when a folder of that name (or its pending sibling) exists."""
    stamp = (now or datetime.datetime.now()).strftime(STAMP)
    tag = option_tag(config)
    base = "-".join(p for p in (task, tag, stamp) if p)
    path, k = root / base, 1
    while path.exists() or pending_sibling(path).exists():
        k += 1
        path = root / f"{base}-{k}"
    return path


def pending_sibling(target: Path) -> Path:
    """Where a run that will replace the finished run in ``target`` is written until it is complete."""
    return target.with_name(target.name + PENDING_SUFFIX)


def has_checkpoint(folder: Path) -> bool:
    """Whether ``folder`` holds a training checkpoint: its own, or a sub-run's (a grid's rows)."""
    if checkpoint_path(folder / CHECKPOINT_DIR).is_file():
        return True
    name = checkpoint_path(folder / CHECKPOINT_DIR).name
    return folder.is_dir() and any(p.parent.name == CHECKPOINT_DIR for p in folder.rglob(name))


def state(folder: Path) -> str:
    """What ``folder`` is: ``missing``, ``file``, ``empty``, ``complete`` (a finished run),
    ``incomplete`` (a run folder marked INCOMPLETE, or with config.json but no results) or ``foreign``."""
    if not folder.exists() and not folder.is_symlink():
        return "missing"
    if not folder.is_dir():
        return "file"
    names = {p.name for p in folder.iterdir()}
    if not names:
        return "empty"
    if INCOMPLETE_FILE in names:
        return "incomplete"
    if CONFIG_FILE in names:
        return "complete" if "metrics.json" in names else "incomplete"
    return "foreign"


def recorded_target(folder: Path) -> Path | None:
    """The finished-run folder a pending run in ``folder`` will replace (from its config.json)."""
    try:
        doc = json.loads((folder / CONFIG_FILE).read_text(encoding="utf-8"))
        target = doc["run"].get("replaces")
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    return Path(target) if isinstance(target, str) and target else None


def clear(folder: Path) -> None:
    """Remove everything inside ``folder`` (the folder itself stays: its lock is on it)."""
    for p in folder.iterdir():
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p)
        else:
            p.unlink()


def check_out(out: str | os.PathLike) -> Path:
    """``--out``: a non-empty path that is not an existing file; made absolute (printed paths stay valid)."""
    if not str(out).strip():
        raise InputError("--out: expected a folder path, got ''")
    path = Path(out).expanduser()
    if path.is_symlink():                           # e.g. runs/latest: the folder it points at
        path = path.resolve()
    if path.exists() and not path.is_dir():
        raise InputError(f"--out: expected a folder, got the existing file {str(path)!r}")
    return path.absolute()


def move_into_place(work: Path, target: Path) -> None:
    """Rename the finished run ``work`` to ``target``, replacing the run there (signals held back)."""
    with Deferred():
        old = None
        if target.exists():
            old = target.with_name(f".{target.name}.replaced-{os.getpid()}")
            os.rename(target, old)
        os.rename(work, target)
        fsync_dir(target.parent)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def update_latest(final: Path) -> Path | None:
    """Point ``<parent>/latest`` at ``final`` (a relative symlink; a one-line text file where symlinks
    fail). Never replaces a real folder called ``latest``; returns the pointer, or None."""
    link = final.parent / LATEST
    if link.exists() and link.is_dir() and not link.is_symlink():
        return None
    tmp = final.parent / f".{LATEST}.{os.getpid()}.tmp"
    try:
        tmp.unlink(missing_ok=True)
        os.symlink(final.name, tmp)
        os.replace(tmp, link)
    except (OSError, NotImplementedError):
        try:
            tmp.unlink(missing_ok=True)
            atomic_write_text(link, final.name + "\n")
        except OSError:
            return None
    return link
