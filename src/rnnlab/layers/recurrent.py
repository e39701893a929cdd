"""The generic recurrent runner: one class runs any :class:`~rnnlab.cells.base.Cell` over time.

What it does, in order (B batch, T steps, F input features, H hidden, G gate blocks):

| step | computation | cost |
|------|-------------|------|
| 1 | ``XP = X·weight_ihᵀ + bias_ih`` for all T steps | one (T·B, F)×(F, G·H) product |
| 2 | ``states_t = cell.step_forward(XP[t], states_{t-1})`` for t = 1…T | T small products |
| 3 | ``dstates_{t-1} = cell.step_backward(dstates_t)`` for t = T…1 | T small products |
| 4 | ``d weight_ih = dXPᵀ·X``, ``d weight_hh = dHPᵀ·H_prev``, ``dX = dXP·weight_ih`` | three products |

It also handles: initial state in and final state out (:attr:`final_state`,
:attr:`d_initial_state`), ``return_sequences``, masks for variable-length batches (the state is
frozen and the output zeroed past each sequence's end), ``go_backwards`` (reverses only each
sequence's valid part) and ``stateful`` carry between batches with truncated BPTT.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .. import init as initializers
from ..cells.base import Cell
from ..errors import InputError
from ..validation import check_mask
from .base import Layer


def reverse_valid(x: np.ndarray, lengths: np.ndarray | None) -> np.ndarray:
    """Reverse each sequence of ``x (B, T, ...)`` along time within its first ``lengths[b]`` steps."""
    if lengths is None:
        return x[:, ::-1]
    steps = x.shape[1]
    t = np.arange(steps)[None, :]
    idx = np.where(t < lengths[:, None], lengths[:, None] - 1 - t, t)
    return np.take_along_axis(x, idx.reshape(idx.shape + (1,) * (x.ndim - 2)), axis=1)


class Recurrent(Layer):
    """Run ``cell`` over a ``(batch, time, features)`` input.

    Args:
        cell: the cell (one time step's formulas).
        return_sequences: output every step ``(B, T, H)`` (True) or the last valid step ``(B, H)``.
        use_bias: keep ``bias_ih`` and ``bias_hh`` (the lecture's b); False drops both.
        kernel_init / recurrent_init / bias_init: initializer names (:mod:`rnnlab.init`).
        go_backwards: process each sequence from its last valid step to its first; outputs are
            returned in the original time order.
        stateful: the final state of one batch is the initial state of the next (truncated BPTT:
            no gradient crosses the boundary); :meth:`reset_states` clears it.
    """

    def __init__(self, cell: Cell, *, return_sequences: bool = False, use_bias: bool = True,
                 kernel_init: str = "uniform", recurrent_init: str = "uniform", bias_init: str = "uniform",
                 go_backwards: bool = False, stateful: bool = False, name: str | None = None) -> None:
        super().__init__(name)
        self.cell = cell
        self.hidden_size = cell.hidden_size
        if self.hidden_size < 1:
            raise InputError(f"hidden_size: expected a positive integer, got {self.hidden_size}")
        self.return_sequences = bool(return_sequences)
        self.keeps_time = self.return_sequences
        self.use_bias = bool(use_bias)
        self.kernel_init, self.recurrent_init, self.bias_init = kernel_init, recurrent_init, bias_init
        for n in (kernel_init, recurrent_init, bias_init):
            initializers.get(n)
        self.go_backwards = bool(go_backwards)
        self.stateful = bool(stateful)
        self.final_state: tuple[np.ndarray, ...] | None = None
        self.d_initial_state: tuple[np.ndarray, ...] | None = None
        self._carry: tuple[np.ndarray, ...] | None = None
        self._cache: dict[str, Any] | None = None

    # -- parameters -----------------------------------------------------------------------
    def build(self, input_size: int, rng: np.random.Generator, dtype=np.float32) -> int:
        super().build(input_size, rng, dtype)
        gh, h = self.cell.gates * self.hidden_size, self.hidden_size
        self.add_param("weight_ih", initializers.get(self.kernel_init)(
            (gh, input_size), rng, self.dtype, fan_in=input_size, fan_out=h, hidden=h))
        self.add_param("weight_hh", initializers.get(self.recurrent_init)(
            (gh, h), rng, self.dtype, fan_in=h, fan_out=h, hidden=h))
        if self.use_bias:
            for name in ("bias_ih", "bias_hh"):
                self.add_param(name, initializers.get(self.bias_init)(
                    (gh,), rng, self.dtype, fan_in=h, fan_out=h, hidden=h))
        self.output_size = h
        return h

    def reset_states(self) -> None:
        """Forget the state carried between batches (``stateful=True``)."""
        self._carry = None

    # -- forward ----------------------------------------------------------------------------
    def _initial_states(self, batch: int, initial_state) -> tuple[np.ndarray, ...]:
        n = len(self.cell.state_names)
        shape = (batch, self.hidden_size)
        if initial_state is None and self.stateful and self._carry is not None:
            if self._carry[0].shape[0] != batch:
                raise InputError(f"stateful layer: the batch size changed from {self._carry[0].shape[0]} "
                                 f"to {batch}; call reset_states() first or keep the batch size fixed")
            return self._carry
        if initial_state is None:
            return tuple(np.zeros(shape, dtype=self.dtype) for _ in range(n))
        states = (initial_state,) if isinstance(initial_state, np.ndarray) else tuple(initial_state)
        if len(states) != n:
            raise InputError(f"initial_state: expected {n} array(s) {self.cell.state_names}, got {len(states)}")
        out = []
        for name, s in zip(self.cell.state_names, states):
            s = np.asarray(s)
            if s.shape != shape:
                raise InputError(f"initial_state {name}: expected shape (batch, hidden) = {shape}, got {s.shape}")
            out.append(np.ascontiguousarray(s, dtype=self.dtype))
        return tuple(out)

    def forward(self, x: np.ndarray, mask: np.ndarray | None = None, training: bool = False,
                initial_state: np.ndarray | Sequence[np.ndarray] | None = None) -> np.ndarray:
        if x.ndim != 3 or x.shape[2] != self.input_size:
            raise InputError(f"{type(self).__name__}: expected input of shape (batch, time, {self.input_size}), "
                             f"got {x.shape}")
        x = np.asarray(x, dtype=self.dtype)
        batch, steps, feat = x.shape
        mask = check_mask(mask, batch, steps)
        if mask is not None and mask.all():
            mask = None
        lengths = None if mask is None else mask.sum(axis=1)
        if self.go_backwards:
            x = reverse_valid(x, lengths)
        p, cell, h = self.params, self.cell, self.hidden_size
        gh = cell.gates * h

        # 1. input projections of all steps at once, time-major (T, B, G·H)
        x_tm = np.ascontiguousarray(x.transpose(1, 0, 2)).reshape(steps * batch, feat)
        xp = x_tm @ p["weight_ih"].T
        if self.use_bias:
            xp += p["bias_ih"]
        xp = xp.reshape(steps, batch, gh)

        # 2. the recurrence
        states = self._initial_states(batch, initial_state)
        cache = cell.allocate(steps, batch, self.dtype)
        n_states = len(states)
        # hs[k][t] is state k after step t; hs[k][-1 + 0] = initial state sits at index 0
        hs = [np.empty((steps + 1, batch, h), dtype=self.dtype) for _ in range(n_states)]
        for k in range(n_states):
            hs[k][0] = states[k]
        m_tm = None if mask is None else mask.T[:, :, None].astype(self.dtype)  # (T, B, 1)
        for t in range(steps):
            prev = tuple(hs[k][t] for k in range(n_states))
            new = cell.step_forward(t, xp[t], prev, p, cache)
            for k in range(n_states):
                if m_tm is None:
                    hs[k][t + 1] = new[k]
                else:  # past a sequence's end the state stays frozen
                    np.subtract(new[k], prev[k], out=hs[k][t + 1])
                    hs[k][t + 1] *= m_tm[t]
                    hs[k][t + 1] += prev[k]
        self.final_state = tuple(hs[k][steps].copy() for k in range(n_states))
        if self.stateful:
            self._carry = tuple(s.copy() for s in self.final_state)
        self._cache = dict(cell=cache, x_tm=x_tm, hs=hs, m_tm=m_tm, lengths=lengths,
                           shape=(batch, steps, feat))

        if not self.return_sequences:
            return self.final_state[0].copy()
        y = hs[0][1:].transpose(1, 0, 2)                      # (B, T, H)
        if m_tm is not None:
            y = y * mask[:, :, None]
        else:
            y = np.ascontiguousarray(y)
        if self.go_backwards:
            y = reverse_valid(y, lengths)
        return y

    # -- backward ---------------------------------------------------------------------------
    def backward(self, dy: np.ndarray, d_final_state: Sequence[np.ndarray] | None = None) -> np.ndarray:
        if self._cache is None:
            raise RuntimeError("backward() called before forward()")
        c = self._cache
        cell, p, h = self.cell, self.params, self.hidden_size
        batch, steps, feat = c["shape"]
        hs, m_tm, lengths = c["hs"], c["m_tm"], c["lengths"]
        n_states = len(hs)
        gh = cell.gates * h
        dy = np.asarray(dy, dtype=self.dtype)

        # gradient arriving at each step's hidden output, time-major
        d_states = [np.zeros((batch, h), dtype=self.dtype) for _ in range(n_states)]
        if d_final_state is not None:
            for k, d in enumerate(d_final_state):
                if d is not None:
                    d_states[k] += d
        if self.return_sequences:
            expected = (batch, steps, h)
            if dy.shape != expected:
                raise InputError(f"backward: expected dy of shape {expected}, got {dy.shape}")
            if self.go_backwards:
                dy = reverse_valid(dy, lengths)
            dh_out = dy.transpose(1, 0, 2)                     # (T, B, H) view
            if m_tm is not None:
                dh_out = dh_out * m_tm
        else:
            if dy.shape != (batch, h):
                raise InputError(f"backward: expected dy of shape {(batch, h)}, got {dy.shape}")
            d_states[0] += dy
            dh_out = None

        dxp = np.empty((steps, batch, gh), dtype=self.dtype)
        dhp = np.empty_like(dxp) if cell.separate_recurrent_grad else dxp
        for t in range(steps - 1, -1, -1):
            if dh_out is not None:
                d_states[0] += dh_out[t]
            prev = tuple(hs[k][t] for k in range(n_states))
            if m_tm is None:
                d_prev = cell.step_backward(t, tuple(d_states), prev, p, c["cell"], dxp[t], dhp[t])
                d_states = list(d_prev)
            else:  # a frozen step passes its gradient straight to the previous state
                m = m_tm[t]
                d_new = tuple(d * m for d in d_states)
                d_prev = cell.step_backward(t, d_new, prev, p, c["cell"], dxp[t], dhp[t])
                d_states = [dp + d * (1 - m) for dp, d in zip(d_prev, d_states)]
        self.d_initial_state = tuple(d_states)

        # 4. weight gradients, one product each over all steps
        dxp2 = dxp.reshape(steps * batch, gh)
        self.grads["weight_ih"] += dxp2.T @ c["x_tm"]
        self.grads["weight_hh"] += cell.weight_hh_grad(dhp, hs[0][:-1], c["cell"])
        if self.use_bias:
            self.grads["bias_ih"] += dxp2.sum(axis=0)
            self.grads["bias_hh"] += dhp.reshape(steps * batch, gh).sum(axis=0)
        dx = (dxp2 @ p["weight_ih"]).reshape(steps, batch, feat).transpose(1, 0, 2)
        if self.go_backwards:
            dx = reverse_valid(dx, lengths)
        return np.ascontiguousarray(dx)

    # -- config -----------------------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        return {"hidden_size": self.hidden_size, **self.cell.get_config(),
                "return_sequences": self.return_sequences, "use_bias": self.use_bias,
                "kernel_init": self.kernel_init, "recurrent_init": self.recurrent_init,
                "bias_init": self.bias_init, "go_backwards": self.go_backwards,
                "stateful": self.stateful, "name": self.name}
