"""PyTorch modules that compute exactly what rnnlab's layers compute (imports torch).

:func:`rnnlab.interop.torch.to_torch` assembles them; they are plain ``torch.nn.Module`` classes,
so a state dict saved from one loads into one built by the same code (``rnnlab export --torch``
prints that code). Inputs are batch-first, like rnnlab's: ``(batch, time, features)`` floats or
``(batch, time)`` int64 token ids. Variable-length batches pass ``lengths`` (int64, one per
sequence, padding at the end) and run as packed sequences (``pack_padded_sequence``,
``enforce_sorted=False``), so padded steps never reach a recurrent state:

| module | rnnlab layer | what it adds to ``torch.nn`` |
|---|---|---|
| :class:`RecurrentLayer` around ``nn.RNN``/``nn.LSTM``/``nn.GRU`` (``batch_first=True``) | ``SimpleRNN``/``LSTM``/``GRU``, ``Bidirectional`` | ``lengths`` → packed sequence, ``return_sequences``, ``go_backwards``, the directions' merge |
| ``nn.Linear`` | ``Dense`` | — |
| ``nn.Embedding`` | ``Embedding`` | — |
| :class:`OneHot` | ``OneHot`` | ids → one-hot vectors |
| :class:`SequenceDropout` | ``Dropout`` | one mask per sequence (``per_sequence=True``); identity in ``eval()`` |
| :class:`TimePool` | ``TimePool`` | mean / max over each sequence's valid steps |
| :class:`RnnlabSequential` | ``Sequential`` / ``TextModel`` | passes ``lengths`` to the recurrent layers while the time axis lasts |
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

MERGES = ("concat", "sum", "mul", "ave")


def reverse_valid(x: torch.Tensor, lengths: torch.Tensor | None) -> torch.Tensor:
    """Reverse each sequence of ``x (B, T, ...)`` along time within its first ``lengths[b]`` steps
    (rnnlab's ``go_backwards``; padding stays where it is)."""
    if lengths is None:
        return x.flip(1)
    steps = x.shape[1]
    t = torch.arange(steps, device=x.device)[None, :]
    n = lengths.to(x.device)[:, None]
    idx = torch.where(t < n, n - 1 - t, t)
    idx = idx.reshape(idx.shape + (1,) * (x.dim() - 2)).expand_as(x)
    return torch.gather(x, 1, idx)


def _merge(a: torch.Tensor, b: torch.Tensor, merge: str) -> torch.Tensor:
    if merge == "concat":
        return torch.cat([a, b], dim=-1)
    if merge == "sum":
        return a + b
    if merge == "mul":
        return a * b
    return (a + b) * 0.5


class RecurrentLayer(nn.Module):
    """A batch-first ``nn.RNN``/``nn.LSTM``/``nn.GRU`` run like an rnnlab recurrent layer.

    Args:
        rnn: the torch module (``batch_first=True``; ``bidirectional=True`` for rnnlab's
            ``Bidirectional``). Its parameters keep torch's names (``rnn.weight_ih_l0`` ...).
        return_sequences: every step ``(B, T, H')`` or the last valid step ``(B, H')``.
        go_backwards: read each sequence from its last valid step back (one direction only);
            outputs come back in the original time order.
        merge: how the two directions combine: ``concat`` (torch's own output), ``sum``,
            ``mul`` or ``ave``.
    """

    def __init__(self, rnn: nn.RNNBase, return_sequences: bool = False, go_backwards: bool = False,
                 merge: str = "concat") -> None:
        super().__init__()
        if not isinstance(rnn, nn.RNNBase) or not rnn.batch_first:
            raise ValueError("RecurrentLayer: expected an nn.RNN, nn.LSTM or nn.GRU built with batch_first=True")
        if getattr(rnn, "proj_size", 0):
            raise ValueError("RecurrentLayer: LSTM projections (proj_size > 0) have no rnnlab equivalent")
        if merge not in MERGES:
            raise ValueError(f"RecurrentLayer: merge must be one of {MERGES}, got {merge!r}")
        if go_backwards and rnn.bidirectional:
            raise ValueError("RecurrentLayer: go_backwards is for one direction; a bidirectional rnn reads both ways")
        self.rnn = rnn
        self.return_sequences = bool(return_sequences)
        self.go_backwards = bool(go_backwards)
        self.merge = merge

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        steps = x.shape[1]
        if self.go_backwards:
            x = reverse_valid(x, lengths)
        if lengths is None:
            y, h = self.rnn(x)
        else:
            packed = pack_padded_sequence(x, lengths.to("cpu", torch.int64), batch_first=True, enforce_sorted=False)
            y, h = self.rnn(packed)
            y, _ = pad_packed_sequence(y, batch_first=True, total_length=steps)   # zeros past each end
        if isinstance(h, tuple):                     # LSTM: (h_n, c_n)
            h = h[0]
        hidden = self.rnn.hidden_size
        if self.return_sequences:
            if self.go_backwards:
                y = reverse_valid(y, lengths)
            if self.rnn.bidirectional and self.merge != "concat":
                y = _merge(y[..., :hidden], y[..., hidden:], self.merge)
            return y
        if self.rnn.bidirectional:                   # h_n of the last layer: forward, then reverse
            return _merge(h[-2], h[-1], self.merge)
        return h[-1]

    def extra_repr(self) -> str:
        return f"return_sequences={self.return_sequences}, go_backwards={self.go_backwards}, merge={self.merge!r}"


class OneHot(nn.Module):
    """Token ids ``(B, T)`` → one-hot vectors ``(B, T, vocab_size)`` of ``dtype``."""

    def __init__(self, vocab_size: int, dtype: torch.dtype = torch.float32) -> None:
        super().__init__()
        self.vocab_size = int(vocab_size)
        self.dtype = dtype

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return nn.functional.one_hot(ids.long(), self.vocab_size).to(self.dtype)

    def extra_repr(self) -> str:
        return f"{self.vocab_size}, dtype={self.dtype}"


class SequenceDropout(nn.Module):
    """rnnlab's inverted dropout: with ``per_sequence=True`` a ``(B, T, F)`` input draws one
    ``(B, 1, F)`` mask shared by all steps (variational dropout); identity in ``eval()``."""

    def __init__(self, rate: float, per_sequence: bool = True) -> None:
        super().__init__()
        self.rate = float(rate)
        self.per_sequence = bool(per_sequence)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.rate == 0.0:
            return x
        shape = (x.shape[0], 1, x.shape[2]) if (self.per_sequence and x.dim() == 3) else x.shape
        keep = 1.0 - self.rate
        mask = (torch.rand(shape, device=x.device) < keep).to(x.dtype) / keep
        return x * mask

    def extra_repr(self) -> str:
        return f"rate={self.rate}, per_sequence={self.per_sequence}"


class TimePool(nn.Module):
    """Mean or maximum over each sequence's valid steps: ``(B, T, F)`` → ``(B, F)`` (rnnlab's
    ``TimePool``; padded steps never count)."""

    def __init__(self, mode: str = "mean") -> None:
        super().__init__()
        if mode not in ("mean", "max"):
            raise ValueError(f"TimePool: mode must be 'mean' or 'max', got {mode!r}")
        self.mode = mode

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        if lengths is None:
            return x.mean(dim=1) if self.mode == "mean" else x.amax(dim=1)
        n = lengths.to(x.device)
        valid = (torch.arange(x.shape[1], device=x.device)[None, :] < n[:, None])[..., None]
        if self.mode == "mean":
            return (x * valid.to(x.dtype)).sum(dim=1) / n[:, None].to(x.dtype)
        return x.masked_fill(~valid, float("-inf")).amax(dim=1)

    def extra_repr(self) -> str:
        return repr(self.mode)


class RnnlabSequential(nn.Module):
    """Layers in order; ``forward(x, lengths=None)`` hands ``lengths`` to every
    :class:`RecurrentLayer` until one returns only its last step. Returns what the rnnlab model's
    ``forward`` returns (logits), unless an output function (``nn.Softmax``/``nn.Sigmoid``) ends it."""

    def __init__(self, layers: Sequence[nn.Module]) -> None:
        super().__init__()
        self.layers = nn.ModuleList(layers)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        if lengths is not None:
            lengths = torch.as_tensor(lengths, dtype=torch.int64)
        for layer in self.layers:
            if isinstance(layer, RecurrentLayer):
                x = layer(x, lengths)
                if not layer.return_sequences:
                    lengths = None
            elif isinstance(layer, TimePool):
                x, lengths = layer(x, lengths), None
            else:
                x = layer(x)
        return x
