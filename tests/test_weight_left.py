"""The per-step products with the weight on the left (``W·hᵀ`` and ``Wᵀ·δᵀ``, then a transposed
copy; :func:`rnnlab.cells.base.weight_left`) give the numbers of the usual ``h·Wᵀ`` / ``δ·W``:
forced on for small test shapes, every output, final state, input gradient and parameter
gradient matches the usual path, in float64 to rounding and in float32 to float32 rounding."""
import numpy as np
import pytest

import rnnlab
from rnnlab.cells import base
from rnnlab.layers.inference import inference_mode

CELLS = {
    "rnn": lambda: rnnlab.SimpleRNN(7, return_sequences=True),
    "lstm": lambda: rnnlab.LSTM(7, return_sequences=True),
    "gru": lambda: rnnlab.GRU(7, return_sequences=True),
    "gru_reset_before": lambda: rnnlab.GRU(7, return_sequences=True, reset_after=False),
}


def _run(kind, dtype, left, masked, monkeypatch):
    monkeypatch.setattr(base, "WEIGHT_LEFT_MIN_BYTES", -1 if left else 1 << 60)
    monkeypatch.setattr(base, "WEIGHT_LEFT_MAX_ROWS", 1 << 30)
    rng = np.random.default_rng(4)
    x = rng.standard_normal((5, 6, 3)).astype(dtype)
    mask = np.array([[1] * 6, [1] * 4 + [0] * 2, [1] * 6, [1] + [0] * 5, [1] * 5 + [0]], bool) if masked else None
    model = rnnlab.Sequential([rnnlab.Dense(4), CELLS[kind](), rnnlab.Dense(2)], input_size=3, seed=2,
                              dtype=dtype).compile(loss="mse", optimizer="sgd")
    y = rng.standard_normal((5, 6, 2)).astype(dtype)
    xc, mc = model.check_inputs(x, mask)
    model.zero_grad()
    loss = model.train_gradients(xc, y, mc)
    rec = model.layers[1]
    out = {name: g.copy() for name, _, g in model.named_params()}
    out["final_state"] = rec.final_state[0].copy()
    with inference_mode():
        out["predict"] = model.forward(xc, mc, training=False)[0].copy()
    return loss, out


@pytest.mark.parametrize("kind", sorted(CELLS))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("masked", [False, True])
def test_weight_on_the_left_gives_the_same_numbers(kind, dtype, masked, monkeypatch):
    loss_l, left = _run(kind, dtype, True, masked, monkeypatch)
    loss_r, right = _run(kind, dtype, False, masked, monkeypatch)
    tol = 1e-12 if dtype == np.float64 else 2e-6
    assert loss_l == pytest.approx(loss_r, rel=tol)
    assert left.keys() == right.keys()
    for name in left:
        scale = max(1.0, float(np.max(np.abs(right[name]))))
        assert np.max(np.abs(left[name] - right[name])) <= tol * scale, name
        assert np.any(left[name] != 0), name                                   # a real value arrived


def test_the_rule_follows_weight_size_and_rows():
    lstm384 = np.zeros((4 * 384, 384), np.float32)       # 2.4 MB: larger than an L2 cache
    lstm256 = np.zeros((4 * 256, 256), np.float32)       # 1.0 MB
    gru512 = np.zeros((3 * 512, 512), np.float32)
    assert base.weight_left(32, lstm384) and base.weight_left(1, gru512) and base.weight_left(32, gru512)
    assert not base.weight_left(64, lstm384) and not base.weight_left(32, lstm256)


def test_no_contiguous_transpose_is_made_when_the_weight_goes_left():
    cell = rnnlab.cells.LSTMCell(384)
    w = np.zeros((4 * 384, 384), np.float32)
    cache: dict = {}
    assert "weight_hh_t" not in cell.step_params({"weight_hh": w}, cache, steps=50, batch=32)
    assert "weight_hh_t" in cell.step_params({"weight_hh": w}, cache, steps=50, batch=64)


def test_gru_reset_before_chooses_for_the_whole_weight_as_step_params_does(monkeypatch):
    """GRU with the reset before the product multiplies by two blocks of weight_hh; when the whole
    matrix goes left (step_params then makes no contiguous weight_hhᵀ), both blocks go left too,
    even if a block alone is under the size bound — and the numbers stay those of the usual path."""
    layer = rnnlab.GRU(8, return_sequences=True, reset_after=False)
    model = rnnlab.Sequential([layer], input_size=3, seed=1)
    x = np.random.default_rng(0).standard_normal((4, 5, 3)).astype(np.float32)
    monkeypatch.setattr(base, "WEIGHT_LEFT_MIN_BYTES", 1 << 60)
    ref = model.predict(x, batch_size=4)
    whole = 3 * 8 * 8 * 4                                   # bytes of weight_hh (24, 8) float32
    monkeypatch.setattr(base, "WEIGHT_LEFT_MIN_BYTES", whole - 1)   # the whole goes left, each block alone would not
    got = model.predict(x, batch_size=4)
    scratch = layer.cell.__dict__.get("_transposed_scratch", {})
    assert {k[0] for k in scratch} >= {(4, 16), (4, 8)}     # both products (B, 2H) and (B, H) went left
    assert np.allclose(got, ref, rtol=0, atol=2e-6)
