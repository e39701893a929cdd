"""Input checks shared by layers, losses and the model: fail early, name what was expected."""
from __future__ import annotations

from typing import Any

import numpy as np

from .errors import InputError

FLOAT_DTYPES = (np.float32, np.float64)


def as_float_array(x: Any, name: str, dtype: np.dtype | type = np.float32) -> np.ndarray:
    """Return ``x`` as a C-contiguous float array of ``dtype``; reject non-numeric or non-finite data."""
    try:
        arr = np.asarray(x)
    except Exception as exc:  # ragged lists and the like
        raise InputError(f"{name}: could not turn the input into an array ({exc}); "
                         "pad variable-length sequences with rnnlab.data.pad_sequences") from None
    if arr.dtype == object:
        raise InputError(f"{name}: expected a numeric array, got dtype=object "
                         "(ragged sequences? pad them with rnnlab.data.pad_sequences)")
    if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise InputError(f"{name}: expected a numeric array, got dtype={arr.dtype}")
    if arr.size == 0:
        raise InputError(f"{name}: the array is empty (shape {arr.shape})")
    arr = np.ascontiguousarray(arr, dtype=dtype)
    if not np.all(np.isfinite(arr)):
        bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
        raise InputError(f"{name}: contains {bad} NaN or infinite value(s); clean or impute the data first")
    return arr


def check_rank(arr: np.ndarray, ranks: tuple[int, ...], name: str, layout: str) -> None:
    if arr.ndim not in ranks:
        raise InputError(f"{name}: expected an array of rank {' or '.join(map(str, ranks))} "
                         f"{layout}, got shape {arr.shape}")


def check_mask(mask: Any, batch: int, steps: int, name: str = "mask") -> np.ndarray | None:
    """A mask is ``(batch, time)`` bool, True on valid steps, each row a prefix (right padding)."""
    if mask is None:
        return None
    m = np.asarray(mask)
    if m.shape != (batch, steps):
        raise InputError(f"{name}: expected shape (batch, time) = ({batch}, {steps}), got {m.shape}")
    m = m.astype(bool, copy=False)
    lengths = m.sum(axis=1)
    if np.any(lengths == 0):
        raise InputError(f"{name}: every sequence needs at least one valid step; "
                         f"rows {np.flatnonzero(lengths == 0)[:5].tolist()} have none")
    prefix = np.arange(steps)[None, :] < lengths[:, None]
    if not np.array_equal(prefix, m):
        raise InputError(f"{name}: each row must be True on a prefix of the steps and False after "
                         "(right padding); use rnnlab.data.pad_sequences to build it")
    return m


def lengths_to_mask(lengths: Any, steps: int) -> np.ndarray:
    lengths = np.asarray(lengths)
    if lengths.ndim != 1 or not np.issubdtype(lengths.dtype, np.integer):
        raise InputError(f"lengths: expected a 1-D integer array, got shape {lengths.shape}, dtype {lengths.dtype}")
    if np.any(lengths < 1) or np.any(lengths > steps):
        raise InputError(f"lengths: each length must lie in [1, {steps}], got min {lengths.min()}, max {lengths.max()}")
    return np.arange(steps)[None, :] < lengths[:, None]


def check_flag(value: Any, name: str) -> bool:
    """A yes/no option: ``True``/``False`` (NumPy booleans too) — not a string, number or None,
    which ``bool()`` would quietly turn into something (``bool("no")`` is True)."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise InputError(f"{name}: expected True or False, got {value!r}")
