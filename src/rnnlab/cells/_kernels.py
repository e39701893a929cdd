"""Optional compiled element-wise kernels (Numba) for the float32 fast path of the cells.

Each cell keeps its readable NumPy step — the lecture's formulas, one ufunc per line — as the
reference. Where Numba is installed (``pip install rnnlab[fast]``) the float32 step instead runs
the same formulas in one compiled loop per step and direction: one pass over the (B, G·H) gate
block instead of ten to twenty NumPy calls, each of which pays a call overhead and a trip
through memory. The recurrent matrix product stays in NumPy/BLAS. Same parameters, same
buffers, same results up to float32 rounding (``tests/test_fast_path.py`` checks both ways,
and against PyTorch).

``tanh`` here is a rational approximation (the minimax form Eigen uses for float32, clamped at
±7.905 where tanh rounds to ±1 in float32): maximum absolute error 3e-7, about 3 float32 ulps
near 1 — against 6e-8 for NumPy's ``np.tanh`` — but branch-free, so LLVM vectorises it (8 lanes
with AVX2). ``σ(x) = ½·tanh(x/2) + ½``. NaN propagates (the clamps keep it).

Selection: :func:`set_backend` (``"auto"`` | ``"numba"`` | ``"numpy"``) or the environment
variable ``RNNLAB_KERNELS``; ``"auto"`` (default) uses Numba when it imports. float64 always runs
the NumPy reference (gradient checks want exact ``tanh``). Kernels are compiled on first use and
cached on disk (``cache=True``).
"""
from __future__ import annotations

import os

import numpy as np

__all__ = ["set_backend", "get_backend", "backend", "enabled", "get"]

_backend = "auto"
_kernels = None          # dict of compiled kernels once loaded; False if Numba is unavailable


def set_backend(name: str) -> None:
    """``"auto"`` (Numba if installed), ``"numba"`` (error if missing) or ``"numpy"`` (reference)."""
    global _backend
    name = str(name).lower()
    if name not in ("auto", "numba", "numpy"):
        from ..errors import InputError
        raise InputError(f"kernel backend: expected 'auto', 'numba' or 'numpy', got {name!r}")
    if name == "numba" and not _load():
        from ..errors import InputError
        raise InputError("kernel backend 'numba': numba is not installed (pip install rnnlab[fast])")
    _backend = name


def get_backend() -> str:
    return _backend


def backend() -> str:
    """What float32 steps actually run: ``"numba"`` or ``"numpy"``."""
    return "numba" if _backend != "numpy" and _load() else "numpy"


def enabled(dtype) -> bool:
    """True when steps of this dtype run compiled kernels."""
    return dtype == np.float32 and _backend != "numpy" and bool(_load())


def get(name: str):
    return _kernels[name]


def _load():
    global _kernels
    if _kernels is None:
        try:
            _kernels = _compile()
        except ImportError:
            _kernels = False
    return _kernels


def _compile() -> dict:
    from . import _numba_kernels     # compiles lazily, cached on disk
    return _numba_kernels.KERNELS


if os.environ.get("RNNLAB_KERNELS"):
    set_backend(os.environ["RNNLAB_KERNELS"])
