"""Attention layers: finite-difference gradient checks (float64) of every parameter, the query and the
keys; masked source positions get weight 0; forward and backward equal PyTorch; one Seq2Seq decoder
step with attention equals a reference written with torch ops."""
import numpy as np
import pytest

from rnnlab.errors import InputError
from rnnlab.layers import AdditiveAttention, MultiplicativeAttention
from rnnlab.seq2seq import Seq2Seq

from torch_ref import to_torch

B, T, S, DQ, DK = 2, 3, 4, 3, 5
MASK = np.array([[True, True, True, True], [True, True, False, False]])


def make(kind, dq=DQ, dk=DK, dtype=np.float64):
    layer = AdditiveAttention(4) if kind == "additive" else MultiplicativeAttention(kind)
    layer.build(dq, np.random.default_rng(0), dtype, key_size=dk)
    return layer


def numeric_grad(f, a, eps=1e-6):
    g = np.zeros_like(a)
    for i in np.ndindex(a.shape):
        old = a[i]
        a[i] = old + eps
        up = f()
        a[i] = old - eps
        g[i] = (up - f()) / (2 * eps)
        a[i] = old
    return g


@pytest.mark.parametrize("kind", ["additive", "dot", "general"])
@pytest.mark.parametrize("masked", [False, True])
def test_gradcheck(kind, masked, rng):
    dk = DQ if kind == "dot" else DK
    layer = make(kind, dk=dk)
    q, k = rng.standard_normal((B, T, DQ)), rng.standard_normal((B, S, dk))
    r = rng.standard_normal((B, T, dk))
    mask = MASK if masked else None

    def loss():
        return float(np.sum(layer.forward(q, k, mask)[0] * r))

    loss()
    layer.zero_grad()
    dq, dkeys = layer.backward(r)
    for name, arr, analytic in [("query", q, dq), ("keys", k, dkeys)] + \
            [(n, layer.params[n], layer.grads[n].copy()) for n in layer.params]:
        num = numeric_grad(loss, arr)
        err = np.linalg.norm(analytic - num) / max(np.linalg.norm(analytic) + np.linalg.norm(num), 1e-300)
        assert err < 1e-6, (name, err)
    if masked:   # padded keys get no gradient: they were never read
        assert np.all(dkeys[1, 2:] == 0)
    assert set(layer.params) == {"additive": {"query_weight", "key_weight", "bias", "v"},
                                 "dot": set(), "general": {"weight"}}[kind]


@pytest.mark.parametrize("kind", ["additive", "dot", "general"])
def test_masked_positions_get_weight_zero(kind, rng):
    layer = make(kind, dk=DQ if kind == "dot" else DK)
    q, k = rng.standard_normal((B, T, DQ)), rng.standard_normal((B, S, layer.key_size)) * 50
    ctx, alpha = layer.forward(q, k, MASK)
    assert alpha.shape == (B, T, S) and ctx.shape == (B, T, layer.key_size)
    assert np.all(alpha[1, :, 2:] == 0) and np.allclose(alpha.sum(axis=2), 1)
    np.testing.assert_allclose(ctx, alpha @ k)
    # the padded keys' values do not matter at all
    k2 = k.copy()
    k2[1, 2:] = 1e6
    np.testing.assert_array_equal(layer.forward(q, k2, MASK)[1], alpha)
    with pytest.raises(InputError, match="at least one valid step"):
        layer.forward(q, k, np.zeros((B, S), bool))


@pytest.mark.parametrize("kind", ["additive", "dot", "general"])
def test_equals_pytorch(kind, torch, rng):
    dk = DQ if kind == "dot" else DK
    layer = make(kind, dk=dk)
    q, k = rng.standard_normal((B, T, DQ)), rng.standard_normal((B, S, dk))
    r = rng.standard_normal((B, T, dk))
    ctx, alpha = layer.forward(q, k, MASK)
    layer.zero_grad()
    dq, dkeys = layer.backward(r)
    tq, tk = to_torch(q, True), to_torch(k, True)
    tp = {n: to_torch(v, True) for n, v in layer.params.items()}
    if kind == "additive":
        e = torch.tanh((tq @ tp["query_weight"].T)[:, :, None] + (tk @ tp["key_weight"].T)[:, None] + tp["bias"]) @ tp["v"]
    else:
        e = ((tq @ tp["weight"]) if kind == "general" else tq) @ tk.transpose(1, 2)
    ta = torch.softmax(e.masked_fill(~torch.from_numpy(MASK)[:, None, :], float("-inf")), dim=-1)
    tctx = ta @ tk
    (tctx * to_torch(r)).sum().backward()
    np.testing.assert_allclose(alpha, ta.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ctx, tctx.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dq, tq.grad.numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(dkeys, tk.grad.numpy(), rtol=1e-9, atol=1e-12)
    for n in layer.params:
        np.testing.assert_allclose(layer.grads[n], tp[n].grad.numpy(), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("attention", ["additive", "dot", "general"])
@pytest.mark.parametrize("structure", ["context", "state"])
def test_one_decoder_step_equals_torch_reference(attention, structure, torch, rng):
    """s_1 = GRU([emb(y_0); c], h'_0), α = softmax(score(s_1, H)), z = W_o tanh(W_c [α·H; s_1] + b_c) + b_o."""
    m = Seq2Seq(9, 7, hidden=3, embed=4, cell="gru", structure=structure, context="transform",
                attention=attention, bidirectional=True, dtype="float64", seed=3, bos=1)
    src = rng.integers(0, 9, size=(2, 5))
    mask = np.arange(5)[None] < np.array([[5], [3]])
    state = m.decode_start(src, mask)
    tokens = np.array([1, 4])
    logits, new_state, alpha = m.decode_step(tokens, state)

    P = {n: to_torch(p) for n, p, _ in m.named_params()}
    gru = torch.nn.GRU(4, 3, batch_first=True, bidirectional=True, dtype=torch.float64)
    with torch.no_grad():
        for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(gru, n + "_l0").copy_(P[f"encoder.forward.{n}"])
            getattr(gru, n + "_l0_reverse").copy_(P[f"encoder.backward.{n}"])
    tmask = torch.from_numpy(mask)
    packed = torch.nn.utils.rnn.pack_padded_sequence(P["src_embed.weight"][torch.from_numpy(src)],
                                                     torch.tensor([5, 3]), batch_first=True)
    out, h_n = gru(packed)
    H, _ = torch.nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=5)
    c = torch.tanh(torch.cat([h_n[0], h_n[1]], 1) @ P["bridge.weight"].T + P["bridge.bias"])
    x = P["tgt_embed.weight"][torch.from_numpy(tokens)]
    h0 = torch.zeros_like(c) if structure == "context" else c
    if structure == "context":
        x = torch.cat([x, c], 1)
    cell = torch.nn.GRUCell(x.shape[1], 6, dtype=torch.float64)
    with torch.no_grad():
        for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(cell, n).copy_(P[f"decoder.{n}"])
    s = cell(x, h0)
    if attention == "additive":
        e = torch.tanh((s @ P["attn.query_weight"].T)[:, None] + H @ P["attn.key_weight"].T + P["attn.bias"]) @ P["attn.v"]
    else:
        q = s @ P["attn.weight"] if attention == "general" else s
        e = (H @ q[:, :, None])[:, :, 0]
    a = torch.softmax(e.masked_fill(~tmask, float("-inf")), dim=1)
    h_tilde = torch.tanh(torch.cat([(a[:, :, None] * H).sum(1), s], 1) @ P["combine.weight"].T + P["combine.bias"])
    z = h_tilde @ P["out.weight"].T + P["out.bias"]
    np.testing.assert_allclose(alpha, a.detach().numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(logits, z.detach().numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(new_state["states"][0][0], s.detach().numpy(), rtol=1e-9, atol=1e-12)


def test_errors():
    with pytest.raises(InputError, match="score: expected one of"):
        MultiplicativeAttention("cosine")
    with pytest.raises(InputError, match="units"):
        AdditiveAttention(0)
    with pytest.raises(InputError, match="query size .* must equal the key size"):
        make("dot", dq=3, dk=5)
    layer = make("general")
    with pytest.raises(InputError, match=r"query of shape \(batch, steps, 3\)"):
        layer.forward(np.zeros((2, 3, 4)), np.zeros((2, 4, 5)))
    with pytest.raises(InputError, match="keys of shape"):
        layer.forward(np.zeros((2, 3, 3)), np.zeros((2, 4, 4)))
    with pytest.raises(InputError, match="build"):
        AdditiveAttention(3).forward(np.zeros((1, 1, 1)), np.zeros((1, 1, 1)))
