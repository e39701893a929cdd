"""Variable-length sequences: right padding with a mask, and length-bucketed batches.

Convention (shared with the layers, see :func:`rnnlab.validation.check_mask`): a batch is
``(B, T, F)`` and its mask ``(B, T)`` bool is True on the valid steps, which form a prefix of
each row (right padding).
"""
from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from ..errors import InputError
from ..validation import check_mask


def pad_sequences(seqs: Sequence[Any], maxlen: int | None = None, dtype: Any = np.float32,
                  value: float = 0.0, truncating: str = "post") -> tuple[np.ndarray, np.ndarray]:
    """Right-pad sequences ``(T_i, F)`` into ``x (B, T, F)`` and a prefix mask ``(B, T)``.

    ``T = maxlen`` if given, else the longest ``T_i``. Longer sequences are cut:
    ``truncating='post'`` keeps the first ``maxlen`` steps, ``'pre'`` the last ``maxlen``.
    1-D sequences (e.g. token ids) give ``x (B, T)``. All sequences need the same trailing
    shape and at least one step. Padded positions hold ``value``.
    """
    if truncating not in ("pre", "post"):
        raise InputError(f"truncating: expected 'pre' or 'post', got {truncating!r}")
    if isinstance(seqs, np.ndarray) and seqs.dtype != object:
        seqs = list(seqs)
    if not isinstance(seqs, (list, tuple)) or len(seqs) == 0:
        size = len(seqs) if hasattr(seqs, "__len__") else "?"
        raise InputError(f"seqs: expected a non-empty list of (T_i, F) arrays, got "
                         f"{type(seqs).__name__} of length {size}")
    if maxlen is not None and (isinstance(maxlen, bool) or not isinstance(maxlen, (int, np.integer))
                               or maxlen < 1):
        raise InputError(f"maxlen: expected a positive int or None, got {maxlen!r}")
    arrays = []
    for i, s in enumerate(seqs):
        a = np.asarray(s)
        if a.dtype == object or not (np.issubdtype(a.dtype, np.number) or a.dtype == bool):
            raise InputError(f"seqs[{i}]: expected a numeric array, got dtype {a.dtype}")
        if a.ndim == 0 or a.shape[0] == 0:
            raise InputError(f"seqs[{i}]: expected at least one time step, got shape {a.shape}")
        if arrays and a.shape[1:] != arrays[0].shape[1:]:
            raise InputError(f"seqs[{i}]: expected trailing shape {arrays[0].shape[1:]} like "
                             f"seqs[0], got shape {a.shape}")
        arrays.append(a)
    lengths = np.array([a.shape[0] for a in arrays], dtype=np.int64)
    steps = int(maxlen) if maxlen is not None else int(lengths.max())
    x = np.full((len(arrays), steps) + arrays[0].shape[1:], value, dtype=dtype)
    for i, a in enumerate(arrays):
        part = a[:steps] if truncating == "post" else a[-steps:]
        x[i, : part.shape[0]] = part
    mask = np.arange(steps)[None, :] < np.minimum(lengths, steps)[:, None]
    return x, mask


def lengths_from_mask(mask: Any) -> np.ndarray:
    """The number of valid steps per row of a ``(B, T)`` right-padding mask (int64 ``(B,)``)."""
    m = np.asarray(mask)
    if m.ndim != 2:
        raise InputError(f"mask: expected shape (batch, time), got {m.shape}")
    m = check_mask(m, m.shape[0], m.shape[1])
    return m.sum(axis=1).astype(np.int64)


def _check_rng(rng: Any) -> np.random.Generator:
    if not isinstance(rng, np.random.Generator):
        raise InputError(f"rng: expected a np.random.Generator (e.g. np.random.default_rng(0)), "
                         f"got {type(rng).__name__}")
    return rng


def bucket_batches(lengths: Any, batch_size: int, rng: np.random.Generator,
                   n_buckets: int | None = None) -> list[np.ndarray]:
    """Group sequence indices into batches of similar length.

    The indices are sorted by length (ties broken at random) and cut into ``n_buckets``
    contiguous buckets of near-equal size (default ``min(10, ceil(n / batch_size))``). Each bucket
    is shuffled and cut into batches of ``batch_size`` (its last batch may be smaller); then the
    order of all batches is shuffled. Every index appears exactly once. The result depends only
    on the inputs and the state of ``rng``.
    """
    rng = _check_rng(rng)
    lengths = np.asarray(lengths)
    if lengths.ndim != 1 or lengths.size == 0 or not np.issubdtype(lengths.dtype, np.integer):
        raise InputError(f"lengths: expected a non-empty 1-D int array, got shape {lengths.shape}, "
                         f"dtype {lengths.dtype}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise InputError(f"batch_size: expected a positive int, got {batch_size!r}")
    n = lengths.size
    if n_buckets is None:
        n_buckets = min(10, math.ceil(n / batch_size))
    if isinstance(n_buckets, bool) or not isinstance(n_buckets, (int, np.integer)) or n_buckets < 1:
        raise InputError(f"n_buckets: expected a positive int or None, got {n_buckets!r}")
    perm = rng.permutation(n)
    order = perm[np.argsort(lengths[perm], kind="stable")]
    batches: list[np.ndarray] = []
    for bucket in np.array_split(order, min(int(n_buckets), n)):
        bucket = rng.permutation(bucket)
        batches.extend(bucket[i:i + batch_size] for i in range(0, bucket.size, batch_size))
    return [batches[k] for k in rng.permutation(len(batches))]
