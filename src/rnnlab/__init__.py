"""rnnlab: recurrent neural networks on NumPy with hand-written backpropagation through time.

>>> import rnnlab
>>> model = rnnlab.Sequential([rnnlab.SimpleRNN(4), rnnlab.Dense(1)], input_size=2)
>>> model.count_params()
37
"""
from . import data
from .callbacks import Callback, EarlyStopping, History, ModelCheckpoint, StopAtValue
from .errors import (CheckpointError, DataNotFoundError, InputError, ModelFileError, RnnlabError, TrainingError,
                     TrainingInterrupted)
from .io import load
from .layers import AdditiveAttention, MultiplicativeAttention
from .layers import (GRU, LSTM, Bidirectional, Dense, Dropout, Embedding, IndRNN, Layer, OneHot, Recurrent,
                     SimpleRNN, TimePool)
from .model import Model
from .seq2seq import Seq2Seq
from .sequential import Sequential
from .text_model import TextModel

__version__ = "0.2.0"
__all__ = [
    "Model", "Sequential", "Seq2Seq", "TextModel", "load", "data",
    "Dense", "Layer", "Recurrent", "SimpleRNN", "LSTM", "GRU", "IndRNN", "Bidirectional", "Dropout", "Embedding", "OneHot",
    "TimePool", "AdditiveAttention", "MultiplicativeAttention",
    "Callback", "EarlyStopping", "StopAtValue", "History", "ModelCheckpoint",
    "RnnlabError", "InputError", "ModelFileError", "CheckpointError", "TrainingError", "TrainingInterrupted",
    "DataNotFoundError",
]
