"""Export a Sequential model to a standard ONNX graph: the ``RNN``, ``LSTM`` and ``GRU`` operators.

The graph (B batch and T time are dynamic; opset 17 by default, 14 or later)::

    x (B, T, F) float32  ──Transpose──▶ (T, B, F)        ids (B, T) int64 ──Transpose──▶ (T, B)
    lengths (B,) int64   ──Cast──▶ sequence_lens int32   (only with lengths=True)
    Embedding ─ Gather(weight, ids)          OneHot ─ OneHot(ids, depth, [0, 1])
    SimpleRNN / LSTM / GRU / Bidirectional ─ RNN / LSTM / GRU (direction forward, reverse for
        go_backwards, bidirectional), Y (T, D, B, H) merged over D for every step, or Y_h
        (D, B, H) merged for the last valid step
    TimePool ─ ReduceMean / ReduceMax over time (with lengths: masked sum ÷ lengths, max of Where)
    Dense ─ MatMul(weightᵀ) + Add(bias)      Dropout ─ nothing (inference)
    [Softmax(axis=-1) | Sigmoid] ─▶ y (B, T, K) or (B, K)

Parameters are converted from rnnlab's (= PyTorch's) layout to ONNX's (docs/interop.md proves
each mapping): W = weight_ih, R = weight_hh with the gate blocks reordered — LSTM i,f,g,o → i,o,f,c;
GRU r,z,n → z,r,h — and B = [bias_ih, bias_hh] reordered the same way (Wb then Rb); a
Bidirectional stacks [forward, backward] on the num_directions axis. ``GRU(reset_after=True)``
is ``linear_before_reset=1``; the lecture's ``reset_after=False`` is ONNX's default
``linear_before_reset=0``.

With ``lengths`` the recurrent operators get ``sequence_lens``: ONNX Runtime then stops each
sequence at its length (``Y_h`` is the state at the last valid step; the reverse direction
starts at it), exactly rnnlab's mask; outputs past a sequence's end are multiplied by the mask
so they are zero in any runtime. ONNX Runtime's CPU kernels for these operators are float32
only: a float64 model is exported in float32 unless ``dtype="float64"`` is asked for.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from ..fileio import atomic_write_bytes
from ..layers.base import Layer
from ..layers.bidirectional import Bidirectional
from ..layers.dense import Dense
from ..layers.dropout import Dropout
from ..layers.embedding import Embedding
from ..layers.onehot import OneHot
from ..layers.pooling import TimePool
from ..layers.recurrent import Recurrent
from ..seq2seq import Seq2Seq
from .onnx_recurrent import onnx_recurrent_spec
from .torch import output_function, sequential_layers

DEFAULT_OPSET = 17
MIN_OPSET = 14


class GraphBuilder:
    """Nodes and initializers of one ONNX graph, with unique names."""

    def __init__(self, helper: Any, numpy_helper: Any, dtype: np.dtype) -> None:
        self.helper, self.numpy_helper = helper, numpy_helper
        self.dtype = np.dtype(dtype)
        self.elem = 11 if self.dtype == np.float64 else 1          # TensorProto.DOUBLE / FLOAT
        self.nodes: list = []
        self.initializers: list = []
        self._count = 0

    def name(self, stem: str) -> str:
        self._count += 1
        return f"{stem}_{self._count}"

    def const(self, stem: str, value: np.ndarray) -> str:
        name = self.name(stem)
        self.initializers.append(self.numpy_helper.from_array(np.array(value, order="C"), name))
        return name

    def weight(self, stem: str, value: np.ndarray) -> str:
        return self.const(stem, np.asarray(value, dtype=self.dtype))

    def op(self, op_type: str, inputs: list[str], n_out: int = 1, out: list[str] | None = None, **attrs) -> list[str]:
        outs = out or [self.name(op_type.lower()) for _ in range(n_out)]
        self.nodes.append(self.helper.make_node(op_type, inputs, outs, name=self.name(op_type), **attrs))
        return outs

    def op1(self, op_type: str, inputs: list[str], **attrs) -> str:
        return self.op(op_type, inputs, **attrs)[0]


def _gather(g: GraphBuilder, x: str, index: int, axis: int) -> str:
    """``x`` indexed at ``index`` along ``axis`` (the axis disappears)."""
    return g.op1("Gather", [x, g.const("index", np.array(index, np.int64))], axis=axis)


def _merge(g: GraphBuilder, parts: list[str], merge: str) -> str:
    a, b = parts
    if merge == "sum":
        return g.op1("Add", [a, b])
    if merge == "mul":
        return g.op1("Mul", [a, b])
    return g.op1("Mul", [g.op1("Add", [a, b]), g.weight("half", np.array(0.5))])


def _recurrent(g: GraphBuilder, layer: Layer, x_tm: str, seq_lens: str, mask_tm: str) -> tuple[str, bool]:
    """The operator for one recurrent layer; returns (output, keeps the time axis)."""
    spec = onnx_recurrent_spec(layer)
    inputs = [x_tm, g.weight("W", spec["W"]), g.weight("R", spec["R"]),
              g.weight("B", spec["B"]) if spec["B"] is not None else "", seq_lens]
    while inputs and inputs[-1] == "":
        inputs.pop()
    y, y_h = g.op(spec["op"], inputs, n_out=2, **spec["attrs"])
    two = spec["attrs"]["direction"] == "bidirectional"
    merge = layer.merge if isinstance(layer, Bidirectional) else "concat"
    if spec["return_sequences"]:                     # Y (T, D, B, H) → (T, B, D·H) or merged (T, B, H)
        if not two:
            out = _gather(g, y, 0, axis=1)
        elif merge == "concat":
            t = g.op1("Transpose", [y], perm=[0, 2, 1, 3])
            out = g.op1("Reshape", [t, g.const("shape", np.array([0, 0, -1], np.int64))])
        else:
            out = _merge(g, [_gather(g, y, 0, axis=1), _gather(g, y, 1, axis=1)], merge)
        if mask_tm:
            out = g.op1("Mul", [out, mask_tm])      # zero past each end, whatever the runtime left there
        return out, True
    if not two:                                      # Y_h (D, B, H) → (B, D·H) or merged (B, H)
        return _gather(g, y_h, 0, axis=0), False
    if merge == "concat":
        t = g.op1("Transpose", [y_h], perm=[1, 0, 2])
        return g.op1("Reshape", [t, g.const("shape", np.array([0, -1], np.int64))]), False
    return _merge(g, [_gather(g, y_h, 0, axis=0), _gather(g, y_h, 1, axis=0)], merge), False


def _reduce(g: GraphBuilder, op: str, x: str, opset: int) -> str:
    """``op`` (ReduceSum/ReduceMean/ReduceMax) over axis 0, the time axis, dropping it (axes became an
    input in opset 13 for ReduceSum, 18 for the others)."""
    if op == "ReduceSum" or opset >= 18:
        return g.op1(op, [x, g.const("axes", np.array([0], np.int64))], keepdims=0)
    return g.op1(op, [x], axes=[0], keepdims=0)


def _time_pool(g: GraphBuilder, mode: str, x_tm: str, lengths: str, valid_tm: str, mask_tm: str, opset: int) -> str:
    """rnnlab's TimePool on a time-major (T, B, F) tensor: mean or max over the valid steps."""
    if not lengths:
        return _reduce(g, "ReduceMean" if mode == "mean" else "ReduceMax", x_tm, opset)
    if mode == "mean":
        total = _reduce(g, "ReduceSum", g.op1("Mul", [x_tm, mask_tm]), opset)                # (B, F)
        count = g.op1("Unsqueeze", [g.op1("Cast", [lengths], to=g.elem),
                                    g.const("axes", np.array([1], np.int64))])               # (B, 1)
        return g.op1("Div", [total, count])
    low = g.weight("minus_inf", np.array(-np.inf))
    return _reduce(g, "ReduceMax", g.op1("Where", [valid_tm, x_tm, low]), opset)


def check_exportable(model) -> None:
    """An InputError, before any work, for a model that has no ONNX export (a ``Seq2Seq``)."""
    if isinstance(model, Seq2Seq):
        raise InputError("ONNX export of a Seq2Seq is not supported (only Sequential and TextModel models export "
                         "to ONNX); export it to PyTorch instead: --torch OUT.pt (rnnlab.interop.torch.to_torch)")


def build_model_proto(model, *, opset: int = DEFAULT_OPSET, lengths: bool = False, output: str = "auto",
                      dtype: str | np.dtype = "float32"):
    """The checked ``onnx.ModelProto`` :func:`export` writes (same arguments)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    check_exportable(model)
    layers = sequential_layers(model)
    if isinstance(model, Layer):
        raise InputError("export: pass a model (Sequential or TextModel), not a single layer")
    max_opset = onnx.defs.onnx_opset_version()
    if isinstance(opset, bool) or not isinstance(opset, (int, np.integer)) or not MIN_OPSET <= opset <= max_opset:
        raise InputError(f"opset: expected an integer in [{MIN_OPSET}, {max_opset}] (this onnx package's newest), "
                         f"got {opset!r}")
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise InputError(f"dtype: expected float32 or float64, got {dtype}")
    elem = TensorProto.DOUBLE if dtype == np.float64 else TensorProto.FLOAT
    fn = output_function(model, output)
    g = GraphBuilder(helper, numpy_helper, dtype)
    takes_ids = bool(getattr(layers[0], "takes_ids", False))
    batch, time = "batch", "time"
    if takes_ids:
        graph_inputs = [helper.make_tensor_value_info("ids", TensorProto.INT64, [batch, time])]
        cur = g.op1("Transpose", ["ids"], perm=[1, 0])                       # (T, B)
    else:
        graph_inputs = [helper.make_tensor_value_info("x", elem, [batch, time, model.input_size])]
        cur = g.op1("Transpose", ["x"], perm=[1, 0, 2])                      # (T, B, F)
    seq_lens = mask_tm = valid_tm = ""
    if lengths:
        graph_inputs.append(helper.make_tensor_value_info("lengths", TensorProto.INT64, [batch]))
        seq_lens = g.op1("Cast", ["lengths"], to=TensorProto.INT32)
        steps = _gather(g, g.op1("Shape", [cur]), 0, axis=0)                # T, a scalar
        t = g.op1("Range", [g.const("zero", np.array(0, np.int64)), steps, g.const("one", np.array(1, np.int64))])
        valid = g.op1("Less", [g.op1("Unsqueeze", [t, g.const("axes", np.array([1], np.int64))]),
                               g.op1("Unsqueeze", ["lengths", g.const("axes", np.array([0], np.int64))])])
        valid_tm = g.op1("Unsqueeze", [valid, g.const("axes", np.array([2], np.int64))])   # (T, B, 1) bool
        mask_tm = g.op1("Cast", [valid_tm], to=elem)
    has_time = True
    for i, layer in enumerate(layers):
        if isinstance(layer, Embedding):
            cur = g.op1("Gather", [g.weight("embedding", layer.params["weight"]), cur], axis=0)
        elif isinstance(layer, OneHot):
            cur = g.op1("OneHot", [cur, g.const("depth", np.array([layer.vocab_size], np.int64)),
                                   g.weight("values", np.array([0.0, 1.0]))], axis=-1)
        elif isinstance(layer, Dropout):
            continue                                                        # identity at inference
        elif isinstance(layer, Dense):
            cur = g.op1("MatMul", [cur, g.weight("weight_t", layer.params["weight"].T)])
            if layer.use_bias:
                cur = g.op1("Add", [cur, g.weight("bias", layer.params["bias"])])
        elif isinstance(layer, (Recurrent, Bidirectional, TimePool)):
            if not has_time:
                raise InputError(f"layer {i} ({type(layer).__name__}): its input has no time axis left")
            if isinstance(layer, TimePool):
                cur, has_time = _time_pool(g, layer.mode, cur, "lengths" if lengths else "", valid_tm, mask_tm,
                                           int(opset)), False
            else:
                cur, has_time = _recurrent(g, layer, cur, seq_lens, mask_tm)
        else:
            raise InputError(f"{type(layer).__name__} layers cannot be exported to ONNX yet (supported: SimpleRNN, "
                             "LSTM, GRU, Bidirectional, Dense, Embedding, OneHot, Dropout, TimePool)")
    if fn == "softmax":
        cur = g.op1("Softmax", [cur], axis=-1)
    elif fn == "sigmoid":
        cur = g.op1("Sigmoid", [cur])
    out_size = layers[-1].output_size
    if has_time:
        g.op("Transpose", [cur], out=["y"], perm=[1, 0, 2])
        out_shape = [batch, time, out_size]
    else:
        g.op("Identity", [cur], out=["y"])
        out_shape = [batch, out_size]
    graph = helper.make_graph(g.nodes, f"rnnlab_{type(model).__name__}", graph_inputs,
                              [helper.make_tensor_value_info("y", elem, out_shape)], g.initializers)
    opsets = [helper.make_opsetid("", int(opset))]
    proto = helper.make_model(graph, opset_imports=opsets, ir_version=helper.find_min_ir_version_for(opsets),
                              producer_name="rnnlab", producer_version=_version(),
                              doc_string=f"{type(model).__name__} exported by rnnlab: "
                                         + ", ".join(type(layer).__name__ for layer in layers))
    meta = {"rnnlab.class": type(model).__name__, "rnnlab.output": fn or "logits",
            "rnnlab.inputs": "ids" if takes_ids else "x", "rnnlab.lengths": str(bool(lengths)).lower(),
            "rnnlab.model_dtype": np.dtype(model.dtype).name}
    vocab = getattr(model, "vocab", None)
    if vocab is not None:
        meta["rnnlab.vocabulary"] = json.dumps(vocab.to_dict(), ensure_ascii=False)
    helper.set_model_props(proto, meta)
    onnx.checker.check_model(proto, full_check=True)
    return proto


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version("rnnlab")
    except PackageNotFoundError:                    # pragma: no cover - running from a source tree
        return "unknown"


def export(model, path: str | os.PathLike, *, opset: int = DEFAULT_OPSET, lengths: bool = False,
           output: str = "auto", dtype: str | np.dtype = "float32") -> Path:
    """Write ``model`` (a ``Sequential`` or ``TextModel``) to ``path`` as an ONNX file, atomically.

    Args:
        opset: the ONNX opset (default 17; 14 or later), recorded in the file.
        lengths: add an int64 input ``lengths`` (B,) for variable-length batches (rnnlab's mask,
            padding at the end); without it every sequence is T steps long.
        output: ``"auto"`` applies the output function of the model's loss (softmax for
            cross-entropy, sigmoid for binary cross-entropy: what ``model.predict`` returns);
            ``"logits"`` leaves it out; ``"softmax"``/``"sigmoid"`` force one.
        dtype: float type of the inputs, weights and outputs (ONNX Runtime runs float32 only).

    Inputs are ``x`` (B, T, F) float, or ``ids`` (B, T) int64 for an Embedding/OneHot model; the
    output is ``y``. A TextModel's vocabulary is stored in the metadata (``rnnlab.vocabulary``,
    JSON). The file passes ``onnx.checker.check_model(full_check=True)``. Returns ``path``.
    """
    proto = build_model_proto(model, opset=opset, lengths=lengths, output=output, dtype=dtype)
    path = Path(path)
    atomic_write_bytes(path, proto.SerializeToString())
    return path
