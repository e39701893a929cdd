"""``Dense``: the lecture's output layer ``z_t = s_t·V + b_v``, applied at every step or once.

| parameter | shape       | lecture |
|-----------|-------------|---------|
| weight    | (out, in)   | Vᵀ      |
| bias      | (out,)      | b_v     |

Input ``(B, in)`` or ``(B, T, in)``; output ``(B, out)`` or ``(B, T, out)``. The output function
(identity, logistic, softmax) lives in the loss, fused with it for numerical stability.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..registry import register_layer
from .. import init as initializers
from ..errors import InputError
from .base import Layer


@register_layer
class Dense(Layer):
    def __init__(self, units: int, *, use_bias: bool = True, kernel_init: str = "uniform",
                 bias_init: str = "uniform", name: str | None = None) -> None:
        super().__init__(name)
        if int(units) < 1:
            raise InputError(f"Dense units: expected a positive integer, got {units}")
        self.units = int(units)
        self.use_bias = bool(use_bias)
        self.kernel_init, self.bias_init = kernel_init, bias_init
        initializers.get(kernel_init); initializers.get(bias_init)
        self._x: np.ndarray | None = None

    def build(self, input_size: int, rng: np.random.Generator, dtype=np.float32) -> int:
        super().build(input_size, rng, dtype)
        # PyTorch's nn.Linear default: U(-1/sqrt(in), 1/sqrt(in)) for weight and bias
        self.add_param("weight", initializers.get(self.kernel_init)(
            (self.units, input_size), rng, self.dtype, fan_in=input_size, fan_out=self.units, hidden=input_size))
        if self.use_bias:
            self.add_param("bias", initializers.get(self.bias_init)(
                (self.units,), rng, self.dtype, fan_in=input_size, fan_out=self.units, hidden=input_size))
        self.output_size = self.units
        return self.units

    def forward(self, x: np.ndarray, mask: np.ndarray | None = None, training: bool = False) -> np.ndarray:
        if x.ndim not in (2, 3) or x.shape[-1] != self.input_size:
            raise InputError(f"Dense: expected input of shape (batch, {self.input_size}) or "
                             f"(batch, time, {self.input_size}), got {x.shape}")
        x = np.asarray(x, dtype=self.dtype)
        self._x = x
        # one (B·T, in)×(in, units) product: a 3-D x @ Wᵀ would be B separate small products
        y = x.reshape(-1, self.input_size) @ self.params["weight"].T    # z = s·V
        if self.use_bias:
            y += self.params["bias"]                         #   + b_v
        return y.reshape(x.shape[:-1] + (self.units,))

    def backward(self, dy: np.ndarray) -> np.ndarray | None:
        """Adds dV (and db); returns dx, or None when ``needs_input_grad`` is False."""
        x = self._x
        x2 = x.reshape(-1, self.input_size)
        dy2 = np.asarray(dy, dtype=self.dtype).reshape(-1, self.units)
        self.grads["weight"] += dy2.T @ x2                   # dV = Σ sᵀ·δz
        if self.use_bias:
            self.grads["bias"] += np.add.reduce(dy2, axis=0)   # = dy2.sum(0), without its wrapper
        if not self.needs_input_grad:
            return None
        return (dy2 @ self.params["weight"]).reshape(x.shape)

    def get_config(self) -> dict[str, Any]:
        return {"units": self.units, "use_bias": self.use_bias, "kernel_init": self.kernel_init,
                "bias_init": self.bias_init, "name": self.name}
