"""``rnnlab run mnist-rows``: train with early stopping on validation accuracy, test once, write the folder."""
from __future__ import annotations

import time

import numpy as np

from ... import metrics
from ... import threads
from ...callbacks import EarlyStopping
from ..base import RunContext
from ..config import check_config, config_to_dict
from .config import Config, resolved
from .data import N_TRAIN_FULL, load_data
from .models import CLASSES, MODELS, REFERENCE, build_model
from .plots import plot_errors
from .schedule import schedule


def run(config: Config, ctx: RunContext) -> dict:
    """Train ``config.model`` (per-model defaults for the options left unset); the metrics.json document."""
    check_config(config)
    with threads.task_threads(config.threads):
        return _run(resolved(config), ctx)


def _run(cfg: Config, ctx: RunContext) -> dict:
    t_start = time.perf_counter()
    sched = schedule(cfg.lr_final, cfg.epochs)          # checks --lr-final before any work
    (x_fit, y_fit), (x_val, y_val), (x_test, y_test) = load_data(cfg.limit)
    bidirectional = MODELS[cfg.model]["bidirectional"]
    model = build_model(cfg.model, cfg.hidden, cfg.seed, cfg.dropout, cfg.init)
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"], lr=cfg.lr,
                  clipnorm=cfg.clipnorm, schedule=sched)
    ctx.folder.hyper.update(config_to_dict(cfg))        # metrics.json: the values used, per-model ones included
    ctx.say(f"mnist-rows: {cfg.model}, hidden {cfg.hidden}{' per direction' if bidirectional else ''}, "
            f"{model.count_params():,d} parameters; train {len(x_fit):,d}, validation {len(x_val):,d} "
            f"(last training images), test {len(x_test):,d}")
    stopper = EarlyStopping(monitor="val_accuracy", patience=cfg.patience, restore_best_weights=True)
    t0 = time.perf_counter()
    history = model.fit(x_fit, y_fit, epochs=cfg.epochs, batch_size=cfg.batch_size,
                        validation_data=(x_val, y_val), callbacks=[stopper], **ctx.fit_options())
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

    folder = ctx.folder
    folder.write_history(history, title=f"mnist-rows {cfg.model}")
    from ...viz import plot_confusion
    plot_confusion(folder.file("confusion.png"), cm, CLASSES,
                   title=f"mnist-rows {cfg.model}: test accuracy {result['test_accuracy']:.4f}")
    plot_errors(folder.file("errors.png"), x_test, y_test, pred)
    model.save(folder.file("model"))
    extra = {"data": {"train": "official training images [0, %d)" % len(x_fit),
                      "validation": "official training images [%d, 60000)" % (N_TRAIN_FULL - len(x_val)),
                      "test": "official t10k, all %d" % len(x_test),
                      "scaling": "pixel / 255 (fixed, nothing fitted)"},
             "confusion_matrix": cm.tolist(),
             "wall_seconds": round(time.perf_counter() - t_start, 2)}
    doc = folder.write_metrics(result, baselines, extra)
    ref = REFERENCE.get(cfg.model)
    ctx.result(f"mnist-rows {cfg.model}: test accuracy {result['test_accuracy']:.4f} "
               f"({result['test_errors']} errors of {len(y_test)}; best epoch {stopper.best_epoch}, "
               f"val {stopper.best:.4f}; {train_seconds:.0f} s training)"
               + (f"; reference {ref['test_accuracy']:.4f}" if ref else "")
               + f"; majority class {baselines['majority_class']['test_accuracy']:.4f}  -> {folder.path}")
    return doc
