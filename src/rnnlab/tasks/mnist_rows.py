"""Lecture 19.7: MNIST read row by row — 28 steps of 28 pixels, a 10-way softmax at the last step.

Each 28×28 image is a sequence: step t is pixel row t (28 values scaled to [0, 1]); the network
reads the rows top to bottom (and, bidirectionally, also bottom to top) and classifies the digit
from its final state. Structure: many-to-one, softmax + cross-entropy.

The reference implementation of the lecture reports 95.17% test accuracy for a simple RNN with 32
hidden units and 95.8% for a bidirectional one with 20 + 20. Here:

* training = the first 55,000 official training images, validation = the **last 5,000 training
  images** (early stopping on validation accuracy, best weights restored); the official 10,000
  test images are used once, at the end;
* the naive baseline (always the majority training class) and the reference's figures stand
  beside the result;
* the run folder gets ``metrics.json``, ``history.csv``, ``loss.png``, ``confusion.png``,
  ``errors.png`` (misclassified test digits) and ``model/``.

Models (``--model``; hidden units per direction default to the value in brackets):
``rnn`` (32) and ``birnn`` (20 + 20) as in the reference; ``lstm`` (128), ``bilstm`` (128 + 128),
``gru`` (128), ``bigru`` (64 + 64).
"""
from __future__ import annotations

import argparse
import contextlib
import time
from pathlib import Path

import numpy as np

from .. import metrics
from ..callbacks import EarlyStopping
from ..data.mnist import load_mnist
from ..errors import InputError
from ..layers.dense import Dense
from ..model import Sequential
from .base import RunFolder, add_common_arguments, make_recurrent, say

NAME = "mnist-rows"
SUMMARY = "MNIST read row by row (28 steps of 28 pixels), 10-class softmax at the last step (lecture 19.7)"

#: The lecture's reference implementation, official MNIST test set.
REFERENCE = {
    "rnn": {"hidden": "32", "test_accuracy": 0.9517},
    "birnn": {"hidden": "20+20", "test_accuracy": 0.958},
}
#: model name -> cell, bidirectional, and the defaults of the options left unset on the command line
#: (hidden units per direction, maximum epochs, Adam learning rate, early-stopping patience, batch size,
#: dropout before the output layer).
MODELS: dict[str, dict] = {
    "rnn":    dict(cell="rnn", bidirectional=False, hidden=32, epochs=150, lr=5e-3, patience=20, batch_size=128, dropout=0.0),
    "birnn":  dict(cell="rnn", bidirectional=True, hidden=20, epochs=150, lr=5e-3, patience=20, batch_size=128, dropout=0.0),
    "lstm":   dict(cell="lstm", bidirectional=False, hidden=128, epochs=15, lr=2e-3, patience=4, batch_size=64, dropout=0.0),
    "bilstm": dict(cell="lstm", bidirectional=True, hidden=128, epochs=15, lr=2e-3, patience=4, batch_size=128, dropout=0.0),
    "gru":    dict(cell="gru", bidirectional=False, hidden=128, epochs=15, lr=2e-3, patience=4, batch_size=64, dropout=0.0),
    "bigru":  dict(cell="gru", bidirectional=True, hidden=64, epochs=15, lr=2e-3, patience=4, batch_size=128, dropout=0.0),
}
PER_MODEL = ("hidden", "epochs", "lr", "patience", "dropout", "batch_size")
N_TRAIN_FULL = 60_000
N_VAL = 5_000
CLASSES = [str(d) for d in range(10)]


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_common_arguments(p, epochs=0, batch_size=0, lr=0.0, hidden=0)
    p.add_argument("--patience", type=int, default=None)
    p.add_argument("--dropout", type=float, default=None)
    what = {"hidden": "hidden units per direction", "epochs": "maximum training epochs",
            "lr": "Adam learning rate at the first epoch", "patience": "early stopping: epochs without a "
                                                                        "better validation accuracy",
            "dropout": "dropout rate on the final state, before the output layer",
            "batch_size": "mini-batch size"}
    for action in p._actions:  # per-model defaults
        if action.dest in PER_MODEL:
            action.default = None
            action.help = (f"{what[action.dest]} (default per model: "
                           + ", ".join(f"{m} {d[action.dest]:g}" for m, d in MODELS.items()) + ")")
    p.add_argument("--model", choices=sorted(MODELS), default="lstm",
                   help="rnn | birnn (the reference's two) | lstm | bilstm | gru | bigru (default lstm)")
    p.add_argument("--init", choices=sorted(INITS), default="torch",
                   help="weight initialisation: torch (U(±1/sqrt(H)) everywhere) or keras (Glorot input "
                        "weights, orthogonal recurrent weights, zero biases) (default torch)")
    p.add_argument("--clipnorm", type=float, default=5.0, help="global gradient-norm clipping (default 5)")
    p.add_argument("--lr-final", type=float, default=0.05,
                   help="the learning rate decays exponentially, by the same factor each epoch, from --lr to "
                        "--lr x this at the last epoch (1 = constant; default 0.05)")
    p.add_argument("--limit", type=int, default=None,
                   help="quick run: train on the first N training images only and validate on the last "
                        "min(5000, max(500, N // 5)) (the test set stays whole)")
    p.add_argument("--threads", type=int, default=1,
                   help="BLAS threads (default 1: the per-step products are small, and one thread was "
                        "faster on 2 cores; 0 = leave the BLAS default)")


# ----------------------------------------------------------------------------- data
def split_indices(n_train_full: int = N_TRAIN_FULL, limit: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Indices into the official training set: (training, validation).

    Validation is the last 5,000 training images; training the rest (or, with ``limit``, the first
    ``limit`` images and a validation set of ``min(5000, max(500, limit // 5))`` from the end).
    The test set is never touched here.
    """
    n_val = N_VAL
    if limit is not None:
        if limit < 1:
            raise InputError(f"--limit: expected a positive number of images, got {limit}")
        n_val = min(N_VAL, max(500, limit // 5))
    val = np.arange(n_train_full - n_val, n_train_full)
    n_fit = n_train_full - N_VAL if limit is None else min(limit, n_train_full - N_VAL)
    return np.arange(n_fit), val


def as_sequences(images: np.ndarray) -> np.ndarray:
    """uint8 images (N, 28, 28) -> float32 sequences (N, 28 steps, 28 features) in [0, 1]."""
    return (images.astype(np.float32) / np.float32(255.0))


def load_data(limit: int | None = None):
    """((x_fit, y_fit), (x_val, y_val), (x_test, y_test)); labels int64."""
    x_all, y_all = load_mnist("train")
    x_test, y_test = load_mnist("test")
    fit, val = split_indices(len(x_all), limit)
    prep = lambda imgs, labels: (as_sequences(imgs), labels.astype(np.int64))  # noqa: E731
    return prep(x_all[fit], y_all[fit]), prep(x_all[val], y_all[val]), prep(x_test, y_test)


# ----------------------------------------------------------------------------- model
#: ``--init``: PyTorch's default (every weight and bias U(±1/√H)) or Keras's (Glorot-uniform input
#: weights, orthogonal recurrent weights, zero biases).
INITS = {"torch": {}, "keras": {"kernel_init": "xavier", "recurrent_init": "orthogonal", "bias_init": "zeros"}}


def build_model(model: str, hidden: int | None = None, seed: int = 0, dropout: float = 0.0,
                init: str = "torch") -> Sequential:
    """The network for ``--model``: one (bi)recurrent layer, [Dropout,] Dense(10) on its last state."""
    if model not in MODELS:
        raise InputError(f"model: expected one of {sorted(MODELS)}, got {model!r}")
    cell, bidirectional = MODELS[model]["cell"], MODELS[model]["bidirectional"]
    hidden = MODELS[model]["hidden"] if hidden is None else int(hidden)
    if init not in INITS:
        raise InputError(f"init: expected one of {sorted(INITS)}, got {init!r}")
    kw = {**INITS[init], **({"forget_bias": 1.0} if cell == "lstm" else {})}
    layer = make_recurrent(cell, hidden, **kw)
    if bidirectional:
        from ..layers.bidirectional import Bidirectional
        layer = Bidirectional(layer, merge="concat")
    layers = [layer]
    if dropout > 0:
        from ..layers.dropout import Dropout
        layers.append(Dropout(dropout, seed=seed + 1))
    return Sequential([*layers, Dense(10)], input_size=28, seed=seed)


def blas_threads(n: int):
    """Limit the BLAS thread pool to ``n`` threads for the run (0: leave it alone)."""
    if not n:
        return contextlib.nullcontext()
    from threadpoolctl import threadpool_limits
    return threadpool_limits(limits=int(n), user_api="blas")


# ----------------------------------------------------------------------------- run
def run(args: argparse.Namespace) -> dict:
    with blas_threads(getattr(args, "threads", 0)):
        return _run(args)


def _run(args: argparse.Namespace) -> dict:
    t_start = time.perf_counter()
    (x_fit, y_fit), (x_val, y_val), (x_test, y_test) = load_data(args.limit)
    spec = MODELS[args.model]
    for k in PER_MODEL:
        if getattr(args, k) is None:
            setattr(args, k, spec[k])
    hidden, bidirectional = args.hidden, spec["bidirectional"]
    if not 0 < args.lr_final <= 1:
        raise InputError(f"--lr-final: expected a fraction in (0, 1], got {args.lr_final}")
    model = build_model(args.model, hidden, args.seed, args.dropout, args.init)
    # lr(epoch) = lr * gamma^(epoch - 1): lr at the first epoch, lr * lr_final at the last
    gamma = args.lr_final ** (1.0 / max(args.epochs - 1, 1))
    schedule = {"name": "exponential", "gamma": gamma}   # ExponentialDecay: base * gamma^epoch, epoch from 1
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"], lr=args.lr / gamma,
                  clipnorm=args.clipnorm, schedule=schedule)
    folder = RunFolder(NAME, args.out if args.out is not None else Path("runs") / NAME / args.model, args)
    say(args, f"mnist-rows: {args.model}, hidden {hidden}{' per direction' if bidirectional else ''}, "
              f"{model.count_params():,d} parameters; train {len(x_fit):,d}, validation {len(x_val):,d} "
              f"(last training images), test {len(x_test):,d}")
    stopper = EarlyStopping(monitor="val_accuracy", patience=args.patience, restore_best_weights=True)
    t0 = time.perf_counter()
    history = model.fit(x_fit, y_fit, epochs=args.epochs, batch_size=args.batch_size,
                        validation_data=(x_val, y_val), callbacks=[stopper], verbose=0 if args.quiet else 1)
    train_seconds = time.perf_counter() - t0

    t0 = time.perf_counter()
    proba = model.predict(x_test, batch_size=2000)
    test_seconds = time.perf_counter() - t0
    pred = proba.argmax(axis=1)
    cm = metrics.confusion_matrix(pred, y_test, 10)
    test_loss = float(-np.mean(np.log(np.maximum(proba[np.arange(len(y_test)), y_test], 1e-12))))
    result = {
        "test_accuracy": float(np.mean(pred == y_test)),
        "test_loss": test_loss,
        "test_macro_f1": metrics.macro_f1(pred, y_test, 10),
        "test_errors": int(np.sum(pred != y_test)),
        "test_n": int(len(y_test)),
        "per_class_accuracy": {c: float(cm[i, i] / max(cm[i].sum(), 1)) for i, c in enumerate(CLASSES)},
        "best_val_accuracy": float(stopper.best),
        "best_epoch": stopper.best_epoch,
        "epochs_run": len(history.epochs),
        "params": model.count_params(),
        "train_seconds": round(train_seconds, 2),
        "seconds_per_epoch": round(float(np.mean(history["time"])), 2),
        "test_seconds": round(test_seconds, 2),
    }
    majority = int(np.bincount(y_fit, minlength=10).argmax())
    baselines = {
        "majority_class": {"class": majority, "test_accuracy": float(np.mean(y_test == majority))},
        "chance": {"test_accuracy": 0.1},
        "reference_implementation": REFERENCE,
    }

    folder.write_history(history, title=f"mnist-rows {args.model}")
    from ..viz import plot_confusion
    plot_confusion(folder.file("confusion.png"), cm, CLASSES,
                   title=f"mnist-rows {args.model}: test accuracy {result['test_accuracy']:.4f}")
    _plot_errors(folder.file("errors.png"), x_test, y_test, pred)
    model.save(folder.file("model"))
    extra = {"data": {"train": "official training images [0, %d)" % len(x_fit),
                      "validation": "official training images [%d, 60000)" % (N_TRAIN_FULL - len(x_val)),
                      "test": "official t10k, all %d" % len(x_test),
                      "scaling": "pixel / 255 (fixed, nothing fitted)"},
             "confusion_matrix": cm.tolist(),
             "wall_seconds": round(time.perf_counter() - t_start, 2)}
    doc = folder.write_metrics(result, baselines, extra)
    ref = REFERENCE.get(args.model)
    say(args, f"mnist-rows {args.model}: test accuracy {result['test_accuracy']:.4f} "
              f"({result['test_errors']} errors of {len(y_test)}; best epoch {stopper.best_epoch}, "
              f"val {stopper.best:.4f}; {train_seconds:.0f} s training)"
              + (f"; reference {ref['test_accuracy']:.4f}" if ref else "")
              + f"; majority class {baselines['majority_class']['test_accuracy']:.4f}  -> {folder.path}")
    return doc


def _plot_errors(path, x_test: np.ndarray, y_test: np.ndarray, pred: np.ndarray, k: int = 24) -> None:
    """The first ``k`` misclassified test digits, titled 'true→predicted'."""
    from ..viz import pyplot, save_figure
    plt = pyplot()
    wrong = np.flatnonzero(pred != y_test)[:k]
    cols = 8
    rows = max(1, int(np.ceil(len(wrong) / cols)))
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 1.1, rows * 1.25), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, i in zip(axes.ravel(), wrong):
        ax.imshow(x_test[i], cmap="gray_r", vmin=0, vmax=1)
        ax.set_title(f"{y_test[i]}→{pred[i]}", fontsize=9)
    fig.suptitle(f"misclassified test digits (first {len(wrong)} of {int(np.sum(pred != y_test))}): true→predicted",
                 fontsize=10)
    save_figure(fig, path)
