"""Run an exported model beside rnnlab's and measure the largest difference (used by the command and the tests).

>>> import numpy as np, rnnlab
>>> from rnnlab.interop.check import sample_inputs
>>> model = rnnlab.Sequential([rnnlab.GRU(3), rnnlab.Dense(2)], input_size=4)
>>> x, lengths = sample_inputs(model, batch=2, steps=5)
>>> x.shape, lengths.tolist()
((2, 5, 4), [5, 3])
"""
from __future__ import annotations

import os
from typing import Any

import numpy as np

from ..errors import InputError
from ..losses import sigmoid, softmax
from ..validation import lengths_to_mask
from .torch import output_function, sequential_layers


def sample_inputs(model, batch: int = 3, steps: int = 7, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A random input batch for ``model`` (floats, or token ids for an Embedding/OneHot model) and
    lengths from ``steps`` down to 1 (the first sequence is full length)."""
    rng = np.random.default_rng(seed)
    first = sequential_layers(model)[0]
    if getattr(first, "takes_ids", False):
        x = rng.integers(0, first.vocab_size, size=(batch, steps)).astype(np.int64)
    else:
        x = rng.standard_normal((batch, steps, model.input_size)).astype(model.dtype)
    lengths = np.maximum(1, steps - np.arange(batch) * max(1, (steps + 1) // 3)).astype(np.int64)
    return x, lengths


def reference_output(model, x: np.ndarray, lengths: np.ndarray | None = None, output: str = "auto") -> np.ndarray:
    """What the exported model should return: rnnlab's logits with the ``output`` function applied."""
    mask = None if lengths is None else lengths_to_mask(np.asarray(lengths, dtype=np.int64), np.asarray(x).shape[1])
    z = model.predict(x, mask=mask, logits=True)
    fn = output_function(model, output)
    if fn == "softmax":
        return softmax(z)
    if fn == "sigmoid":
        return sigmoid(z)
    return z


def sample_seq2seq_inputs(model, batch: int = 3, src_steps: int = 7, tgt_steps: int = 5,
                          seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(src, tgt, src_lengths, tgt_lengths)``: random token ids for a ``Seq2Seq`` and lengths from
    the full length down to 1 (the first sequence is full length)."""
    rng = np.random.default_rng(seed)
    src = rng.integers(0, model.in_vocab, size=(batch, src_steps)).astype(np.int64)
    tgt = rng.integers(0, model.out_vocab, size=(batch, tgt_steps)).astype(np.int64)
    src_n, tgt_n = (np.maximum(1, n - np.arange(batch) * max(1, (n + 1) // 3)).astype(np.int64)
                    for n in (src_steps, tgt_steps))
    return src, tgt, src_n, tgt_n


def seq2seq_reference_output(model, src: np.ndarray, tgt: np.ndarray, src_lengths: np.ndarray | None = None,
                             tgt_lengths: np.ndarray | None = None, output: str = "logits") -> np.ndarray:
    """A ``Seq2Seq``'s teacher-forced logits (or softmax, per ``output``) with padding given by lengths."""
    masks = tuple(None if n is None else lengths_to_mask(np.asarray(n, dtype=np.int64), np.asarray(a).shape[1])
                  for n, a in ((src_lengths, src), (tgt_lengths, tgt)))
    z = model.predict((src, tgt), mask=None if all(m is None for m in masks) else masks, logits=True)
    return softmax(z) if output_function(model, output) == "softmax" else z


def seq2seq_torch_output(module, src: np.ndarray, tgt: np.ndarray, src_lengths: np.ndarray | None = None,
                         tgt_lengths: np.ndarray | None = None) -> np.ndarray:
    """Run a :class:`~rnnlab.interop.torch_seq2seq.TorchSeq2Seq` on numpy ids and lengths (no gradients)."""
    import torch

    def t(a):
        return None if a is None else torch.from_numpy(np.asarray(a, dtype=np.int64))
    with torch.no_grad():
        return module(t(src), t(tgt), t(src_lengths), t(tgt_lengths)).numpy()


def onnxruntime_session(path: str | os.PathLike):
    """An ONNX Runtime session (CPU, one thread) for the ONNX file at ``path``."""
    import onnxruntime as ort
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])


def onnxruntime_output(path_or_session: Any, x: np.ndarray, lengths: np.ndarray | None = None) -> np.ndarray:
    """Run an ONNX file (or a session from :func:`onnxruntime_session`) on ``x`` (and ``lengths``
    if the graph takes them); returns the output ``y``."""
    session = path_or_session
    if not hasattr(session, "run"):
        session = onnxruntime_session(path_or_session)
    feed: dict[str, Any] = {}
    for inp in session.get_inputs():
        if inp.name == "lengths":
            if lengths is None:
                raise InputError("the ONNX graph takes lengths (it was exported with lengths=True): pass them")
            feed["lengths"] = np.asarray(lengths, dtype=np.int64)
        elif inp.name == "ids":
            feed["ids"] = np.asarray(x, dtype=np.int64)
        else:
            feed[inp.name] = np.asarray(x, dtype=np.float64 if "double" in inp.type else np.float32)
    return session.run(["y"], feed)[0]


def torch_output(module, x: np.ndarray, lengths: np.ndarray | None = None) -> np.ndarray:
    """Run a torch module from :func:`~rnnlab.interop.torch.to_torch` on numpy inputs (no gradients)."""
    import torch
    with torch.no_grad():
        xt = torch.from_numpy(np.ascontiguousarray(x))
        lt = None if lengths is None else torch.from_numpy(np.asarray(lengths, dtype=np.int64))
        return module(xt, lt).numpy()


def max_abs_diff(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise InputError(f"outputs differ in shape: {a.shape} vs {b.shape}")
    return float(np.max(np.abs(a - b))) if a.size else 0.0
