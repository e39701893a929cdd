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


# -- chrono initialisation of gate biases ------------------------------------------------------
def _built(layer, dtype=np.float32, seed=3):
    layer.build(2, np.random.default_rng(seed), dtype)
    return layer


@pytest.mark.parametrize("steps, high", [(100, 99), (3, 2), (1, 2)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_chrono_lstm_forget_and_input_blocks(steps, high, dtype):
    layer = _built(rnnlab.LSTM(6), dtype)
    before = {k: v.copy() for k, v in layer.params.items()}
    init.chrono_init(layer, steps, np.random.default_rng(5))
    b = np.log(np.random.default_rng(5).uniform(1.0, high, size=6)).astype(dtype)   # the same draw
    assert b.min() >= 0 and b.max() <= np.log(high)
    ih, hh = layer.params["bias_ih"], layer.params["bias_hh"]
    np.testing.assert_array_equal(ih[:6], -b)                 # i block: -b
    np.testing.assert_array_equal(ih[6:12], b)                # f block: +b
    assert not hh[:12].any()                                  # bias_hh of i and f: 0
    np.testing.assert_array_equal(ih[12:], before["bias_ih"][12:])     # g, o untouched
    np.testing.assert_array_equal(hh[12:], before["bias_hh"][12:])
    for k in ("weight_ih", "weight_hh"):
        np.testing.assert_array_equal(layer.params[k], before[k])
    assert ih.dtype == dtype


def test_chrono_gru_update_block_only():
    layer = _built(rnnlab.GRU(4, reset_after=False))
    before = {k: v.copy() for k, v in layer.params.items()}
    init.chrono_init(layer, 50, np.random.default_rng(9))
    b = np.log(np.random.default_rng(9).uniform(1.0, 49, size=4)).astype(np.float32)
    ih, hh = layer.params["bias_ih"], layer.params["bias_hh"]
    np.testing.assert_array_equal(ih[4:8], b)                 # z block (order r, z, n)
    assert not hh[4:8].any()
    for rows in (slice(0, 4), slice(8, 12)):                  # r and n untouched
        np.testing.assert_array_equal(ih[rows], before["bias_ih"][rows])
        np.testing.assert_array_equal(hh[rows], before["bias_hh"][rows])
    # σ(b) = u/(1+u): the update gate starts keeping the old state for u ∈ [1, 49) steps
    u = np.exp(ih[4:8].astype(np.float64))
    assert np.all((u >= 1) & (u < 49))


def test_chrono_is_driven_by_the_cell_declaration():
    lstm, gru = rnnlab.LSTM(3).cell, rnnlab.GRU(3).cell
    assert lstm.chrono_gates == {"f": 1, "i": -1} and lstm.gate_slice("f") == slice(3, 6)
    assert gru.chrono_gates == {"z": 1} and gru.gate_slice("z") == slice(3, 6)
    assert rnnlab.SimpleRNN(3).cell.chrono_gates == {}


def test_chrono_errors_suggest_the_fix():
    with pytest.raises(InputError, match="expected a recurrent layer with gates .*got SimpleRNN"):
        init.chrono_init(_built(rnnlab.SimpleRNN(3)), 10, np.random.default_rng(0))
    with pytest.raises(InputError, match="got Dense"):
        init.chrono_init(_built(rnnlab.Dense(3)), 10, np.random.default_rng(0))
    with pytest.raises(InputError, match="use_bias=True"):
        init.chrono_init(_built(rnnlab.LSTM(3, use_bias=False)), 10, np.random.default_rng(0))
    with pytest.raises(InputError, match="build the layer first"):
        init.chrono_init(rnnlab.GRU(3), 10, np.random.default_rng(0))
    with pytest.raises(InputError, match="positive integer"):
        init.chrono_init(_built(rnnlab.GRU(3)), 0, np.random.default_rng(0))


def test_orthogonal_needs_a_matrix(rng):
    with pytest.raises(InputError, match="needs a matrix, got shape \\(5,\\)"):
        init.orthogonal((5,), rng, np.float64, fan_in=5, fan_out=5, hidden=5)
