"""What has a PyTorch twin: the torch module kind of a recurrent layer, and the output function.

Shared by the conversions (:mod:`rnnlab.interop.torch`, :mod:`~rnnlab.interop.torch_seq2seq`) and
the ONNX export; imports neither torch nor onnx.
"""
from __future__ import annotations

from typing import Any

from ..cells.gru import GRUCell
from ..cells.lstm import LSTMCell
from ..cells.simple import SimpleRNNCell
from ..errors import InputError
from ..layers.recurrent import Recurrent

OUTPUTS = ("logits", "auto", "softmax", "sigmoid")


def torch_kind(layer: Recurrent) -> tuple[str, dict[str, Any]]:
    """``("LSTM", {})``, ``("GRU", {})`` or ``("RNN", {"nonlinearity": ...})`` for a layer with a
    PyTorch twin; an InputError naming the reason for the others."""
    cell = layer.cell
    if type(cell) is LSTMCell:
        return "LSTM", {}
    if type(cell) is GRUCell:
        if not cell.reset_after:
            raise InputError("GRU(reset_after=False) has no PyTorch equivalent: torch.nn.GRU applies the reset "
                             "gate after the recurrent product (reset_after=True). Train with reset_after=True, or "
                             "export to ONNX (GRU linear_before_reset=0 computes it)")
        return "GRU", {}
    if type(cell) is SimpleRNNCell:
        if cell.activation not in ("tanh", "relu"):
            raise InputError(f"SimpleRNN(activation={cell.activation!r}) has no PyTorch equivalent: torch.nn.RNN "
                             "offers tanh and relu (ONNX's RNN operator runs sigmoid)")
        return "RNN", {"nonlinearity": cell.activation}
    raise InputError(f"{type(layer).__name__} has no PyTorch equivalent (torch.nn has RNN, LSTM and GRU); "
                     "it cannot be converted")


def output_function(model, output: str) -> str | None:
    """``None`` (logits), ``"softmax"`` or ``"sigmoid"`` for an ``output`` option; ``"auto"`` follows
    the compiled loss (what ``model.predict`` returns)."""
    if output not in OUTPUTS:
        raise InputError(f"output: expected one of {OUTPUTS}, got {output!r}")
    if output == "logits":
        return None
    if output != "auto":
        return output
    loss = type(getattr(model, "compiled_loss", None)).__name__
    return {"CategoricalCrossEntropy": "softmax", "BinaryCrossEntropy": "sigmoid"}.get(loss)
