"""Seq2Seq on the model interface: gradient check of both decoder structures (gradients reach the
encoder), learning through the common fit, save/load, input errors."""
import numpy as np
import pytest

import rnnlab
from rnnlab.callbacks import History
from rnnlab.diagnostics import gradcheck
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
    res = gradcheck(m, (src, tgt), tgt, mask=(src_mask, tgt_mask))
    assert res.ok, str(res)
    assert len(res.errors) == len(m.named_params())
    enc = [g for name, _, g in m.named_params() if name.startswith(("encoder.", "src_embed."))]
    assert all(np.abs(g).sum() > 0 for g in enc)  # the context carries gradient into the encoder


def reverse_data(n=1500, seed=0):
    rng = np.random.default_rng(seed)
    src = rng.integers(1, 6, size=(n, 4))
    return src, src[:, ::-1].copy()


@pytest.mark.parametrize("structure", ["context", "state"])
def test_learns_to_reverse_through_the_common_fit(structure):
    """Reverse a sequence of 4 symbols: many-to-many with the output read only after the input."""
    src, tgt = reverse_data()
    m = Seq2Seq(6, 6, hidden=48, embed=8, cell="gru", structure=structure, bos=0, seed=0)
    m.compile(optimizer="adam", lr=1e-2, clipnorm=5.0)
    hist = m.fit((src[:1200], tgt[:1200]), tgt[:1200], epochs=12, batch_size=32, verbose=0,
                 validation_data=((src[1200:], tgt[1200:]), tgt[1200:]))
    assert isinstance(hist, History) and len(hist.epochs) == 12
    assert hist["val_loss"][-1] < hist["val_loss"][0] / 5
    assert m.sequence_accuracy(src[1200:], tgt[1200:]) > 0.9


def test_save_load_round_trip_predicts_identically(tmp_path):
    src, tgt = reverse_data(300)
    m = Seq2Seq(6, 6, hidden=16, embed=4, cell="lstm", structure="context", seed=2)
    m.compile(optimizer="adam", lr=1e-2)
    m.fit((src, tgt), tgt, epochs=2, batch_size=32, verbose=0)
    m.save(tmp_path / "s2s", include_optimizer=True)
    back = rnnlab.load(tmp_path / "s2s")
    assert type(back) is Seq2Seq and back.get_config() == m.get_config()
    np.testing.assert_array_equal(back.generate(src, 4), m.generate(src, 4))
    assert back.sequence_accuracy(src, tgt) == m.sequence_accuracy(src, tgt)
    assert back.optimizer.get_config() == m.optimizer.get_config()
    for k, v in m.optimizer.get_state().items():
        np.testing.assert_array_equal(back.optimizer.get_state()[k], v)


def test_bad_input():
    m = Seq2Seq(4, 4, hidden=3, embed=2)
    with pytest.raises(InputError, match="integer token ids"):
        m.fit((np.zeros((2, 3)), np.zeros((2, 3), int)), np.zeros((2, 3), int))
    with pytest.raises(InputError, match="pair"):
        m.fit(np.zeros((2, 3), int), np.zeros((2, 3), int))
    with pytest.raises(InputError, match=r"ids must lie in \[0, 4\)"):
        m.fit((np.full((2, 3), 7), np.zeros((2, 3), int)), np.zeros((2, 3), int))
    with pytest.raises(InputError, match="structure"):
        Seq2Seq(4, 4, structure="attention")
    with pytest.raises(InputError, match="cross-entropy"):
        m.compile(loss="mse")
