"""Interoperability: rnnlab models to and from PyTorch, export to ONNX, training continued on DDP.

| function | what |
|---|---|
| :func:`rnnlab.interop.torch.to_torch` / :func:`~rnnlab.interop.torch.from_torch` | a model as a ``torch.nn.Module`` and back, the same numbers (a ``Seq2Seq``: :mod:`rnnlab.interop.torch_seq2seq`) |
| :func:`rnnlab.interop.torch.layer_state_dict` / :func:`~rnnlab.interop.torch.load_layer_state_dict` | one recurrent layer in ``nn.LSTM``'s state-dict naming |
| :func:`rnnlab.interop.onnx.export` | a standard ONNX graph (``RNN``/``LSTM``/``GRU`` operators) that ONNX Runtime runs |
| ``rnnlab export RUN_OR_MODEL --onnx out.onnx --torch out.pt`` | the command (:mod:`rnnlab.interop.command`) |

Neither torch nor onnx is imported until a conversion runs (``pip install rnnlab[torch]``,
``rnnlab[onnx]``). Gate orders, parameter layouts and the DDP path: docs/interop.md.
"""
from .onnx import export
from .torch import from_torch, layer_state_dict, load_layer_state_dict, to_torch

__all__ = ["to_torch", "from_torch", "layer_state_dict", "load_layer_state_dict", "export"]
