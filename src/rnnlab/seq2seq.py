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

Shapes: source ids ``(B, S)``, target ids ``(B, T)``, hidden ``H``, embedding ``E``, vocabularies
``V_in``, ``V_out``.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from . import losses, optim
from .errors import InputError
from .layers.dense import Dense
from .layers.embedding import Embedding
from .registry import make_recurrent as _recurrent
from .validation import check_mask

STRUCTURES = ("context", "state")


class Seq2Seq:
    """Encoder–decoder over token ids. ``bos`` is the id fed to the decoder before the first output."""

    def __init__(self, in_vocab: int, out_vocab: int, *, hidden: int = 64, embed: int = 16, cell: str = "gru",
                 structure: str = "state", bos: int = 0, seed: int = 0, dtype: str = "float32") -> None:
        if structure not in STRUCTURES:
            raise InputError(f"structure: expected one of {STRUCTURES}, got {structure!r}")
        self.structure, self.bos, self.hidden = structure, int(bos), int(hidden)
        self.dtype = np.dtype(dtype)
        rng = np.random.default_rng(seed)
        self.src_embed = Embedding(in_vocab, embed)
        self.encoder = _recurrent(cell, hidden)
        self.tgt_embed = Embedding(out_vocab, embed)
        self.decoder = _recurrent(cell, hidden, return_sequences=True)
        self.out = Dense(out_vocab)
        self.src_embed.build(1, rng, self.dtype)
        self.encoder.build(embed, rng, self.dtype)
        self.tgt_embed.build(1, rng, self.dtype)
        self.decoder.build(embed + (hidden if structure == "context" else 0), rng, self.dtype)
        self.out.build(hidden, rng, self.dtype)
        self.loss = losses.get("categorical_crossentropy")
        self.layers = {"src_embed": self.src_embed, "encoder": self.encoder, "tgt_embed": self.tgt_embed,
                       "decoder": self.decoder, "out": self.out}

    def named_params(self) -> list[tuple[str, np.ndarray, np.ndarray]]:
        return [t for name, layer in self.layers.items() for t in layer.named_params(name + ".")]

    def zero_grad(self) -> None:
        for _, _, g in self.named_params():
            g.fill(0)

    # -- teacher-forced forward / backward ------------------------------------------------------
    def _shift(self, tgt: np.ndarray) -> np.ndarray:
        """Decoder inputs: ``<bos>, y_1, …, y_{T-1}``."""
        return np.concatenate([np.full((len(tgt), 1), self.bos, dtype=tgt.dtype), tgt[:, :-1]], axis=1)

    def forward(self, src: np.ndarray, tgt: np.ndarray, src_mask=None, tgt_mask=None) -> np.ndarray:
        """Logits ``(B, T, V_out)`` with teacher forcing."""
        self.encoder.forward(self.src_embed.forward(src), mask=src_mask)
        context = self.encoder.final_state
        dec_in = self.tgt_embed.forward(self._shift(tgt))
        if self.structure == "context":
            c = np.broadcast_to(context[0][:, None, :], dec_in.shape[:2] + (self.hidden,))
            dec_out = self.decoder.forward(np.concatenate([dec_in, c], axis=2), mask=tgt_mask)
        else:
            dec_out = self.decoder.forward(dec_in, mask=tgt_mask, initial_state=context)
        return self.out.forward(dec_out)

    def backward(self, dlogits: np.ndarray) -> None:
        d_dec_in = self.decoder.backward(self.out.backward(dlogits))
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

    def _check(self, src, tgt, src_mask, tgt_mask):
        src, tgt = np.asarray(src), np.asarray(tgt)
        for name, a in (("src", src), ("tgt", tgt)):
            if a.ndim != 2 or not np.issubdtype(a.dtype, np.integer):
                raise InputError(f"{name}: expected integer token ids of shape (batch, time), got {a.shape} {a.dtype}")
        if len(src) != len(tgt):
            raise InputError(f"src and tgt disagree: {len(src)} and {len(tgt)} sequences")
        return (src, tgt, check_mask(src_mask, *src.shape, "src_mask"), check_mask(tgt_mask, *tgt.shape, "tgt_mask"))

    def loss_value(self, src, tgt, src_mask=None, tgt_mask=None) -> float:
        return float(self.loss.forward(self.forward(src, tgt, src_mask, tgt_mask), tgt, tgt_mask))

    def fit(self, src, tgt, *, src_mask=None, tgt_mask=None, epochs: int = 10, batch_size: int = 64,
            lr: float = 3e-3, clipnorm: float | None = 5.0, seed: int = 0, validation=None,
            verbose: int = 0) -> dict[str, list[float]]:
        """Adam with teacher forcing; returns ``{"loss": [...], "val_sequence_accuracy": [...]}``."""
        src, tgt, src_mask, tgt_mask = self._check(src, tgt, src_mask, tgt_mask)
        opt = optim.Adam(lr, clipnorm=clipnorm)
        rng = np.random.default_rng(seed)
        history: dict[str, list[float]] = {"loss": []}
        for epoch in range(1, epochs + 1):
            order, total = rng.permutation(len(src)), 0.0
            for i in range(0, len(src), batch_size):
                idx = order[i:i + batch_size]
                sm = None if src_mask is None else src_mask[idx]
                tm = None if tgt_mask is None else tgt_mask[idx]
                self.zero_grad()
                logits = self.forward(src[idx], tgt[idx], sm, tm)
                total += self.loss.forward(logits, tgt[idx], tm) * len(idx)
                self.backward(self.loss.backward())
                opt.step(self.named_params())
            history["loss"].append(total / len(src))
            if validation is not None:
                acc = self.sequence_accuracy(*validation)
                history.setdefault("val_sequence_accuracy", []).append(acc)
            if verbose:
                print(f"epoch {epoch}/{epochs}  " + "  ".join(f"{k} {v[-1]:.4g}" for k, v in history.items()))
        return history

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

    def get_config(self) -> dict[str, Any]:
        return {"structure": self.structure, "hidden": self.hidden, "bos": self.bos}
