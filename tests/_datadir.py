"""Where the data tests find the real data sets, and how they isolate themselves from the user's.

Real-data tests use ``$RNNLAB_DATA``. When it is unset they search the library's own list,
:func:`rnnlab.data.paths.data_dirs` (the cache, then ``shared/data`` beside the current folder or the
checkout) -- the same folders ``rnnlab run`` searches -- else they skip, except when ``$CI`` is set:
then missing data is a failure, never a silent skip. No test may download anything: the fixtures replace
``urllib.request.urlopen`` with a function that fails the test.
"""
from __future__ import annotations

import os
import pathlib
import urllib.request

import pytest

from rnnlab.data.paths import FALLBACKS_VAR, data_dirs


def _missing(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"real data required in CI: {reason}")
    pytest.skip(reason)


def real_data_dir(*relpaths: str) -> pathlib.Path:
    """The real-data folder (checked to hold ``relpaths``); skip, or fail under ``$CI``."""
    env = os.environ.get("RNNLAB_DATA")
    if env:
        root = pathlib.Path(env)
        source = f"RNNLAB_DATA={env!r}"
    else:
        dirs = data_dirs()
        found = [d for d in dirs if all((d / rel).is_file() for rel in relpaths)]
        if not found:
            _missing(f"RNNLAB_DATA is unset and none of {[str(d) for d in dirs]} holds {list(relpaths)}")
        root, source = found[0], f"data folder {found[0]}"
    if not root.is_dir():
        _missing(f"{source} is not a folder")
    for rel in relpaths:
        if not (root / rel).is_file():
            _missing(f"{source} has no {rel}")
    return root


def _no_download(*args, **kwargs):
    raise AssertionError(f"a test tried to download: urlopen{args}")


def use_real_data(mp: pytest.MonkeyPatch, tmp: pathlib.Path, *relpaths: str) -> pathlib.Path:
    """Point ``RNNLAB_DATA`` at the real data and the cache at ``tmp``; forbid downloads."""
    root = real_data_dir(*relpaths)
    mp.setenv("RNNLAB_DATA", str(root))
    mp.setenv("XDG_CACHE_HOME", str(tmp / "cache"))
    mp.setattr(urllib.request, "urlopen", _no_download)
    return root


@pytest.fixture
def isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: pathlib.Path) -> pathlib.Path:
    """No ``RNNLAB_DATA``, no fallback folders, an empty cache under ``tmp_path``, and no downloads."""
    monkeypatch.delenv("RNNLAB_DATA", raising=False)
    monkeypatch.setenv(FALLBACKS_VAR, "0")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setattr(urllib.request, "urlopen", _no_download)
    return tmp_path
