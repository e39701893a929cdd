"""find_data_file: resolution order, cache location, and the (mocked) download branch."""
from __future__ import annotations

import hashlib
import io
import os
import pathlib
import stat
import urllib.error
import urllib.request

import pytest

from _datadir import isolated_env  # noqa: F401  (fixture)
from rnnlab.data import cache_dir, find_data_file
from rnnlab.errors import DataNotFoundError, InputError

PAYLOAD = b"a,b\n1,2\n"
PAYLOAD_SHA = hashlib.sha256(PAYLOAD).hexdigest()
URL = "https://example.invalid/data/x.csv"


class _FakeResponse(io.BytesIO):
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _fake_urlopen(calls: list, payload: bytes = PAYLOAD):
    def urlopen(url, timeout=None):
        calls.append(url)
        return _FakeResponse(payload)
    return urlopen


def _write(p: pathlib.Path, text: str = "x") -> pathlib.Path:
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text)
    return p


def test_explicit_file_wins_over_env_and_cache(isolated_env, monkeypatch):
    tmp = isolated_env
    env_file = _write(tmp / "env" / "sub" / "x.csv", "env")
    _write(cache_dir() / "sub" / "x.csv", "cache")
    mine = _write(tmp / "mine.csv", "mine")
    monkeypatch.setenv("RNNLAB_DATA", str(tmp / "env"))
    assert find_data_file("sub/x.csv", path=mine) == mine
    assert find_data_file("sub/x.csv") == env_file


def test_explicit_folder_holding_relpath_or_basename(isolated_env):
    tmp = isolated_env
    deep = _write(tmp / "a" / "sub" / "x.csv")
    flat = _write(tmp / "b" / "x.csv")
    assert find_data_file("sub/x.csv", path=tmp / "a") == deep
    assert find_data_file("sub/x.csv", path=str(tmp / "b")) == flat


def test_explicit_path_missing_is_an_error_not_a_fallback(isolated_env, monkeypatch):
    tmp = isolated_env
    _write(tmp / "env" / "x.csv")
    monkeypatch.setenv("RNNLAB_DATA", str(tmp / "env"))
    with pytest.raises(DataNotFoundError, match="nope.csv"):
        find_data_file("x.csv", path=tmp / "nope.csv")
    (tmp / "emptydir").mkdir()
    with pytest.raises(DataNotFoundError, match="emptydir.*found neither"):
        find_data_file("x.csv", path=tmp / "emptydir")


def test_cache_used_when_env_lacks_file(isolated_env, monkeypatch):
    tmp = isolated_env
    (tmp / "env").mkdir()
    monkeypatch.setenv("RNNLAB_DATA", str(tmp / "env"))
    cached = _write(tmp / "xdg" / "rnnlab" / "ucr" / "A_TRAIN.ts")
    assert cache_dir() == tmp / "xdg" / "rnnlab"
    assert find_data_file("ucr/A_TRAIN.ts") == cached


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def test_default_cache_is_home_dot_cache(monkeypatch, tmp_path):
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert cache_dir() == tmp_path / ".cache" / "rnnlab"


def test_not_found_without_url_explains_three_ways(isolated_env, monkeypatch):
    monkeypatch.setenv("RNNLAB_DATA", str(isolated_env / "nowhere"))
    with pytest.raises(DataNotFoundError) as info:
        find_data_file("ucr/Foo_TRAIN.ts")
    msg = str(info.value)
    assert "ucr/Foo_TRAIN.ts" in msg
    assert "path=" in msg and "RNNLAB_DATA" in msg
    assert "--data" in msg.splitlines()[0]                 # the command line's option, on the first line
    assert str(isolated_env / "xdg" / "rnnlab" / "ucr" / "Foo_TRAIN.ts") in msg


@pytest.mark.parametrize("bad", ["../x.csv", "/abs/x.csv", ""])
def test_bad_relpath_rejected(isolated_env, bad):
    with pytest.raises(InputError, match="relpath"):
        find_data_file(bad)


def test_download_with_right_hash_lands_in_cache(isolated_env, monkeypatch):
    calls: list = []
    monkeypatch.setattr(urllib.request, "urlopen", _fake_urlopen(calls))
    got = find_data_file("dl/x.csv", url=URL, sha256=PAYLOAD_SHA.upper())
    assert got == isolated_env / "xdg" / "rnnlab" / "dl" / "x.csv"
    assert got.read_bytes() == PAYLOAD
    assert calls == [URL]
    assert sorted(p.name for p in got.parent.iterdir()) == ["x.csv"]  # no temp file left
    assert stat.S_IMODE(got.stat().st_mode) == 0o666 & ~_umask()      # not mkstemp's 0600
    # A second call finds the cached copy and does not download again.
    assert find_data_file("dl/x.csv", url=URL, sha256=PAYLOAD_SHA) == got
    assert calls == [URL]


def test_download_with_wrong_hash_is_deleted(isolated_env, monkeypatch):
    calls: list = []
    monkeypatch.setattr(urllib.request, "urlopen", _fake_urlopen(calls, b"tampered"))
    with pytest.raises(DataNotFoundError, match="checksum mismatch") as info:
        find_data_file("dl/x.csv", url=URL, sha256=PAYLOAD_SHA)
    assert PAYLOAD_SHA in str(info.value)
    assert hashlib.sha256(b"tampered").hexdigest() in str(info.value)
    folder = isolated_env / "xdg" / "rnnlab" / "dl"
    assert list(folder.iterdir()) == []
    assert calls == [URL]


def test_offline_gives_clear_error_and_leaves_nothing(isolated_env, monkeypatch):
    def offline(url, timeout=None):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")
    monkeypatch.setattr(urllib.request, "urlopen", offline)
    with pytest.raises(DataNotFoundError) as info:
        find_data_file("dl/x.csv", url=URL, sha256=PAYLOAD_SHA)
    msg = str(info.value)
    assert "offline" in msg and "name resolution" in msg and URL in msg
    assert "path=" in msg and "RNNLAB_DATA" in msg and "cache" in msg
    folder = isolated_env / "xdg" / "rnnlab" / "dl"
    assert not folder.exists() or list(folder.iterdir()) == []
