"""TimePool: masked mean / max over time — finite differences (float64), PyTorch, padding, save/load."""
from __future__ import annotations

import numpy as np
import pytest

import rnnlab
from rnnlab.diagnostics import gradcheck
from rnnlab.errors import InputError
from rnnlab.layers.pooling import TimePool

LENGTHS = [5, 2, 4, 1]
B, T, F = len(LENGTHS), 5, 3
MASK = np.arange(T)[None, :] < np.array(LENGTHS)[:, None]


def make(mode, dtype=np.float64):
    layer = TimePool(mode)
    assert layer.build(F, np.random.default_rng(0), dtype) == F and layer.params == {}
    return layer


@pytest.mark.parametrize("masked", [True, False])
@pytest.mark.parametrize("mode", ["mean", "max"])
def test_gradcheck_float64(mode, masked, rng):
    res = gradcheck(make(mode), rng.standard_normal((B, T, F)), mask=MASK if masked else None)
    assert res.ok, str(res)
    assert res.errors["input"] < 1e-8


@pytest.mark.parametrize("mode", ["mean", "max"])
def test_values_by_hand(mode):
    x = np.arange(B * T * F, dtype=np.float64).reshape(B, T, F) * np.where(np.arange(F) == 1, -1, 1)
    y = make(mode).forward(x, mask=MASK)
    for b, n in enumerate(LENGTHS):
        valid = x[b, :n]
        np.testing.assert_allclose(y[b], valid.mean(axis=0) if mode == "mean" else valid.max(axis=0), rtol=1e-15)
    assert make(mode).output_mask(MASK) is None                  # the time axis is gone, and the mask


@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-12), (np.float32, 1e-6)])
@pytest.mark.parametrize("mode", ["mean", "max"])
def test_equals_torch_masked_pooling(torch, mode, dtype, tol, rng):
    x = rng.standard_normal((B, T, F)).astype(dtype)
    x[~MASK] = 50.0                                               # padding larger than anything valid
    dy = rng.standard_normal((B, F)).astype(dtype)
    layer = make(mode, dtype)
    y = layer.forward(x, mask=MASK)
    dx = layer.backward(dy)

    tx = torch.from_numpy(x).requires_grad_(True)
    tm = torch.from_numpy(MASK)
    if mode == "mean":
        ty = (tx * tm[:, :, None]).sum(dim=1) / tm.sum(dim=1, keepdim=True)
    else:
        ty = tx.masked_fill(~tm[:, :, None], float("-inf")).max(dim=1).values
    (ty * torch.from_numpy(dy)).sum().backward()
    assert y.dtype == dtype and dx.dtype == dtype and y.shape == (B, F)
    np.testing.assert_allclose(y, ty.detach().numpy(), rtol=tol, atol=tol)
    np.testing.assert_allclose(dx, tx.grad.numpy(), rtol=tol, atol=tol)
    assert np.all(dx[~MASK] == 0)                                 # no gradient into the padding


@pytest.mark.parametrize("mode", ["mean", "max"])
def test_padding_content_does_not_matter(mode, rng):
    x = rng.standard_normal((B, T, F))
    x2 = x.copy()
    x2[~MASK] = rng.standard_normal(int((~MASK).sum()))[:, None] * 1e3
    np.testing.assert_array_equal(make(mode).forward(x, mask=MASK), make(mode).forward(x2, mask=MASK))


@pytest.mark.parametrize("pool", ["mean", "max"])
def test_model_gradcheck_embedding_lstm_pool_logistic(pool, rng):
    """Embedding → LSTM (every step) → TimePool → Dense(1), binary cross-entropy, masked, float64."""
    m = rnnlab.Sequential([rnnlab.Embedding(7, 3), rnnlab.LSTM(4, return_sequences=True), TimePool(pool),
                           rnnlab.Dense(1)], seed=2, dtype="float64")
    m.compile(loss="binary_crossentropy", optimizer="sgd")
    ids = rng.integers(1, 7, size=(B, T))
    ids[~MASK] = 0
    y = np.array([1.0, 0.0, 1.0, 0.0])
    res = gradcheck(m, ids, y, mask=MASK)
    assert res.ok, str(res)
    assert len(res.errors) == len(m.named_params())


def test_saved_and_loaded_with_the_model(tmp_path, rng):
    m = rnnlab.Sequential([rnnlab.GRU(4, return_sequences=True), rnnlab.TimePool("max"), rnnlab.Dense(2)],
                          input_size=3, seed=1)
    x = rng.standard_normal((B, T, 3)).astype(np.float32)
    m.save(tmp_path / "m")
    back = rnnlab.load(tmp_path / "m")
    assert [type(l).__name__ for l in back.layers] == ["GRU", "TimePool", "Dense"]
    assert back.layers[1].mode == "max"
    np.testing.assert_array_equal(back.predict(x, mask=MASK), m.predict(x, mask=MASK))


def test_bad_mode_and_shapes_are_clear_errors():
    with pytest.raises(InputError, match="mean.*max"):
        TimePool("sum")
    layer = make("mean")
    with pytest.raises(InputError, match=r"\(batch, time, 3\)"):
        layer.forward(np.zeros((2, 3)))
    with pytest.raises(InputError, match="mask"):
        layer.forward(np.zeros((2, 4, 3)), mask=np.ones((2, 5), bool))
