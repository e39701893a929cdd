"""Character language model (many-to-many, equal lengths): the lecture's "hello" grown to Shakespeare.

At every step the network reads one character and outputs a distribution over the next one
(softmax + cross-entropy). The text is cut into 10 consecutive blocks, and each block into contiguous
parts — training (its first 90 %), validation (the next 5 %), test (its last 5 %, never seen;
``--split end``: the last 5 % of the whole file instead) — and read as ``batch_size`` parallel streams
by stateful recurrent layers: each batch continues the previous one, so the state crosses batch
boundaries while the gradient is truncated after ``steps`` characters (truncated BPTT).

Loss in nats per character (bits = nats / ln 2). Baselines on the same test characters:
add-one unigram and Kneser–Ney character n-grams (n = 2 … 5, counts from the training part).
``rnnlab sample RUN_OR_MODEL --prime "ROMEO:"`` continues a prime with the trained model.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...callbacks import EarlyStopping
from ...generation import Sampling
from ...text_model import language_model
from ..base import RunContext
from ..config import CELL_CHOICES, TaskConfig, option
from .data import SPLITS, baselines, make_data, read_text

NAME = "charlm"
SUMMARY = "character language model on Shakespeare (stateful, truncated BPTT) vs unigram and Kneser-Ney n-grams"
LN2 = float(np.log(2))


@dataclass
class Config(TaskConfig):
    text: str | None = option(None, "a UTF-8 text file (or a data folder holding text/shakespeare.txt)",
                              none="Shakespeare from $RNNLAB_DATA")
    cell: str = option("lstm", "recurrent cell", choices=CELL_CHOICES)
    layers: int = option(2, "stacked recurrent layers")
    hidden: int = option(384, "hidden units per layer")
    embedding: int = option(64, "embedding size (0: one-hot input, the lecture's x_t)")
    dropout: float = option(0.2, "dropout after each recurrent layer (the same mask at every step)")
    epochs: int = option(16, "passes over the training text (early stopping on validation loss, patience 2)")
    batch_size: int = option(64, "parallel streams (rows of a batch)")
    steps: int = option(100, "characters per truncated-BPTT chunk")
    eval_streams: int = option(8, "streams the validation and test text are read as (each from a zero state)")
    lr: float = option(2e-3, "Adam learning rate")
    lr_decay: float = option(0.9, "learning rate × this after every epoch")
    clipnorm: float = option(5.0, "global gradient-norm clip")
    split: str = option("blocks", "held-out parts: the end of each of 10 consecutive blocks of the file, or the "
                        "end of the file", choices=SPLITS)
    val_fraction: float = option(0.05, "validation part (before the test part)")
    test_fraction: float = option(0.05, "test part (the end of each block, or of the file)")
    ngram: int = option(5, "largest n of the Kneser-Ney baselines")
    prime: str = option("ROMEO:", "the prime of the samples written into the run folder")
    temperature: float = option(0.8, "sampling temperature of those samples")


def build_model(config: Config, vocab):
    model = language_model(vocab, config.cell, config.hidden, layers=config.layers,
                           embedding_dim=config.embedding or None, dropout=config.dropout, stateful=True,
                           seed=config.seed)
    model.compile(loss="categorical_crossentropy", optimizer="adam", lr=config.lr, clipnorm=config.clipnorm,
                  schedule={"name": "exponential", "gamma": config.lr_decay})
    return model


def stream_loss(model, x, y, batch_size: int) -> float:
    """Mean loss (nats/char) over a stream layout, the state carried from chunk to chunk."""
    model.reset_states()
    loss = model.evaluate(x, y, batch_size=batch_size)["loss"]
    model.reset_states()
    return float(loss)


def run(config: Config, ctx: RunContext) -> dict:
    text, source = read_text(config.text)
    data = make_data(text, source, config.batch_size, config.steps, config.val_fraction, config.test_fraction,
                     config.eval_streams, config.split)
    ctx.say(f"{source}: {len(text):,d} characters, vocabulary {len(data.vocab)} (training part); "
            f"train/val/test {len(data.ids['train']):,d}/{len(data.ids['val']):,d}/{len(data.ids['test']):,d}")
    base = baselines(data, config.ngram)
    best = base["best_ngram_by_validation"]
    ctx.say(f"baselines (test nats/char): unigram {base['unigram']['test_nats']:.3f}, "
            f"best n-gram {best['name']} {best['test_nats']:.3f}")

    model = build_model(config, data.vocab)
    stop = EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True)
    history = model.fit(*data.streams["train"], epochs=config.epochs, batch_size=config.batch_size,
                        validation_data=data.streams["val"], validation_batch_size=config.eval_streams,
                        callbacks=[stop], **ctx.fit_options())
    test = stream_loss(model, *data.streams["test"], config.eval_streams)
    val = stream_loss(model, *data.streams["val"], config.eval_streams)
    result = {"test_nats_per_char": test, "test_bits_per_char": test / LN2, "test_perplexity": float(np.exp(test)),
              "val_nats_per_char": val, "val_bits_per_char": val / LN2,
              "test_characters_scored": int(data.streams["test"][1].size),
              "updates": int(model.optimizer.iterations),
              "train_seconds": float(sum(history.history["time"])), "parameters": model.count_params(),
              "vocabulary_size": len(data.vocab), "text": str(source)}

    samples = model.sample([config.prime] * 3, length=500, sampling=Sampling(temperature=config.temperature),
                           seed=config.seed)
    folder = ctx.folder
    folder.write_text("samples.txt", "".join(f"--- sample {i + 1} (prime {config.prime!r}, temperature "
                                             f"{config.temperature}, seed {config.seed}) ---\n{s}\n\n"
                                             for i, s in enumerate(samples)))
    folder.write_history(history, title=f"charlm ({config.layers}×{config.cell} {config.hidden})")
    model.save(folder.file("model"))
    doc = folder.write_metrics(result, base, {"best_epoch": stop.best_epoch, "units": "nats per character"})
    ctx.say(samples[0][:300])
    ctx.result(f"charlm ({config.layers}×{config.cell} {config.hidden}): test {test:.3f} nats/char "
               f"({test / LN2:.3f} bits), best n-gram {best['name']} {best['test_nats']:.3f}, unigram "
               f"{base['unigram']['test_nats']:.3f}  -> {folder.path}")
    return doc
