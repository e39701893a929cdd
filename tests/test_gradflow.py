"""gradient_norms: ‖∂L/∂h_t‖ per step, against PyTorch autograd and finite differences; the
lecture's vanishing (small W) and exploding (large W) products, with real ratios."""
from __future__ import annotations

import numpy as np
import pytest

from rnnlab.gradflow import gradient_norms, state_gradients
from rnnlab.layers.dense import Dense
from rnnlab.sequential import Sequential
from rnnlab.registry import make_recurrent

B, T, F, H, K = 4, 7, 3, 5, 3


def make_model(cell: str, *, seed: int = 0, dtype="float64", return_sequences=False, **kw) -> Sequential:
    model = Sequential([make_recurrent(cell, H, return_sequences=return_sequences, **kw), Dense(K)],
                       input_size=F, seed=seed, dtype=dtype)
    model.compile(loss="categorical_crossentropy", optimizer="adam")
    return model


def data(seed: int = 1):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((B, T, F)), rng.integers(0, K, size=B)


# -- against torch autograd: a step loop with retain_grad on every h_t ---------------------------
@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_matches_torch_autograd(torch, cell):
    model = make_model(cell)
    x, y = data()
    rec, dense = model.layers
    tcell = {"rnn": lambda: torch.nn.RNNCell(F, H, nonlinearity="tanh"),
             "lstm": lambda: torch.nn.LSTMCell(F, H), "gru": lambda: torch.nn.GRUCell(F, H)}[cell]().double()
    with torch.no_grad():
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(tcell, name).copy_(torch.from_numpy(rec.params[name]))
    xt = torch.from_numpy(x)
    h = torch.zeros(B, H, dtype=torch.float64)
    c = torch.zeros(B, H, dtype=torch.float64)
    hs, cs = [], []
    for t in range(T):
        if cell == "lstm":
            h, c = tcell(xt[:, t], (h, c))
            c.retain_grad(); cs.append(c)
        else:
            h = tcell(xt[:, t], h)
        h.retain_grad(); hs.append(h)
    logits = h @ torch.from_numpy(dense.params["weight"]).T + torch.from_numpy(dense.params["bias"])
    torch.nn.functional.cross_entropy(logits, torch.from_numpy(y)).backward()
    want_h = np.stack([s.grad.numpy() for s in hs])                     # (T, B, H), batch-mean loss
    np.testing.assert_allclose(state_gradients(model, x, y), want_h, rtol=1e-9, atol=1e-13)
    want = np.linalg.norm(want_h, axis=2).T * B                         # per-sample loss
    np.testing.assert_allclose(gradient_norms(model, x, y, reduce="none"), want, rtol=1e-9)
    np.testing.assert_allclose(gradient_norms(model, x, y), want.mean(axis=0), rtol=1e-9)
    if cell == "lstm":
        want_c = np.stack([s.grad.numpy() for s in cs])
        np.testing.assert_allclose(state_gradients(model, x, y, state="c"), want_c, rtol=1e-9, atol=1e-13)


# -- against finite differences: perturb h_t and rerun the rest of the sequence from it ------------
@pytest.mark.parametrize("cell", ["rnn", "gru"])
def test_matches_finite_differences(cell):
    model = make_model(cell, seed=3)
    x, y = data(2)
    rec, dense = model.layers
    got = state_gradients(model, x, y)
    rec.forward(x)
    hs = rec._cache["hs"][0].copy()                  # hs[t + 1] = state after step t

    def loss_from(t, h_t):                           # L as a function of the state after step t
        if t == T - 1:
            out = h_t
        else:
            out = rec.forward(x[:, t + 1:], initial_state=h_t)
        return model.compiled_loss.forward(dense.forward(out), y)

    eps = 1e-6
    for t in (0, 3, T - 1):
        num = np.zeros((B, H))
        for b in range(B):
            for j in range(H):
                hp, hm = hs[t + 1].copy(), hs[t + 1].copy()
                hp[b, j] += eps; hm[b, j] -= eps
                num[b, j] = (loss_from(t, hp) - loss_from(t, hm)) / (2 * eps)
        np.testing.assert_allclose(got[t], num, rtol=1e-6, atol=1e-10)


def test_model_left_unchanged_and_consistent_with_backward():
    model = make_model("lstm")
    x, y = data()
    model.zero_grad()
    model.train_gradients(x, y)
    before = {n: g.copy() for n, _, g in model.named_params()}
    d_init = model.layers[0].d_initial_state[0].copy()
    g = state_gradients(model, x, y)
    for n, _, gr in model.named_params():
        np.testing.assert_array_equal(gr, before[n])
    # one more step back from t = 0 gives the runner's own ∂L/∂h_0 (d_initial_state)
    assert g.shape == (T, B, H)
    model.forward(x); model.zero_grad()
    model.compiled_loss.forward(model.forward(x)[0], y)
    model.backward(model.compiled_loss.backward())
    np.testing.assert_allclose(model.layers[0].d_initial_state[0], d_init)


def test_return_sequences_and_mask(torch):
    # per-step loss: ∂L/∂h_t collects the direct path at t plus the recurrent path from t+1
    model = make_model("rnn", return_sequences=True)
    rng = np.random.default_rng(4)
    x = rng.standard_normal((B, T, F))
    y = rng.integers(0, K, size=(B, T))
    lengths = np.array([T, T - 2, 3, 1])
    mask = np.arange(T)[None, :] < lengths[:, None]
    got = gradient_norms(model, x, y, mask, reduce="none")
    assert np.isnan(got[~mask]).all() and np.isfinite(got[mask]).all()
    rec, dense = model.layers
    tcell = torch.nn.RNNCell(F, H).double()
    with torch.no_grad():
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(tcell, name).copy_(torch.from_numpy(rec.params[name]))
    for b in range(B):                       # one sequence at a time, its valid part only
        h = torch.zeros(1, H, dtype=torch.float64)
        hs = []
        for t in range(lengths[b]):
            h = tcell(torch.from_numpy(x[b:b + 1, t]), h); h.retain_grad(); hs.append(h)
        z = torch.cat(hs) @ torch.from_numpy(dense.params["weight"]).T + torch.from_numpy(dense.params["bias"])
        # the batch loss is the mean over all valid positions of the batch
        (torch.nn.functional.cross_entropy(z, torch.from_numpy(y[b, :lengths[b]]), reduction="sum")
         / mask.sum()).backward()
        want = np.array([np.linalg.norm(s.grad.numpy()) for s in hs]) * B
        np.testing.assert_allclose(got[b, :lengths[b]], want, rtol=1e-9)
    mean = gradient_norms(model, x, y, mask)
    np.testing.assert_allclose(mean[0], np.nanmean(got[:, 0]))
    np.testing.assert_allclose(mean[-1], got[0, -1])


# -- the lecture's product Π diag[f'(z_i)]·W: vanishing and exploding -------------------------
def _rnn_with_scaled_w(scale: float, steps: int = 40, seed: int = 0):
    """A tanh RNN whose W is `scale` times a random orthogonal matrix (spectral radius = scale)."""
    hidden = 32
    model = Sequential([make_recurrent("rnn", hidden), Dense(2)], input_size=1, seed=seed, dtype="float64")
    model.compile(loss="categorical_crossentropy", optimizer="adam")
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.standard_normal((hidden, hidden)))
    model.layers[0].params["weight_hh"][...] = scale * q
    model.layers[0].params["bias_ih"][...] = 0
    model.layers[0].params["bias_hh"][...] = 0
    x = 0.01 * rng.standard_normal((16, steps, 1))       # small inputs: tanh stays near-linear
    y = rng.integers(0, 2, size=16)
    return gradient_norms(model, x, y)


def test_small_recurrent_weights_vanish_geometrically():
    g = _rnn_with_scaled_w(0.5)
    # each step back multiplies by about ‖diag(f')·W‖ ≈ 0.5: 39 steps ≈ 0.5^39 ≈ 2e-12
    ratio = g[0] / g[-1]
    assert 1e-13 < ratio < 1e-10, ratio
    per_step = np.exp(np.mean(np.diff(np.log(g))))       # geometric mean of g[t+1] / g[t]
    assert 1.9 < per_step < 2.1, per_step                # = 1 / 0.5
    assert np.all(np.diff(g) > 0)                         # monotone: earlier steps, smaller


def test_large_recurrent_weights_explode_geometrically():
    g = _rnn_with_scaled_w(1.5, steps=20)
    # 1.5 × orthogonal, inputs tiny: the state stays near 0, tanh' ≈ 1, each step ×1.5 going back
    ratio = g[0] / g[-1]
    assert 1e2 < ratio < 1e4, ratio                       # 1.5^19 ≈ 2.2e3
    assert np.all(np.diff(g) < 0)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_float32_fast_path_agrees_with_float64(cell):
    # float32 may run the compiled kernels; the walk must give the float64 reference's numbers
    m64 = make_model(cell)
    m32 = make_model(cell, dtype="float32")
    m32.set_weights({k: v.astype(np.float32) for k, v in m64.get_weights().items()})
    x, y = data()
    for state in (("h", "c") if cell == "lstm" else ("h",)):
        np.testing.assert_allclose(gradient_norms(m32, x.astype(np.float32), y, state=state),
                                   gradient_norms(m64, x, y, state=state), rtol=2e-4)
