"""The cell contract: one time step of a recurrent cell on a whole batch, forward and backward.

A cell holds no parameters of its own: the :class:`~rnnlab.layers.recurrent.Recurrent` runner
owns them (PyTorch's names ``weight_ih (G·H, in)``, ``weight_hh (G·H, H)``, ``bias_ih (G·H,)``,
``bias_hh (G·H,)``, with ``G`` fused gate blocks) and passes them in. The runner

1. computes the input projections of **all** steps in one matrix product,
   ``XP = X·weight_ihᵀ + bias_ih`` (time-major, ``(T, B, G·H)``);
2. loops over time calling :meth:`Cell.step_forward` with ``XP[t]`` and the previous states;
3. loops back over time calling :meth:`Cell.step_backward`, which writes ``dXP[t]`` (gradient
   with respect to the input projection) and ``dHP[t]`` (with respect to the recurrent
   projection ``h_{t-1}·weight_hhᵀ + bias_hh``) and returns the gradient of the previous states;
4. forms ``d weight_ih = dXPᵀ·X`` and ``d weight_hh`` (:meth:`Cell.weight_hh_grad`) with one
   matrix product each over all steps.

States are tuples, hidden state first: ``(h,)`` for the simple RNN and GRU, ``(h, c)`` for LSTM.
Per-step values that backward needs are kept in ``cache``, a dict of time-major arrays that
:meth:`Cell.allocate` creates once per sequence shape.
"""
from __future__ import annotations

from typing import Any

import numpy as np


class Cell:
    #: Number of fused gate blocks G: parameter matrices have G·H rows.
    gates: int = 1
    #: Names of the states, hidden state first.
    state_names: tuple[str, ...] = ("h",)
    #: True when dHP differs from dXP (GRU): the runner then keeps a separate buffer.
    separate_recurrent_grad: bool = False

    def __init__(self, hidden_size: int) -> None:
        self.hidden_size = int(hidden_size)

    def allocate(self, steps: int, batch: int, dtype: np.dtype) -> dict[str, np.ndarray]:
        """Time-major buffers for what backward needs (override to add the cell's own)."""
        return {}

    def step_forward(self, t: int, xp_t: np.ndarray, states: tuple[np.ndarray, ...],
                     params: dict[str, np.ndarray], cache: dict[str, Any]) -> tuple[np.ndarray, ...]:
        raise NotImplementedError

    def step_backward(self, t: int, d_states: tuple[np.ndarray, ...], prev_states: tuple[np.ndarray, ...],
                      params: dict[str, np.ndarray], cache: dict[str, Any],
                      dxp_t: np.ndarray, dhp_t: np.ndarray) -> tuple[np.ndarray, ...]:
        """Write dXP[t] into ``dxp_t`` (and dHP[t] into ``dhp_t`` if separate); return d(prev states)."""
        raise NotImplementedError

    def weight_hh_grad(self, dHP: np.ndarray, h_prev: np.ndarray, cache: dict[str, Any]) -> np.ndarray:
        """``d weight_hh = Σ_t dHP[t]ᵀ·h_{t-1}`` as one matrix product over all steps.

        ``dHP`` is ``(T, B, G·H)``, ``h_prev`` is ``(T, B, H)`` (the state entering each step).
        """
        gh = dHP.shape[-1]
        return dHP.reshape(-1, gh).T @ h_prev.reshape(-1, h_prev.shape[-1])

    def get_config(self) -> dict[str, Any]:
        return {}
