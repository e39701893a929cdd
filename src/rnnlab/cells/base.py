"""The cell contract: one time step of a recurrent cell on a whole batch, forward and backward.

A cell holds no parameter values of its own but **declares** them: :meth:`Cell.param_specs`
names each parameter, its shape and which of the layer's initializers (``kernel_init``,
``recurrent_init``, ``bias_init``) draws it, in creation order; the
:class:`~rnnlab.layers.recurrent.Recurrent` runner creates them from that list and passes them
in. The default is PyTorch's layout, ``weight_ih (G·H, F)``, ``weight_hh (G·H, H)``,
``bias_ih (G·H,)``, ``bias_hh (G·H,)``, with ``G`` fused gate blocks named by
:attr:`Cell.gate_names` (block k = rows :meth:`Cell.gate_slice` ``(name)``). The runner needs
``weight_ih (G·H, F)`` and, with biases, ``bias_ih``/``bias_hh (G·H,)``; ``weight_hh`` is the
cell's alone (a cell with a diagonal recurrence declares it ``(H,)``, see
:mod:`rnnlab.cells.indrnn`), used through three hooks: :meth:`Cell.step_params` (per forward),
the cell's own steps, and :meth:`Cell.weight_hh_grad`. The runner

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
   in arrays the cell owns (its cache; valid until the cell's next-but-one backward step, so
   two alternating slots suffice); the runner may add to those arrays in place;
4. forms ``d weight_ih = dXPᵀ·X`` and ``d weight_hh`` (:meth:`Cell.weight_hh_grad`) with one
   matrix product each over all steps.

States are tuples, hidden state first: ``(h,)`` for the simple RNN and GRU, ``(h, c)`` for LSTM.
Per-step values that backward needs are kept in ``cache``, a dict of time-major arrays that
:meth:`Cell.allocate` creates once per sequence shape (the runner reuses it across batches of
the same shape); :meth:`Cell.bind_states` then receives the runner's state buffers, one
``(T + 1, B, H)`` array per state, ``[k][0]`` the initial state and ``[k][t + 1]`` state k after
step t, for a cell whose backward reads its own outputs, and :meth:`Cell.bind_projection` the
XP buffer, which a cell may overwrite at step t with what its backward needs (the LSTM and GRU
keep their gates there: no second (T, B, G·H) array). For inference (nothing kept for
backward) the runner allocates the cache for one step and passes ``t = 0`` at every step:
per-step buffers then serve as scratch.

float32 steps run compiled element-wise kernels (:mod:`rnnlab.cells._kernels`, Numba) when
available; each cell's NumPy code (``_forward_numpy``, ``_backward_numpy``, one formula per line)
is the readable reference and runs otherwise (always for float64). Both compute the same
formulas on the same buffers; ``tests/test_fast_path.py`` checks them equal.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Sequence

import numpy as np

from ..errors import InputError
from . import _kernels

#: :meth:`Cell.step_params` makes a contiguous ``weight_hhᵀ`` only for sequences of at least this
#: many steps (shorter ones, e.g. one-token decoding steps, read the transposed view).
COPY_MIN_STEPS = 4

#: The per-step products take the weight as the **left** operand — ``W·hᵀ``, then one transposed
#: copy of the small (G·H, B) result — when the weight is larger than this many bytes and the
#: step has at most :data:`WEIGHT_LEFT_MAX_ROWS` rows. For a weight that does not fit in the
#: core's L2 cache, OpenBLAS's ``h·Wᵀ`` with few rows is slowed by repacking W at every call;
#: the product alone was 7–37 % faster as ``W·hᵀ`` there (B 8–32, H 384–1024) and 6–170 % slower
#: for weights that fit (H ≤ 256) or for 64+ rows; with the transposed copy, a whole training
#: step of GRU 512 / LSTM 512 at B 32 is 5 % / 2 % faster (docs/performance-history.md, third
#: round, "The weight on the left").
WEIGHT_LEFT_MIN_BYTES = 2 << 20
WEIGHT_LEFT_MAX_ROWS = 32


def weight_left(rows: int, w: np.ndarray) -> bool:
    """Whether a per-step product of ``rows`` rows with the weight ``w`` puts ``w`` on the left."""
    return rows <= WEIGHT_LEFT_MAX_ROWS and w.nbytes > WEIGHT_LEFT_MIN_BYTES


#: Initializer roles a parameter can take: which of the layer's ``kernel_init``,
#: ``recurrent_init``, ``bias_init`` draws it.
ROLES = ("kernel", "recurrent", "bias")


@dataclass(frozen=True)
class ParamSpec:
    """One parameter a cell declares: its name, shape and initializer role.

    ``fan_in`` / ``fan_out`` are what the initializer is told (Glorot's bounds read them); every
    initializer is also told ``hidden = H`` (PyTorch's ±1/√H, orthogonal H×H blocks).
    """

    name: str
    shape: tuple[int, ...]
    role: str
    fan_in: int
    fan_out: int

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise InputError(f"parameter {self.name!r}: role must be one of {ROLES}, got {self.role!r}")


class Cell:
    #: Names of the fused gate blocks, in their order along the G·H axis (G = len(gate_names)).
    gate_names: ClassVar[tuple[str, ...]] = ("h",)
    #: Chrono initialisation (:func:`rnnlab.init.chrono_init`): gate name -> sign (+1 or -1) of
    #: the bias ``log U(1, T-1)`` it receives. Empty: the cell has no gate to initialise.
    chrono_gates: ClassVar[dict[str, int]] = {}
    #: Names of the states, hidden state first.
    state_names: tuple[str, ...] = ("h",)
    #: True when dHP differs from dXP (GRU): the runner then keeps a separate buffer.
    separate_recurrent_grad: bool = False
    #: True when float32 steps run the compiled kernels (set by :meth:`allocate`).
    fused: bool = False

    def __init__(self, hidden_size: int) -> None:
        self.hidden_size = int(hidden_size)

    # -- declaration ------------------------------------------------------------------------
    @property
    def gates(self) -> int:
        """Number of fused gate blocks G: the input projection has G·H columns."""
        return len(self.gate_names)

    def gate_slice(self, name: str) -> slice:
        """Rows of gate block ``name`` along the fused G·H axis (``bias_ih[cell.gate_slice("f")]``)."""
        if name not in self.gate_names:
            raise InputError(f"gate {name!r}: {type(self).__name__} has the gates {self.gate_names}")
        k, h = self.gate_names.index(name), self.hidden_size
        return slice(k * h, (k + 1) * h)

    def param_specs(self, input_size: int, use_bias: bool = True) -> tuple[ParamSpec, ...]:
        """The parameters the runner creates, in creation order (= the order of random draws).

        Default: PyTorch's ``weight_ih (G·H, F)``, ``weight_hh (G·H, H)`` and, with ``use_bias``,
        ``bias_ih (G·H,)``, ``bias_hh (G·H,)``.
        """
        h = self.hidden_size
        gh = self.gates * h
        specs = [ParamSpec("weight_ih", (gh, input_size), "kernel", input_size, h),
                 ParamSpec("weight_hh", (gh, h), "recurrent", h, h)]
        if use_bias:
            specs += [ParamSpec("bias_ih", (gh,), "bias", h, h), ParamSpec("bias_hh", (gh,), "bias", h, h)]
        return tuple(specs)

    def state_grad(self, state: str, recorded: Sequence[np.ndarray], cache: dict[str, Any]) -> np.ndarray:
        """``∂L/∂state`` after every step, ``(T, B, H)``, from the runner's recorded gradients.

        The runner records, per step t, the gradient reaching each state from the steps after t
        and from the output (``record_state_grads``). That is the whole gradient for the hidden
        state and for any state the same step's hidden output is not computed from; a cell
        whose hidden output reads another state of the same step (LSTM: ``h_t = o_t ⊙ tanh(c_t)``)
        overrides this to add that path. Used by :mod:`rnnlab.gradflow`.
        """
        if state not in self.state_names:
            raise InputError(f"state: expected one of {self.state_names} for {type(self).__name__}, got {state!r}")
        return recorded[self.state_names.index(state)]

    # -- the steps --------------------------------------------------------------------------

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

    def bind_projection(self, cache: dict[str, np.ndarray], xp: np.ndarray | None) -> None:
        """Receive the runner's XP buffer ``(T, B, G·H)`` when the forward keeps what backward
        needs, None in inference.

        Step t reads ``XP[t]`` once and the runner never reads it again, so a cell may write
        what backward needs over it (LSTM, GRU: their gates) instead of keeping a second
        (T, B, G·H) array. Default: nothing.
        """

    def step_params(self, params: dict[str, np.ndarray], cache: dict[str, Any],
                    steps: int | None = None, batch: int | None = None) -> dict[str, np.ndarray]:
        """The parameters :meth:`step_forward` receives, prepared once per forward of ``steps``
        steps on ``batch`` rows.

        Default: ``params`` plus ``"weight_hh_t"``, a contiguous copy of ``weight_hhᵀ`` (H, G·H)
        kept in ``cache`` and refreshed at every forward, so that every step's product reads a
        row-major operand (OpenBLAS runs ``h·Wᵀ`` from a transposed view up to 1.4× slower for
        B ≥ 4). No copy (the steps read the transposed view) when it cannot pay: one row
        (``h·Wᵀ`` is then a matrix–vector product, as fast or faster on the view) or fewer than
        :data:`COPY_MIN_STEPS` steps (e.g. decoding one token at a time: the copy of a 4 MB
        matrix costs several steps' products). The copy runs in blocks of 64 rows of W (a
        whole-matrix transposed ``copyto`` was 3–5× slower: cache and TLB misses). A cell whose
        ``weight_hh`` is not a (G·H, H) matrix overrides this (e.g. to return ``params``).
        """
        w = params["weight_hh"]
        if batch == 1 or (steps is not None and steps < COPY_MIN_STEPS) \
                or (batch is not None and weight_left(batch, w)):
            return params                          # weight_hh_t() gives the transposed view
        buf = cache.get("weight_hh_t")
        if buf is None or buf.shape != w.shape[::-1] or buf.dtype != w.dtype:
            buf = cache["weight_hh_t"] = np.empty(w.shape[::-1], dtype=w.dtype)
        for i in range(0, w.shape[0], 64):         # transpose block by block (stays in cache)
            np.copyto(buf[:, i:i + 64], w[i:i + 64].T)
        return {**params, "weight_hh_t": buf}

    @staticmethod
    def weight_hh_t(params: dict[str, np.ndarray]) -> np.ndarray:
        """``weight_hhᵀ`` (H, G·H) for the forward product ``h_{t-1}·weight_hhᵀ``: the copy
        :meth:`step_params` made, or the transposed view when called without it."""
        w = params.get("weight_hh_t")
        return params["weight_hh"].T if w is None else w

    def times_weight_t(self, h: np.ndarray, w: np.ndarray, w_t: np.ndarray, out: np.ndarray,
                       left: bool | None = None) -> None:
        """``out = h·wᵀ``, a forward per-step product (``w`` (N, K), e.g. ``weight_hh``; ``w_t`` its
        transpose, a contiguous copy or the view): ``h·w_t``, or ``(w·hᵀ)ᵀ`` (:func:`weight_left`).
        ``left``: the choice made for the whole ``weight_hh`` when ``w`` is a block of it (so that it
        agrees with :meth:`step_params`, which made no contiguous ``weight_hhᵀ`` for a left weight)."""
        if weight_left(h.shape[0], w) if left is None else left:
            tmp = self._scratch_t(out)
            np.dot(w, h.T, out=tmp)                 # (N, B) = W·hᵀ, W read as stored
            np.copyto(out, tmp.T)
        elif out.flags.c_contiguous:
            np.dot(h, w_t, out=out)                 # np.dot: less call overhead than matmul at tiny sizes
        else:
            np.matmul(h, w_t, out=out)

    def times_weight(self, d: np.ndarray, w: np.ndarray, out: np.ndarray) -> None:
        """``out = d·w``, a backward per-step product (``w`` (N, K), e.g. ``weight_hh``, ``d`` (B, N)):
        directly, or ``(wᵀ·dᵀ)ᵀ`` (:func:`weight_left`)."""
        if weight_left(d.shape[0], w):
            tmp = self._scratch_t(out)
            np.dot(w.T, d.T, out=tmp)               # (K, B) = Wᵀ·dᵀ
            np.copyto(out, tmp.T)
        elif out.flags.c_contiguous:
            np.dot(d, w, out=out)
        else:
            np.matmul(d, w, out=out)

    def _scratch_t(self, out: np.ndarray) -> np.ndarray:
        """A reused (N, B) array for the transposed result of a (B, N) product."""
        bufs = self.__dict__.setdefault("_transposed_scratch", {})
        key = (out.shape, out.dtype.str)
        buf = bufs.get(key)
        if buf is None:
            buf = bufs[key] = np.empty(out.shape[::-1], dtype=out.dtype)
        return buf

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
