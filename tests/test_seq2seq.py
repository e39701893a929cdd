"""Seq2Seq: gradient check of both decoder structures (gradients reach the encoder), and learning."""
import numpy as np
import pytest

from rnnlab.diagnostics import _numeric, _rel_error
from rnnlab.errors import InputError
from rnnlab.seq2seq import Seq2Seq


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("structure", ["context", "state"])
def test_gradcheck_both_structures(cell, structure, rng):
    m = Seq2Seq(7, 5, hidden=4, embed=3, cell=cell, structure=structure, dtype="float64", seed=1)
    src = rng.integers(0, 7, size=(3, 5))
    tgt = rng.integers(0, 5, size=(3, 4))
    src_mask = np.arange(5)[None] < np.array([5, 3, 2])[:, None]
    tgt_mask = np.arange(4)[None] < np.array([4, 4, 2])[:, None]
    m.zero_grad()
    logits = m.forward(src, tgt, src_mask, tgt_mask)
    m.loss.forward(logits, tgt, tgt_mask)
    m.backward(m.loss.backward())
    f = lambda: m.loss_value(src, tgt, src_mask, tgt_mask)
    for name, p, g in m.named_params():
        err = _rel_error(g.copy(), _numeric(f, p, 1e-6))
        assert err < 1e-6, (name, err)
    enc = [g for name, _, g in m.named_params() if name.startswith(("encoder.", "src_embed."))]
    assert all(np.abs(g).sum() > 0 for g in enc)  # the context carries gradient into the encoder


@pytest.mark.parametrize("structure", ["context", "state"])
def test_learns_to_reverse(structure):
    """Reverse a sequence of 4 symbols: many-to-many with the output read only after the input."""
    rng = np.random.default_rng(0)
    src = rng.integers(1, 6, size=(1500, 4))
    tgt = src[:, ::-1].copy()
    m = Seq2Seq(6, 6, hidden=48, embed=8, cell="gru", structure=structure, bos=0, seed=0)
    m.fit(src[:1200], tgt[:1200], epochs=12, batch_size=32, lr=1e-2)
    assert m.sequence_accuracy(src[1200:], tgt[1200:]) > 0.9


def test_bad_input():
    m = Seq2Seq(4, 4, hidden=3, embed=2)
    with pytest.raises(InputError, match="integer token ids"):
        m.fit(np.zeros((2, 3)), np.zeros((2, 3), int))
    with pytest.raises(InputError, match="structure"):
        Seq2Seq(4, 4, structure="attention")
