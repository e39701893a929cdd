"""The memory task: data, chrono gate initialisation, a quick single run and a tiny sweep."""
from __future__ import annotations

import json

import numpy as np
import pytest

from rnnlab.cli import build_parser
from rnnlab.errors import InputError
from rnnlab.tasks import memory
from rnnlab.tasks.base import make_recurrent


def parse(*argv):
    return build_parser().parse_args(["run", "memory", *argv])


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
def test_chrono_init(cell):
    layer = make_recurrent(cell, 16)
    layer.build(3, np.random.default_rng(0))
    memory.chrono_init(layer, 100, np.random.default_rng(1))
    b = layer.params["bias_ih"] + layer.params["bias_hh"]
    keep = b[16:32]                                     # LSTM f block, GRU z block
    assert np.all(keep >= 0) and np.all(keep <= np.log(99) + 1e-6)
    assert keep.max() > np.log(20)                      # some units remember for tens of steps
    if cell == "lstm":
        np.testing.assert_allclose(b[:16], -keep, rtol=1e-6)   # input gate: the negative
    with pytest.raises(InputError):
        rnn = make_recurrent("rnn", 4)
        rnn.build(3, np.random.default_rng(0))
        memory.chrono_init(rnn, 100, np.random.default_rng(1))


def test_single_run_writes_its_folder(tmp_path):
    args = parse("--cell", "gru", "--steps", "8", "--epochs", "8", "--lr", "0.01", "--hidden", "16", "--batches-per-epoch", "10",
                 "--val-samples", "200", "--test-samples", "300", "--out", str(tmp_path), "--quiet")
    doc = memory.run(args)
    for name in ("metrics.json", "history.csv", "loss.png", "gradient_norms.png", "model"):
        assert (tmp_path / name).exists(), name
    on_disk = json.loads((tmp_path / "metrics.json").read_text())
    assert on_disk["metrics"]["test_accuracy"] == doc["metrics"]["test_accuracy"]
    assert on_disk["baselines"]["chance"] == pytest.approx(1 / 8)
    assert len(on_disk["gradient_norms"]["init"]) == 8
    assert doc["metrics"]["test_accuracy"] > 0.9          # T = 8 is easy for a GRU
    # same seed, same numbers
    again = memory.run(parse("--cell", "gru", "--steps", "8", "--epochs", "8", "--lr", "0.01", "--hidden", "16",
                             "--batches-per-epoch", "10", "--val-samples", "200", "--test-samples", "300",
                             "--out", str(tmp_path / "again"), "--quiet"))
    assert again["metrics"]["test_accuracy"] == doc["metrics"]["test_accuracy"]
    assert again["metrics"]["grad_ratio_trained"] == doc["metrics"]["grad_ratio_trained"]


def test_tiny_sweep(tmp_path):
    args = parse("--sweep", "--sweep-steps", "4,6", "--sweep-cells", "rnn,lstm", "--grad-steps", "6",
                 "--epochs", "2", "--hidden", "8", "--batches-per-epoch", "3", "--val-samples", "64",
                 "--test-samples", "64", "--jobs", "1", "--out", str(tmp_path), "--quiet")
    doc = memory.run(args)
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
    with pytest.raises(InputError):
        memory.run(parse("--sweep", "--sweep-cells", "rnn,lstmx", "--out", str(tmp_path), "--quiet"))
    with pytest.raises(InputError):
        memory.run(parse("--sweep", "--sweep-steps", "a,b", "--out", str(tmp_path), "--quiet"))
