"""``Embedding``: a lookup table from integer ids to dense vectors (the lecture's one-hot ``x_t·U``
without building the one-hot vector).

    y[b, t] = weight[ids[b, t]]                     (= onehot(ids[b, t])·weight)
    d weight[v] = Σ_{(b, t): ids[b, t] = v} dy[b, t]   (np.add.at: repeated ids accumulate)

| name    | shape          | note                                     |
|---------|----------------|------------------------------------------|
| ids     | (B, T) int     | each in [0, vocab_size - 1]; (B,) works too |
| weight  | (vocab, dim)   | PyTorch ``nn.Embedding.weight`` layout    |
| output  | (B, T, dim)    | ids.shape + (dim,)                        |

The input is discrete, so :meth:`backward` returns None (there is no input gradient). The
``input_size`` given to :meth:`build` is ignored (the model passes whatever it has, e.g. 1 or
the vocabulary size); the output size is ``dim``. Float ids with integral values are accepted
(a model may hand them over as float arrays).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..registry import register_layer
from .. import init as initializers
from ..errors import InputError
from .base import Layer


def check_ids(ids: Any, vocab_size: int, layer: str) -> np.ndarray:
    """Integer ids ``(B, T)`` or ``(B,)`` in ``[0, vocab_size)`` (float arrays of integral values and a
    trailing axis of 1 accepted), as int64; anything else is an :class:`InputError` naming ``layer``."""
    ids = np.asarray(ids)
    if ids.ndim == 3 and ids.shape[-1] == 1:       # (B, T, 1) as a model may pass it
        ids = ids[..., 0]
    if ids.ndim not in (1, 2):
        raise InputError(f"{layer}: expected integer ids of shape (batch, time) or (batch,), got {ids.shape}")
    if not np.issubdtype(ids.dtype, np.integer):
        if not np.issubdtype(ids.dtype, np.floating) or not np.all(ids == np.round(ids)):
            raise InputError(f"{layer}: expected integer ids, got dtype {ids.dtype} with non-integral values")
        ids = ids.astype(np.int64)
    if ids.size and (ids.min() < 0 or ids.max() >= vocab_size):
        raise InputError(f"{layer}: ids must lie in [0, {vocab_size - 1}] (vocab_size={vocab_size}), "
                         f"got min {ids.min()}, max {ids.max()}")
    return ids


@register_layer
class Embedding(Layer):
    """Args: ``vocab_size`` ids ``0 … vocab_size-1``; ``dim`` vector size; ``init`` initializer
    name (default ``normal:1.0``, PyTorch's N(0, 1))."""

    keeps_time = True
    #: reads integer token ids (batch, time) instead of float features
    takes_ids = True

    def __init__(self, vocab_size: int, dim: int, *, init: str = "normal:1.0", name: str | None = None) -> None:
        super().__init__(name)
        if int(vocab_size) < 1 or int(dim) < 1:
            raise InputError(f"Embedding: vocab_size and dim must be positive integers, got {vocab_size}, {dim}")
        self.vocab_size, self.dim = int(vocab_size), int(dim)
        self.init = init
        initializers.get(init)
        self._ids: np.ndarray | None = None

    def build(self, input_size: int, rng: np.random.Generator, dtype=np.float32) -> int:
        """``input_size`` is irrelevant for a lookup table (kept for the contract); returns ``dim``."""
        super().build(input_size, rng, dtype)
        self.add_param("weight", initializers.get(self.init)(
            (self.vocab_size, self.dim), rng, self.dtype, fan_in=self.vocab_size, fan_out=self.dim, hidden=self.dim))
        self.output_size = self.dim
        return self.dim

    def forward(self, x: np.ndarray, mask: np.ndarray | None = None, training: bool = False) -> np.ndarray:
        ids = check_ids(x, self.vocab_size, "Embedding")
        self._ids = ids
        return self.params["weight"][ids]

    def backward(self, dy: np.ndarray) -> None:
        if self._ids is None:
            raise RuntimeError("backward() called before forward()")
        dy = np.asarray(dy, dtype=self.dtype).reshape(-1, self.dim)
        ids = self._ids.reshape(-1)
        if ids.size * 4 < self.vocab_size:             # few ids: the scatter-add touches little
            np.add.at(self.grads["weight"], ids, dy)
        else:                                          # sort once, sum each id's rows in one pass
            order = np.argsort(ids, kind="stable")
            sorted_ids = ids[order]
            starts = np.flatnonzero(np.r_[True, sorted_ids[1:] != sorted_ids[:-1]])
            self.grads["weight"][sorted_ids[starts]] += np.add.reduceat(dy[order], starts, axis=0)
        return None

    def get_config(self) -> dict[str, Any]:
        return {"vocab_size": self.vocab_size, "dim": self.dim, "init": self.init, "name": self.name}
