"""The UCR network: stacked (bi)recurrent layers, optional dropout, Dense(classes) on the last state."""
from __future__ import annotations

from typing import Any

from ...builders import stacked_rnn
from ...errors import InputError
from ...sequential import Sequential


def build_model(n_features: int, n_classes: int, *, cell: str = "lstm", hidden: int = 64, layers: int = 1,
                bidirectional: bool = False, dropout: float = 0.0, seed: int = 0) -> Sequential:
    """``layers`` recurrent layers (all but the last return sequences; LSTM forget bias 1), each
    optionally bidirectional (concat) and followed by Dropout (seed ``seed + 1000 + i``), Dense."""
    if isinstance(layers, bool) or not isinstance(layers, int) or layers < 1:
        raise InputError(f"--layers: expected a positive integer, got {layers!r}")
    return stacked_rnn(cell, hidden, layers=layers, bidirectional=bidirectional, merge="concat", dropout=dropout,
                       dropout_seed=seed + 1000, forget_bias=1.0, head=n_classes, input_size=n_features, seed=seed)


def count_params(n_features: int, n_classes: int, **kw: Any) -> int:
    return build_model(n_features, n_classes, **kw).count_params()


def matched_hidden(n_features: int, n_classes: int, target: int, layers: int, **kw: Any) -> int:
    """The hidden size whose ``layers``-layer model has the parameter count closest to ``target``."""
    best, best_gap = 1, None
    for h in range(1, 1025):
        n = count_params(n_features, n_classes, hidden=h, layers=layers, **kw)
        gap = abs(n - target)
        if best_gap is None or gap < best_gap:
            best, best_gap = h, gap
        if n > target:
            break
    return best
