"""The lecture's first two cases, end to end through the CLI, on held-out data.

Headline numbers are pinned for seed 0, and the saved model must reproduce the reported number:
the test set is regenerated from the config and the metric recomputed from the loaded model.
"""
import json

import numpy as np
import pytest

import rnnlab
from rnnlab.cli import main
from rnnlab.tasks import echo, subtraction

RUN_FILES = {"config.json", "metrics.json", "history.csv", "loss.png", "model", "checkpoint"}


def _metrics(folder):
    return json.loads((folder / "metrics.json").read_text())


def test_echo(tmp_path):
    out = tmp_path / "echo"
    assert main(["run", "echo", "--quiet", "--epochs", "15", "--out", str(out)]) == 0
    doc = _metrics(out)
    m = doc["metrics"]
    assert {p.name for p in out.iterdir()} == RUN_FILES | {"prediction.png"}      # no INCOMPLETE
    assert m["test_r2"] == pytest.approx(0.99894, abs=5e-4) and m["test_r2"] > 0.99
    assert m["test_mse_half"] == pytest.approx(4.456e-5, rel=0.1)
    assert doc["baselines"]["train_mean"]["test_r2"] == pytest.approx(0.0, abs=0.01)
    assert doc["hyperparameters"] == {**vars(echo.Config(epochs=15))}
    history = (out / "history.csv").read_text().splitlines()
    assert history[0] == "epoch,loss,r2,val_loss,val_r2,lr,time" and len(history) == 15 + 1
    # the saved model reproduces the reported numbers on the regenerated test set
    x_test, y_test = echo.make_data(echo.Config(epochs=15))["test"]
    model = rnnlab.load(out / "model")
    assert echo.scores(model.predict(x_test), y_test) == m


def test_subtraction_generalises_to_unseen_and_longer_numbers(tmp_path):
    out = tmp_path / "sub"
    assert main(["run", "subtraction", "--quiet", "--epochs", "10", "--out", str(out)]) == 0
    doc = _metrics(out)
    m = doc["metrics"]
    assert m == {"train_pairs": 3000, "test_pairs_unseen": 28896, "test_accuracy_unseen": 1.0,
                 "accuracy_16bit": 1.0, "accuracy_32bit": 1.0}
    assert doc["baselines"]["xor_no_borrow"]["test_accuracy_unseen"] == pytest.approx(0.19819, abs=1e-4)
    assert RUN_FILES | {"example.png", "example.txt"} == {p.name for p in out.iterdir()}
    assert "1765432109  (true 1765432109)" in (out / "example.txt").read_text()
    # the saved model reproduces every reported number
    config = subtraction.Config(epochs=10)
    data, rng = subtraction.make_data(config)
    model = rnnlab.load(out / "model")
    assert not model.layers[0].use_bias and not model.layers[1].use_bias
    assert subtraction.exact(model, *data["test"]) == m["test_accuracy_unseen"] == 1.0
    for bits, (x, y) in subtraction.longer_numbers(rng).items():
        assert subtraction.exact(model, x, y) == m[f"accuracy_{bits}bit"]
    probs = model.predict(data["test"][0])
    assert np.all((probs > 0.5) == (data["test"][1] > 0.5))


def test_same_seed_same_numbers(tmp_path):
    docs = []
    for i in range(2):
        out = tmp_path / f"e{i}"
        assert main(["run", "echo", "--quiet", "--epochs", "3", "--out", str(out)]) == 0
        docs.append(_metrics(out)["metrics"])
    assert docs[0] == docs[1]
    assert main(["run", "echo", "--quiet", "--epochs", "3", "--seed", "1", "--out", str(tmp_path / "s1")]) == 0
    assert _metrics(tmp_path / "s1")["metrics"] != docs[0]
