"""Sequence layers: the recurrent runner and its cells, Bidirectional, Dense, Dropout, Embedding, OneHot.

Each layer class registers itself in :mod:`rnnlab.registry` where it is defined; the recurrent
ones are imported first so that the registry lists their short names as ``rnn, lstm, gru,
indrnn``. A cell defined in one file with its layer (:mod:`rnnlab.cells.indrnn`) is registered
by its import line here.
"""
from .simple_rnn import SimpleRNN  # isort: skip  (registration order = the CLI's --cell order)
from .lstm import LSTM  # isort: skip
from .gru import GRU  # isort: skip
from ..cells.indrnn import IndRNN  # isort: skip
from .attention import AdditiveAttention, MultiplicativeAttention
from .base import Layer
from .bidirectional import Bidirectional
from .dense import Dense
from .dropout import Dropout
from .embedding import Embedding
from .onehot import OneHot
from .pooling import TimePool
from .recurrent import Recurrent

__all__ = ["Layer", "Dense", "Recurrent", "SimpleRNN", "LSTM", "GRU", "IndRNN", "Bidirectional", "Dropout", "Embedding", "OneHot", "TimePool",
           "AdditiveAttention", "MultiplicativeAttention"]
