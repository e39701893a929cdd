"""Masks: a right-padded batch behaves, sequence by sequence, like each sequence run alone.

For every cell, forward, ``go_backwards`` and Bidirectional: per-step outputs, last-step output,
final states, the input gradient on the valid part and the parameter gradients (summed over the
sequences) equal those of the unpadded sequences; padded outputs and input gradients are exactly 0.
"""
from __future__ import annotations

import numpy as np
import pytest

from rnnlab.layers.bidirectional import Bidirectional
from rnnlab.registry import layer_from_config

LENGTHS = [5, 2, 4, 1]
B, T, F, H = len(LENGTHS), 5, 3, 4
MODES = ["forward", "go_backwards", "bidirectional"]


def build(kind, mode, return_sequences):
    cfg = {"hidden_size": H, "return_sequences": return_sequences, "go_backwards": mode == "go_backwards"}
    layer = layer_from_config({"class": kind, "config": cfg})
    if mode == "bidirectional":
        layer = Bidirectional(layer)
    layer.build(F, np.random.default_rng(0), np.float64)
    return layer


def states(layer):
    fs = layer.final_state
    return fs[0] + fs[1] if isinstance(layer, Bidirectional) else fs


def grads(layer):
    return {name: g.copy() for name, _, g in layer.named_params()}


@pytest.mark.parametrize("kind", ["SimpleRNN", "LSTM", "GRU"])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("return_sequences", [True, False])
def test_padded_batch_equals_each_sequence_alone(kind, mode, return_sequences):
    layer = build(kind, mode, return_sequences)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((B, T, F)) * 3                            # garbage in the padding too
    mask = np.arange(T)[None, :] < np.array(LENGTHS)[:, None]
    y = layer.forward(x, mask=mask)
    dy = rng.standard_normal(y.shape)
    fin = [s.copy() for s in states(layer)]
    layer.zero_grad()
    dx = layer.backward(dy)
    g_batch = grads(layer)

    g_sum = {k: np.zeros_like(v) for k, v in g_batch.items()}
    for b, n in enumerate(LENGTHS):
        xb = x[b:b + 1, :n]
        yb = layer.forward(xb)
        for s_batch, s_alone in zip(fin, states(layer)):
            np.testing.assert_allclose(s_batch[b:b + 1], s_alone, rtol=1e-12, atol=1e-12)
        layer.zero_grad()
        if return_sequences:
            np.testing.assert_allclose(y[b:b + 1, :n], yb, rtol=1e-12, atol=1e-12)
            dxb = layer.backward(dy[b:b + 1, :n])
        else:
            np.testing.assert_allclose(y[b:b + 1], yb, rtol=1e-12, atol=1e-12)
            dxb = layer.backward(dy[b:b + 1])
        np.testing.assert_allclose(dx[b:b + 1, :n], dxb, rtol=1e-10, atol=1e-12)
        for k, v in grads(layer).items():
            g_sum[k] += v
    for k in g_batch:
        np.testing.assert_allclose(g_batch[k], g_sum[k], rtol=1e-10, atol=1e-12, err_msg=k)

    pad = ~mask
    if return_sequences:
        assert np.all(y[pad] == 0)
    assert np.all(dx[pad] == 0)


@pytest.mark.parametrize("mode", MODES)
def test_padding_values_do_not_matter(mode):
    layer = build("SimpleRNN", mode, True)
    rng = np.random.default_rng(2)
    x = rng.standard_normal((B, T, F))
    mask = np.arange(T)[None, :] < np.array(LENGTHS)[:, None]
    y1 = layer.forward(x, mask=mask)
    x2 = np.where(mask[:, :, None], x, 1e3)
    np.testing.assert_array_equal(layer.forward(x2, mask=mask), y1)
    # without the mask the padding does leak into the outputs (the test can tell)
    assert np.abs(layer.forward(x2) - y1)[mask].max() > 1e-3 or mode == "forward"
