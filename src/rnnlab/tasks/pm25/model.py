"""The PM2.5 network and its training: one ``model.fit`` with early stopping on the validation loss."""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ...builders import stacked_rnn
from ...callbacks import EarlyStopping, History
from ...sequential import Sequential
from .config import Config


def build_model(cell: str, hidden: int, layers: int, n_out: int, n_features: int, seed: int) -> Sequential:
    """``layers`` recurrent layers (LSTM forget bias 1), Dense(``n_out``) on the last state."""
    return stacked_rnn(cell, hidden, layers=layers, head=n_out, forget_bias=1.0, input_size=n_features, seed=seed)


def train(model: Sequential, x: np.ndarray, y: np.ndarray, xv: np.ndarray, yv: np.ndarray, cfg: Config,
          loss: str, metrics: Sequence[str] = (), fit_options: dict[str, Any] | None = None
          ) -> tuple[History, int | None]:
    """Compile (Adam, ``cfg.lr``, ``cfg.clipnorm``) and fit; returns (history, best epoch or None
    when ``cfg.patience`` is 0: no early stopping)."""
    model.compile(loss=loss, optimizer="adam", lr=cfg.lr, clipnorm=cfg.clipnorm, metrics=list(metrics))
    stop = EarlyStopping(monitor="val_loss", patience=max(1, cfg.patience), restore_best_weights=True)
    history = model.fit(x, y, epochs=cfg.epochs, batch_size=cfg.batch_size, validation_data=(xv, yv),
                        callbacks=[stop] if cfg.patience > 0 else [], **{"verbose": 0, **(fit_options or {})})
    return history, stop.best_epoch
