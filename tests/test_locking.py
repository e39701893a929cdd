"""Two processes, one folder: the second is refused with the holder's pid, nothing is corrupted,
and the lock of a dead (SIGKILLed) holder is taken over. Every holder is a real process."""
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from rnnlab import locking
from rnnlab.training import checkpoint as ckpt

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="fcntl.flock")

HOLD = """
import sys, time
from rnnlab import locking
{body}
print("locked", flush=True)
time.sleep(120)
"""


def _holder(body: str) -> subprocess.Popen:
    """A process that runs ``body`` (taking a lock), says "locked" and sleeps until killed."""
    proc = subprocess.Popen([sys.executable, "-c", HOLD.format(body=body)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    assert line.strip() == "locked", proc.stderr.read() if proc.poll() is not None else line
    return proc


def _kill(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)


def test_second_process_is_refused_with_the_holders_pid_then_takes_over_a_dead_ones_lock(tmp_path):
    folder = tmp_path / "run"
    proc = _holder(f"locking.acquire({str(folder)!r}, 'run folder')")
    try:
        assert locking.holder(folder) == proc.pid
        with pytest.raises(locking.FolderInUseError) as exc:
            locking.acquire(folder, "run folder")
        assert str(exc.value) == (f"{folder}: this run folder is in use by process {proc.pid}; wait for it to "
                                  "finish, stop it, or use another folder")
    finally:
        _kill(proc)                                   # SIGKILL: no cleanup — the lock dies with it
    assert locking.holder(folder) is None
    with locking.FolderLock(folder, "run folder"):    # taken over
        assert locking.holder(folder) is None
        with locking.FolderLock(folder):              # re-entrant in one process
            pass
    assert list(folder.iterdir()) == []               # the lock leaves no file behind


def test_checkpoint_writer_refuses_a_folder_another_process_writes(tmp_path):
    folder = tmp_path / "ckpt"
    proc = _holder("from rnnlab.training import checkpoint as c; import numpy as np\n"
                   f"c.write({str(folder)!r}, {{'by': 'first'}}, {{'a': np.ones(3)}})")
    path = ckpt.checkpoint_path(folder)
    try:
        before = path.read_bytes()
        assert b'first' in before
        with pytest.raises(locking.FolderInUseError, match=f"checkpoint folder is in use by process {proc.pid}"):
            ckpt.write(folder, {"by": "second"}, {"a": np.zeros(3)})
        assert path.read_bytes() == before and sorted(p.name for p in folder.iterdir()) == [ckpt.FILE_NAME]
    finally:
        _kill(proc)
    ckpt.write(folder, {"by": "second"}, {"a": np.zeros(3)})     # the holder is gone: free
    locking.release_all_under(folder)
    assert b'second' in path.read_bytes()


def test_two_cli_runs_on_one_folder(tmp_path):
    """A run in progress; a second `rnnlab run` on its folder (resume, or --overwrite) is refused in one
    line and changes nothing; the first then stops cleanly and its folder resumes."""
    out = tmp_path / "echo"
    env = dict(os.environ, MPLBACKEND="Agg")
    first = subprocess.Popen([sys.executable, "-m", "rnnlab", "run", "echo", "--epochs", "500", "--samples", "400",
                              "--checkpoint-every", "3", "--quiet", "--out", str(out)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                             preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        t0 = time.monotonic()
        while not ckpt.checkpoint_path(out / "checkpoint").exists():
            assert first.poll() is None, first.stderr.read()
            assert time.monotonic() - t0 < 60
            time.sleep(0.02)
        for args in (["--resume", str(out)], ["--out", str(out), "--overwrite"]):
            second = subprocess.run([sys.executable, "-m", "rnnlab", "run", "echo", "--quiet", *args],
                                    capture_output=True, text=True, env=env, timeout=60)
            lines = second.stderr.strip().splitlines()
            assert second.returncode == 2 and len(lines) == 1, second.stderr
            assert f"is in use by process {first.pid}" in lines[0]
            assert first.poll() is None                               # the first is untouched
    finally:
        first.send_signal(signal.SIGINT)
        _, err = first.communicate(timeout=60)
    assert first.returncode == 130, err
    assert (out / "INCOMPLETE").exists() and not (out / "metrics.json").exists()
    ckpt.read(ckpt.checkpoint_path(out / "checkpoint"))              # intact
    assert locking.holder(out) is None and locking.holder(out / "checkpoint") is None


def test_fit_is_refused_before_training_when_another_process_holds_its_checkpoint_folder(tmp_path):
    """fit(checkpoint_dir=...) takes the folder's lock at the start: refused before the first update."""
    import rnnlab
    folder = tmp_path / "ckpt"
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(8, 3, 2)), rng.normal(size=(8, 1))
    model = rnnlab.Sequential([rnnlab.SimpleRNN(4), rnnlab.Dense(1)], input_size=2, seed=0)
    model.compile(loss="mse", optimizer="sgd", lr=0.1)
    before = {k: v.copy() for k, v in model.get_weights().items()}
    proc = _holder(f"locking.acquire({str(folder)!r}, 'checkpoint folder')")
    try:
        with pytest.raises(locking.FolderInUseError, match=f"checkpoint folder is in use by process {proc.pid}"):
            model.fit(x, y, epochs=1, batch_size=4, verbose=0, checkpoint_dir=folder)
        after = model.get_weights()
        assert all(np.array_equal(before[k], after[k]) for k in before)
        assert list(folder.iterdir()) == []
    finally:
        _kill(proc)
    model.fit(x, y, epochs=1, batch_size=4, verbose=0, checkpoint_dir=folder)      # free now
    assert locking.holder(folder) is None and ckpt.checkpoint_path(folder).exists()
