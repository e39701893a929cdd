"""Property-based tests (hypothesis) of the recurrent layers: every cell, stacked, Bidirectional.

Random batch sizes, lengths (right-padded masks, as :mod:`tests.test_masking` documents them),
feature and hidden sizes, directions and ``return_sequences``. For every draw:

* forward is finite; backward returns ``dx`` of the input's shape and a gradient of every
  parameter's shape, finite;
* masked steps are inert: padded inputs do not change the outputs, padded outputs and padded
  input gradients are exactly 0, and whatever ``dy`` holds on padded steps changes no gradient;
* splitting the batch changes nothing: the forward of a batch is the concatenation of the
  forwards of its parts, and its gradients the sum of theirs;
* float32 and float64 agree (same weights) to float32 accuracy;
* small configurations pass a float64 finite-difference gradient check.

Settings are derandomized (the same examples every run: CI is reproducible) and have no deadline.
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from rnnlab.diagnostics import gradcheck
from rnnlab.layers import GRU, LSTM, Bidirectional, IndRNN, SimpleRNN
from rnnlab.layers.bidirectional import MERGES

SETTINGS = settings(max_examples=12, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

CELLS = {
    "rnn-tanh": lambda h, **kw: SimpleRNN(h, "tanh", **kw),
    "rnn-relu": lambda h, **kw: SimpleRNN(h, "relu", **kw),
    "lstm": lambda h, **kw: LSTM(h, **kw),
    "gru": lambda h, **kw: GRU(h, reset_after=True, **kw),
    "gru-v1": lambda h, **kw: GRU(h, reset_after=False, **kw),
    "indrnn": lambda h, **kw: IndRNN(h, **kw),
}
WRAPS = ("none", "stacked", *(f"bidirectional-{m}" for m in MERGES))


class Stacked:
    """Two recurrent layers, the first returning sequences: the smallest stack, as a layer."""

    def __init__(self, first, second) -> None:
        self.layers = [first, second]
        self.dtype = None

    def build(self, input_size, rng, dtype):
        self.dtype = np.dtype(dtype)
        return self.layers[1].build(self.layers[0].build(input_size, rng, dtype), rng, dtype)

    def forward(self, x, mask=None):
        return self.layers[1].forward(self.layers[0].forward(x, mask=mask), mask=mask)

    def backward(self, dy):
        return self.layers[0].backward(self.layers[1].backward(dy))

    def named_params(self):
        return [(f"{i}.{n}", p, g) for i, l in enumerate(self.layers) for n, p, g in l.named_params()]

    def zero_grad(self):
        for layer in self.layers:
            layer.zero_grad()

    @property
    def return_sequences(self):
        return self.layers[1].return_sequences


@st.composite
def cases(draw, max_batch=4, max_steps=6, max_size=4):
    b = draw(st.integers(1, max_batch))
    t = draw(st.integers(1, max_steps))
    return {
        "wrap": draw(st.sampled_from(WRAPS)),
        "b": b, "t": t, "f": draw(st.integers(1, max_size)), "h": draw(st.integers(1, max_size)),
        "lengths": draw(st.lists(st.integers(1, t), min_size=b, max_size=b)),
        "return_sequences": draw(st.booleans()),
        "go_backwards": draw(st.booleans()),
        "seed": draw(st.integers(0, 2 ** 16)),
    }


def make(cell_name, c, dtype=np.float64):
    cell, h = CELLS[cell_name], c["h"]
    rs = c["return_sequences"]
    if c["wrap"] == "stacked":
        layer = Stacked(cell(h, return_sequences=True, go_backwards=c["go_backwards"]), cell(h, return_sequences=rs))
    elif c["wrap"].startswith("bidirectional"):
        layer = Bidirectional(cell(h, return_sequences=rs), merge=c["wrap"].split("-")[1])
    else:
        layer = cell(h, return_sequences=rs, go_backwards=c["go_backwards"])
    layer.build(c["f"], np.random.default_rng(c["seed"]), dtype)
    return layer


def data(c, dtype=np.float64):
    rng = np.random.default_rng(c["seed"] + 1)
    x = rng.standard_normal((c["b"], c["t"], c["f"])).astype(dtype)
    mask = np.arange(c["t"])[None, :] < np.array(c["lengths"])[:, None]
    return x, mask, rng


def run(layer, x, mask, dy):
    """Forward, then backward of ``sum(y * dy)``: output, input gradient, parameter gradients."""
    y = layer.forward(x, mask=mask)
    layer.zero_grad()
    dx = layer.backward(dy)
    return y, dx, {n: g.copy() for n, _, g in layer.named_params()}


def returns_sequences(layer) -> bool:
    return layer.return_sequences


@SETTINGS
@pytest.mark.parametrize("cell", sorted(CELLS))
@given(c=cases())
def test_forward_finite_backward_shapes(cell, c):
    layer = make(cell, c)
    x, mask, rng = data(c)
    y = layer.forward(x, mask=mask)
    assert np.isfinite(y).all()
    assert y.shape[:2] == (c["b"], c["t"]) if returns_sequences(layer) else (y.ndim == 2 and len(y) == c["b"])
    layer.zero_grad()
    dx = layer.backward(rng.standard_normal(y.shape))
    assert dx.shape == x.shape and np.isfinite(dx).all()
    for name, p, g in layer.named_params():
        assert g.shape == p.shape and g.dtype == p.dtype, name
        assert np.isfinite(g).all(), name


@SETTINGS
@pytest.mark.parametrize("cell", sorted(CELLS))
@given(c=cases())
def test_masked_steps_are_inert(cell, c):
    layer = make(cell, c)
    x, mask, rng = data(c)
    pad = ~mask
    x2 = np.where(pad[:, :, None], rng.standard_normal(x.shape) * 1e3, x)     # garbage in the padding
    y = layer.forward(x, mask=mask)
    dy = rng.standard_normal(y.shape)
    dy2 = np.where(pad[:, :, None], rng.standard_normal(y.shape) * 1e3, dy) if returns_sequences(layer) else dy
    y1, dx1, g1 = run(layer, x, mask, dy)
    y2, dx2, g2 = run(layer, x2, mask, dy2)
    np.testing.assert_array_equal(y1, y2)
    np.testing.assert_allclose(dx1[mask], dx2[mask], rtol=1e-12, atol=1e-12)
    assert np.all(dx1[pad] == 0) and np.all(dx2[pad] == 0)
    if returns_sequences(layer):
        assert np.all(y1[pad] == 0)
    for k in g1:
        np.testing.assert_allclose(g1[k], g2[k], rtol=1e-12, atol=1e-12, err_msg=k)


@SETTINGS
@pytest.mark.parametrize("cell", sorted(CELLS))
@given(c=cases(), draw=st.data())
def test_batch_split_changes_nothing(cell, c, draw):
    c = {**c, "b": max(c["b"], 2), "lengths": (c["lengths"] * 2)[:max(c["b"], 2)]}
    layer = make(cell, c)
    x, mask, rng = data(c)
    k = draw.draw(st.integers(1, c["b"] - 1), label="split")
    y = layer.forward(x, mask=mask)
    dy = rng.standard_normal(y.shape)
    y_all, dx_all, g_all = run(layer, x, mask, dy)
    y_a, dx_a, g_a = run(layer, x[:k], mask[:k], dy[:k])
    y_b, dx_b, g_b = run(layer, x[k:], mask[k:], dy[k:])
    np.testing.assert_allclose(y_all, np.concatenate([y_a, y_b]), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dx_all, np.concatenate([dx_a, dx_b]), rtol=1e-10, atol=1e-12)
    for name in g_all:
        np.testing.assert_allclose(g_all[name], g_a[name] + g_b[name], rtol=1e-9, atol=1e-11, err_msg=name)


@SETTINGS
@pytest.mark.parametrize("cell", sorted(CELLS))
@given(c=cases())
def test_float32_agrees_with_float64(cell, c):
    l64, l32 = make(cell, c, np.float64), make(cell, c, np.float32)
    for (_, p64, _), (name, p32, _) in zip(l64.named_params(), l32.named_params()):
        p32[...] = p64                                  # the same weights (rounded to float32)
        p64[...] = p32
    x, mask, rng = data(c)
    y64 = l64.forward(x, mask=mask)
    dy = rng.standard_normal(y64.shape)
    y64, dx64, g64 = run(l64, x, mask, dy)
    y32, dx32, g32 = run(l32, x.astype(np.float32), mask, dy.astype(np.float32))
    assert y32.dtype == np.float32 and dx32.dtype == np.float32
    np.testing.assert_allclose(y32, y64, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(dx32, dx64, rtol=1e-3, atol=1e-4 * (1 + np.abs(dx64).max()))
    for k in g64:
        assert np.linalg.norm(g32[k] - g64[k]) <= 1e-4 * (1 + np.linalg.norm(g64[k])), k


@settings(SETTINGS, max_examples=10)
@pytest.mark.parametrize("cell", sorted(CELLS))
@given(c=cases(max_batch=2, max_steps=4, max_size=3))
def test_gradients_match_finite_differences(cell, c):
    layer = make(cell, c)
    x, mask, _ = data(c)
    result = gradcheck(layer, x, mask=mask, seed=c["seed"])
    assert result.ok, str(result)
