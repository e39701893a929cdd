"""PyTorch → rnnlab: :func:`from_torch` (re-exported by :mod:`rnnlab.interop.torch`).

Each torch module becomes the rnnlab layer(s) computing the same function:

| torch | rnnlab |
|---|---|
| ``RecurrentLayer`` (what ``to_torch`` builds) | ``SimpleRNN``/``LSTM``/``GRU`` or ``Bidirectional``, its options kept |
| ``nn.RNN``/``nn.LSTM``/``nn.GRU``, ``num_layers`` = L | L layers returning every step (torch's output), ``Dropout(dropout, per_sequence=False)`` between them when ``dropout > 0``; bidirectional → ``Bidirectional(merge="concat")`` |
| ``nn.Linear`` | ``Dense`` |
| ``nn.Embedding`` | ``Embedding`` (``max_norm`` refused: it changes the forward) |
| ``OneHot``, ``SequenceDropout``, ``nn.Dropout``, ``TimePool`` | ``OneHot``, ``Dropout``, ``TimePool`` |
| a last ``nn.Softmax(dim=-1)`` / ``nn.Sigmoid`` | dropped; the model comes back compiled with cross-entropy / binary cross-entropy, so ``predict`` applies it |
| ``RnnlabSequential``, ``nn.Sequential``, ``nn.ModuleList``, ``DistributedDataParallel`` | their contents |
| ``TorchSeq2Seq`` (what ``to_torch`` makes of a ``Seq2Seq``; also inside DDP) | ``Seq2Seq`` (:mod:`rnnlab.interop.torch_seq2seq`) |
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
from ..layers.gru import GRU
from ..layers.lstm import LSTM
from ..layers.onehot import OneHot
from ..layers.pooling import TimePool
from ..layers.simple_rnn import SimpleRNN
from ..sequential import Sequential
from ..text_model import TextModel

RNN_PARAMS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")


def _np(t) -> np.ndarray:
    return t.detach().cpu().numpy()


def _flatten(module) -> list:
    """The modules a container holds, in order (DDP / Sequential / ModuleList / RnnlabSequential)."""
    from torch import nn

    from . import torch_modules as tm
    if isinstance(module, nn.parallel.DistributedDataParallel) or type(module).__name__ == "DataParallel":
        return _flatten(module.module)
    if isinstance(module, tm.RnnlabSequential):
        return _flatten(module.layers)
    if isinstance(module, (nn.Sequential, nn.ModuleList)):
        return [m for child in module for m in _flatten(child)]
    if isinstance(module, (list, tuple)):
        return [m for child in module for m in _flatten(child)]
    return [module]


def _rnn_layers(rnn, return_sequences: bool, go_backwards: bool, merge: str) -> list[tuple[Layer, dict]]:
    """rnnlab layers (with their parameter arrays, torch names) for a torch nn.RNN/LSTM/GRU."""
    from torch import nn
    if getattr(rnn, "proj_size", 0):
        raise InputError("nn.LSTM with proj_size > 0 (projected hidden state) has no rnnlab equivalent")
    if isinstance(rnn, nn.LSTM):
        cls, kw = LSTM, {}
    elif isinstance(rnn, nn.GRU):
        cls, kw = GRU, {"reset_after": True}
    elif isinstance(rnn, nn.RNN):
        cls, kw = SimpleRNN, {"activation": rnn.nonlinearity}
    else:
        raise InputError(f"{type(rnn).__name__}: expected nn.RNN, nn.LSTM or nn.GRU")
    out: list[tuple[Layer, dict]] = []
    n = rnn.num_layers
    sd = {k: _np(v) for k, v in rnn.state_dict().items()}
    for i in range(n):
        last = i == n - 1
        layer = cls(rnn.hidden_size, return_sequences=return_sequences or not last, use_bias=rnn.bias,
                    go_backwards=go_backwards, **kw)
        names = [p for p in RNN_PARAMS if rnn.bias or p.startswith("weight")]
        fwd = {p: sd[f"{p}_l{i}"] for p in names}
        if rnn.bidirectional:
            out.append((Bidirectional(layer, merge=merge if last else "concat"),
                        {"forward": fwd, "backward": {p: sd[f"{p}_l{i}_reverse"] for p in names}}))
        else:
            out.append((layer, fwd))
        if not last and rnn.dropout > 0:
            out.append((Dropout(rnn.dropout, per_sequence=False), {}))
    return out


def _convert(mod, is_last: bool) -> tuple[list[tuple[Layer, dict]], str | None]:
    """(rnnlab layers with their arrays, the loss a final output function implies)."""
    from torch import nn

    from . import torch_modules as tm
    if isinstance(mod, tm.RecurrentLayer):
        return _rnn_layers(mod.rnn, mod.return_sequences, mod.go_backwards, mod.merge), None
    if isinstance(mod, nn.RNNBase):
        return _rnn_layers(mod, True, False, "concat"), None
    if isinstance(mod, nn.Linear):
        arrays = {"weight": _np(mod.weight)}
        if mod.bias is not None:
            arrays["bias"] = _np(mod.bias)
        return [(Dense(mod.out_features, use_bias=mod.bias is not None), arrays)], None
    if isinstance(mod, nn.Embedding):
        if mod.max_norm is not None:
            raise InputError("nn.Embedding(max_norm=...) renormalises rows in the forward pass; rnnlab's "
                             "Embedding does not: no exact equivalent")
        return [(Embedding(mod.num_embeddings, mod.embedding_dim), {"weight": _np(mod.weight)})], None
    if isinstance(mod, tm.OneHot):
        return [(OneHot(mod.vocab_size), {})], None
    if isinstance(mod, tm.TimePool):
        return [(TimePool(mod.mode), {})], None
    if isinstance(mod, tm.SequenceDropout):
        return ([(Dropout(mod.rate, per_sequence=mod.per_sequence), {})] if mod.rate > 0 else []), None
    if isinstance(mod, nn.Dropout):
        return ([(Dropout(mod.p, per_sequence=False), {})] if mod.p > 0 else []), None
    if isinstance(mod, nn.Identity):
        return [], None
    if is_last and isinstance(mod, nn.Softmax) and mod.dim in (-1, None):
        return [], "categorical_crossentropy"
    if is_last and isinstance(mod, nn.Sigmoid):
        return [], "binary_crossentropy"
    raise InputError(f"{type(mod).__name__} cannot be converted to rnnlab (supported: nn.RNN, nn.LSTM, nn.GRU, "
                     "nn.Linear, nn.Embedding, nn.Dropout, rnnlab's RecurrentLayer, OneHot, SequenceDropout, TimePool, and a "
                     "final nn.Softmax(dim=-1) or nn.Sigmoid)")


def _input_size(first) -> int:
    from torch import nn

    from . import torch_modules as tm
    if isinstance(first, tm.RecurrentLayer):
        first = first.rnn
    if isinstance(first, nn.RNNBase):
        return first.input_size
    if isinstance(first, nn.Linear):
        return first.in_features
    return 1                                         # token ids (Embedding, OneHot)


def _dtype(module) -> str:
    import torch
    dts = {p.dtype for p in module.parameters()} if hasattr(module, "parameters") else set()
    dts |= {getattr(m, "dtype", None) for m in _flatten(module) if type(m).__name__ == "OneHot"} - {None}
    if dts - {torch.float32, torch.float64}:
        raise InputError(f"parameters of dtype {sorted(map(str, dts))}: rnnlab computes in float32 or float64; "
                         "convert the module first (module.float() or module.double())")
    if len(dts) > 1:
        raise InputError("the module mixes float32 and float64 parameters; convert it to one dtype first")
    return "float64" if dts == {torch.float64} else "float32"


def _fill(layer: Layer, arrays: dict[str, Any]) -> None:
    if isinstance(layer, Bidirectional):
        _fill(layer.forward_layer, arrays["forward"])
        _fill(layer.backward_layer, arrays["backward"])
        return
    if set(arrays) != set(layer.params):
        raise InputError(f"{type(layer).__name__}: parameters {sorted(arrays)} do not fit {sorted(layer.params)}")
    for k, v in arrays.items():
        if v.shape != layer.params[k].shape:
            raise InputError(f"{type(layer).__name__}.{k}: shape {v.shape}, expected {layer.params[k].shape}")
        layer.params[k][...] = v


def from_torch(module, *, vocab=None, seed: int = 0):
    """An rnnlab :class:`~rnnlab.Sequential` computing what ``module`` computes (see the table in
    this module's docstring); float64 when the module's parameters are, else float32.

    With ``vocab`` (a :class:`~rnnlab.data.text.Vocabulary`) and token-id input, a
    :class:`~rnnlab.TextModel` carrying it. The model is batch-first like every rnnlab model:
    a plain ``nn.LSTM`` built with ``batch_first=False`` computes the same function on the
    transposed input. ``seed`` seeds the model's own shuffling and dropout, not the weights
    (they come from the module).

    A :class:`~rnnlab.interop.torch_seq2seq.TorchSeq2Seq` (or DDP around one) comes back as the
    :class:`~rnnlab.Seq2Seq` of its ``config`` (its recorded seed; ``vocab``: a pair of source and
    target vocabularies, or None).
    """
    from .torch_seq2seq import TorchSeq2Seq, seq2seq_from_torch
    inner = module
    if isinstance(getattr(inner, "module", None), TorchSeq2Seq):        # DistributedDataParallel / DataParallel
        inner = inner.module
    if isinstance(inner, TorchSeq2Seq):
        return seq2seq_from_torch(inner, vocab=vocab)
    mods = _flatten(module)
    if not mods:
        raise InputError("from_torch: the module holds no layers")
    dtype = _dtype(module if hasattr(module, "parameters") else mods[0])
    pairs: list[tuple[Layer, dict]] = []
    loss = None
    for i, mod in enumerate(mods):
        converted, implied = _convert(mod, i == len(mods) - 1)
        pairs += converted
        loss = implied or loss
    if not pairs:
        raise InputError("from_torch: nothing to convert (only identity or output functions)")
    layers = [layer for layer, _ in pairs]
    input_size = _input_size(mods[0])
    if vocab is not None:
        if not getattr(layers[0], "takes_ids", False):
            raise InputError("from_torch: vocab= needs a module that reads token ids (nn.Embedding or OneHot first)")
        model: Sequential = TextModel(layers, vocab=vocab, input_size=input_size, seed=seed, dtype=dtype)
    else:
        model = Sequential(layers, input_size=input_size, seed=seed, dtype=dtype)
    for layer, arrays in pairs:
        _fill(layer, arrays)
    if loss is not None:
        model.compile(loss=loss, optimizer="adam")
    return model
