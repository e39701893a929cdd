"""Layer classes by name, for rebuilding a saved architecture (never pickle, never eval)."""
from __future__ import annotations

import importlib
from typing import Any

from .errors import ModelFileError

_LAYERS = {
    "Dense": "rnnlab.layers.dense",
    "SimpleRNN": "rnnlab.layers.simple_rnn",
    "LSTM": "rnnlab.layers.lstm",
    "GRU": "rnnlab.layers.gru",
    "Bidirectional": "rnnlab.layers.bidirectional",
    "Dropout": "rnnlab.layers.dropout",
    "Embedding": "rnnlab.layers.embedding",
}


def layer_class(name: str) -> type:
    if name not in _LAYERS:
        raise ModelFileError(f"unknown layer class {name!r}; known: {sorted(_LAYERS)}")
    return getattr(importlib.import_module(_LAYERS[name]), name)


def layer_from_config(spec: dict[str, Any]):
    try:
        cls = layer_class(spec["class"])
        return cls(**spec["config"])
    except ModelFileError:
        raise
    except (KeyError, TypeError) as exc:
        raise ModelFileError(f"bad layer entry {spec!r}: {exc}") from None


def layer_to_config(layer) -> dict[str, Any]:
    return {"class": type(layer).__name__, "config": layer.get_config()}
