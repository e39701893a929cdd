"""Training history and callbacks: early stopping (with best-weights restore) and checkpoints."""
from __future__ import annotations

import csv
import io
import math
import os
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import InputError

if TYPE_CHECKING:  # pragma: no cover
    from .model import Sequential


class History:
    """Per-epoch values: ``history.history["loss"]``, ``["val_loss"]``, ``["accuracy"]``, ``["lr"]``..."""

    def __init__(self) -> None:
        self.history: dict[str, list[float]] = {}
        self.epochs: list[int] = []

    def append(self, epoch: int, logs: dict[str, float]) -> None:
        self.epochs.append(epoch)
        for k, v in logs.items():
            self.history.setdefault(k, [math.nan] * (len(self.epochs) - 1)).append(float(v))
        for k, vals in self.history.items():
            if len(vals) < len(self.epochs):
                vals.append(math.nan)

    def __getitem__(self, key: str) -> list[float]:
        return self.history[key]

    def to_csv(self) -> str:
        buf = io.StringIO()
        keys = list(self.history)
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["epoch", *keys])
        for i, e in enumerate(self.epochs):
            w.writerow([e, *(repr(self.history[k][i]) for k in keys)])
        return buf.getvalue()


class Callback:
    model: "Sequential"

    def set_model(self, model: "Sequential") -> None:
        self.model = model

    def on_train_begin(self) -> None: ...
    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None: ...
    def on_train_end(self) -> None: ...


def _better(mode: str, value: float, best: float, min_delta: float) -> bool:
    return value < best - min_delta if mode == "min" else value > best + min_delta


def _mode_for(monitor: str, mode: str) -> str:
    if mode in ("min", "max"):
        return mode
    if mode != "auto":
        raise InputError(f"mode: expected 'min', 'max' or 'auto', got {mode!r}")
    name = monitor.removeprefix("val_")
    return "max" if name in ("accuracy", "step_accuracy", "r2", "macro_f1") else "min"


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved for ``patience`` epochs; restore the best weights."""

    def __init__(self, monitor: str = "val_loss", patience: int = 10, min_delta: float = 0.0,
                 mode: str = "auto", restore_best_weights: bool = True) -> None:
        self.monitor, self.patience, self.min_delta = monitor, int(patience), float(min_delta)
        self.mode = _mode_for(monitor, mode)
        self.restore_best_weights = restore_best_weights
        self.best_epoch: int | None = None

    def on_train_begin(self) -> None:
        self.best = math.inf if self.mode == "min" else -math.inf
        self.wait, self.best_weights, self.best_epoch = 0, None, None

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        if self.monitor not in logs:
            raise InputError(f"EarlyStopping: '{self.monitor}' is not logged; available: {sorted(logs)} "
                             "(val_* needs validation_data or validation_split)")
        value = logs[self.monitor]
        if _better(self.mode, value, self.best, self.min_delta):
            self.best, self.wait, self.best_epoch = value, 0, epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
        else:
            self.wait += 1
            if self.wait >= self.patience:
                self.model.stop_training = True

    def on_train_end(self) -> None:
        if self.restore_best_weights and self.best_weights is not None:
            self.model.set_weights(self.best_weights)


class ModelCheckpoint(Callback):
    """Save the model (atomically) after each epoch, or only when ``monitor`` improves."""

    def __init__(self, path: str | os.PathLike, monitor: str = "val_loss", save_best_only: bool = True,
                 mode: str = "auto") -> None:
        self.path, self.monitor, self.save_best_only = path, monitor, save_best_only
        self.mode = _mode_for(monitor, mode)

    def on_train_begin(self) -> None:
        self.best = math.inf if self.mode == "min" else -math.inf

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        if self.save_best_only:
            value = logs.get(self.monitor)
            if value is None or not np.isfinite(value) or not _better(self.mode, value, self.best, 0.0):
                return
            self.best = value
        self.model.save(self.path)
