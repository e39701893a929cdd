"""The simple (Elman) RNN cell of the lecture.

Forward, one step (row vectors, as in the lecture)::

    h_t = x_t·U + s_{t-1}·W + b          (lecture)       pre-activation
    s_t = σ(h_t)                          σ = tanh | relu | sigmoid

In PyTorch's names (what :class:`~rnnlab.layers.SimpleRNN` stores)::

    U = weight_ihᵀ      W = weight_hhᵀ      b = bias_ih + bias_hh

Backward, one step (δ = dLoss/d·)::

    δh_t     = δs_t ⊙ σ'(h_t)              σ'(h) = 1 - s² (tanh), s(1 - s) (sigmoid), [h > 0] (relu)
    δs_{t-1} = δh_t·Wᵀ                      (= δh_t·weight_hh)
    dU = Σ_t x_tᵀ·δh_t,   dW = Σ_t s_{t-1}ᵀ·δh_t,   db = Σ_t δh_t   (formed by the runner, once)

Shapes (B batch, H hidden, F input features):

| name       | shape     | lecture |
|------------|-----------|---------|
| x_t        | (B, F)    | x_t     |
| weight_ih  | (H, F)    | Uᵀ      |
| weight_hh  | (H, H)    | Wᵀ      |
| bias_ih, bias_hh | (H,) | b (sum) |
| h_t        | (B, H)    | s_t     |
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import InputError
from . import _kernels
from .base import Cell

ACTIVATIONS = ("tanh", "relu", "sigmoid")


class SimpleRNNCell(Cell):
    gate_names = ("h",)                  # one block: the pre-activation h_t
    state_names = ("h",)

    def __init__(self, hidden_size: int, activation: str = "tanh") -> None:
        super().__init__(hidden_size)
        if activation not in ACTIVATIONS:
            raise InputError(f"activation: expected one of {ACTIVATIONS}, got {activation!r}")
        self.activation = activation
        self._act = ACTIVATIONS.index(activation)       # kernel code: 0 tanh, 1 relu, 2 sigmoid

    def allocate(self, steps: int, batch: int, dtype: np.dtype) -> dict[str, np.ndarray]:
        cache = super().allocate(steps, batch, dtype)
        # δs_{t-1} (backward): consumed by the next step down, so two slots alternate (t % 2)
        cache["ds"] = np.empty((2, batch, self.hidden_size), dtype=dtype)
        return cache

    def bind_states(self, cache, states):
        # backward computes σ'(h_t) from s_t: a view of the runner's output buffer, no copy
        cache["s"] = states[0][1:]

    # -- forward ----------------------------------------------------------------------------
    def recurrent_product(self, s_prev: np.ndarray, params: dict[str, np.ndarray], out: np.ndarray) -> None:
        """``out = s_{t-1}·W`` (a subclass with another recurrence, e.g. IndRNN, overrides it)."""
        self.times_weight_t(s_prev, params["weight_hh"], self.weight_hh_t(params), out)

    def recurrent_product_backward(self, dh: np.ndarray, params: dict[str, np.ndarray], out: np.ndarray) -> None:
        """``out = δh_t·Wᵀ``, the gradient reaching ``s_{t-1}`` (weight_hh is Wᵀ)."""
        self.times_weight(dh, params["weight_hh"], out)

    def step_forward(self, t, xp_t, states, params, cache, out):
        (s_prev,) = states
        s = out[0]
        self.recurrent_product(s_prev, params, s)               # s_{t-1}·W
        if self.fused:
            _kernels.get("rnn_forward")(s, xp_t, self._act)     # σ(· + x_t·U + b): one compiled pass
        else:
            self._forward_numpy(s, xp_t)
        return out

    def _forward_numpy(self, s: np.ndarray, xp_t: np.ndarray) -> None:
        s += xp_t                                               # + x_t·U + b   -> h_t
        if self.activation == "tanh":
            np.tanh(s, out=s)                                   # s_t = tanh(h_t)
        elif self.activation == "relu":
            np.maximum(s, 0, out=s)
        else:
            np.negative(s, out=s); np.exp(s, out=s); s += 1; np.reciprocal(s, out=s)

    # -- backward ---------------------------------------------------------------------------
    def step_backward(self, t, d_states, prev_states, params, cache, dxp_t, dhp_t):
        (ds,) = d_states
        s = cache["s"][t]                                       # s_t
        if self.fused:
            _kernels.get("rnn_backward")(s, ds, dxp_t, self._act)
        else:
            self._backward_numpy(s, ds, dxp_t)                  # δh_t
        ds_prev = cache["ds"][t % 2]
        self.recurrent_product_backward(dxp_t, params, ds_prev)  # δs_{t-1} = δh_t·Wᵀ
        return (ds_prev,)

    def _backward_numpy(self, s: np.ndarray, ds: np.ndarray, dxp_t: np.ndarray) -> None:
        if self.activation == "tanh":
            np.multiply(s, s, out=dxp_t); np.subtract(1, dxp_t, out=dxp_t)   # 1 - s²
        elif self.activation == "relu":
            np.greater(s, 0, out=dxp_t)
        else:
            np.subtract(1, s, out=dxp_t); dxp_t *= s                          # s(1 - s)
        dxp_t *= ds                                                           # δh_t = δs_t ∘ σ'(h_t)

    def get_config(self) -> dict[str, Any]:
        return {"activation": self.activation}
