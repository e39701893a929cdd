"""Acrostic poems (藏头诗), the lecture's one-to-many example: a character language model of Tang
verse that, given one head character per line, writes the poem around them.

Training: each of the 36,290 poems of ``poetry/verse.jsonl`` is one sequence — input ``<bos>`` +
text, target text + ``<eos>`` (text = the lines with ``，``/``。`` after them), padded and masked,
not stateful. Poems are split at random (seeded) into training, validation and test poems; the
vocabulary comes from the training poems (characters seen fewer than ``min_count`` times there
→ ``<unk>``). Score: test perplexity per character, ``exp`` of the mean nats over every test
target (characters, punctuation and ``<eos>``), against add-one unigram and Kneser–Ney bigram
and trigram baselines on the same targets and the same vocabulary.

Generation: ``rnnlab poem RUN --heads 春夏秋冬 [--chars 5|7]`` (:mod:`.command`); the shape is
imposed on the model's distribution at every step (:mod:`.acrostic`). The run folder holds 20
samples (samples.txt, samples.png) and, in metrics.json, a check of 200 generated poems.
"""
from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from ...callbacks import EarlyStopping
from ...errors import InputError
from ...generation import Sampling
from ...text_model import language_model
from ..base import RunContext
from ..config import CELL_CHOICES, TaskConfig, option
from . import report
from .data import make_data, read_poems
from .scoring import ValidationLoss, mean_nats, ngram_baselines

NAME = "poem"
SUMMARY = "acrostic Tang poems (藏头诗): character LM over whole poems vs Kneser-Ney n-grams, heads imposed on generation"


@dataclass
class Config(TaskConfig):
    data: str | None = option(None, "verse.jsonl, or a data folder holding poetry/verse.jsonl",
                              none="poetry/verse.jsonl from $RNNLAB_DATA")
    max_poems: int | None = option(None, "use a seeded random subset of this many poems (short runs)", none="all")
    min_count: int = option(3, "characters seen fewer times in the training poems become <unk>")
    cell: str = option("lstm", "recurrent cell", choices=CELL_CHOICES)
    layers: int = option(1, "stacked recurrent layers")
    hidden: int = option(256, "hidden units per layer")
    embedding: int = option(128, "embedding size (0: one-hot input)")
    dropout: float = option(0.0, "dropout after each recurrent layer")
    epochs: int = option(3, "passes over the training poems (early stopping on validation loss)")
    patience: int = option(2, "early-stopping patience in epochs")
    batch_size: int = option(64, "poems per update (bucketed by length)")
    lr: float = option(3e-3, "Adam learning rate")
    lr_decay: float = option(0.7, "learning rate × this after every epoch")
    clipnorm: float = option(5.0, "global gradient-norm clip")
    val_fraction: float = option(0.05, "share of the poems held out for validation")
    test_fraction: float = option(0.05, "share of the poems held out for the test")
    ngram: int = option(4, "largest n of the Kneser-Ney baselines (2 … 5; the best on validation is reported beside the model)")
    temperature: float = option(0.8, "sampling temperature of the samples and the shape check")
    top_k: int | None = option(None, "sample among the K most probable characters only", none="all")
    samples: int = option(20, "sample poems written to samples.txt / samples.png")
    shape_check: int = option(200, "generated poems whose shape and heads are checked")


def check(cfg: Config) -> None:
    """Reject bad options with an InputError naming the option, before any work starts."""
    positive = ("min_count", "layers", "hidden", "epochs", "patience", "batch_size", "ngram")
    for f in fields(cfg):
        v = getattr(cfg, f.name)
        flag = f"--{f.name.replace('_', '-')}"
        if f.name in positive and (type(v) is not int or v < 1):
            raise InputError(f"{flag}: expected a positive integer, got {v!r}")
        if f.name in ("embedding", "samples", "shape_check") and (type(v) is not int or v < 0):
            raise InputError(f"{flag}: expected an integer >= 0, got {v!r}")
        if f.name in ("lr", "clipnorm", "temperature") and not (isinstance(v, (int, float)) and np.isfinite(v) and v > 0):
            raise InputError(f"{flag}: expected a finite number > 0, got {v!r}")
    for name in ("val_fraction", "test_fraction"):
        if not 0.0 < getattr(cfg, name) < 0.5:
            raise InputError(f"--{name.replace('_', '-')}: expected a fraction in (0, 0.5), got {getattr(cfg, name)!r}")
    if not 0.0 < cfg.lr_decay <= 1.0:
        raise InputError(f"--lr-decay: expected a factor in (0, 1], got {cfg.lr_decay!r}")
    if not 0.0 <= cfg.dropout < 1.0:
        raise InputError(f"--dropout: expected a fraction in [0, 1), got {cfg.dropout!r}")
    if cfg.max_poems is not None and cfg.max_poems < 100:
        raise InputError(f"--max-poems: expected at least 100 poems, got {cfg.max_poems}")
    if cfg.top_k is not None and cfg.top_k < 1:
        raise InputError(f"--top-k: expected a positive integer, got {cfg.top_k}")
    if cfg.ngram > 5:
        raise InputError(f"--ngram: expected 1 to 5 (Kneser-Ney orders beyond 5 do not fit a vocabulary of "
                         f"thousands of characters), got {cfg.ngram}")


def build_model(config: Config, vocab):
    model = language_model(vocab, config.cell, config.hidden, layers=config.layers,
                           embedding_dim=config.embedding or None, dropout=config.dropout, seed=config.seed)
    model.compile(loss="categorical_crossentropy", optimizer="adam", lr=config.lr, clipnorm=config.clipnorm,
                  schedule={"name": "exponential", "gamma": config.lr_decay})
    return model


def run(config: Config, ctx: RunContext) -> dict:
    check(config)
    poems, source = read_poems(config.data)
    data = make_data(poems, source, min_count=config.min_count, val_fraction=config.val_fraction,
                     test_fraction=config.test_fraction, seed=config.seed, max_poems=config.max_poems)
    counts = {k: len(v) for k, v in data.poems.items()}
    ctx.say(f"{source}: {len(poems):,d} poems; train/val/test {counts['train']:,d}/{counts['val']:,d}/"
            f"{counts['test']:,d}; vocabulary {len(data.vocab):,d} (training poems, min_count {config.min_count})")
    texts = {k: data.texts(k) for k in data.poems}
    base = ngram_baselines(data.vocab, texts, config.ngram)
    best = base.get("best_ngram_by_validation", {"name": "unigram_add_one", **base["unigram_add_one"]})
    ctx.say(f"baselines, test perplexity per character: unigram {base['unigram_add_one']['test_perplexity']:.1f}, "
            + ", ".join(f"{k} {v['test_perplexity']:.1f}" for k, v in base.items() if k.startswith("kneser")))

    model = build_model(config, data.vocab)
    stop = EarlyStopping(monitor="val_loss", patience=config.patience, restore_best_weights=True)
    x, y, mask = data.arrays["train"]
    history = model.fit(x, y, mask=mask, epochs=config.epochs, batch_size=config.batch_size, bucket=True,
                        callbacks=[ValidationLoss(*data.arrays["val"]), stop], **ctx.fit_options())
    test, val = mean_nats(model, *data.arrays["test"]), mean_nats(model, *data.arrays["val"])
    test_x, test_y, test_mask = data.arrays["test"]
    scored = int(test_mask.sum())
    if scored != base["targets_scored"]["test"]:
        raise AssertionError(f"model and baselines score different targets: {scored} vs {base['targets_scored']}")
    result = {"test_nats_per_char": test, "test_perplexity": float(np.exp(test)),
              "val_nats_per_char": val, "val_perplexity": float(np.exp(val)),
              "test_targets_scored": scored,
              "test_unk_targets": int((test_y[test_mask] == data.vocab.unk_id).sum()),
              "poems": {**counts, "file": len(poems)}, "vocabulary_size": len(data.vocab),
              "updates": int(model.optimizer.iterations), "epochs_run": len(history.epochs),
              "train_seconds": float(sum(history.history["time"])), "parameters": model.count_params(),
              "data": str(source)}

    sampling = Sampling(temperature=config.temperature, top_k=config.top_k)
    common = report.common_characters(data.vocab, texts["train"])
    samples = report.sample_poems(model, common, config.samples, config.seed, sampling)
    folder = ctx.folder
    title = f"rnnlab poem: {config.layers}×{config.cell} {config.hidden}, test perplexity {np.exp(test):.0f}"
    result["samples"] = report.write_samples(folder, samples, sampling, title)
    if result["samples"]["picture"] is None:
        ctx.say(f"samples.png skipped: {result['samples']['picture_skipped']}")
    result["shape_check"] = report.shape_check(model, config.shape_check, config.seed, sampling)
    result["examples"] = report.examples(model, config.seed, sampling)

    folder.write_history(history, title=f"poem ({config.layers}×{config.cell} {config.hidden})")
    model.save(folder.file("model"))
    doc = folder.write_metrics(result, base, {"best_epoch": stop.best_epoch,
                                              "units": "nats per target character (<eos> included); "
                                                       "perplexity = exp(nats)"})
    for name, text in result["examples"].items():
        ctx.say(f"{name}: {text}")
    shape = result["shape_check"]
    ctx.result(f"poem ({config.layers}×{config.cell} {config.hidden}): test perplexity {np.exp(test):.1f} per "
               f"character, {best['name']} {best['test_perplexity']:.1f}, unigram "
               f"{base['unigram_add_one']['test_perplexity']:.1f}; shape check {shape['ok']}/{shape['poems']}"
               f"  -> {folder.path}")
    return doc
