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
above the first recurrent layer, and then runs that layer's own backward with
``record_state_grads`` switched on, which keeps the gradient reaching each step's state. Nothing in the model is changed: parameter gradients, stateful carries and the
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
from .layers.recurrent import Recurrent

__all__ = ["gradient_norms", "state_gradients"]


def _first_recurrent(model) -> int:
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
    if state not in layer.cell.state_names:
        raise InputError(f"state: expected one of {layer.cell.state_names} for {type(layer).__name__}, "
                         f"got {state!r}")

    # leave the model as it was: gradients of the layers we backpropagate through, stateful carries
    saved_grads = [g.copy() for _, _, g in model.named_params()]
    recurrent = [l for l in model.layers_flat() if isinstance(l, Recurrent)]
    carries = [l.carried_state() for l in recurrent]
    try:
        d = _loss_gradient(model, x, y, mask)
        for layer_above in reversed(model.layers[idx + 1:]):
            d = layer_above.backward(d)
        grads = _walk_back(layer, d, state)
    finally:
        for (_, _, g), old in zip(model.named_params(), saved_grads):
            g[...] = old
        for l, carry in zip(recurrent, carries):
            l.set_carried_state(carry)
    return grads


def _loss_gradient(model, x: Any, y: Any, mask: Any) -> np.ndarray:
    """Forward with ``training=False``, the compiled loss, and ``∂L/∂logits``."""
    x, mask = model.check_inputs(x, mask)
    logits, out_mask = model.forward(x, mask, training=False)
    y = model.compiled_loss.check_target(y, logits.shape, mask=out_mask, dtype=model.dtype)
    model.compiled_loss.forward(logits, y, out_mask if logits.ndim == 3 else None)
    return model.compiled_loss.backward()


def _walk_back(layer, dy: np.ndarray, state: str) -> np.ndarray:
    """Run the layer's own backward with ``record_state_grads`` on and read ∂L/∂state_t.

    The runner records the gradient reaching each state at each step; the cell turns that into
    the total ∂L/∂state_t (:meth:`~rnnlab.cells.base.Cell.state_grad`): for the hidden state the
    recorded gradient itself, for the LSTM cell state plus the path through
    ``h_t = o_t ⊙ tanh(c_t)``, ``δc_t += δh_t ⊙ o_t ⊙ (1 - tanh²(c_t))``.
    """
    c = layer._cache
    if c is None:
        raise RuntimeError("gradient_norms: the recurrent layer has no forward cache")
    layer.record_state_grads = True
    try:
        layer.backward(dy)
    finally:
        layer.record_state_grads = False
    out = layer.cell.state_grad(state, layer.state_grads, c["cell"]).astype(np.float64)
    if c["m_tm"] is not None:
        out[c["m_tm"][:, :, 0] == 0] = np.nan
    return out


def gradient_norms(model, x: Any, y: Any, mask: Any = None, *, reduce: str = "mean",
                   state: str = "h") -> np.ndarray:
    """``‖∂L_b/∂h_t‖`` for every time step t of the model's first recurrent layer.

    Args:
        model: a compiled :class:`~rnnlab.Sequential` with a recurrent layer (SimpleRNN, LSTM, GRU, IndRNN);
            normally with a loss at the last step (``return_sequences=False`` + Dense).
        x, y: a batch and its targets. mask: optional ``(B, T)`` validity mask.
        reduce: ``"mean"`` — shape ``(T,)``, the per-sample norm averaged over the samples whose
            step t is valid; ``"none"`` — shape ``(B, T)``, NaN at padded steps.
        state: ``"h"`` (hidden state) or another of the cell's ``state_names`` (LSTM: ``"c"``).

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
