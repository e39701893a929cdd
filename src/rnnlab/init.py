"""Weight initializers, each a function ``(shape, rng, dtype, fan_in, fan_out) -> array``.

| name          | rule                                                         |
|---------------|--------------------------------------------------------------|
| ``uniform``   | U(-1/sqrt(H), 1/sqrt(H)), H = hidden size (PyTorch's RNN default) |
| ``xavier``    | Glorot uniform: U(-a, a), a = sqrt(6 / (fan_in + fan_out))   |
| ``orthogonal``| an orthogonal matrix per H×H gate block (Saxe et al. 2014)  |
| ``normal``    | N(0, 0.01^2) ... scale set with ``normal:<std>``             |
| ``zeros``     | all zeros                                                    |

Gate biases: :func:`chrono_init` (Tallec & Ollivier 2018) sets the gates a cell declares in
``Cell.chrono_gates`` (LSTM: forget and input gate; GRU: update gate).

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
    if len(shape) != 2:
        raise InputError(f"orthogonal: needs a matrix, got shape {tuple(shape)} (a diagonal recurrent "
                         "weight, e.g. IndRNN's, takes 'uniform', 'normal' or 'zeros')")
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
        try:
            std = float(arg)
        except ValueError:
            std = float("nan")
        if not (std > 0 and np.isfinite(std)):
            raise InputError(f"initializer {name!r}: expected a positive finite standard deviation after ':', "
                             f"e.g. 'normal:0.1', got {arg!r}")
        return lambda *a, **k: fn(*a, std=std, **k)
    return fn


def chrono_init(layer, steps: int, rng: np.random.Generator) -> None:
    """Chrono initialisation (Tallec & Ollivier 2018) of a recurrent layer's gate biases, in place.

    ``b ~ log U(1, max(T - 1, 2))`` per unit (T = ``steps``, the longest dependency to span), so
    a gate σ(b) = u/(1+u) keeps the old state with a characteristic memory of u steps, u spread
    over [1, T - 1]. Each gate the cell lists in ``chrono_gates`` gets ``sign · b`` in its block of
    ``bias_ih`` and 0 in its block of ``bias_hh``; other biases are unchanged. LSTM: forget gate
    ``b_f = b``, input gate ``b_i = -b``; GRU (PyTorch convention ``h' = (1 - z)·n + z·h``, z
    keeps the old state): ``b_z = b``. One draw of ``rng`` (H uniforms) for the whole layer.

    Raises:
        InputError: the layer's cell has no gates to initialise (SimpleRNN), it has no biases
            (``use_bias=False``), it is not built, or ``steps`` < 1.
    """
    cell = getattr(layer, "cell", None)
    gates = getattr(cell, "chrono_gates", None)
    if not gates:
        raise InputError(f"chrono_init: expected a recurrent layer with gates (LSTM, GRU), got "
                         f"{type(layer).__name__}; leave its biases at the layer's bias_init")
    if not layer.built:
        raise InputError("chrono_init: build the layer first (layer.build or a built model)")
    if "bias_ih" not in layer.params or "bias_hh" not in layer.params:
        raise InputError(f"chrono_init: {type(layer).__name__} has no biases; create it with use_bias=True")
    if int(steps) != steps or steps < 1:
        raise InputError(f"chrono_init: steps must be a positive integer (the dependency length), got {steps!r}")
    h = layer.hidden_size
    b = np.log(rng.uniform(1.0, max(int(steps) - 1, 2), size=h)).astype(layer.dtype)
    for gate, sign in gates.items():
        rows = cell.gate_slice(gate)
        layer.params["bias_ih"][rows] = b if sign > 0 else -b
        layer.params["bias_hh"][rows] = 0.0
