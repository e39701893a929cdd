"""The memory task's network: one recurrent layer and a softmax over the K symbols."""
from __future__ import annotations

from ...builders import stacked_rnn
from ...init import chrono_init
from ...sequential import Sequential
from .config import Config
from .data import INIT, stream


def has_gates(layer) -> bool:
    """Whether chrono initialisation applies: the layer's cell declares gates to set (LSTM, GRU)."""
    return bool(getattr(layer.cell, "chrono_gates", None))


def build_model(cfg: Config, n_in: int, *, seed: int | None = None) -> Sequential:
    """``cfg.cell`` with ``cfg.hidden`` units, Dense(K); gate biases per ``cfg.gate_init``
    (``chrono``: :func:`rnnlab.init.chrono_init` from the (seed, T) init stream; ``standard``:
    LSTM forget bias 1, the others the library default); compiled with Adam and clipping."""
    seed = cfg.seed if seed is None else seed
    model = stacked_rnn(cfg.cell, cfg.hidden, head=cfg.symbols, input_size=n_in, seed=seed,
                        forget_bias=1.0 if cfg.gate_init == "standard" else None)
    if cfg.gate_init == "chrono" and has_gates(model.layers[0]):
        chrono_init(model.layers[0], cfg.steps, stream(seed, cfg.steps, INIT))
    model.compile(loss="categorical_crossentropy", optimizer="adam", lr=cfg.lr, clipnorm=cfg.clipnorm,
                  metrics=["accuracy"])
    return model
