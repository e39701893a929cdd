"""Gradient flow through time: ``‖∂L/∂h_t‖`` at every step of a model's first recurrent layer.

The lecture (LSTM section) writes the error term carried back from step t to an earlier step k
of a simple RNN as::

    δ_k = δ_t · Π_{i=k}^{t-1} diag[f'(z_i)] · W

With a squashing f (f' ≤ 1) and a small W each factor shrinks δ, so ‖δ_k‖ decays geometrically
as k moves away from t: the **vanishing gradient**. With a large W the factors exceed 1 and
‖δ_k‖ grows geometrically: the **exploding gradient**. LSTM (through its cell state,
``δc_{t-1} = δc_t ∘ f_t``) and GRU (through ``δh_{t-1} ⊇ δh_t ∘ z_t``) replace the product of
weight matrices by a product of gates that can stay near 1.

:func:`gradient_norms` measures that δ on a real batch. It runs the model forward, takes the
loss (the model's compiled loss, normally at the last step), backpropagates through the layers
above the first recurrent layer, and then walks the recurrent layer's backward loop itself —
the same loop as :meth:`rnnlab.layers.recurrent.Recurrent.backward`, calling the cell's
``step_backward`` with the layer's forward cache — recording the gradient that reaches each
step's state. Nothing in the model is changed: parameter gradients, stateful carries and the
optimizer are left as they were.

What is reported. The compiled losses average over the batch, ``L = (1/B) Σ_b L_b`` for a
last-step loss, so the gradient of sample b's own loss is ``∂L_b/∂h_t^(b) = B · ∂L/∂h_t^(b)``.
:func:`gradient_norms` returns, per step t, the Euclidean norm over the H hidden units of that
per-sample gradient, averaged over the samples (``reduce="mean"``), or the whole ``(B, T)``
matrix (``reduce="none"``). Multiplying by B makes the numbers independent of the batch size;
divide by B to get the gradient of the batch-mean loss (what ``torch`` ``.grad`` shows).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .errors import InputError, RnnlabError

__all__ = ["gradient_norms", "state_gradients"]


def _first_recurrent(model) -> int:
    from .layers.recurrent import Recurrent
    for i, layer in enumerate(model.layers):
        if isinstance(layer, Recurrent):
            return i
    kinds = ", ".join(type(l).__name__ for l in model.layers)
    raise InputError(f"gradient_norms: the model has no plain recurrent layer (SimpleRNN, LSTM, GRU) "
                     f"among its layers ({kinds}); Bidirectional wrappers are not supported")


def state_gradients(model, x: Any, y: Any, mask: Any = None, *, state: str = "h") -> np.ndarray:
    """``∂L/∂s_t`` for every step t of the first recurrent layer, time-major ``(T, B, H)``.

    ``L`` is the model's compiled loss on ``(x, y)`` (mean over the batch), computed with
    ``training=False`` (dropout off). ``state`` names the state: ``"h"`` (every cell) or ``"c"``
    (LSTM cell state). Entry ``[t]`` is the gradient of the state *after* input step t (the
    lecture's s_t, t = 0 … T-1), summed over every path: through the later steps of the
    recurrence and, for ``return_sequences=True``, directly through the layers above.
    Steps past a sequence's end (``mask`` False) are NaN. For a ``go_backwards`` layer,
    t counts the layer's own processing steps (t = 0 is each sequence's last valid input).
    """
    if model.compiled_loss is None:
        raise RnnlabError("gradient_norms: compile the model first (its loss defines L)")
    idx = _first_recurrent(model)
    layer = model.layers[idx]
    if state not in layer.cell.state_names or (state != "h" and type(layer.cell).__name__ != "LSTMCell"):
        raise InputError(f"state: expected one of {layer.cell.state_names} for {type(layer).__name__}, "
                         f"got {state!r}")
    k_state = layer.cell.state_names.index(state)

    # leave the model as it was: gradients of the layers we backpropagate through, stateful carries
    saved_grads = [g.copy() for _, _, g in model.named_params()]
    carries = {id(l): getattr(l, "_carry", None) for l in model._all_layers()}
    try:
        x, y, mask = model._check_xy(x, y, mask)
        logits = model.forward(x, mask, training=False)
        model.compiled_loss.forward(logits, y, model._loss_mask(logits))
        d = model.compiled_loss.backward()
        for layer_above in reversed(model.layers[idx + 1:]):
            d = layer_above.backward(d)
        grads = _walk_back(layer, d, k_state, x)
    finally:
        for (_, _, g), old in zip(model.named_params(), saved_grads):
            g[...] = old
        for l in model._all_layers():
            if hasattr(l, "_carry"):
                l._carry = carries[id(l)]
    return grads


def _walk_back(layer, dy: np.ndarray, k_state: int, x: np.ndarray) -> np.ndarray:
    """The backward loop of :class:`~rnnlab.layers.recurrent.Recurrent`, recording the state gradients.

    Mirrors ``Recurrent.backward`` line by line (time-major caches, masks, ``return_sequences``,
    ``go_backwards``) but writes into private buffers instead of the layer's ``grads``.
    """
    from .layers.recurrent import reverse_valid
    c = layer._cache
    if c is None:
        raise RuntimeError("gradient_norms: the recurrent layer has no forward cache")
    cell, p, h = layer.cell, layer.params, layer.hidden_size
    batch, steps, _ = c["shape"]
    hs, m_tm, lengths = c["hs"], c["m_tm"], c["lengths"]
    n_states = len(hs)
    gh = cell.gates * h
    dy = np.asarray(dy, dtype=layer.dtype)

    d_states = [np.zeros((batch, h), dtype=layer.dtype) for _ in range(n_states)]
    if layer.return_sequences:
        if layer.go_backwards:
            dy = reverse_valid(dy, lengths)
        dh_out = dy.transpose(1, 0, 2)
        if m_tm is not None:
            dh_out = dh_out * m_tm
    else:
        d_states[0] = d_states[0] + dy
        dh_out = None

    out = np.empty((steps, batch, h), dtype=np.float64)
    if k_state == 1:
        o_gate = _lstm_output_gate(layer, x, hs[0], lengths)
    dxp = np.empty((batch, gh), dtype=layer.dtype)          # scratch: dXP[t], dHP[t]
    dhp = np.empty_like(dxp) if cell.separate_recurrent_grad else dxp
    for t in range(steps - 1, -1, -1):
        if dh_out is not None:
            d_states[0] = d_states[0] + dh_out[t]
        if k_state == 0:
            out[t] = d_states[0]                             # ∂L/∂h_t, all paths summed
        else:  # LSTM c_t: the runner carries δc_t from step t+1; add the path through h_t = o∘tanh(c_t)
            tc = np.tanh(hs[1][t + 1].astype(np.float64))
            out[t] = d_states[1] + d_states[0] * o_gate[t] * (1 - tc * tc)
        prev = tuple(hs[k][t] for k in range(n_states))
        if m_tm is None:
            d_states = list(cell.step_backward(t, tuple(d_states), prev, p, c["cell"], dxp, dhp))
        else:
            m = m_tm[t]
            d_new = tuple(d * m for d in d_states)
            d_prev = cell.step_backward(t, d_new, prev, p, c["cell"], dxp, dhp)
            d_states = [dp + d * (1 - m) for dp, d in zip(d_prev, d_states)]
        d_states = [np.array(d, copy=True) for d in d_states]  # cells may return scratch views
    if m_tm is not None:
        out[m_tm[:, :, 0] == 0] = np.nan
    return out


def _lstm_output_gate(layer, x: np.ndarray, h: np.ndarray, lengths) -> np.ndarray:
    """``o_t = σ(x_t·W_ioᵀ + b_io + h_{t-1}·W_hoᵀ + b_ho)`` for every step, time-major ``(T, B, H)``.

    Recomputed from the parameters (PyTorch gate order i, f, g, o) and the stored states ``h``
    (``h[t]`` enters step t), so it does not depend on how the cell lays out its cache.
    """
    from .layers.recurrent import reverse_valid
    H, p = layer.hidden_size, layer.params
    x = np.asarray(x, dtype=np.float64)
    if layer.go_backwards:
        x = reverse_valid(x, lengths)
    a = x.transpose(1, 0, 2) @ p["weight_ih"][3 * H:].T.astype(np.float64)
    a += h[:-1].astype(np.float64) @ p["weight_hh"][3 * H:].T.astype(np.float64)
    if layer.use_bias:
        a += p["bias_ih"][3 * H:] + p["bias_hh"][3 * H:]
    return 1.0 / (1.0 + np.exp(-a))


def gradient_norms(model, x: Any, y: Any, mask: Any = None, *, reduce: str = "mean",
                   state: str = "h") -> np.ndarray:
    """``‖∂L_b/∂h_t‖`` for every time step t of the model's first recurrent layer.

    Args:
        model: a compiled :class:`~rnnlab.model.Sequential` with a SimpleRNN / LSTM / GRU layer;
            normally with a loss at the last step (``return_sequences=False`` + Dense).
        x, y: a batch and its targets. mask: optional ``(B, T)`` validity mask.
        reduce: ``"mean"`` — shape ``(T,)``, the per-sample norm averaged over the samples whose
            step t is valid; ``"none"`` — shape ``(B, T)``, NaN at padded steps.
        state: ``"h"`` (hidden state) or, for LSTM, ``"c"`` (cell state).

    Returns:
        float64 norms, index t = the state after input step t (t = T-1 is next to the loss).
        Per-sample means ``B · ∂L/∂h_t^(b)`` with ``L`` the batch-mean loss, i.e. the gradient of
        sample b's own loss when the loss is at the last step (see the module docstring).

    >>> import numpy as np, rnnlab
    >>> m = rnnlab.Sequential([rnnlab.SimpleRNN(8), rnnlab.Dense(1)], input_size=1, seed=0)
    >>> _ = m.compile(loss="mse")
    >>> x = np.random.default_rng(0).random((16, 30, 1)).astype(np.float32)
    >>> g = gradient_norms(m, x, x[:, 0])
    >>> g.shape, bool(g[0] < g[-1])
    ((30,), True)
    """
    if reduce not in ("mean", "none"):
        raise InputError(f"reduce: expected 'mean' or 'none', got {reduce!r}")
    g = state_gradients(model, x, y, mask, state=state)          # (T, B, H)
    per_sample = np.linalg.norm(g, axis=2).T * g.shape[1]         # (B, T), NaN stays NaN
    if reduce == "none":
        return per_sample
    valid = ~np.isnan(per_sample)
    counts = valid.sum(axis=0)
    sums = np.where(valid, per_sample, 0.0).sum(axis=0)
    return np.divide(sums, counts, out=np.full(sums.shape, np.nan), where=counts > 0)
