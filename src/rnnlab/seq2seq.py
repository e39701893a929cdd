"""Sequence to sequence (the lecture's 20.3): an encoder–decoder with both decoder structures.

The encoder reads the source ``x_1 … x_S`` and its final state is the context ``c = h_S``.
The lecture gives two ways for the decoder to use it:

| ``structure`` | lecture | decoder step |
|---|---|---|
| ``"context"`` | 第一种结构: ``y_t = f(y_{t-1}, h'_{t-1}, c)`` | input ``[emb(y_{t-1}); c]`` at **every** step, ``h'_0 = 0`` |
| ``"state"``   | 第二种结构: ``y_1 = f(y_0, h'_0, c)``, ``y_t = f(y_{t-1}, h'_{t-1})`` | ``c`` only as the initial state ``h'_0 = c`` |

Training uses teacher forcing: the decoder's input at step t is the true previous token
(``<bos>`` at t = 1); the loss is softmax + cross-entropy at every target step (padded steps
masked). Gradients flow from the decoder back into the encoder through ``c``: through the
decoder's ``d_initial_state`` (``"state"``) or through the sum over steps of the gradient of the
``c`` half of each decoder input (``"context"``). Decoding is greedy, one step at a time.

It is a :class:`~rnnlab.Model`: it trains with the common ``fit`` (callbacks, progress,
checkpoints), saves and loads. Inputs are the pair ``(src, tgt)`` with masks
``(src_mask, tgt_mask)``; the targets are ``tgt`` itself (the decoder's inputs are ``tgt``
shifted right behind ``bos``)::

    model = Seq2Seq(V_in, V_out, hidden=64).compile(optimizer="adam", lr=3e-3, clipnorm=5.0)
    model.fit((src, tgt), tgt, mask=(src_mask, tgt_mask), epochs=20, batch_size=64)

Shapes: source ids ``(B, S)``, target ids ``(B, T)``, hidden ``H``, embedding ``E``, vocabularies
``V_in``, ``V_out``.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from . import losses
from .errors import InputError
from .layers.dense import Dense
from .layers.embedding import Embedding
from .model import Model
from .registry import make_recurrent
from .validation import check_mask

STRUCTURES = ("context", "state")


class Seq2Seq(Model):
    """Encoder–decoder over token ids. ``bos`` is the id fed to the decoder before the first output."""

    def __init__(self, in_vocab: int, out_vocab: int, *, hidden: int = 64, embed: int = 16, cell: str = "gru",
                 structure: str = "state", bos: int = 0, seed: int = 0, dtype: str = "float32") -> None:
        super().__init__(seed=seed, dtype=dtype)
        if structure not in STRUCTURES:
            raise InputError(f"structure: expected one of {STRUCTURES}, got {structure!r}")
        self.in_vocab, self.out_vocab, self.embed, self.cell = int(in_vocab), int(out_vocab), int(embed), cell
        self.structure, self.bos, self.hidden = structure, int(bos), int(hidden)
        rng = np.random.default_rng(seed)
        self.src_embed = Embedding(in_vocab, embed)
        self.encoder = make_recurrent(cell, hidden)
        self.tgt_embed = Embedding(out_vocab, embed)
        self.decoder = make_recurrent(cell, hidden, return_sequences=True)
        self.out = Dense(out_vocab)
        self.src_embed.build(1, rng, self.dtype)
        self.encoder.build(embed, rng, self.dtype)
        self.tgt_embed.build(1, rng, self.dtype)
        self.decoder.build(embed + (hidden if structure == "context" else 0), rng, self.dtype)
        self.out.build(hidden, rng, self.dtype)
        self.compile()

    def compile(self, loss: Any = "categorical_crossentropy", optimizer: Any = "adam", metrics=(),
                **optimizer_kwargs: Any) -> "Seq2Seq":
        """Softmax + cross-entropy at every target step (the loss is fixed); choose the optimizer."""
        if losses.get(loss).name != "categorical_crossentropy":
            raise InputError(f"Seq2Seq: the loss is softmax + categorical cross-entropy, got {loss!r}")
        return super().compile(loss, optimizer, metrics, **optimizer_kwargs)

    def get_config(self) -> dict[str, Any]:
        return {"in_vocab": self.in_vocab, "out_vocab": self.out_vocab, "hidden": self.hidden,
                "embed": self.embed, "cell": self.cell, "structure": self.structure, "bos": self.bos,
                "seed": self.seed, "dtype": self.dtype.name}

    # -- inputs ---------------------------------------------------------------------------------
    def check_inputs(self, x: Any, mask: Any = None, name: str = "x") -> tuple[tuple, tuple | None]:
        """``x = (src, tgt)`` integer ids ``(B, S)``, ``(B, T)``; ``mask = (src_mask, tgt_mask)`` or None."""
        if not isinstance(x, (tuple, list)) or len(x) != 2:
            raise InputError(f"{name}: Seq2Seq expects the pair (src, tgt) of token-id arrays, got {type(x).__name__}")
        masks = (None, None) if mask is None else tuple(mask)
        if len(masks) != 2:
            raise InputError(f"{name} mask: expected (src_mask, tgt_mask), got {len(masks)} entries")
        out = []
        for part, a, vocab in (("src", x[0], self.in_vocab), ("tgt", x[1], self.out_vocab)):
            a = np.asarray(a)
            if a.ndim != 2 or not np.issubdtype(a.dtype, np.integer):
                raise InputError(f"{part}: expected integer token ids of shape (batch, time), got {a.shape} {a.dtype}")
            if a.size and (a.min() < 0 or a.max() >= vocab):
                raise InputError(f"{part}: ids must lie in [0, {vocab}), got min {a.min()}, max {a.max()}")
            out.append(a)
        if len(out[0]) != len(out[1]):
            raise InputError(f"src and tgt disagree: {len(out[0])} and {len(out[1])} sequences")
        m = (check_mask(masks[0], *out[0].shape, "src_mask"), check_mask(masks[1], *out[1].shape, "tgt_mask"))
        return tuple(out), (None if m[0] is None and m[1] is None else m)

    def output_mask(self, mask: Any) -> np.ndarray | None:
        return None if mask is None else mask[1]

    # -- teacher-forced forward / backward ------------------------------------------------------
    def _shift(self, tgt: np.ndarray) -> np.ndarray:
        """Decoder inputs: ``<bos>, y_1, …, y_{T-1}``."""
        return np.concatenate([np.full((len(tgt), 1), self.bos, dtype=tgt.dtype), tgt[:, :-1]], axis=1)

    def forward(self, x: tuple, mask: Any = None, training: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
        """Logits ``(B, T, V_out)`` with teacher forcing, and the target mask."""
        src, tgt = x
        src_mask, tgt_mask = (None, None) if mask is None else mask
        self.encoder.forward(self.src_embed.forward(src), mask=src_mask, training=training)
        context = self.encoder.final_state
        dec_in = self.tgt_embed.forward(self._shift(tgt))
        if self.structure == "context":
            c = np.broadcast_to(context[0][:, None, :], dec_in.shape[:2] + (self.hidden,))
            dec_out = self.decoder.forward(np.concatenate([dec_in, c], axis=2), mask=tgt_mask, training=training)
        else:
            dec_out = self.decoder.forward(dec_in, mask=tgt_mask, training=training, initial_state=context)
        return self.out.forward(dec_out), tgt_mask

    def backward(self, d_outputs: np.ndarray) -> None:
        d_dec_in = self.decoder.backward(self.out.backward(d_outputs))
        n_states = len(self.encoder.cell.state_names)
        if self.structure == "context":
            e = self.tgt_embed.output_size
            self.tgt_embed.backward(d_dec_in[:, :, :e])
            d_context = [d_dec_in[:, :, e:].sum(axis=1)] + [None] * (n_states - 1)   # c fed at every step
        else:
            self.tgt_embed.backward(d_dec_in)
            d_context = list(self.decoder.d_initial_state)                            # c = h'_0
        d_src = self.encoder.backward(np.zeros_like(self.encoder.final_state[0]), d_final_state=d_context)
        self.src_embed.backward(d_src)

    # -- inference ------------------------------------------------------------------------------
    def generate(self, src, steps: int, src_mask=None) -> np.ndarray:
        """Greedy decoding: ``(B, steps)`` token ids, each step fed the previous prediction."""
        src = np.asarray(src)
        self.encoder.forward(self.src_embed.forward(src), mask=check_mask(src_mask, *src.shape, "src_mask"))
        context = self.encoder.final_state
        state = None if self.structure == "context" else context
        token = np.full((len(src), 1), self.bos, dtype=np.int64)
        out = np.empty((len(src), steps), dtype=np.int64)
        for t in range(steps):
            inp = self.tgt_embed.forward(token)
            if self.structure == "context":
                inp = np.concatenate([inp, context[0][:, None, :]], axis=2)
            h = self.decoder.forward(inp, initial_state=state)
            state = self.decoder.final_state
            token = self.out.forward(h).argmax(axis=2)
            out[:, t] = token[:, 0]
        return out

    def sequence_accuracy(self, src, tgt, src_mask=None, tgt_mask=None) -> float:
        """Fraction of sequences whose greedy decoding equals the target on every valid step."""
        tgt = np.asarray(tgt)
        pred = self.generate(src, tgt.shape[1], src_mask)
        right = (pred == tgt) if tgt_mask is None else ((pred == tgt) | ~np.asarray(tgt_mask, bool))
        return float(np.mean(right.all(axis=1)))
