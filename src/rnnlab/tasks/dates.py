"""Many-to-many with unequal lengths: read a date as people write it, write it as ISO 8601.

``"27 nov 2026"``, ``"friday, november 27, 2026"``, ``"11/27/26"`` … → ``"2026-11-27"``.
The source has 8–29 characters, the target always 10: the lecture's encoder–decoder
(:mod:`rnnlab.seq2seq`), with either decoder structure (``--structure context|state``), any of
the three contexts (``--context last|transform|pool``) and optional attention
(``--attention additive|dot|general``); the test dates are decoded greedily, exactly 10
characters (:func:`rnnlab.decoding.greedy_decode` with ``stop=False``).
Train, validation and test dates are disjoint days, so the test measures generalisation to
dates never seen. Baselines: the most common target string, and per-character majority.
"""
from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass

import numpy as np

from ..callbacks import Callback
from ..data.padding import pad_sequences
from ..decoding import greedy_decode
from ..seq2seq import ATTENTIONS, CONTEXTS, STRUCTURES, Seq2Seq
from .base import RunContext
from .config import CELL_CHOICES, TaskConfig, option

NAME = "dates"
SUMMARY = "human-written dates to ISO 8601 with a seq2seq encoder-decoder (many-to-many, unequal lengths)"
FORMATS = ("%d %b %Y", "%d %B %Y", "%A, %B %d, %Y", "%m/%d/%y", "%d.%m.%Y", "%b %d %Y", "%Y %B %d", "%d %b %y")
SRC_CHARS = " ,./0123456789abcdefghijklmnopqrstuvwxyz"
TGT_CHARS = "-0123456789"
BOS = 0  # target id 0 is <bos>; characters start at 1


@dataclass
class Config(TaskConfig):
    epochs: int = option(25, "training epochs")
    batch_size: int = option(64, "mini-batch size")
    lr: float = option(3e-3, "learning rate (Adam, gradient norm clipped at 5)")
    hidden: int = option(96, "hidden units of the encoder and the decoder")
    cell: str = option("gru", "recurrent cell of the encoder and the decoder", choices=CELL_CHOICES)
    structure: str = option("state", "decoder structure of the lecture: c at every step (context), "
                            "or c as the initial state only (state)", choices=STRUCTURES)
    context: str = option("last", "c = h_S (last), tanh(W h_S + b) (transform), tanh(W mean h + b) (pool)",
                          choices=CONTEXTS)
    attention: str = option("none", "attention over the encoder states", choices=ATTENTIONS)
    teacher_forcing: float = option(1.0, "probability of feeding the true previous character in training")
    samples: int = option(12000, "training pairs (validation and test: 2000 other days each)")


class ValSequenceAccuracy(Callback):
    """Adds ``val_sequence_accuracy`` to each epoch's logs: greedy decoding, every character right."""

    def __init__(self, src: np.ndarray, tgt: np.ndarray, src_mask: np.ndarray | None = None) -> None:
        self.src, self.tgt, self.src_mask = src, tgt, src_mask

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        logs["val_sequence_accuracy"] = self.model.sequence_accuracy(self.src, self.tgt, self.src_mask)


def make_pairs(days: np.ndarray, rng: np.random.Generator) -> tuple[list[str], list[str]]:
    base = dt.date(1950, 1, 1)
    src, tgt = [], []
    for d in days:
        date = base + dt.timedelta(days=int(d))
        src.append(date.strftime(FORMATS[rng.integers(len(FORMATS))]).lower())
        tgt.append(date.isoformat())
    return src, tgt


def encode(texts: list[str], chars: str, offset: int = 0) -> tuple[np.ndarray, np.ndarray]:
    index = {c: i + offset for i, c in enumerate(chars)}
    seqs = [np.array([index[c] for c in t], dtype=np.int64) for t in texts]
    ids, mask = pad_sequences(seqs, dtype=np.int64)
    return ids, mask


def decode(ids: np.ndarray) -> list[str]:
    return ["".join(TGT_CHARS[i - 1] if i > 0 else "?" for i in row) for row in ids]


def make_data(config: Config) -> dict[str, tuple]:
    """``{"train"|"val"|"test": (src ids, src mask, tgt ids, src texts, tgt texts)}`` from ``config.seed``;
    the three splits are disjoint sets of days."""
    rng = np.random.default_rng(config.seed)
    n_days = (dt.date(2049, 12, 31) - dt.date(1950, 1, 1)).days + 1
    days = rng.permutation(n_days)
    splits = {"train": days[:min(config.samples, n_days - 4000)], "val": days[-4000:-2000], "test": days[-2000:]}
    data = {}
    for name, d in splits.items():
        s, t = make_pairs(d, rng)
        sx, sm = encode(s, SRC_CHARS)
        ty, _ = encode(t, TGT_CHARS, offset=1)
        data[name] = (sx, sm, ty, s, t)
    return data


def run(config: Config, ctx: RunContext) -> dict:
    data = make_data(config)
    model = Seq2Seq(len(SRC_CHARS), len(TGT_CHARS) + 1, hidden=config.hidden, embed=16, cell=config.cell,
                    structure=config.structure, context=config.context, attention=config.attention,
                    teacher_forcing=config.teacher_forcing, bos=BOS, seed=config.seed)
    model.compile(optimizer="adam", lr=config.lr, clipnorm=5.0)
    sx, sm, ty = data["train"][:3]
    vx, vm, vy = data["val"][:3]
    history = model.fit((sx, ty), ty, mask=(sm, None), epochs=config.epochs, batch_size=config.batch_size,
                        validation_data=((vx, vy), vy, (vm, None)), callbacks=[ValSequenceAccuracy(vx, vy, vm)],
                        **ctx.fit_options())
    tx, tm, tyy, ts, tt = data["test"]
    pred = greedy_decode(model, tx, tm, max_len=tyy.shape[1], stop=False).ids
    exact = float(np.mean((pred == tyy).all(axis=1)))
    char_acc = float(np.mean(pred == tyy))
    train_targets = data["train"][4]
    common = Counter(train_targets).most_common(1)[0][0]     # ties: the first seen (deterministic)
    majority_chars = np.array([np.bincount(ty[:, j]).argmax() for j in range(ty.shape[1])])
    baselines = {"most_common_date": float(np.mean([t == common for t in tt])),
                 "per_character_majority_char_accuracy": float(np.mean(tyy == majority_chars[None]))}
    shown = "\n".join(f"{s:<30s} -> {p}   ({'ok' if p == t else 'true ' + t})"
                      for s, p, t in zip(ts[:15], decode(pred[:15]), tt[:15]))
    folder = ctx.folder
    folder.write_text("examples.txt", shown + "\n")
    folder.write_history(history, title="dates")
    model.save(folder.file("model"))
    doc = folder.write_metrics({"test_exact_match": exact, "test_char_accuracy": char_acc,
                                "test_dates": int(len(ts))}, baselines)
    ctx.say(shown)
    ctx.result(f"dates ({config.cell}, {config.structure}, {config.context}, attention {config.attention}): exact match on unseen dates {exact:.4f}, "
               f"characters {char_acc:.4f} (most common date {baselines['most_common_date']:.4f})  -> {folder.path}")
    return doc
