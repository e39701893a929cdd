"""Weight initializers, each a function ``(shape, rng, dtype, fan_in, fan_out) -> array``.

| name          | rule                                                         |
|---------------|--------------------------------------------------------------|
| ``uniform``   | U(-1/sqrt(H), 1/sqrt(H)), H = hidden size (PyTorch's RNN default) |
| ``xavier``    | Glorot uniform: U(-a, a), a = sqrt(6 / (fan_in + fan_out))   |
| ``orthogonal``| an orthogonal matrix per H×H gate block (Saxe et al. 2014)  |
| ``normal``    | N(0, 0.01^2) ... scale set with ``normal:<std>``             |
| ``zeros``     | all zeros                                                    |

Randomness always comes from the ``np.random.Generator`` passed in: same seed, same weights.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from .errors import InputError

Initializer = Callable[..., np.ndarray]


def uniform(shape, rng: np.random.Generator, dtype, fan_in: int, fan_out: int, hidden: int | None = None) -> np.ndarray:
    bound = 1.0 / np.sqrt(hidden if hidden else fan_out)
    return rng.uniform(-bound, bound, size=shape).astype(dtype)


def xavier(shape, rng, dtype, fan_in: int, fan_out: int, hidden: int | None = None) -> np.ndarray:
    bound = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-bound, bound, size=shape).astype(dtype)


def orthogonal(shape, rng, dtype, fan_in: int, fan_out: int, hidden: int | None = None) -> np.ndarray:
    """Orthogonal blocks of shape (hidden, cols) stacked along rows (one per fused gate)."""
    rows, cols = shape
    block = hidden or rows
    out = np.empty(shape, dtype=np.float64)
    for start in range(0, rows, block):
        a = rng.standard_normal((max(block, cols), min(block, cols)))
        q, r = np.linalg.qr(a)
        q *= np.sign(np.diag(r))
        q = q if block >= cols else q.T
        out[start:start + block] = q[:block, :cols]
    return out.astype(dtype)


def normal(shape, rng, dtype, fan_in: int, fan_out: int, hidden: int | None = None, std: float = 0.01) -> np.ndarray:
    return (rng.standard_normal(size=shape) * std).astype(dtype)


def zeros(shape, rng, dtype, fan_in: int, fan_out: int, hidden: int | None = None) -> np.ndarray:
    return np.zeros(shape, dtype=dtype)


_REGISTRY: dict[str, Initializer] = {
    "uniform": uniform, "xavier": xavier, "glorot": xavier,
    "orthogonal": orthogonal, "normal": normal, "zeros": zeros,
}


def get(name: str) -> Initializer:
    """Look an initializer up by name; ``normal:0.1`` sets the standard deviation."""
    base, _, arg = name.partition(":")
    if base not in _REGISTRY:
        raise InputError(f"unknown initializer {name!r}; expected one of {sorted(_REGISTRY)}")
    fn = _REGISTRY[base]
    if arg:
        std = float(arg)
        return lambda *a, **k: fn(*a, std=std, **k)
    return fn
