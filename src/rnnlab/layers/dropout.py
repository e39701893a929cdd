"""``Dropout``: inverted dropout, with one mask per sequence shared by all time steps.

Training, keep probability ``q = 1 - rate``::

    m ~ Bernoulli(q) / q            (so E[m] = 1 and the expected output equals the input)
    y = x ⊙ m,        dx = dy ⊙ m

Inference (``training=False``) and ``rate = 0``: ``y = x``.

With ``per_sequence=True`` and a ``(B, T, F)`` input, ``m`` has shape ``(B, 1, F)``: each sequence
drops the same features at every step (variational dropout, Gal & Ghahramani 2016, "A
Theoretically Grounded Application of Dropout in Recurrent Neural Networks"). With
``per_sequence=False`` every element draws its own mask.

| input      | per_sequence=True mask | per_sequence=False mask |
|------------|------------------------|-------------------------|
| (B, T, F)  | (B, 1, F)              | (B, T, F)               |
| (B, F)     | (B, F)                 | (B, F)                  |

The layer holds its own ``np.random.Generator`` (from ``seed``): the same seed gives the same
sequence of masks. Padded steps stay zero (they are multiplied, never shifted).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..registry import register_layer
from ..errors import InputError
from .base import Layer


@register_layer
class Dropout(Layer):
    """Inverted dropout. Args: ``rate`` in [0, 1): the probability to drop a unit;
    ``per_sequence``: share the mask across time steps; ``seed``: int, Generator or None."""

    keeps_time = True

    def __init__(self, rate: float, *, per_sequence: bool = True, seed: int | np.random.Generator | None = None,
                 name: str | None = None) -> None:
        super().__init__(name)
        try:
            rate = float(rate)
        except (TypeError, ValueError):
            raise InputError(f"Dropout rate: expected a number in [0, 1), got {rate!r}") from None
        if not 0.0 <= rate < 1.0:
            raise InputError(f"Dropout rate: expected a number in [0, 1), got {rate}")
        self.rate = rate
        self.per_sequence = bool(per_sequence)
        self.seed = seed if isinstance(seed, (int, np.integer)) or seed is None else None
        self.rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        self._own_rng = not isinstance(seed, np.random.Generator)
        #: The scaled mask ``m`` of the last training forward (None when it was the identity).
        self.mask: np.ndarray | None = None

    def build(self, input_size: int, rng: np.random.Generator, dtype=np.float32) -> int:
        """Without a seed of its own the layer's generator is spawned from the model's: same model
        seed, same dropout masks (spawning does not advance ``rng``, so the other layers'
        initial weights are unchanged)."""
        if self.seed is None and self._own_rng:
            self.rng = np.random.default_rng(rng.bit_generator.seed_seq.spawn(1)[0])
        return super().build(input_size, rng, dtype)

    def forward(self, x: np.ndarray, mask: np.ndarray | None = None, training: bool = False) -> np.ndarray:
        x = np.asarray(x)
        if x.ndim not in (2, 3):
            raise InputError(f"Dropout: expected input of shape (batch, features) or (batch, time, features), got {x.shape}")
        if not training or self.rate == 0.0:
            self.mask = None
            return x
        shape = (x.shape[0], 1, x.shape[2]) if (self.per_sequence and x.ndim == 3) else x.shape
        keep = 1.0 - self.rate
        self.mask = ((self.rng.random(shape) < keep) / keep).astype(x.dtype)
        return x * self.mask

    def backward(self, dy: np.ndarray) -> np.ndarray:
        dy = np.asarray(dy)
        return dy if self.mask is None else dy * self.mask

    def get_config(self) -> dict[str, Any]:
        return {"rate": self.rate, "per_sequence": self.per_sequence,
                "seed": None if self.seed is None else int(self.seed), "name": self.name}
