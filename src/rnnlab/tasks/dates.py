"""Many-to-many with unequal lengths: read a date as people write it, write it as ISO 8601.

``"27 nov 2026"``, ``"friday, november 27, 2026"``, ``"11/27/26"`` … → ``"2026-11-27"``.
The source has 8–29 characters, the target always 10: the lecture's encoder–decoder
(:mod:`rnnlab.seq2seq`), with either decoder structure (``--structure context|state``).
Train, validation and test dates are disjoint days, so the test measures generalisation to
dates never seen. Baselines: the most common target string, and per-character majority.
"""
from __future__ import annotations

import argparse
import datetime as dt

import numpy as np

from ..data.padding import pad_sequences
from ..seq2seq import Seq2Seq
from .base import RunFolder, add_common_arguments, say

NAME = "dates"
SUMMARY = "human-written dates to ISO 8601 with a seq2seq encoder-decoder (many-to-many, unequal lengths)"
FORMATS = ("%d %b %Y", "%d %B %Y", "%A, %B %d, %Y", "%m/%d/%y", "%d.%m.%Y", "%b %d %Y", "%Y %B %d", "%d %b %y")
SRC_CHARS = " ,./0123456789abcdefghijklmnopqrstuvwxyz"
TGT_CHARS = "-0123456789"
BOS = 0  # target id 0 is <bos>; characters start at 1


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_common_arguments(p, epochs=25, batch_size=64, lr=3e-3, hidden=96, cell="gru")
    p.add_argument("--structure", choices=["context", "state"], default="state",
                   help="decoder structure of the lecture: c at every step, or c as the initial state only")
    p.add_argument("--samples", type=int, default=12000, help="training pairs (default 12000)")


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


def run(args: argparse.Namespace) -> dict:
    rng = np.random.default_rng(args.seed)
    n_days = (dt.date(2049, 12, 31) - dt.date(1950, 1, 1)).days + 1
    days = rng.permutation(n_days)
    n_val = n_test = 2000
    splits = {"train": days[:min(args.samples, n_days - 4000)], "val": days[-4000:-2000], "test": days[-2000:]}
    data = {}
    for name, d in splits.items():
        s, t = make_pairs(d, rng)
        sx, sm = encode(s, SRC_CHARS)
        ty, _ = encode(t, TGT_CHARS, offset=1)
        data[name] = (sx, sm, ty, s, t)

    model = Seq2Seq(len(SRC_CHARS), len(TGT_CHARS) + 1, hidden=args.hidden, embed=16, cell=args.cell,
                    structure=args.structure, bos=BOS, seed=args.seed)
    folder = RunFolder(NAME, args.out, args)
    sx, sm, ty = data["train"][:3]
    vx, vm, vy = data["val"][:3]
    hist = model.fit(sx, ty, src_mask=sm, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                     seed=args.seed, validation=(vx, vy, vm), verbose=0 if args.quiet else 1)
    tx, tm, tyy, ts, tt = data["test"]
    pred = model.generate(tx, tyy.shape[1], src_mask=tm)
    exact = float(np.mean((pred == tyy).all(axis=1)))
    char_acc = float(np.mean(pred == tyy))
    train_targets = data["train"][4]
    common = max(set(train_targets), key=train_targets.count)
    majority_chars = np.array([np.bincount(ty[:, j]).argmax() for j in range(ty.shape[1])])
    baselines = {"most_common_date": float(np.mean([t == common for t in tt])),
                 "per_character_majority_char_accuracy": float(np.mean(tyy == majority_chars[None]))}
    shown = "\n".join(f"{s:<30s} -> {p}   ({'ok' if p == t else 'true ' + t})"
                      for s, p, t in zip(ts[:15], decode(pred[:15]), tt[:15]))
    folder.write_text("examples.txt", shown + "\n")
    from ..callbacks import History
    h = History()
    for i, loss in enumerate(hist["loss"]):
        h.append(i + 1, {"loss": loss, "val_sequence_accuracy": hist["val_sequence_accuracy"][i]})
    folder.write_history(h, title="dates")
    doc = folder.write_metrics({"test_exact_match": exact, "test_char_accuracy": char_acc,
                                "test_dates": int(len(ts))}, baselines)
    say(args, shown, f"dates ({args.cell}, {args.structure}): exact match on unseen dates {exact:.4f}, "
                     f"characters {char_acc:.4f} (most common date {baselines['most_common_date']:.4f})  -> {folder.path}")
    return doc
