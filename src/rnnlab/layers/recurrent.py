"""The generic recurrent runner: one class runs any :class:`~rnnlab.cells.base.Cell` over time.

What it does, in order (B batch, T steps, F input features, H hidden, G gate blocks):

| step | computation | cost |
|------|-------------|------|
| 1 | ``XP = [X, 1]·[weight_ih, b]ᵀ = X·weight_ihᵀ + b`` for all T steps (b = ``bias_ih`` + the foldable part of ``bias_hh``) | one (T·B, F+1)×(F+1, G·H) product |
| 2 | ``states_t = cell.step_forward(XP[t], states_{t-1})`` for t = 1…T, written straight into the state buffers | T small products + T element-wise kernels |
| 3 | ``dstates_{t-1} = cell.step_backward(dstates_t)`` for t = T…1 | T small products + T element-wise kernels |
| 4 | ``[d weight_ih, d b] = dXPᵀ·[X, 1]``, ``d weight_hh = dHPᵀ·H_prev`` (:meth:`Cell.weight_hh_grad`), ``dX = dXP·weight_ih`` | three products (two when ``needs_input_grad`` is False: no dX, ``backward`` returns None) |

The parameters are the ones the cell declares (:meth:`Cell.param_specs`: names, shapes,
initializer roles, creation order); before the steps the cell prepares its per-forward operands
(:meth:`Cell.step_params`, by default a contiguous ``weight_hhᵀ``).

It also handles: initial state in and final state out (:attr:`final_state`,
:attr:`d_initial_state`), ``return_sequences``, masks for variable-length batches (the state is
frozen and the output zeroed past each sequence's end), ``go_backwards`` (reverses only each
sequence's valid part) and ``stateful`` carry between batches with truncated BPTT.

Speed (see docs/performance.md): the work arrays (time-major input, XP, state buffers, the
cell's per-step caches, dXP) are made once per sequence shape and reused while the shape
repeats, with the per-step views into them; nothing returned to the caller is a view of them.
Each activation is kept once: a cell may write its gates over XP[t], which step t reads once
(:meth:`Cell.bind_projection`), and hands its state gradients down in two alternating slots.
Inside :func:`inference_mode` (``Sequential.predict`` / ``evaluate``) nothing is kept for
backward: one step's scratch serves every step. The BLAS thread count follows
:mod:`rnnlab.threads`.
"""
from __future__ import annotations

import contextlib
from typing import Any, Sequence

import numpy as np

from .. import init as initializers
from .. import threads
from ..cells import kernel_backend
from ..cells.base import Cell
from ..errors import InputError
from ..validation import check_flag, check_mask
from .base import Layer
from .inference import inference_mode, storing_for_backward  # noqa: F401 (inference_mode: re-exported)


_NO_LIMIT = contextlib.nullcontext()     # "no thread limit": a reusable do-nothing context

# XP = X·weight_ihᵀ + b directly (no [weight_ih, b] built) when T·B ≤ this × (F + 1): the extra
# pass over XP (T·B·G·H) then costs less than the copy of weight_ih (G·H·(F + 1)). -1: never.
DIRECT_INPUT_ROWS = 1


def reverse_valid(x: np.ndarray, lengths: np.ndarray | None) -> np.ndarray:
    """Reverse each sequence of ``x (B, T, ...)`` along time within its first ``lengths[b]`` steps."""
    if lengths is None:
        return x[:, ::-1]
    steps = x.shape[1]
    t = np.arange(steps)[None, :]
    idx = np.where(t < lengths[:, None], lengths[:, None] - 1 - t, t)
    return np.take_along_axis(x, idx.reshape(idx.shape + (1,) * (x.ndim - 2)), axis=1)


def _freeze(new: tuple[np.ndarray, ...], prev: tuple[np.ndarray, ...], m: np.ndarray) -> None:
    """Past a sequence's end (m = 0) the state stays as it was: new <- prev + m·(new - prev)."""
    for n, o in zip(new, prev):
        n -= o
        n *= m
        n += o


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
        self.return_sequences = check_flag(return_sequences, "return_sequences")
        self.keeps_time = self.return_sequences
        self.use_bias = check_flag(use_bias, "use_bias")
        self.kernel_init, self.recurrent_init, self.bias_init = kernel_init, recurrent_init, bias_init
        for n in (kernel_init, recurrent_init, bias_init):
            initializers.get(n)
        self.go_backwards = check_flag(go_backwards, "go_backwards")
        self.stateful = check_flag(stateful, "stateful")
        self.final_state: tuple[np.ndarray, ...] | None = None
        #: set True to keep ∂L/∂state_t of every step in ``state_grads`` (time-major, one array
        #: per state) during backward — what :func:`rnnlab.gradflow.gradient_norms` reads.
        self.record_state_grads = False
        self.state_grads: list[np.ndarray] | None = None
        self.d_initial_state: tuple[np.ndarray, ...] | None = None
        self._carry: tuple[np.ndarray, ...] | None = None
        self._cache: dict[str, Any] | None = None
        self._bufs: dict[bool, dict[str, Any]] = {}     # work arrays, by "stores for backward"

    # -- parameters -----------------------------------------------------------------------
    def build(self, input_size: int, rng: np.random.Generator, dtype=np.float32) -> int:
        """Create the parameters the cell declares (:meth:`Cell.param_specs`), in its order."""
        super().build(input_size, rng, dtype)
        h = self.hidden_size
        init_of = {"kernel": self.kernel_init, "recurrent": self.recurrent_init, "bias": self.bias_init}
        for spec in self.cell.param_specs(input_size, self.use_bias):
            self.add_param(spec.name, initializers.get(init_of[spec.role])(
                spec.shape, rng, self.dtype, fan_in=spec.fan_in, fan_out=spec.fan_out, hidden=h))
        self.output_size = h
        return h

    def reset_states(self) -> None:
        """Forget the state carried between batches (``stateful=True``)."""
        self._carry = None

    def carried_state(self) -> tuple[np.ndarray, ...] | None:
        """The state carried to the next batch (``stateful=True``), e.g. for a checkpoint."""
        return self._carry

    def set_carried_state(self, states: tuple[np.ndarray, ...] | None) -> None:
        self._carry = None if states is None else tuple(np.array(s, dtype=self.dtype) for s in states)

    # -- forward ----------------------------------------------------------------------------
    def _initial_states(self, batch: int, initial_state) -> tuple[np.ndarray, ...] | None:
        """The states entering the first step; None for zeros."""
        n = len(self.cell.state_names)
        shape = (batch, self.hidden_size)
        if initial_state is None and self.stateful and self._carry is not None:
            if self._carry[0].shape[0] != batch:
                raise InputError(f"stateful layer: the batch size changed from {self._carry[0].shape[0]} "
                                 f"to {batch}; call reset_states() first or keep the batch size fixed")
            return self._carry
        if initial_state is None:
            return None                          # zeros: the runner fills its state buffers
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

    def _buffers(self, steps: int, batch: int, feat: int, store: bool) -> dict[str, Any]:
        """Work arrays for one sequence shape, made once and reused while the shape repeats.

        Nothing handed to the caller (outputs, final states, input gradients) is a view of them.
        """
        key = (steps, batch, feat, self.dtype, store, kernel_backend())
        bufs = self._bufs.get(store)
        if bufs is not None and bufs["key"] == key:
            return bufs
        cell, h, dt = self.cell, self.hidden_size, self.dtype
        gh = cell.gates * h
        n_states = len(cell.state_names)
        # state buffers: time-major (T+1, B, H), [0] = the initial state. Without storing for
        # backward only the output sequence is kept whole; other states alternate two slots.
        keep = [store or (k == 0 and self.return_sequences) for k in range(n_states)]
        # X time-major with a column of ones when there are biases: [X, 1]·[weight_ih, b]ᵀ gives
        # XP with the bias added, and dXPᵀ·[X, 1] gives d weight_ih and d bias, one product each
        aug = int(self.use_bias)
        x_tm = np.empty((steps, batch, feat + aug), dtype=dt)
        x_tm[..., feat:] = 1.0
        bufs = {
            "key": key,
            "x_tm": x_tm,
            "w_aug": np.empty((gh, feat + aug), dtype=dt),
            "xp": np.empty((steps, batch, gh), dtype=dt),
            "hs": [np.empty((steps + 1 if keep[k] else 2, batch, h), dtype=dt) for k in range(n_states)],
            "cell": cell.allocate(steps if store else 1, batch, dt),
        }
        cell.bind_states(bufs["cell"], bufs["hs"])
        # training: a cell may keep its gates over XP[t]; inference (None): nothing is kept
        cell.bind_projection(bufs["cell"], bufs["xp"] if store else None)
        # views made once per buffer set, reused at every step of every batch:
        # fwd_views[t] = (XP[t], states entering step t, where step t writes its states)
        hs, xp = bufs["hs"], bufs["xp"]

        def states_at(t: int) -> tuple[np.ndarray, ...]:
            return tuple(hk[t if keep[k] else t % 2] for k, hk in enumerate(hs))

        bufs["fwd_views"] = [(xp[t], states_at(t), states_at(t + 1)) for t in range(steps)]
        bufs["last"] = states_at(steps)
        self._bufs[store] = bufs
        return bufs

    def _threads(self, batch: int, steps: int, feat: int) -> tuple[int | None, int | None]:
        """BLAS threads of this call's time loop and of its all-steps products (:mod:`rnnlab.threads`)."""
        h, gh = self.hidden_size, self.cell.gates * self.hidden_size
        return threads.layer_threads(batch, h, gh, steps * batch * (feat + 1 + h) * gh)

    def _input_weights(self, w_aug: np.ndarray) -> np.ndarray:
        """``[weight_ih, b]``, rebuilt at every call: the optimizer, ``set_weights`` and loading
        change the parameters in place, so nothing made from them may outlive a call."""
        p = self.params
        if not self.use_bias:
            return p["weight_ih"]
        self._input_bias(out=w_aug[:, -1])
        w_aug[:, :-1] = p["weight_ih"]
        return w_aug

    def _input_bias(self, out: np.ndarray | None = None) -> np.ndarray:
        """b = ``bias_ih`` + the columns of ``bias_hh`` the cell lets the runner fold into XP
        (all but GRU's n block with the reset after the product)."""
        p, fold = self.params, self.cell.folded_bias_hh()
        if fold == slice(None):
            return np.add(p["bias_ih"], p["bias_hh"], out=out)
        b = np.positive(p["bias_ih"], out=out)                # a copy (into ``out`` if given)
        b[fold] += p["bias_hh"][fold]
        return b

    def forward(self, x: np.ndarray, mask: np.ndarray | None = None, training: bool = False,
                initial_state: np.ndarray | Sequence[np.ndarray] | None = None,
                out: np.ndarray | None = None) -> np.ndarray:
        """The output (B, T, H) with ``return_sequences``, else the last valid step (B, H).

        ``out``: with ``return_sequences``, an array (or a strided view, e.g. one half of
        Bidirectional's concatenation) of shape (B, T, H) that receives the output, which is
        then returned: one copy fewer than writing it anywhere else afterwards.
        """
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
        store = storing_for_backward()           # False inside inference_mode(): keep nothing
        bufs = self._buffers(steps, batch, feat, store)
        states = self._initial_states(batch, initial_state)
        m_tm = None if mask is None else mask.T[:, :, None].astype(self.dtype)  # (T, B, 1)
        loop_threads, all_threads = self._threads(batch, steps, feat)
        with _NO_LIMIT if all_threads is None else threads.limit(all_threads):
            self._forward_steps(x, states, m_tm, bufs, store, loop_threads)

        hs = bufs["hs"]
        self.final_state = tuple(s.copy() for s in bufs["last"])
        if self.stateful:
            self._carry = tuple(s.copy() for s in self.final_state)
        self._cache = dict(cell=bufs["cell"], x_tm=bufs["x_tm"].reshape(steps * batch, -1), hs=hs,
                           m_tm=m_tm, lengths=lengths, shape=(batch, steps, feat)) if store else None
        if not self.return_sequences:
            return self.final_state[0].copy()
        y = hs[0][1:].transpose(1, 0, 2)                      # (B, T, H)
        if out is not None:                                   # reversal and mask commute (padding stays put)
            if self.go_backwards:
                y = reverse_valid(y, lengths)
            if m_tm is not None:
                np.multiply(y, mask[:, :, None], out=out)
            else:
                np.copyto(out, y)
            return out
        y = y * mask[:, :, None] if m_tm is not None else np.ascontiguousarray(y)
        if self.go_backwards:
            y = reverse_valid(y, lengths)
        return y

    def _forward_steps(self, x, states, m_tm, bufs, store: bool, loop_threads: int | None) -> None:
        """Steps 1 and 2: XP for all steps at once, then the recurrence into the state buffers."""
        p, cell, hs = self.params, self.cell, bufs["hs"]
        batch, steps, feat = x.shape
        gh = cell.gates * self.hidden_size
        # 1. input projections of all steps at once, time-major (T, B, G·H), biases included:
        #    XP = [X, 1]·[weight_ih, b]ᵀ = X·weight_ihᵀ + b
        x_tm, rows, xp = bufs["x_tm"], steps * batch, bufs["xp"].reshape(steps * batch, gh)
        np.copyto(x_tm[..., :feat], x.transpose(1, 0, 2))
        if self.use_bias and rows <= DIRECT_INPUT_ROWS * (feat + 1):  # few rows (one-step calls): building
            np.matmul(x_tm.reshape(rows, -1)[:, :feat], p["weight_ih"].T, out=xp)  # [weight_ih, b] costs
            xp += self._input_bias()                                  # more than X·weight_ihᵀ + b
        else:
            np.matmul(x_tm.reshape(rows, -1), self._input_weights(bufs["w_aug"]).T, out=xp)

        # 2. the recurrence: the cell writes state k after step t into hs[k][t + 1]
        for k, hk in enumerate(hs):
            hk[0] = 0 if states is None else states[k]   # None: a zero initial state
        step, cache = cell.step_forward, bufs["cell"]
        p = cell.step_params(p, cache, steps, batch)  # e.g. weight_hhᵀ made contiguous, once
        with _NO_LIMIT if loop_threads is None else threads.limit(loop_threads):
            for t, (xp_t, prev, new) in enumerate(bufs["fwd_views"]):
                step(t if store else 0, xp_t, prev, p, cache, new)   # inference: one step's scratch
                if m_tm is not None:
                    _freeze(new, prev, m_tm[t])

    # -- backward ---------------------------------------------------------------------------
    def backward(self, dy: np.ndarray, d_final_state: Sequence[np.ndarray] | None = None) -> np.ndarray | None:
        """BPTT: adds the parameter gradients; returns dX (B, T, F), or None when
        ``needs_input_grad`` is False (the model's first layer on raw data: dX is not computed)."""
        if self._cache is None:
            raise RuntimeError("backward() called before forward() (or after a forward in inference mode)")
        c = self._cache
        cell, h = self.cell, self.hidden_size
        batch, steps, feat = c["shape"]
        m_tm, lengths = c["m_tm"], c["lengths"]
        dy = np.asarray(dy, dtype=self.dtype)

        bufs = self._bufs[True]
        if "dxp" not in bufs:
            dxp = bufs["dxp"] = np.empty((steps, batch, cell.gates * h), dtype=self.dtype)
            dhp = bufs["dhp"] = np.empty_like(dxp) if cell.separate_recurrent_grad else dxp
            # bwd_views[t] = (states entering step t, dXP[t], dHP[t]); d_last: dL/d final states
            bufs["bwd_views"] = [(fv[1], dxp[t], dhp[t]) for t, fv in enumerate(bufs["fwd_views"])]
            bufs["d_last"] = [np.empty((batch, h), dtype=self.dtype) for _ in c["hs"]]
        d_states = bufs["d_last"]                               # reused: zeroed, then added to
        for d in d_states:
            d.fill(0)
        for k, d in enumerate(d_final_state or ()):
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

        loop_threads, all_threads = self._threads(batch, steps, feat)
        with _NO_LIMIT if all_threads is None else threads.limit(all_threads):
            dx = self._backward_steps(d_states, dh_out, bufs, c, loop_threads)
        if dx is not None and self.go_backwards:
            dx = reverse_valid(dx, lengths)
        return None if dx is None else np.ascontiguousarray(dx)

    def _backward_steps(self, d_states, dh_out, bufs, c, loop_threads: int | None) -> np.ndarray | None:
        """Steps 3 and 4: BPTT through the cells, then the weight gradients and dX (None when
        ``needs_input_grad`` is False)."""
        cell, p = self.cell, self.params
        batch, steps, feat = c["shape"]
        hs, m_tm, cache = c["hs"], c["m_tm"], c["cell"]
        gh = cell.gates * self.hidden_size
        dxp, dhp = bufs["dxp"], bufs["dhp"]
        step = cell.step_backward
        record = [np.empty((steps, batch, self.hidden_size), self.dtype) for _ in hs] \
            if self.record_state_grads else None
        with _NO_LIMIT if loop_threads is None else threads.limit(loop_threads):
            for t in range(steps - 1, -1, -1):
                prev, dxp_t, dhp_t = bufs["bwd_views"][t]
                if dh_out is not None:
                    np.add(d_states[0], dh_out[t], out=d_states[0])   # in place (the cell's array)
                if record is not None:                                # ∂L/∂state_t, for rnnlab.gradflow
                    for k, d in enumerate(d_states):
                        record[k][t] = d
                if m_tm is None:
                    d_states = step(t, d_states, prev, p, cache, dxp_t, dhp_t)
                else:  # a frozen step passes its gradient straight to the previous state
                    m = m_tm[t]
                    keep = [d * (1 - m) for d in d_states]
                    d_prev = step(t, tuple(d * m for d in d_states), prev, p, cache, dxp_t, dhp_t)
                    d_states = [dp + kp for dp, kp in zip(d_prev, keep)]
        self.d_initial_state = tuple(np.array(d, copy=True) for d in d_states)
        self.state_grads = record

        # 4. weight gradients, one product each over all steps: dXPᵀ·[X, 1] = [d weight_ih, d b]
        dxp2 = dxp.reshape(steps * batch, gh)
        g = dxp2.T @ c["x_tm"]
        self.grads["weight_ih"] += g[:, :feat]
        self.grads["weight_hh"] += cell.weight_hh_grad(dhp, hs[0][:-1], cache)
        if self.use_bias:
            self.grads["bias_ih"] += g[:, feat]
            self.grads["bias_hh"] += g[:, feat] if dhp is dxp else \
                np.ones(steps * batch, dtype=self.dtype) @ dhp.reshape(steps * batch, gh)
        if not self.needs_input_grad:
            return None
        return (dxp2 @ p["weight_ih"]).reshape(steps, batch, feat).transpose(1, 0, 2)

    # -- config -----------------------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        return {"hidden_size": self.hidden_size, **self.cell.get_config(),
                "return_sequences": self.return_sequences, "use_bias": self.use_bias,
                "kernel_init": self.kernel_init, "recurrent_init": self.recurrent_init,
                "bias_init": self.bias_init, "go_backwards": self.go_backwards,
                "stateful": self.stateful, "name": self.name}
