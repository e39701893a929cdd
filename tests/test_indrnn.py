"""IndRNN: float64 gradient checks over every option, equality with a PyTorch autograd twin,
the lecture's formula with W = diag(u), registry, Bidirectional and save/load."""
import numpy as np
import pytest

import rnnlab
from rnnlab import registry
from rnnlab.cells.indrnn import IndRNN, IndRNNCell
from rnnlab.diagnostics import gradcheck
from rnnlab.errors import InputError
from rnnlab.init import chrono_init
from torch_ref import to_torch, tolerances


def build(hidden, inp, dtype=np.float64, seed=0, **kw):
    layer = IndRNN(hidden, **kw)
    layer.build(inp, np.random.default_rng(seed), dtype)
    return layer


def lengths_mask(lengths, steps):
    return np.arange(steps)[None] < np.asarray(lengths)[:, None]


# -- the declaration --------------------------------------------------------------------------
def test_parameters_names_shapes_and_draw_order():
    layer = build(4, 3)
    assert {k: v.shape for k, v in layer.params.items()} == \
        {"weight_ih": (4, 3), "weight_hh": (4,), "bias_ih": (4,), "bias_hh": (4,)}
    rng = np.random.default_rng(0)                    # uniform ±1/√H, drawn in declaration order
    for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
        np.testing.assert_array_equal(layer.params[k], rng.uniform(-0.5, 0.5, size=layer.params[k].shape))
    assert list(build(4, 3, use_bias=False).params) == ["weight_ih", "weight_hh"]
    assert IndRNNCell(4).gates == 1 and IndRNNCell(4).chrono_gates == {}


def test_registered_after_gru_and_made_by_short_name():
    assert registry.recurrent_names()[:4] == ("rnn", "lstm", "gru", "indrnn")
    layer = registry.make_recurrent("indrnn", 6, activation="tanh")
    assert type(layer) is IndRNN and layer.cell.activation == "tanh"
    assert registry.short_name(layer) == "indrnn"
    assert rnnlab.layers.IndRNN is IndRNN


# -- gradient checks ----------------------------------------------------------------------------
@pytest.mark.parametrize("activation", ["relu", "tanh"])
@pytest.mark.parametrize("return_sequences", [True, False])
@pytest.mark.parametrize("use_bias", [True, False])
@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("with_h0", [False, True])
@pytest.mark.parametrize("go_backwards", [False, True])
def test_gradcheck_every_option(activation, return_sequences, use_bias, masked, with_h0, go_backwards, rng):
    layer = build(5, 3, activation=activation, return_sequences=return_sequences, use_bias=use_bias,
                  go_backwards=go_backwards)
    x = rng.standard_normal((4, 6, 3))
    mask = lengths_mask([6, 4, 1, 5], 6) if masked else None
    h0 = rng.standard_normal((4, 5)) * 0.5 if with_h0 else None
    res = gradcheck(layer, x, mask=mask, initial_state=h0, check_final_state=True)
    assert res.ok, str(res)
    expected = {"weight_ih", "weight_hh", "input"} | ({"bias_ih", "bias_hh"} if use_bias else set()) \
        | ({"initial_state[0]"} if with_h0 else set())
    assert set(res.errors) == expected
    assert np.abs(layer.grads["weight_hh"]).max() > 1e-3     # the diagonal really gets a gradient


# -- the lecture's formula with W = diag(u) -------------------------------------------------------
@pytest.mark.parametrize("activation, act", [("relu", lambda a: np.maximum(a, 0)), ("tanh", np.tanh)])
def test_lecture_formula_with_diagonal_w(activation, act, rng):
    """h_t = x_t·U + s_{t-1}·W + b, s_t = σ(h_t), with U = weight_ihᵀ, W = diag(weight_hh)."""
    layer = build(3, 2, activation=activation, return_sequences=True)
    U, W = layer.params["weight_ih"].T, np.diag(layer.params["weight_hh"])
    b = layer.params["bias_ih"] + layer.params["bias_hh"]
    x = rng.standard_normal((1, 5, 2))
    s, expected = np.full(3, 0.3), []
    for t in range(5):
        s = act(x[0, t] @ U + s @ W + b)
        expected.append(s)
    np.testing.assert_allclose(layer.forward(x, initial_state=np.full((1, 3), 0.3))[0], expected, rtol=1e-12)


# -- against a PyTorch autograd twin ----------------------------------------------------------------
def torch_indrnn(torch, layer, x, h0, lengths, dy, dhn):
    """The IndRNN step written with torch tensors; masks freeze the state, go_backwards reverses
    each sequence's valid part. Returns outputs, h_T, dx, dh0 and the parameter gradients."""
    B, T, _ = x.shape
    act = torch.relu if layer.cell.activation == "relu" else torch.tanh
    p = {k: to_torch(v, True) for k, v in layer.params.items()}
    xt, h = to_torch(x, True), to_torch(h0, True)
    h0t = h
    lengths = [T] * B if lengths is None else list(lengths)
    order = [[(n - 1 - t if t < n else t) if layer.go_backwards else t for t in range(T)] for n in lengths]
    outs = []
    for t in range(T):
        x_t = torch.stack([xt[b, order[b][t]] for b in range(B)])
        a = x_t @ p["weight_ih"].T + p["weight_hh"] * h
        if layer.use_bias:
            a = a + p["bias_ih"] + p["bias_hh"]
        m = torch.tensor([[1.0 if t < n else 0.0] for n in lengths], dtype=xt.dtype)
        h = m * act(a) + (1 - m) * h
        outs.append(m * h)
    y = torch.stack(outs, dim=1)                                  # processing order
    y = torch.stack([y[b, [order[b].index(t) for t in range(T)]] for b in range(B)])   # input order
    if not layer.return_sequences:
        y = h
    ((y * to_torch(dy)).sum() + (h * to_torch(dhn)).sum()).backward()
    grads = {k: v.grad.numpy() for k, v in p.items()}
    return y.detach().numpy(), h.detach().numpy(), xt.grad.numpy(), h0t.grad.numpy(), grads


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("activation", ["relu", "tanh"])
@pytest.mark.parametrize("return_sequences", [True, False])
@pytest.mark.parametrize("use_bias", [True, False])
@pytest.mark.parametrize("lengths", [None, [7, 3, 1, 5]], ids=["full", "masked"])
@pytest.mark.parametrize("go_backwards", [False, True])
def test_matches_torch(torch, dtype, activation, return_sequences, use_bias, lengths, go_backwards):
    B, T, F, H = 4, 7, 3, 6
    rng = np.random.default_rng(H + T)
    layer = build(H, F, dtype, activation=activation, return_sequences=return_sequences, use_bias=use_bias,
                  go_backwards=go_backwards)
    x = rng.standard_normal((B, T, F)).astype(dtype)
    h0 = rng.standard_normal((B, H)).astype(dtype)
    dy = rng.standard_normal((B, T, H) if return_sequences else (B, H)).astype(dtype)
    dhn = rng.standard_normal((B, H)).astype(dtype)
    mask = None if lengths is None else lengths_mask(lengths, T)
    y = layer.forward(x, mask=mask, initial_state=h0)
    layer.zero_grad()
    dx = layer.backward(dy, d_final_state=(dhn,))
    out, hn, gx, gh0, grads = torch_indrnn(torch, layer, x, h0, lengths, dy, dhn)
    tol = tolerances(dtype)
    np.testing.assert_allclose(y, out, **tol)
    np.testing.assert_allclose(layer.final_state[0], hn, **tol)
    np.testing.assert_allclose(dx, gx, **tol)
    np.testing.assert_allclose(layer.d_initial_state[0], gh0, **tol)
    assert set(grads) == set(layer.grads)
    for k in layer.params:
        np.testing.assert_allclose(layer.grads[k], grads[k], **tol, err_msg=k)
    assert y.dtype == dx.dtype == layer.grads["weight_hh"].dtype == dtype


# -- it plugs into the rest of the library ---------------------------------------------------------
def test_bidirectional_indrnn_gradcheck(rng):
    bi = rnnlab.Bidirectional(IndRNN(3, activation="tanh", return_sequences=True))
    bi.build(2, np.random.default_rng(0), np.float64)
    assert bi.backward_layer.params["weight_hh"].shape == (3,)
    res = gradcheck(bi, rng.standard_normal((3, 5, 2)), mask=lengths_mask([5, 2, 4], 5))
    assert res.ok, str(res)
    assert {"forward.weight_hh", "backward.weight_hh"} <= set(res.errors)


def test_config_round_trip():
    layer = IndRNN(7, activation="tanh", return_sequences=True, use_bias=False, go_backwards=True)
    again = registry.layer_from_config(registry.layer_to_config(layer))
    assert type(again) is IndRNN and again.get_config() == layer.get_config()
    assert again.get_config()["activation"] == "tanh"


def test_save_load_round_trip_through_sequential(tmp_path, rng):
    model = rnnlab.Sequential([IndRNN(5), rnnlab.Dense(2)], input_size=3, seed=4)
    model.compile(loss="mse", optimizer="adam")
    x = rng.standard_normal((8, 6, 3)).astype(np.float32)
    model.fit(x, rng.standard_normal((8, 2)).astype(np.float32), epochs=2, batch_size=4, verbose=0)
    model.save(tmp_path / "m")
    again = rnnlab.load(tmp_path / "m")
    assert type(again.layers[0]) is IndRNN and again.layers[0].params["weight_hh"].shape == (5,)
    w, w2 = model.get_weights(), again.get_weights()
    assert sorted(w) == sorted(w2) and all(np.array_equal(w[k], w2[k]) for k in w)
    np.testing.assert_array_equal(again.predict(x), model.predict(x))


def test_errors_suggest_the_fix(rng):
    with pytest.raises(InputError, match=r"IndRNN takes one of \('relu', 'tanh'\)"):
        IndRNN(3, activation="sigmoid")
    with pytest.raises(InputError, match="orthogonal: needs a matrix"):
        IndRNN(3, recurrent_init="orthogonal").build(2, rng)
    with pytest.raises(InputError, match="got IndRNN"):
        chrono_init(build(3, 2), 10, rng)
    with pytest.raises(InputError, match="initial_state"):
        build(3, 2).forward(np.zeros((2, 4, 2)), initial_state=np.zeros((2, 4)))
