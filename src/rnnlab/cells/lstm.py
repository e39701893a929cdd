"""The long short-term memory (LSTM) cell: a hidden state h and a cell state c, three gates.

Forward, one step, in the lecture's row-vector notation (the lecture draws these in its LSTM
figure; U multiplies the input, W the previous hidden state, as in the simple RNN)::

    f_t = σ(h_{t-1}·W_f + x_t·U_f + b_f)          forget gate   (遗忘门)
    i_t = σ(h_{t-1}·W_i + x_t·U_i + b_i)          input gate    (输入门)
    c̃_t = tanh(h_{t-1}·W_c + x_t·U_c + b_c)       candidate cell state
    o_t = σ(h_{t-1}·W_o + x_t·U_o + b_o)          output gate   (输出门)
    c_t = f_t ∘ c_{t-1} + i_t ∘ c̃_t               cell state    (细胞状态)
    h_t = o_t ∘ tanh(c_t)                          hidden state / output

PyTorch's ``nn.LSTM`` (column vectors, gate order **i, f, g, o** in the fused matrices)::

    i = σ(W_ii x + b_ii + W_hi h + b_hi)        f = σ(W_if x + b_if + W_hf h + b_hf)
    g = tanh(W_ig x + b_ig + W_hg h + b_hg)     o = σ(W_io x + b_io + W_ho h + b_ho)
    c' = f ⊙ c + i ⊙ g                          h' = o ⊙ tanh(c')

so ``g`` is the lecture's ``c̃`` and, block by block (k ∈ {i, f, g=c, o})::

    U_k = weight_ih[k-block]ᵀ     W_k = weight_hh[k-block]ᵀ     b_k = bias_ih[k] + bias_hh[k]

Backward, one step (δ = dLoss/d·; δh_t and δc_t arrive from step t+1 and from the output)::

    δo_t      = δh_t ∘ tanh(c_t)
    δc_t     += δh_t ∘ o_t ∘ (1 - tanh²(c_t))       total gradient reaching c_t
    δi_t      = δc_t ∘ c̃_t        δc̃_t = δc_t ∘ i_t        δf_t = δc_t ∘ c_{t-1}
    δc_{t-1}  = δc_t ∘ f_t                          the cell-state path (the lecture's reference
                                                    implementation drops it; we keep it)
    δa_t      = [δi∘i(1-i), δf∘f(1-f), δc̃∘(1-c̃²), δo∘o(1-o)]   pre-activations (= dXP = dHP)
    δh_{t-1}  = δa_t·weight_hh                      (= Σ_k δa_k·W_kᵀ)
    dU, dW, db: formed by the runner with one product over all steps.

Shapes (B batch, H hidden, F input features):

| name             | shape       | lecture                    |
|------------------|-------------|----------------------------|
| x_t              | (B, F)      | x_t                        |
| weight_ih        | (4H, F)     | [U_i U_f U_c U_o]ᵀ         |
| weight_hh        | (4H, H)     | [W_i W_f W_c W_o]ᵀ         |
| bias_ih, bias_hh | (4H,)       | [b_i b_f b_c b_o] (sum)    |
| gates (cache)    | (T, B, 4H)  | [i_t f_t c̃_t o_t] (over XP) |
| h_t, c_t         | (B, H)      | h_t, c_t                   |

Speed: the three sigmoids and the tanh of the gates are one ``np.tanh`` over all 4H columns,
using ``σ(a) = ½·tanh(a/2) + ½``: the pre-activations are multiplied by
``s = [½, ½, 1, ½]`` (per block), passed through tanh, multiplied by ``s`` again and shifted by
``[½, ½, 0, ½]``. ``bias_hh`` arrives already added into ``x_t·U`` (the runner folds it in once
per sequence). In float32 with Numba installed, ``_forward_numpy`` and ``_backward_numpy`` —
the readable reference — are replaced by one compiled kernel each
(:mod:`rnnlab.cells._numba_kernels`: ``lstm_forward``, ``lstm_backward``), same formulas.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from . import _kernels
from .base import Cell


class LSTMCell(Cell):
    """One LSTM step on a batch; states ``(h, c)``; PyTorch gate order i, f, g, o."""

    gate_names = ("i", "f", "g", "o")    # PyTorch's block order; g is the lecture's c̃
    chrono_gates = {"f": +1, "i": -1}    # forget gate open, input gate closed: remember ~T steps
    state_names = ("h", "c")
    separate_recurrent_grad = False   # dHP = dXP: every block's pre-activation is xp + hp

    def allocate(self, steps: int, batch: int, dtype: np.dtype) -> dict[str, np.ndarray]:
        h = self.hidden_size
        scale = np.full(4 * h, 0.5, dtype=dtype)
        scale[2 * h:3 * h] = 1.0                     # g block: plain tanh
        shift = np.full(4 * h, 0.5, dtype=dtype)
        shift[2 * h:3 * h] = 0.0
        one_g = np.zeros(4 * h, dtype=dtype)
        one_g[2 * h:3 * h] = 1.0                     # backward: σ' = (1-y)·y, tanh' = (1-y)·(1+y)
        cache = super().allocate(steps, batch, dtype)
        cache.update({
            # "gates" [i f g o] after σ / tanh, (T, B, 4H): written over the runner's XP buffer
            # (bind_projection), whose x-part each step consumes — one (T, B, 4H) array, not two
            "hw": np.empty((batch, 4 * h), dtype=dtype),             # h_{t-1}·W, one step's scratch
            "tc": np.empty((steps, batch, h), dtype=dtype),          # tanh(c_t)
            # backward results δh_{t-1}, δc_{t-1}: the runner consumes them at the next step
            # down, so two slots alternate (t % 2) instead of one per step
            "dh": np.empty((2, batch, h), dtype=dtype),
            "dc": np.empty((2, batch, h), dtype=dtype),
            "scale": scale, "shift": shift, "one_g": one_g,
            "tmp": np.empty((batch, h), dtype=dtype),                # scratch (B, H)
            "tmp4": np.empty((batch, 4 * h), dtype=dtype),           # scratch (B, 4H)
        })
        return cache

    def bind_projection(self, cache: dict[str, np.ndarray], xp: np.ndarray | None) -> None:
        """Training: each step writes its gates over its own XP[t] (read once, never again):
        ``gates`` is XP. Inference (None): the gates go to the one-step scratch."""
        cache["gates"] = xp

    def state_grad(self, state: str, recorded: Sequence[np.ndarray], cache: dict[str, Any]) -> np.ndarray:
        """``∂L/∂c_t`` adds, to what the runner recorded, the path through ``h_t = o_t ⊙ tanh(c_t)``:
        ``δc_t += δh_t ⊙ o_t ⊙ (1 - tanh²(c_t))``; ``∂L/∂h_t`` is the recorded one."""
        if state != "c":
            return super().state_grad(state, recorded, cache)
        o, tc = cache["gates"][:, :, self.gate_slice("o")], cache["tc"]
        return recorded[1] + recorded[0] * o * (1 - tc * tc)

    # -- forward ----------------------------------------------------------------------------
    def step_forward(self, t: int, xp_t: np.ndarray, states: tuple[np.ndarray, ...],
                     params: dict[str, np.ndarray], cache: dict[str, Any],
                     out: tuple[np.ndarray, ...]) -> tuple[np.ndarray, ...]:
        h_prev, c_prev = states
        h, c = out
        hw = cache["hw"]                                        # (B, 4H) scratch
        self.times_weight_t(h_prev, params["weight_hh"], self.weight_hh_t(params), hw)   # h_{t-1}·W
        # gates [i f g o] = act(XP[t] + h_{t-1}·W), written over XP[t] (= cache["gates"][t])
        # for backward; in inference (nothing kept) into the scratch, which stays in L1
        a, b = (hw, xp_t) if cache["gates"] is None else (xp_t, hw)
        if self.fused:                                      # the lines below, one compiled pass
            _kernels.get("lstm_forward")(a, b, c_prev, c, cache["tc"][t], h, cache["scale"], cache["shift"])
        else:
            self._forward_numpy(a, b, c_prev, c, cache["tc"][t], h, cache)
        return out

    def _forward_numpy(self, a, xp_t, c_prev, c, tc, h, cache) -> None:
        """``a`` becomes the gates [i f g o]; ``a + xp_t`` are the pre-activations (one is XP[t],
        the other the step's h_{t-1}·W)."""
        H = self.hidden_size
        a += xp_t                                               # x_t·U + b + h_{t-1}·W: pre-activations
        s = cache["scale"]
        a *= s                                                  # a/2 on the i, f, o blocks
        np.tanh(a, out=a)                                       # tanh(a/2) | tanh(a_g) = c̃
        a *= s
        a += cache["shift"]                                     # σ(a) = ½tanh(a/2) + ½ on i, f, o
        i, f, g, o = a[:, :H], a[:, H:2 * H], a[:, 2 * H:3 * H], a[:, 3 * H:]
        tmp = cache["tmp"]
        np.multiply(f, c_prev, out=c)                           # f_t ∘ c_{t-1}
        np.multiply(i, g, out=tmp)                              # i_t ∘ c̃_t
        c += tmp                                                # c_t
        np.tanh(c, out=tc)                                      # tanh(c_t)
        np.multiply(o, tc, out=h)                               # h_t = o_t ∘ tanh(c_t)

    # -- backward ---------------------------------------------------------------------------
    def step_backward(self, t: int, d_states: tuple[np.ndarray, ...], prev_states: tuple[np.ndarray, ...],
                      params: dict[str, np.ndarray], cache: dict[str, Any],
                      dxp_t: np.ndarray, dhp_t: np.ndarray) -> tuple[np.ndarray, ...]:
        dh, dc = d_states
        _, c_prev = prev_states
        G, tc, dc_prev = cache["gates"][t], cache["tc"][t], cache["dc"][t % 2]
        if self.fused:                                      # the lines below, one compiled pass
            _kernels.get("lstm_backward")(dh, dc, G, tc, c_prev, dxp_t, dc_prev)
        else:
            self._backward_numpy(dh, dc, G, tc, c_prev, dxp_t, dc_prev, cache)
        dh_prev = cache["dh"][t % 2]
        self.times_weight(dxp_t, params["weight_hh"], dh_prev)    # δh_{t-1} = δa_t·weight_hh
        return (dh_prev, dc_prev)

    def _backward_numpy(self, dh, dc, G, tc, c_prev, dxp_t, dc_prev, cache) -> None:
        H = self.hidden_size
        G3 = G.reshape(G.shape[0], 4, H)                        # view: blocks i, f, g, o
        dct, tmp4 = cache["tmp"], cache["tmp4"]
        da3 = dxp_t.reshape(G3.shape)
        # total gradient reaching c_t: δc_t + δh_t ∘ o_t ∘ (1 - tanh²c_t)
        np.multiply(tc, tc, out=dct)
        np.subtract(1, dct, out=dct)                            # 1 - tanh²(c_t)
        dct *= G3[:, 3]                                         # ∘ o_t
        dct *= dh                                               # ∘ δh_t
        dct += dc                                               # + δc_t (from step t+1)
        # gradients of the gate outputs, written block by block into dXP[t]
        np.multiply(dct[:, None, :], G3[:, 2::-2], out=da3[:, 0::2])   # δi = δc∘c̃, δc̃ = δc∘i
        np.multiply(dct, c_prev, out=da3[:, 1])                 # δf = δc ∘ c_{t-1}
        np.multiply(dh, tc, out=da3[:, 3])                      # δo = δh ∘ tanh(c_t)
        # through the nonlinearities, all 4H at once: σ' = y(1-y), tanh' = (1-y)(1+y)
        np.subtract(1, G, out=tmp4)                             # 1 - y
        dxp_t *= tmp4
        np.add(G, cache["one_g"], out=tmp4)                     # y on i, f, o;  1 + y on g
        dxp_t *= tmp4                                           # δa_t (pre-activations)
        np.multiply(dct, G3[:, 1], out=dc_prev)                 # δc_{t-1} = δc_t ∘ f_t
