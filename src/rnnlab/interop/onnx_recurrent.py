"""rnnlab's (= PyTorch's) recurrent parameters in the layout of ONNX's RNN, LSTM and GRU operators.

Pure NumPy (no onnx import). Gate blocks along the fused G·H axis:

| cell | rnnlab / PyTorch | ONNX | rows taken from rnnlab's blocks, in ONNX's order |
|---|---|---|---|
| LSTM | i, f, g, o | i, o, f, c | 0, 3, 1, 2 |
| GRU  | r, z, n    | z, r, h    | 1, 0, 2    |
| RNN  | h          | i          | 0          |

``W[d] = weight_ih`` and ``R[d] = weight_hh`` reordered (shapes ``(D, G·H, F)``, ``(D, G·H, H)``);
``B[d] = [bias_ih, bias_hh]`` each reordered (``(D, 2·G·H)``: ONNX's ``[Wb, Rb]``); direction
``d`` = 0 forward, 1 backward for a Bidirectional.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..cells.gru import GRUCell
from ..cells.lstm import LSTMCell
from ..cells.simple import SimpleRNNCell
from ..errors import InputError
from ..layers.base import Layer
from ..layers.bidirectional import Bidirectional
from ..layers.recurrent import Recurrent

#: rnnlab's gate block k goes to ONNX's position j: ONNX block j = rnnlab block ORDER[j]
LSTM_ORDER = (0, 3, 1, 2)        # i f g o → i o f c
GRU_ORDER = (1, 0, 2)            # r z n   → z r h
ACTIVATIONS = {"tanh": "Tanh", "relu": "Relu", "sigmoid": "Sigmoid"}


def reorder(a: np.ndarray, order: tuple[int, ...]) -> np.ndarray:
    """Blocks of ``a`` along axis 0 (``len(order)`` equal blocks) taken in ``order``."""
    blocks = np.split(np.asarray(a), len(order), axis=0)
    return np.concatenate([blocks[k] for k in order], axis=0)


def restore(a: np.ndarray, order: tuple[int, ...]) -> np.ndarray:
    """The inverse of :func:`reorder`: ONNX's block layout back to rnnlab's."""
    inverse = tuple(int(i) for i in np.argsort(order))
    return reorder(a, inverse)


def cell_op(layer: Recurrent) -> tuple[str, tuple[int, ...], dict[str, Any]]:
    """(ONNX operator, gate order, extra attributes) for one direction's cell."""
    cell = layer.cell
    if type(cell) is LSTMCell:
        return "LSTM", LSTM_ORDER, {}
    if type(cell) is GRUCell:
        return "GRU", GRU_ORDER, {"linear_before_reset": int(cell.reset_after)}
    if type(cell) is SimpleRNNCell:
        return "RNN", (0,), {"activation": ACTIVATIONS[cell.activation]}
    raise InputError(f"{type(layer).__name__} has no ONNX operator (ONNX has RNN, LSTM and GRU); "
                     "it cannot be exported")


def onnx_recurrent_spec(layer: Layer) -> dict[str, Any]:
    """``{"op", "W", "R", "B" (None without biases), "attrs", "return_sequences"}`` for a recurrent
    layer or a Bidirectional wrapping one."""
    directions = [layer.forward_layer, layer.backward_layer] if isinstance(layer, Bidirectional) else [layer]
    first = directions[0]
    op, order, extra = cell_op(first)
    w = np.stack([reorder(d.params["weight_ih"], order) for d in directions])
    r = np.stack([reorder(d.params["weight_hh"], order) for d in directions])
    b = None
    if first.use_bias:
        b = np.stack([np.concatenate([reorder(d.params["bias_ih"], order), reorder(d.params["bias_hh"], order)])
                      for d in directions])
    if len(directions) == 2:
        direction = "bidirectional"
    else:
        direction = "reverse" if first.go_backwards else "forward"
    attrs: dict[str, Any] = {"hidden_size": first.hidden_size, "direction": direction}
    if "activation" in extra:
        attrs["activations"] = [extra["activation"]] * len(directions)
    if "linear_before_reset" in extra:
        attrs["linear_before_reset"] = extra["linear_before_reset"]
    return {"op": op, "W": w, "R": r, "B": b, "attrs": attrs, "return_sequences": first.return_sequences}
