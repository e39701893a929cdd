"""Generated sequence tasks that need no data files.

Every random task takes an explicit ``rng`` (a :class:`numpy.random.Generator`); none touches the
global NumPy random state, so ``np.random.default_rng(seed)`` makes a data set reproducible.
Inputs are float arrays of ``dtype`` (default float32); layouts are batch-first ``(n, T, F)``.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import InputError

_MAX_BITS = 62


def _check_rng(rng: Any) -> np.random.Generator:
    if not isinstance(rng, np.random.Generator):
        raise InputError(f"rng: expected a np.random.Generator (e.g. np.random.default_rng(0)), "
                         f"got {type(rng).__name__}")
    return rng


def _check_int(value: Any, name: str, low: int, high: int | None = None) -> int:
    ok = not isinstance(value, bool) and isinstance(value, (int, np.integer))
    if not ok or value < low or (high is not None and value > high):
        rng_txt = f">= {low}" if high is None else f"in [{low}, {high}]"
        raise InputError(f"{name}: expected an int {rng_txt}, got {value!r}")
    return int(value)


# --- lecture case 1 -------------------------------------------------------------------------

def echo_signal(n: int, steps: int = 2, *, rng: np.random.Generator,
                dtype: Any = np.float32) -> tuple[np.ndarray, np.ndarray]:
    """Echo: inputs uniform in [0, 1); the target is the input one step before the last.

    Returns ``x (n, steps, 1)`` and ``y (n, 1) = x[:, -2, :]``.
    """
    n = _check_int(n, "n", 1)
    steps = _check_int(steps, "steps", 2)
    x = _check_rng(rng).random((n, steps, 1)).astype(dtype)
    return x, x[:, -2, :].copy()


# --- lecture case 2: binary subtraction -------------------------------------------------------

def to_bits(values: Any, bits: int) -> np.ndarray:
    """Binary digits of non-negative ints, **least-significant bit first**: shape ``(..., bits)``.

    ``to_bits(6, 4) -> [0, 1, 1, 0]``. Values must lie in ``[0, 2**bits)``.
    """
    bits = _check_int(bits, "bits", 1, _MAX_BITS)
    v = np.asarray(values)
    if not np.issubdtype(v.dtype, np.integer):
        raise InputError(f"to_bits: expected integers, got dtype {v.dtype}")
    v = v.astype(np.int64)
    if v.size and (v.min() < 0 or v.max() >= 2 ** bits):
        raise InputError(f"to_bits: values must lie in [0, 2**{bits}) = [0, {2 ** bits}), got "
                         f"range [{v.min()}, {v.max()}]")
    return ((v[..., None] >> np.arange(bits, dtype=np.int64)) & 1).astype(np.int64)


def from_bits(bit_array: Any) -> np.ndarray:
    """Inverse of :func:`to_bits`: ``(..., bits)`` 0/1 values, least-significant first -> ints.

    Float inputs (e.g. network outputs) are rounded at 0.5 first.
    """
    b = np.asarray(bit_array)
    if b.ndim == 0 or b.shape[-1] > _MAX_BITS or not (np.issubdtype(b.dtype, np.number)
                                                      or b.dtype == bool):
        raise InputError(f"from_bits: expected a numeric (..., bits) array with bits <= {_MAX_BITS}, "
                         f"got shape {b.shape}, dtype {b.dtype}")
    b = (b >= 0.5).astype(np.int64)
    return (b << np.arange(b.shape[-1], dtype=np.int64)).sum(axis=-1)


def all_subtraction_pairs(bits: int) -> np.ndarray:
    """Every ``(a, b)`` with ``0 <= b <= a < 2**bits``, ordered by ``a`` then ``b``: ``(M, 2)``.

    ``M = 2**bits * (2**bits + 1) / 2``; ``bits`` is limited to 12 (8.4 million pairs).
    """
    bits = _check_int(bits, "bits", 1, 12)
    a, b = np.tril_indices(2 ** bits)
    return np.stack([a, b], axis=1).astype(np.int64)


def binary_subtraction(pairs: Any = None, bits: int | None = None, *, n: int | None = None,
                       rng: np.random.Generator | None = None,
                       dtype: Any = np.float32) -> tuple[np.ndarray, np.ndarray]:
    """Binary subtraction ``a - b`` (``a >= b``) fed bit by bit.

    The pairs are ``pairs`` (an ``(n, 2)`` int array) if given; else ``n`` random pairs drawn with
    ``rng`` (``b`` uniform in ``[0, a]``); else all pairs (:func:`all_subtraction_pairs`).
    ``bits`` defaults to 8; a lone int first argument is taken as ``bits``
    (``binary_subtraction(4)`` is every 4-bit pair).
    Time step ``t`` holds bit ``t`` counted from the **least-significant** bit, so the borrow
    travels forward in time: ``x[:, t] = (bit t of a, bit t of b)`` ``(n, bits, 2)`` and
    ``y[:, t, 0] = bit t of a - b`` ``(n, bits, 1)``. Decode with ``from_bits(y[..., 0])``.
    """
    if isinstance(pairs, (int, np.integer)) and not isinstance(pairs, bool):
        if bits is not None:
            raise InputError(f"binary_subtraction: got bits twice ({pairs!r} and bits={bits!r})")
        pairs, bits = None, int(pairs)
    bits = _check_int(8 if bits is None else bits, "bits", 1, _MAX_BITS)
    if pairs is None and n is None:
        p = all_subtraction_pairs(bits)
    elif pairs is None:
        n = _check_int(n, "n", 1)
        gen = _check_rng(rng)
        a = gen.integers(0, 2 ** bits, size=n, dtype=np.int64)
        b = gen.integers(0, a + 1, dtype=np.int64)
        p = np.stack([a, b], axis=1)
    else:
        if n is not None:
            raise InputError("binary_subtraction: pass either pairs or n, not both")
        p = np.asarray(pairs)
        if p.ndim != 2 or p.shape[1] != 2 or p.shape[0] == 0 or not np.issubdtype(p.dtype, np.integer):
            raise InputError(f"pairs: expected a non-empty (n, 2) int array of (a, b), got shape "
                             f"{p.shape}, dtype {p.dtype}")
        if np.any(p[:, 0] < p[:, 1]):
            bad = int(np.flatnonzero(p[:, 0] < p[:, 1])[0])
            raise InputError(f"pairs: expected a >= b (no negative results), got pair {bad} = "
                             f"{p[bad].tolist()}")
    x = to_bits(p, bits).transpose(0, 2, 1).astype(dtype)  # (n, 2, bits) -> (n, bits, 2)
    y = to_bits(p[:, 0] - p[:, 1], bits)[..., None].astype(dtype)
    return x, y


# --- long-range memory tasks -----------------------------------------------------------------

def adding_problem(n: int, steps: int, rng: np.random.Generator,
                   dtype: Any = np.float32) -> tuple[np.ndarray, np.ndarray]:
    """The adding problem (Hochreiter & Schmidhuber 1997).

    ``x (n, steps, 2)``: channel 0 uniform in [0, 1); channel 1 is 1 at exactly two steps, one
    in the first half ``[0, steps//2)`` and one in the second half, 0 elsewhere.
    ``y (n, 1)`` is the sum of the two marked values (a constant guess of 1 scores MSE ~1/6).
    """
    n = _check_int(n, "n", 1)
    steps = _check_int(steps, "steps", 2)
    gen = _check_rng(rng)
    half = steps // 2
    x = np.zeros((n, steps, 2), dtype=np.float64)
    x[..., 0] = gen.random((n, steps))
    first = gen.integers(0, half, size=n)
    second = gen.integers(half, steps, size=n)
    rows = np.arange(n)
    x[rows, first, 1] = 1.0
    x[rows, second, 1] = 1.0
    y = (x[rows, first, 0] + x[rows, second, 0])[:, None]
    return x.astype(dtype), y.astype(dtype)


def first_symbol_task(n: int, steps: int, n_symbols: int, rng: np.random.Generator,
                      dtype: Any = np.float32) -> tuple[np.ndarray, np.ndarray]:
    """Remember the first symbol.

    ``x (n, steps, n_symbols + 1)`` one-hot: step 0 holds a symbol drawn uniformly from
    ``0..n_symbols-1``; steps 1.. hold distractors drawn uniformly from all ``n_symbols + 1``
    symbols (index ``n_symbols`` is a noise symbol that never is the answer). ``y (n,)`` int64
    is the first symbol. Chance accuracy is ``1 / n_symbols``.
    """
    n = _check_int(n, "n", 1)
    steps = _check_int(steps, "steps", 1)
    n_symbols = _check_int(n_symbols, "n_symbols", 2)
    gen = _check_rng(rng)
    symbols = gen.integers(0, n_symbols + 1, size=(n, steps))
    y = gen.integers(0, n_symbols, size=n).astype(np.int64)
    symbols[:, 0] = y
    x = np.eye(n_symbols + 1, dtype=dtype)[symbols]
    return x, y
