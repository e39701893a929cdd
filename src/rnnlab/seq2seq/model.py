"""``Seq2Seq``: the encoder–decoder model (see :mod:`rnnlab.seq2seq` for the structures and formulas)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .. import losses
from ..data.text import Vocabulary
from ..errors import InputError, ModelFileError
from ..layers.attention import AdditiveAttention, MultiplicativeAttention
from ..layers.base import Layer
from ..layers.bidirectional import Bidirectional
from ..layers.dense import Dense
from ..layers.dropout import Dropout
from ..layers.embedding import Embedding
from ..layers.recurrent import inference_mode
from ..model import Model
from ..registry import make_recurrent
from ..validation import check_mask
from . import parts
from .parts import CONTEXTS
from .stepper import decoder_step, start_state

STRUCTURES = ("context", "state")
ATTENTIONS = ("none", "additive", "dot", "general")
VOCAB_FILES = ("source_vocabulary.json", "target_vocabulary.json")


class TeacherForcing(Layer):
    """No parameters: the teacher-forcing ratio and the generator that draws, per target step,
    whether the decoder reads the true previous token (probability ``ratio``) or its own previous
    prediction. Its generator is spawned from the model's seed and saved in checkpoints."""

    def __init__(self, ratio: float = 1.0, name: str | None = None) -> None:
        super().__init__(name)
        self.ratio = float(ratio)
        self.rng = np.random.default_rng(0)

    def build(self, input_size: int, rng: np.random.Generator, dtype=np.float32) -> int:
        self.rng = np.random.default_rng(rng.bit_generator.seed_seq.spawn(1)[0])
        return super().build(input_size, rng, dtype)

    def get_config(self) -> dict[str, Any]:
        return {"ratio": self.ratio, "name": self.name}


class Seq2Seq(Model):
    """Encoder–decoder over token ids: ``x = (src, tgt)``, targets ``tgt``, logits ``(B, T, V_out)``.

    Args:
        in_vocab, out_vocab: vocabulary sizes of source and target.
        hidden: units per direction of each encoder layer; the decoder has ``D`` = hidden (or
            2·hidden with ``bidirectional``) units per layer.
        embed: embedding size (source and target).
        cell: recurrent cell name (``rnn``, ``lstm``, ``gru``, ...), encoder and decoder.
        structure: ``"context"`` (c at every decoder step) or ``"state"`` (c as the initial state).
        context: ``"last"``, ``"transform"`` or ``"pool"`` (see :mod:`rnnlab.seq2seq.parts`).
        attention: ``"none"``, ``"additive"``, ``"dot"`` or ``"general"``.
        layers: stacked layers in the encoder and in the decoder.
        bidirectional: the encoder reads the source both ways (outputs concatenated).
        attention_units: U of additive attention (default D).
        dropout: on the embeddings and before the output layer (training only).
        teacher_forcing: probability that the decoder reads the true previous token in training.
        bos: the target id fed before the first output; eos, pad: ids (decoding, masks) or None.
    """

    def __init__(self, in_vocab: int, out_vocab: int, *, hidden: int = 64, embed: int = 16, cell: str = "gru",
                 structure: str = "state", context: str = "last", attention: str = "none", layers: int = 1,
                 bidirectional: bool = False, attention_units: int | None = None, dropout: float = 0.0,
                 teacher_forcing: float = 1.0, bos: int = 0, eos: int | None = None, pad: int | None = None,
                 seed: int = 0, dtype: str = "float32") -> None:
        super().__init__(seed=seed, dtype=dtype)
        for name, value, allowed in (("structure", structure, STRUCTURES), ("context", context, CONTEXTS),
                                     ("attention", attention, ATTENTIONS)):
            if value not in allowed:
                raise InputError(f"{name}: expected one of {allowed}, got {value!r}")
        for name, value in (("in_vocab", in_vocab), ("out_vocab", out_vocab), ("hidden", hidden),
                            ("embed", embed), ("layers", layers)):
            if isinstance(value, bool) or int(value) != value or value < 1:
                raise InputError(f"Seq2Seq {name}: expected a positive integer, got {value!r}")
        if not 0.0 <= float(teacher_forcing) <= 1.0:          # (NaN fails both comparisons)
            raise InputError(f"teacher_forcing: expected a probability in [0, 1], got {teacher_forcing!r}")
        if not 0.0 <= float(dropout) < 1.0:
            raise InputError(f"Seq2Seq dropout: expected a rate in [0, 1), got {dropout!r}")
        for name, value in (("bos", bos), ("eos", eos), ("pad", pad)):
            if value is not None and not 0 <= int(value) < int(out_vocab):
                raise InputError(f"Seq2Seq {name}: expected a target id in [0, {out_vocab}), got {value!r}")
        self.in_vocab, self.out_vocab, self.hidden, self.embed = int(in_vocab), int(out_vocab), int(hidden), int(embed)
        self.cell, self.structure, self.context, self.attention_kind = cell, structure, context, attention
        self.n_layers, self.bidirectional, self.dropout = int(layers), bool(bidirectional), float(dropout)
        self.teacher_forcing = float(teacher_forcing)
        self.bos, self.eos, self.pad = int(bos), None if eos is None else int(eos), None if pad is None else int(pad)
        self.d_model = self.hidden * (2 if self.bidirectional else 1)
        self.attention_units = int(attention_units or self.d_model)
        self.src_vocab: Vocabulary | None = None
        self.tgt_vocab: Vocabulary | None = None
        D, L, rng, dt = self.d_model, self.n_layers, np.random.default_rng(seed), self.dtype

        def drop() -> Dropout | None:
            return Dropout(self.dropout) if self.dropout > 0 else None

        def enc_layer() -> Layer:
            rec = make_recurrent(cell, hidden, return_sequences=True)
            return Bidirectional(rec) if self.bidirectional else rec

        # attribute names and build order: the single-layer model keeps the names of the first
        # Seq2Seq (src_embed, encoder, tgt_embed, decoder, out), so its saved files still load
        self.src_embed = Embedding(in_vocab, embed)
        self.src_drop = drop()
        self.encoder = enc_layer() if L == 1 else [enc_layer() for _ in range(L)]
        self.bridge = Dense(D) if context != "last" else None
        self.tgt_embed = Embedding(out_vocab, embed)
        self.tgt_drop = drop()
        self.decoder = (make_recurrent(cell, D, return_sequences=True) if L == 1
                        else [make_recurrent(cell, D, return_sequences=True) for _ in range(L)])
        if attention == "additive":
            self.attn: Layer | None = AdditiveAttention(self.attention_units)
        else:
            self.attn = None if attention == "none" else MultiplicativeAttention(attention)
        self.combine = Dense(D) if self.attn is not None else None
        self.out_drop = drop()
        self.out = Dense(out_vocab)
        self.forcing = TeacherForcing(self.teacher_forcing) if self.teacher_forcing < 1.0 else None

        self.src_embed.build(1, rng, dt)
        size = embed
        for layer in self.enc_layers:
            size = layer.build(size, rng, dt)
        if self.bridge is not None:
            self.bridge.build(D, rng, dt)
        self.tgt_embed.build(1, rng, dt)
        size = embed + (D if structure == "context" else 0)
        for layer in self.dec_layers:
            size = layer.build(size, rng, dt)
        if self.attn is not None:
            self.attn.build(D, rng, dt, key_size=D)
            self.combine.build(2 * D, rng, dt)
        for d in (self.src_drop, self.tgt_drop, self.out_drop, self.forcing):
            if d is not None:
                d.build(1, rng, dt)
        self.out.build(D, rng, dt)
        self.compile()

    @property
    def enc_layers(self) -> list[Layer]:
        return [self.encoder] if self.n_layers == 1 else list(self.encoder)

    @property
    def dec_layers(self) -> list[Layer]:
        return [self.decoder] if self.n_layers == 1 else list(self.decoder)

    def compile(self, loss: Any = "categorical_crossentropy", optimizer: Any = "adam", metrics=(),
                **optimizer_kwargs: Any) -> "Seq2Seq":
        """Softmax + cross-entropy at every target step (the loss is fixed); choose the optimizer."""
        if losses.get(loss).name != "categorical_crossentropy":
            raise InputError(f"Seq2Seq: the loss is softmax + categorical cross-entropy, got {loss!r}")
        return super().compile(loss, optimizer, metrics, **optimizer_kwargs)

    def get_config(self) -> dict[str, Any]:
        return {"in_vocab": self.in_vocab, "out_vocab": self.out_vocab, "hidden": self.hidden,
                "embed": self.embed, "cell": self.cell, "structure": self.structure, "context": self.context,
                "attention": self.attention_kind, "layers": self.n_layers, "bidirectional": self.bidirectional,
                "attention_units": self.attention_units, "dropout": self.dropout,
                "teacher_forcing": self.teacher_forcing, "bos": self.bos, "eos": self.eos, "pad": self.pad,
                "seed": self.seed, "dtype": self.dtype.name}

    # -- vocabularies travel with the model (optional) ----------------------------------------------
    def save_extras(self, folder: Path) -> None:
        if self.src_vocab is None and self.tgt_vocab is None:
            return
        folder.mkdir(parents=True, exist_ok=True)
        for vocab, name in zip((self.src_vocab, self.tgt_vocab), VOCAB_FILES):
            if vocab is not None:
                vocab.save(folder / name)

    def load_extras(self, folder: Path) -> None:
        for attr, name, size in zip(("src_vocab", "tgt_vocab"), VOCAB_FILES, (self.in_vocab, self.out_vocab)):
            if (folder / name).is_file():
                vocab = Vocabulary.load(folder / name)
                if len(vocab) != size:
                    raise ModelFileError(f"{folder / name}: {len(vocab)} tokens, the model reads {size} ids")
                setattr(self, attr, vocab)

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

    def encode(self, src: np.ndarray, src_mask: np.ndarray | None, training: bool = False):
        """Encoder outputs (B, S, D), final states per layer, and the context ``c`` (B, D)."""
        x = self.src_embed.forward(src)
        if self.src_drop is not None:
            x = self.src_drop.forward(x, training=training)
        enc_out, finals = parts.encoder_forward(self.enc_layers, x, src_mask, training)
        c = parts.make_context(self.context, self.bridge, enc_out, finals, src_mask)
        return enc_out, finals, c

    def _mixed_inputs(self, dec_in: np.ndarray, enc_out, finals, c, src_mask) -> np.ndarray:
        """Teacher forcing with ratio < 1: where a draw says so, the input at step t is the
        model's own greedy prediction at step t-1 (decoded step by step, no gradient through it)."""
        truth = self.forcing.rng.random(dec_in.shape) < self.teacher_forcing
        truth[:, 0] = True                                              # <bos> always
        if truth.all():
            return dec_in
        last = int(np.flatnonzero(~truth.all(axis=0)).max())
        mixed = dec_in.copy()
        with inference_mode():
            state = start_state(self, enc_out, finals, c, src_mask)
            for t in range(last):
                logits, state, _ = decoder_step(self, mixed[:, t], state)
                mixed[:, t + 1] = np.where(truth[:, t + 1], dec_in[:, t + 1], logits.argmax(axis=1))
        return mixed

    def forward(self, x: tuple, mask: Any = None, training: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
        """Logits ``(B, T, V_out)`` with teacher forcing, and the target mask."""
        src, tgt = x
        src_mask, tgt_mask = (None, None) if mask is None else mask
        enc_out, finals, c = self.encode(src, src_mask, training)
        dec_in = self._shift(np.asarray(tgt))
        if training and self.forcing is not None:
            dec_in = self._mixed_inputs(dec_in, enc_out, finals, c, src_mask)
        e = self.tgt_embed.forward(dec_in)
        if self.tgt_drop is not None:
            e = self.tgt_drop.forward(e, training=training)
        if self.structure == "context":
            e = np.concatenate([e, np.broadcast_to(c[:, None, :], e.shape[:2] + c.shape[1:])], axis=2)
        inits = parts.decoder_initial_states(self.structure, self.context, c, finals, self.n_layers,
                                             len(self.dec_layers[0].cell.state_names))
        s = e
        for layer, init in zip(self.dec_layers, inits):
            s = layer.forward(s, mask=tgt_mask, training=training, initial_state=init)
        top = tilde = s
        if self.attn is not None:
            a, _ = self.attn.forward(s, enc_out, src_mask)
            top = tilde = np.tanh(self.combine.forward(np.concatenate([a, s], axis=2)))  # h̃_t = tanh(W_c[a_t; s_t] + b_c)
        if self.out_drop is not None:
            top = self.out_drop.forward(top, training=training)
        self._fwd = {"src_mask": src_mask, "enc_out": enc_out, "finals": finals, "c": c, "tilde": tilde,
                     "has_init": [i is not None for i in inits]}
        return self.out.forward(top), tgt_mask

    def backward(self, d_outputs: np.ndarray) -> None:
        f = self._fwd
        D, E = self.d_model, self.embed
        d_top = self.out.backward(d_outputs)
        if self.out_drop is not None:
            d_top = self.out_drop.backward(d_top)
        d_enc_out = np.zeros_like(f["enc_out"])
        if self.attn is not None:
            tilde = f["tilde"]
            d_cat = self.combine.backward(d_top * (1.0 - tilde * tilde))     # through tanh and W_c
            d_q, d_keys = self.attn.backward(d_cat[..., :D])
            d_s = d_cat[..., D:] + d_q
            d_enc_out += d_keys
        else:
            d_s = d_top
        d_inits = []
        for layer, has in zip(reversed(self.dec_layers), reversed(f["has_init"])):
            d_s = layer.backward(d_s)
            d_inits.append(layer.d_initial_state if has else None)
        d_inits.reverse()
        d_e = d_s
        d_c = np.zeros_like(f["c"])
        if self.structure == "context":
            d_c += d_e[:, :, E:].sum(axis=1)                                # c fed at every step
            d_e = d_e[:, :, :E]
        if self.tgt_drop is not None:
            d_e = self.tgt_drop.backward(d_e)
        self.tgt_embed.backward(d_e)
        d_finals: list[list] = [[None] * len(fin) for fin in f["finals"]]
        if self.structure == "state":
            if self.context == "last":                                      # layer l's state -> layer l
                d_finals = [[None if g is None else np.array(g) for g in d] for d in d_inits]
            else:
                d_c += sum(d[0] for d in d_inits)                           # h'_0 = c in every layer
        if self.structure == "context" or self.context != "last":
            parts.context_backward(self.context, self.bridge, f["c"], d_c, f["enc_out"], f["src_mask"],
                                   d_enc_out, d_finals)
        d_src = parts.encoder_backward(self.enc_layers, d_enc_out, d_finals)
        if self.src_drop is not None:
            d_src = self.src_drop.backward(d_src)
        self.src_embed.backward(d_src)

    # -- inference (see rnnlab.decoding: greedy and beam search) --------------------------------
    def decode_start(self, src: Any, src_mask: Any = None) -> dict[str, Any]:
        """Encode ``src`` (B, S) for step-by-step decoding: the state of :mod:`rnnlab.seq2seq.stepper`."""
        src = np.asarray(src)
        if src.ndim != 2 or not np.issubdtype(src.dtype, np.integer):
            raise InputError(f"src: expected integer token ids of shape (batch, time), got {src.shape} {src.dtype}")
        if src.size and (src.min() < 0 or src.max() >= self.in_vocab):
            raise InputError(f"src: ids must lie in [0, {self.in_vocab}), got min {src.min()}, max {src.max()}")
        src_mask = check_mask(src_mask, *src.shape, "src_mask")
        with inference_mode():
            enc_out, finals, c = self.encode(src, src_mask)
        return start_state(self, enc_out, finals, c, src_mask)

    def decode_step(self, tokens: np.ndarray, state: dict[str, Any]) -> tuple[np.ndarray, dict, np.ndarray | None]:
        """Feed the previous tokens (N,): ``(logits (N, V_out), next state, attention (N, S) or None)``."""
        with inference_mode():
            return decoder_step(self, tokens, state)

    def generate(self, src, steps: int, src_mask=None) -> np.ndarray:
        """Greedy decoding of exactly ``steps`` tokens: ``(B, steps)`` ids (no early stop)."""
        from ..decoding import greedy_decode
        return greedy_decode(self, src, src_mask, max_len=steps, stop=False).ids

    def sequence_accuracy(self, src, tgt, src_mask=None, tgt_mask=None) -> float:
        """Fraction of sequences whose greedy decoding equals the target on every valid step."""
        tgt = np.asarray(tgt)
        pred = self.generate(src, tgt.shape[1], src_mask)
        right = (pred == tgt) if tgt_mask is None else ((pred == tgt) | ~np.asarray(tgt_mask, bool))
        return float(np.mean(right.all(axis=1)))
