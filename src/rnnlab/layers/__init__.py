"""Sequence layers: the recurrent runner and its cells, Bidirectional, Dense, Dropout, Embedding."""
from .base import Layer
from .bidirectional import Bidirectional
from .dense import Dense
from .dropout import Dropout
from .embedding import Embedding
from .gru import GRU
from .lstm import LSTM
from .recurrent import Recurrent
from .simple_rnn import SimpleRNN

__all__ = ["Layer", "Dense", "Recurrent", "SimpleRNN", "LSTM", "GRU", "Bidirectional", "Dropout", "Embedding"]
