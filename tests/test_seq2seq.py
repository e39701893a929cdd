"""Seq2Seq on the model interface: gradient checks (float64) of every structure × context × attention
combination (gradients reach the encoder), cells, depth and bidirectional encoders; teacher forcing
with a ratio; learning through the common fit; save/load (vocabularies, the first Seq2Seq's files);
input errors."""
import itertools
import json

import numpy as np
import pytest

import rnnlab
from rnnlab.callbacks import History
from rnnlab.data.text import Vocabulary
from rnnlab.decoding import greedy_decode
from rnnlab.diagnostics import gradcheck
from rnnlab.errors import InputError
from rnnlab.seq2seq import ATTENTIONS, CONTEXTS, STRUCTURES, Seq2Seq


def tiny_batch(rng, v_in=4, v_out=4, b=2, s=3, t=3):
    src = rng.integers(0, v_in, size=(b, s))
    tgt = rng.integers(0, v_out, size=(b, t))
    src_mask = np.arange(s)[None] < np.array([s] + [s - 1] * (b - 1))[:, None]
    tgt_mask = np.arange(t)[None] < np.array([t] + [t - 1] * (b - 1))[:, None]
    return (src, tgt), tgt, (src_mask, tgt_mask)


def check(m, rng, **kw):
    x, y, mask = tiny_batch(rng, m.in_vocab, m.out_vocab, **kw)
    res = gradcheck(m, x, y, mask=mask)
    assert res.ok, str(res)
    assert len(res.errors) == len(m.named_params())
    enc = [g for name, _, g in m.named_params() if name.startswith(("encoder.", "src_embed."))]
    assert all(np.abs(g).sum() > 0 for g in enc)  # the context carries gradient into the encoder


@pytest.mark.parametrize("structure, context, attention",
                         list(itertools.product(STRUCTURES, CONTEXTS, ATTENTIONS)))
def test_gradcheck_every_combination(structure, context, attention, rng):
    m = Seq2Seq(4, 4, hidden=2, embed=2, cell="gru", structure=structure, context=context, attention=attention,
                attention_units=2, dtype="float64", seed=1)
    check(m, rng)


@pytest.mark.parametrize("cell, structure, context, attention, layers, bidirectional", [
    ("lstm", "state", "last", "additive", 2, True), ("lstm", "context", "pool", "general", 1, True),
    ("rnn", "state", "transform", "dot", 2, False)])
def test_gradcheck_deep_bidirectional(cell, structure, context, attention, layers, bidirectional, rng):
    """Two layers each side and/or a bidirectional encoder (final states concatenated per direction)."""
    m = Seq2Seq(3, 3, hidden=1 if bidirectional else 2, embed=2, cell=cell, structure=structure, context=context,
                attention=attention, layers=layers, bidirectional=bidirectional, attention_units=2,
                dtype="float64", seed=2)
    assert m.d_model == 2
    check(m, rng)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("structure", ["context", "state"])
def test_gradcheck_first_seq2seq_shapes(cell, structure, rng):
    m = Seq2Seq(7, 5, hidden=4, embed=3, cell=cell, structure=structure, dtype="float64", seed=1)
    check(m, rng, b=3, s=5, t=4)


def test_teacher_forcing_ratio_feeds_own_predictions():
    rng = np.random.default_rng(0)
    src, tgt = rng.integers(1, 6, size=(5, 4)), rng.integers(1, 6, size=(5, 6))
    kw = dict(hidden=6, embed=3, attention="additive", seed=4)
    full = Seq2Seq(6, 6, **kw)
    never = Seq2Seq(6, 6, teacher_forcing=0.0, **kw)
    assert full.forcing is None and never.forcing is not None
    enc = never.encode(src, None, training=True)
    mixed = never._mixed_inputs(never._shift(tgt), *enc, None)
    greedy = greedy_decode(never, src, max_len=6, stop=False).ids
    np.testing.assert_array_equal(mixed[:, 1:], greedy[:, :-1])   # ratio 0: the model's own previous output
    assert (mixed[:, 0] == never.bos).all()
    half = Seq2Seq(6, 6, teacher_forcing=0.5, **kw)
    m1 = half._mixed_inputs(half._shift(tgt), *half.encode(src, None, True), None)
    truth = half._shift(tgt)
    assert 0 < (m1 == truth).mean() < 1
    again = Seq2Seq(6, 6, teacher_forcing=0.5, **kw)          # seeded: the same draws
    np.testing.assert_array_equal(again._mixed_inputs(again._shift(tgt), *again.encode(src, None, True), None), m1)
    np.testing.assert_array_equal(full.forward((src, tgt), training=True)[0],
                                  Seq2Seq(6, 6, teacher_forcing=1.0, **kw).forward((src, tgt), training=True)[0])
    with pytest.raises(InputError, match="teacher_forcing"):
        Seq2Seq(6, 6, teacher_forcing=1.5)


def reverse_data(n=1500, seed=0):
    rng = np.random.default_rng(seed)
    src = rng.integers(1, 6, size=(n, 4))
    return src, src[:, ::-1].copy()


@pytest.mark.parametrize("structure, attention, epochs", [("context", "none", 12), ("state", "none", 12),
                                                         ("state", "general", 3)])
def test_learns_to_reverse_through_the_common_fit(structure, attention, epochs):
    """Reverse a sequence of 4 symbols: many-to-many with the output read only after the input
    (with attention in a third of the epochs: each output step looks at its source position)."""
    src, tgt = reverse_data()
    m = Seq2Seq(6, 6, hidden=48, embed=8, cell="gru", structure=structure, attention=attention, bos=0, seed=0)
    m.compile(optimizer="adam", lr=1e-2, clipnorm=5.0)
    hist = m.fit((src[:1200], tgt[:1200]), tgt[:1200], epochs=epochs, batch_size=32, verbose=0,
                 validation_data=((src[1200:], tgt[1200:]), tgt[1200:]))
    assert isinstance(hist, History) and len(hist.epochs) == epochs
    assert hist["val_loss"][-1] < hist["val_loss"][0] / 5
    assert m.sequence_accuracy(src[1200:], tgt[1200:]) > 0.9


def test_learns_with_teacher_forcing_below_one_and_resumes_bit_identically(tmp_path):
    src, tgt = reverse_data(600)
    kw = dict(hidden=16, embed=4, attention="dot", teacher_forcing=0.7, dropout=0.1, seed=5)
    m = Seq2Seq(6, 6, **kw).compile(optimizer="adam", lr=1e-2, clipnorm=5.0)
    h = m.fit((src, tgt), tgt, epochs=3, batch_size=50, verbose=0, checkpoint_dir=tmp_path / "ck")
    assert h["loss"][-1] < h["loss"][0]
    # stop after epoch 2, resume: the teacher-forcing draws come back with the checkpoint
    r = Seq2Seq(6, 6, **kw).compile(optimizer="adam", lr=1e-2, clipnorm=5.0)
    r.fit((src, tgt), tgt, epochs=2, batch_size=50, verbose=0, checkpoint_dir=tmp_path / "ck2")
    r2 = Seq2Seq(6, 6, **kw).compile(optimizer="adam", lr=1e-2, clipnorm=5.0)
    r2.fit((src, tgt), tgt, epochs=3, batch_size=50, verbose=0, checkpoint_dir=tmp_path / "ck2", resume=True)
    for (n, a, _), (_, b, _) in zip(m.named_params(), r2.named_params()):
        np.testing.assert_array_equal(a, b, err_msg=n)


def test_save_load_round_trip_predicts_identically(tmp_path):
    src, tgt = reverse_data(300)
    m = Seq2Seq(6, 6, hidden=16, embed=4, cell="lstm", structure="context", context="pool", attention="additive",
                bidirectional=True, layers=2, seed=2)
    m.src_vocab = Vocabulary(list("abcde"), specials=("<pad>",))
    m.compile(optimizer="adam", lr=1e-2)
    m.fit((src, tgt), tgt, epochs=2, batch_size=32, verbose=0)
    m.save(tmp_path / "s2s", include_optimizer=True)
    back = rnnlab.load(tmp_path / "s2s")
    assert type(back) is Seq2Seq and back.get_config() == m.get_config()
    assert back.src_vocab == m.src_vocab and back.tgt_vocab is None
    np.testing.assert_array_equal(back.generate(src, 4), m.generate(src, 4))
    assert back.sequence_accuracy(src, tgt) == m.sequence_accuracy(src, tgt)
    assert back.optimizer.get_config() == m.optimizer.get_config()
    for k, v in m.optimizer.get_state().items():
        np.testing.assert_array_equal(back.optimizer.get_state()[k], v)


def test_files_of_the_first_seq2seq_still_load(tmp_path):
    """The first Seq2Seq saved {in_vocab, out_vocab, hidden, embed, cell, structure, bos, seed, dtype}
    and parameters src_embed / encoder / tgt_embed / decoder / out: such a folder loads unchanged."""
    src, tgt = reverse_data(100)
    m = Seq2Seq(6, 6, hidden=8, embed=4, cell="lstm", structure="state", seed=3)
    m.save(tmp_path / "old")
    meta = json.loads((tmp_path / "old" / "model.json").read_text())
    old_keys = {"in_vocab", "out_vocab", "hidden", "embed", "cell", "structure", "bos", "seed", "dtype"}
    meta["model"] = {k: v for k, v in meta["model"].items() if k in old_keys}
    (tmp_path / "old" / "model.json").write_text(json.dumps(meta))
    assert {n for n, _, _ in m.named_params()} == {
        f"{a}.{p}" for a, ps in (("src_embed", ["weight"]), ("tgt_embed", ["weight"]), ("out", ["weight", "bias"]),
                                 ("encoder", ["weight_ih", "weight_hh", "bias_ih", "bias_hh"]),
                                 ("decoder", ["weight_ih", "weight_hh", "bias_ih", "bias_hh"])) for p in ps}
    back = rnnlab.load(tmp_path / "old")
    np.testing.assert_array_equal(back.generate(src, 4), m.generate(src, 4))


def test_bad_input():
    m = Seq2Seq(4, 4, hidden=3, embed=2)
    with pytest.raises(InputError, match="integer token ids"):
        m.fit((np.zeros((2, 3)), np.zeros((2, 3), int)), np.zeros((2, 3), int))
    with pytest.raises(InputError, match="pair"):
        m.fit(np.zeros((2, 3), int), np.zeros((2, 3), int))
    with pytest.raises(InputError, match=r"ids must lie in \[0, 4\)"):
        m.fit((np.full((2, 3), 7), np.zeros((2, 3), int)), np.zeros((2, 3), int))
    with pytest.raises(InputError, match="at least one valid step"):
        m.fit((np.zeros((2, 3), int), np.zeros((2, 3), int)), np.zeros((2, 3), int),
              mask=(np.array([[1, 1, 0], [0, 0, 0]], bool), None))
    with pytest.raises(InputError, match="structure"):
        Seq2Seq(4, 4, structure="attention")
    with pytest.raises(InputError, match="context: expected one of"):
        Seq2Seq(4, 4, context="mean")
    with pytest.raises(InputError, match="attention: expected one of"):
        Seq2Seq(4, 4, attention="cosine")
    with pytest.raises(InputError, match="layers"):
        Seq2Seq(4, 4, layers=0)
    with pytest.raises(InputError, match="eos"):
        Seq2Seq(4, 4, eos=9)
    with pytest.raises(InputError, match="cross-entropy"):
        m.compile(loss="mse")
