"""``SimpleRNN``: the lecture's network ``h_t = x_t·U + s_{t-1}·W + b``, ``s_t = σ(h_t)``.

Parameters (PyTorch's ``nn.RNN`` names and shapes, so a state dict moves unchanged):

| parameter   | shape  | lecture |
|-------------|--------|---------|
| weight_ih   | (H, F) | Uᵀ      |
| weight_hh   | (H, H) | Wᵀ      |
| bias_ih     | (H,)   | b = bias_ih + bias_hh |
| bias_hh     | (H,)   |         |

>>> import numpy as np, rnnlab
>>> layer = rnnlab.SimpleRNN(4, return_sequences=True)
>>> _ = layer.build(2, np.random.default_rng(0))
>>> layer.forward(np.zeros((3, 5, 2), np.float32)).shape
(3, 5, 4)
"""
from __future__ import annotations

from ..registry import register_layer
from ..cells.simple import SimpleRNNCell
from .recurrent import Recurrent


@register_layer(short="rnn")
class SimpleRNN(Recurrent):
    def __init__(self, hidden_size: int, activation: str = "tanh", *, return_sequences: bool = False,
                 use_bias: bool = True, kernel_init: str = "uniform", recurrent_init: str = "uniform",
                 bias_init: str = "uniform", go_backwards: bool = False, stateful: bool = False,
                 name: str | None = None) -> None:
        super().__init__(SimpleRNNCell(hidden_size, activation), return_sequences=return_sequences,
                         use_bias=use_bias, kernel_init=kernel_init, recurrent_init=recurrent_init,
                         bias_init=bias_init, go_backwards=go_backwards, stateful=stateful, name=name)
