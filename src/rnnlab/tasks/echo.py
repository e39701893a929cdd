"""Lecture case 1: the echo signal — two time steps, regression at the last step.

A transmitter sends a random value in (0, 1) every second; the echo arrives one second later.
Given two consecutive received values ``(x_{t-1}, x_t)`` the network must return ``x_{t-1}``.
Structure: many-to-one, identity output + MSE, tanh, with bias (the lecture's table).

The reference implementation reports test loss 0.002230 (MSE/2) and R² 0.9526. Here the test
set is held out (fresh signal values never seen in training) and the naive baselines stand
beside the model: the training mean (R² ≈ 0) and "repeat the last value" (persistence).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import metrics
from ..data.synthetic import echo_signal
from ..layers.dense import Dense
from ..registry import make_recurrent
from ..sequential import Sequential
from .base import RunContext
from .config import CELL_CHOICES, TaskConfig, option

NAME = "echo"
SUMMARY = "echo signal, 2 steps, regression at the last step (lecture case 1)"
REFERENCE = {"test_loss_mse_half": 0.002230, "r2": 0.9526}


@dataclass
class Config(TaskConfig):
    epochs: int = option(60, "training epochs")
    batch_size: int = option(32, "mini-batch size")
    lr: float = option(0.01, "learning rate (Adam)")
    hidden: int = option(4, "hidden units of the recurrent layer (the lecture: 4)")
    cell: str = option("rnn", "recurrent cell (rnn: tanh, the lecture's)", choices=CELL_CHOICES)
    samples: int = option(2000, "training sequences (validation: a fifth, at least 200; test: 1000)")


def make_data(config: Config) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Train, validation and test sets, all drawn from ``config.seed`` (the test set is regenerable)."""
    rng = np.random.default_rng(config.seed)
    return {"train": echo_signal(config.samples, 2, rng=rng),
            "val": echo_signal(max(200, config.samples // 5), 2, rng=rng),
            "test": echo_signal(1000, 2, rng=rng)}


def scores(pred: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """The reported test numbers of predictions ``pred`` against targets ``y``."""
    mse = float(np.mean((pred - y) ** 2))
    return {"test_mse": mse, "test_mse_half": mse / 2, "test_r2": metrics.r2(pred, y), "test_mae": metrics.mae(pred, y)}


def run(config: Config, ctx: RunContext) -> dict:
    data = make_data(config)
    (x_train, y_train), (x_val, y_val), (x_test, y_test) = data["train"], data["val"], data["test"]
    kw = {"activation": "tanh"} if config.cell == "rnn" else {}
    model = Sequential([make_recurrent(config.cell, config.hidden, **kw), Dense(1)], input_size=1, seed=config.seed)
    model.compile(loss="mse", optimizer="adam", lr=config.lr, metrics=["r2"])
    history = model.fit(x_train, y_train, epochs=config.epochs, batch_size=config.batch_size,
                        validation_data=(x_val, y_val), **ctx.fit_options())
    pred = model.predict(x_test)
    result = scores(pred, y_test)
    mean_pred = np.full_like(y_test, y_train.mean())
    persistence = x_test[:, -1, :]
    baselines = {
        "train_mean": {"test_mse": float(np.mean((mean_pred - y_test) ** 2)), "test_r2": metrics.r2(mean_pred, y_test)},
        "persistence_last_value": {"test_mse": float(np.mean((persistence - y_test) ** 2)),
                                   "test_r2": metrics.r2(persistence, y_test)},
        "reference_implementation": REFERENCE,
    }
    folder = ctx.folder
    folder.write_history(history, title="echo")
    from ..viz import plot_independent
    plot_independent(folder.file("prediction.png"), y_test[:, 0], pred[:, 0],
                     title=f"echo: held-out test sequences, target x_(t-1) (R² = {result['test_r2']:.4f})",
                     inputs={"input x_t": x_test[:, -1, 0]})
    model.save(folder.file("model"))
    doc = folder.write_metrics(result, baselines)
    ctx.result(f"echo: test R² {result['test_r2']:.4f}  MSE/2 {result['test_mse_half']:.6f}  "
               f"(reference R² {REFERENCE['r2']}, MSE/2 {REFERENCE['test_loss_mse_half']}; "
               f"baseline mean R² {baselines['train_mean']['test_r2']:.3f})  -> {folder.path}")
    return doc
