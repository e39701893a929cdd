"""The memory task: data, chrono gate initialisation, the fit-based training loop's stopping
rules, a quick single run and a tiny sweep."""
from __future__ import annotations

import json

import numpy as np
import pytest

from rnnlab.errors import InputError
from rnnlab.init import chrono_init
from rnnlab.tasks import memory
from rnnlab.tasks.base import RunContext

QUICK = dict(cell="gru", steps=8, epochs=8, lr=0.01, hidden=16, batches_per_epoch=10, val_samples=200,
             test_samples=300)


def run(path, **kw):
    cfg = memory.Config(**kw)
    return memory.run(cfg, RunContext.for_folder(memory.NAME, path, cfg, quiet=True))


def test_remember_first_data():
    rng = np.random.default_rng(0)
    x, y = memory.remember_first(500, 12, 5, 3, rng)
    assert x.shape == (500, 12, 8) and x.dtype == np.float32 and y.dtype == np.int64
    assert np.all(x.sum(axis=2) == 1)                                  # one-hot
    assert np.array_equal(x[:, 0].argmax(axis=1), y)                   # step 0 is the answer
    assert np.all(x[:, 1:].argmax(axis=2) >= 5)                        # distractors: noise symbols only
    assert set(np.unique(y)) == set(range(5))
    xa, ya = memory.remember_first(50, 12, 5, 3, np.random.default_rng(0), distractors="all")
    assert xa.shape == (50, 12, 6) and np.array_equal(xa[:, 0].argmax(axis=1), ya)
    again = memory.remember_first(500, 12, 5, 3, np.random.default_rng(0))
    assert np.array_equal(again[0], x) and np.array_equal(again[1], y)  # same seed, same data
    with pytest.raises(InputError):
        memory.remember_first(5, 12, 1, 3, rng)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_build_model_applies_chrono_from_the_init_stream(cell):
    cfg = memory.Config(cell=cell, hidden=16, steps=100, seed=3)
    layer = memory.build_model(cfg, n_in=12).layers[0]
    b = layer.params["bias_ih"] + layer.params["bias_hh"]
    keep = b[16:32]                                     # LSTM f block, GRU z block
    assert np.all(keep >= 0) and np.all(keep <= np.log(99) + 1e-6)
    assert keep.max() > np.log(20)                      # some units remember for tens of steps
    if cell == "lstm":
        np.testing.assert_allclose(b[:16], -keep, rtol=1e-6)   # input gate: the negative
    # exactly rnnlab.init.chrono_init with the (seed, T) init stream [seed, T, 3]
    plain = memory.build_model(memory.Config(cell=cell, hidden=16, steps=100, seed=3, gate_init="standard"),
                               n_in=12).layers[0]
    if cell == "gru":
        chrono_init(plain, 100, np.random.default_rng([3, 100, 3]))
        for name in ("bias_ih", "bias_hh", "weight_ih", "weight_hh"):
            np.testing.assert_array_equal(plain.params[name], layer.params[name])
    # the simple RNN has no gates: chrono leaves it as built
    rnn = memory.build_model(memory.Config(cell="rnn", hidden=4, steps=100), n_in=3).layers[0]
    with pytest.raises(InputError):
        chrono_init(rnn, 100, np.random.default_rng(1))


def _val_curve(history, key):
    return np.asarray(history[key])


def test_training_stops_when_validation_accuracy_reaches_the_target(tmp_path):
    cfg = memory.Config(**QUICK)
    res = memory.train_one(cfg)
    acc = _val_curve(res["history"], "val_accuracy")
    assert acc[-1] >= cfg.target and np.all(acc[:-1] < cfg.target)     # stopped at the first epoch reaching it
    assert res["reached_target_epoch"] == res["epochs"] == len(acc) < cfg.epochs
    assert res["updates"] == res["epochs"] * cfg.batches_per_epoch


def test_training_stops_at_best_epoch_plus_patience_and_restores_it():
    # T = 30 for a simple RNN with few updates: no progress, early stopping on val_loss
    cfg = memory.Config(cell="rnn", steps=30, epochs=30, hidden=16, batches_per_epoch=5, val_samples=200,
                        test_samples=300, patience=3)
    res = memory.train_one(cfg)
    loss = _val_curve(res["history"], "val_loss")
    best = int(np.argmin(loss)) + 1
    assert res["best_epoch"] == best and res["epochs"] == best + cfg.patience < cfg.epochs
    assert res["reached_target_epoch"] is None
    x_val, y_val = memory.data.sample(cfg, cfg.val_samples, memory.data.stream(cfg.seed, cfg.steps, memory.data.VAL))
    assert res["model"].evaluate(x_val, y_val)["loss"] == pytest.approx(loss[best - 1], rel=1e-6)  # best restored


def test_epoch_data_comes_from_the_engine_rng_seeded_seed_T_0():
    cfg = memory.Config(**QUICK)
    data = memory.data.epoch_data(cfg)
    x, y = data(0, np.random.default_rng([cfg.seed, cfg.steps, 0]))
    x2, y2 = memory.remember_first(cfg.batch_size * cfg.batches_per_epoch, cfg.steps, cfg.symbols,
                                   cfg.noise_symbols, np.random.default_rng([0, 8, 0]))
    assert x.shape == (320, 8, 12) and np.array_equal(x, x2) and np.array_equal(y, y2)


def test_single_run_writes_its_folder(tmp_path):
    doc = run(tmp_path, **QUICK)
    for name in ("metrics.json", "history.csv", "loss.png", "gradient_norms.png", "model"):
        assert (tmp_path / name).exists(), name
    on_disk = json.loads((tmp_path / "metrics.json").read_text())
    assert on_disk["metrics"]["test_accuracy"] == doc["metrics"]["test_accuracy"]
    assert on_disk["baselines"]["chance"] == pytest.approx(1 / 8)
    assert len(on_disk["gradient_norms"]["init"]) == 8
    assert doc["metrics"]["test_accuracy"] == 1.0          # T = 8 is easy for a GRU
    # the numbers of the hand-written epoch loop this fit-based run replaced (seed 0)
    assert doc["metrics"]["epochs"] == doc["metrics"]["best_epoch"] == doc["metrics"]["reached_target_epoch"] == 6
    assert doc["metrics"]["test_loss"] == pytest.approx(0.3747607469558716, rel=1e-6)
    # same seed, same numbers
    again = run(tmp_path / "again", **QUICK)
    assert again["metrics"]["test_accuracy"] == doc["metrics"]["test_accuracy"]
    assert again["metrics"]["grad_ratio_trained"] == doc["metrics"]["grad_ratio_trained"]


def test_tiny_sweep(tmp_path):
    doc = run(tmp_path, sweep=True, sweep_steps="4,6", sweep_cells="rnn,lstm", grad_steps=6, epochs=2, hidden=8,
              batches_per_epoch=3, val_samples=64, test_samples=64, jobs=1)
    for name in ("sweep.md", "sweep.json", "sweep.png", "gradient_norms.png", "exploding.png", "metrics.json"):
        assert (tmp_path / name).exists(), name
    table = (tmp_path / "sweep.md").read_text()
    assert "| rnn |" in table and "| lstm |" in table and "T = 6" in table
    runs = json.loads((tmp_path / "sweep.json").read_text())
    assert {(r["cell"], r["steps"]) for r in runs} == {("rnn", 4), ("rnn", 6), ("lstm", 4), ("lstm", 6)}
    assert set(doc["metrics"]["summary"]) == {"rnn", "lstm"}
    ex = doc["exploding"]
    # ρ = 0.5 vanishes, ρ = 3 explodes (T = 50 steps back)
    assert ex["norms"]["tanh rho=0.5"][0] < 1e-8 * ex["norms"]["tanh rho=0.5"][-1]
    assert ex["norms"]["tanh rho=3"][0] > 1e3 * ex["norms"]["tanh rho=3"][-1]
    # without clipping the ReLU RNN dies; with clipping all updates run and the loss stays finite
    assert ex["training"]["relu rho=2 no clipping"]["stopped"] is not None
    clipped = ex["training"]["relu rho=2 clipnorm=1"]
    assert clipped["stopped"] is None and np.all(np.isfinite(clipped["loss"]))
    assert ex["training"]["tanh rho=3 clipnorm=1"]["max_abs_weight_hh"][-1] < 10
    assert ex["training"]["tanh rho=3 no clipping"]["max_abs_weight_hh"][-1] > 100


def test_bad_sweep_options(tmp_path):
    with pytest.raises(InputError, match="--sweep-cells"):
        run(tmp_path, sweep=True, sweep_cells="rnn,lstmx")
    with pytest.raises(InputError, match="--sweep-steps"):
        run(tmp_path, sweep=True, sweep_steps="a,b")
    with pytest.raises(InputError, match="--cell"):
        run(tmp_path, cell="lstmx")


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_builder_gives_the_hand_built_stack(cell):
    from rnnlab import Dense, Sequential
    from rnnlab.registry import make_recurrent
    kw = {"forget_bias": 1.0} if cell == "lstm" else {}
    old = Sequential([make_recurrent(cell, 8, **kw), Dense(8)], input_size=12, seed=2)   # as written by hand
    new = memory.build_model(memory.Config(cell=cell, hidden=8, seed=2, gate_init="standard"), n_in=12)
    assert new.get_config()["layers"] == old.get_config()["layers"]
    w_new, w_old = new.get_weights(), old.get_weights()
    assert list(w_new) == list(w_old) and all(np.array_equal(w_new[k], w_old[k]) for k in w_new)
