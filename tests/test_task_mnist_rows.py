"""`rnnlab run mnist-rows`: the data split, and a short end-to-end run on the real MNIST files."""
from __future__ import annotations

import json

import numpy as np
import pytest

from _datadir import use_real_data
from rnnlab.cli import main
from rnnlab.tasks import mnist_rows

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


def _run(tmp_path, name):
    out = tmp_path / name
    rc = main(["run", "mnist-rows", "--model", "rnn", "--hidden", "32", "--limit", "3000", "--epochs", "3",
               "--lr", "0.005", "--out", str(out), "--quiet"])
    assert rc == 0
    return out, json.loads((out / "metrics.json").read_text())


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
    assert doc["hyperparameters"]["limit"] == 3000
    assert "[59400, 60000)" in doc["data"]["validation"]
    lines = (out / "history.csv").read_text().splitlines()
    assert lines[0].startswith("epoch,loss,accuracy,val_loss,val_accuracy") and len(lines) == 4

    # same seed, same numbers
    _, doc2 = _run(tmp_path, "b")
    assert doc2["metrics"]["test_accuracy"] == m["test_accuracy"]
    assert doc2["metrics"]["test_loss"] == m["test_loss"]
