"""Train and test one (cell, T): one ``model.fit`` on fresh sequences every epoch."""
from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from ...callbacks import EarlyStopping, StopAtValue
from ...gradflow import gradient_norms
from .config import Config
from .data import TEST, TRAIN, VAL, epoch_data, sample, stream, stream_seed
from .model import build_model


def baselines(y_test: np.ndarray, k: int) -> dict[str, float]:
    counts = np.bincount(y_test, minlength=k)
    return {"chance": 1.0 / k, "majority_class_test": float(counts.max() / counts.sum()),
            "chance_plus_3sd": 1.0 / k + 3 * math.sqrt((1 / k) * (1 - 1 / k) / len(y_test))}


def reached(history, monitor: str, value: float) -> int | None:
    """The epoch (1-based) at which ``monitor`` first reached ``value``, or None."""
    for epoch, v in zip(history.epochs, history.history.get(monitor, [])):
        if v >= value:
            return epoch
    return None


def train_one(cfg: Config, fit_options: dict[str, Any] | None = None) -> dict[str, Any]:
    """Train ``cfg.cell`` on T = ``cfg.steps``; return metrics, history, model and gradient norms.

    Training: ``cfg.batches_per_epoch`` fresh mini-batches per epoch, drawn from the engine's
    data rng (seeded ``[seed, T, 0]``); early stopping on the validation loss (patience
    ``cfg.patience``, best weights restored) or once validation accuracy reaches ``cfg.target``.
    ``fit_options``: the run context's checkpoint/progress options (default: silent).
    """
    x_val, y_val = sample(cfg, cfg.val_samples, stream(cfg.seed, cfg.steps, VAL))
    x_test, y_test = sample(cfg, cfg.test_samples, stream(cfg.seed, cfg.steps, TEST))
    n_in = x_val.shape[2]
    model = build_model(cfg, n_in)
    xg, yg = x_test[:256], y_test[:256]
    grad_init = gradient_norms(model, xg, yg)

    stopper = EarlyStopping(monitor="val_loss", patience=cfg.patience, restore_best_weights=True)
    options = {"verbose": 0, **(fit_options or {})}
    t0 = time.perf_counter()
    history = model.fit(epoch_data(cfg), epochs=cfg.epochs, batch_size=cfg.batch_size,
                        data_seed=stream_seed(cfg.seed, cfg.steps, TRAIN), shuffle=False,
                        validation_data=(x_val, y_val),
                        callbacks=[stopper, StopAtValue(monitor="val_accuracy", value=cfg.target)], **options)
    seconds = time.perf_counter() - t0
    test = model.evaluate(x_test, y_test)
    grad_trained = gradient_norms(model, xg, yg)
    return {
        "cell": cfg.cell, "steps": cfg.steps,
        "test_accuracy": test["accuracy"], "test_loss": test["loss"],
        "epochs": len(history.epochs), "updates": len(history.epochs) * cfg.batches_per_epoch,
        "best_epoch": stopper.best_epoch or 0,
        "reached_target_epoch": reached(history, "val_accuracy", cfg.target), "train_seconds": seconds,
        "grad_norms_init": grad_init, "grad_norms_trained": grad_trained,
        "grad_ratio_init": float(grad_init[0] / grad_init[-1]),
        "grad_ratio_trained": float(grad_trained[0] / grad_trained[-1]),
        "history": history, "model": model, "n_features": n_in,
        "baselines": baselines(y_test, cfg.symbols),
    }


def sweep_job(cfg: Config) -> dict[str, Any]:
    """:func:`train_one` for a worker process: plain lists instead of the model and arrays."""
    res = train_one(cfg)
    res.pop("model")
    hist = res.pop("history")
    res["history"] = {"epochs": hist.epochs, **hist.history}
    for k in ("grad_norms_init", "grad_norms_trained"):
        res[k] = res[k].tolist()
    return res
