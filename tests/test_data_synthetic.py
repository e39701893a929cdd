"""Generated tasks: echo, binary subtraction, adding problem, remember-the-first-symbol."""
from __future__ import annotations

import numpy as np
import pytest

from rnnlab.data import (adding_problem, all_subtraction_pairs, binary_subtraction, echo_signal,
                         first_symbol_task, from_bits, to_bits)
from rnnlab.errors import InputError


def rng(seed=0):
    return np.random.default_rng(seed)


def test_echo_signal():
    x, y = echo_signal(50, rng=rng())
    assert x.shape == (50, 2, 1) and y.shape == (50, 1) and x.dtype == np.float32
    np.testing.assert_array_equal(y, x[:, 0, :])
    assert x.min() >= 0 and x.max() < 1 and x.std() > 0.2
    x5, y5 = echo_signal(4, steps=5, rng=rng())
    np.testing.assert_array_equal(y5, x5[:, 3, :])
    np.testing.assert_array_equal(echo_signal(4, rng=rng(7))[0], echo_signal(4, rng=rng(7))[0])
    with pytest.raises(InputError, match="steps"):
        echo_signal(4, steps=1, rng=rng())


def test_bits_helpers_lsb_first():
    np.testing.assert_array_equal(to_bits(6, 4), [0, 1, 1, 0])
    np.testing.assert_array_equal(to_bits([1, 8], 4), [[1, 0, 0, 0], [0, 0, 0, 1]])
    np.testing.assert_array_equal(from_bits(to_bits(np.arange(256), 8)), np.arange(256))
    assert from_bits([0.9, 0.2, 0.7]) == 5
    with pytest.raises(InputError, match=r"\[0, 16\)"):
        to_bits(16, 4)
    with pytest.raises(InputError, match="integers"):
        to_bits(1.5, 4)


def test_all_subtraction_pairs():
    pairs = all_subtraction_pairs(2)
    expected = [(a, b) for a in range(4) for b in range(a + 1)]
    np.testing.assert_array_equal(pairs, expected)
    assert all_subtraction_pairs(4).shape == (16 * 17 // 2, 2)
    assert np.all(all_subtraction_pairs(5)[:, 0] >= all_subtraction_pairs(5)[:, 1])


def test_binary_subtraction_encoding_exact():
    x, y = binary_subtraction([[5, 3]], bits=4)
    assert x.shape == (1, 4, 2) and y.shape == (1, 4, 1)
    np.testing.assert_array_equal(x[0, :, 0], [1, 0, 1, 0])   # 5, LSB first
    np.testing.assert_array_equal(x[0, :, 1], [1, 1, 0, 0])   # 3
    np.testing.assert_array_equal(y[0, :, 0], [0, 1, 0, 0])   # 2


def test_binary_subtraction_all_and_random_decode():
    x, y = binary_subtraction(bits=3)
    assert x.shape == (36, 3, 2)
    np.testing.assert_array_equal(binary_subtraction(3)[0], x)  # a lone int means bits
    assert binary_subtraction(n=2, rng=rng())[0].shape == (2, 8, 2)  # default 8 bits
    np.testing.assert_array_equal(from_bits(y[..., 0]), from_bits(x[..., 0]) - from_bits(x[..., 1]))
    x, y = binary_subtraction(bits=8, n=500, rng=rng(3))
    a, b = from_bits(x[..., 0]), from_bits(x[..., 1])
    assert np.all(a >= b) and a.max() > 200 and np.any(b > 0)
    np.testing.assert_array_equal(from_bits(y[..., 0]), a - b)
    with pytest.raises(InputError, match="a >= b"):
        binary_subtraction([[2, 3]], bits=4)
    with pytest.raises(InputError, match="Generator"):
        binary_subtraction(bits=4, n=3)


def test_adding_problem():
    x, y = adding_problem(200, 20, rng(1))
    assert x.shape == (200, 20, 2) and y.shape == (200, 1)
    markers = x[..., 1]
    assert set(np.unique(markers)) == {0.0, 1.0}
    np.testing.assert_array_equal(markers[:, :10].sum(1), 1)
    np.testing.assert_array_equal(markers[:, 10:].sum(1), 1)
    np.testing.assert_allclose(y[:, 0], (x[..., 0] * markers).sum(1), rtol=1e-6)
    assert x[..., 0].min() >= 0 and x[..., 0].max() < 1
    # markers land at varied positions, not always the same step
    assert len(np.unique(markers[:, :10].argmax(1))) > 5


def test_first_symbol_task():
    x, y = first_symbol_task(300, 15, 4, rng(2))
    assert x.shape == (300, 15, 5) and y.shape == (300,) and y.dtype == np.int64
    np.testing.assert_array_equal(x.sum(-1), 1)          # one-hot at every step
    np.testing.assert_array_equal(x[:, 0].argmax(-1), y)
    assert set(np.unique(y)) == {0, 1, 2, 3}               # noise symbol 4 is never the answer
    later = x[:, 1:].argmax(-1)
    assert set(np.unique(later)) == {0, 1, 2, 3, 4}
    # the last step carries no information about y beyond chance
    assert np.mean(later[:, -1] == y) < 0.4


def test_tasks_leave_global_rng_alone():
    before = np.random.get_state()[1].copy()
    echo_signal(3, rng=rng())
    adding_problem(3, 4, rng())
    first_symbol_task(3, 4, 2, rng())
    binary_subtraction(bits=4, n=3, rng=rng())
    np.testing.assert_array_equal(np.random.get_state()[1], before)
    with pytest.raises(InputError, match="Generator"):
        adding_problem(3, 4, 0)
