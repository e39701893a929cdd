"""One UCR training run: early stopping on the validation loss, optional refit on all of TRAIN, one test."""
from __future__ import annotations

import time
from typing import Any

import numpy as np

from ... import metrics as M
from ...callbacks import EarlyStopping, History
from ...sequential import Sequential
from .config import Config
from .data import Prepared
from .model import build_model


def train_and_test(cfg: Config, data: Prepared, *, hidden: int, layers: int, seed: int,
                   refit_data: Prepared | None = None, fit_options: dict[str, Any] | None = None
                   ) -> tuple[dict, Sequential, History, np.ndarray, Prepared]:
    """Train (early stopping on validation), optionally refit on all of TRAIN, test once.

    ``fit_options`` (the run context's checkpoint and progress options) go to the early-stopped
    fit, the run's main one; the refit shows progress as that one does (but writes no checkpoint). Returns (result dict, model, history, test
    predictions, the data the model was tested with)."""
    n_classes = len(data.classes)
    arch = dict(cell=cfg.cell, hidden=hidden, layers=layers, bidirectional=cfg.bidirectional,
                dropout=cfg.dropout, seed=seed)

    def fresh() -> Sequential:
        m = build_model(data.n_features, n_classes, **arch)
        m.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"], lr=cfg.lr,
                  clipnorm=cfg.clipnorm)
        return m

    model = fresh()
    has_val = "x_val" in data
    stopper = EarlyStopping(monitor="val_loss", patience=cfg.patience, restore_best_weights=True)
    t0 = time.perf_counter()
    history = model.fit(data.x_fit, data.y_fit, epochs=cfg.epochs, batch_size=cfg.batch_size, mask=data.m_fit,
                        validation_data=(data.x_val, data.y_val, data.m_val) if has_val else None,
                        callbacks=[stopper] if has_val else [], bucket=True, **{"verbose": 0, **(fit_options or {})})
    best_epoch = stopper.best_epoch if has_val else len(history.epochs)
    val_acc = None
    if has_val:
        val_acc = model.evaluate(data.x_val, data.y_val, mask=data.m_val)["accuracy"]
    used = data
    if refit_data is not None and has_val:
        model = fresh()
        verbose = int((fit_options or {}).get("verbose", 0))
        if verbose:
            print(f"refit on all of TRAIN for the best number of epochs ({best_epoch})", flush=True)
        model.fit(refit_data.x_all, refit_data.y_all, epochs=best_epoch, batch_size=cfg.batch_size,
                  mask=refit_data.m_all, verbose=verbose, bucket=True)
        used = refit_data
    train_seconds = time.perf_counter() - t0
    proba = model.predict(used.x_test, mask=used.m_test)
    pred = proba.argmax(axis=1)
    y = used.y_test
    result = {
        "test_accuracy": float(np.mean(pred == y)),
        "test_macro_f1": M.macro_f1(pred, y, n_classes),
        "test_errors": int(np.sum(pred != y)),
        "test_n": int(len(y)),
        "val_accuracy": val_acc,
        "best_epoch": best_epoch,
        "epochs_run": len(history.epochs),
        "refit_on_all_train": bool(refit_data is not None and has_val),
        "params": model.count_params(),
        "hidden": hidden,
        "layers": layers,
        "seed": seed,
        "train_seconds": round(train_seconds, 2),
    }
    return result, model, history, pred, used
