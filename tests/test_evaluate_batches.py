"""Validation and ``evaluate`` one batch at a time: the same loss and metrics as the whole set at
once (the computation they replaced), with the memory of one batch's logits."""
from __future__ import annotations

import numpy as np
import pytest

import rnnlab
from rnnlab import metrics
from rnnlab.training.engine import evaluate_prepared, prepare


def whole_set(model, x, y, mask):
    """The old computation: every logit of the set at once, then the loss and each metric."""
    x, yc, mask = prepare(model, x, y, mask)
    z = model.predict(x, mask=mask, logits=True, batch_size=10 ** 6)
    lmask = model.output_mask(mask) if z.ndim == 3 and mask is not None else None
    out = {"loss": model.compiled_loss.forward(z, yc, lmask)}
    pred = model.compiled_loss.activate(z)
    for name in model.metric_names:
        out[name] = metrics.get(name)(pred, yc, lmask)
    return out, (x, yc, mask)


def _lengths_mask(rng, n, t):
    lengths = rng.integers(1, t + 1, size=n)
    return np.arange(t)[None, :] < lengths[:, None]


def first_step_right(pred, target, mask=None):
    """A custom metric no batch sum can give: kept whole by metrics.Running."""
    return float(np.mean(pred[:, 0].argmax(-1) == np.asarray(target)[:, 0]))


first_step_right.higher_is_better = True


@pytest.mark.parametrize("dtype, rel", [("float64", 1e-12), ("float32", 1e-6)])
def test_per_step_classifier_equals_whole_set(dtype, rel):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 30, (45, 9))
    y = rng.integers(0, 30, (45, 9))
    mask = _lengths_mask(rng, 45, 9)
    m = rnnlab.Sequential([rnnlab.Embedding(30, 8), rnnlab.GRU(12, return_sequences=True), rnnlab.Dense(30)],
                          input_size=1, seed=1, dtype=dtype)
    m.compile(loss="categorical_crossentropy", metrics=["accuracy", "step_accuracy", first_step_right])
    ref, (xc, yc, mc) = whole_set(m, x, y, mask)
    assert 0 < ref["accuracy"] < 1
    for bs in (1, 7, 45, 1000):
        got = evaluate_prepared(m, xc, yc, mc, bs)
        assert got["loss"] == pytest.approx(ref["loss"], rel=rel)
        assert got["accuracy"] == ref["accuracy"] and got["step_accuracy"] == ref["step_accuracy"]
        assert got[first_step_right] == ref[first_step_right]
    assert m.evaluate(x, y, mask=mask, batch_size=8)["loss"] == pytest.approx(ref["loss"], rel=rel)


def test_regression_metrics_equal_whole_set():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((50, 6, 2))
    y = rng.standard_normal((50, 6, 3)) * [1.0, 5.0, 0.1] + [0.0, 100.0, -3.0]   # r2 needs the pooled mean
    mask = _lengths_mask(rng, 50, 6)
    m = rnnlab.Sequential([rnnlab.LSTM(5, return_sequences=True), rnnlab.Dense(3)], input_size=2, seed=0,
                          dtype="float64").compile(loss="mse", metrics=["r2", "mae", "rmse"])
    ref, (xc, yc, mc) = whole_set(m, x, y, mask)
    for bs in (1, 9, 50):
        got = evaluate_prepared(m, xc, yc, mc, bs)
        for k in ("loss", "r2", "mae", "rmse"):
            assert got[k] == pytest.approx(ref[k], rel=1e-12), (bs, k)


def test_binary_sequence_accuracy_and_last_step_outputs():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((33, 4, 2))
    y = rng.integers(0, 2, (33, 4, 1)).astype(float)
    m = rnnlab.Sequential([rnnlab.SimpleRNN(6, return_sequences=True), rnnlab.Dense(1)], input_size=2, seed=0,
                          dtype="float64").compile(loss="binary_crossentropy", metrics=["accuracy"])
    ref, (xc, yc, mc) = whole_set(m, x, y, None)
    got = evaluate_prepared(m, xc, yc, mc, 5)
    assert got["loss"] == pytest.approx(ref["loss"], rel=1e-12) and got["accuracy"] == ref["accuracy"]
    last = rnnlab.Sequential([rnnlab.SimpleRNN(6), rnnlab.Dense(1)], input_size=2, seed=0,
                             dtype="float64").compile(loss="mse", metrics=["r2"])
    ref, (xc, yc, mc) = whole_set(last, x, y[:, -1], None)
    got = evaluate_prepared(last, xc, yc, mc, 4)
    assert got["loss"] == pytest.approx(ref["loss"], rel=1e-12) and got["r2"] == pytest.approx(ref["r2"], rel=1e-12)


def test_validation_holds_one_batch_of_logits():
    import tracemalloc
    rng = np.random.default_rng(4)
    n, t, k, bs = 512, 10, 1000, 16
    x, y = rng.integers(0, k, (n, t)), rng.integers(0, k, (n, t))
    m = rnnlab.Sequential([rnnlab.Embedding(k, 8), rnnlab.SimpleRNN(8, return_sequences=True), rnnlab.Dense(k)],
                          input_size=1, seed=0).compile(loss="categorical_crossentropy", metrics=["accuracy"])
    xc, yc, mc = prepare(m, x, y, None)
    whole, batch = n * t * k * 4, bs * t * k * 4          # float32 logits: 20 MB, 0.6 MB
    evaluate_prepared(m, xc, yc, mc, bs)
    tracemalloc.start()
    evaluate_prepared(m, xc, yc, mc, bs)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 5 * batch < whole / 6, f"peak {peak / 2 ** 20:.1f} MiB"


def test_running_metric_needs_a_batch():
    r = metrics.Running("accuracy")
    assert r.streaming and not metrics.Running(first_step_right).streaming
    with pytest.raises(rnnlab.InputError, match="no batch"):
        r.value()
