"""rnnlab: recurrent neural networks on NumPy with hand-written backpropagation through time.

>>> import rnnlab
>>> model = rnnlab.Sequential([rnnlab.SimpleRNN(4), rnnlab.Dense(1)], input_size=2)
>>> model.count_params()
37
"""
from .callbacks import Callback, EarlyStopping, History, ModelCheckpoint
from .errors import DataNotFoundError, InputError, ModelFileError, RnnlabError, TrainingError
from .io import load
from .layers import GRU, LSTM, Bidirectional, Dense, Dropout, Embedding, Layer, Recurrent, SimpleRNN
from .model import Sequential

__version__ = "0.1.0"
__all__ = [
    "Sequential", "load", "Dense", "Layer", "Recurrent", "SimpleRNN", "LSTM", "GRU",
    "Bidirectional", "Dropout", "Embedding",
    "Callback", "EarlyStopping", "History", "ModelCheckpoint",
    "RnnlabError", "InputError", "ModelFileError", "TrainingError", "DataNotFoundError",
]
