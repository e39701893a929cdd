"""Generation: the distribution rules (temperature, top-k, nucleus), constraints applied to the
distribution, seeded draws, and the step-by-step runner equal to the whole-sequence forward."""
import numpy as np
import pytest

import rnnlab
from rnnlab.data.text import Vocabulary
from rnnlab.errors import InputError
from rnnlab.generation import (Constraints, Sampling, SequenceStepper, choose, distribution, generate,
                               line_constraints)
from rnnlab.text_model import language_model

P = np.array([[0.4, 0.3, 0.2, 0.1]])
Z = np.log(P)


def test_temperature_sharpens_and_flattens():
    assert distribution(Z, Sampling()) == pytest.approx(P)
    cold = distribution(Z, Sampling(temperature=0.5))[0]
    assert cold == pytest.approx(P[0] ** 2 / (P[0] ** 2).sum())
    hot = distribution(Z, Sampling(temperature=1e6))[0]
    assert hot == pytest.approx(np.full(4, 0.25), abs=1e-5)


def test_top_k_and_top_p_keep_the_right_tokens():
    assert distribution(Z, Sampling(top_k=2))[0] == pytest.approx([4 / 7, 3 / 7, 0, 0])
    assert distribution(Z, Sampling(top_p=0.75))[0] == pytest.approx([4 / 9, 3 / 9, 2 / 9, 0])
    assert distribution(Z, Sampling(top_p=0.4))[0] == pytest.approx([1, 0, 0, 0])   # always ≥ 1 token
    assert distribution(Z, Sampling(top_p=0.41))[0] == pytest.approx([4 / 7, 3 / 7, 0, 0])


def test_draws_follow_the_distribution_and_the_seed():
    z = np.repeat(Z, 20000, axis=0)
    ids = choose(z, Sampling(), np.random.default_rng(0))
    freq = np.bincount(ids, minlength=4) / len(ids)
    assert freq == pytest.approx(P[0], abs=0.01)
    assert np.array_equal(ids, choose(z, Sampling(), np.random.default_rng(0)))
    assert not np.array_equal(ids, choose(z, Sampling(), np.random.default_rng(1)))
    assert choose(Z, Sampling(greedy=True), None).tolist() == [0]


def test_constraints_ban_force_and_allow_per_position():
    c = Constraints(4, banned=[0], forced={1: [2, 3]}, allowed={2: [0, 1]})
    assert c.allowed(0, 2).tolist() == [[False, True, True, True]] * 2
    assert c.allowed(1, 2).tolist() == [[False, False, True, False], [False, False, False, True]]
    assert c.allowed(2, 1).tolist() == [[False, True, False, False]]   # allowed ∩ not banned
    assert distribution(Z, Sampling(), c.allowed(0, 1))[0] == pytest.approx([0, 0.5, 2 / 6, 1 / 6])
    assert choose(Z, Sampling(greedy=True), None, c.allowed(0, 1)).tolist() == [1]
    with pytest.raises(InputError, match="token id 0 is also banned"):
        Constraints(3, banned=[0], forced={1: 0}).allowed(1, 1)
    with pytest.raises(InputError, match="no token possible at position 0"):
        Constraints(2, banned=[0, 1]).allowed(0, 1)
    with pytest.raises(InputError, match="token ids must lie"):
        Constraints(3, banned=[3])


def test_generate_with_line_shape_and_stop():
    """A toy 'model' that always prefers token 1; constraints decide the shape anyway."""
    V = 6
    step = lambda ids: np.tile(np.log(np.array([.05, .5, .2, .1, .1, .05])), (len(ids), 1))
    c = line_constraints(V, [3, 2], line_ends=[4, 5], body=[1, 2, 3], heads=[[2, 3], 3])
    out = generate(step, step(np.zeros(2)), 7, sampling=Sampling(), rng=3, constraints=c)
    assert out.shape == (2, 7)
    assert out[:, 0].tolist() == [2, 3] and out[:, 4].tolist() == [3, 3]
    assert (out[:, 3] == 4).all() and (out[:, 6] == 5).all()
    assert np.isin(out[:, [1, 2, 5]], [1, 2, 3]).all()
    stopped = generate(step, step(np.zeros(3)), 5, sampling=Sampling(greedy=True), stop_id=1)
    assert stopped.tolist() == [[1] * 5] * 3


def test_stepper_equals_the_whole_sequence_and_restores_the_model(rng):
    vocab = Vocabulary.from_text("abcdefg", specials=())
    model = language_model(vocab, "lstm", 6, layers=2, embedding_dim=4, seed=2, dtype="float64")
    ids = rng.integers(0, len(vocab), (3, 9))
    full, _ = model.forward(ids, None, training=False)
    with SequenceStepper(model) as run:
        got = [run.start(ids[:, :4])]
        got += [run.step(ids[:, t]) for t in range(4, 9)]
    assert np.allclose(np.stack(got, 1), full[:, 3:], atol=1e-12)
    assert not any(l.stateful for l in model.layers if hasattr(l, "stateful"))
    assert all(l.carried_state() is None for l in model.layers if hasattr(l, "carried_state"))


def test_bidirectional_model_cannot_generate():
    vocab = Vocabulary.from_text("ab", specials=())
    model = language_model(vocab, "gru", 4, bidirectional=True)
    with pytest.raises(InputError, match="bidirectional"):
        model.sample("a", 3)


@pytest.mark.parametrize("bad", [dict(temperature=0), dict(temperature=-1.0), dict(top_k=0), dict(top_p=0.0),
                                 dict(top_p=1.5)])
def test_sampling_settings_are_checked(bad):
    with pytest.raises(InputError):
        Sampling(**bad)


def test_nonfinite_logits_are_refused():
    with pytest.raises(InputError, match="NaN"):
        distribution(np.array([[0.0, np.nan]]), Sampling())
