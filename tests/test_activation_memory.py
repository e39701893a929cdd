"""What a recurrent layer keeps for backward: every per-step activation once, nothing twice.

The LSTM and GRU write their gates over the runner's XP buffer (each step reads its XP row once
and nothing reads it again), and the gradients of the previous state that the backward step
hands down live in two alternating slots instead of one per step. These tests pin the set of
per-step arrays a layer holds after a training step — a regression here is a second copy of an
activation (issue 15: peak memory of a training step ≤ 1.25× PyTorch's) — and check that the
results are still exact: gradients against finite differences (float64) and the NumPy
reference against the kernels (float32), with masks, reversed direction and a second backward
of the same forward.
"""
from __future__ import annotations

import numpy as np
import pytest

from rnnlab import GRU, LSTM, Bidirectional, Dense, Sequential, SimpleRNN
from rnnlab.cells import _kernels
from rnnlab.diagnostics import gradcheck

B, T, F, H = 3, 7, 4, 5


def _arrays(obj, out: dict) -> dict:
    """Every ndarray reachable in nested dicts / lists / tuples, keyed by the memory it owns."""
    if isinstance(obj, np.ndarray):
        base = obj
        while isinstance(base.base, np.ndarray):
            base = base.base
        out[id(base)] = base
    elif isinstance(obj, dict):
        for v in obj.values():
            _arrays(v, out)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            _arrays(v, out)
    return out


def per_step_arrays(layer) -> list[tuple[int, ...]]:
    """Shapes of the arrays with a time axis (≥ T·B·H elements) the layer holds, sorted."""
    held = _arrays(layer._bufs, {})
    return sorted(a.shape for a in held.values() if a.size >= T * B * H)


def train_once(layer, x, dtype=np.float32):
    layer.build(F, np.random.default_rng(0), dtype)
    y = layer.forward(x.astype(dtype), training=True)
    layer.backward(np.ones_like(y))
    return layer


@pytest.mark.parametrize("make, gates, states, extra", [
    (lambda: LSTM(H, return_sequences=True), 4, 2, [(T, B, H)]),               # + tanh(c_t)
    (lambda: GRU(H, return_sequences=True), 3, 1, [(T, B, 3 * H)]),            # + h·W_hhᵀ (reset after)
    (lambda: GRU(H, reset_after=False, return_sequences=True), 3, 1, [(T, B, H)]),   # + r ∘ h
    (lambda: SimpleRNN(H, return_sequences=True), 1, 1, []),
])
def test_training_keeps_each_activation_once(make, gates, states, extra):
    x = np.random.default_rng(1).standard_normal((B, T, F))
    layer = train_once(make(), x)
    expected = sorted([(T, B, F + 1),                       # [X, 1] time-major
                       (T, B, gates * H),                   # XP, then the gates written over it
                       (T, B, gates * H)]                   # dXP
                      + [(T + 1, B, H)] * states            # the state sequences
                      + extra
                      + ([(T, B, gates * H)] if isinstance(layer.cell, type(GRU(1).cell))
                         and layer.cell.separate_recurrent_grad else []))    # GRU's dHP
    assert per_step_arrays(layer) == expected


@pytest.mark.parametrize("make", [lambda: LSTM(H, return_sequences=True), lambda: GRU(H, return_sequences=True)])
def test_gates_live_in_the_xp_buffer(make):
    x = 10 * np.random.default_rng(1).standard_normal((B, T, F))   # pre-activations well beyond ±1
    layer = train_once(make(), x)
    bufs = layer._bufs[True]
    assert bufs["cell"]["gates"] is bufs["xp"]
    assert bufs["cell"]["dh"].shape == (2, B, H)             # two alternating slots, not T
    p = layer.params
    raw = x.astype(np.float32) @ p["weight_ih"].T + p["bias_ih"]     # what XP held before the steps
    assert np.abs(raw).max() > 2.0
    g = bufs["xp"]                                           # now sigmoid / tanh outputs
    assert g.min() >= -1.0 and g.max() <= 1.0


@pytest.mark.parametrize("cell", ["lstm", "gru"])
@pytest.mark.parametrize("masked, go_backwards", [(False, False), (True, False), (True, True)])
def test_gradients_exact_with_gates_over_xp(cell, masked, go_backwards):
    make = {"lstm": LSTM, "gru": GRU}[cell]
    layer = make(H, return_sequences=True, go_backwards=go_backwards)
    layer.build(F, np.random.default_rng(0), np.float64)
    x = np.random.default_rng(2).standard_normal((B, T, F))
    mask = (np.arange(T)[None] < np.array([T, 4, 2])[:, None]) if masked else None
    res = gradcheck(layer, x, mask=mask)
    assert res.max_error < 1e-6, str(res)


@pytest.mark.parametrize("make", [lambda: LSTM(H, return_sequences=True), lambda: GRU(H, return_sequences=True),
                                  lambda: GRU(H, reset_after=False, return_sequences=True)])
def test_reference_equals_kernels_and_backward_repeats(make):
    """NumPy reference (float32) == compiled kernels; a second backward of one forward gives the
    same gradients (the gates over XP are read, never consumed, by backward)."""
    x = np.random.default_rng(3).standard_normal((B, T, F)).astype(np.float32)
    dy = np.random.default_rng(4).standard_normal((B, T, H)).astype(np.float32)
    results = {}
    old = _kernels.get_backend()
    backends = ["numpy"] + (["numba"] if _kernels._load() else [])
    try:
        for name in backends:
            _kernels.set_backend(name)
            layer = make()
            layer.build(F, np.random.default_rng(0), np.float32)
            y = layer.forward(x, training=True)
            dx = layer.backward(dy)
            grads = {k: v.copy() for k, v in layer.grads.items()}
            for g in layer.grads.values():
                g.fill(0)
            dx2 = layer.backward(dy)
            np.testing.assert_array_equal(dx2, dx)
            for k, v in layer.grads.items():
                np.testing.assert_array_equal(v, grads[k])
            results[name] = (y, dx, grads)
    finally:
        _kernels.set_backend(old)
    if len(results) == 2:
        (y0, dx0, g0), (y1, dx1, g1) = results["numpy"], results["numba"]
        np.testing.assert_allclose(y1, y0, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(dx1, dx0, rtol=1e-4, atol=1e-5)
        for k in g0:
            np.testing.assert_allclose(g1[k], g0[k], rtol=1e-4, atol=1e-5)


def test_stacked_bidirectional_model_trains_the_same_after_inference():
    """predict between two training steps (inference writes over the same XP buffer kind) leaves
    the next training step's gradients what a fresh model computes."""
    def model():
        m = Sequential([Bidirectional(LSTM(H, return_sequences=True)), GRU(H), Dense(2)], input_size=F, seed=0)
        m.compile(loss="mse", optimizer="sgd")
        return m
    x = np.random.default_rng(5).standard_normal((B, T, F)).astype(np.float32)
    y = np.random.default_rng(6).standard_normal((B, 2)).astype(np.float32)
    a, b = model(), model()
    a.predict(x)
    ga = a.train_gradients(x, y)
    gb = b.train_gradients(x, y)
    assert ga == pytest.approx(gb)
    for (n, _, g1), (_, _, g2) in zip(a.named_params(), b.named_params()):
        np.testing.assert_array_equal(g1, g2, err_msg=n)
