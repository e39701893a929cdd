"""Initializers: the documented distributions, per-gate orthogonal blocks, seeded."""
import numpy as np
import pytest

import rnnlab
from rnnlab import init
from rnnlab.errors import InputError


def test_uniform_pytorch_bound(rng):
    w = init.uniform((64, 16), rng, np.float32, fan_in=16, fan_out=16, hidden=16)
    assert w.dtype == np.float32 and np.abs(w).max() <= 0.25 and np.abs(w).max() > 0.24


def test_xavier_bound(rng):
    w = init.xavier((30, 20), rng, np.float64, fan_in=20, fan_out=30)
    bound = np.sqrt(6 / 50)
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.95 * bound


def test_orthogonal_per_gate_block(rng):
    w = init.orthogonal((4 * 8, 8), rng, np.float64, fan_in=8, fan_out=8, hidden=8)
    for g in range(4):
        block = w[g * 8:(g + 1) * 8]
        np.testing.assert_allclose(block @ block.T, np.eye(8), atol=1e-12)


def test_normal_std_and_zeros(rng):
    w = init.get("normal:0.5")((200, 200), rng, np.float64, fan_in=1, fan_out=1)
    assert abs(w.std() - 0.5) < 0.01
    assert not init.zeros((3, 3), rng, np.float32, fan_in=3, fan_out=3).any()


def test_selectable_per_layer_and_seeded():
    def make(seed):
        m = rnnlab.Sequential([rnnlab.LSTM(6, kernel_init="xavier", recurrent_init="orthogonal", bias_init="zeros"),
                               rnnlab.Dense(2)], input_size=3, seed=seed)
        return m.get_weights()
    a, b, c = make(1), make(1), make(2)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert not np.array_equal(a["layers.0.weight_hh"], c["layers.0.weight_hh"])
    assert not a["layers.0.bias_ih"].any()
    w = a["layers.0.weight_hh"].astype(np.float64)
    np.testing.assert_allclose(w[:6] @ w[:6].T, np.eye(6), atol=1e-5)


def test_unknown_initializer():
    with pytest.raises(InputError, match="unknown initializer 'he'"):
        rnnlab.SimpleRNN(3, kernel_init="he")
