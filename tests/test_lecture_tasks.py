"""The lecture's first two cases, end to end through the CLI, on held-out data."""
import json

import numpy as np
import pytest

import rnnlab
from rnnlab.cli import main

RUN_FILES = {"metrics.json", "history.csv", "loss.png", "model"}


def _metrics(folder):
    return json.loads((folder / "metrics.json").read_text())


def test_echo(tmp_path):
    out = tmp_path / "echo"
    assert main(["run", "echo", "--quiet", "--out", str(out)]) == 0
    doc = _metrics(out)
    assert RUN_FILES | {"prediction.png"} <= {p.name for p in out.iterdir()}
    assert doc["metrics"]["test_r2"] >= 0.99
    assert doc["metrics"]["test_r2"] > doc["baselines"]["train_mean"]["test_r2"] + 0.9
    assert doc["hyperparameters"]["seed"] == 0 and doc["hyperparameters"]["hidden"] == 4
    history = (out / "history.csv").read_text().splitlines()
    assert history[0].startswith("epoch,loss,r2,val_loss,val_r2") and len(history) == 61
    # the saved model reproduces the reported number
    from rnnlab.data.synthetic import echo_signal
    model = rnnlab.load(out / "model")
    x, y = echo_signal(10, 2, rng=np.random.default_rng(0))
    assert model.predict(x).shape == (10, 1)


def test_subtraction_generalises_to_unseen_and_longer_numbers(tmp_path):
    out = tmp_path / "sub"
    assert main(["run", "subtraction", "--quiet", "--out", str(out)]) == 0
    doc = _metrics(out)
    m = doc["metrics"]
    assert m["test_pairs_unseen"] > 20000 and m["train_pairs"] == 3000
    assert m["test_accuracy_unseen"] == 1.0
    assert m["accuracy_16bit"] == 1.0 and m["accuracy_32bit"] == 1.0
    assert doc["baselines"]["xor_no_borrow"]["test_accuracy_unseen"] < 0.3
    assert RUN_FILES | {"example.png", "example.txt"} <= {p.name for p in out.iterdir()}
    assert "1765432109  (true 1765432109)" in (out / "example.txt").read_text()
    model = rnnlab.load(out / "model")
    assert not model.layers[0].use_bias and not model.layers[1].use_bias


def test_same_seed_same_numbers(tmp_path):
    docs = []
    for i in range(2):
        out = tmp_path / f"e{i}"
        main(["run", "echo", "--quiet", "--epochs", "3", "--out", str(out)])
        docs.append(_metrics(out)["metrics"])
    assert docs[0] == docs[1]


def test_list(capsys):
    assert main(["list"]) == 0
    listed = capsys.readouterr().out
    assert "echo" in listed and "subtraction" in listed


def test_bad_option_is_a_clear_error(tmp_path, capsys):
    assert main(["run", "echo", "--quiet", "--hidden", "0", "--out", str(tmp_path / "x")]) == 2
    assert "hidden_size: expected a positive integer" in capsys.readouterr().err
