"""``OneHot``: token ids as one-hot vectors — the lecture's input ``x_t`` exactly as written.

    y[b, t] = e_{ids[b, t]}          (a row of the identity matrix, length vocab_size)

so that the next layer's ``x_t·U`` selects row ``ids[b, t]`` of ``U``. It has no parameters;
:class:`~rnnlab.layers.embedding.Embedding` computes the same product without the vector (and
learns a smaller one in front of ``U``).

| name    | shape            | note                                  |
|---------|------------------|---------------------------------------|
| ids     | (B, T) int       | each in [0, vocab_size - 1]           |
| output  | (B, T, vocab)    | the model's dtype                     |
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import InputError
from ..registry import register_layer
from .base import Layer
from .embedding import check_ids


@register_layer
class OneHot(Layer):
    """Args: ``vocab_size``: ids ``0 … vocab_size-1``; the output has that many features."""

    keeps_time = True
    takes_ids = True

    def __init__(self, vocab_size: int, *, name: str | None = None) -> None:
        super().__init__(name)
        if int(vocab_size) < 1:
            raise InputError(f"OneHot: vocab_size must be a positive integer, got {vocab_size}")
        self.vocab_size = int(vocab_size)

    def build(self, input_size: int, rng: np.random.Generator, dtype=np.float32) -> int:
        super().build(input_size, rng, dtype)
        self.output_size = self.vocab_size
        return self.vocab_size

    def forward(self, x: np.ndarray, mask: np.ndarray | None = None, training: bool = False) -> np.ndarray:
        ids = check_ids(x, self.vocab_size, "OneHot")
        out = np.zeros(ids.shape + (self.vocab_size,), dtype=self.dtype)
        np.put_along_axis(out, ids[..., None], 1.0, axis=-1)
        return out

    def backward(self, dy: np.ndarray) -> None:
        return None                                   # ids are discrete: no input gradient

    def get_config(self) -> dict[str, Any]:
        return {"vocab_size": self.vocab_size, "name": self.name}
