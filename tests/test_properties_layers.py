"""Property-based tests (hypothesis) of the non-recurrent layers: Dense, Embedding, OneHot,
Dropout, TimePool, AdditiveAttention and MultiplicativeAttention (dot, general).

For random shapes, lengths and masks: forward finite; backward shapes equal the parameter
shapes; masked steps inert in the layer's documented sense (position-wise layers: a padded
position changes only its own output; TimePool and attention: padded steps change nothing and
get a zero gradient); batch splitting changes nothing; float32 agrees with float64; float64
gradients match central differences. Dropout is checked in inference mode (the identity) and in
training mode with a fixed seed (``y = x ⊙ m``, ``dx = dy ⊙ m``, one mask per sequence).
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from rnnlab.diagnostics import gradcheck
from rnnlab.layers import AdditiveAttention, Dense, Dropout, Embedding, MultiplicativeAttention, OneHot, TimePool

SETTINGS = settings(max_examples=30, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@st.composite
def shapes(draw, max_batch=4, max_steps=5, max_size=4):
    b, t = draw(st.integers(1, max_batch)), draw(st.integers(1, max_steps))
    lengths = draw(st.lists(st.integers(1, t), min_size=b, max_size=b))
    return {"b": b, "t": t, "f": draw(st.integers(1, max_size)), "u": draw(st.integers(1, max_size)),
            "mask": np.arange(t)[None, :] < np.array(lengths)[:, None], "seed": draw(st.integers(0, 2 ** 16))}


def grads(layer):
    return {n: g.copy() for n, _, g in layer.named_params()}


def run(layer, x, dy, **kw):
    y = layer.forward(x, **kw)
    layer.zero_grad()
    dx = layer.backward(dy)
    return y, dx, grads(layer)


# ------------------------------------------------------------------------------ position-wise layers
def dense(s, dtype=np.float64):
    layer = Dense(s["u"])
    layer.build(s["f"], np.random.default_rng(s["seed"]), dtype)
    return layer


@SETTINGS
@given(shapes(), st.booleans())
def test_dense_properties(s, time_axis):
    rng = np.random.default_rng(s["seed"])
    shape = (s["b"], s["t"], s["f"]) if time_axis else (s["b"], s["f"])
    x, layer = rng.standard_normal(shape), dense(s)
    dy = rng.standard_normal(shape[:-1] + (s["u"],))
    y, dx, g = run(layer, x, dy)
    assert np.isfinite(y).all() and dx.shape == x.shape
    assert {n: a.shape for n, a in g.items()} == {n: p.shape for n, p, _ in layer.named_params()}
    if time_axis:                                       # a padded position changes its own output only
        pad = ~s["mask"]
        x2 = np.where(pad[:, :, None], 1e3, x)
        np.testing.assert_array_equal(layer.forward(x2)[s["mask"]], y[s["mask"]])
    if s["b"] > 1:                                      # batch splitting
        k = s["b"] // 2
        ya, dxa, ga = run(layer, x[:k], dy[:k])
        yb, dxb, gb = run(layer, x[k:], dy[k:])
        np.testing.assert_allclose(np.concatenate([ya, yb]), y, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(np.concatenate([dxa, dxb]), dx, rtol=1e-12, atol=1e-12)
        for n in g:
            np.testing.assert_allclose(ga[n] + gb[n], g[n], rtol=1e-10, atol=1e-12)
    l32 = dense(s, np.float32)
    for (_, p32, _), (_, p64, _) in zip(l32.named_params(), layer.named_params()):
        p32[...] = p64
    y32 = l32.forward(x.astype(np.float32))
    assert y32.dtype == np.float32
    np.testing.assert_allclose(y32, layer.forward(x), rtol=1e-4, atol=1e-5)
    assert gradcheck(layer, x).ok


@SETTINGS
@given(shapes(), st.integers(1, 6))
def test_embedding_and_onehot_properties(s, vocab):
    rng = np.random.default_rng(s["seed"])
    ids = rng.integers(0, vocab, size=(s["b"], s["t"]))
    emb = Embedding(vocab, s["u"])
    emb.build(1, np.random.default_rng(s["seed"]), np.float64)
    one = OneHot(vocab)
    one.build(1, np.random.default_rng(0), np.float64)
    y, h = emb.forward(ids), one.forward(ids)
    np.testing.assert_array_equal(y, emb.params["weight"][ids])
    np.testing.assert_array_equal(h.sum(-1), 1.0)
    np.testing.assert_array_equal(h.argmax(-1), ids)
    np.testing.assert_array_equal(h @ emb.params["weight"], y)          # embedding = one-hot · table
    dy = rng.standard_normal(y.shape)
    emb.zero_grad()
    assert emb.backward(dy) is None and one.backward(rng.standard_normal(h.shape)) is None
    g = emb.grads["weight"].copy()
    assert g.shape == emb.params["weight"].shape
    np.testing.assert_allclose(g, h.reshape(-1, vocab).T @ dy.reshape(-1, s["u"]), rtol=1e-12, atol=1e-12)
    pad = ~s["mask"]                                   # a padded id changes its own row only
    ids2 = np.where(pad, (ids + 1) % vocab, ids)
    np.testing.assert_array_equal(emb.forward(ids2)[s["mask"]], y[s["mask"]])
    if s["b"] > 1:
        k = s["b"] // 2
        parts = []
        for sl in (slice(0, k), slice(k, None)):
            emb.forward(ids[sl])
            emb.zero_grad()
            emb.backward(dy[sl])
            parts.append(emb.grads["weight"].copy())
        np.testing.assert_allclose(parts[0] + parts[1], g, rtol=1e-12, atol=1e-12)
    e32 = Embedding(vocab, s["u"])
    e32.build(1, np.random.default_rng(s["seed"]), np.float32)
    assert e32.forward(ids).dtype == np.float32
    np.testing.assert_allclose(e32.forward(ids), y, rtol=1e-6, atol=1e-6)


@SETTINGS
@given(shapes(), st.sampled_from([0.0, 0.1, 0.5, 0.9]), st.booleans())
def test_dropout_properties(s, rate, per_sequence):
    rng = np.random.default_rng(s["seed"])
    x = rng.standard_normal((s["b"], s["t"], s["f"]))
    layer = Dropout(rate, per_sequence=per_sequence, seed=s["seed"])
    layer.build(s["f"], np.random.default_rng(0), np.float64)
    np.testing.assert_array_equal(layer.forward(x), x)                 # inference: the identity
    dy = rng.standard_normal(x.shape)
    np.testing.assert_array_equal(layer.backward(dy), dy)
    y = layer.forward(x, training=True)
    m = layer.mask if layer.mask is not None else np.ones_like(x)
    assert np.isfinite(y).all() and y.shape == x.shape
    assert set(np.unique(np.round(m, 12))) <= {0.0, round(1 / (1 - rate), 12)}
    np.testing.assert_allclose(y, x * m, rtol=1e-12)
    np.testing.assert_allclose(layer.backward(dy), dy * m, rtol=1e-12)
    if per_sequence:                                   # one mask per sequence and feature, all steps
        assert np.all(m == m[:, :1])
    again = Dropout(rate, per_sequence=per_sequence, seed=s["seed"])
    again.build(s["f"], np.random.default_rng(0), np.float64)
    np.testing.assert_array_equal(again.forward(x, training=True), y)  # a fixed seed: the same mask


# ------------------------------------------------------------------------------ TimePool
@SETTINGS
@given(shapes(), st.sampled_from(["mean", "max"]))
def test_time_pool_properties(s, mode):
    rng = np.random.default_rng(s["seed"])
    mask, pad = s["mask"], ~s["mask"]
    x = rng.standard_normal((s["b"], s["t"], s["f"]))
    layer = TimePool(mode)
    layer.build(s["f"], np.random.default_rng(0), np.float64)
    dy = rng.standard_normal((s["b"], s["f"]))
    y, dx, _ = run(layer, x, dy, mask=mask)
    assert np.isfinite(y).all() and y.shape == (s["b"], s["f"]) and dx.shape == x.shape
    ref = [(np.mean if mode == "mean" else np.max)(x[b, mask[b]], axis=0) for b in range(s["b"])]
    np.testing.assert_allclose(y, np.stack(ref), rtol=1e-12, atol=1e-12)
    x2 = np.where(pad[:, :, None], 1e3, x)
    y2, dx2, _ = run(layer, x2, dy, mask=mask)
    np.testing.assert_array_equal(y2, y)
    assert np.all(dx[pad] == 0) and np.all(dx2[pad] == 0)
    np.testing.assert_allclose(dx.sum(axis=1), dy, rtol=1e-12, atol=1e-12)   # the gradient is shared out
    if s["b"] > 1:
        k = s["b"] // 2
        ya, dxa, _ = run(layer, x[:k], dy[:k], mask=mask[:k])
        yb, dxb, _ = run(layer, x[k:], dy[k:], mask=mask[k:])
        np.testing.assert_array_equal(np.concatenate([ya, yb]), y)
        np.testing.assert_array_equal(np.concatenate([dxa, dxb]), dx)
    l32 = TimePool(mode)
    l32.build(s["f"], np.random.default_rng(0), np.float32)
    np.testing.assert_allclose(l32.forward(x.astype(np.float32), mask=mask), y, rtol=1e-5, atol=1e-6)
    assert gradcheck(layer, x, mask=mask).ok


# ------------------------------------------------------------------------------ attention
ATTENTIONS = {"additive": lambda u: AdditiveAttention(u), "dot": lambda u: MultiplicativeAttention("dot"),
              "general": lambda u: MultiplicativeAttention("general")}


def attention(kind, s, dq, dtype=np.float64):
    layer = ATTENTIONS[kind](s["u"])
    layer.build(dq, np.random.default_rng(s["seed"]), dtype, key_size=s["f"])
    return layer


def attention_case(kind, s, draw):
    dq = s["f"] if kind == "dot" else draw.draw(st.integers(1, 4), label="query size")
    steps = draw.draw(st.integers(1, 4), label="query steps")
    rng = np.random.default_rng(s["seed"] + 1)
    q = rng.standard_normal((s["b"], steps, dq))
    k = rng.standard_normal((s["b"], s["t"], s["f"]))
    return dq, q, k, rng


def attention_run(layer, q, k, mask, dc):
    ctx, alpha = layer.forward(q, k, mask=mask)
    layer.zero_grad()
    dq, dk = layer.backward(dc)
    return ctx, alpha, dq, dk, grads(layer)


@SETTINGS
@pytest.mark.parametrize("kind", sorted(ATTENTIONS))
@given(s=shapes(), draw=st.data())
def test_attention_properties(kind, s, draw):
    dq_size, q, k, rng = attention_case(kind, s, draw)
    mask, pad = s["mask"], ~s["mask"]
    layer = attention(kind, s, dq_size)
    dc = rng.standard_normal((s["b"], q.shape[1], s["f"]))
    ctx, alpha, dq, dk, g = attention_run(layer, q, k, mask, dc)
    assert np.isfinite(ctx).all() and ctx.shape == dc.shape and dq.shape == q.shape and dk.shape == k.shape
    assert {n: a.shape for n, a in g.items()} == {n: p.shape for n, p, _ in layer.named_params()}
    np.testing.assert_allclose(alpha.sum(-1), 1.0, rtol=1e-12)
    assert np.all(alpha.transpose(0, 2, 1)[pad] == 0)                    # no weight on padding
    k2 = np.where(pad[:, :, None], rng.standard_normal(k.shape) * 1e3, k)
    ctx2, _, dq2, dk2, g2 = attention_run(layer, q, k2, mask, dc)
    np.testing.assert_allclose(ctx2, ctx, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dq2, dq, rtol=1e-12, atol=1e-12)
    assert np.all(dk[pad] == 0) and np.all(dk2[pad] == 0)
    for n in g:
        np.testing.assert_allclose(g2[n], g[n], rtol=1e-10, atol=1e-12)
    if s["b"] > 1:
        h = s["b"] // 2
        a = attention_run(layer, q[:h], k[:h], mask[:h], dc[:h])
        b = attention_run(layer, q[h:], k[h:], mask[h:], dc[h:])
        for i in range(4):
            np.testing.assert_allclose(np.concatenate([a[i], b[i]]), (ctx, alpha, dq, dk)[i], rtol=1e-10, atol=1e-12)
        for n in g:
            np.testing.assert_allclose(a[4][n] + b[4][n], g[n], rtol=1e-10, atol=1e-12)
    l32 = attention(kind, s, dq_size, np.float32)
    for (_, p32, _), (_, p64, _) in zip(l32.named_params(), layer.named_params()):
        p32[...] = p64
    c32, _ = l32.forward(q.astype(np.float32), k.astype(np.float32), mask=mask)
    assert c32.dtype == np.float32
    np.testing.assert_allclose(c32, ctx, rtol=1e-4, atol=1e-4)


def numeric_grad(f, arr, eps=1e-6):
    g = np.zeros_like(arr)
    flat, gflat = arr.reshape(-1), g.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        fp = f()
        flat[i] = old - eps
        fm = f()
        flat[i] = old
        gflat[i] = (fp - fm) / (2 * eps)
    return g


@settings(SETTINGS, max_examples=15)
@pytest.mark.parametrize("kind", sorted(ATTENTIONS))
@given(s=shapes(max_batch=2, max_steps=3, max_size=3), draw=st.data())
def test_attention_gradients_match_finite_differences(kind, s, draw):
    dq_size, q, k, rng = attention_case(kind, s, draw)
    layer = attention(kind, s, dq_size)
    r = rng.standard_normal((s["b"], q.shape[1], s["f"]))

    def loss():
        return float(np.sum(layer.forward(q, k, mask=s["mask"])[0] * r))

    _, _, dq, dk, g = attention_run(layer, q, k, s["mask"], r)
    pairs = [(dq, q), (dk, k)] + [(g[n], p) for n, p, _ in layer.named_params()]
    for analytic, arr in pairs:
        np.testing.assert_allclose(analytic, numeric_grad(loss, arr), rtol=1e-5, atol=1e-7)
