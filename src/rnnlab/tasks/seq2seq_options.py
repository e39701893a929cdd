"""What the sequence-to-sequence tasks (``translate``, ``g2p``) share: the model's options, the
:class:`~rnnlab.Seq2Seq` built and compiled from them, its training, and its one-line description.

A task's ``Config`` subclasses :class:`Seq2SeqConfig` and adds its data options; it changes a
default with :func:`default` (the help text stays the one written here)::

    @dataclass
    class Config(Seq2SeqConfig):
        hidden: int = default(Seq2SeqConfig, "hidden", 128)
"""
from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import Any

from ..callbacks import EarlyStopping, History

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
