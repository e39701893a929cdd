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
from .base import Cell

ACTIVATIONS = ("tanh", "relu", "sigmoid")


class SimpleRNNCell(Cell):
    gates = 1
    state_names = ("h",)

    def __init__(self, hidden_size: int, activation: str = "tanh") -> None:
        super().__init__(hidden_size)
        if activation not in ACTIVATIONS:
            raise InputError(f"activation: expected one of {ACTIVATIONS}, got {activation!r}")
        self.activation = activation

    def allocate(self, steps: int, batch: int, dtype: np.dtype) -> dict[str, np.ndarray]:
        # s_t before any masking: σ'(h_t) is computed from it.
        return {"s": np.empty((steps, batch, self.hidden_size), dtype=dtype)}

    def step_forward(self, t, xp_t, states, params, cache):
        (s_prev,) = states
        s = cache["s"][t]
        np.matmul(s_prev, params["weight_hh"].T, out=s)        # s_{t-1}·W
        s += xp_t                                               # + x_t·U + b_ih
        if "bias_hh" in params:
            s += params["bias_hh"]                              # + b_hh  -> h_t
        if self.activation == "tanh":
            np.tanh(s, out=s)                                   # s_t = tanh(h_t)
        elif self.activation == "relu":
            np.maximum(s, 0, out=s)
        else:
            np.negative(s, out=s); np.exp(s, out=s); s += 1; np.reciprocal(s, out=s)
        return (s,)

    def step_backward(self, t, d_states, prev_states, params, cache, dxp_t, dhp_t):
        (ds,) = d_states
        s = cache["s"][t]
        if self.activation == "tanh":
            np.multiply(s, s, out=dxp_t); np.subtract(1, dxp_t, out=dxp_t)   # 1 - s²
        elif self.activation == "relu":
            dxp_t[...] = s > 0
        else:
            np.subtract(1, s, out=dxp_t); dxp_t *= s                          # s(1 - s)
        dxp_t *= ds                                                           # δh_t
        return (dxp_t @ params["weight_hh"],)                                 # δs_{t-1}

    def get_config(self) -> dict[str, Any]:
        return {"activation": self.activation}
