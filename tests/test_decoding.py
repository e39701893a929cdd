"""Greedy and batched beam search (rnnlab.decoding): beam width 1 is greedy; a wide enough beam
finds the best sequence (checked by enumerating all of them); a batch decodes as its sentences
one at a time; eos, length normalisation, banned tokens, maximum length, attention paths."""
import itertools

import numpy as np
import pytest

from rnnlab.decoding import Decoded, beam_search, greedy_decode, take
from rnnlab.errors import InputError
from rnnlab.generation import Sampling
from rnnlab.seq2seq import Seq2Seq

EOS = 3


def model(attention="general", structure="state", v_out=5, seed=0):
    return Seq2Seq(7, v_out, hidden=5, embed=4, attention=attention, structure=structure, bos=2, eos=EOS,
                   pad=0, seed=seed, dtype="float64")


def source(n=6, s=5, seed=1):
    rng = np.random.default_rng(seed)
    src = rng.integers(1, 7, size=(n, s))
    mask = np.arange(s)[None] < rng.integers(1, s + 1, size=(n, 1))
    return src, mask


@pytest.mark.parametrize("attention, structure", [("none", "state"), ("general", "state"), ("additive", "context")])
def test_beam_width_one_is_greedy(attention, structure):
    m = model(attention, structure)
    src, mask = source(8)
    for seed in range(3):
        m = model(attention, structure, seed=seed)
        g = greedy_decode(m, src, mask, max_len=7, banned=[0, 2])
        b = beam_search(m, src, mask, beam=1, max_len=7, banned=[0, 2])
        np.testing.assert_array_equal(g.ids, b.ids)
        np.testing.assert_array_equal(g.lengths, b.lengths)
        np.testing.assert_allclose(g.scores / np.maximum(g.lengths + (g.lengths < g.ids.shape[1]), 1), b.scores)


def all_scores(m, src, mask, max_len):
    """Log-probability of every sequence of up to max_len tokens (ending in eos or cut), by enumeration."""
    state0 = m.decode_start(src, mask)
    best = (-np.inf, None)
    V = m.out_vocab
    for n in range(1, max_len + 1):
        for seq in itertools.product(range(V), repeat=n):
            if EOS in seq[:-1] or (n < max_len and seq[-1] != EOS):
                continue
            state, tok, total = state0, np.array([m.bos]), 0.0
            for y in seq:
                z, state, _ = m.decode_step(tok, state)
                z = z[0] - z[0].max()
                total += z[y] - np.log(np.exp(z).sum())
                tok = np.array([y])
            best = max(best, (total, seq), key=lambda t: t[0])
    return best


def test_wide_beam_finds_the_most_probable_sequence():
    m = model(v_out=4)          # ids 0..3, eos = 3: 4 + 16 + 64 sequences of up to 3 tokens
    src, mask = source(2)
    for i in range(2):
        score, seq = all_scores(m, src[i:i + 1], mask[i:i + 1], 3)
        d = beam_search(m, src[i:i + 1], mask[i:i + 1], beam=64, max_len=3, length_penalty=0.0)
        np.testing.assert_allclose(d.scores[0], score, rtol=1e-10)
        assert tuple(d.ids[0, :len(seq)]) == seq
        g = greedy_decode(m, src[i:i + 1], mask[i:i + 1], max_len=3)
        assert g.scores[0] <= d.scores[0] + 1e-12          # beam ≥ greedy in model score


def test_batch_decodes_like_one_sentence_at_a_time():
    m = model("additive")
    src, mask = source(5)
    batch = beam_search(m, src, mask, beam=3, max_len=6, return_attention=True)
    for i in range(5):
        one = beam_search(m, src[i:i + 1, :mask[i].sum()], None, beam=3, max_len=6, return_attention=True)
        n = int(one.lengths[0])
        np.testing.assert_array_equal(batch.ids[i, :n + 1], one.ids[0, :n + 1])
        np.testing.assert_allclose(batch.scores[i], one.scores[0], rtol=1e-9)
        np.testing.assert_allclose(batch.attention[i, :n + 1, :mask[i].sum()], one.attention[0, :n + 1], atol=1e-12)
        assert np.all(batch.attention[i, :, mask[i].sum():] == 0)            # padding never attended


def test_eos_lengths_max_len_and_banned_tokens():
    m = model()
    src, mask = source(6)
    for dec in (greedy_decode(m, src, mask, max_len=4, banned=[0, 1, 2]),
                beam_search(m, src, mask, beam=4, max_len=4, banned=[0, 1, 2])):
        assert isinstance(dec, Decoded) and dec.ids.shape[1] <= 4
        assert not np.isin(dec.ids, [0, 1, 2]).any()
        for row, n in zip(dec.ids, dec.lengths):
            assert (row[:n] != EOS).all() and (row[n:] == EOS).all()
    fixed = greedy_decode(m, src, mask, max_len=9, stop=False)
    assert fixed.ids.shape == (6, 9) and (fixed.lengths == 9).all()
    np.testing.assert_array_equal(m.generate(src, 9, src_mask=mask), fixed.ids)


def test_length_penalty_prefers_longer_hypotheses():
    m = model()
    src, mask = source(12)
    short = beam_search(m, src, mask, beam=5, max_len=8, length_penalty=0.0)
    long = beam_search(m, src, mask, beam=5, max_len=8, length_penalty=2.0)
    assert long.lengths.sum() >= short.lengths.sum()


def test_sampling_is_seeded():
    m = model()
    src, mask = source(4)
    a = greedy_decode(m, src, mask, max_len=6, sampling=Sampling(temperature=1.5), seed=7)
    b = greedy_decode(m, src, mask, max_len=6, sampling=Sampling(temperature=1.5), seed=7)
    np.testing.assert_array_equal(a.ids, b.ids)


def test_take_nested_state():
    s = {"a": np.arange(3), "b": [(np.arange(6).reshape(3, 2),)], "n": 5}
    t = take(s, np.array([2, 2, 0]))
    assert t["a"].tolist() == [2, 2, 0] and t["b"][0][0].tolist() == [[4, 5], [4, 5], [0, 1]] and t["n"] == 5


def test_errors():
    m = model()
    src, mask = source(2)
    with pytest.raises(InputError, match="beam: expected a positive width"):
        beam_search(m, src, mask, beam=0)
    with pytest.raises(InputError, match="max_len"):
        greedy_decode(m, src, mask, max_len=0)
    with pytest.raises(InputError, match="integer token ids"):
        beam_search(m, src.astype(float), mask)
    with pytest.raises(InputError, match="ids must lie"):
        greedy_decode(m, src + 10, mask)


class Alternating:
    """A stepping model whose state has a per-sentence constant (``enc``) and an entry (``memo``)
    that it replaces on even steps only and passes through on odd ones."""

    bos, eos, out_vocab = 0, None, 6

    def __init__(self):
        self.enc_ids = []

    def decode_start(self, src, src_mask=None):
        src = np.asarray(src, dtype=np.float64)
        return {"enc": src[:, :, None] * np.ones(3), "memo": src[:, :1].copy(), "t": 0}

    def decode_step(self, tokens, state):
        self.enc_ids.append(id(state["enc"]))
        t = state["t"]
        memo = state["memo"] * 0.5 + tokens[:, None] if t % 2 == 0 else state["memo"]
        z = 3 * np.sin(memo * np.arange(1, 7) * 1.7 + state["enc"].sum(axis=(1, 2))[:, None] * 0.1)
        return z, {**state, "memo": memo, "t": t + 1}, None


def test_beam_reorder_skips_only_entries_constant_since_the_start(monkeypatch):
    """Skipping ``memo`` on the steps that pass it through would change 10 of these tokens."""
    import rnnlab.decoding as dec
    src, _ = source(4, 3)
    fast_model = Alternating()
    fast = beam_search(fast_model, src, beam=3, max_len=6)
    assert len(set(fast_model.enc_ids[1:])) == 1            # the encoder outputs are not copied per step
    monkeypatch.setattr(dec, "_reorder", lambda state, constant, rows: take(state, rows))
    slow = beam_search(Alternating(), src, beam=3, max_len=6)
    np.testing.assert_array_equal(fast.ids, slow.ids)
    np.testing.assert_array_equal(fast.scores, slow.scores)
    m = model("additive", "context")
    src, mask = source(5)
    slow = beam_search(m, src, mask, beam=4, max_len=7, return_attention=True)      # the full take
    monkeypatch.undo()
    fast = beam_search(m, src, mask, beam=4, max_len=7, return_attention=True)
    np.testing.assert_array_equal(fast.ids, slow.ids)
    np.testing.assert_array_equal(fast.scores, slow.scores)
    np.testing.assert_array_equal(fast.attention, slow.attention)
