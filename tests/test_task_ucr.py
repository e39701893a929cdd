"""`rnnlab run ucr`: the split and the scaler (fitted on training rows only), and short end-to-end
runs on the real JapaneseVowels files (variable length 7-29, 12 features, 9 classes)."""
from __future__ import annotations

import json

import numpy as np
import pytest

import rnnlab
from _datadir import use_real_data
from rnnlab.data import load_ucr
from rnnlab.errors import InputError
from rnnlab.tasks import ucr
from rnnlab.tasks.base import RunContext

JV = ["ucr/JapaneseVowels_TRAIN.ts", "ucr/JapaneseVowels_TEST.ts"]


def run(path, **kw) -> dict:
    cfg = ucr.Config(**kw)
    return ucr.run(cfg, RunContext.for_folder(ucr.NAME, path, cfg, quiet=True))


@pytest.fixture
def jv(monkeypatch, tmp_path):
    return use_real_data(monkeypatch, tmp_path, *JV)


def test_stratified_split_is_per_class_and_seeded():
    y = np.repeat(np.arange(3), [10, 20, 5])
    fit, val = ucr.stratified_split(y, 0.2, np.random.default_rng(0))
    assert np.bincount(y[val]).tolist() == [2, 4, 1]
    assert sorted(np.concatenate([fit, val]).tolist()) == list(range(35))
    fit2, val2 = ucr.stratified_split(y, 0.2, np.random.default_rng(0))
    assert np.array_equal(val, val2)
    _, val3 = ucr.stratified_split(y, 0.2, np.random.default_rng(1))
    assert not np.array_equal(val, val3)


def test_frame_series_groups_steps():
    s = np.arange(14, dtype=np.float64).reshape(7, 2)          # T = 7, D = 2
    f = ucr.frame_series(s, 3)
    assert f.shape == (3, 6)
    assert f[0].tolist() == [0, 1, 2, 3, 4, 5] and f[2].tolist() == [12, 13, 0, 0, 0, 0]


def test_scaler_is_fitted_on_training_rows_only(jv, scaler_fits):
    seen = scaler_fits
    data = ucr.prepare("JapaneseVowels", seed=0, val_fraction=0.2)
    train_s, train_y, _ = load_ucr("JapaneseVowels", "train")
    test_s, _, _ = load_ucr("JapaneseVowels", "test")
    assert len(seen) == 1
    fit_rows = np.concatenate([train_s[i] for i in data.fit_idx])
    assert np.array_equal(seen[0], fit_rows)                   # exactly the training part, no padding
    assert len(data.val_idx) == 54 and np.bincount(train_y[data.val_idx]).tolist() == [6] * 9
    assert np.allclose(data.scaler.mean_, fit_rows.mean(axis=0))
    with_test = np.concatenate([fit_rows, *test_s]).mean(axis=0)
    assert not np.allclose(data.scaler.mean_, with_test)
    # padded steps are zero and masked; valid steps are the normalised training values
    assert data.x_fit.shape[0] == 216 and data.m_fit.sum() == len(fit_rows)
    assert np.all(data.x_fit[~data.m_fit] == 0)
    # refit mode fits on the whole TRAIN file, never on TEST
    seen.clear()
    ucr.prepare("JapaneseVowels", seed=0, val_fraction=0.2, fit_on_all=True)
    assert np.array_equal(seen[0], np.concatenate(train_s))


def test_matched_hidden_gives_equal_parameter_counts():
    p1 = ucr.count_params(12, 9, hidden=64, layers=1)
    h2 = ucr.matched_hidden(12, 9, p1, 2)
    p2 = ucr.count_params(12, 9, hidden=h2, layers=2)
    assert h2 < 64 and abs(p2 - p1) / p1 < 0.03


@pytest.mark.slow
def test_japanese_vowels_short_run(jv, tmp_path):
    out = tmp_path / "jv"
    run(out, dataset="JapaneseVowels", epochs=12, hidden=32, refit=False)
    for f in ("metrics.json", "history.csv", "loss.png", "confusion.png", "model/model.json", "model/scaler.json"):
        assert (out / f).is_file(), f
    doc = json.loads((out / "metrics.json").read_text())
    m, b = doc["metrics"], doc["baselines"]
    assert m["test_n"] == 370 and sum(map(sum, doc["confusion_matrix"])) == 370
    assert b["published"]["1nn_dtw"] == 0.949 and b["published"]["fcn"] == 0.993
    assert abs(b["majority_class"]["test_accuracy"] - 31 / 370) < 1e-12
    assert m["test_accuracy"] > 0.8 > b["majority_class"]["test_accuracy"] + 0.5
    # the numbers of this run before the task became a package on the one training engine (seed 0)
    assert (m["test_errors"], m["best_epoch"], m["params"]) == (12, 9, 9417)
    assert doc["data"]["lengths"] == {"train": [7, 26], "test": [7, 29]}
    # the saved model and scaler reproduce the test accuracy
    model = rnnlab.load(out / "model")
    sc = json.loads((out / "model" / "scaler.json").read_text())
    test_s, test_y, _ = load_ucr("JapaneseVowels", "test")
    x, mask = rnnlab.data.pad_sequences([(s - sc["offset"]) / sc["scale"] for s in test_s])
    acc = float(np.mean(model.predict(x, mask=mask).argmax(axis=1) == test_y))
    assert acc == pytest.approx(m["test_accuracy"], abs=1 / 370)


@pytest.mark.slow
def test_compare_depth_reports_both(jv, tmp_path):
    out = tmp_path / "depth"
    doc = run(out, dataset="JapaneseVowels", compare_depth=True, epochs=3, hidden=32, repeats=1, refit=False)
    one, two = doc["metrics"]["1_layer"], doc["metrics"]["2_layer"]
    assert one["hidden"] == 32 and two["hidden"] == 18
    assert abs(two["params"] - one["params"]) / one["params"] < 0.05
    assert (out / "depth1_seed0" / "confusion.png").is_file() and (out / "depth2_seed0" / "metrics.json").is_file()


def test_unknown_dataset_is_a_clear_error(jv, tmp_path):
    with pytest.raises(InputError, match="available:"):
        run(tmp_path, dataset="NoSuchSet")


def test_default_folder_names_the_dataset():
    from rnnlab.tasks.launch import default_folder
    gun = default_folder("ucr", ucr.Config(dataset="GunPoint"))
    assert gun.parent.name == "runs" and gun.name.startswith("ucr-dataset_GunPoint-")
    assert default_folder("ucr", ucr.Config(dataset="all")).name.startswith("ucr-dataset_all-")


def _hand_built(n_features, n_classes, cell, hidden, layers, bidirectional, dropout, seed):
    """The stack ucr built by hand before rnnlab.builders.stacked_rnn."""
    from rnnlab import Bidirectional, Dense, Dropout, Sequential
    from rnnlab.registry import make_recurrent
    stack = []
    for i in range(layers):
        kw = {"return_sequences": i < layers - 1, **({"forget_bias": 1.0} if cell == "lstm" else {})}
        layer = make_recurrent(cell, hidden, **kw)
        stack.append(Bidirectional(layer, merge="concat") if bidirectional else layer)
        if dropout > 0:
            stack.append(Dropout(dropout, seed=seed + 1000 + i))
    return Sequential(stack + [Dense(n_classes)], input_size=n_features, seed=seed)


@pytest.mark.parametrize("cell, layers, bidirectional, dropout", [
    ("gru", 1, True, 0.0), ("lstm", 2, True, 0.2), ("rnn", 3, False, 0.1), ("lstm", 1, False, 0.0)])
def test_builder_gives_the_hand_built_weights_and_dropout(cell, layers, bidirectional, dropout):
    kw = dict(cell=cell, hidden=6, layers=layers, bidirectional=bidirectional, dropout=dropout, seed=7)
    new, old = ucr.build_model(5, 3, **kw), _hand_built(5, 3, **kw)
    assert new.get_config() == old.get_config()
    w_new, w_old = new.get_weights(), old.get_weights()
    assert list(w_new) == list(w_old) and all(np.array_equal(w_new[k], w_old[k]) for k in w_new)
    x = np.random.default_rng(0).standard_normal((4, 7, 5)).astype(np.float32)
    np.testing.assert_array_equal(new.forward(x, training=True)[0], old.forward(x, training=True)[0])  # same dropout
