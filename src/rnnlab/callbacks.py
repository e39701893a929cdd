"""Training history and callbacks: early stopping (with best-weights restore), stopping at a
target value, and saving the model.

A callback's ``on_epoch_end(epoch, logs)`` runs before the epoch's row goes into the history
and may add values to ``logs`` (a later callback can monitor them). Epochs count from 1 here.
``get_state()`` / ``set_state()`` carry a callback's progress through a checkpoint: a JSON-able
dict plus a dict of arrays.
"""
from __future__ import annotations

import csv
import io
import math
import os
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import InputError

if TYPE_CHECKING:  # pragma: no cover
    from .model import Model


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
    model: "Model"

    def set_model(self, model: "Model") -> None:
        self.model = model

    def on_train_begin(self) -> None: ...
    def on_batch_end(self, batch: int, logs: dict[str, float]) -> None:
        """After every update: ``logs`` has the batch's ``loss`` and ``grad_norm`` (before clipping)."""
    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None: ...
    def on_train_end(self) -> None: ...

    def get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """What a checkpoint must keep of this callback: (JSON-able values, arrays)."""
        return {}, {}

    def set_state(self, values: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        """Restore :meth:`get_state` (called after ``on_train_begin`` when a fit resumes)."""


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
        self.wait, self.best_weights, self.best_epoch, self.stopped_epoch = 0, None, None, None

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
            if self.wait >= self.patience:        # exactly best_epoch + patience
                self.model.stop_training = True
                self.stopped_epoch = epoch

    def on_train_end(self) -> None:
        if self.restore_best_weights and self.best_weights is not None:
            self.model.set_weights(self.best_weights)

    def get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        return ({"best": self.best, "wait": self.wait, "best_epoch": self.best_epoch,
                 "stopped_epoch": self.stopped_epoch, "has_best_weights": self.best_weights is not None},
                dict(self.best_weights or {}))

    def set_state(self, values: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self.best, self.wait = float(values["best"]), int(values["wait"])
        self.best_epoch, self.stopped_epoch = values["best_epoch"], values["stopped_epoch"]
        self.best_weights = {k: np.array(v) for k, v in arrays.items()} if values["has_best_weights"] else None


class StopAtValue(Callback):
    """Stop once ``monitor`` reaches ``value`` (e.g. a task counts as solved at 99 % accuracy)."""

    def __init__(self, monitor: str = "val_accuracy", value: float = 0.99, mode: str = "auto") -> None:
        self.monitor, self.value = monitor, float(value)
        self.mode = _mode_for(monitor, mode)
        self.stopped_epoch: int | None = None

    def on_train_begin(self) -> None:
        self.stopped_epoch = None

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        if self.monitor not in logs:
            raise InputError(f"StopAtValue: '{self.monitor}' is not logged; available: {sorted(logs)}")
        v = logs[self.monitor]
        if (v >= self.value) if self.mode == "max" else (v <= self.value):
            self.model.stop_training = True
            self.stopped_epoch = epoch

    def get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        return {"stopped_epoch": self.stopped_epoch}, {}

    def set_state(self, values: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self.stopped_epoch = values["stopped_epoch"]


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

    def get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        return {"best": self.best}, {}

    def set_state(self, values: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self.best = float(values["best"])
