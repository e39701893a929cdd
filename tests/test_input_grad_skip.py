"""Issue 15 speed-ups that must not change a number: the first layer of a Sequential on raw data
skips its input gradient (``needs_input_grad``) with parameter gradients unchanged bit for bit,
and the fast additive-attention score equals its readable reference."""
import numpy as np
import pytest

import rnnlab
from rnnlab.layers import AdditiveAttention
from rnnlab.layers.attention import additive_scores_backward_readable, additive_scores_readable
from rnnlab.layers.bidirectional import Bidirectional


def _grads(model, x, y, mask=None, force_input_grad=False):
    if force_input_grad:
        for layer in model.layers:
            layer.needs_input_grad = True
    xc, mc = model.check_inputs(x, mask)
    model.zero_grad()
    loss = model.train_gradients(xc, y, mc)
    return loss, {name: g.copy() for name, _, g in model.named_params()}


def _model(kind, layers_fn, seed=3):
    model = rnnlab.Sequential(layers_fn(kind), seed=seed)
    return model.compile(loss="mse", optimizer="sgd")


def _rec(kind, **kw):
    return {"lstm": rnnlab.LSTM, "gru": rnnlab.GRU, "rnn": rnnlab.SimpleRNN}[kind](6, **kw)


STACKS = {
    "rec_dense": lambda k: [_rec(k, return_sequences=True), rnnlab.Dense(2)],
    "backwards": lambda k: [_rec(k, return_sequences=True, go_backwards=True), rnnlab.Dense(2)],
    "last_step": lambda k: [_rec(k), rnnlab.Dense(2)],
    "bidirectional_2": lambda k: [Bidirectional(_rec(k, return_sequences=True)),
                                  Bidirectional(_rec(k, return_sequences=True), merge="sum"), rnnlab.Dense(2)],
    "dropout_first": lambda k: [rnnlab.Dropout(0.3, seed=1), _rec(k, return_sequences=True), rnnlab.Dense(2)],
    "dense_first": lambda k: [rnnlab.Dense(5), _rec(k, return_sequences=True), rnnlab.Dense(2)],
}


@pytest.mark.parametrize("kind", ["lstm", "gru", "rnn"])
@pytest.mark.parametrize("stack", sorted(STACKS))
@pytest.mark.parametrize("masked", [False, True])
def test_skipping_the_input_gradient_leaves_every_parameter_gradient_bit_identical(kind, stack, masked):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 5, 3)).astype(np.float32)
    mask = np.array([[1] * 5, [1] * 3 + [0] * 2, [1] * 5, [1] + [0] * 4], dtype=bool) if masked else None
    fast, ref = _model(kind, STACKS[stack]), _model(kind, STACKS[stack])
    fast.build(3), ref.build(3)
    with_time = fast.layers[-2].keeps_time if stack != "last_step" else False
    y = rng.standard_normal((4, 5, 2) if with_time else (4, 2)).astype(np.float32)
    loss_f, g_f = _grads(fast, x, y, mask)
    loss_r, g_r = _grads(ref, x, y, mask, force_input_grad=True)
    assert loss_f == loss_r
    assert g_f.keys() == g_r.keys() and len(g_f) > 0
    for name in g_f:
        assert np.array_equal(g_f[name], g_r[name]), name
        assert np.any(g_f[name] != 0) or "bias" in name, name          # a real gradient arrived
    first_with_params = next(i for i, l in enumerate(fast.layers) if l.named_params())
    assert not fast.layers[first_with_params].needs_input_grad
    assert all(l.needs_input_grad for l in fast.layers[first_with_params + 1:])


def test_flags_follow_the_layers_below():
    """dX is needed exactly when some layer below has parameters (an Embedding needs the dX above it)."""
    m = rnnlab.Sequential([rnnlab.Embedding(7, 4), rnnlab.LSTM(5, return_sequences=True), rnnlab.Dense(3)])
    m.build(1)
    assert [l.needs_input_grad for l in m.layers] == [False, True, True]
    m = rnnlab.Sequential([rnnlab.OneHot(7), rnnlab.GRU(5), rnnlab.Dense(3)])
    m.build(1)
    assert [l.needs_input_grad for l in m.layers] == [False, False, True]
    bi = Bidirectional(rnnlab.LSTM(4, return_sequences=True))
    m = rnnlab.Sequential([bi, rnnlab.Dense(2)])
    m.build(3)
    assert not bi.needs_input_grad and not bi.forward_layer.needs_input_grad and not bi.backward_layer.needs_input_grad
    bi.needs_input_grad = True
    assert bi.forward_layer.needs_input_grad and bi.backward_layer.needs_input_grad


def test_a_layer_on_its_own_still_returns_its_input_gradient_and_the_skipping_one_returns_none():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 4, 3))
    layer = rnnlab.LSTM(5, return_sequences=True)
    layer.build(3, np.random.default_rng(0), np.float64)
    dy = rng.standard_normal((2, 4, 5))
    layer.forward(x, training=True)
    dx = layer.backward(dy)
    assert dx.shape == x.shape and np.any(dx != 0)
    g_with = {n: g.copy() for n, _, g in layer.named_params()}
    layer.zero_grad()
    layer.needs_input_grad = False
    layer.forward(x, training=True)
    assert layer.backward(dy) is None
    for n, _, g in layer.named_params():
        assert np.array_equal(g, g_with[n]), n


def test_onehot_char_model_trains_identically_with_the_skip():
    """End to end through fit (OneHot → LSTM → Dense, the lecture's char model): same weights after."""
    rng = np.random.default_rng(2)
    ids = rng.integers(0, 6, (16, 7))
    y = rng.integers(0, 6, (16, 7))

    def run(force):
        m = rnnlab.Sequential([rnnlab.OneHot(6), rnnlab.LSTM(8, return_sequences=True), rnnlab.Dense(6)], seed=4)
        m.compile(loss="categorical_crossentropy", optimizer="adam")
        m.build(1)
        if force:
            for layer in m.layers:
                layer.needs_input_grad = True
        m.fit(ids, y, epochs=2, batch_size=8, verbose=0, shuffle=False)
        return m.get_weights()

    fast, ref = run(False), run(True)
    for name in ref:
        assert np.array_equal(fast[name], ref[name]), name


# -- additive attention: fast == readable -----------------------------------------------------

@pytest.mark.parametrize("dtype,tol", [(np.float64, 1e-12), (np.float32, 2e-5)])
@pytest.mark.parametrize("shape", [(3, 4, 5), (2, 1, 6), (1, 3, 1)])   # (B, T, S)
def test_fast_additive_score_equals_the_readable_one(dtype, tol, shape):
    b, t, s = shape
    dq, dk = 3, 5
    rng = np.random.default_rng(5)
    layer = AdditiveAttention(4)
    layer.build(dq, np.random.default_rng(0), dtype, key_size=dk)
    layer.params["bias"][...] = rng.standard_normal(4)                  # a non-zero bias
    q, k = rng.standard_normal((b, t, dq)).astype(dtype), rng.standard_normal((b, s, dk)).astype(dtype)
    de = rng.standard_normal((b, t, s)).astype(dtype)

    def close(a, r):
        np.testing.assert_allclose(a, r, rtol=tol, atol=tol * max(1.0, float(np.abs(r).max())))

    e_ref, z_ref = additive_scores_readable(q, k, layer.params)
    e = layer.scores(q, k)
    assert e.shape == (b, t, s) and e.dtype == dtype
    close(e, e_ref)
    g_ref, dq_ref, dk_ref = additive_scores_backward_readable(de, q, k, z_ref, layer.params)
    for repeat in range(2):                             # a second backward recomputes the tanh
        layer.zero_grad()
        d_q, d_k = layer.scores_backward(de)
        close(d_q, dq_ref)
        close(d_k, dk_ref)
        for name, g in g_ref.items():
            close(layer.grads[name], g)


@pytest.mark.parametrize("chunk", [1, 40, 1 << 18])        # one batch row per chunk, a few, all at once
def test_inference_mode_scores_in_chunks_equal_the_readable_ones(monkeypatch, chunk):
    from rnnlab.layers import attention
    from rnnlab.layers.recurrent import inference_mode
    monkeypatch.setattr(attention, "CHUNK_ELEMENTS", chunk)
    rng = np.random.default_rng(6)
    layer = AdditiveAttention(4)
    layer.build(3, np.random.default_rng(0), np.float64, key_size=5)
    q, k = rng.standard_normal((5, 2, 3)), rng.standard_normal((5, 3, 5))
    mask = np.ones((5, 3), dtype=bool)
    mask[2, 1:] = False
    e_ref, _ = additive_scores_readable(q, k, layer.params)
    ctx_train, alpha_train = layer.forward(q, k, mask)
    with inference_mode():
        ctx, alpha = layer.forward(q, k, mask)
        e = layer.scores(q, k)
    np.testing.assert_allclose(e, e_ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(ctx, ctx_train, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(alpha, alpha_train, rtol=1e-12, atol=1e-12)
    assert np.all(alpha[2, :, 1:] == 0)


@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("masked", [False, True])
def test_recurrent_output_written_into_a_strided_view_equals_the_returned_one(go_backwards, masked):
    """What Bidirectional's concatenation relies on: ``forward(out=half)`` == ``forward()``."""
    rng = np.random.default_rng(7)
    x = rng.standard_normal((3, 5, 2))
    mask = np.array([[1] * 5, [1] * 2 + [0] * 3, [1] * 4 + [0]], dtype=bool) if masked else None
    layer = rnnlab.GRU(4, return_sequences=True, go_backwards=go_backwards)
    layer.build(2, np.random.default_rng(0), np.float64)
    ref = layer.forward(x, mask=mask)
    big = np.full((3, 5, 8), np.nan)
    got = layer.forward(x, mask=mask, out=big[..., 4:])
    assert got.base is big or got is big[..., 4:] or np.shares_memory(got, big)
    assert np.array_equal(big[..., 4:], ref) and np.all(np.isnan(big[..., :4]))
    if masked:
        assert np.all(ref[1, 2:] == 0) and np.any(ref[1, :2] != 0)
