"""One time step of each recurrent cell: the lecture's formulas, forward and backward."""
from .base import Cell
from .gru import GRUCell
from .lstm import LSTMCell
from .simple import SimpleRNNCell

__all__ = ["Cell", "SimpleRNNCell", "LSTMCell", "GRUCell"]
