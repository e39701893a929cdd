"""LSTM: finite-difference gradient checks over every option, equality with torch.nn.LSTM."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from rnnlab.cells.lstm import LSTMCell
from rnnlab.diagnostics import gradcheck
from rnnlab.errors import InputError
from rnnlab.layers.lstm import LSTM


PARAMS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")


def lengths_mask(lengths, steps: int) -> np.ndarray:
    return np.arange(steps)[None, :] < np.asarray(lengths)[:, None]


def make(hidden: int, feat: int, dtype=np.float64, seed: int = 0, **kw) -> LSTM:
    layer = LSTM(hidden, **kw)
    layer.build(feat, np.random.default_rng(seed), dtype)
    return layer


# -- finite differences ------------------------------------------------------------------------
GRADCHECK_CASES = list(itertools.product(
    [True, False],            # use_bias
    [False, True],            # masked (lengths [T, T-2, 1])
    [True, False],            # return_sequences
    [False, True],            # initial state given
    [False, True],            # go_backwards
))


@pytest.mark.parametrize("use_bias,masked,return_sequences,with_init,go_backwards", GRADCHECK_CASES)
def test_gradcheck_every_option(use_bias, masked, return_sequences, with_init, go_backwards):
    B, T, F, H = 3, 4, 2, 3
    rng = np.random.default_rng(1)
    layer = make(H, F, use_bias=use_bias, return_sequences=return_sequences, go_backwards=go_backwards,
                 forget_bias=1.0 if use_bias else None)
    x = rng.standard_normal((B, T, F))
    mask = lengths_mask([T, T - 2, 1], T) if masked else None
    init = (rng.standard_normal((B, H)), rng.standard_normal((B, H))) if with_init else None
    res = gradcheck(layer, x, mask=mask, initial_state=init, check_final_state=True)
    expected = {"weight_ih", "weight_hh", "input"} | ({"bias_ih", "bias_hh"} if use_bias else set())
    if with_init:
        expected |= {"initial_state[0]", "initial_state[1]"}
    assert set(res.errors) == expected
    assert res.max_error < 1e-6, str(res)


class _LectureLSTMCell(LSTMCell):
    """The lecture's reference backward: drops the cell-state path δc_{t-1} = δc_t ∘ f_t."""

    def step_backward(self, t, d_states, prev_states, params, cache, dxp_t, dhp_t):
        dh_prev, dc_prev = super().step_backward(t, d_states, prev_states, params, cache, dxp_t, dhp_t)
        return dh_prev, np.zeros_like(dc_prev)


def test_gradcheck_catches_dropped_cell_state_path():
    layer = make(3, 2, return_sequences=True)
    rng = np.random.default_rng(2)
    x, init = rng.standard_normal((2, 5, 2)), (rng.standard_normal((2, 3)), rng.standard_normal((2, 3)))
    assert gradcheck(layer, x, initial_state=init, check_final_state=True).ok
    layer.cell = _LectureLSTMCell(3)
    res = gradcheck(layer, x, initial_state=init, check_final_state=True)
    assert res.errors["weight_hh"] > 1e-3 and res.errors["initial_state[1]"] > 1e-3


# -- PyTorch -----------------------------------------------------------------------------------
def torch_params(torch, layer: LSTM) -> dict[str, "torch.Tensor"]:
    return {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in layer.params.items()}


def torch_lstm(torch, layer: LSTM, P, x, h0, c0):
    """torch.nn.LSTM (batch_first) with our parameters: returns output (B,T,H), h_n, c_n (B,H)."""
    m = torch.nn.LSTM(layer.input_size, layer.hidden_size, batch_first=True, bias=layer.use_bias,
                      dtype=torch.float64)
    weights = {f"{k}_l0": v for k, v in P.items()}
    out, (hn, cn) = torch.func.functional_call(m, weights, (x, (h0[None], c0[None])))
    return out, hn[0], cn[0]


def tolerances(dtype):
    return dict(rtol=0, atol=1e-9) if dtype == np.float64 else dict(rtol=1e-4, atol=1e-4)


SHAPES = [(1, 1, 1, 1), (1, 6, 3, 4), (4, 1, 2, 3), (3, 7, 5, 6), (2, 3, 4, 9), (5, 4, 1, 2)]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("B,T,F,H", SHAPES)
def test_matches_torch(torch, B, T, F, H, dtype):
    rng = np.random.default_rng(B * 100 + T * 10 + H)
    use_bias = (B + T) % 2 == 0 or B == 1
    layer = make(H, F, dtype, seed=H, use_bias=use_bias, return_sequences=True)
    x = rng.standard_normal((B, T, F))
    h0, c0 = rng.standard_normal((B, H)), rng.standard_normal((B, H))
    r_y, r_h, r_c = rng.standard_normal((B, T, H)), rng.standard_normal((B, H)), rng.standard_normal((B, H))

    y = layer.forward(x.astype(dtype), initial_state=(h0.astype(dtype), c0.astype(dtype)))
    hT, cT = layer.final_state
    layer.zero_grad()
    dx = layer.backward(r_y.astype(dtype), d_final_state=(r_h.astype(dtype), r_c.astype(dtype)))
    dh0, dc0 = layer.d_initial_state

    P = torch_params(torch, layer)
    xt, h0t, c0t = (torch.tensor(a, dtype=torch.float64, requires_grad=True)
                    for a in (x.astype(dtype), h0.astype(dtype), c0.astype(dtype)))
    out, hn, cn = torch_lstm(torch, layer, P, xt, h0t, c0t)
    loss = (out * torch.tensor(r_y.astype(dtype).astype(np.float64))).sum() \
        + (hn * torch.tensor(r_h.astype(dtype).astype(np.float64))).sum() \
        + (cn * torch.tensor(r_c.astype(dtype).astype(np.float64))).sum()
    loss.backward()

    tol = tolerances(dtype)
    np.testing.assert_allclose(y, out.detach().numpy(), **tol)
    np.testing.assert_allclose(hT, hn.detach().numpy(), **tol)
    np.testing.assert_allclose(cT, cn.detach().numpy(), **tol)
    np.testing.assert_allclose(dx, xt.grad.numpy(), **tol)
    np.testing.assert_allclose(dh0, h0t.grad.numpy(), **tol)
    np.testing.assert_allclose(dc0, c0t.grad.numpy(), **tol)
    assert set(layer.grads) == (set(PARAMS) if use_bias else {"weight_ih", "weight_hh"})
    for k, g in layer.grads.items():
        np.testing.assert_allclose(g, P[k].grad.numpy(), err_msg=k, **tol)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("return_sequences", [True, False])
@pytest.mark.parametrize("go_backwards", [False, True])
def test_masked_matches_torch_per_sequence(torch, go_backwards, return_sequences, dtype):
    B, T, F, H = 3, 6, 3, 4
    lengths = [T, T - 2, 1]
    rng = np.random.default_rng(7)
    layer = make(H, F, dtype, return_sequences=return_sequences, go_backwards=go_backwards, forget_bias=1.0)
    x = rng.standard_normal((B, T, F)).astype(dtype)
    h0, c0 = rng.standard_normal((B, H)).astype(dtype), rng.standard_normal((B, H)).astype(dtype)
    r_y = rng.standard_normal((B, T, H) if return_sequences else (B, H)).astype(dtype)
    r_h, r_c = rng.standard_normal((B, H)).astype(dtype), rng.standard_normal((B, H)).astype(dtype)

    y = layer.forward(x, mask=lengths_mask(lengths, T), initial_state=(h0, c0))
    layer.zero_grad()
    dx = layer.backward(r_y, d_final_state=(r_h, r_c))

    P = torch_params(torch, layer)
    xt, h0t, c0t = (torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in (x, h0, c0))
    R = {k: torch.tensor(v, dtype=torch.float64) for k, v in dict(y=r_y, h=r_h, c=r_c).items()}
    loss, ref_y = 0.0, np.zeros(y.shape)
    ref_h, ref_c = np.zeros((B, H)), np.zeros((B, H))
    for b, n in enumerate(lengths):              # each sequence alone, only its valid steps
        xb = xt[b:b + 1, :n]
        if go_backwards:
            xb = xb.flip(1)
        out, hn, cn = torch_lstm(torch, layer, P, xb, h0t[b:b + 1], c0t[b:b + 1])
        if go_backwards:
            out = out.flip(1)                    # outputs back in the original time order
        if return_sequences:
            loss = loss + (out[0] * R["y"][b, :n]).sum()
            ref_y[b, :n] = out[0].detach().numpy()
        else:
            loss = loss + (hn[0] * R["y"][b]).sum()
            ref_y[b] = hn[0].detach().numpy()
        loss = loss + (hn[0] * R["h"][b]).sum() + (cn[0] * R["c"][b]).sum()
        ref_h[b], ref_c[b] = hn[0].detach().numpy(), cn[0].detach().numpy()
    loss.backward()

    tol = tolerances(dtype)
    np.testing.assert_allclose(y, ref_y, **tol)         # zero past each sequence's end
    np.testing.assert_allclose(layer.final_state[0], ref_h, **tol)
    np.testing.assert_allclose(layer.final_state[1], ref_c, **tol)
    np.testing.assert_allclose(dx, xt.grad.numpy(), **tol)
    np.testing.assert_allclose(layer.d_initial_state[0], h0t.grad.numpy(), **tol)
    np.testing.assert_allclose(layer.d_initial_state[1], c0t.grad.numpy(), **tol)
    for k in PARAMS:
        np.testing.assert_allclose(layer.grads[k], P[k].grad.numpy(), err_msg=k, **tol)


# -- dtype, options, config --------------------------------------------------------------------
def test_float32_stays_float32():
    layer = make(5, 3, np.float32, return_sequences=True)
    rng = np.random.default_rng(3)
    x = rng.standard_normal((4, 6, 3)).astype(np.float32)
    init = (np.zeros((4, 5), np.float32), np.ones((4, 5), np.float32))
    y = layer.forward(x, mask=lengths_mask([6, 4, 2, 1], 6), initial_state=init)
    dx = layer.backward(np.ones_like(y), d_final_state=tuple(np.ones((4, 5), np.float32) for _ in range(2)))
    arrays = [y, dx, *layer.final_state, *layer.d_initial_state, *layer.params.values(), *layer.grads.values()]
    assert [a.dtype for a in arrays] == [np.dtype(np.float32)] * len(arrays)
    assert all(np.all(np.isfinite(a)) for a in arrays)


def test_forget_bias_sets_forget_slice_only():
    H = 4
    plain, fb = make(H, 3, np.float32, seed=5), make(H, 3, np.float32, seed=5, forget_bias=1.0)
    for name in ("bias_ih", "bias_hh"):
        np.testing.assert_array_equal(fb.params[name][:H], plain.params[name][:H])      # i
        np.testing.assert_array_equal(fb.params[name][2 * H:], plain.params[name][2 * H:])  # g, o
    np.testing.assert_array_equal(fb.params["bias_ih"][H:2 * H], np.ones(H, np.float32))
    np.testing.assert_array_equal(fb.params["bias_hh"][H:2 * H], np.zeros(H, np.float32))
    # zero weights: c_1 = f ∘ c_0 + i ∘ tanh(0) = σ(1) ∘ c_0
    fb.params["weight_ih"][:] = 0
    fb.params["bias_ih"][:H] = 0
    fb.params["bias_ih"][2 * H:] = 0
    fb.params["bias_hh"][:] = 0
    fb.forward(np.ones((2, 1, 3), np.float32), initial_state=(np.zeros((2, H)), np.ones((2, H))))
    np.testing.assert_allclose(fb.final_state[1], np.full((2, H), 1 / (1 + np.exp(-1.0))), rtol=1e-6)


def test_forget_bias_needs_bias():
    with pytest.raises(InputError, match="forget_bias"):
        LSTM(3, use_bias=False, forget_bias=1.0)


def test_config_round_trip():
    layer = LSTM(7, return_sequences=True, use_bias=True, forget_bias=1.0, go_backwards=True, name="enc")
    cfg = layer.get_config()
    assert cfg["forget_bias"] == 1.0 and cfg["hidden_size"] == 7 and cfg["go_backwards"] is True
    again = LSTM(**cfg)
    assert again.get_config() == cfg
    assert again.cell.gates == 4 and again.cell.state_names == ("h", "c")


def test_stateful_carries_h_and_c():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 8, 3))
    whole = make(4, 3, seed=9, return_sequences=True)
    chunks = make(4, 3, seed=9, return_sequences=True, stateful=True)
    y = whole.forward(x)
    y2 = np.concatenate([chunks.forward(x[:, :5]), chunks.forward(x[:, 5:])], axis=1)
    np.testing.assert_allclose(y2, y, rtol=0, atol=1e-12)
    np.testing.assert_allclose(chunks.final_state[1], whole.final_state[1], rtol=0, atol=1e-12)
