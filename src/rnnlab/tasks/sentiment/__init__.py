"""Film-review sentiment (many-to-one): read a review snippet word by word, judge it at the end.

The lecture's many-to-one case: "read a film review and judge whether it is positive" — one
output, after the last word. Word ids go through an embedding, a recurrent layer (LSTM or GRU,
optionally bidirectional) reads them, and one vector per review — the last valid step's state
(``--pool last``) or the mean / maximum of all steps' states (``--pool mean|max``,
:class:`~rnnlab.layers.pooling.TimePool`) — goes into the logistic head
``p(positive) = σ(o·V + b)``, trained with binary cross-entropy. Reviews have different lengths:
they are right-padded, masked, and bucketed by length.

Data: VADER's 10,605 rotten-tomatoes snippets (Pang & Lee's sentences) with mean human ratings;
positive = rating > 0, the snippets rated exactly 0 are dropped and counted. Seeded 80/10/10
split (``--split-seed``, apart from ``--seed`` so that runs of several seeds share one test part),
word vocabulary from the training part. Baselines on the same split: the majority class and
bag-of-words / bag-of-bigrams logistic regressions (:mod:`.baseline`); the published figures on
the same sentences (10-fold cross-validation) beside them.

The run folder adds ``misclassified.txt`` and ``verdict.png`` (p(positive) after each word of a
review, :func:`.predict.prefix_probabilities`). ``rnnlab classify RUN_OR_MODEL "text" ...`` judges
new texts.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from ... import threads
from ...builders import stacked_rnn
from ...callbacks import EarlyStopping
from ...errors import InputError
from ...layers.dense import Dense
from ...layers.dropout import Dropout
from ...layers.embedding import Embedding
from ...layers.pooling import TimePool
from ...text_model import TextModel
from ..base import RunContext
from ..config import CELL_CHOICES, TaskConfig, option
from .baseline import PUBLISHED, baselines
from .data import SentimentData, make_data, read_snippets
from .pictures import Verdict, misclassified_report, plot_verdicts
from .predict import prefix_probabilities, probabilities

NAME = "sentiment"
SUMMARY = "film-review sentiment, many-to-one (embedding, LSTM/GRU, last step or pooling, logistic head) vs bag-of-words"
POOLS = ("last", "mean", "max")
LECTURE_EXAMPLE = "a gorgeous, witty, seductive movie."


@dataclass
class Config(TaskConfig):
    data: str | None = option(None, "the snippets file (or a data folder holding sentiment/movieReviewSnippets_GroundTruth.txt)",
                              none="from $RNNLAB_DATA")
    cell: str = option("gru", "recurrent cell", choices=CELL_CHOICES)
    bidirectional: bool = option(True, "read each review both ways (two layers, outputs concatenated)")
    pool: str = option("max", "the review's vector: the last valid step, or the mean / max over all steps",
                       choices=POOLS)
    layers: int = option(1, "stacked recurrent layers")
    hidden: int = option(64, "hidden units per layer (per direction)")
    embedding: int = option(64, "word-vector size")
    dropout: float = option(0.5, "dropout on the word vectors and after each recurrent layer")
    epochs: int = option(20, "most passes over the training part (early stopping on validation loss)")
    patience: int = option(3, "epochs without a better validation loss before stopping (the best weights kept)")
    batch_size: int = option(32, "reviews per update (bucketed by length)")
    lr: float = option(2e-3, "Adam learning rate")
    clipnorm: float = option(5.0, "global gradient-norm clip")
    min_count: int = option(2, "a word seen fewer times in the training part is <unk>")
    split_seed: int = option(0, "seed of the 80/10/10 split (kept apart from --seed)")
    samples: int | None = option(None, "use a seeded subset of this many snippets (a quick run)", none="all")
    threads: int | None = option(None, "BLAS threads (0 leaves BLAS alone)", none="1, or $RNNLAB_BLAS_THREADS if set")


def build_model(config: Config, vocab_size: int, vocab=None) -> TextModel:
    """Embedding → [Dropout] → recurrent stack → [TimePool] → Dense(1), compiled for binary cross-entropy."""
    pooled = config.pool != "last"
    stack = stacked_rnn(config.cell, config.hidden, layers=config.layers, bidirectional=config.bidirectional,
                        dropout=config.dropout, return_sequences=pooled, seed=config.seed)
    layers = [Embedding(vocab_size, config.embedding)]
    if config.dropout > 0:
        layers.append(Dropout(config.dropout, seed=config.seed + 999))
    layers += stack.layers
    if pooled:
        layers.append(TimePool(config.pool))
    layers.append(Dense(1))
    model = TextModel(layers, vocab=vocab, seed=config.seed)
    model.compile(loss="binary_crossentropy", optimizer="adam", lr=config.lr, clipnorm=config.clipnorm,
                  metrics=["accuracy"])
    return model


def describe(config: Config) -> str:
    direction = "bi-" if config.bidirectional else ""
    return f"{config.layers}×{direction}{config.cell} {config.hidden}, pool {config.pool}"


def _check(config: Config) -> None:
    for name in ("layers", "hidden", "embedding", "epochs", "patience", "batch_size"):
        if getattr(config, name) < 1:
            raise InputError(f"--{name.replace('_', '-')}: expected a positive integer, got {getattr(config, name)}")
    if not 0 <= config.dropout < 1:
        raise InputError(f"--dropout: expected a number in [0, 1), got {config.dropout}")
    if not config.lr > 0:
        raise InputError(f"--lr: expected a positive number, got {config.lr}")


def _verdicts(model: TextModel, data: SentimentData, probs: np.ndarray) -> list[Verdict]:
    """The lecture's example, and the correctly judged test review whose verdict swings the most."""
    test = data.parts["test"]
    out = []
    words, p = prefix_probabilities(model, LECTURE_EXAMPLE)
    out.append(Verdict(f"the lecture's example — final p(positive) = {p[-1]:.3f}", words, p))
    lengths = test.mask.sum(axis=1)
    right = np.flatnonzero(((probs >= 0.5) == (test.y > 0.5)) & (lengths >= 8) & (lengths <= 35))
    best, swing, best_curve = None, -1.0, None
    for i in right:
        words, p = prefix_probabilities(model, test.texts[i])
        s = float(p.max() - p.min())
        if s > swing:
            best, swing, best_curve = i, s, (words, p)
    if best is not None:
        words, p = best_curve
        out.append(Verdict(f"test snippet {int(test.ids[best])} (mean human rating {test.ratings[best]:+.2f}) — "
                           f"final p(positive) = {p[-1]:.3f}; the largest swing among correctly judged test reviews",
                           words, p))
    return out


def run(config: Config, ctx: RunContext) -> dict:
    _check(config)
    with threads.task_threads(config.threads):
        return _run(config, ctx)


def _run(config: Config, ctx: RunContext) -> dict:
    cpu0 = time.process_time()
    snippets = read_snippets(config.data)
    data = make_data(snippets, config.split_seed, config.min_count, limit=config.samples)
    p = data.parts
    ctx.say(f"{data.source}: {len(snippets):,d} rated snippets ({data.dropped_zero} rated exactly 0 dropped); "
            f"train/val/test {len(p['train'])}/{len(p['val'])}/{len(p['test'])}; vocabulary {len(data.vocab):,d} words")
    base = baselines(data)
    ctx.say("baselines (test accuracy): " + ", ".join(
        f"{k} {v['test_accuracy']:.3f}" for k, v in base.items() if "test_accuracy" in v))

    model = build_model(config, len(data.vocab), data.vocab)
    stop = EarlyStopping(monitor="val_loss", patience=config.patience, restore_best_weights=True)
    history = model.fit(p["train"].x, p["train"].y, mask=p["train"].mask, epochs=config.epochs,
                        batch_size=config.batch_size, validation_data=(p["val"].x, p["val"].y, p["val"].mask),
                        callbacks=[stop], bucket=True, **ctx.fit_options())
    scores = {part: model.evaluate(p[part].x, p[part].y, mask=p[part].mask) for part in ("val", "test")}
    test_probs = probabilities(model, p["test"].texts)
    pred, truth = test_probs >= 0.5, p["test"].y > 0.5
    lecture_p = float(probabilities(model, [LECTURE_EXAMPLE])[0])
    result = {"test_accuracy": scores["test"]["accuracy"], "test_loss": scores["test"]["loss"],
              "val_accuracy": scores["val"]["accuracy"], "val_loss": scores["val"]["loss"],
              "test_confusion": {"true_positive": int(np.sum(pred & truth)), "false_negative": int(np.sum(~pred & truth)),
                                 "false_positive": int(np.sum(pred & ~truth)), "true_negative": int(np.sum(~pred & ~truth))},
              "dropped_zero_ratings": data.dropped_zero, "snippets": data.counts,
              "vocabulary_size": len(data.vocab), "parameters": model.count_params(),
              "updates": int(model.optimizer.iterations), "best_epoch": stop.best_epoch,
              "train_seconds": float(sum(history.history["time"])),
              "lecture_example": {"text": LECTURE_EXAMPLE, "p_positive": lecture_p}, "data": str(data.source)}

    folder = ctx.folder
    folder.write_history(history, title=f"sentiment ({describe(config)})")
    model.save(folder.file("model"))
    folder.write_text("misclassified.txt", misclassified_report(p["test"].texts, test_probs, p["test"].y,
                                                                p["test"].ratings, p["test"].ids))
    plot_verdicts(folder.file("verdict.png"), _verdicts(model, data, test_probs),
                  note="p(positive) after each word: the classifier run on every prefix of the review as if it "
                       "ended there (for a unidirectional --pool last model, the head read at every step). "
                       "'?' marks a word outside the vocabulary (<unk>).")
    result["cpu_seconds"] = round(time.process_time() - cpu0, 2)
    doc = folder.write_metrics(result, base, {"published": PUBLISHED, "dropped_zero_ratings": data.dropped_zero,
                                              "units": "accuracy = fraction of test snippets judged right"})
    bags = {k: v["test_accuracy"] for k, v in base.items() if k.startswith("bag_") and "test_accuracy" in v}
    shown = ", ".join(f"{k.replace('_logreg', '').replace('_', ' ')} {v:.3f}" for k, v in bags.items())
    ctx.result(f"sentiment ({describe(config)}): test accuracy {result['test_accuracy']:.3f} "
               f"({len(p['test'])} snippets){', ' + shown if shown else ''}, majority "
               f"{base['majority_class']['test_accuracy']:.3f}  -> {folder.path}")
    return doc
