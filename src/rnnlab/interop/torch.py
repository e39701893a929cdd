"""rnnlab ⇄ PyTorch without one number changing: whole models, single layers, state dicts.

rnnlab's recurrent parameters already have ``torch.nn.RNN/LSTM/GRU``'s names, shapes and gate
orders (LSTM i, f, g, o; GRU r, z, n with the reset gate after the product), so every conversion
is a copy under torch's state-dict names (``weight_ih_l0``, ``weight_ih_l0_reverse`` …); see
docs/interop.md for the formulas.

* :func:`to_torch` (rnnlab ``Sequential``/``TextModel``, ``Seq2Seq`` or one layer →
  ``torch.nn.Module``) and :func:`from_torch` (the reverse, also for plain
  ``nn.LSTM``/``nn.GRU``/``nn.RNN`` of any depth, ``nn.Linear``, ``nn.Embedding``,
  ``nn.Sequential``/``nn.ModuleList`` of them, and a ``DistributedDataParallel`` wrapper); a
  ``Seq2Seq`` becomes a :class:`~rnnlab.interop.torch_seq2seq.TorchSeq2Seq` and back;
* :func:`layer_state_dict` / :func:`load_layer_state_dict`: one recurrent layer in
  ``nn.LSTM``'s state-dict naming;
* :func:`construction_code`: the Python that builds the module a saved state dict loads into.

What has no PyTorch twin raises :class:`~rnnlab.errors.InputError` saying so: ``IndRNN``,
``GRU(reset_after=False)`` (the lecture's reset-before candidate), ``SimpleRNN`` with the sigmoid
activation, models other than ``Sequential``/``TextModel``/``Seq2Seq``, layers not listed in
:func:`to_torch` (attention travels inside a ``Seq2Seq`` only).
torch is imported only when these functions run.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import InputError
from ..layers.base import Layer
from ..layers.bidirectional import Bidirectional
from ..layers.dense import Dense
from ..layers.dropout import Dropout
from ..layers.embedding import Embedding
from ..layers.onehot import OneHot
from ..layers.pooling import TimePool
from ..layers.recurrent import Recurrent
from ..seq2seq import Seq2Seq
from ..sequential import Sequential
from .torch_import import from_torch  # noqa: F401  (the reverse direction, in its own module)
from .torch_kinds import OUTPUTS, output_function, torch_kind  # noqa: F401  (re-exported)


def _np(t) -> np.ndarray:
    return t.detach().cpu().numpy()


def layer_arrays(layer: Layer) -> dict[str, np.ndarray]:
    """One recurrent layer's parameters under torch's names (numpy arrays, not copied)."""
    if isinstance(layer, Bidirectional):
        torch_kind(layer.forward_layer)
        out = {f"{k}_l0": v for k, v in layer.forward_layer.params.items()}
        out.update({f"{k}_l0_reverse": v for k, v in layer.backward_layer.params.items()})
        return out
    if isinstance(layer, Recurrent):
        torch_kind(layer)
        return {f"{k}_l0": v for k, v in layer.params.items()}
    raise InputError(f"expected a recurrent layer (SimpleRNN, LSTM, GRU or Bidirectional), got {type(layer).__name__}")


def layer_state_dict(layer: Layer) -> dict[str, Any]:
    """The state dict a ``torch.nn.LSTM`` (GRU, RNN) with ``num_layers=1`` has for this layer:
    ``weight_ih_l0`` … and, for ``Bidirectional``, ``weight_ih_l0_reverse`` … (torch tensors, copies).

    Weights only: ``return_sequences``, ``go_backwards`` and a Bidirectional's merge are not in it."""
    import torch
    return {k: torch.from_numpy(np.array(v, copy=True)) for k, v in layer_arrays(layer).items()}


def load_layer_state_dict(layer: Layer, state_dict: dict[str, Any]) -> None:
    """Copy a one-layer ``nn.LSTM``/``nn.GRU``/``nn.RNN`` state dict into ``layer`` (built, same
    sizes); keys, shapes and the direction count must match exactly."""
    if not layer.built:
        raise InputError(f"load_layer_state_dict: build the {type(layer).__name__} first (its input size is needed)")
    target = layer_arrays(layer)
    missing, extra = sorted(set(target) - set(state_dict)), sorted(set(state_dict) - set(target))
    if missing or extra:
        raise InputError(f"load_layer_state_dict: missing {missing}, unexpected {extra} "
                         f"(a {type(layer).__name__} holds {sorted(target)})")
    for k, dst in target.items():
        v = state_dict[k]
        v = _np(v) if hasattr(v, "detach") else np.asarray(v)
        if v.shape != dst.shape:
            raise InputError(f"load_layer_state_dict: {k} has shape {tuple(v.shape)}, the layer expects {dst.shape}")
        dst[...] = v


def copy_rnn_params(layer: Recurrent, module, suffix: str = "_l0") -> None:
    """Copy ``weight_ih``/``weight_hh``/``bias_ih``/``bias_hh`` of ``layer`` into the torch RNN
    module's ``<name><suffix>`` parameters (``suffix="_l0_reverse"`` for a reverse direction)."""
    import torch
    with torch.no_grad():
        for name, value in layer.params.items():
            getattr(module, name + suffix).copy_(torch.from_numpy(np.asarray(value)))


# ------------------------------------------------------------------------------ rnnlab → torch
def _torch_dtype(dtype: np.dtype):
    import torch
    return torch.float64 if np.dtype(dtype) == np.float64 else torch.float32


def _layer_to_torch(layer: Layer, dtype):
    import torch
    from torch import nn

    from . import torch_modules as tm
    if isinstance(layer, (Recurrent, Bidirectional)):
        bidir = isinstance(layer, Bidirectional)
        inner = layer.forward_layer if bidir else layer
        kind, kw = torch_kind(inner)
        rnn = getattr(nn, kind)(inner.input_size, inner.hidden_size, bias=inner.use_bias, batch_first=True,
                                bidirectional=bidir, dtype=dtype, **kw)
        with torch.no_grad():
            for k, v in layer_arrays(layer).items():
                getattr(rnn, k).copy_(torch.from_numpy(np.asarray(v)))
        return tm.RecurrentLayer(rnn, return_sequences=inner.return_sequences, go_backwards=inner.go_backwards,
                                 merge=layer.merge if bidir else "concat")
    if isinstance(layer, Dense):
        lin = nn.Linear(layer.input_size, layer.units, bias=layer.use_bias, dtype=dtype)
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(layer.params["weight"]))
            if layer.use_bias:
                lin.bias.copy_(torch.from_numpy(layer.params["bias"]))
        return lin
    if isinstance(layer, Embedding):
        emb = nn.Embedding(layer.vocab_size, layer.dim, dtype=dtype)
        with torch.no_grad():
            emb.weight.copy_(torch.from_numpy(layer.params["weight"]))
        return emb
    if isinstance(layer, OneHot):
        return tm.OneHot(layer.vocab_size, dtype=dtype)
    if isinstance(layer, Dropout):
        return tm.SequenceDropout(layer.rate, per_sequence=layer.per_sequence)
    if isinstance(layer, TimePool):
        return tm.TimePool(layer.mode)
    raise InputError(f"{type(layer).__name__} layers cannot be converted to PyTorch yet "
                     "(supported: SimpleRNN, LSTM, GRU, Bidirectional, Dense, Embedding, OneHot, Dropout, TimePool)")


def sequential_layers(model) -> list[Layer]:
    """The layers of a Sequential model (or ``[layer]`` for one layer); an InputError for others."""
    if isinstance(model, Layer):
        if not model.built:
            raise InputError(f"{type(model).__name__}: build the layer first (its input size is needed)")
        return [model]
    if isinstance(model, Seq2Seq):
        raise InputError("a Seq2Seq is not a stack of layers: it converts to PyTorch as a whole (to_torch(model), "
                         "rnnlab export --torch OUT.pt); it has no ONNX export")
    if not isinstance(model, Sequential):
        raise InputError(f"{type(model).__name__} models cannot be converted: only Sequential models (and "
                         "TextModel) and Seq2Seq are supported")
    if not model.built:
        raise InputError("the model is not built yet (fit it or pass input_size)")
    return list(model.layers)


def to_torch(model, output: str = "logits"):
    """A ``torch.nn.Module`` computing the same function as ``model`` (an rnnlab ``Sequential``,
    ``TextModel``, ``Seq2Seq`` or a single layer), in the model's dtype (float32 or float64).

    A ``Seq2Seq`` becomes a :class:`~rnnlab.interop.torch_seq2seq.TorchSeq2Seq` (called as
    ``module(src, tgt, src_lengths, tgt_lengths)``: the teacher-forced logits; see that module).

    The module is a :class:`~rnnlab.interop.torch_modules.RnnlabSequential`: call it as
    ``module(x)`` or ``module(x, lengths=lengths)`` (int64, padding at the end, like rnnlab's
    mask). It returns the logits (``output="logits"``, what torch's losses take); ``output="auto"``
    appends the output function of the model's loss (softmax for cross-entropy, sigmoid for
    binary cross-entropy), ``"softmax"``/``"sigmoid"`` force one. It starts in ``eval()`` mode
    (dropout off); call ``.train()`` to train. The vocabulary of a ``TextModel`` is not part of
    the module: keep it (``model.vocab``) to turn text into ids and back.
    """
    from torch import nn

    from . import torch_modules as tm
    if isinstance(model, Seq2Seq):
        from .torch_seq2seq import seq2seq_to_torch
        return seq2seq_to_torch(model, output)
    layers = sequential_layers(model)
    dtype = _torch_dtype(layers[0].dtype if isinstance(model, Layer) else model.dtype)
    mods = [_layer_to_torch(layer, dtype) for layer in layers]
    fn = output_function(model, output)
    if fn == "softmax":
        mods.append(nn.Softmax(dim=-1))
    elif fn == "sigmoid":
        mods.append(nn.Sigmoid())
    return tm.RnnlabSequential(mods).eval()


def construction_code(model, state_dict_path: str = "model.pt", output: str = "logits") -> str:
    """Python that builds the module :func:`to_torch` returns, with fresh weights, then loads a state
    dict saved with ``torch.save(module.state_dict(), state_dict_path)`` into it."""
    if isinstance(model, Seq2Seq):
        from .torch_seq2seq import construction_code as seq2seq_code
        return seq2seq_code(model, state_dict_path, output)
    layers = sequential_layers(model)
    dt = "torch.float64" if np.dtype(layers[0].dtype) == np.float64 else "torch.float32"
    lines = []
    for layer in layers:
        if isinstance(layer, (Recurrent, Bidirectional)):
            bidir = isinstance(layer, Bidirectional)
            inner = layer.forward_layer if bidir else layer
            kind, kw = torch_kind(inner)
            extra = "".join(f", {k}={v!r}" for k, v in kw.items())
            opts = f"return_sequences={inner.return_sequences}"
            opts += ", go_backwards=True" if inner.go_backwards else ""
            opts += f", merge={layer.merge!r}" if bidir and layer.merge != "concat" else ""
            lines.append(f"RecurrentLayer(torch.nn.{kind}({inner.input_size}, {inner.hidden_size}, bias={inner.use_bias}, "
                         f"batch_first=True, bidirectional={bidir}{extra}, dtype={dt}), {opts}),")
        elif isinstance(layer, Dense):
            lines.append(f"torch.nn.Linear({layer.input_size}, {layer.units}, bias={layer.use_bias}, dtype={dt}),")
        elif isinstance(layer, Embedding):
            lines.append(f"torch.nn.Embedding({layer.vocab_size}, {layer.dim}, dtype={dt}),")
        elif isinstance(layer, OneHot):
            lines.append(f"OneHot({layer.vocab_size}, dtype={dt}),")
        elif isinstance(layer, Dropout):
            lines.append(f"SequenceDropout({layer.rate!r}, per_sequence={layer.per_sequence}),")
        elif isinstance(layer, TimePool):
            lines.append(f"TimePool({layer.mode!r}),")
        else:
            _layer_to_torch(layer, None)             # raises the InputError naming the layer
    fn = output_function(model, output)
    if fn:
        lines.append("torch.nn.Softmax(dim=-1)," if fn == "softmax" else "torch.nn.Sigmoid(),")
    body = "\n".join("    " + line for line in lines)
    used = sorted({"RnnlabSequential"} | {n for n in ("OneHot", "RecurrentLayer", "SequenceDropout", "TimePool")
                                          if any(line.startswith(n + "(") for line in lines)})
    return ("import torch\n"
            f"from rnnlab.interop.torch_modules import {', '.join(used)}\n\n"
            f"module = RnnlabSequential([\n{body}\n])\n"
            f"module.load_state_dict(torch.load({str(state_dict_path)!r}))\n"
            "module.eval()\n")

__all__ = ["to_torch", "from_torch", "layer_state_dict", "load_layer_state_dict", "copy_rnn_params",
           "construction_code", "torch_kind", "output_function"]
