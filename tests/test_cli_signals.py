"""SIGINT and SIGTERM at random (seeded) moments of real ``python -m rnnlab run`` processes, in three
tasks, over a finished run: the finished run stays byte-for-byte untouched and the new one is a
marked, resumable folder beside it — never a mixture — until a resume completes and replaces it.

Each task's chain: a finished run in T; ``--out T --overwrite`` (a long run) stopped by one signal
a random moment after its first checkpoint; ``--resume`` stopped by the other signal a random
moment after it started (data preparation, training or writing results); ``--resume --epochs 2``
completes. Pass/fail never depends on timing: every moment must leave the same invariant.
"""
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import rnnlab
from rnnlab.tasks.folders import pending_sibling

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

TASKS = {   # tiny options: a few seconds a run; none may end by itself (early stopping) before its signal
    "echo": ["--samples", "300", "--hidden", "3"],
    "subtraction": ["--train-pairs", "200", "--hidden", "4", "--patience", "10000"],
    "dates": ["--samples", "200", "--hidden", "8"],
}
TIMEOUT = 120


def _start(*args: str) -> subprocess.Popen:
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONHASHSEED="0")
    return subprocess.Popen([sys.executable, "-m", "rnnlab", "run", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _mtime(path: Path) -> int | None:
    try:
        return path.stat().st_mtime_ns
    except FileNotFoundError:
        return None


def _wait_for_change(path: Path, before: int | None, proc: subprocess.Popen) -> None:
    t0 = time.monotonic()
    while _mtime(path) == before:
        assert proc.poll() is None, proc.communicate()[1]
        assert time.monotonic() - t0 < TIMEOUT, f"{path} was not written"
        time.sleep(0.002)


def _stop(proc: subprocess.Popen, sig: int, delay: float) -> tuple[str, str]:
    time.sleep(delay)
    proc.send_signal(sig)
    return proc.communicate(timeout=TIMEOUT)


def assert_old_untouched_and_new_marked(target: Path, old: dict[str, bytes], proc, err: str, task: str) -> None:
    pending = pending_sibling(target)
    assert _snapshot(target) == old                                   # the finished run: byte for byte
    assert proc.returncode in (130, 143), err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err             # one line, no traceback
    assert lines[0].endswith(f"resume with: rnnlab run {task} --resume {pending}"), lines[0]
    names = {p.name for p in pending.iterdir()}
    assert {"INCOMPLETE", "config.json", "checkpoint"} <= names, names   # marked and resumable
    assert (pending / "checkpoint" / "checkpoint.safetensors").is_file()
    assert f"rnnlab run {task} --resume {pending}" in (pending / "INCOMPLETE").read_text()


@pytest.mark.parametrize("task", sorted(TASKS))
def test_signals_at_random_moments_never_mix_runs(tmp_path, task):
    rng = random.Random(f"signals-{task}")
    first, second = (signal.SIGINT, signal.SIGTERM) if task != "echo" else (signal.SIGTERM, signal.SIGINT)
    tiny = TASKS[task]
    target = tmp_path / task
    done = subprocess.run([sys.executable, "-m", "rnnlab", "run", task, *tiny, "--epochs", "1", "--quiet",
                           "--out", str(target)], capture_output=True, text=True, timeout=TIMEOUT,
                          env=dict(os.environ, MPLBACKEND="Agg"))
    assert done.returncode == 0, done.stderr
    old = _snapshot(target)
    pending = pending_sibling(target)
    ckpt = pending / "checkpoint" / "checkpoint.safetensors"

    # 1. a replacement run, stopped a random moment into its training
    proc = _start(task, *tiny, "--epochs", "1000", "--seed", "7", "--checkpoint-every", "2", "--quiet",
                  "--out", str(target), "--overwrite")
    _wait_for_change(ckpt, None, proc)
    _, err = _stop(proc, first, rng.uniform(0.0, 0.5))
    assert proc.returncode == {signal.SIGINT: 130, signal.SIGTERM: 143}[first]
    assert_old_untouched_and_new_marked(target, old, proc, err, task)

    # 2. its resume, stopped a random moment after it started (anywhere: data, training, results)
    before = _mtime(pending / "INCOMPLETE")
    proc = _start(task, "--quiet", "--resume", str(pending))
    _wait_for_change(pending / "INCOMPLETE", before, proc)
    _, err = _stop(proc, second, rng.uniform(0.0, 1.5))
    assert_old_untouched_and_new_marked(target, old, proc, err, task)

    # 3. a resume that completes (2 epochs) replaces the finished run, and only then
    done = subprocess.run([sys.executable, "-m", "rnnlab", "run", task, "--quiet", "--resume", str(target),
                           "--epochs", "2"], capture_output=True, text=True, timeout=TIMEOUT,
                          env=dict(os.environ, MPLBACKEND="Agg"))
    assert done.returncode == 0, done.stderr
    assert not pending.exists() and not (target / "INCOMPLETE").exists()
    assert done.stdout.strip().splitlines()[-1].endswith(f"-> {target}")
    doc = json.loads((target / "metrics.json").read_text())
    assert doc["hyperparameters"]["seed"] == 7 and doc["hyperparameters"]["epochs"] == 2
    rnnlab.load(target / "model")                                      # a complete, loadable model
