"""SimpleRNN: float64 gradient checks over every option, and equality with torch.nn.RNN."""
import numpy as np
import pytest

import rnnlab
from rnnlab.diagnostics import gradcheck
from rnnlab.errors import InputError
from torch_ref import copy_rnn_params, to_torch, tolerances


def build(hidden, inp, dtype=np.float64, seed=0, **kw):
    layer = rnnlab.SimpleRNN(hidden, **kw)
    layer.build(inp, np.random.default_rng(seed), dtype)
    return layer


@pytest.mark.parametrize("activation", ["tanh", "relu", "sigmoid"])
@pytest.mark.parametrize("return_sequences", [True, False])
@pytest.mark.parametrize("use_bias", [True, False])
@pytest.mark.parametrize("masked", [False, True])
def test_gradcheck_every_option(activation, return_sequences, use_bias, masked, rng):
    layer = build(5, 3, activation=activation, return_sequences=return_sequences, use_bias=use_bias)
    x = rng.standard_normal((4, 6, 3))
    mask = (np.arange(6)[None] < np.array([6, 4, 1, 5])[:, None]) if masked else None
    h0 = rng.standard_normal((4, 5)) * 0.5
    res = gradcheck(layer, x, mask=mask, initial_state=h0, check_final_state=True)
    assert res.ok, str(res)
    assert set(res.errors) >= {"weight_ih", "weight_hh", "input", "initial_state[0]"}


@pytest.mark.parametrize("go_backwards", [False, True])
def test_gradcheck_go_backwards_masked(go_backwards, rng):
    layer = build(4, 2, return_sequences=True, go_backwards=go_backwards)
    x = rng.standard_normal((3, 5, 2))
    mask = np.arange(5)[None] < np.array([5, 3, 2])[:, None]
    assert gradcheck(layer, x, mask=mask).ok


def _torch_run(torch, layer, x, h0, activation, dy, dhn):
    B, T, F = x.shape
    mod = torch.nn.RNN(F, layer.hidden_size, nonlinearity=activation, batch_first=True,
                       bias=layer.use_bias).to(getattr(torch, x.dtype.name))
    copy_rnn_params(layer, mod)
    xt, h0t = to_torch(x, True), to_torch(h0[None], True)
    out, hn = mod(xt, h0t)
    ((out * to_torch(dy)).sum() + (hn[0] * to_torch(dhn)).sum()).backward()
    grads = {k: getattr(mod, k + "_l0").grad.numpy() for k in layer.params}
    return out.detach().numpy(), hn[0].detach().numpy(), xt.grad.numpy(), h0t.grad[0].numpy(), grads


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("activation", ["tanh", "relu"])
@pytest.mark.parametrize("shape", [(1, 1, 1, 1), (3, 7, 4, 5), (8, 12, 16, 32), (2, 30, 3, 8)])
@pytest.mark.parametrize("use_bias", [True, False])
def test_matches_torch(torch, dtype, activation, shape, use_bias):
    B, T, F, H = shape
    rng = np.random.default_rng(sum(shape))
    layer = build(H, F, dtype, activation=activation, return_sequences=True, use_bias=use_bias)
    x = rng.standard_normal((B, T, F)).astype(dtype)
    h0 = rng.standard_normal((B, H)).astype(dtype)
    dy = rng.standard_normal((B, T, H)).astype(dtype)
    dhn = rng.standard_normal((B, H)).astype(dtype)
    y = layer.forward(x, initial_state=h0)
    layer.zero_grad()
    dx = layer.backward(dy, d_final_state=(dhn,))
    out, hn, gx, gh0, grads = _torch_run(torch, layer, x, h0, activation, dy, dhn)
    tol = tolerances(dtype)
    np.testing.assert_allclose(y, out, **tol)
    np.testing.assert_allclose(layer.final_state[0], hn, **tol)
    np.testing.assert_allclose(dx, gx, **tol)
    np.testing.assert_allclose(layer.d_initial_state[0], gh0, **tol)
    for k in layer.params:
        np.testing.assert_allclose(layer.grads[k], grads[k], **tol, err_msg=k)
    assert y.dtype == dx.dtype == layer.grads["weight_hh"].dtype == dtype


def test_last_step_output_is_final_state(rng):
    layer = build(3, 2, return_sequences=False)
    x = rng.standard_normal((4, 5, 2))
    y = layer.forward(x)
    np.testing.assert_array_equal(y, layer.final_state[0])
    seq = build(3, 2, return_sequences=True)
    np.testing.assert_allclose(seq.forward(x)[:, -1], y)


def test_masked_last_output_is_last_valid_step(rng):
    layer = build(3, 2, return_sequences=False)
    x = rng.standard_normal((2, 6, 2))
    mask = np.arange(6)[None] < np.array([6, 2])[:, None]
    y = layer.forward(x, mask=mask)
    alone = layer.forward(x[1:, :2])
    np.testing.assert_allclose(y[1], alone[0], rtol=1e-12)


def test_lecture_formula(rng):
    """h_t = x_t·U + s_{t-1}·W + b, s_t = tanh(h_t), with U = weight_ihᵀ, W = weight_hhᵀ."""
    layer = build(3, 2, return_sequences=True)
    U, W = layer.params["weight_ih"].T, layer.params["weight_hh"].T
    b = layer.params["bias_ih"] + layer.params["bias_hh"]
    x = rng.standard_normal((1, 4, 2))
    s = np.zeros(3)
    expected = []
    for t in range(4):
        s = np.tanh(x[0, t] @ U + s @ W + b)
        expected.append(s)
    np.testing.assert_allclose(layer.forward(x)[0], np.array(expected), rtol=1e-12)


def test_stateful_carries_state_and_stops_gradient(rng):
    layer = build(3, 2, return_sequences=True, stateful=True)
    x = rng.standard_normal((2, 8, 2))
    whole = build(3, 2, return_sequences=True).forward(x)
    first, second = layer.forward(x[:, :4]), layer.forward(x[:, 4:])
    np.testing.assert_allclose(np.concatenate([first, second], axis=1), whole, rtol=1e-12)
    layer.backward(np.ones_like(second))
    assert layer.d_initial_state is not None  # reported, but not propagated to the previous batch
    layer.reset_states()
    np.testing.assert_allclose(layer.forward(x[:, :4]), first, rtol=1e-12)


def test_float32_stays_float32(rng):
    layer = build(4, 3, np.float32, return_sequences=True)
    y = layer.forward(rng.standard_normal((2, 5, 3)))  # float64 input is cast to the layer dtype
    assert y.dtype == np.float32
    dx = layer.backward(np.ones((2, 5, 4), np.float32))
    assert dx.dtype == np.float32
    assert all(g.dtype == np.float32 for g in layer.grads.values())
    assert all(v.dtype == np.float32 for v in layer._cache["cell"].values())


def test_bad_input_errors(rng):
    layer = build(4, 3)
    with pytest.raises(InputError, match=r"expected input of shape \(batch, time, 3\)"):
        layer.forward(rng.standard_normal((2, 5, 4)))
    with pytest.raises(InputError, match="initial_state"):
        layer.forward(rng.standard_normal((2, 5, 3)), initial_state=np.zeros((3, 4)))
    with pytest.raises(InputError, match="prefix"):
        layer.forward(rng.standard_normal((2, 3, 3)), mask=np.array([[1, 0, 1], [1, 1, 1]], bool))
    with pytest.raises(InputError, match="activation"):
        rnnlab.SimpleRNN(3, activation="softplus")


@pytest.mark.parametrize("option", ["return_sequences", "use_bias", "go_backwards", "stateful"])
@pytest.mark.parametrize("bad", ["no", 2, None])
def test_yes_no_options_refuse_what_bool_would_quietly_accept(option, bad):
    """``bool("no")`` is True: a yes/no option takes True or False only (found by the property tests)."""
    import rnnlab
    for layer in (rnnlab.SimpleRNN, rnnlab.LSTM, rnnlab.GRU):
        with pytest.raises(rnnlab.InputError, match=f"{option}: expected True or False, got {bad!r}"):
            layer(3, **{option: bad})
