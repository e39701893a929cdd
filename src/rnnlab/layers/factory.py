"""Recurrent layers by short name, for the CLI and for models built from options."""
from __future__ import annotations

from typing import Any

from ..errors import InputError

CELLS = ("rnn", "lstm", "gru")


def make_recurrent(cell: str, hidden: int, **kw: Any):
    """``rnn`` → :class:`SimpleRNN`, ``lstm`` → :class:`LSTM`, ``gru`` → :class:`GRU`."""
    if cell == "rnn":
        from .simple_rnn import SimpleRNN
        return SimpleRNN(hidden, **kw)
    if cell == "lstm":
        from .lstm import LSTM
        return LSTM(hidden, **kw)
    if cell == "gru":
        from .gru import GRU
        return GRU(hidden, **kw)
    raise InputError(f"cell: expected one of {CELLS}, got {cell!r}")
