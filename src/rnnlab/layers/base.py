"""The layer contract: parameters and gradients as dicts, forward caches, backward returns dx.

Every layer of rnnlab follows it; there is no autograd engine.

* ``params`` / ``grads``: dicts of arrays with the same keys; ``backward`` **adds** into
  ``grads`` (the model zeroes them before each batch).
* ``build(input_size, rng, dtype)`` creates the parameters once the input feature size is
  known and returns the output feature size.
* ``forward(x, mask=None, training=False)`` computes the output and keeps what backward needs.
* ``backward(dy)`` returns the gradient with respect to the input of the last forward — or None
  when the layer's ``needs_input_grad`` is False (nothing below it uses that gradient; the model
  sets it, see :meth:`rnnlab.Sequential.build`) and the layer skips that product.
* ``get_config()`` returns the constructor's keyword arguments (JSON-serialisable), so
  ``type(layer)(**layer.get_config())`` builds the same architecture.
"""
from __future__ import annotations

from typing import Any

import numpy as np


class Layer:
    #: True when the layer maps (B, T, F) to (B, T, F') and keeps the time axis and mask.
    keeps_time: bool = True
    #: False when nothing uses this layer's input gradient (e.g. the first layer of a Sequential
    #: reading the raw features): layers that can skip the product (Recurrent, Bidirectional,
    #: Dense) then return None from ``backward``; the parameter gradients are the same
    needs_input_grad: bool = True

    def __init__(self, name: str | None = None) -> None:
        self.name = name
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.built = False
        self.dtype: np.dtype = np.dtype(np.float32)
        self.input_size: int | None = None
        self.output_size: int | None = None

    # -- construction ---------------------------------------------------------------
    def build(self, input_size: int, rng: np.random.Generator, dtype=np.float32) -> int:
        self.input_size = int(input_size)
        self.dtype = np.dtype(dtype)
        self.built = True
        self.output_size = self.input_size
        return self.output_size

    def add_param(self, name: str, value: np.ndarray) -> None:
        self.params[name] = np.ascontiguousarray(value, dtype=self.dtype)
        self.grads[name] = np.zeros_like(self.params[name])

    def zero_grad(self) -> None:
        for _, _, g in self.named_params():
            g.fill(0)

    # -- computation ----------------------------------------------------------------
    def forward(self, x: np.ndarray, mask: np.ndarray | None = None, training: bool = False) -> np.ndarray:
        raise NotImplementedError

    def backward(self, dy: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def output_mask(self, mask: np.ndarray | None) -> np.ndarray | None:
        """The mask that goes with this layer's output (None once the time axis is gone)."""
        return mask if self.keeps_time else None

    # -- serialisation --------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        return {"name": self.name}

    def sublayers(self) -> list["Layer"]:
        """Layers held inside this one (Bidirectional); their params are reported through it."""
        return []

    def named_params(self, prefix: str = "") -> list[tuple[str, np.ndarray, np.ndarray]]:
        """(name, param, grad) triples of this layer and its sublayers, in a fixed order."""
        out = [(prefix + k, self.params[k], self.grads[k]) for k in self.params]
        for i, sub in enumerate(self.sublayers()):
            out.extend(sub.named_params(f"{prefix}{getattr(sub, 'role', i)}."))
        return out
    #: the arrays held in ``params`` / ``grads``, the same at every call: ``fit`` lists them once per
    #: epoch; an override lacks this mark, and ``fit`` then asks it again at every update
    named_params.same_arrays_every_call = True

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if k != "name" and v is not None)
        return f"{type(self).__name__}({args})"
