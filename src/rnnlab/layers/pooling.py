"""``TimePool``: one vector per sequence from all its valid steps — the mean or the maximum over time.

A many-to-one network either reads its verdict from the last step (``return_sequences=False``)
or pools the states of every step (B batch, T steps, F features, ``m[b, t]`` = 1 on the valid
steps, ``n_b = Σ_t m[b, t]``)::

    mean:  y[b] = (1/n_b) Σ_t m[b, t] · x[b, t]          dx[b, t] = m[b, t] · dy[b] / n_b
    max:   y[b, f] = max_{t: m[b, t] = 1} x[b, t, f]     dx[b, t, f] = dy[b, f] if t = t*[b, f] else 0

``t*[b, f]`` is the first valid step holding the maximum (the same step PyTorch's
``masked_fill(~m, -inf).max(dim=1)`` picks), so max pooling passes each feature's gradient to
one step only. Padded steps never contribute, whatever they hold. The layer has no parameters.

| name    | shape          | note                                              |
|---------|----------------|---------------------------------------------------|
| x       | (B, T, F)      | e.g. a recurrent layer's ``return_sequences=True`` output |
| mask    | (B, T) bool    | right padding; None: every step is valid          |
| output  | (B, F)         | the time axis is gone, and with it the mask       |
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import InputError
from ..registry import register_layer
from ..validation import check_mask
from .base import Layer

POOL_MODES = ("mean", "max")


@register_layer
class TimePool(Layer):
    """Pool over the valid time steps. Args: ``mode``: ``"mean"`` or ``"max"``."""

    keeps_time = False

    def __init__(self, mode: str = "mean", *, name: str | None = None) -> None:
        super().__init__(name)
        if mode not in POOL_MODES:
            raise InputError(f"TimePool mode: expected one of {POOL_MODES}, got {mode!r}")
        self.mode = mode
        self._cache: tuple[Any, ...] | None = None

    def forward(self, x: np.ndarray, mask: np.ndarray | None = None, training: bool = False) -> np.ndarray:
        x = np.asarray(x)
        if x.ndim != 3 or (self.input_size is not None and x.shape[2] != self.input_size):
            raise InputError(f"TimePool: expected input of shape (batch, time, {self.input_size}), got {x.shape}")
        x = np.asarray(x, dtype=self.dtype)
        batch, steps, _ = x.shape
        m = check_mask(mask, batch, steps)
        if self.mode == "mean":
            if m is None:
                w = np.full((batch, steps), 1.0 / steps, dtype=self.dtype)
            else:
                w = (m / m.sum(axis=1, keepdims=True)).astype(self.dtype)   # m[b, t] / n_b
            self._cache = ("mean", w, x.shape)
            return np.einsum("bt,btf->bf", w, x)
        xm = x if m is None else np.where(m[:, :, None], x, -np.inf)
        arg = xm.argmax(axis=1)                                           # t*[b, f], first maximum
        self._cache = ("max", arg, x.shape)
        return np.take_along_axis(x, arg[:, None, :], axis=1)[:, 0, :]

    def backward(self, dy: np.ndarray) -> np.ndarray:
        if self._cache is None:
            raise RuntimeError("backward() called before forward()")
        mode, saved, shape = self._cache
        dy = np.asarray(dy, dtype=self.dtype)
        if dy.shape != (shape[0], shape[2]):
            raise InputError(f"TimePool backward: expected dy of shape {(shape[0], shape[2])}, got {dy.shape}")
        if mode == "mean":
            return saved[:, :, None] * dy[:, None, :]                      # m[b, t] · dy[b] / n_b
        dx = np.zeros(shape, dtype=self.dtype)
        np.put_along_axis(dx, saved[:, None, :], dy[:, None, :], axis=1)   # all to step t*[b, f]
        return dx

    def get_config(self) -> dict[str, Any]:
        return {"mode": self.mode, "name": self.name}
