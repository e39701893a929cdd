"""The mnist-rows networks (``--model``), their per-model defaults and the reference's figures."""
from __future__ import annotations

from ...builders import stacked_rnn
from ...errors import InputError
from ...sequential import Sequential

#: The lecture's reference implementation, official MNIST test set.
REFERENCE = {
    "rnn": {"hidden": "32", "test_accuracy": 0.9517},
    "birnn": {"hidden": "20+20", "test_accuracy": 0.958},
}
#: model name -> cell, bidirectional, and the defaults of the options left unset on the command line
#: (hidden units per direction, maximum epochs, Adam learning rate, early-stopping patience, batch size,
#: dropout before the output layer).
MODELS: dict[str, dict] = {
    "rnn":    dict(cell="rnn", bidirectional=False, hidden=32, epochs=150, lr=5e-3, patience=20, batch_size=128, dropout=0.0),
    "birnn":  dict(cell="rnn", bidirectional=True, hidden=20, epochs=150, lr=5e-3, patience=20, batch_size=128, dropout=0.0),
    "lstm":   dict(cell="lstm", bidirectional=False, hidden=128, epochs=15, lr=2e-3, patience=4, batch_size=64, dropout=0.0),
    "bilstm": dict(cell="lstm", bidirectional=True, hidden=128, epochs=15, lr=2e-3, patience=4, batch_size=128, dropout=0.0),
    "gru":    dict(cell="gru", bidirectional=False, hidden=128, epochs=15, lr=2e-3, patience=4, batch_size=64, dropout=0.0),
    "bigru":  dict(cell="gru", bidirectional=True, hidden=64, epochs=15, lr=2e-3, patience=4, batch_size=128, dropout=0.0),
}
PER_MODEL = ("hidden", "epochs", "lr", "patience", "dropout", "batch_size")
CLASSES = [str(d) for d in range(10)]


#: ``--init``: PyTorch's default (every weight and bias U(±1/√H)) or Keras's (Glorot-uniform input
#: weights, orthogonal recurrent weights, zero biases).
INITS = {"torch": {}, "keras": {"kernel_init": "xavier", "recurrent_init": "orthogonal", "bias_init": "zeros"}}


def build_model(model: str, hidden: int | None = None, seed: int = 0, dropout: float = 0.0,
                init: str = "torch") -> Sequential:
    """The network for ``--model``: one (bi)recurrent layer, [Dropout,] Dense(10) on its last state."""
    if model not in MODELS:
        raise InputError(f"model: expected one of {sorted(MODELS)}, got {model!r}")
    cell, bidirectional = MODELS[model]["cell"], MODELS[model]["bidirectional"]
    hidden = MODELS[model]["hidden"] if hidden is None else int(hidden)
    if init not in INITS:
        raise InputError(f"init: expected one of {sorted(INITS)}, got {init!r}")
    return stacked_rnn(cell, hidden, bidirectional=bidirectional, merge="concat", dropout=dropout,
                       dropout_seed=seed + 1, forget_bias=1.0, head=10, input_size=28, seed=seed, **INITS[init])
