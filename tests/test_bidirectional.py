"""Bidirectional: finite-difference gradients for every merge mode, and equality with PyTorch's
``bidirectional=True`` RNN / LSTM / GRU (outputs, h_n, c_n, every gradient), padded or packed."""
from __future__ import annotations

import json

import numpy as np
import pytest

from rnnlab.diagnostics import gradcheck
from rnnlab.errors import InputError, ModelFileError
from rnnlab.layers.base import Layer
from rnnlab.layers.bidirectional import Bidirectional
from rnnlab.registry import layer_from_config
from rnnlab.layers.simple_rnn import SimpleRNN

MERGES = ["concat", "sum", "mul", "ave"]
KINDS = ["SimpleRNN", "LSTM", "GRU"]


def make(kind: str, hidden: int, **kw):
    """A recurrent layer by class name (LSTM and GRU imported here, so SimpleRNN cases run alone)."""
    return layer_from_config({"class": kind, "config": {"hidden_size": hidden, **kw}})


def build_bi(kind, hidden, in_size, merge="concat", return_sequences=True, dtype=np.float64, seed=0):
    bi = Bidirectional(make(kind, hidden, return_sequences=return_sequences), merge=merge)
    bi.build(in_size, np.random.default_rng(seed), dtype)
    return bi


def lengths_mask(lengths, steps):
    return np.arange(steps)[None, :] < np.asarray(lengths)[:, None]


class FlatStates(Layer):
    """Adapter for gradcheck: exposes Bidirectional's nested states as one flat tuple."""

    def __init__(self, bi: Bidirectional) -> None:
        super().__init__()
        self.bi, self.dtype = bi, bi.dtype
        self.n = len(bi.forward_layer.cell.state_names)

    def sublayers(self):
        return [self.bi]

    def zero_grad(self):
        self.bi.zero_grad()

    def _pair(self, flat):
        return None if flat is None else (tuple(flat[:self.n]), tuple(flat[self.n:]))

    def forward(self, x, mask=None, training=False, initial_state=None):
        y = self.bi.forward(x, mask=mask, initial_state=self._pair(initial_state))
        self.final_state = self.bi.final_state[0] + self.bi.final_state[1]
        return y

    def backward(self, dy, d_final_state=None):
        dx = self.bi.backward(dy, self._pair(d_final_state))
        self.d_initial_state = self.bi.d_initial_state[0] + self.bi.d_initial_state[1]
        return dx


# -- structure ------------------------------------------------------------------------------
def test_names_shapes_and_weights_drawn_forward_then_backward():
    bi = build_bi("SimpleRNN", 3, 2, seed=7)
    names = [n for n, _, _ in bi.named_params()]
    assert names == ["forward.weight_ih", "forward.weight_hh", "forward.bias_ih", "forward.bias_hh",
                     "backward.weight_ih", "backward.weight_hh", "backward.bias_ih", "backward.bias_hh"]
    assert bi.backward_layer.go_backwards and not bi.forward_layer.go_backwards
    assert bi.output_size == 6
    # the forward copy draws first from the rng, the backward copy right after it
    rng = np.random.default_rng(7)
    ref_f, ref_b = SimpleRNN(3), SimpleRNN(3)
    ref_f.build(2, rng, np.float64); ref_b.build(2, rng, np.float64)
    for k in ref_f.params:
        np.testing.assert_array_equal(bi.forward_layer.params[k], ref_f.params[k])
        np.testing.assert_array_equal(bi.backward_layer.params[k], ref_b.params[k])
    assert not np.array_equal(bi.forward_layer.params["weight_hh"], bi.backward_layer.params["weight_hh"])


@pytest.mark.parametrize("merge, size", [("concat", 8), ("sum", 4), ("mul", 4), ("ave", 4)])
@pytest.mark.parametrize("return_sequences", [True, False])
def test_output_shapes(merge, size, return_sequences):
    bi = build_bi("SimpleRNN", 4, 3, merge=merge, return_sequences=return_sequences)
    y = bi.forward(np.zeros((2, 5, 3)))
    assert y.shape == ((2, 5, size) if return_sequences else (2, size)) and bi.output_size == size
    assert bi.keeps_time is return_sequences


def test_config_round_trip_rebuilds_the_same_layer():
    bi = Bidirectional(SimpleRNN(3, activation="relu", return_sequences=True, name="enc"), merge="ave", name="bi")
    cfg = json.loads(json.dumps(bi.get_config()))
    assert cfg == {"layer": {"class": "SimpleRNN", "config": SimpleRNN(3, activation="relu", return_sequences=True,
                                                                        name="enc").get_config()},
                   "merge": "ave", "name": "bi"}
    twin = Bidirectional(**cfg)
    bi.build(2, np.random.default_rng(1), np.float64); twin.build(2, np.random.default_rng(1), np.float64)
    x = np.random.default_rng(2).standard_normal((2, 4, 2))
    np.testing.assert_array_equal(bi.forward(x), twin.forward(x))
    assert twin.forward_layer.cell.activation == "relu" and twin.backward_layer.go_backwards


def test_bad_arguments():
    with pytest.raises(InputError, match="merge"):
        Bidirectional(SimpleRNN(3), merge="max")
    with pytest.raises(InputError, match="go_backwards"):
        Bidirectional(SimpleRNN(3, go_backwards=True))
    with pytest.raises(InputError, match="recurrent"):
        Bidirectional(object())
    with pytest.raises(InputError, match="recurrent layer"):
        Bidirectional({"class": "Dense", "config": {"units": 3}})
    with pytest.raises(ModelFileError, match="unknown layer class 'Nope'"):
        Bidirectional({"class": "Nope", "config": {}})


def test_merge_values_from_the_two_directions():
    x = np.random.default_rng(3).standard_normal((2, 5, 3))
    outs = {m: build_bi("SimpleRNN", 4, 3, merge=m, seed=5).forward(x) for m in MERGES}
    f, b = outs["concat"][..., :4], outs["concat"][..., 4:]
    np.testing.assert_allclose(outs["sum"], f + b, atol=1e-15)
    np.testing.assert_allclose(outs["mul"], f * b, atol=1e-15)
    np.testing.assert_allclose(outs["ave"], (f + b) / 2, atol=1e-15)
    # the backward direction at step t has seen x_t … x_T only
    bi = build_bi("SimpleRNN", 4, 3, seed=5)
    x2 = x.copy(); x2[:, 0] += 1.0
    y, y2 = bi.forward(x)[..., 4:], bi.forward(x2)[..., 4:]
    np.testing.assert_array_equal(y[:, 1:], y2[:, 1:])
    assert np.abs(y[:, 0] - y2[:, 0]).max() > 1e-3


# -- finite differences ---------------------------------------------------------------------
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("merge", MERGES)
@pytest.mark.parametrize("return_sequences", [True, False])
@pytest.mark.parametrize("masked", [False, True])
def test_gradcheck(kind, merge, return_sequences, masked):
    bi = build_bi(kind, 3, 2, merge=merge, return_sequences=return_sequences, seed=11)
    x = np.random.default_rng(12).standard_normal((3, 4, 2))
    mask = lengths_mask([4, 2, 1], 4) if masked else None
    res = gradcheck(bi, x, mask=mask)
    assert len(res.errors) == 2 * len(bi.forward_layer.params) + 1
    assert res.ok and res.max_error < 1e-6, str(res)


@pytest.mark.parametrize("kind", KINDS)
def test_gradcheck_initial_and_final_states(kind):
    bi = build_bi(kind, 3, 2, merge="sum", seed=21)
    rng = np.random.default_rng(22)
    x = rng.standard_normal((3, 4, 2))
    n = len(bi.forward_layer.cell.state_names)
    init = [rng.standard_normal((3, 3)) for _ in range(2 * n)]
    res = gradcheck(FlatStates(bi), x, mask=lengths_mask([4, 3, 1], 4), initial_state=init, check_final_state=True)
    assert sum(k.startswith("initial_state") for k in res.errors) == 2 * n
    assert res.ok, str(res)


# -- PyTorch ------------------------------------------------------------------------------
def torch_twin(torch, bi: Bidirectional, kind: str, dtype) -> "torch.nn.Module":
    """The equivalent torch module, weights copied into weight_ih_l0, weight_ih_l0_reverse, …"""
    fwd = bi.forward_layer
    kw = {"nonlinearity": fwd.cell.activation} if kind == "SimpleRNN" else {}
    module = {"SimpleRNN": torch.nn.RNN, "LSTM": torch.nn.LSTM, "GRU": torch.nn.GRU}[kind]
    mod = module(bi.input_size, fwd.hidden_size, batch_first=True, bidirectional=True, dtype=dtype, **kw)
    with torch.no_grad():
        for sub, sfx in ((fwd, "_l0"), (bi.backward_layer, "_l0_reverse")):
            for k, v in sub.params.items():
                getattr(mod, k + sfx).copy_(torch.from_numpy(v))
    return mod


def compare_with_torch(torch, kind, dtype, lengths, return_sequences, tol):
    np_dtype = np.float64 if dtype == torch.float64 else np.float32
    bsz, steps, feat, hid = 4, 6, 3, 5
    bi = build_bi(kind, hid, feat, return_sequences=return_sequences, dtype=np_dtype, seed=31)
    rng = np.random.default_rng(32)
    x = rng.standard_normal((bsz, steps, feat)).astype(np_dtype)    # padding holds garbage on purpose
    mask = None if lengths is None else lengths_mask(lengths, steps)
    n = len(bi.forward_layer.cell.state_names)
    r_out = rng.standard_normal((bsz, steps, 2 * hid) if return_sequences else (bsz, 2 * hid)).astype(np_dtype)
    r_fin = rng.standard_normal((n, 2, bsz, hid)).astype(np_dtype)   # [state][direction]

    # rnnlab
    y = bi.forward(x, mask=mask)
    bi.zero_grad()
    dx = bi.backward(r_out, d_final_state=(tuple(r_fin[:, 0]), tuple(r_fin[:, 1])))

    # torch
    mod = torch_twin(torch, bi, kind, dtype)
    xt = torch.tensor(x, requires_grad=True)
    if lengths is None:
        out, fin = mod(xt)
    else:
        packed = torch.nn.utils.rnn.pack_padded_sequence(xt, torch.tensor(lengths), batch_first=True,
                                                         enforce_sorted=False)
        out, fin = mod(packed)
        out, _ = torch.nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=steps)
    fin = fin if isinstance(fin, tuple) else (fin,)                 # (h_n,) or (h_n, c_n), each (2, B, H)
    y_t = out if return_sequences else torch.cat([fin[0][0], fin[0][1]], dim=-1)
    loss = (y_t * torch.from_numpy(r_out)).sum() + sum((f * torch.from_numpy(r)).sum() for f, r in zip(fin, r_fin))
    loss.backward()

    close = lambda a, b: np.testing.assert_allclose(a, b.detach().numpy(), rtol=tol, atol=tol)  # noqa: E731
    close(y, y_t)
    for k in range(n):
        close(bi.final_state[0][k], fin[k][0]); close(bi.final_state[1][k], fin[k][1])
    close(dx, xt.grad)
    for sub, sfx in ((bi.forward_layer, "_l0"), (bi.backward_layer, "_l0_reverse")):
        for k in sub.params:
            close(sub.grads[k], getattr(mod, k + sfx).grad)
    if lengths is not None:                                        # padded outputs are exactly 0
        pad = ~mask
        if return_sequences:
            assert np.all(y[pad] == 0)
        assert np.all(dx[pad] == 0)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("return_sequences", [True, False])
@pytest.mark.parametrize("lengths", [None, [6, 2, 4, 1]], ids=["full", "packed"])
def test_equals_torch_float64(torch, kind, return_sequences, lengths):
    compare_with_torch(torch, kind, torch.float64, lengths, return_sequences, tol=1e-9)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("lengths", [None, [6, 2, 4, 1]], ids=["full", "packed"])
def test_equals_torch_float32(torch, kind, lengths):
    compare_with_torch(torch, kind, torch.float32, lengths, True, tol=1e-4)


def test_initial_state_is_used_per_direction():
    bi = build_bi("SimpleRNN", 3, 2, seed=41)
    x = np.random.default_rng(42).standard_normal((2, 5, 2))
    h_f, h_b = np.full((2, 3), 0.5), np.full((2, 3), -0.5)
    y0 = bi.forward(x)
    y1 = bi.forward(x, initial_state=((h_f,), None))
    assert np.abs(y1[:, 0, :3] - y0[:, 0, :3]).max() > 1e-3          # forward starts at t=1 from h_f
    np.testing.assert_array_equal(y1[..., 3:], y0[..., 3:])          # backward untouched
    y2 = bi.forward(x, initial_state=(None, (h_b,)))
    assert np.abs(y2[:, -1, 3:] - y0[:, -1, 3:]).max() > 1e-3        # backward starts at t=T from h_b
    np.testing.assert_array_equal(y2[..., :3], y0[..., :3])
