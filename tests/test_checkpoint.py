"""Checkpoints: a fit interrupted at any batch and resumed ends bit-identical to one never
interrupted (weights and history); SIGINT/SIGTERM stop cleanly; a damaged file never loads."""
import os
import signal

import numpy as np
import pytest

import rnnlab
from rnnlab.callbacks import EarlyStopping
from rnnlab.errors import CheckpointError, TrainingInterrupted
from rnnlab.training import checkpoint as ckpt
from rnnlab.training import engine


def data(n=80, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 6, 2)).astype(np.float32)
    return x, (x[:, 0, :1] > 0).astype(np.float32)


def build(kind):
    if kind == "stacked":
        layers = [rnnlab.Bidirectional(rnnlab.LSTM(4, return_sequences=True)), rnnlab.Dropout(0.2, seed=5),
                  rnnlab.GRU(3), rnnlab.Dense(1)]
    else:  # stateful
        layers = [rnnlab.SimpleRNN(4, stateful=True), rnnlab.Dense(1)]
    m = rnnlab.Sequential(layers, input_size=2, seed=1)
    return m.compile(loss="binary_crossentropy", optimizer="adam", lr=0.02, metrics=["accuracy"])


def fit(m, tmp, **kw):
    x, y = data()
    cbs = [EarlyStopping(monitor="val_loss", patience=50)]
    batch = 8 if m.layers[0].stateful else 10               # stateful layers need equal batches
    return m.fit(x[:64], y[:64], epochs=4, batch_size=batch, verbose=0, validation_data=(x[64:], y[64:]),
                 callbacks=cbs, checkpoint_dir=tmp, **kw)


def same_history(a, b):
    assert a.epochs == b.epochs
    for k in a.history:
        if k != "time":
            assert a.history[k] == b.history[k], k


def same_weights(a, b):
    wa, wb = a.get_weights(), b.get_weights()
    assert wa.keys() == wb.keys()
    for k in wa:
        assert np.array_equal(wa[k], wb[k]), k


class Crash(Exception):
    pass


def crash_after(monkeypatch, n_updates, action=None):
    """Make the n-th update of the next fit crash (or send a signal) right after it completes."""
    original, count = engine.train_step, {"n": 0}

    def step(*a, **kw):
        out = original(*a, **kw)
        count["n"] += 1
        if count["n"] == n_updates:
            if action is None:
                raise Crash()
            action()
        return out
    monkeypatch.setattr(engine, "train_step", step)


@pytest.mark.parametrize("kind", ["stacked", "stateful"])
@pytest.mark.parametrize("crash_at", [3, 7, 14, 21])
def test_crash_and_resume_is_bit_identical(kind, crash_at, tmp_path, monkeypatch):
    ref = build(kind)
    h_ref = fit(ref, tmp_path / "ref")
    crash_after(monkeypatch, crash_at)
    m = build(kind)
    with pytest.raises(Crash):
        fit(m, tmp_path / "run", checkpoint_every=3)
    monkeypatch.undo()
    again = build(kind)                                  # a fresh process would rebuild the model
    h = fit(again, tmp_path / "run", checkpoint_every=3, resume=True)
    same_weights(again, ref)
    same_history(h, h_ref)


def test_epoch_data_callable_resumes_exactly(tmp_path, monkeypatch):
    def epoch_data(epoch, rng):
        x = rng.standard_normal((30, 5, 2)).astype(np.float32)
        return x, (x[:, 0, :1] > 0).astype(np.float32)

    def run(folder, **kw):
        m = build("stacked")
        return m, m.fit(epoch_data, epochs=3, batch_size=8, verbose=0, data_seed=[0, 5, 0],
                        checkpoint_dir=folder, **kw)

    ref, h_ref = run(tmp_path / "ref")
    crash_after(monkeypatch, 6)
    with pytest.raises(Crash):
        run(tmp_path / "run", checkpoint_every=1)
    monkeypatch.undo()
    m, h = run(tmp_path / "run", resume=True)
    same_weights(m, ref)
    same_history(h, h_ref)


@pytest.mark.parametrize("sig,code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_stops_at_a_batch_boundary_with_a_checkpoint(sig, code, tmp_path, monkeypatch):
    ref = build("stacked")
    h_ref = fit(ref, tmp_path / "ref")
    before = signal.getsignal(signal.SIGINT)          # default_int_handler; SIG_IGN in a background job
    crash_after(monkeypatch, 9, lambda: os.kill(os.getpid(), sig))
    with pytest.raises(TrainingInterrupted) as info:
        fit(build("stacked"), tmp_path / "run")
    assert info.value.exit_code == code and info.value.signal_name == signal.Signals(sig).name
    assert info.value.checkpoint == ckpt.checkpoint_path(tmp_path / "run")
    assert "epoch 2, batch 2 of 7" in str(info.value)
    monkeypatch.undo()
    assert signal.getsignal(signal.SIGINT) is before                          # handlers restored
    m = build("stacked")
    h = fit(m, tmp_path / "run", resume=True)
    same_weights(m, ref)
    same_history(h, h_ref)


def test_resume_refuses_a_different_setup(tmp_path):
    fit(build("stacked"), tmp_path / "run")
    x, y = data()
    m = build("stacked")
    with pytest.raises(CheckpointError, match="batch_size: checkpoint 10, this fit 16"):
        m.fit(x[:64], y[:64], epochs=4, batch_size=16, verbose=0, checkpoint_dir=tmp_path / "run", resume=True,
              validation_data=(x[64:], y[64:]), callbacks=[EarlyStopping(patience=50)])


def test_resume_without_a_checkpoint_starts_from_scratch(tmp_path):
    ref = build("stacked")
    h_ref = fit(ref, tmp_path / "ref")
    m = build("stacked")
    h = fit(m, tmp_path / "empty", resume=True)
    same_weights(m, ref)
    same_history(h, h_ref)


def test_a_damaged_checkpoint_never_loads_silently(tmp_path):
    fit(build("stacked"), tmp_path / "run")
    path = ckpt.checkpoint_path(tmp_path / "run")
    blob = path.read_bytes()
    assert len(blob) > 8 * 1024
    bad = tmp_path / "bad.safetensors"
    for cut in range(0, len(blob), 1024):                     # truncated at every 1 KiB offset
        bad.write_bytes(blob[:cut])
        with pytest.raises(CheckpointError, match="bad.safetensors"):
            ckpt.read(bad)
    rng = np.random.default_rng(0)
    header = int.from_bytes(blob[:8], "little") + 8
    for pos in rng.integers(header, len(blob), size=50):     # one flipped byte in the tensors
        flipped = bytearray(blob)
        flipped[pos] ^= 0xFF
        bad.write_bytes(bytes(flipped))
        with pytest.raises(CheckpointError, match="SHA-256"):
            ckpt.read(bad)
    doc, tensors = ckpt.read(path)                            # the intact file reads back
    assert doc["position"]["epoch"] == 4 and "model/layers.3.weight" in tensors


def test_checkpoint_write_is_atomic(tmp_path, monkeypatch):
    """A crash while writing leaves the previous checkpoint intact and no stray file."""
    fit(build("stacked"), tmp_path / "run")
    path = ckpt.checkpoint_path(tmp_path / "run")
    before = path.read_bytes()

    def broken_replace(src, dst):
        raise OSError("disk full")
    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError):
        ckpt.write(tmp_path / "run", {"x": 1}, {"a": np.zeros(3)})
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == [ckpt.FILE_NAME]
