"""Sequence layers: the recurrent runner and its cells, Dense."""
from .base import Layer
from .dense import Dense
from .recurrent import Recurrent
from .simple_rnn import SimpleRNN

__all__ = ["Layer", "Dense", "Recurrent", "SimpleRNN"]
