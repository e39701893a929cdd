"""One decoder step at a time (decoding, and teacher forcing with a ratio below 1).

The decoding state is a dict of arrays whose first axis is the sequence (``N`` = batch, or
batch × beam width), so that :mod:`rnnlab.decoding` can reorder it with one ``take`` per array:

| key | shape | what |
|---|---|---|
| ``enc`` | (N, S, D) | the encoder's outputs ``h_1 … h_S`` (attention's keys and values) |
| ``mask`` | (N, S) bool | real source positions |
| ``c`` | (N, D) | the context (fed at every step in structure ``"context"``) |
| ``states`` | L tuples of (N, D) | each decoder layer's state ``h'_{t-1}`` (and LSTM cell) |
| ``key_proj`` | (N, S, U) | additive attention only: ``W_k h_s + b``, made once per decode, not per step |

One step (the same formulas as the teacher-forced forward, for one ``t``)::

    e   = emb(y_{t-1})                        ([e; c] in structure "context")
    s_t = decoder layers (e, states)          (L stacked cells, one step)
    a_t, α_t = attention(s_t, h_1…h_S)        (with attention)
    h̃_t = tanh(W_c [a_t; s_t] + b_c)          (with attention; else h̃_t = s_t)
    z_t = W_o h̃_t + b_o                        logits (N, V)
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .parts import decoder_initial_states


def start_state(model, enc_out: np.ndarray, finals: list, c: np.ndarray, src_mask: np.ndarray | None) -> dict:
    """The decoding state before the first output (from an encoder pass already made)."""
    layers = model.dec_layers
    n_states = len(layers[0].cell.state_names)
    inits = decoder_initial_states(model.structure, model.context, c, finals, len(layers), n_states)
    zeros = tuple(np.zeros((len(c), model.d_model), dtype=model.dtype) for _ in range(n_states))
    mask = np.ones(enc_out.shape[:2], dtype=bool) if src_mask is None else np.asarray(src_mask, dtype=bool)
    state = {"enc": enc_out, "mask": mask, "c": c,
             "states": [zeros if i is None else tuple(np.asarray(s) for s in i) for i in inits]}
    if hasattr(model.attn, "key_projection"):      # valid while the weights stay (one decode)
        state["key_proj"] = model.attn.key_projection(enc_out)
    return state


def decoder_step(model, tokens: np.ndarray, state: dict[str, Any]) -> tuple[np.ndarray, dict, np.ndarray | None]:
    """Feed ``tokens`` (N,): ``(logits (N, V), next state, attention weights (N, S) or None)``."""
    e = model.tgt_embed.forward(np.asarray(tokens, dtype=np.int64).reshape(-1, 1))      # (N, 1, E)
    if model.structure == "context":
        e = np.concatenate([e, state["c"][:, None, :]], axis=2)
    s, new_states = e, []
    for layer, st in zip(model.dec_layers, state["states"]):
        s = layer.forward(s, initial_state=st)
        new_states.append(tuple(layer.final_state))
    alpha = None
    if model.attn is not None:
        kp = state.get("key_proj")
        a, alpha = model.attn.forward(s, state["enc"], state["mask"]) if kp is None else \
            model.attn.forward(s, state["enc"], state["mask"], key_projection=kp)
        s = np.tanh(model.combine.forward(np.concatenate([a, s], axis=2)))
        alpha = alpha[:, 0, :]
    logits = model.out.forward(s)[:, 0, :]
    return logits, {**state, "states": new_states}, alpha
