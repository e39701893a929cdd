"""Where the data tests find the real data sets, and how they isolate themselves from the user's.

Real-data tests use ``$RNNLAB_DATA``. When it is unset they fall back to ``../shared/data`` next
to the repository if that exists, else they skip -- except when ``$CI`` is set: then missing data
is a failure, never a silent skip. No test may download anything: the fixtures replace
``urllib.request.urlopen`` with a function that fails the test.
"""
from __future__ import annotations

import os
import pathlib
import urllib.request

import pytest

REPO = pathlib.Path(__file__).resolve().parents[1]
FALLBACK = REPO.parent / "shared" / "data"


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
    elif FALLBACK.is_dir():
        root, source = FALLBACK, f"fallback {FALLBACK}"
    else:
        _missing(f"RNNLAB_DATA is unset and {FALLBACK} does not exist")
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
    """No ``RNNLAB_DATA``, an empty cache under ``tmp_path``, and no downloads."""
    monkeypatch.delenv("RNNLAB_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setattr(urllib.request, "urlopen", _no_download)
    return tmp_path
