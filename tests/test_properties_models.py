"""Property-based tests (hypothesis) of whole models: Sequential (every recurrent layer, stacked
or bidirectional, with Dropout in inference mode, TimePool or the last step), TextModel (Embedding
or OneHot input) and Seq2Seq (structure × context × attention, small).

For random shapes, vocabularies, lengths and masks: the logits are finite; padded inputs change
no logit at a valid position (padded source tokens, padded target tokens, padded time steps); the
forward of a batch is the concatenation of the forwards of its parts, and the gradient of the mean
loss is the count-weighted mean of the parts' gradients; float32 agrees with float64; small
float64 configurations pass the finite-difference gradient check of
:func:`rnnlab.diagnostics.gradcheck`.
"""
from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings, strategies as st

import rnnlab
from rnnlab.diagnostics import gradcheck
from rnnlab.layers import Bidirectional, Dense, Dropout, Embedding, OneHot, TimePool
from rnnlab.registry import make_recurrent, recurrent_names
from rnnlab.seq2seq import ATTENTIONS, CONTEXTS, STRUCTURES, Seq2Seq
from rnnlab.text_model import TextModel
from rnnlab.training.engine import prepare

SETTINGS = settings(max_examples=30, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def lengths_mask(draw, b, t):
    lengths = draw(st.lists(st.integers(1, t), min_size=b, max_size=b))
    return np.arange(t)[None, :] < np.array(lengths)[:, None]


# ------------------------------------------------------------------------------ model factories
@st.composite
def sequential_cases(draw, small=False):
    b, t = draw(st.integers(2, 3 if small else 4)), draw(st.integers(1, 3 if small else 5))
    return {"kind": "sequential", "cell": draw(st.sampled_from(recurrent_names())),
            "head": draw(st.sampled_from(["sequence", "last", "pool", "stacked", "bidirectional"])),
            "dropout": draw(st.booleans()), "b": b, "t": t, "f": draw(st.integers(1, 3)),
            "h": draw(st.integers(1, 3)), "k": draw(st.integers(1, 3)), "mask": lengths_mask(draw, b, t),
            "seed": draw(st.integers(0, 2 ** 16))}


@st.composite
def text_cases(draw, small=False):
    b, t = draw(st.integers(2, 3 if small else 4)), draw(st.integers(1, 3 if small else 5))
    return {"kind": "text", "cell": draw(st.sampled_from(recurrent_names())), "onehot": draw(st.booleans()),
            "v": draw(st.integers(2, 5)), "b": b, "t": t, "h": draw(st.integers(1, 3)), "e": draw(st.integers(1, 3)),
            "mask": lengths_mask(draw, b, t), "seed": draw(st.integers(0, 2 ** 16))}


@st.composite
def seq2seq_cases(draw, small=False):
    b = draw(st.integers(2, 3))
    s, t = draw(st.integers(1, 3 if small else 4)), draw(st.integers(1, 3 if small else 4))
    return {"kind": "seq2seq", "cell": draw(st.sampled_from(["rnn", "lstm", "gru"])),
            "structure": draw(st.sampled_from(STRUCTURES)), "context": draw(st.sampled_from(CONTEXTS)),
            "attention": draw(st.sampled_from(ATTENTIONS)), "bidirectional": draw(st.booleans()),
            "layers": draw(st.integers(1, 1 if small else 2)), "vin": draw(st.integers(2, 5)),
            "vout": draw(st.integers(2, 5)), "h": draw(st.integers(1, 3)), "e": draw(st.integers(1, 3)),
            "b": b, "s": s, "t": t, "src_mask": lengths_mask(draw, b, s), "tgt_mask": lengths_mask(draw, b, t),
            "seed": draw(st.integers(0, 2 ** 16))}


def build(c, dtype="float64"):
    if c["kind"] == "seq2seq":
        m = Seq2Seq(c["vin"], c["vout"], hidden=c["h"], embed=c["e"], cell=c["cell"], structure=c["structure"],
                    context=c["context"], attention=c["attention"], layers=c["layers"],
                    bidirectional=c["bidirectional"], attention_units=2, seed=c["seed"], dtype=dtype)
        return m.compile(loss="sparse_categorical_crossentropy", optimizer="sgd")
    if c["kind"] == "text":
        first = OneHot(c["v"]) if c["onehot"] else Embedding(c["v"], c["e"])
        m = TextModel([first, make_recurrent(c["cell"], c["h"], return_sequences=True), Dense(c["v"])],
                      seed=c["seed"], dtype=dtype)
        return m.compile(loss="sparse_categorical_crossentropy", optimizer="sgd")
    rec = lambda rs: make_recurrent(c["cell"], c["h"], return_sequences=rs)     # noqa: E731
    head = c["head"]
    layers = {"sequence": [rec(True)], "last": [rec(False)], "pool": [rec(True), TimePool("mean")],
              "stacked": [rec(True), rec(True)], "bidirectional": [Bidirectional(rec(True), merge="concat")]}[head]
    if c["dropout"]:
        layers.append(Dropout(0.5, seed=1))
    m = rnnlab.Sequential([*layers, Dense(c["k"])], input_size=c["f"], seed=c["seed"], dtype=dtype)
    return m.compile(loss="mse", optimizer="sgd")


def batch(c, rng=None):
    """(x, y, mask) for the model, and the mask of the valid outputs (None: one output per sequence)."""
    rng = rng or np.random.default_rng(c["seed"] + 1)
    if c["kind"] == "seq2seq":
        src = rng.integers(0, c["vin"], (c["b"], c["s"]))
        tgt = rng.integers(0, c["vout"], (c["b"], c["t"]))
        return (src, tgt), tgt, (c["src_mask"], c["tgt_mask"]), c["tgt_mask"]
    if c["kind"] == "text":
        ids = rng.integers(0, c["v"], (c["b"], c["t"]))
        return ids, rng.integers(0, c["v"], (c["b"], c["t"])), c["mask"], c["mask"]
    x = rng.standard_normal((c["b"], c["t"], c["f"]))
    per_step = c["head"] in ("sequence", "stacked", "bidirectional")
    y = rng.standard_normal((c["b"], c["t"], c["k"]) if per_step else (c["b"], c["k"]))
    return x, y, c["mask"], (c["mask"] if per_step else None)


def logits(m, x, mask):
    x_, m_ = m.check_inputs(x, mask)
    return m.forward(x_, m_)[0]


def gradient(m, x, y, mask):
    x_, y_, m_ = prepare(m, x, y, mask)
    m.zero_grad()
    loss = m.train_gradients(x_, y_, m_)
    return loss, {n: g.copy() for n, _, g in m.named_params()}


def take(a, sl):
    return tuple(take(p, sl) for p in a) if isinstance(a, tuple) else a[sl]


ANY_MODEL = st.one_of(sequential_cases(), text_cases(), seq2seq_cases())


# ------------------------------------------------------------------------------ properties
@SETTINGS
@given(ANY_MODEL)
def test_logits_finite_and_gradient_shapes(c):
    m = build(c)
    x, y, mask, out_mask = batch(c)
    z = logits(m, x, mask)
    assert np.isfinite(z).all() and len(z) == c["b"]
    loss, g = gradient(m, x, y, mask)
    assert np.isfinite(loss)
    for name, p, _ in m.named_params():
        assert g[name].shape == p.shape and np.isfinite(g[name]).all(), name


@settings(SETTINGS, max_examples=40)
@given(ANY_MODEL)
def test_padding_changes_no_valid_logit(c):
    m = build(c)
    x, y, mask, out_mask = batch(c)
    z = logits(m, x, mask)
    rng = np.random.default_rng(99)
    if c["kind"] == "seq2seq":
        (src, tgt), (sm, tm) = x, mask
        x2 = (np.where(sm, src, rng.integers(0, c["vin"], src.shape)), np.where(tm, tgt, rng.integers(0, c["vout"], tgt.shape)))
    elif c["kind"] == "text":
        x2 = np.where(mask, x, rng.integers(0, c["v"], x.shape))
    else:
        x2 = np.where(mask[:, :, None], x, 1e3)
    z2 = logits(m, x2, mask)
    if out_mask is None:
        np.testing.assert_array_equal(z2, z)
    else:
        np.testing.assert_allclose(z2[out_mask], z[out_mask], rtol=1e-12, atol=1e-12)


@settings(SETTINGS, max_examples=40)
@given(ANY_MODEL, st.data())
def test_batch_split_consistent_forward_and_mean_gradient(c, data):
    m = build(c)
    x, y, mask, out_mask = batch(c)
    k = data.draw(st.integers(1, c["b"] - 1), label="split")
    parts = (slice(0, k), slice(k, None))
    z = logits(m, x, mask)
    np.testing.assert_allclose(np.concatenate([logits(m, take(x, sl), take(mask, sl)) for sl in parts]), z,
                               rtol=1e-10, atol=1e-12)
    if c.get("dropout"):                 # training-mode dropout: each part draws its own masks
        return
    _, g = gradient(m, x, y, mask)
    counts = [int(out_mask[sl].sum()) if out_mask is not None else len(z[sl]) for sl in parts]
    g_parts = [gradient(m, take(x, sl), take(y, sl), take(mask, sl))[1] for sl in parts]
    for name in g:                  # the mean over all outputs = the count-weighted mean of the parts' means
        mixed = (counts[0] * g_parts[0][name] + counts[1] * g_parts[1][name]) / sum(counts)
        np.testing.assert_allclose(mixed, g[name], rtol=1e-8, atol=1e-11, err_msg=name)


@SETTINGS
@given(ANY_MODEL)
def test_float32_agrees_with_float64(c):
    m64, m32 = build(c, "float64"), build(c, "float32")
    m32.set_weights({n: p.astype(np.float32) for n, p, _ in m64.named_params()})
    m64.set_weights({n: p.astype(np.float32).astype(np.float64) for n, p, _ in m64.named_params()})
    x, y, mask, _ = batch(c)
    z64, z32 = logits(m64, x, mask), logits(m32, x, mask)
    assert z32.dtype == np.float32
    np.testing.assert_allclose(z32, z64, rtol=1e-4, atol=1e-4)
    (l64, g64), (l32, g32) = gradient(m64, x, y, mask), gradient(m32, x, y, mask)
    assert abs(l32 - l64) <= 1e-4 * (1 + abs(l64))
    for n in g64:
        assert np.linalg.norm(g32[n] - g64[n]) <= 1e-3 * (1 + np.linalg.norm(g64[n])), n


@settings(SETTINGS, max_examples=25)
@given(st.one_of(sequential_cases(small=True), text_cases(small=True), seq2seq_cases(small=True)))
def test_small_models_pass_the_gradient_check(c):
    c = {**c, "dropout": False}          # (training-mode dropout draws a new mask at every evaluation)
    m = build(c)
    x, y, mask, _ = batch(c)
    result = gradcheck(m, x, y, mask=mask)
    assert result.ok, str(result)
    assert len(result.errors) == len(m.named_params())
