"""`rnnlab run mnist-rows`: the data split, the learning-rate schedule, the model stacks, and a short
end-to-end run on the real MNIST files."""
from __future__ import annotations

import json

import numpy as np
import pytest

from _datadir import use_real_data
from rnnlab.tasks import mnist_rows
from rnnlab.tasks.base import RunContext

MNIST_FILES = [f"mnist/{p}-{k}-ubyte.gz" for p in ("train", "t10k") for k in ("images-idx3", "labels-idx1")]


def test_validation_is_the_last_5000_training_images():
    fit, val = mnist_rows.split_indices()
    assert val.tolist() == list(range(55_000, 60_000))
    assert fit.tolist() == list(range(55_000))
    fit, val = mnist_rows.split_indices(limit=2000)
    assert fit.tolist() == list(range(2000))
    assert val.tolist() == list(range(59_500, 60_000))       # max(500, 2000 // 5) images, from the end
    assert not set(fit) & set(val)
    fit, val = mnist_rows.split_indices(limit=10**6)           # never into the validation images
    assert fit.max() < val.min() and len(val) == 5000


def test_pixels_scaled_to_unit_interval():
    img = np.array([[[0, 128, 255]]], dtype=np.uint8)
    x = mnist_rows.as_sequences(img)
    assert x.dtype == np.float32 and x.min() == 0.0 and x.max() == 1.0


@pytest.mark.parametrize("model", sorted(mnist_rows.MODELS))
def test_build_model_shapes(model):
    m = mnist_rows.build_model(model, hidden=4, seed=0)
    out = m.predict(np.zeros((3, 28, 28), np.float32))
    assert out.shape == (3, 10)


def test_unset_options_take_the_models_defaults():
    cfg = mnist_rows.resolved(mnist_rows.Config(model="bigru", epochs=3))
    assert (cfg.hidden, cfg.epochs, cfg.lr, cfg.patience, cfg.batch_size, cfg.dropout) == (64, 3, 2e-3, 4, 128, 0.0)
    # the run folder is named like every task's: runs/mnist-rows-<options that differ>-<timestamp>
    from rnnlab.tasks.launch import default_folder
    name = default_folder("mnist-rows", mnist_rows.Config(model="bigru", epochs=3)).name
    assert name.startswith("mnist-rows-") and "model_bigru" in name and "epochs_3" in name


@pytest.mark.parametrize("lr, lr_final, epochs", [(5e-3, 0.05, 150), (2e-3, 0.05, 15), (0.01, 0.25, 3), (1e-3, 1.0, 4)])
def test_lr_sequence_is_the_one_before_the_engine_counted_epochs_from_0(lr, lr_final, epochs):
    seq = mnist_rows.lr_sequence(lr, lr_final, epochs)
    assert seq[0] == lr and seq[-1] == pytest.approx(lr * lr_final, rel=1e-12) and len(seq) == epochs
    # before: base lr / gamma with the schedule fed epochs 1..E, i.e. (lr / gamma) * gamma^e
    gamma = lr_final ** (1.0 / max(epochs - 1, 1))
    before = [lr / gamma * gamma ** e for e in range(1, epochs + 1)]
    np.testing.assert_allclose(seq, before, rtol=1e-15)                      # at most an ulp apart
    assert np.array_equal(np.float32(seq), np.float32(before))               # equal as the float32 updates see them


def test_fit_logs_the_intended_lr_per_epoch():
    epochs, lr, lr_final = 4, 0.01, 0.125
    model = mnist_rows.build_model("rnn", hidden=4, seed=0)
    model.compile(loss="categorical_crossentropy", optimizer="adam", lr=lr,
                  schedule=mnist_rows.schedule(lr_final, epochs))
    rng = np.random.default_rng(0)
    x, y = rng.random((16, 28, 28)).astype(np.float32), rng.integers(0, 10, 16)
    history = model.fit(x, y, epochs=epochs, batch_size=8, verbose=0)
    assert history["lr"] == mnist_rows.lr_sequence(lr, lr_final, epochs)
    np.testing.assert_allclose(history["lr"], [0.01, 0.005, 0.0025, 0.00125], rtol=1e-15)


@pytest.mark.parametrize("model, dropout, init", [("bilstm", 0.3, "torch"), ("gru", 0.0, "keras"), ("birnn", 0.1, "keras")])
def test_builder_gives_the_hand_built_stack(model, dropout, init):
    from rnnlab import Bidirectional, Dense, Dropout, Sequential
    from rnnlab.registry import make_recurrent
    spec = mnist_rows.MODELS[model]
    kw = {**mnist_rows.INITS[init], **({"forget_bias": 1.0} if spec["cell"] == "lstm" else {})}
    layer = make_recurrent(spec["cell"], 5, **kw)                  # the stack as it was written by hand
    layers = [Bidirectional(layer, merge="concat") if spec["bidirectional"] else layer]
    layers += [Dropout(dropout, seed=3 + 1)] if dropout > 0 else []
    old = Sequential([*layers, Dense(10)], input_size=28, seed=3)
    new = mnist_rows.build_model(model, hidden=5, seed=3, dropout=dropout, init=init)
    assert new.get_config() == old.get_config()
    w_new, w_old = new.get_weights(), old.get_weights()
    assert list(w_new) == list(w_old) and all(np.array_equal(w_new[k], w_old[k]) for k in w_new)
    x = np.random.default_rng(1).random((3, 28, 28)).astype(np.float32)
    np.testing.assert_array_equal(new.forward(x, training=True)[0], old.forward(x, training=True)[0])


def _run(tmp_path, name):
    out = tmp_path / name
    cfg = mnist_rows.Config(model="rnn", hidden=32, limit=3000, epochs=3, lr=0.005)
    doc = mnist_rows.run(cfg, RunContext.for_folder(mnist_rows.NAME, out, cfg, quiet=True))
    assert json.loads((out / "metrics.json").read_text()) == doc
    return out, doc


@pytest.mark.slow
def test_short_run_writes_the_run_folder(tmp_path, monkeypatch):
    use_real_data(monkeypatch, tmp_path, *MNIST_FILES)
    out, doc = _run(tmp_path, "a")
    for f in ("metrics.json", "history.csv", "loss.png", "confusion.png", "errors.png", "model/model.json"):
        assert (out / f).is_file(), f
    m, b = doc["metrics"], doc["baselines"]
    assert m["test_n"] == 10_000                               # always the whole official test set
    assert sum(map(sum, doc["confusion_matrix"])) == 10_000
    assert b["reference_implementation"]["rnn"]["test_accuracy"] == 0.9517
    assert b["majority_class"]["test_accuracy"] < 0.12
    # three short epochs on 3,000 images: far above the majority class, far from done
    assert b["majority_class"]["test_accuracy"] + 0.2 < m["test_accuracy"] < 0.99
    assert doc["hyperparameters"]["limit"] == 3000 and doc["hyperparameters"]["patience"] == 20   # per-model default
    # the numbers of this run before the task moved to the one training engine (seed 0)
    assert (m["test_errors"], m["best_epoch"]) == (5787, 3)
    assert (m["test_accuracy"], m["test_loss"]) == pytest.approx((0.4213, 1.623578429222107), rel=1e-5)
    assert "[59400, 60000)" in doc["data"]["validation"]
    lines = (out / "history.csv").read_text().splitlines()
    assert lines[0].startswith("epoch,loss,accuracy,val_loss,val_accuracy") and len(lines) == 4
    gamma = 0.05 ** 0.5                                        # --lr-final 0.05 over 3 epochs
    lr_logged = [float(line.split(",")[5]) for line in lines[1:]]
    assert lr_logged == mnist_rows.lr_sequence(0.005, 0.05, 3) == [0.005, 0.005 * gamma, 0.005 * gamma ** 2]

    # same seed, same numbers
    _, doc2 = _run(tmp_path, "b")
    assert doc2["metrics"]["test_accuracy"] == m["test_accuracy"]
    assert doc2["metrics"]["test_loss"] == m["test_loss"]
