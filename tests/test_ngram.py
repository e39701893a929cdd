"""The count baselines: Kneser–Ney distributions sum to one, match a hand count, and order helps."""
import numpy as np
import pytest

from rnnlab.errors import InputError
from rnnlab.ngram import KneserNey, unigram_log_probs


@pytest.mark.parametrize("order", [1, 2, 3, 5])
def test_every_context_gives_a_distribution(order):
    rng = np.random.default_rng(order)
    train = rng.integers(0, 6, 3000)
    train[::4] = 1
    kn = KneserNey(order, 6).fit(train)
    for context in ([], [1], [2, 2], [5, 0, 1, 3], [4, 4, 4, 4]):
        ctx = context[len(context) - (order - 1):] if order > 1 else []
        total = sum(np.exp(kn.log_probs(np.array(ctx + [w])))[-1] for w in range(6))
        assert total == pytest.approx(1.0, abs=1e-12)


def test_bigram_matches_the_formula_by_hand():
    train = np.array([0, 1, 0, 1, 0, 2, 1, 2])
    kn = KneserNey(2, 3).fit(train)
    top, low = kn.levels[1], kn.levels[0]
    d2, d1 = top.discount, low.discount
    # continuation counts of the unigram level: distinct left neighbours of 0, 1, 2
    cont = {0: 1, 1: 2, 2: 2}             # 0 after {1}; 1 after {0, 2}; 2 after {0, 1}
    n_cont = sum(cont.values())
    p1 = {w: max(cont[w] - d1, 0) / n_cont + d1 * 3 / n_cont / 3 for w in range(3)}
    # after 0: seen 1 twice, 2 once → c(0 •) = 3, N1+(0 •) = 2
    expect = (max(2 - d2, 0) / 3) + d2 * 2 / 3 * p1[1]
    assert np.exp(kn.log_probs(np.array([0, 1]))[1]) == pytest.approx(expect, rel=1e-12)


def test_higher_order_predicts_a_repetitive_text_better():
    text = np.array(list(np.arange(7)) * 300)
    kn1, kn3 = KneserNey(1, 7).fit(text), KneserNey(3, 7).fit(text)
    assert -kn3.log_probs(text[:70])[5:].mean() < 0.1 < -kn1.log_probs(text[:70])[5:].mean()


def test_unigram_add_one_and_errors():
    lp = unigram_log_probs(np.array([0, 0, 1]), np.array([0, 2]), 3)
    assert np.exp(lp).tolist() == pytest.approx([3 / 6, 1 / 6])
    with pytest.raises(InputError, match="62-bit"):
        KneserNey(6, 7000)
    with pytest.raises(InputError, match="ids must lie"):
        KneserNey(2, 3).fit(np.array([0, 5]))
    with pytest.raises(InputError, match="call fit"):
        KneserNey(2, 3).log_probs(np.array([0]))
