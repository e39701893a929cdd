"""GRU: finite-difference gradient checks over every option, equality with torch.nn.GRU
(reset_after=True) and with a torch-autograd transcription of the lecture's formulas
(reset_after=False)."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from rnnlab.diagnostics import gradcheck
from rnnlab.layers.gru import GRU


PARAMS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")


def lengths_mask(lengths, steps: int) -> np.ndarray:
    return np.arange(steps)[None, :] < np.asarray(lengths)[:, None]


def make(hidden: int, feat: int, dtype=np.float64, seed: int = 0, **kw) -> GRU:
    layer = GRU(hidden, **kw)
    layer.build(feat, np.random.default_rng(seed), dtype)
    return layer


# -- finite differences ------------------------------------------------------------------------
# Every combination with biases; without biases (a separate code path) every reset placement,
# mask and direction. 40 cases.
GRADCHECK_CASES = [(ra, True, m, rs, init, gb) for ra, m, rs, init, gb in itertools.product(
    [True, False],            # reset_after
    [False, True],            # masked (lengths [T, T-2, 1])
    [True, False],            # return_sequences
    [False, True],            # initial state given
    [False, True],            # go_backwards
)] + [(ra, False, m, True, True, gb) for ra, m, gb in itertools.product([True, False], repeat=3)]

@pytest.mark.parametrize("reset_after,use_bias,masked,return_sequences,with_init,go_backwards", GRADCHECK_CASES)
def test_gradcheck_every_option(reset_after, use_bias, masked, return_sequences, with_init, go_backwards):
    B, T, F, H = 3, 4, 2, 3
    rng = np.random.default_rng(1)
    layer = make(H, F, reset_after=reset_after, use_bias=use_bias, return_sequences=return_sequences,
                 go_backwards=go_backwards)
    x = rng.standard_normal((B, T, F))
    mask = lengths_mask([T, T - 2, 1], T) if masked else None
    init = rng.standard_normal((B, H)) if with_init else None
    res = gradcheck(layer, x, mask=mask, initial_state=init, check_final_state=True)
    expected = {"weight_ih", "weight_hh", "input"} | ({"bias_ih", "bias_hh"} if use_bias else set())
    if with_init:
        expected.add("initial_state[0]")
    assert set(res.errors) == expected
    assert res.max_error < 1e-6, str(res)


# -- references --------------------------------------------------------------------------------
def lecture_gru(torch, P: dict, x, h0):
    """The lecture's GRU (Cho et al. 2014) written with its own symbols, in torch autograd.

    Maps our fused PyTorch-layout parameters to U_r, U_z, U_h, W_r, W_z, W_h as documented in
    rnnlab.cells.gru: the lecture's update gate is 1 - z, i.e. its z-block parameters are negated.
    """
    H = h0.shape[-1]
    w_ih, w_hh = P["weight_ih"], P["weight_hh"]
    zero = torch.zeros(3 * H, dtype=torch.float64)
    b = P.get("bias_ih", zero) + P.get("bias_hh", zero)
    U_r, U_z, U_h = w_ih[:H].T, -w_ih[H:2 * H].T, w_ih[2 * H:].T
    W_r, W_z, W_h = w_hh[:H].T, -w_hh[H:2 * H].T, w_hh[2 * H:].T
    b_r, b_z, b_h = b[:H], -b[H:2 * H], b[2 * H:]
    h, outs = h0, []
    for t in range(x.shape[1]):
        x_t = x[:, t]
        z = torch.sigmoid(h @ W_z + x_t @ U_z + b_z)                # 更新门
        r = torch.sigmoid(h @ W_r + x_t @ U_r + b_r)                # 重置门
        h_tilde = torch.tanh((r * h) @ W_h + x_t @ U_h + b_h)       # 候选隐藏状态
        h = (1 - z) * h + z * h_tilde                               # 隐藏状态
        outs.append(h)
    return torch.stack(outs, 1), h


def reference(torch, layer: GRU, P: dict, x, h0):
    """Output (B,T,H) and h_n (B,H) of the reference for ``layer``'s reset placement."""
    if not layer.cell.reset_after:
        return lecture_gru(torch, P, x, h0)
    m = torch.nn.GRU(layer.input_size, layer.hidden_size, batch_first=True, bias=layer.use_bias,
                     dtype=torch.float64)
    out, hn = torch.func.functional_call(m, {f"{k}_l0": v for k, v in P.items()}, (x, h0[None]))
    return out, hn[0]


def torch_params(torch, layer: GRU) -> dict:
    return {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in layer.params.items()}


def tolerances(dtype):
    return dict(rtol=0, atol=1e-9) if dtype == np.float64 else dict(rtol=1e-4, atol=1e-4)


SHAPES = [(1, 1, 1, 1), (1, 6, 3, 4), (4, 1, 2, 3), (3, 7, 5, 6), (2, 3, 4, 9), (5, 4, 1, 2)]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("reset_after", [True, False])
@pytest.mark.parametrize("B,T,F,H", SHAPES)
def test_matches_reference(torch, B, T, F, H, reset_after, dtype):
    rng = np.random.default_rng(B * 100 + T * 10 + H)
    use_bias = (B + T) % 2 == 0 or B == 1
    layer = make(H, F, dtype, seed=H, reset_after=reset_after, use_bias=use_bias, return_sequences=True)
    x = rng.standard_normal((B, T, F)).astype(dtype)
    h0 = rng.standard_normal((B, H)).astype(dtype)
    r_y, r_h = rng.standard_normal((B, T, H)).astype(dtype), rng.standard_normal((B, H)).astype(dtype)

    y = layer.forward(x, initial_state=h0)
    layer.zero_grad()
    dx = layer.backward(r_y, d_final_state=(r_h,))

    P = torch_params(torch, layer)
    xt, h0t = (torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in (x, h0))
    out, hn = reference(torch, layer, P, xt, h0t)
    loss = (out * torch.tensor(r_y, dtype=torch.float64)).sum() + (hn * torch.tensor(r_h, dtype=torch.float64)).sum()
    loss.backward()

    tol = tolerances(dtype)
    np.testing.assert_allclose(y, out.detach().numpy(), **tol)
    np.testing.assert_allclose(layer.final_state[0], hn.detach().numpy(), **tol)
    np.testing.assert_allclose(dx, xt.grad.numpy(), **tol)
    np.testing.assert_allclose(layer.d_initial_state[0], h0t.grad.numpy(), **tol)
    assert set(layer.grads) == (set(PARAMS) if use_bias else {"weight_ih", "weight_hh"})
    for k, g in layer.grads.items():
        np.testing.assert_allclose(g, P[k].grad.numpy(), err_msg=k, **tol)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("reset_after", [True, False])
@pytest.mark.parametrize("return_sequences", [True, False])
@pytest.mark.parametrize("go_backwards", [False, True])
def test_masked_matches_reference_per_sequence(torch, go_backwards, return_sequences, reset_after, dtype):
    B, T, F, H = 3, 6, 3, 4
    lengths = [T, T - 2, 1]
    rng = np.random.default_rng(7)
    layer = make(H, F, dtype, reset_after=reset_after, return_sequences=return_sequences,
                 go_backwards=go_backwards)
    x = rng.standard_normal((B, T, F)).astype(dtype)
    h0 = rng.standard_normal((B, H)).astype(dtype)
    r_y = rng.standard_normal((B, T, H) if return_sequences else (B, H)).astype(dtype)
    r_h = rng.standard_normal((B, H)).astype(dtype)

    y = layer.forward(x, mask=lengths_mask(lengths, T), initial_state=h0)
    layer.zero_grad()
    dx = layer.backward(r_y, d_final_state=(r_h,))

    P = torch_params(torch, layer)
    xt, h0t = (torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in (x, h0))
    Ry, Rh = torch.tensor(r_y, dtype=torch.float64), torch.tensor(r_h, dtype=torch.float64)
    loss, ref_y, ref_h = 0.0, np.zeros(y.shape), np.zeros((B, H))
    for b, n in enumerate(lengths):              # each sequence alone, only its valid steps
        xb = xt[b:b + 1, :n]
        if go_backwards:
            xb = xb.flip(1)
        out, hn = reference(torch, layer, P, xb, h0t[b:b + 1])
        if go_backwards:
            out = out.flip(1)                    # outputs back in the original time order
        if return_sequences:
            loss = loss + (out[0] * Ry[b, :n]).sum()
            ref_y[b, :n] = out[0].detach().numpy()
        else:
            loss = loss + (hn[0] * Ry[b]).sum()
            ref_y[b] = hn[0].detach().numpy()
        loss = loss + (hn[0] * Rh[b]).sum()
        ref_h[b] = hn[0].detach().numpy()
    loss.backward()

    tol = tolerances(dtype)
    np.testing.assert_allclose(y, ref_y, **tol)         # zero past each sequence's end
    np.testing.assert_allclose(layer.final_state[0], ref_h, **tol)
    np.testing.assert_allclose(dx, xt.grad.numpy(), **tol)
    np.testing.assert_allclose(layer.d_initial_state[0], h0t.grad.numpy(), **tol)
    for k in PARAMS:
        np.testing.assert_allclose(layer.grads[k], P[k].grad.numpy(), err_msg=k, **tol)


def test_reset_placement_matters():
    """The two variants share parameters but differ (so the tests above tell them apart)."""
    rng = np.random.default_rng(8)
    x, h0 = rng.standard_normal((2, 5, 3)), rng.standard_normal((2, 4))
    after, before = make(4, 3, seed=1, reset_after=True), make(4, 3, seed=1, reset_after=False)
    for k in PARAMS:
        np.testing.assert_array_equal(after.params[k], before.params[k])
    assert np.abs(after.forward(x, initial_state=h0) - before.forward(x, initial_state=h0)).max() > 1e-3


# -- dtype, config -----------------------------------------------------------------------------
@pytest.mark.parametrize("reset_after", [True, False])
def test_float32_stays_float32(reset_after):
    layer = make(5, 3, np.float32, reset_after=reset_after, return_sequences=True)
    rng = np.random.default_rng(3)
    x = rng.standard_normal((4, 6, 3)).astype(np.float32)
    y = layer.forward(x, mask=lengths_mask([6, 4, 2, 1], 6), initial_state=np.ones((4, 5), np.float32))
    dx = layer.backward(np.ones_like(y), d_final_state=(np.ones((4, 5), np.float32),))
    arrays = [y, dx, *layer.final_state, *layer.d_initial_state, *layer.params.values(), *layer.grads.values()]
    assert [a.dtype for a in arrays] == [np.dtype(np.float32)] * len(arrays)
    assert all(np.all(np.isfinite(a)) for a in arrays)


def test_config_round_trip():
    layer = GRU(6, reset_after=False, return_sequences=True, use_bias=False, stateful=True, name="dec")
    cfg = layer.get_config()
    assert cfg["reset_after"] is False and cfg["hidden_size"] == 6 and cfg["use_bias"] is False
    again = GRU(**cfg)
    assert again.get_config() == cfg
    assert again.cell.gates == 3 and again.cell.state_names == ("h",)
    assert again.cell.separate_recurrent_grad is False and GRU(2).cell.separate_recurrent_grad is True
