"""``Bidirectional``: run a recurrent layer left-to-right and a copy of it right-to-left, then merge.

The lecture's bidirectional RNN (row vectors; the primed weights belong to the reverse direction)::

    forward  (正向循环):  s_t  = σ(x_t·U  + s_{t-1}·W   + b)       t = 1 … T
    backward (逆向循环):  s'_t = σ(x_t·U' + s'_{t+1}·W' + b')      t = T … 1
    merged:              o_t  = merge(s_t, s'_t)
    output:              z_t  = o_t·V + b_v                        (a following Dense layer)

The lecture sums the two directions (``merge="sum"``); PyTorch and Keras concatenate them,
forward first (``merge="concat"``, the default). Back-propagation runs both directions' BPTT
independently; the input gradient is the sum of the two.

With a mask (right padding) both directions get it; the reverse direction reverses only each
sequence's valid part (the :class:`~rnnlab.layers.recurrent.Recurrent` runner does it), so
``s'_t`` starts at each sequence's own last valid step, exactly like a packed sequence in PyTorch.

Shapes (B batch, T steps, F input features, H hidden size of the wrapped layer):

| merge    | return_sequences=True | return_sequences=False | o                 |
|----------|-----------------------|------------------------|-------------------|
| concat   | (B, T, 2H)            | (B, 2H)                | [s, s']           |
| sum      | (B, T, H)             | (B, H)                 | s + s'            |
| mul      | (B, T, H)             | (B, H)                 | s ⊙ s'            |
| ave      | (B, T, H)             | (B, H)                 | (s + s') / 2      |

With ``return_sequences=False`` the output merges the forward direction's last valid step with
the reverse direction's final state (its output at the first step): PyTorch's ``h_n``.

Parameters are those of the two sublayers, named ``forward.weight_ih``, ``backward.weight_ih``, …
(PyTorch: ``weight_ih_l0`` and ``weight_ih_l0_reverse``). States:

| attribute / argument | value                                         |
|----------------------|-----------------------------------------------|
| ``initial_state``    | ``(forward_states, backward_states)`` or None |
| ``final_state``      | ``(forward_states, backward_states)``         |
| ``d_initial_state``  | ``(forward_grads, backward_grads)``           |

Each ``*_states`` is the wrapped layer's state tuple: ``(h,)`` or ``(h, c)`` for LSTM.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ..registry import layer_from_config, register_layer
from ..errors import InputError
from .base import Layer
from .recurrent import Recurrent

MERGES = ("concat", "sum", "mul", "ave")

States = Sequence[np.ndarray] | np.ndarray | None


@register_layer
class Bidirectional(Layer):
    """Wrap a recurrent layer (``SimpleRNN``, ``LSTM``, ``GRU``) to read the sequence both ways.

    Args:
        layer: the forward direction (unbuilt, ``go_backwards=False``), or its config dict
            ``{"class": ..., "config": ...}`` as :meth:`get_config` returns it. A copy with the
            same class and config and ``go_backwards=True`` becomes the backward direction.
        merge: how the two directions are combined: "concat" | "sum" | "mul" | "ave".
        name: the layer's name.
    """

    def __init__(self, layer: Recurrent | dict[str, Any], merge: str = "concat", name: str | None = None) -> None:
        super().__init__(name)
        if isinstance(layer, dict):
            layer = layer_from_config(layer, "Bidirectional layer")
        if not isinstance(layer, Recurrent):
            raise InputError(f"Bidirectional: expected a recurrent layer (SimpleRNN, LSTM, GRU), got {type(layer).__name__}")
        if layer.go_backwards:
            raise InputError("Bidirectional: pass the forward direction (go_backwards=False); "
                             "the backward copy is made for you")
        if layer.built:
            raise InputError("Bidirectional: pass an unbuilt layer; both directions are built together")
        if merge not in MERGES:
            raise InputError(f"Bidirectional merge: expected one of {MERGES}, got {merge!r}")
        self.merge = merge
        config = layer.get_config()
        back_name = None if config.get("name") is None else f"{config['name']}_backward"
        self.forward_layer: Recurrent = layer
        self.backward_layer: Recurrent = type(layer)(**{**config, "go_backwards": True, "name": back_name})
        self.forward_layer.role, self.backward_layer.role = "forward", "backward"
        self.hidden_size = layer.hidden_size
        self.return_sequences = layer.return_sequences
        self.keeps_time = layer.return_sequences
        self.final_state: tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...]] | None = None
        self.d_initial_state: tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...]] | None = None
        self._outputs: tuple[np.ndarray, np.ndarray] | None = None

    # -- construction ---------------------------------------------------------------------
    def build(self, input_size: int, rng: np.random.Generator, dtype=np.float32) -> int:
        """Build the forward direction, then the backward one, from the same ``rng``."""
        super().build(input_size, rng, dtype)
        self.forward_layer.build(input_size, rng, dtype)
        self.backward_layer.build(input_size, rng, dtype)
        self.output_size = 2 * self.hidden_size if self.merge == "concat" else self.hidden_size
        return self.output_size

    def sublayers(self) -> list[Layer]:
        return [self.forward_layer, self.backward_layer]

    def zero_grad(self) -> None:
        for sub in self.sublayers():
            sub.zero_grad()

    @property
    def needs_input_grad(self) -> bool:
        """Whether ``backward`` computes dX; set on both directions (False: ``backward`` returns None)."""
        return self.forward_layer.needs_input_grad

    @needs_input_grad.setter
    def needs_input_grad(self, value: bool) -> None:
        self.forward_layer.needs_input_grad = self.backward_layer.needs_input_grad = bool(value)

    @property
    def stateful(self) -> bool:
        return self.forward_layer.stateful

    def reset_states(self) -> None:
        for sub in self.sublayers():
            sub.reset_states()

    # -- computation ----------------------------------------------------------------------
    def forward(self, x: np.ndarray, mask: np.ndarray | None = None, training: bool = False,
                initial_state: tuple[States, States] | None = None) -> np.ndarray:
        init_f, init_b = self._split_pair(initial_state, "initial_state")
        if self.merge == "concat" and self.return_sequences and getattr(x, "ndim", 0) == 3:
            # each direction writes its half of the concatenation directly (no concatenate copy)
            h = self.hidden_size
            out = np.empty(x.shape[:2] + (2 * h,), dtype=self.dtype)
            y_f = self.forward_layer.forward(x, mask=mask, training=training, initial_state=init_f,
                                             out=out[..., :h])
            y_b = self.backward_layer.forward(x, mask=mask, training=training, initial_state=init_b,
                                              out=out[..., h:])
            self.final_state = (self.forward_layer.final_state, self.backward_layer.final_state)
            self._outputs = (y_f, y_b)                  # views of ``out``: only their shapes are read
            return out
        y_f = self.forward_layer.forward(x, mask=mask, training=training, initial_state=init_f)
        y_b = self.backward_layer.forward(x, mask=mask, training=training, initial_state=init_b)
        self.final_state = (self.forward_layer.final_state, self.backward_layer.final_state)
        self._outputs = (y_f, y_b)
        if self.merge == "concat":
            return np.concatenate([y_f, y_b], axis=-1)
        if self.merge == "sum":
            return y_f + y_b
        if self.merge == "mul":
            return y_f * y_b
        return (y_f + y_b) * 0.5

    def backward(self, dy: np.ndarray, d_final_state: tuple[States, States] | None = None) -> np.ndarray | None:
        """Split ``dy`` between the directions, run both BPTTs, sum their input gradients
        (None when ``needs_input_grad`` is False)."""
        if self._outputs is None:
            raise RuntimeError("backward() called before forward()")
        y_f, y_b = self._outputs
        dy = np.asarray(dy, dtype=self.dtype)
        if dy.shape[:-1] != y_f.shape[:-1] or dy.shape[-1] != self.output_size:
            raise InputError(f"Bidirectional backward: expected dy of shape {y_f.shape[:-1] + (self.output_size,)}, "
                             f"got {dy.shape}")
        if self.merge == "concat":
            dy_f, dy_b = dy[..., :self.hidden_size], dy[..., self.hidden_size:]
        elif self.merge == "sum":
            dy_f, dy_b = dy, dy
        elif self.merge == "mul":
            dy_f, dy_b = dy * y_b, dy * y_f
        else:
            dy_f = dy_b = dy * 0.5
        d_fin_f, d_fin_b = self._split_pair(d_final_state, "d_final_state")
        dx = self.forward_layer.backward(dy_f, d_final_state=d_fin_f)
        dx_b = self.backward_layer.backward(dy_b, d_final_state=d_fin_b)
        self.d_initial_state = (self.forward_layer.d_initial_state, self.backward_layer.d_initial_state)
        if dx is None:
            return None
        dx += dx_b                                   # dx is the forward layer's own new array
        return dx

    @staticmethod
    def _split_pair(pair: Any, what: str) -> tuple[Any, Any]:
        if pair is None:
            return None, None
        if len(pair) != 2:
            raise InputError(f"Bidirectional {what}: expected (forward_states, backward_states), got {len(pair)} item(s)")
        return _as_states(pair[0]), _as_states(pair[1])

    # -- serialisation --------------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        layer = self.forward_layer
        return {"layer": {"class": type(layer).__name__, "config": layer.get_config()},
                "merge": self.merge, "name": self.name}

    def __repr__(self) -> str:
        return f"Bidirectional({self.forward_layer!r}, merge={self.merge!r})"


def _as_states(s: Any) -> Any:
    """One direction's states as a tuple; a stacked ``(n_states, B, H)`` array is split too."""
    if s is None:
        return None
    if isinstance(s, np.ndarray) and s.ndim == 2:
        return (s,)
    return tuple(s)
