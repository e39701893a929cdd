"""rnnlab's :class:`~rnnlab.Seq2Seq` as a PyTorch module and back (imports torch).

:func:`rnnlab.interop.torch.to_torch` turns a ``Seq2Seq`` into a :class:`TorchSeq2Seq` and
:func:`~rnnlab.interop.torch.from_torch` turns one back; both dispatch here. The module is built
from ``torch.nn`` pieces, one per rnnlab part, under the same attribute names:

| rnnlab (``Seq2Seq``) | torch (``TorchSeq2Seq``) | parameters, rnnlab → torch |
|---|---|---|
| ``src_embed``, ``tgt_embed`` | ``nn.Embedding`` | ``weight`` |
| ``encoder`` (L layers, each ``Bidirectional`` or not) | one ``nn.RNN``/``nn.LSTM``/``nn.GRU`` (``num_layers=L``, ``bidirectional``) | ``encoder.{l}.forward.weight_ih`` → ``encoder.weight_ih_l{l}``, ``backward`` → ``…_reverse`` |
| ``bridge`` (context transform / pool) | ``nn.Linear`` + tanh | ``weight``, ``bias`` |
| ``decoder`` (L layers) | one ``nn.RNN``/``nn.LSTM``/``nn.GRU`` (``num_layers=L``), also run one step at a time | ``decoder.{l}.weight_ih`` → ``decoder.weight_ih_l{l}`` |
| ``attn``: ``AdditiveAttention`` | :class:`Seq2SeqAttention` (Bahdanau) | ``query_weight`` → ``query.weight``, ``key_weight`` → ``key.weight``, ``bias``, ``v`` |
| ``attn``: ``MultiplicativeAttention`` | :class:`Seq2SeqAttention` (Luong dot / general) | ``weight`` (general) |
| ``combine``, ``out`` | ``nn.Linear`` | ``weight``, ``bias`` |
| ``Dropout`` on the embeddings and before ``out`` | :class:`~rnnlab.interop.torch_modules.SequenceDropout` | — |

Masks are lengths (int64, padding at the end; a ``(B, S)`` bool mask is accepted too): the
encoder and the teacher-forced decoder run on packed sequences (``enforce_sorted=False``), so
padded steps never touch a state and come out as zeros — rnnlab's masked layers do the same —
and attention puts ``-inf`` on padded source positions before its softmax, as rnnlab does.

:class:`DecodingSteps` wraps the module in :mod:`rnnlab.decoding`'s stepping protocol (beam
search over the torch module; the same hypotheses as over the rnnlab model).

Not in the module: the teacher-forcing ratio below 1 (rnnlab draws its own predictions during
training; the module's ``forward`` is fully teacher-forced, what ``Seq2Seq.forward`` computes
in evaluation) and the vocabularies. Both are kept in :attr:`TorchSeq2Seq.config` (the ratio)
or on the rnnlab side (``model.src_vocab``/``tgt_vocab``), so a round trip loses nothing.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from ..errors import InputError
from ..seq2seq import ATTENTIONS, CONTEXTS, STRUCTURES, Seq2Seq
from .torch_kinds import output_function, torch_kind
from .torch_modules import SequenceDropout

RECURRENT_PARAMS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
TORCH_RNN = {"rnn": "RNN", "lstm": "LSTM", "gru": "GRU"}


def as_lengths(lengths_or_mask: Any) -> torch.Tensor | None:
    """int64 lengths ``(B,)`` from lengths or a ``(B, T)`` bool mask (True on a prefix); None stays None."""
    if lengths_or_mask is None:
        return None
    t = torch.as_tensor(lengths_or_mask)
    if t.dim() == 2:
        t = t.bool().sum(dim=1)
    return t.to(torch.int64)


def run_rnn(rnn: nn.RNNBase, x: torch.Tensor, lengths: torch.Tensor | None, hx: Any = None):
    """``rnn(x, hx)`` batch-first; with lengths through a packed sequence (outputs 0 past each end,
    final states at each sequence's last valid step)."""
    if lengths is None:
        return rnn(x, hx)
    packed = pack_padded_sequence(x, lengths.to("cpu", torch.int64), batch_first=True, enforce_sorted=False)
    y, h = rnn(packed, hx)
    y, _ = pad_packed_sequence(y, batch_first=True, total_length=x.shape[1])
    return y, h


class Seq2SeqAttention(nn.Module):
    """rnnlab's attention (:mod:`rnnlab.layers.attention`) on ``(B, T, D)`` queries and ``(B, S, D)`` keys.

    ``additive``: ``e_ts = v · tanh(W_q q_t + W_k k_s + b)`` (Bahdanau); ``dot``: ``e_ts = q_t · k_s``;
    ``general``: ``e_ts = (q_t W) · k_s`` (Luong). ``α = softmax`` over the valid source positions
    (``-inf`` on padding), context ``a_t = Σ_s α_ts k_s``. Returns ``(context, α)``.
    """

    def __init__(self, kind: str, size: int, units: int | None = None, dtype: torch.dtype = torch.float32) -> None:
        super().__init__()
        if kind not in ("additive", "dot", "general"):
            raise InputError(f"Seq2SeqAttention: expected 'additive', 'dot' or 'general', got {kind!r}")
        self.kind, self.size = kind, int(size)
        self.units = int(units or size) if kind == "additive" else None
        if kind == "additive":
            u = self.units
            self.query = nn.Linear(size, u, bias=False, dtype=dtype)
            self.key = nn.Linear(size, u, bias=False, dtype=dtype)
            self.bias = nn.Parameter(torch.zeros(u, dtype=dtype))
            self.v = nn.Parameter(torch.empty(u, dtype=dtype).uniform_(-1 / math.sqrt(u), 1 / math.sqrt(u)))
        elif kind == "general":
            bound = 1 / math.sqrt(size)
            self.weight = nn.Parameter(torch.empty(size, size, dtype=dtype).uniform_(-bound, bound))

    def scores(self, q: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
        if self.kind == "additive":
            z = torch.tanh(self.query(q)[:, :, None, :] + self.key(k)[:, None, :, :] + self.bias)   # (B, T, S, U)
            return z @ self.v
        qw = q @ self.weight if self.kind == "general" else q
        return qw @ k.transpose(1, 2)

    def forward(self, query: torch.Tensor, keys: torch.Tensor,
                mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        e = self.scores(query, keys)
        if mask is not None:
            e = e.masked_fill(~mask[:, None, :], float("-inf"))
        alpha = torch.softmax(e, dim=-1)
        return alpha @ keys, alpha

    def extra_repr(self) -> str:
        return f"{self.kind!r}, size={self.size}" + (f", units={self.units}" if self.units else "")


class TorchSeq2Seq(nn.Module):
    """The encoder–decoder of :class:`rnnlab.Seq2Seq` in torch (same options, same function).

    Construct it with ``Seq2Seq``'s keyword arguments (``cell`` ``"rnn"``/``"lstm"``/``"gru"``)
    plus ``output`` (``"logits"`` or ``"softmax"``) and ``dtype``; :attr:`config` keeps them.

    * ``forward(src, tgt, src_lengths=None, tgt_lengths=None)``: the teacher-forced logits
      ``(B, T, V_out)`` for targets ``tgt`` (the decoder reads ``<bos>, y_1 … y_{T-1}``), what
      ``Seq2Seq.forward`` returns; the loss is cross-entropy over the valid target steps.
    * ``start(src, src_lengths)`` / ``step(tokens, state)``: one decoder step at a time;
      :meth:`greedy_decode` gives rnnlab's :func:`~rnnlab.decoding.greedy_decode` tokens.
    """

    def __init__(self, in_vocab: int, out_vocab: int, *, hidden: int = 64, embed: int = 16, cell: str = "gru",
                 structure: str = "state", context: str = "last", attention: str = "none", layers: int = 1,
                 bidirectional: bool = False, attention_units: int | None = None, dropout: float = 0.0,
                 teacher_forcing: float = 1.0, bos: int = 0, eos: int | None = None, pad: int | None = None,
                 seed: int = 0, output: str = "logits", dtype: torch.dtype = torch.float32) -> None:
        super().__init__()
        for name, value, allowed in (("cell", cell, tuple(TORCH_RNN)), ("structure", structure, STRUCTURES),
                                     ("context", context, CONTEXTS), ("attention", attention, ATTENTIONS),
                                     ("output", output, ("logits", "softmax"))):
            if value not in allowed:
                raise InputError(f"TorchSeq2Seq {name}: expected one of {allowed}, got {value!r}")
        d_model = hidden * (2 if bidirectional else 1)
        units = int(attention_units or d_model)
        self.config: dict[str, Any] = {
            "in_vocab": int(in_vocab), "out_vocab": int(out_vocab), "hidden": int(hidden), "embed": int(embed),
            "cell": cell, "structure": structure, "context": context, "attention": attention,
            "layers": int(layers), "bidirectional": bool(bidirectional), "attention_units": units,
            "dropout": float(dropout), "teacher_forcing": float(teacher_forcing), "bos": int(bos),
            "eos": None if eos is None else int(eos), "pad": None if pad is None else int(pad), "seed": int(seed)}
        self.structure, self.context, self.n_layers, self.d_model = structure, context, int(layers), d_model
        self.bidirectional, self.lstm, self.output = bool(bidirectional), cell == "lstm", output
        self.bos, self.eos, self.out_vocab = int(bos), self.config["eos"], int(out_vocab)
        rnn = getattr(nn, TORCH_RNN[cell])
        kw = {"batch_first": True, "num_layers": int(layers), "dtype": dtype}
        self.src_embed = nn.Embedding(in_vocab, embed, dtype=dtype)
        self.src_drop = SequenceDropout(dropout)
        self.encoder = rnn(embed, hidden, bidirectional=bool(bidirectional), **kw)
        self.bridge = nn.Linear(d_model, d_model, dtype=dtype) if context != "last" else None
        self.tgt_embed = nn.Embedding(out_vocab, embed, dtype=dtype)
        self.tgt_drop = SequenceDropout(dropout)
        self.decoder = rnn(embed + (d_model if structure == "context" else 0), d_model, **kw)
        self.attn = Seq2SeqAttention(attention, d_model, units, dtype) if attention != "none" else None
        self.combine = nn.Linear(2 * d_model, d_model, dtype=dtype) if self.attn is not None else None
        self.out_drop = SequenceDropout(dropout)
        self.out = nn.Linear(d_model, out_vocab, dtype=dtype)

    # -- the parts --------------------------------------------------------------------------------
    def shift(self, tgt: torch.Tensor) -> torch.Tensor:
        """Decoder inputs ``<bos>, y_1, …, y_{T-1}`` for targets ``(B, T)``."""
        return torch.cat([torch.full_like(tgt[:, :1], self.bos), tgt[:, :-1]], dim=1)

    def encode(self, src: torch.Tensor, src_lengths: Any = None):
        """``(encoder outputs (B, S, D), final states per layer [(h, c…) (B, D)], context c (B, D),
        source mask (B, S) bool or None)``."""
        lengths = as_lengths(src_lengths)
        enc, fin = run_rnn(self.encoder, self.src_drop(self.src_embed(src)), lengths)
        fin = fin if isinstance(fin, tuple) else (fin,)
        if self.bidirectional:                       # h_n rows: layer l forward 2l, reverse 2l + 1
            finals = [tuple(torch.cat([f[2 * l], f[2 * l + 1]], dim=1) for f in fin) for l in range(self.n_layers)]
        else:
            finals = [tuple(f[l] for f in fin) for l in range(self.n_layers)]
        mask = None
        if lengths is not None:
            mask = torch.arange(src.shape[1], device=enc.device)[None, :] < lengths.to(enc.device)[:, None]
        if self.context == "last":
            c = finals[-1][0]
        else:
            if self.context == "transform":
                summary = finals[-1][0]
            elif mask is None:
                summary = enc.mean(dim=1)
            else:
                m = mask[:, :, None].to(enc.dtype)
                summary = (enc * m).sum(dim=1) / m.sum(dim=1).clamp(min=1.0)
            c = torch.tanh(self.bridge(summary))
        return enc, finals, c, mask

    def initial_state(self, c: torch.Tensor, finals: list) -> Any:
        """The decoder's ``hx`` (``(L, B, D)``, a pair for LSTM) or None (zeros): structure
        ``"state"`` starts layer l from encoder layer l's final state (context ``"last"``) or
        every layer from ``h = c`` (other states 0); structure ``"context"`` from zeros."""
        if self.structure != "state":
            return None
        if self.context == "last":
            states = [torch.stack([f[k] for f in finals]) for k in range(len(finals[0]))]
        else:
            h = c[None].expand(self.n_layers, -1, -1).contiguous()
            states = [h] + [torch.zeros_like(h) for _ in range(len(finals[0]) - 1)]
        return tuple(states) if self.lstm else states[0]

    def decode(self, dec_in: torch.Tensor, enc: torch.Tensor, c: torch.Tensor, mask: torch.Tensor | None,
               hx: Any, tgt_lengths: Any = None):
        """Decoder inputs ``(B, T)`` → ``(logits (B, T, V) [or probabilities], final hx, α (B, T, S) or None)``."""
        e = self.tgt_drop(self.tgt_embed(dec_in))
        if self.structure == "context":
            e = torch.cat([e, c[:, None, :].expand(-1, e.shape[1], -1)], dim=2)
        s, hx = run_rnn(self.decoder, e, as_lengths(tgt_lengths), hx)
        alpha = None
        if self.attn is not None:
            a, alpha = self.attn(s, enc, mask)
            s = torch.tanh(self.combine(torch.cat([a, s], dim=2)))       # h̃_t = tanh(W_c [a_t; s_t] + b_c)
        z = self.out(self.out_drop(s))
        return (torch.softmax(z, dim=-1) if self.output == "softmax" else z), hx, alpha

    def forward(self, src: torch.Tensor, tgt: torch.Tensor, src_lengths: Any = None,
                tgt_lengths: Any = None) -> torch.Tensor:
        """Teacher-forced logits ``(B, T, V_out)``; lengths (int64) or bool masks, padding at the end."""
        enc, finals, c, mask = self.encode(src, src_lengths)
        return self.decode(self.shift(tgt), enc, c, mask, self.initial_state(c, finals), tgt_lengths)[0]

    # -- one step at a time -----------------------------------------------------------------------
    def start(self, src: torch.Tensor, src_lengths: Any = None) -> dict[str, Any]:
        """Encode for step-by-step decoding: ``{"enc", "mask", "c", "hx"}``."""
        enc, finals, c, mask = self.encode(src, src_lengths)
        hx = self.initial_state(c, finals)
        if hx is None:
            zeros = torch.zeros(self.n_layers, len(c), self.d_model, dtype=c.dtype, device=c.device)
            hx = (zeros, zeros.clone()) if self.lstm else zeros
        return {"enc": enc, "mask": mask, "c": c, "hx": hx}

    def step(self, tokens: torch.Tensor, state: dict[str, Any]):
        """Feed the previous tokens ``(N,)``: ``(logits (N, V), next state, α (N, S) or None)``."""
        z, hx, alpha = self.decode(tokens[:, None], state["enc"], state["c"], state["mask"], state["hx"])
        return z[:, 0], {**state, "hx": hx}, None if alpha is None else alpha[:, 0]

    @torch.no_grad()
    def greedy_decode(self, src: torch.Tensor, src_lengths: Any = None, max_len: int = 50,
                      eos: int | None = None, stop: bool = True) -> torch.Tensor:
        """The most probable token at each step, fed back (rnnlab's ``greedy_decode``): ids
        ``(B, L)``; after ``eos`` every token is ``eos`` and decoding ends when all have produced it
        (``eos`` defaults to the model's; ``stop=False``: exactly ``max_len`` tokens)."""
        eos = (self.eos if eos is None else int(eos)) if stop else None
        state = self.start(src, src_lengths)
        n = src.shape[0]
        tokens = torch.full((n,), self.bos, dtype=torch.int64, device=src.device)
        done = torch.zeros(n, dtype=torch.bool, device=src.device)
        out = []
        for _ in range(int(max_len)):
            logits, state, _ = self.step(tokens, state)
            tokens = logits.argmax(dim=1)
            if eos is not None:
                tokens = torch.where(done, torch.full_like(tokens, eos), tokens)
                done |= tokens == eos
            out.append(tokens)
            if eos is not None and bool(done.all()):
                break
        return torch.stack(out, dim=1)

    def extra_repr(self) -> str:
        return f"structure={self.structure!r}, context={self.context!r}, output={self.output!r}"


class DecodingSteps:
    """:mod:`rnnlab.decoding`'s stepping protocol over a :class:`TorchSeq2Seq` (numpy in and out,
    no gradients), so that its beam search and sampling run on the torch module::

        rnnlab.decoding.beam_search(DecodingSteps(module), src, src_mask, beam=5)

    The decoder state travels batch-first (``(N, L, D)`` arrays) so the search can reorder it."""

    def __init__(self, module: TorchSeq2Seq) -> None:
        self.module, self.out_vocab, self.bos, self.eos = module, module.out_vocab, module.bos, module.eos

    def decode_start(self, src: Any, src_mask: Any = None) -> dict[str, Any]:
        src = np.asarray(src, dtype=np.int64)
        mask = np.ones(src.shape, bool) if src_mask is None else np.asarray(src_mask, bool)
        with torch.no_grad():
            st = self.module.start(torch.from_numpy(src), torch.from_numpy(mask))
        hx = st["hx"] if isinstance(st["hx"], tuple) else (st["hx"],)
        return {"enc": st["enc"].numpy(), "mask": mask, "c": st["c"].numpy(),
                "hx": tuple(h.transpose(0, 1).numpy() for h in hx)}

    def decode_step(self, tokens: Any, state: dict[str, Any]):
        hx = tuple(torch.from_numpy(np.ascontiguousarray(h)).transpose(0, 1).contiguous() for h in state["hx"])
        st = {"enc": torch.from_numpy(state["enc"]), "mask": torch.from_numpy(state["mask"]),
              "c": torch.from_numpy(state["c"]), "hx": hx if self.module.lstm else hx[0]}
        with torch.no_grad():
            z, new, alpha = self.module.step(torch.from_numpy(np.asarray(tokens, dtype=np.int64)), st)
        new_hx = new["hx"] if isinstance(new["hx"], tuple) else (new["hx"],)
        return (z.numpy(), {**state, "hx": tuple(h.transpose(0, 1).numpy() for h in new_hx)},
                None if alpha is None else alpha.numpy())


# ------------------------------------------------------------------------------ the parameter map
def parameter_names(config: dict[str, Any]) -> list[tuple[str, str]]:
    """``(rnnlab name, torch name)`` of every parameter, for a ``Seq2Seq`` / ``TorchSeq2Seq`` config."""
    L, bi = int(config["layers"]), bool(config["bidirectional"])
    pairs = [("src_embed.weight", "src_embed.weight")]
    for part in ("encoder", "decoder"):
        if part == "decoder":
            if config["context"] != "last":
                pairs += [("bridge.weight", "bridge.weight"), ("bridge.bias", "bridge.bias")]
            pairs.append(("tgt_embed.weight", "tgt_embed.weight"))
        dirs = [("forward.", ""), ("backward.", "_reverse")] if part == "encoder" and bi else [("", "")]
        for l in range(L):
            base = part if L == 1 else f"{part}.{l}"
            pairs += [(f"{base}.{d}{p}", f"{part}.{p}_l{l}{suffix}") for d, suffix in dirs for p in RECURRENT_PARAMS]
    attention = config["attention"]
    if attention == "additive":
        pairs += [("attn.query_weight", "attn.query.weight"), ("attn.key_weight", "attn.key.weight"),
                  ("attn.bias", "attn.bias"), ("attn.v", "attn.v")]
    elif attention == "general":
        pairs.append(("attn.weight", "attn.weight"))
    if attention != "none":
        pairs += [("combine.weight", "combine.weight"), ("combine.bias", "combine.bias")]
    return pairs + [("out.weight", "out.weight"), ("out.bias", "out.bias")]


def _checked_pairs(config: dict[str, Any], rnnlab_params: dict, torch_params: dict) -> list[tuple[str, str]]:
    pairs = parameter_names(config)
    r_missing = sorted({r for r, _ in pairs} ^ set(rnnlab_params))
    t_missing = sorted({t for _, t in pairs} ^ set(torch_params))
    if r_missing or t_missing:
        raise InputError(f"Seq2Seq ⇄ TorchSeq2Seq: the parameters do not correspond (rnnlab {r_missing}, "
                         f"torch {t_missing}); build the module with TorchSeq2Seq(**config) unchanged")
    for r, t in pairs:
        if tuple(rnnlab_params[r].shape) != tuple(torch_params[t].shape):
            raise InputError(f"{t}: shape {tuple(torch_params[t].shape)}, the Seq2Seq's {r} has "
                             f"{tuple(rnnlab_params[r].shape)}")
    return pairs


def seq2seq_to_torch(model: Seq2Seq, output: str = "logits") -> TorchSeq2Seq:
    """:func:`~rnnlab.interop.torch.to_torch` of a ``Seq2Seq``: a :class:`TorchSeq2Seq` in ``eval()``
    mode with the model's weights (``output="auto"``/``"softmax"`` ends it in a softmax)."""
    for layer in model.enc_layers + model.dec_layers:
        torch_kind(getattr(layer, "forward_layer", layer))       # IndRNN, GRU(reset_after=False): no twin
    fn = output_function(model, output)
    if fn == "sigmoid":
        raise InputError("output='sigmoid': a Seq2Seq's outputs are a softmax over the target vocabulary; "
                         "use 'logits', 'auto' or 'softmax'")
    cfg = model.get_config()
    dtype = torch.float64 if np.dtype(cfg.pop("dtype")) == np.float64 else torch.float32
    module = TorchSeq2Seq(**cfg, output="softmax" if fn == "softmax" else "logits", dtype=dtype)
    params = {name: p for name, p, _ in model.named_params()}
    targets = dict(module.named_parameters())
    with torch.no_grad():
        for r, t in _checked_pairs(module.config, params, targets):
            targets[t].copy_(torch.from_numpy(np.asarray(params[r])))
    return module.eval()


def seq2seq_from_torch(module: TorchSeq2Seq, vocab: Any = None) -> Seq2Seq:
    """:func:`~rnnlab.interop.torch.from_torch` of a :class:`TorchSeq2Seq`: the ``Seq2Seq`` of its
    :attr:`~TorchSeq2Seq.config` (seed included) holding its weights; ``vocab``: ``(source
    vocabulary, target vocabulary)`` to attach, or None."""
    dts = {p.dtype for p in module.parameters()}
    if dts - {torch.float32, torch.float64} or len(dts) != 1:
        raise InputError(f"TorchSeq2Seq parameters of dtype {sorted(map(str, dts))}: rnnlab computes in one of "
                         "float32 or float64; convert the module first (module.float() or module.double())")
    model = Seq2Seq(**module.config, dtype="float64" if dts == {torch.float64} else "float32")
    if vocab is not None:
        if not isinstance(vocab, (tuple, list)) or len(vocab) != 2:
            raise InputError("from_torch(TorchSeq2Seq, vocab=...): expected (source vocabulary, target vocabulary)")
        for v, size, what in zip(vocab, (model.in_vocab, model.out_vocab), ("source", "target")):
            if v is not None and len(v) != size:
                raise InputError(f"the {what} vocabulary has {len(v)} tokens, the module reads {size} ids")
        model.src_vocab, model.tgt_vocab = vocab
    params = {name: p for name, p, _ in model.named_params()}
    sources = dict(module.named_parameters())
    for r, t in _checked_pairs(module.config, params, sources):
        params[r][...] = sources[t].detach().cpu().numpy()
    return model


def construction_code(model: Seq2Seq, state_dict_path: str, output: str = "logits") -> str:
    """Python that builds the :class:`TorchSeq2Seq` ``to_torch(model, output)`` returns and loads a
    state dict saved from it."""
    fn = output_function(model, output)
    cfg = model.get_config()
    dt = "torch.float64" if np.dtype(cfg.pop("dtype")) == np.float64 else "torch.float32"
    args = ", ".join([repr(cfg.pop("in_vocab")), repr(cfg.pop("out_vocab"))] + [f"{k}={v!r}" for k, v in cfg.items()])
    return ("import torch\n"
            "from rnnlab.interop.torch_seq2seq import TorchSeq2Seq\n\n"
            f"module = TorchSeq2Seq({args}, output={'softmax' if fn == 'softmax' else 'logits'!r}, dtype={dt})\n"
            f"module.load_state_dict(torch.load({str(state_dict_path)!r}))\n"
            "module.eval()\n")
