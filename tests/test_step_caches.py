"""Short-call shortcuts give the readable results, and never serve weights from before an update.

* a recurrent forward over few rows (one-step generation and decoding) computes
  ``X·weight_ihᵀ + b`` directly instead of building ``[weight_ih | b]``: same outputs and
  gradients as the augmented product, and the weights read are always the current ones (the
  parameters are updated **in place** by the optimizer, ``set_weights`` and loading, so nothing
  derived from them may outlive a call);
* seq2seq decoding computes additive attention's ``W_k·k + b`` once per decode: same ids and
  logits as recomputing it at every step.
"""
from __future__ import annotations

import numpy as np
import pytest

from rnnlab import GRU, LSTM, Dense, Embedding, Sequential, SimpleRNN
from rnnlab.generation import SequenceStepper
from rnnlab.layers import recurrent
from rnnlab.layers.attention import AdditiveAttention
from rnnlab.layers.inference import inference_mode

F, H = 3, 5
CELLS = [
    ("rnn", lambda **kw: SimpleRNN(H, **kw)),
    ("lstm", lambda **kw: LSTM(H, **kw)),
    ("gru", lambda **kw: GRU(H, **kw)),
    ("gru-reset-before", lambda **kw: GRU(H, reset_after=False, **kw)),
]


def built(make, dtype=np.float64, **kw):
    layer = make(**kw)
    layer.build(F, np.random.default_rng(0), dtype)
    for p in layer.params.values():                     # non-zero biases: the folding shows
        p += np.random.default_rng(1).standard_normal(p.shape).astype(dtype) * 0.3
    return layer


def augmented(layer, *args, **kw):
    """The same call with the [X, 1]·[weight_ih, b]ᵀ product forced (the readable path)."""
    old = recurrent.DIRECT_INPUT_ROWS
    recurrent.DIRECT_INPUT_ROWS = -1
    try:
        return layer.forward(*args, **kw)
    finally:
        recurrent.DIRECT_INPUT_ROWS = old


@pytest.mark.parametrize("name,make", CELLS, ids=[c[0] for c in CELLS])
@pytest.mark.parametrize("use_bias", [True, False])
def test_direct_input_product_equals_augmented(name, make, use_bias):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 1, F))                   # 2 rows ≤ F + 1: the direct path
    s0 = rng.standard_normal((2, H))
    layer = built(make, use_bias=use_bias, return_sequences=True)
    init = (s0, s0 * 0.5) if name == "lstm" else s0
    direct = layer.forward(x, initial_state=init)
    layer.zero_grad()
    dy = rng.standard_normal(direct.shape)
    dx_direct = layer.backward(dy)
    g_direct = {k: v.copy() for k, v in layer.grads.items()}
    ref = augmented(layer, x, initial_state=init)
    layer.zero_grad()
    dx_ref = layer.backward(dy)
    np.testing.assert_allclose(direct, ref, rtol=0, atol=1e-12)
    np.testing.assert_allclose(dx_direct, dx_ref, rtol=0, atol=1e-12)
    for k in g_direct:
        np.testing.assert_allclose(g_direct[k], layer.grads[k], rtol=0, atol=1e-12)
    with inference_mode():
        np.testing.assert_allclose(layer.forward(x, initial_state=init), ref, rtol=0, atol=1e-12)


@pytest.mark.parametrize("name,make", CELLS, ids=[c[0] for c in CELLS])
def test_short_calls_read_weights_changed_in_place(name, make):
    """Every kind of in-place change between two one-step calls shows in the second call."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((1, 1, F))
    layer = built(make)
    before = layer.forward(x)
    for param in ("weight_ih", "bias_ih", "bias_hh"):
        layer.params[param] += 0.25                      # as the optimizer does: same array object
        now = layer.forward(x)
        assert np.abs(now - before).max() > 1e-3, param
        np.testing.assert_allclose(now, augmented(layer, x), rtol=0, atol=1e-12)
        before = now


def _lm(seed=0):
    return Sequential([Embedding(7, 4), LSTM(6, return_sequences=True), GRU(5, return_sequences=True),
                       Dense(7)], input_size=1, seed=seed, dtype="float64")


def test_stepper_after_fit_and_set_weights_uses_the_new_weights():
    rng = np.random.default_rng(4)
    ids = rng.integers(0, 7, (1, 6))
    model = _lm()
    model.compile(loss="sparse_categorical_crossentropy", optimizer="sgd", lr=0.5)

    def stepped():
        with SequenceStepper(model) as run:
            got = [run.start(ids[:, :1])] + [run.step(ids[:, t]) for t in range(1, 6)]
        return np.stack(got, 1)

    first = stepped()
    full, _ = model.forward(ids, None, training=False)
    np.testing.assert_allclose(first, full, atol=1e-12)
    model.fit(rng.integers(0, 7, (4, 6)), rng.integers(0, 7, (4, 6)), epochs=1, batch_size=4, verbose=0)
    second = stepped()                                   # the optimizer changed the arrays in place
    full, _ = model.forward(ids, None, training=False)
    assert np.abs(second - first).max() > 1e-4
    np.testing.assert_allclose(second, full, atol=1e-12)
    model.set_weights(_lm(seed=9).get_weights())        # copied into the same arrays
    third = stepped()
    full, _ = model.forward(ids, None, training=False)
    assert np.abs(third - second).max() > 1e-4
    np.testing.assert_allclose(third, full, atol=1e-12)


# -- additive attention: W_k·k + b made once per decode ---------------------------------------
def test_attention_with_precomputed_keys_equals_without():
    rng = np.random.default_rng(5)
    att = AdditiveAttention(6)
    att.build(4, np.random.default_rng(0), np.float64, key_size=3)
    att.params["bias"] += 0.4
    q, k = rng.standard_normal((2, 1, 4)), rng.standard_normal((2, 5, 3))
    mask = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], dtype=bool)
    ref_ctx, ref_alpha = att.forward(q, k, mask)
    kw = att.key_projection(k)
    with inference_mode():
        ctx, alpha = att.forward(q, k, mask, key_projection=kw)
    np.testing.assert_allclose(ctx, ref_ctx, rtol=0, atol=1e-12)
    np.testing.assert_allclose(alpha, ref_alpha, rtol=0, atol=1e-12)
    with pytest.raises(Exception, match="key_projection"):
        att.forward(q, k, mask, key_projection=kw[:1])


def test_seq2seq_decoding_ids_unchanged_by_the_key_projection(monkeypatch):
    from rnnlab.decoding import beam_search, greedy_decode
    from rnnlab.seq2seq import Seq2Seq
    m = Seq2Seq(30, 25, hidden=8, embed=5, attention="additive", bos=0, eos=1, seed=3, dtype="float64")
    src = np.random.default_rng(6).integers(2, 30, (4, 6))
    fast_g, fast_b = greedy_decode(m, src, max_len=7), beam_search(m, src, beam=3, max_len=7)
    # the readable way: W_k·k + b recomputed inside every step (no key projection in the state)
    real = AdditiveAttention.forward
    monkeypatch.setattr(AdditiveAttention, "forward",
                        lambda self, q, k, mask=None, training=False, key_projection=None:
                        real(self, q, k, mask, training))
    slow_g, slow_b = greedy_decode(m, src, max_len=7), beam_search(m, src, beam=3, max_len=7)
    assert "key_proj" in m.decode_start(src)
    assert np.array_equal(fast_g.ids, slow_g.ids)
    np.testing.assert_allclose(fast_g.scores, slow_g.scores, rtol=0, atol=1e-10)
    assert np.array_equal(fast_b.ids, slow_b.ids)
    np.testing.assert_allclose(fast_b.scores, slow_b.scores, rtol=0, atol=1e-10)
