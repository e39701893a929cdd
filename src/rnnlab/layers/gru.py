"""``GRU``: the gated recurrent unit layer (cell formulas in :mod:`rnnlab.cells.gru`).

Parameters (PyTorch's ``nn.GRU`` names, shapes and gate order r, z, n; the lecture's update
gate is ``1 - z``, see :mod:`rnnlab.cells.gru` for the exact mapping):

| parameter   | shape    | lecture                         |
|-------------|----------|---------------------------------|
| weight_ih   | (3H, F)  | [U_r, -U_z, U_h]ᵀ               |
| weight_hh   | (3H, H)  | [W_r, -W_z, W_h]ᵀ               |
| bias_ih     | (3H,)    | [b_r, -b_z, b_h] = bias_ih + bias_hh |
| bias_hh     | (3H,)    |                                 |

``reset_after=True`` (default) is PyTorch's / cuDNN's GRU, ``n = tanh(W_in x + b_in +
r ⊙ (W_hn h + b_hn))``, and matches ``torch.nn.GRU`` exactly. ``reset_after=False`` is the
lecture's (Cho et al. 2014), ``n = tanh(W_in x + b_in + W_hn (r ⊙ h) + b_hn)``.

>>> import numpy as np
>>> from rnnlab.layers.gru import GRU
>>> layer = GRU(4, reset_after=False)
>>> _ = layer.build(2, np.random.default_rng(0))
>>> layer.forward(np.zeros((3, 5, 2), np.float32)).shape
(3, 4)
"""
from __future__ import annotations

from ..registry import register_layer
from ..cells.gru import GRUCell
from .recurrent import Recurrent


@register_layer(short="gru")
class GRU(Recurrent):
    def __init__(self, hidden_size: int, *, reset_after: bool = True, return_sequences: bool = False,
                 use_bias: bool = True, kernel_init: str = "uniform", recurrent_init: str = "uniform",
                 bias_init: str = "uniform", go_backwards: bool = False, stateful: bool = False,
                 name: str | None = None) -> None:
        super().__init__(GRUCell(hidden_size, reset_after), return_sequences=return_sequences,
                         use_bias=use_bias, kernel_init=kernel_init, recurrent_init=recurrent_init,
                         bias_init=bias_init, go_backwards=go_backwards, stateful=stateful, name=name)
