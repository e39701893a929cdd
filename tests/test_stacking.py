"""Deep (stacked) RNNs: k layers chained by hand equal ``torch.nn.RNN/LSTM/GRU(num_layers=k)``.

The lecture's deep RNN feeds layer l's state sequence to layer l+1 as its input:
``s^(l)_t = σ(s^(l-1)_t·U_l + s^(l)_{t-1}·W_l + b_l)`` with ``s^(0)_t = x_t``. Forward runs layer by
layer; backward runs the layers in reverse, each passing ``dx`` down as the next one's ``dy``.
"""
from __future__ import annotations

import numpy as np
import pytest

from rnnlab.layers.bidirectional import Bidirectional
from rnnlab.registry import layer_from_config

B, T, F, H = 3, 5, 4, 3


def make(kind: str, hidden: int, **kw):
    return layer_from_config({"class": kind, "config": {"hidden_size": hidden, **kw}})


def build_stack(kind, k, bidirectional=False, dtype=np.float64, seed=0):
    rng, size, layers = np.random.default_rng(seed), F, []
    for _ in range(k):
        layer = make(kind, H, return_sequences=True)
        layer = Bidirectional(layer) if bidirectional else layer
        size = layer.build(size, rng, dtype)
        layers.append(layer)
    return layers


def directions(layer):
    return [layer.forward_layer, layer.backward_layer] if isinstance(layer, Bidirectional) else [layer]


def torch_twin(torch, kind, layers, bidirectional, dtype):
    module = {"SimpleRNN": torch.nn.RNN, "LSTM": torch.nn.LSTM, "GRU": torch.nn.GRU}[kind]
    mod = module(F, H, num_layers=len(layers), batch_first=True, bidirectional=bidirectional, dtype=dtype)
    with torch.no_grad():
        for l, layer in enumerate(layers):
            for d, sub in enumerate(directions(layer)):
                for name, v in sub.params.items():
                    getattr(mod, f"{name}_l{l}{'_reverse' if d else ''}").copy_(torch.from_numpy(v))
    return mod


def run_stack(torch, kind, k, bidirectional=False, lengths=None):
    layers = build_stack(kind, k, bidirectional)
    n_dir = 2 if bidirectional else 1
    n_states = len(directions(layers[0])[0].cell.state_names)
    rng = np.random.default_rng(100 + k)
    x = rng.standard_normal((B, T, F))
    mask = None if lengths is None else np.arange(T)[None, :] < np.asarray(lengths)[:, None]
    r_out = rng.standard_normal((B, T, n_dir * H))
    r_fin = rng.standard_normal((n_states, k * n_dir, B, H))        # torch's h_n (and c_n) layout

    # rnnlab: forward layer by layer, backward in reverse
    h = x
    for layer in layers:
        h = layer.forward(h, mask=mask)
    y, d = h, r_out
    for l in reversed(range(k)):
        layer = layers[l]
        layer.zero_grad()
        fin = [tuple(r_fin[s, l * n_dir + j] for s in range(n_states)) for j in range(n_dir)]
        d = layer.backward(d, d_final_state=tuple(fin) if bidirectional else fin[0])
    dx = d

    # torch
    mod = torch_twin(torch, kind, layers, bidirectional, torch.float64)
    xt = torch.tensor(x, requires_grad=True)
    if lengths is None:
        out, fin_t = mod(xt)
    else:
        packed = torch.nn.utils.rnn.pack_padded_sequence(xt, torch.tensor(lengths), batch_first=True,
                                                         enforce_sorted=False)
        out, fin_t = mod(packed)
        out, _ = torch.nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=T)
    fin_t = fin_t if isinstance(fin_t, tuple) else (fin_t,)
    loss = (out * torch.from_numpy(r_out)).sum() + sum((f * torch.from_numpy(r)).sum() for f, r in zip(fin_t, r_fin))
    loss.backward()

    close = lambda a, b: np.testing.assert_allclose(a, b.detach().numpy(), rtol=1e-9, atol=1e-9)  # noqa: E731
    close(y, out)
    close(dx, xt.grad)
    for l, layer in enumerate(layers):
        for j, sub in enumerate(directions(layer)):
            for s in range(n_states):
                close(sub.final_state[s], fin_t[s][l * n_dir + j])
            for name in sub.params:
                close(sub.grads[name], getattr(mod, f"{name}_l{l}{'_reverse' if j else ''}").grad)
    return layers


@pytest.mark.parametrize("kind", ["SimpleRNN", "LSTM", "GRU"])
@pytest.mark.parametrize("k", [2, 3])
def test_stack_equals_torch_num_layers(torch, kind, k):
    layers = run_stack(torch, kind, k)
    assert [layer.input_size for layer in layers] == [F] + [H] * (k - 1)


@pytest.mark.parametrize("lengths", [None, [5, 2, 4]], ids=["full", "packed"])
def test_bidirectional_two_layer_lstm_equals_torch(torch, lengths):
    layers = run_stack(torch, "LSTM", 2, bidirectional=True, lengths=lengths)
    assert layers[1].input_size == 2 * H                          # concat of the lower layer's directions


@pytest.mark.parametrize("kind", ["SimpleRNN", "GRU"])
def test_bidirectional_two_layer_stack_other_cells(torch, kind):
    run_stack(torch, kind, 2, bidirectional=True, lengths=[5, 1, 3])


def test_top_layer_last_step_equals_torch_h_n(torch):
    """A classifier-style stack: lower layer per-step, top layer last step only (h_n[-1])."""
    rng = np.random.default_rng(5)
    low, top = make("SimpleRNN", H, return_sequences=True), make("SimpleRNN", H)
    low.build(F, rng, np.float64); top.build(H, rng, np.float64)
    x = rng.standard_normal((B, T, F))
    y = top.forward(low.forward(x))
    mod = torch_twin(torch, "SimpleRNN", [low, top], False, torch.float64)
    _, h_n = mod(torch.from_numpy(x))
    np.testing.assert_allclose(y, h_n[-1].detach().numpy(), rtol=1e-9, atol=1e-9)
