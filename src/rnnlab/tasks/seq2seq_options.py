"""What the sequence-to-sequence tasks (``translate``, ``g2p``) share: the model's options, the
:class:`~rnnlab.Seq2Seq` built and compiled from them, its training, its one-line description, and
decoding many source texts in batches of similar length (:func:`decode_texts`).

A task's ``Config`` subclasses :class:`Seq2SeqConfig` and adds its data options; it changes a
default with :func:`default` (the help text stays the one written here)::

    @dataclass
    class Config(Seq2SeqConfig):
        hidden: int = default(Seq2SeqConfig, "hidden", 128)
"""
from __future__ import annotations

import argparse
import dataclasses
import time
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

from ..callbacks import EarlyStopping, History
from ..decoding import beam_search, greedy_decode

from ..data.text import Vocabulary
from ..errors import InputError
from ..seq2seq import ATTENTIONS, CONTEXTS, STRUCTURES, Seq2Seq
from .config import CELL_CHOICES, TaskConfig, option


@dataclass
class Seq2SeqConfig(TaskConfig):
    structure: str = option("context", "decoder structure: c at every step (context) or c as the initial state "
                            "(state) — docs/seq2seq.md compares them", choices=STRUCTURES)
    context: str = option("transform", "c = h_S (last), tanh(W h_S + b) (transform), tanh(W mean h + b) (pool)",
                          choices=CONTEXTS)
    attention: str = option("additive", "attention over the encoder states (additive: the best measured)",
                            choices=ATTENTIONS)
    cell: str = option("gru", "recurrent cell (encoder and decoder)", choices=CELL_CHOICES)
    layers: int = option(1, "stacked layers in the encoder and in the decoder")
    bidirectional: bool = option(True, "bidirectional encoder (--no-bidirectional: left to right only)")
    hidden: int = option(96, "encoder units per direction (the decoder has 2× with a bidirectional encoder)")
    embedding: int = option(96, "embedding size (source and target tokens)")
    dropout: float = option(0.2, "dropout on the embeddings and before the output layer")
    teacher_forcing: float = option(1.0, "probability of feeding the true previous token in training")
    epochs: int = option(8, "passes over the training pairs (early stopping on validation loss, patience 2)")
    batch_size: int = option(64, "pairs per mini-batch (bucketed by source length)")
    lr: float = option(3e-3, "Adam learning rate (gradient norm clipped at 5)")
    lr_decay: float = option(0.85, "learning rate × this after every epoch")
    beam: int = option(5, "beam width for the test outputs (greedy is scored too)")
    length_penalty: float = option(1.0, "beam search: choose by score / length^this")


def default(base: type, name: str, value: Any) -> Any:
    """The field ``name`` of ``base`` with another default (same help, choices and range)."""
    f = next(f for f in dataclasses.fields(base) if f.name == name)
    return dataclasses.field(default=value, metadata=f.metadata)


def build_model(config: Seq2SeqConfig, source: Vocabulary, target: Vocabulary) -> Seq2Seq:
    """The compiled :class:`~rnnlab.Seq2Seq` of ``config``, carrying both vocabularies (saved with it)."""
    for name in ("layers", "hidden", "embedding", "epochs", "batch_size", "beam"):
        value = getattr(config, name)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise InputError(f"--{name.replace('_', '-')}: expected a positive integer, got {value!r}")
    model = Seq2Seq(len(source), len(target), hidden=config.hidden, embed=config.embedding, cell=config.cell,
                    structure=config.structure, context=config.context, attention=config.attention,
                    layers=config.layers, bidirectional=config.bidirectional, dropout=config.dropout,
                    teacher_forcing=config.teacher_forcing, bos=target.bos_id, eos=target.eos_id,
                    pad=target.pad_id, seed=config.seed)
    model.src_vocab, model.tgt_vocab = source, target
    model.compile(optimizer="adam", lr=config.lr, clipnorm=5.0,
                  schedule={"name": "exponential", "gamma": config.lr_decay})
    return model


def train(model: Seq2Seq, config: Seq2SeqConfig, ctx: Any, train_set: Any,
          val_set: Any) -> tuple[History, int, float, float]:
    """Teacher-forced ``fit`` on encoded pairs (``.src``, ``.tgt``, ``.src_mask``, ``.tgt_mask``),
    bucketed by source length, early stopping on the validation loss (patience 2, best weights
    restored), with the run's progress/checkpoint options; returns the history, the best epoch and
    the training's wall and CPU seconds."""
    stop = EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True)
    cpu0 = time.process_time()
    history = model.fit((train_set.src, train_set.tgt), train_set.tgt, mask=(train_set.src_mask, train_set.tgt_mask),
                        epochs=config.epochs, batch_size=config.batch_size, bucket=True, callbacks=[stop],
                        validation_data=((val_set.src, val_set.tgt), val_set.tgt, (val_set.src_mask, val_set.tgt_mask)),
                        **ctx.fit_options())
    return history, stop.best_epoch, float(sum(history.history["time"])), time.process_time() - cpu0


def describe(config: Seq2SeqConfig) -> str:
    """``1×bigru 96, structure context, context transform, attention additive``."""
    bi = "bi" if config.bidirectional else ""
    return (f"{config.layers}×{bi}{config.cell} {config.hidden}, structure {config.structure}, "
            f"context {config.context}, attention {config.attention}")


@dataclass
class Decoded:
    """One decoded source: the output ids (``<eos>`` not included) and, when asked for, the
    attention weights ``(len(ids) + 1, source length)`` — rows are the outputs including ``<eos>``."""
    ids: np.ndarray
    attention: np.ndarray | None = None


def decode_texts(model: Seq2Seq, texts: Sequence[str], max_len: Callable[[int], int], *, beam: int = 1,
                 length_penalty: float = 1.0, batch_size: int = 128, return_attention: bool = False) -> list[Decoded]:
    """Decode every text with a model that carries its vocabularies: texts sorted by length and
    decoded in batches (put back in order); ``beam <= 1`` is greedy decoding, otherwise batched beam
    search; ``<pad>``, ``<bos>`` and ``<unk>`` are never produced; a batch whose longest source has
    S tokens stops after ``max_len(S)`` outputs."""
    src_v, tgt_v = model.src_vocab, model.tgt_vocab
    banned = [i for i in (tgt_v.pad_id, tgt_v.bos_id, tgt_v.unk_id) if i is not None]
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    out: list[Decoded | None] = [None] * len(texts)
    for start in range(0, len(order), batch_size):
        idx = order[start:start + batch_size]
        src, mask = src_v.encode_batch([texts[i] for i in idx])
        steps = max_len(src.shape[1])
        if beam <= 1:
            dec = greedy_decode(model, src, mask, max_len=steps, banned=banned, return_attention=return_attention)
        else:
            dec = beam_search(model, src, mask, beam=beam, max_len=steps, length_penalty=length_penalty,
                              banned=banned, return_attention=return_attention)
        for row, i in enumerate(idx):
            n = int(dec.lengths[row])
            att = None
            if dec.attention is not None:
                att = dec.attention[row, :min(n + 1, dec.attention.shape[1]), :int(mask[row].sum())]
            out[i] = Decoded(dec.ids[row, :n], att)
    return out  # type: ignore[return-value]


def add_decoding_arguments(p: argparse.ArgumentParser) -> None:
    """``--beam`` and ``--length-penalty`` of the commands that decode with a saved model."""
    p.add_argument("--beam", type=int, default=5, help="beam width (1: greedy; default 5)")
    p.add_argument("--length-penalty", type=float, default=1.0, help="beam search: score / length^this (default 1)")


def check_decoding_arguments(args: argparse.Namespace) -> None:
    if args.beam < 1:
        raise InputError(f"--beam: expected a positive width, got {args.beam}")
