"""Lecture case 1: the echo signal — two time steps, regression at the last step.

A transmitter sends a random value in (0, 1) every second; the echo arrives one second later.
Given two consecutive received values ``(x_{t-1}, x_t)`` the network must return ``x_{t-1}``.
Structure: many-to-one, identity output + MSE, tanh, with bias (the lecture's table).

The reference implementation reports test loss 0.002230 (MSE/2) and R² 0.9526. Here the test
set is held out (fresh signal values never seen in training) and the naive baselines stand
beside the model: the training mean (R² ≈ 0) and "repeat the last value" (persistence).
"""
from __future__ import annotations

import argparse

import numpy as np

from .. import metrics
from ..data.synthetic import echo_signal
from ..layers.dense import Dense
from ..model import Sequential
from .base import RunFolder, add_common_arguments, make_recurrent, say

NAME = "echo"
SUMMARY = "echo signal, 2 steps, regression at the last step (lecture case 1)"
REFERENCE = {"test_loss_mse_half": 0.002230, "r2": 0.9526}


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_common_arguments(p, epochs=60, batch_size=32, lr=0.01, hidden=4, cell="rnn")
    p.add_argument("--samples", type=int, default=2000, help="training sequences (default 2000)")


def run(args: argparse.Namespace) -> dict:
    rng = np.random.default_rng(args.seed)
    x_train, y_train = echo_signal(args.samples, 2, rng=rng)
    x_val, y_val = echo_signal(max(200, args.samples // 5), 2, rng=rng)
    x_test, y_test = echo_signal(1000, 2, rng=rng)

    model = Sequential([make_recurrent(args.cell, args.hidden, activation="tanh") if args.cell == "rnn"
                        else make_recurrent(args.cell, args.hidden), Dense(1)], input_size=1, seed=args.seed)
    model.compile(loss="mse", optimizer="adam", lr=args.lr, metrics=["r2"])
    folder = RunFolder(NAME, args.out, args)
    history = model.fit(x_train, y_train, epochs=args.epochs, batch_size=args.batch_size,
                        validation_data=(x_val, y_val), verbose=0 if args.quiet else 1)
    pred = model.predict(x_test)
    result = {
        "test_mse": float(np.mean((pred - y_test) ** 2)),
        "test_mse_half": float(np.mean((pred - y_test) ** 2) / 2),
        "test_r2": metrics.r2(pred, y_test),
        "test_mae": metrics.mae(pred, y_test),
    }
    mean_pred = np.full_like(y_test, y_train.mean())
    persistence = x_test[:, -1, :]
    baselines = {
        "train_mean": {"test_mse": float(np.mean((mean_pred - y_test) ** 2)), "test_r2": metrics.r2(mean_pred, y_test)},
        "persistence_last_value": {"test_mse": float(np.mean((persistence - y_test) ** 2)),
                                   "test_r2": metrics.r2(persistence, y_test)},
        "reference_implementation": REFERENCE,
    }
    folder.write_history(history, title="echo")
    from ..viz import plot_series
    k = 60
    plot_series(folder.file("prediction.png"),
                {"target x_{t-1}": y_test[:k, 0], "prediction": pred[:k, 0], "input x_t": x_test[:k, -1, 0]},
                title=f"echo: held-out test, first {k} sequences (R² = {result['test_r2']:.4f})",
                xlabel="test sequence")
    model.save(folder.file("model"))
    doc = folder.write_metrics(result, baselines)
    say(args, f"echo: test R² {result['test_r2']:.4f}  MSE/2 {result['test_mse_half']:.6f}  "
              f"(reference R² {REFERENCE['r2']}, MSE/2 {REFERENCE['test_loss_mse_half']}; "
              f"baseline mean R² {baselines['train_mean']['test_r2']:.3f})  -> {folder.path}")
    return doc
