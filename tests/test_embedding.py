"""Embedding: equal to torch.nn.Embedding (forward and weight gradient with repeated ids)."""
from __future__ import annotations

import numpy as np
import pytest

from rnnlab.errors import InputError
from rnnlab.layers.embedding import Embedding


def make(vocab=10, dim=4, dtype=np.float64, seed=0):
    layer = Embedding(vocab, dim)
    assert layer.build(123, np.random.default_rng(seed), dtype) == dim       # input size is ignored
    return layer


@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-12), (np.float32, 1e-6)])
def test_equals_torch_forward_and_weight_gradient(torch, dtype, tol):
    layer = make(dtype=dtype)
    assert layer.params["weight"].shape == (10, 4)
    ids = np.array([[1, 3, 3, 9, 0], [3, 1, 1, 1, 7]])                     # repeated ids accumulate
    dy = np.random.default_rng(1).standard_normal((2, 5, 4)).astype(dtype)

    y = layer.forward(ids)
    layer.zero_grad()
    assert layer.backward(dy) is None                                       # no gradient for ids

    emb = torch.nn.Embedding(10, 4, dtype=torch.float64 if dtype == np.float64 else torch.float32)
    with torch.no_grad():
        emb.weight.copy_(torch.from_numpy(layer.params["weight"]))
    out = emb(torch.from_numpy(ids))
    (out * torch.from_numpy(dy)).sum().backward()
    assert y.shape == (2, 5, 4) and y.dtype == dtype
    np.testing.assert_allclose(y, out.detach().numpy(), rtol=tol, atol=tol)
    np.testing.assert_allclose(layer.grads["weight"], emb.weight.grad.numpy(), rtol=tol, atol=tol)
    g = layer.grads["weight"]
    np.testing.assert_allclose(g[1], dy[0, 0] + dy[1, 1] + dy[1, 2] + dy[1, 3], rtol=tol)
    assert np.all(g[[2, 4, 5, 6, 8]] == 0)


def test_default_init_is_standard_normal():
    w = make(vocab=500, dim=40).params["weight"]
    assert abs(w.std() - 1) < 0.03 and abs(w.mean()) < 0.03


def test_integral_float_ids_accepted():
    layer = make()
    np.testing.assert_array_equal(layer.forward(np.array([[2.0, 5.0]])), layer.forward(np.array([[2, 5]])))
    with pytest.raises(InputError, match="integer"):
        layer.forward(np.array([[2.5]]))


@pytest.mark.parametrize("bad", [10, -1, 99])
def test_out_of_range_ids_name_the_range(bad):
    with pytest.raises(InputError, match=r"\[0, 9\]"):
        make().forward(np.array([[0, bad]]))
