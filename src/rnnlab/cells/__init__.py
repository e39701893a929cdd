"""One time step of each recurrent cell: the lecture's formulas, forward and backward.

:mod:`rnnlab.cells.indrnn` (IndRNN, cell and layer in one file) is not imported here: its layer
class needs the runner, :mod:`rnnlab.layers`, which imports this package; ``rnnlab.layers``
imports it instead.
"""
from ._kernels import backend as kernel_backend
from .base import Cell, ParamSpec
from .gru import GRUCell
from .lstm import LSTMCell
from .simple import SimpleRNNCell

__all__ = ["Cell", "ParamSpec", "kernel_backend", "SimpleRNNCell", "LSTMCell", "GRUCell"]
