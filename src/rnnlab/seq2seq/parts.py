"""The pieces of the encoder–decoder: the encoder stack, the context ``c`` and the decoder's initial states.

Shapes: B batch, S source steps, H hidden units per direction, D = H (or 2H with a bidirectional
encoder) — the encoder's output size and the decoder's hidden size; ``L`` stacked layers.

| function | in | out |
|---|---|---|
| :func:`encoder_forward` | embedded source (B, S, E) | top outputs ``h_1 … h_S`` (B, S, D), each layer's final state |
| :func:`make_context` | top outputs, final states, mask | ``c`` (B, D) |
| :func:`decoder_initial_states` | ``c``, final states | one state tuple per decoder layer (or None: zeros) |
| :func:`encoder_backward` | d outputs, d final states | d embedded source |

Contexts (the lecture's three choices, selected by name):

| ``context`` | formula | parameters |
|---|---|---|
| ``"last"`` | ``c = h_S`` (the last valid step; bidirectional: ``[→h_S; ←h_1]``) | none |
| ``"transform"`` | ``c = tanh(W_g h_S + b_g)`` | ``bridge`` Dense (D → D) |
| ``"pool"`` | ``c = tanh(W_g · (Σ_s m_s h_s / Σ_s m_s) + b_g)`` (masked mean over all steps) | ``bridge`` Dense (D → D) |
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from ..layers.base import Layer
from ..layers.bidirectional import Bidirectional

CONTEXTS = ("last", "transform", "pool")
States = tuple[np.ndarray, ...]


def final_state(layer: Layer) -> States:
    """A layer's final state tuple; a bidirectional layer's directions concatenated per state."""
    if isinstance(layer, Bidirectional):
        fwd, bwd = layer.final_state
        return tuple(np.concatenate([f, b], axis=1) for f, b in zip(fwd, bwd))
    return tuple(layer.final_state)


def split_state_grads(layer: Layer, d: Sequence[np.ndarray | None] | None):
    """``d_final_state`` in the form the layer's ``backward`` takes (bidirectional: the two halves)."""
    if d is None or not isinstance(layer, Bidirectional):
        return d
    h = layer.hidden_size
    return (tuple(None if x is None else x[:, :h] for x in d), tuple(None if x is None else x[:, h:] for x in d))


def encoder_forward(layers: Sequence[Layer], x: np.ndarray, mask: np.ndarray | None,
                    training: bool) -> tuple[np.ndarray, list[States]]:
    """Run the stack (every layer returns every step): top outputs (B, S, D) and final states."""
    finals = []
    for layer in layers:
        x = layer.forward(x, mask=mask, training=training)
        finals.append(final_state(layer))
    return x, finals


def encoder_backward(layers: Sequence[Layer], d_out: np.ndarray,
                     d_finals: Sequence[list[np.ndarray | None] | None]) -> np.ndarray:
    """BPTT down the stack; ``d_finals[l]``: gradient of layer l's final states (or None)."""
    for layer, d_fin in zip(reversed(layers), reversed(list(d_finals))):
        d_out = layer.backward(d_out, d_final_state=split_state_grads(layer, d_fin))
    return d_out


def masked_mean(h: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    """``Σ_s m_s h_s / Σ_s m_s`` over the source steps: (B, D)."""
    if mask is None:
        return h.mean(axis=1)
    m = mask[:, :, None].astype(h.dtype)
    return (h * m).sum(axis=1) / np.maximum(m.sum(axis=1), 1.0)


def masked_mean_backward(d_mean: np.ndarray, shape: tuple[int, ...], mask: np.ndarray | None,
                         dtype) -> np.ndarray:
    if mask is None:
        return np.broadcast_to(d_mean[:, None, :] / shape[1], shape).astype(dtype)
    m = mask[:, :, None].astype(dtype)
    return m * (d_mean / np.maximum(m.sum(axis=1), 1.0))[:, None, :]


def make_context(kind: str, bridge: Layer | None, enc_out: np.ndarray, finals: list[States],
                 mask: np.ndarray | None) -> np.ndarray:
    """``c`` (B, D) of ``kind`` (see the module table); ``bridge`` is the Dense of g (or None)."""
    if kind == "last":
        return finals[-1][0]
    summary = finals[-1][0] if kind == "transform" else masked_mean(enc_out, mask)
    return np.tanh(bridge.forward(summary))


def context_backward(kind: str, bridge: Layer | None, c: np.ndarray, d_c: np.ndarray, enc_out: np.ndarray,
                     mask: np.ndarray | None, d_enc_out: np.ndarray, d_finals: list[list]) -> None:
    """Route ``dL/dc`` into the encoder: into ``d_finals[-1][0]`` (last, transform) or ``d_enc_out`` (pool)."""
    if kind == "last":
        d_finals[-1][0] = d_c if d_finals[-1][0] is None else d_finals[-1][0] + d_c
        return
    d_summary = bridge.backward(d_c * (1.0 - c * c))                   # through tanh and W_g
    if kind == "transform":
        d_finals[-1][0] = d_summary if d_finals[-1][0] is None else d_finals[-1][0] + d_summary
    else:
        d_enc_out += masked_mean_backward(d_summary, enc_out.shape, mask, enc_out.dtype)


def decoder_initial_states(structure: str, kind: str, c: np.ndarray, finals: list[States],
                           n_layers: int, n_states: int) -> list[States | None]:
    """Structure ``"state"``: with ``"last"`` decoder layer l starts from encoder layer l's final
    state (every state tensor, e.g. LSTM's h and cell); otherwise every decoder layer starts from
    ``h'_0 = c`` (other states 0). Structure ``"context"``: zeros (None)."""
    if structure != "state":
        return [None] * n_layers
    if kind == "last":
        return [tuple(f) for f in finals]
    zeros = tuple(np.zeros_like(c) for _ in range(n_states - 1))
    return [(c,) + zeros for _ in range(n_layers)]
