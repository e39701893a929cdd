"""Dense: gradient check and equality with torch.nn.Linear, per-step and last-step inputs."""
import numpy as np
import pytest

import rnnlab
from rnnlab.diagnostics import gradcheck
from rnnlab.errors import InputError
from torch_ref import to_torch, tolerances


@pytest.mark.parametrize("use_bias", [True, False])
@pytest.mark.parametrize("shape", [(4, 3), (2, 5, 3)])
def test_gradcheck(use_bias, shape, rng):
    layer = rnnlab.Dense(4, use_bias=use_bias)
    layer.build(3, rng, np.float64)
    assert gradcheck(layer, rng.standard_normal(shape)).ok


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape", [(1, 1, 1, 1), (5, 7, 6, 3), (16, 1, 32, 10)])
def test_matches_torch_linear(torch, dtype, shape):
    B, T, F, K = shape
    rng = np.random.default_rng(B + T)
    layer = rnnlab.Dense(K)
    layer.build(F, rng, dtype)
    x = rng.standard_normal((B, T, F)).astype(dtype)
    dy = rng.standard_normal((B, T, K)).astype(dtype)
    y = layer.forward(x)
    dx = layer.backward(dy)
    lin = torch.nn.Linear(F, K).to(getattr(torch, np.dtype(dtype).name))
    with torch.no_grad():
        lin.weight.copy_(to_torch(layer.params["weight"])); lin.bias.copy_(to_torch(layer.params["bias"]))
    xt = to_torch(x, True)
    out = lin(xt)
    (out * to_torch(dy)).sum().backward()
    tol = tolerances(dtype)
    np.testing.assert_allclose(y, out.detach().numpy(), **tol)
    np.testing.assert_allclose(dx, xt.grad.numpy(), **tol)
    np.testing.assert_allclose(layer.grads["weight"], lin.weight.grad.numpy(), **tol)
    np.testing.assert_allclose(layer.grads["bias"], lin.bias.grad.numpy(), **tol)
    assert y.dtype == dx.dtype == dtype


def test_errors(rng):
    layer = rnnlab.Dense(2)
    layer.build(3, rng)
    with pytest.raises(InputError, match=r"\(batch, 3\)"):
        layer.forward(np.zeros((4, 5)))
    with pytest.raises(InputError, match="positive"):
        rnnlab.Dense(0)
