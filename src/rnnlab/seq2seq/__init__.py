"""Sequence to sequence (the lecture's 20.3): an encoder–decoder for inputs and outputs of unequal length.

The encoder reads the source ``x_1 … x_S`` into states ``h_1 … h_S``; a context ``c`` summarises
them; the decoder writes ``y_1 … y_T`` one token at a time, each step reading the previous token.

Two decoder structures (the lecture's), selected by ``structure``:

| ``structure`` | lecture | decoder step |
|---|---|---|
| ``"context"`` | 第一种结构: ``h'_t = f(y_{t-1}, h'_{t-1}, c)`` | input ``[emb(y_{t-1}); c]`` at **every** step, ``h'_0 = 0`` |
| ``"state"``   | 第二种结构: ``h'_1 = f(y_0, h'_0 = c)``, ``h'_t = f(y_{t-1}, h'_{t-1})`` | ``c`` only as the initial state |

× three contexts (``context``, :mod:`rnnlab.seq2seq.parts`): ``"last"`` ``c = h_S``; ``"transform"``
``c = tanh(W_g h_S + b_g)``; ``"pool"`` ``c = tanh(W_g mean_s h_s + b_g)`` (masked mean over all states)
× attention (``attention``, :mod:`rnnlab.layers.attention`): ``"none"``, ``"additive"`` (Bahdanau),
``"dot"`` / ``"general"`` (Luong). With attention each decoder state ``s_t`` reads its own context
``a_t = Σ_s α_ts h_s`` and the output is ``z_t = W_o tanh(W_c [a_t; s_t] + b_c) + b_o`` (Luong et
al.'s global attention, no input feeding, so teacher-forced training runs over all target steps at
once). Without it ``z_t = W_o s_t + b_o``.

Training uses teacher forcing: the decoder reads the true previous token (``<bos>`` first), or
with ``teacher_forcing`` < 1 its own previous greedy prediction at a seeded random subset of
steps; softmax + cross-entropy at every target step, padding masked. It is a
:class:`~rnnlab.Model`: the common ``fit`` (callbacks, checkpoints, clipping), save and load::

    model = Seq2Seq(V_in, V_out, hidden=64, attention="general").compile(optimizer="adam", lr=3e-3, clipnorm=5.0)
    model.fit((src, tgt), tgt, mask=(src_mask, tgt_mask), epochs=20, batch_size=64)
    rnnlab.decoding.beam_search(model, src, src_mask, beam=5, max_len=40)

Shapes: source ids ``(B, S)``, target ids ``(B, T)``, logits ``(B, T, V_out)``; see docs/seq2seq.md.
"""
from .model import ATTENTIONS, STRUCTURES, Seq2Seq, TeacherForcing
from .parts import CONTEXTS

__all__ = ["Seq2Seq", "STRUCTURES", "CONTEXTS", "ATTENTIONS", "TeacherForcing"]
