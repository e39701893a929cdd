"""Dropout: inverted scaling, one mask per sequence across time, identity at inference, seeding."""
from __future__ import annotations

import numpy as np
import pytest

from rnnlab.errors import InputError
from rnnlab.layers.dropout import Dropout


def make(rate, **kw):
    layer = Dropout(rate, **kw)
    layer.build(6, np.random.default_rng(0), np.float64)
    return layer


def test_mask_shared_across_time_per_sequence():
    layer = make(0.5, seed=1)
    y = layer.forward(np.ones((8, 7, 6)), training=True)
    assert layer.mask.shape == (8, 1, 6)
    np.testing.assert_array_equal(y, np.broadcast_to(y[:, :1], y.shape))     # same at every step
    assert set(np.unique(y)) == {0.0, 2.0}                                   # dropped or scaled by 1/(1-p)
    assert len({tuple(row) for row in y[:, 0]}) > 1                          # sequences differ


def test_per_element_mask_when_not_per_sequence():
    layer = make(0.5, per_sequence=False, seed=1)
    y = layer.forward(np.ones((8, 7, 6)), training=True)
    assert layer.mask.shape == (8, 7, 6)
    assert np.any(y[:, 0] != y[:, 1])


def test_two_dimensional_input():
    layer = make(0.25, seed=2)
    y = layer.forward(np.ones((50, 6)), training=True)
    assert y.shape == (50, 6) and set(np.unique(y)) == {0.0, 1 / 0.75}


@pytest.mark.parametrize("rate", [0.2, 0.5, 0.8])
def test_scaling_preserves_the_mean(rate):
    layer = make(rate, seed=3)
    x = np.random.default_rng(4).uniform(1, 2, size=(400, 5, 6))
    ys = np.stack([layer.forward(x, training=True) for _ in range(50)])
    assert abs(ys.mean() / x.mean() - 1) < 0.02                              # E[y] = x
    drop_fraction = np.mean(ys[:, :, 0, :] == 0)
    assert abs(drop_fraction - rate) < 0.01


def test_identity_at_inference_and_rate_zero():
    x = np.random.default_rng(5).standard_normal((3, 4, 6))
    layer = make(0.5, seed=6)
    np.testing.assert_array_equal(layer.forward(x, training=False), x)
    np.testing.assert_array_equal(layer.backward(x), x)
    np.testing.assert_array_equal(make(0.0, seed=6).forward(x, training=True), x)


def test_same_seed_same_masks_different_seed_different():
    x = np.ones((4, 3, 6))
    a, b, c = make(0.5, seed=9), make(0.5, seed=9), make(0.5, seed=10)
    for _ in range(3):                                                       # the whole sequence of masks
        ya, yb, yc = (layer.forward(x, training=True) for layer in (a, b, c))
        np.testing.assert_array_equal(ya, yb)
    assert not np.array_equal(ya, yc)
    assert a.get_config() == {"rate": 0.5, "per_sequence": True, "seed": 9, "name": None}


def test_gradient_is_mask_over_keep_probability():
    layer = make(0.3, seed=7)
    x = np.random.default_rng(8).standard_normal((5, 4, 6))
    y = layer.forward(x, training=True)
    dy = np.random.default_rng(9).standard_normal(y.shape)
    dx = layer.backward(dy)
    keep = (y != 0) | (x == 0)
    np.testing.assert_allclose(dx, dy * keep / 0.7, rtol=1e-12)
    np.testing.assert_allclose(y, x * keep / 0.7, rtol=1e-12)


@pytest.mark.parametrize("rate", [-0.1, 1.0, 1.5, "a"])
def test_rejects_bad_rates(rate):
    with pytest.raises(InputError, match=r"\[0, 1\)"):
        Dropout(rate)
