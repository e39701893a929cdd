"""``LSTM``: the long short-term memory layer (cell formulas in :mod:`rnnlab.cells.lstm`).

Parameters (PyTorch's ``nn.LSTM`` names, shapes and gate order i, f, g, o, so a state dict
moves unchanged; the lecture's symbols per block k ∈ {i, f, c, o}):

| parameter   | shape    | lecture                  |
|-------------|----------|--------------------------|
| weight_ih   | (4H, F)  | [U_i U_f U_c U_o]ᵀ       |
| weight_hh   | (4H, H)  | [W_i W_f W_c W_o]ᵀ       |
| bias_ih     | (4H,)    | b = bias_ih + bias_hh    |
| bias_hh     | (4H,)    |                          |

States are ``(h, c)``: ``initial_state=(h0, c0)`` in, :attr:`final_state` ``= (h_T, c_T)`` out,
:attr:`d_initial_state` ``= (δh0, δc0)`` after backward. ``forget_bias=1.0`` starts the forget
gate open (Jozefowicz et al. 2015): the f slice of ``bias_ih`` is set to 1 and of ``bias_hh``
to 0 after initialization.

>>> import numpy as np
>>> from rnnlab.layers.lstm import LSTM
>>> layer = LSTM(4, return_sequences=True, forget_bias=1.0)
>>> _ = layer.build(2, np.random.default_rng(0))
>>> layer.forward(np.zeros((3, 5, 2), np.float32)).shape
(3, 5, 4)
>>> [s.shape for s in layer.final_state]
[(3, 4), (3, 4)]
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..registry import register_layer
from ..cells.lstm import LSTMCell
from ..errors import InputError
from .recurrent import Recurrent


@register_layer(short="lstm")
class LSTM(Recurrent):
    def __init__(self, hidden_size: int, *, return_sequences: bool = False, use_bias: bool = True,
                 kernel_init: str = "uniform", recurrent_init: str = "uniform", bias_init: str = "uniform",
                 forget_bias: float | None = None, go_backwards: bool = False, stateful: bool = False,
                 name: str | None = None) -> None:
        super().__init__(LSTMCell(hidden_size), return_sequences=return_sequences, use_bias=use_bias,
                         kernel_init=kernel_init, recurrent_init=recurrent_init, bias_init=bias_init,
                         go_backwards=go_backwards, stateful=stateful, name=name)
        if forget_bias is not None:
            if not use_bias:
                raise InputError("forget_bias: needs use_bias=True (it sets the forget-gate bias)")
            forget_bias = float(forget_bias)
            if not np.isfinite(forget_bias):
                raise InputError(f"forget_bias: expected a finite number, got {forget_bias}")
        self.forget_bias = forget_bias

    def build(self, input_size: int, rng: np.random.Generator, dtype=np.float32) -> int:
        out = super().build(input_size, rng, dtype)
        if self.forget_bias is not None:
            h = self.hidden_size
            self.params["bias_ih"][h:2 * h] = self.forget_bias   # f block (order i, f, g, o)
            self.params["bias_hh"][h:2 * h] = 0.0
        return out

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "forget_bias": self.forget_bias}
