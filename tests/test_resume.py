"""Interrupted runs continue bit-identically: SIGKILL at random moments, SIGINT and SIGTERM.

Every run is a real ``python -m rnnlab run echo`` process. The uninterrupted run in another folder
is the reference: the final weights (``np.array_equal``) and every history column but ``time``
must be identical.
"""
import csv
import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import rnnlab

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

SMALL = ["--epochs", "6", "--samples", "8000", "--seed", "3"]      # 250 updates an epoch
CHECKPOINT = Path("checkpoint") / "checkpoint.safetensors"
EVERY = ["--checkpoint-every", "5"]
TIMEOUT = 120


def _env() -> dict:
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONHASHSEED="0")
    env.pop("PYTHONWARNINGS", None)
    return env


def _start(*args: str) -> subprocess.Popen:
    # SIGINT at its default even when the test runner's shell ignores it (background jobs)
    return subprocess.Popen([sys.executable, "-m", "rnnlab", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=_env(),
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def _run(*args: str) -> subprocess.CompletedProcess:
    proc = _start(*args)
    out, err = proc.communicate(timeout=TIMEOUT)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def _history(folder: Path) -> list[dict]:
    with open(folder / "history.csv", newline="") as fh:
        return [{k: v for k, v in row.items() if k != "time"} for row in csv.DictReader(fh)]


def assert_same_run(folder: Path, reference: Path) -> None:
    assert not (folder / "INCOMPLETE").exists()
    got, want = rnnlab.load(folder / "model").get_weights(), rnnlab.load(reference / "model").get_weights()
    assert sorted(got) == sorted(want)
    for name in want:
        assert np.array_equal(got[name], want[name]), name
    rows = _history(folder)
    assert len(rows) == 6 and rows == _history(reference)
    assert json.loads((folder / "metrics.json").read_text())["metrics"] == \
        json.loads((reference / "metrics.json").read_text())["metrics"]


def _mtime(path: Path) -> int | None:
    try:
        return path.stat().st_mtime_ns
    except FileNotFoundError:
        return None


def _wait_for_new(path: Path, proc: subprocess.Popen, before: int | None, timeout: float = 60) -> bool:
    """Wait until ``path`` is (re)written after ``before``; False if the process ended first."""
    t0 = time.monotonic()
    while _mtime(path) == before:
        if proc.poll() is not None:
            return False
        assert time.monotonic() - t0 < timeout, f"{path} was not written"
        time.sleep(0.002)
    return True


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> tuple[Path, float]:
    """The uninterrupted run (no --checkpoint-every) and its training time in seconds (from the
    first checkpoint, at the end of epoch 1, to history.csv), as a scale for the kill delays."""
    out = tmp_path_factory.mktemp("reference") / "echo"
    proc = _start("run", "echo", *SMALL, "--quiet", "--out", str(out))
    assert _wait_for_new(out / CHECKPOINT, proc, None)
    t0 = time.monotonic()
    assert _wait_for_new(out / "history.csv", proc, None)
    seconds = (time.monotonic() - t0) * 6 / 5
    stdout, stderr = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 0, stderr
    assert stdout.startswith("echo: test R²") and stderr == ""
    return out, seconds


def test_sigkill_three_times_then_resume(tmp_path, reference):
    ref, seconds = reference
    out = tmp_path / "echo"
    rng = random.Random(2024)
    killed_in_training = 0
    for i in range(3):
        before = _mtime(out / CHECKPOINT)
        if i == 0:
            proc = _start("run", "echo", *SMALL, *EVERY, "--quiet", "--out", str(out))
        else:
            proc = _start("run", "echo", "--quiet", "--resume", str(out))
        if _wait_for_new(out / CHECKPOINT, proc, before):       # training is under way
            time.sleep(rng.uniform(0.05, 0.3) * seconds)
            killed_in_training += not (out / "history.csv").exists()
            proc.kill()
        proc.communicate(timeout=TIMEOUT)
        # a folder without INCOMPLETE is a finished run; otherwise it has no results yet
        assert (out / "INCOMPLETE").exists() or {"metrics.json", "model"} <= {p.name for p in out.iterdir()}
        if proc.returncode == -signal.SIGKILL and (out / "INCOMPLETE").exists():
            assert not (out / "metrics.json").exists()
    assert killed_in_training >= 2, "the kills should land while the model is training"
    done = _run("run", "echo", "--quiet", "--resume", str(out))
    assert done.returncode == 0, done.stderr
    assert_same_run(out, ref)


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_checkpoints_and_says_how_to_resume(tmp_path, reference, sig, code):
    ref, seconds = reference
    out = tmp_path / "echo"
    proc = _start("run", "echo", *SMALL, *EVERY, "--quiet", "--out", str(out))
    assert _wait_for_new(out / CHECKPOINT, proc, None)
    time.sleep(0.3 * seconds)                            # well into the run
    proc.send_signal(sig)
    stdout, stderr = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == code, stderr
    lines = stderr.strip().splitlines()
    name = signal.Signals(sig).name
    assert len(lines) == 1, stderr                       # one line, no traceback
    assert re.fullmatch(rf"rnnlab: training interrupted by {name} at epoch \d+, batch \d+ of 250; checkpoint "
                        rf"written to {re.escape(str(out / 'checkpoint' / 'checkpoint.safetensors'))} — "
                        rf"resume with: rnnlab run echo --resume {re.escape(str(out))}", lines[0]), lines[0]
    assert stdout == "" and (out / CHECKPOINT).stat().st_size > 0
    assert (out / "INCOMPLETE").exists() and not (out / "metrics.json").exists()
    assert "rnnlab run echo --resume" in (out / "INCOMPLETE").read_text()
    done = _run("run", "echo", "--quiet", "--resume", str(out))
    assert done.returncode == 0, done.stderr
    assert_same_run(out, ref)
