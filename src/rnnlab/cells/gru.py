"""The gated recurrent unit (GRU) cell: one state h, a reset gate r and an update gate z.

The lecture (Cho et al. 2014), row vectors, no biases written::

    z_t = σ(h_{t-1}·W_z + x_t·U_z)                   update gate  (更新门)
    r_t = σ(h_{t-1}·W_r + x_t·U_r)                   reset gate   (重置门)
    h̃_t = tanh((r_t ∘ h_{t-1})·W_h + x_t·U_h)        candidate    (候选隐藏状态)
    h_t = (1 - z_t) ∘ h_{t-1} + z_t ∘ h̃_t            hidden state (隐藏状态)

PyTorch's ``nn.GRU`` (column vectors, gate order **r, z, n** in the fused matrices)::

    r = σ(W_ir x + b_ir + W_hr h + b_hr)
    z = σ(W_iz x + b_iz + W_hz h + b_hz)
    n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))     reset applied AFTER the product
    h' = (1 - z) ⊙ n + z ⊙ h

``GRUCell(H, reset_after=True)`` computes PyTorch's (and cuDNN's) formulas.
``GRUCell(H, reset_after=False)`` computes the lecture's candidate, reset applied BEFORE the
product, with the same parameter layout and PyTorch's final update::

    n = tanh(W_in x + b_in + W_hn (r ⊙ h) + b_hn)
    h' = (1 - z) ⊙ n + z ⊙ h

How the lecture's symbols map onto the parameters (``[r]``, ``[z]``, ``[n]`` = row blocks
0:H, H:2H, 2H:3H of the fused arrays)::

    U_r = weight_ih[r]ᵀ    W_r = weight_hh[r]ᵀ    b_r = bias_ih[r] + bias_hh[r]
    U_h = weight_ih[n]ᵀ    W_h = weight_hh[n]ᵀ    b_h = bias_ih[n] + bias_hh[n]     h̃_t = n
    z_lecture = 1 - z      because the lecture keeps the OLD state with weight (1 - z_t) and
                           PyTorch keeps it with weight z.  Since 1 - σ(a) = σ(-a):
    U_z = -weight_ih[z]ᵀ   W_z = -weight_hh[z]ᵀ   b_z = -(bias_ih[z] + bias_hh[z])

so the lecture's ``h_t = (1 - z_t)∘h_{t-1} + z_t∘h̃_t`` is exactly ``h' = z∘h + (1 - z)∘n`` here.
(With ``reset_after=True`` only the candidate differs: ``r`` multiplies ``W_hn h + b_hn``.)

Backward, one step (δ = dLoss/d·, y' the derivative of a gate's nonlinearity)::

    h' = n + z ∘ (h - n)
    δn = δh' ∘ (1 - z)      δz = δh' ∘ (h - n)      δh ← δh' ∘ z          (direct path)
    δa_n = δn ∘ (1 - n²)                                                   (= dXP[n])
    reset_after=True:   δr = δa_n ∘ (W_hn h + b_hn);   dHP[n] = δa_n ∘ r
    reset_after=False:  δ(r∘h) = δa_n·W_hn;  δr = δ(r∘h) ∘ h;  δh += δ(r∘h) ∘ r;  dHP[n] = δa_n
    δa_r = δr ∘ r(1 - r),   δa_z = δz ∘ z(1 - z)                            (= dXP = dHP for r, z)
    δh += dHP·weight_hh     (reset_after=False: only the r, z blocks, dHP[r,z]·weight_hh[r,z])
    d weight_hh[n] = Σ_t dHP[n]ᵀ·h_{t-1}   (reset_after=False: ·(r_t∘h_{t-1}), cached)

Speed: the runner adds ``bias_hh`` into ``x·W_ihᵀ`` once per sequence for the blocks where it
simply adds to the pre-activation (r, z; with ``reset_after=False`` also n); ``b_hn`` with the
reset after the product is added per step, inside ``r ⊙ (W_hn h + b_hn)``. In float32 with
Numba installed and ``reset_after=True`` the NumPy lines are replaced by one compiled kernel per
step and direction (:mod:`rnnlab.cells._numba_kernels`: ``gru_forward``, ``gru_backward``).

Shapes (B batch, H hidden, F input features):

| name             | shape      | lecture                               |
|------------------|------------|---------------------------------------|
| x_t              | (B, F)     | x_t                                   |
| weight_ih        | (3H, F)    | [U_r, -U_z, U_h]ᵀ                     |
| weight_hh        | (3H, H)    | [W_r, -W_z, W_h]ᵀ                     |
| bias_ih, bias_hh | (3H,)      | [b_r, -b_z, b_h] (sum of the two)     |
| gates (cache)    | (T, B, 3H) | [r_t, 1 - z_t, h̃_t]  (r, z, n; over XP) |
| hp (cache)       | (T, B, 3H) | h_{t-1}·W (+ b_hn on n) (reset_after) |
| rh (cache)       | (T, B, H)  | r_t ∘ h_{t-1}     (reset_after=False) |
| h_t              | (B, H)     | h_t                                   |
"""
from __future__ import annotations

from typing import Any

import numpy as np

from . import _kernels
from .base import Cell, weight_left


class GRUCell(Cell):
    """One GRU step on a batch; state ``(h,)``; PyTorch gate order r, z, n.

    Args:
        hidden_size: H.
        reset_after: True (PyTorch, cuDNN, Keras default) applies the reset gate to
            ``W_hn h + b_hn``; False (the lecture, Cho et al. 2014) to ``h`` before ``W_hn``.
    """

    gate_names = ("r", "z", "n")         # PyTorch's block order
    chrono_gates = {"z": +1}             # z keeps the old state (PyTorch convention)
    state_names = ("h",)
    separate_recurrent_grad = True    # reset_after=True: dHP[n] = δa_n ∘ r  ≠  dXP[n] = δa_n

    def __init__(self, hidden_size: int, reset_after: bool = True) -> None:
        super().__init__(hidden_size)
        self.reset_after = bool(reset_after)
        # reset before the product: dHP[n] = δa_n = dXP[n], so one buffer serves both
        self.separate_recurrent_grad = self.reset_after

    def folded_bias_hh(self) -> slice:
        # reset after the product: b_hn sits inside r ⊙ (W_hn h + b_hn), so it stays per step
        return slice(0, 2 * self.hidden_size) if self.reset_after else slice(None)

    def allocate(self, steps: int, batch: int, dtype: np.dtype) -> dict[str, np.ndarray]:
        H = self.hidden_size
        one_n = np.zeros(3 * H, dtype=dtype)
        one_n[2 * H:] = 1.0                     # backward: σ' = (1-y)·y, tanh' = (1-y)·(1+y)
        cache = super().allocate(steps, batch, dtype)
        cache.update({
            # "gates" [r z n], (T, B, 3H): written over the runner's XP buffer (bind_projection)
            "dh": np.empty((2, batch, H), dtype=dtype),              # backward results δh_{t-1}, t % 2
            "one_n": one_n,
            "zero_h": np.zeros(H, dtype=dtype),                       # b_hn when use_bias=False
            "tmp": np.empty((batch, H), dtype=dtype),                 # scratch (B, H)
            "tmp3": np.empty((batch, 3 * H), dtype=dtype),            # scratch (B, 3H)
            "tmp3b": np.empty((batch, 3 * H), dtype=dtype),           # scratch (B, 3H)
        })
        if self.reset_after:
            cache["hp"] = np.empty((steps, batch, 3 * H), dtype=dtype)  # h·W_hhᵀ (+ b_hn on n)
        else:
            cache["rh"] = np.empty((steps, batch, H), dtype=dtype)      # r ∘ h_{t-1}
        return cache

    def bind_projection(self, cache: dict[str, np.ndarray], xp: np.ndarray | None) -> None:
        """Each step writes its gates over its own XP[t] (read once, never again): ``gates`` is XP
        (None in inference, where the gates are not kept)."""
        cache["gates"] = xp

    # -- forward ----------------------------------------------------------------------------
    def step_forward(self, t: int, xp_t: np.ndarray, states: tuple[np.ndarray, ...],
                     params: dict[str, np.ndarray], cache: dict[str, Any],
                     out: tuple[np.ndarray, ...]) -> tuple[np.ndarray, ...]:
        """``xp_t`` = x·W_ihᵀ + b_ih + b_hh on the folded blocks (r, z; all three if reset before)."""
        (h_prev,) = states
        H = self.hidden_size
        a = xp_t                                                # (B, 3H), becomes [r z n] (= gates[t])
        tmp = cache["tmp"]
        W_t = self.weight_hh_t(params)                         # weight_hhᵀ (H, 3H)
        b = params.get("bias_hh")
        b_hn = cache["zero_h"] if b is None else b[2 * H:]
        if self.reset_after:
            hp = cache["hp"][t]
            self.times_weight_t(h_prev, params["weight_hh"], W_t, hp)   # h_{t-1}·W_hhᵀ (all 3 blocks)
            if self.fused:                                  # the lines below, one compiled pass
                _kernels.get("gru_forward")(hp, a, b_hn, h_prev, out[0])   # a = xp_t, in place
                return out
            hp[:, 2 * H:] += b_hn                               # W_hn h + b_hn  (kept for backward)
            rz, r, n = a[:, :2 * H], a[:, :H], a[:, 2 * H:]
            np.add(hp[:, :2 * H], xp_t[:, :2 * H], out=rz)      # r, z pre-activations
            self._sigmoid_(rz)                                  # r_t, z_t
            np.multiply(r, hp[:, 2 * H:], out=tmp)              # r ⊙ (W_hn h + b_hn)
            n += tmp                                            # W_in x + b_in + r ⊙ (…)
        else:
            rz, r, n = a[:, :2 * H], a[:, :H], a[:, 2 * H:]
            hw = cache["tmp3"][:, :2 * H]
            W, left = params["weight_hh"], weight_left(h_prev.shape[0], params["weight_hh"])  # as step_params chose
            self.times_weight_t(h_prev, W[:2 * H], W_t[:, :2 * H], hw, left)   # h_{t-1}·[W_r W_z]
            rz += hw                                            # x·[U_r U_z] + b + …: pre-activations
            self._sigmoid_(rz)                                  # r_t, z_t
            rh = cache["rh"][t]
            np.multiply(r, h_prev, out=rh)                      # r_t ∘ h_{t-1}
            self.times_weight_t(rh, W[2 * H:], W_t[:, 2 * H:], tmp, left)   # (r∘h)·W_h
            n += tmp                                            # x·U_h + b_in + b_hn + (r∘h)·W_h
        self._output_numpy(a, h_prev, out[0])
        return out

    def _output_numpy(self, a: np.ndarray, h_prev: np.ndarray, h: np.ndarray) -> None:
        H = self.hidden_size
        z, n = a[:, H:2 * H], a[:, 2 * H:]
        np.tanh(n, out=n)                                       # n = h̃_t
        np.subtract(h_prev, n, out=h)                           # h_{t-1} - n
        h *= z                                                  # z ∘ (h_{t-1} - n)
        h += n                                                  # h_t = (1 - z)∘n + z∘h_{t-1}

    @staticmethod
    def _sigmoid_(a: np.ndarray) -> None:
        """σ(a) = ½·tanh(a/2) + ½ in place: one transcendental call, dtype kept."""
        a *= 0.5
        np.tanh(a, out=a)
        a *= 0.5
        a += 0.5

    # -- backward ---------------------------------------------------------------------------
    def step_backward(self, t: int, d_states: tuple[np.ndarray, ...], prev_states: tuple[np.ndarray, ...],
                      params: dict[str, np.ndarray], cache: dict[str, Any],
                      dxp_t: np.ndarray, dhp_t: np.ndarray) -> tuple[np.ndarray, ...]:
        (dh,) = d_states
        (h_prev,) = prev_states
        H = self.hidden_size
        G = cache["gates"][t]
        dhz, dh_prev = cache["tmp"], cache["dh"][t % 2]
        W = params["weight_hh"]
        if self.reset_after and self.fused:                 # the NumPy lines, one compiled pass
            _kernels.get("gru_backward")(dh, G, cache["hp"][t], h_prev, dxp_t, dhp_t, dhz)
            self.times_weight(dhp_t, W, dh_prev)                # dHP·weight_hh
            dh_prev += dhz                                      # + δh' ∘ z
            return (dh_prev,)
        r, z, n = G[:, :H], G[:, H:2 * H], G[:, 2 * H:]
        da_rz, da_r, da_z, da_n = dxp_t[:, :2 * H], dxp_t[:, :H], dxp_t[:, H:2 * H], dxp_t[:, 2 * H:]
        D, tmp = cache["tmp3"], cache["tmp3b"]
        # derivatives of all three nonlinearities at once: (1 - y)·(y + [0, 0, 1])
        np.subtract(1, G, out=D)                                # 1 - y
        np.add(G, cache["one_n"], out=tmp)                      # y on r, z;  1 + y on n
        D *= tmp                                                # r(1-r), z(1-z), 1-n²
        np.multiply(dh, z, out=dhz)                             # δh' ∘ z   (direct path to h_{t-1})
        np.subtract(dh, dhz, out=da_n)                          # δn = δh' ∘ (1 - z)
        da_n *= D[:, 2 * H:]                                    # δa_n = δn ∘ (1 - n²)
        np.subtract(h_prev, n, out=da_z)                        # h_{t-1} - n
        da_z *= dh                                              # δz = δh' ∘ (h_{t-1} - n)
        if self.reset_after:
            np.multiply(da_n, cache["hp"][t][:, 2 * H:], out=da_r)   # δr = δa_n ∘ (W_hn h + b_hn)
            da_rz *= D[:, :2 * H]                               # δa_r, δa_z
            dhp_t[:, :2 * H] = da_rz                            # dHP[r,z] = dXP[r,z]
            np.multiply(da_n, r, out=dhp_t[:, 2 * H:])          # dHP[n] = δa_n ∘ r
            self.times_weight(dhp_t, W, dh_prev)                # dHP·weight_hh
        else:
            drh = da_n @ W[2 * H:]                              # δ(r∘h) = δa_n·W_hn
            np.multiply(drh, h_prev, out=da_r)                  # δr = δ(r∘h) ∘ h_{t-1}
            da_rz *= D[:, :2 * H]                               # δa_r, δa_z
            self.times_weight(da_rz, W[:2 * H], dh_prev)        # dHP[r,z]·weight_hh[r,z]
            drh *= r
            dh_prev += drh                                      # + δ(r∘h) ∘ r
        dh_prev += dhz                                          # + δh' ∘ z
        return (dh_prev,)

    def weight_hh_grad(self, dHP: np.ndarray, h_prev: np.ndarray, cache: dict[str, Any]) -> np.ndarray:
        """``d weight_hh``; with ``reset_after=False`` the n block's input is ``r_t ∘ h_{t-1}``."""
        if self.reset_after:
            return super().weight_hh_grad(dHP, h_prev, cache)
        H = self.hidden_size
        d = dHP.reshape(-1, 3 * H)
        out = np.empty((3 * H, H), dtype=dHP.dtype)
        np.matmul(d[:, :2 * H].T, h_prev.reshape(-1, H), out=out[:2 * H])     # Σ δa_{r,z}ᵀ·h_{t-1}
        np.matmul(d[:, 2 * H:].T, cache["rh"].reshape(-1, H), out=out[2 * H:])  # Σ δa_nᵀ·(r∘h)
        return out

    def get_config(self) -> dict[str, Any]:
        return {"reset_after": self.reset_after}
