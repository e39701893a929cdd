"""Couplets (对联): the lecture's many-to-many structure of EQUAL length, 风吹水面层层浪 → 雨打沙滩点点坑.

The first line goes in one character per step; a bidirectional recurrent encoder reads it both
ways, and a dense softmax layer gives the second line's character at the same step: every output
position sees the whole first line, and the output is exactly as long as the input. Trained with
softmax cross-entropy at every real position (a mask leaves out the padding of 5-character lines).

Data: the regulated-verse couplets of ``poetry/couplets.tsv`` (43,647 pairs of 5 or 7 characters),
split by first line (no first line in two parts). Metrics and baselines on the same test pairs:
see :mod:`rnnlab.tasks.couplet.baselines`. ``rnnlab couplet RUN_OR_MODEL 风吹水面层层浪`` writes a
second line with the trained model (:mod:`rnnlab.tasks.couplet.command`).
"""
from __future__ import annotations

import time
from dataclasses import dataclass

from ... import threads
from ...builders import stacked_rnn
from ...callbacks import EarlyStopping
from ...data.text import Vocabulary
from ...errors import InputError
from ...layers.dense import Dense
from ...layers.dropout import Dropout
from ...layers.embedding import Embedding
from ...text_model import TextModel
from ..base import RunContext
from ..config import CELL_CHOICES, TaskConfig, option
from .baselines import AlignedTable, best_beta, copy_line, scores
from .data import encode_pairs, make_vocabulary, read_pairs, split_by_first_line
from .predict import position_log_probs, second_lines, target_nats
from .report import examples_text

NAME = "couplet"
SUMMARY = "couplets (对联): second line from the first, bidirectional RNN, equal length, vs table and copy baselines"
LECTURE_LINE = "风吹水面层层浪"


@dataclass
class Config(TaskConfig):
    data: str | None = option(None, "the couplets file (first<TAB>second a line) or a folder holding "
                                    "poetry/couplets.tsv", none="poetry/couplets.tsv from $RNNLAB_DATA")
    cell: str = option("gru", "recurrent cell", choices=CELL_CHOICES)
    layers: int = option(1, "stacked bidirectional recurrent layers")
    hidden: int = option(128, "hidden units per direction")
    embedding: int = option(128, "character embedding size")
    embedding_dropout: float = option(0.2, "dropout of the character embeddings (a new mask at every step)")
    dropout: float = option(0.5, "dropout after each recurrent layer")
    epochs: int = option(10, "passes over the training pairs (early stopping on validation loss, patience 2)")
    batch_size: int = option(64, "pairs per mini-batch (bucketed: 5- and 7-character lines apart)")
    lr: float = option(2e-3, "Adam learning rate")
    lr_decay: float = option(0.85, "learning rate × this after every epoch")
    min_count: int = option(2, "characters seen fewer times in the training pairs read as <unk>")
    max_pairs: int | None = option(None, "use only this many pairs (a seeded subset, for short runs)", none="all")
    val_fraction: float = option(0.05, "validation share of the distinct first lines")
    test_fraction: float = option(0.1, "test share of the distinct first lines")
    threads: int | None = option(None, "BLAS threads (0 leaves BLAS alone)", none="1, or $RNNLAB_BLAS_THREADS if set")


def check_config(config: Config) -> None:
    """Reject impossible options before any work starts."""
    for name in ("layers", "hidden", "embedding", "epochs", "batch_size", "min_count"):
        value = getattr(config, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise InputError(f"--{name.replace('_', '-')}: expected a positive integer, got {value!r}")
    for name in ("dropout", "embedding_dropout"):
        if not 0.0 <= getattr(config, name) < 1.0:
            raise InputError(f"--{name.replace('_', '-')}: expected a rate in [0, 1), got {getattr(config, name)}")
    if not (config.lr > 0 and 0 < config.lr_decay <= 1):
        raise InputError(f"--lr, --lr-decay: expected lr > 0 and a decay in (0, 1], got {config.lr}, {config.lr_decay}")


def build_model(config: Config, vocab: Vocabulary) -> TextModel:
    """Embedding → Dropout → ``layers`` × (Bidirectional(cell, every step) → Dropout) → Dense(len(vocab)),
    compiled: softmax cross-entropy at every step, Adam with gradient-norm clipping at 5."""
    check_config(config)
    first: list = [Embedding(len(vocab), config.embedding)]
    if config.embedding_dropout > 0:
        first.append(Dropout(config.embedding_dropout, per_sequence=False, seed=config.seed + 999))
    stack = stacked_rnn(config.cell, config.hidden, layers=config.layers, bidirectional=True, dropout=config.dropout,
                        return_sequences=True, seed=config.seed)
    model = TextModel(first + stack.layers + [Dense(len(vocab))], vocab=vocab, seed=config.seed)
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["step_accuracy"], lr=config.lr,
                  clipnorm=5.0, schedule={"name": "exponential", "gamma": config.lr_decay})
    return model


def run(config: Config, ctx: RunContext) -> dict:
    with threads.task_threads(config.threads):
        return _run(config, ctx)


def _run(config: Config, ctx: RunContext) -> dict:
    check_config(config)
    pairs, source = read_pairs(config.data)
    parts = split_by_first_line(pairs, config.val_fraction, config.test_fraction, config.seed, config.max_pairs)
    vocab = make_vocabulary(parts["train"], config.min_count)
    data = {part: encode_pairs(vocab, p) for part, p in parts.items()}
    rare = {c for a, b in parts["train"] for c in a + b if c not in vocab}
    unk_targets = int(sum((d.y == vocab.unk_id).sum() for d in data.values()))
    ctx.say(f"{source}: {len(pairs):,d} pairs; train/val/test {len(parts['train']):,d}/{len(parts['val']):,d}/"
            f"{len(parts['test']):,d} (split by first line); vocabulary {len(vocab)} from the training pairs, "
            f"{len(rare)} characters seen fewer than {config.min_count} times there read as <unk> "
            f"({unk_targets} <unk> second-line characters in all parts)")

    model = build_model(config, vocab)
    stop = EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True)
    tr, va = data["train"], data["val"]
    history = model.fit(tr.x, tr.y, mask=tr.mask, epochs=config.epochs, batch_size=config.batch_size, bucket=True,
                        validation_data=(va.x, va.y, va.mask), callbacks=[stop], **ctx.fit_options())

    t0 = time.perf_counter()
    test = parts["test"]
    firsts, truths = [a for a, _ in test], [b for _, b in test]
    log_probs = position_log_probs(model, firsts)
    ours = second_lines(model, firsts, log_probs=log_probs)
    metrics = scores(firsts, truths, ours, target_nats(log_probs, vocab, truths))
    table = AlignedTable(parts["train"])
    beta = best_beta(table, parts["val"], vocab)
    table_out = table.predict(firsts)
    base = {"aligned_table": {**scores(firsts, truths, table_out, table.nats_per_char(test, vocab, beta)),
                              "smoothing_beta": beta},
            "copy_first_line": {**scores(firsts, truths, copy_line(firsts), None),
                                "perplexity_note": "a copy puts all its mass on one character: infinite"}}
    truth = scores(firsts, truths, truths, None)
    [lecture_out] = second_lines(model, [LECTURE_LINE])
    unknown_targets = sum(c not in vocab for t in truths for c in t)
    metrics.update({
        "test_pairs": len(test), "test_characters": sum(len(t) for t in truths),
        "test_unk_target_share": unknown_targets / sum(len(t) for t in truths),
        "true_second_line_reduplication_share": truth["reduplication_share"],
        "true_second_line_spurious_reduplication_share": truth["spurious_reduplication_share"],
        "val_loss": float(min(history.history["val_loss"])), "best_epoch": stop.best_epoch,
        "lecture_first_line": LECTURE_LINE, "lecture_second_line": lecture_out,
        "vocabulary_size": len(vocab), "rare_characters_as_unk": len(rare),
        "split_pairs": {p: len(v) for p, v in parts.items()}, "parameters": model.count_params(),
        "updates": int(model.optimizer.iterations), "train_seconds": float(sum(history.history["time"])),
        "evaluation_seconds": time.perf_counter() - t0, "data": str(source)})

    folder = ctx.folder
    text = examples_text(LECTURE_LINE, lecture_out, table.predict([LECTURE_LINE])[0], test, ours, table_out)
    folder.write_text("examples.txt", text)
    folder.write_history(history, title=f"couplet (bidirectional {config.layers}×{config.cell} {config.hidden})")
    model.save(folder.file("model"))
    doc = folder.write_metrics(metrics, base, {"units": "character accuracy; perplexity per character"})
    ctx.say(text)
    tb, cp = base["aligned_table"], base["copy_first_line"]
    ctx.result(f"couplet (bidirectional {config.layers}×{config.cell} {config.hidden}): test character accuracy "
               f"{metrics['char_accuracy']:.3f} (table {tb['char_accuracy']:.3f}, copy {cp['char_accuracy']:.3f}), "
               f"perplexity {metrics['perplexity']:.1f} (table {tb['perplexity']:.1f}); "
               f"{LECTURE_LINE} → {lecture_out}  -> {folder.path}")
    return doc
