"""The cell contract: one time step of a recurrent cell on a whole batch, forward and backward.

A cell holds no parameters of its own: the :class:`~rnnlab.layers.recurrent.Recurrent` runner
owns them (PyTorch's names ``weight_ih (G·H, in)``, ``weight_hh (G·H, H)``, ``bias_ih (G·H,)``,
``bias_hh (G·H,)``, with ``G`` fused gate blocks) and passes them in. The runner

1. computes the input projections of **all** steps in one matrix product,
   ``XP = X·weight_ihᵀ + bias_ih`` (time-major, ``(T, B, G·H)``), and adds into it the blocks of
   ``bias_hh`` the cell allows (:meth:`Cell.folded_bias_hh`: all of them except GRU's n block
   with the reset applied after the product), once per sequence instead of once per step;
2. loops over time calling :meth:`Cell.step_forward` with ``XP[t]``, the previous states and
   ``out``, preallocated arrays (views of the runner's time-major state buffers) that the cell
   writes the new states into — nothing is copied after the step;
3. loops back over time calling :meth:`Cell.step_backward`, which writes ``dXP[t]`` (gradient
   with respect to the input projection) and ``dHP[t]`` (with respect to the recurrent
   projection ``h_{t-1}·weight_hhᵀ + bias_hh``) and returns the gradient of the previous states
   in arrays the cell owns (its cache); the runner may add to those arrays in place;
4. forms ``d weight_ih = dXPᵀ·X`` and ``d weight_hh`` (:meth:`Cell.weight_hh_grad`) with one
   matrix product each over all steps.

States are tuples, hidden state first: ``(h,)`` for the simple RNN and GRU, ``(h, c)`` for LSTM.
Per-step values that backward needs are kept in ``cache``, a dict of time-major arrays that
:meth:`Cell.allocate` creates once per sequence shape (the runner reuses it across batches of
the same shape); :meth:`Cell.bind_states` then receives the runner's state buffers, one
``(T + 1, B, H)`` array per state, ``[k][0]`` the initial state and ``[k][t + 1]`` state k after
step t, for a cell whose backward reads its own outputs. For inference (nothing kept for
backward) the runner allocates the cache for one step and passes ``t = 0`` at every step:
per-step buffers then serve as scratch.

float32 steps run compiled element-wise kernels (:mod:`rnnlab.cells._kernels`, Numba) when
available; each cell's NumPy code (``_forward_numpy``, ``_backward_numpy``, one formula per line)
is the readable reference and runs otherwise (always for float64). Both compute the same
formulas on the same buffers; ``tests/test_fast_path.py`` checks them equal.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from . import _kernels


class Cell:
    #: Number of fused gate blocks G: parameter matrices have G·H rows.
    gates: int = 1
    #: Names of the states, hidden state first.
    state_names: tuple[str, ...] = ("h",)
    #: True when dHP differs from dXP (GRU): the runner then keeps a separate buffer.
    separate_recurrent_grad: bool = False
    #: True when float32 steps run the compiled kernels (set by :meth:`allocate`).
    fused: bool = False

    def __init__(self, hidden_size: int) -> None:
        self.hidden_size = int(hidden_size)

    def folded_bias_hh(self) -> slice:
        """Columns of ``bias_hh`` the runner may add into XP once (the cell adds the rest itself)."""
        return slice(None)

    def allocate(self, steps: int, batch: int, dtype: np.dtype) -> dict[str, np.ndarray]:
        """Time-major buffers for what backward needs and for its results (override to add).

        Also decides, for this dtype, whether the steps run the compiled kernels (``self.fused``).
        """
        self.fused = _kernels.enabled(np.dtype(dtype))
        return {}

    def bind_states(self, cache: dict[str, np.ndarray], states: list[np.ndarray]) -> None:
        """Receive the runner's state buffers (``states[k][t + 1]`` = state k after step t)."""

    @staticmethod
    def weight_hh_t(params: dict[str, np.ndarray]) -> np.ndarray:
        """``weight_hhᵀ`` (H, G·H) for the forward product ``h_{t-1}·weight_hhᵀ``.

        The runner passes a contiguous copy as ``params["weight_hh_t"]``, made once per forward,
        so that every step's product reads a row-major operand (BLAS packed it faster on a
        loaded machine); without it, the transposed view.
        """
        w = params.get("weight_hh_t")
        return params["weight_hh"].T if w is None else w

    def step_forward(self, t: int, xp_t: np.ndarray, states: tuple[np.ndarray, ...],
                     params: dict[str, np.ndarray], cache: dict[str, Any],
                     out: tuple[np.ndarray, ...]) -> tuple[np.ndarray, ...]:
        """Write the new states into ``out`` (one ``(B, H)`` array per state) and return ``out``.

        ``xp_t`` is ``x_t·weight_ihᵀ + bias_ih`` plus the folded columns of ``bias_hh``.
        """
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
