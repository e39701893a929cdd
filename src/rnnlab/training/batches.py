"""Mini-batches of nested data: an input is an array or a tuple of arrays (multi-input models),
a mask likewise (``None`` entries allowed); every array is sliced along its first axis.

>>> import numpy as np
>>> x = (np.arange(12).reshape(3, 4), np.ones((3, 2)))
>>> [a.shape for a in take(x, np.array([0, 2]))]
[(2, 4), (2, 2)]
>>> xb, mb = trim_padding(np.zeros((2, 5, 1)), np.array([[1, 1, 0, 0, 0], [1, 1, 1, 0, 0]], bool))
>>> xb.shape, mb.shape
((2, 3, 1), (2, 3))
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..data.padding import bucket_batches


def take(data: Any, idx: np.ndarray) -> Any:
    """``data[idx]`` for an array, element-wise for a tuple, ``None`` stays ``None``."""
    if data is None:
        return None
    if isinstance(data, tuple):
        return tuple(take(d, idx) for d in data)
    return data[idx]


def num_samples(x: Any) -> int:
    return len(x[0]) if isinstance(x, tuple) else len(x)


def first_mask(mask: Any) -> np.ndarray | None:
    """The mask of the first masked input (for bucketing by length)."""
    if isinstance(mask, tuple):
        return next((m for m in mask if m is not None), None)
    return mask


def trim_padding(x: Any, mask: Any) -> tuple[Any, Any]:
    """Cut the padded steps no sequence of this batch uses from each masked input and its mask."""
    if mask is None:
        return x, mask
    if isinstance(x, tuple):
        masks = mask if isinstance(mask, tuple) else (mask,) + (None,) * (len(x) - 1)
        pairs = [trim_padding(xi, mi) for xi, mi in zip(x, masks)]
        return tuple(p[0] for p in pairs), tuple(p[1] for p in pairs)
    tmax = int(mask.sum(axis=1).max())
    return x[:, :tmax], mask[:, :tmax]


def trim_target(y: np.ndarray, logits: np.ndarray) -> np.ndarray:
    """Per-step targets follow the (trimmed) time axis of the outputs."""
    if logits.ndim == 3 and y.ndim >= 2 and y.shape[1] > logits.shape[1]:
        return y[:, :logits.shape[1]]
    return y


def plan(n: int, batch_size: int, shuffle: bool, rng: np.random.Generator,
         lengths: np.ndarray | None = None, bucket: bool = False) -> list[np.ndarray]:
    """The epoch's batches as index arrays: in order, shuffled, or bucketed by length."""
    if bucket and lengths is not None:
        return bucket_batches(lengths, batch_size, rng)
    order = rng.permutation(n) if shuffle else np.arange(n)
    return [order[i:i + batch_size] for i in range(0, n, batch_size)]
