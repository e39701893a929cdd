"""Ready-made model stacks: the recurrent networks the tasks build over and over.

:func:`stacked_rnn` builds ``layers`` recurrent layers (each optionally wrapped in
:class:`~rnnlab.layers.Bidirectional` and followed by :class:`~rnnlab.layers.Dropout`), then an
optional ``Dense(head)``, in exactly that order, so a model built here has the same weights
(for the same seed) as the same stack written out by hand:

>>> from rnnlab.builders import stacked_rnn
>>> m = stacked_rnn("gru", 8, layers=2, bidirectional=True, dropout=0.1, head=3, input_size=4)
>>> [type(layer).__name__ for layer in m.layers]
['Bidirectional', 'Dropout', 'Bidirectional', 'Dropout', 'Dense']
>>> [layer.return_sequences for layer in m.layers[0:3:2]]    # all but the last layer
[True, False]
>>> m.count_params()                  # 2 x (336 + 624) for the two bi-GRU layers + 51 for Dense
1971
"""
from __future__ import annotations

import inspect
from typing import Any

from .errors import InputError
from .layers.bidirectional import MERGES, Bidirectional
from .layers.dense import Dense
from .layers.dropout import Dropout
from .registry import make_recurrent, recurrent_class
from .sequential import Sequential

__all__ = ["stacked_rnn", "takes_option"]


def takes_option(cell: str, option: str) -> bool:
    """Whether the recurrent layer ``cell`` (short name) has the constructor option ``option``.

    >>> takes_option("lstm", "forget_bias"), takes_option("gru", "forget_bias")
    (True, False)
    """
    return option in inspect.signature(recurrent_class(cell)).parameters


def stacked_rnn(cell: str, hidden: int, *, layers: int = 1, bidirectional: bool = False, merge: str = "concat",
                dropout: float = 0.0, dropout_seed: int | None = None, head: int | None = None,
                return_sequences: bool = False, forget_bias: float | None = None,
                input_size: int | None = None, seed: int = 0, dtype: str = "float32", **layer_kw: Any) -> Sequential:
    """A :class:`~rnnlab.Sequential` of ``layers`` recurrent layers and an optional ``Dense(head)``.

    * ``cell``: a registered recurrent layer's short name (``rnn``, ``lstm``, ``gru``, ...);
      ``hidden`` units per layer (per direction); ``layer_kw`` go to every recurrent layer
      (e.g. ``activation="relu"``, ``kernel_init="xavier"``).
    * Every layer but the last returns sequences; the last returns them if ``return_sequences``.
    * ``bidirectional``: each layer wrapped in ``Bidirectional(layer, merge=merge)``.
    * ``dropout > 0``: ``Dropout(dropout, seed=dropout_seed + i)`` after layer ``i`` (counting
      from 0; ``dropout_seed`` defaults to ``seed + 1000``).
    * ``forget_bias``: the forget-gate bias of layers that have one (LSTM); ignored by the others.
    * ``head``: units of the final ``Dense`` layer (None: no Dense).
    """
    if isinstance(layers, bool) or not isinstance(layers, int) or layers < 1:
        raise InputError(f"layers: expected a positive integer, got {layers!r}")
    if merge not in MERGES:
        raise InputError(f"merge: expected one of {MERGES}, got {merge!r}")
    kw = dict(layer_kw)
    if forget_bias is not None and takes_option(cell, "forget_bias"):
        kw["forget_bias"] = float(forget_bias)
    first_dropout_seed = seed + 1000 if dropout_seed is None else dropout_seed
    stack: list[Any] = []
    for i in range(layers):
        layer = make_recurrent(cell, hidden, return_sequences=return_sequences or i < layers - 1, **kw)
        stack.append(Bidirectional(layer, merge=merge) if bidirectional else layer)
        if dropout > 0:
            stack.append(Dropout(dropout, seed=first_dropout_seed + i))
    if head is not None:
        stack.append(Dense(head))
    return Sequential(stack, input_size=input_size, seed=seed, dtype=dtype)
