"""``inference_mode``: a block in which layers keep nothing for backward (``predict``, decoding).

Recurrent layers then reuse one step's scratch for every step (it stays in the CPU cache) and
keep only their outputs; additive attention makes its (B, T, S, U) tanh in small chunks and
never whole. ``backward`` after a recurrent forward made inside the block raises.
"""
from __future__ import annotations

import contextlib
import contextvars

_STORE = contextvars.ContextVar("rnnlab_store_for_backward", default=True)


@contextlib.contextmanager
def inference_mode():
    """Inside the block recurrent layers run forward **without keeping anything for backward**.

    No per-step gates or states are stored: one step's scratch is reused for every step (it
    stays in the CPU cache) and only the outputs are kept. ``backward`` after such a forward
    raises. :meth:`rnnlab.Sequential.predict` and ``evaluate`` use it.
    """
    token = _STORE.set(False)
    try:
        yield
    finally:
        _STORE.reset(token)


def storing_for_backward() -> bool:
    """False inside :func:`inference_mode` (layers then keep nothing for backward)."""
    return _STORE.get()
