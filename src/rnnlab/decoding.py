"""Decoding an encoder–decoder: greedy (or sampled) and batched beam search.

Works with any model that offers the stepping protocol of :class:`rnnlab.Seq2Seq` (the PyTorch
twin of ``benchmarks/translate_twin.py`` offers it too)::

    state = model.decode_start(src, src_mask)          # encoder pass; a dict of arrays, axis 0 = sequence
    logits, state, alpha = model.decode_step(tokens, state)   # (N,) ids -> (N, V) logits, α (N, S) or None

Greedy: at each step ``y_t = argmax_v z_t[v]`` among the allowed tokens
(:func:`rnnlab.generation.choose`; any :class:`~rnnlab.generation.Sampling` draws instead).

Beam search with width K (all sentences of the batch at once, ``B·K`` rows)::

    score(y_1…y_t) = Σ_τ log p(y_τ | y_<τ, x)          (log-probabilities from generation.distribution)
    each step: every live hypothesis × every token → the K best per sentence (by score)
    a hypothesis that produced <eos> is finished: it stays among the K with its score frozen
    final choice: argmax over the K of score / length^α  (α = ``length_penalty``; length counts <eos>)

With K = 1 beam search is greedy decoding (tested). Decoding stops when every hypothesis has
produced ``eos`` or after ``max_len`` tokens.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from .errors import InputError
from .generation import Constraints, Sampling, choose, distribution
from .layers.recurrent import inference_mode

GREEDY = Sampling(greedy=True)


@dataclass
class Decoded:
    """Decoded ids ``(B, L)`` (after the end: ``eos``, or nothing cut without one), the number of
    tokens before ``eos`` per sentence, the score (sum of log-probabilities; beam: the normalised
    score it was chosen by), and, on request, the attention weights ``(B, L, S)`` of the path."""
    ids: np.ndarray
    lengths: np.ndarray
    scores: np.ndarray
    attention: np.ndarray | None = None


def take(state: Any, idx: np.ndarray) -> Any:
    """Rows ``idx`` of every array in a nested state (dicts, lists, tuples of arrays)."""
    if isinstance(state, dict):
        return {k: take(v, idx) for k, v in state.items()}
    if isinstance(state, (list, tuple)):
        return type(state)(take(v, idx) for v in state)
    if isinstance(state, np.ndarray):
        return state[idx]
    return state


def _reorder(state: Any, constant: set, rows: np.ndarray) -> Any:
    """``take(state, rows)`` after a beam step, without copying the ``constant`` entries.

    ``constant``: the keys of the state dict that every ``decode_step`` so far returned as the
    very object it was given (the encoder outputs, source mask, context): they still hold what
    ``decode_start`` gave, replicated across each sentence's beams, and ``rows`` always picks
    rows of the same sentence, so taking them would copy equal rows onto equal rows (for batch
    64 × beam 5 × 12 × 256 float32 encoder outputs: 3.9 MB per step)."""
    if not isinstance(state, dict):
        return take(state, rows)
    return {k: v if k in constant else take(v, rows) for k, v in state.items()}


def _passed_through(constant: set, before: Any, after: Any) -> set:
    """The keys of ``constant`` that the step returned unchanged (the same objects)."""
    if not (isinstance(before, dict) and isinstance(after, dict)):
        return set()
    return {k for k in constant if k in after and before.get(k) is after[k]}


def _lengths(ids: np.ndarray, eos: int | None) -> np.ndarray:
    if eos is None:
        return np.full(len(ids), ids.shape[1], dtype=np.int64)
    hit = ids == eos
    return np.where(hit.any(axis=1), hit.argmax(axis=1), ids.shape[1]).astype(np.int64)


def _setup(model, src: Any, src_mask: Any, eos: int | None, max_len: int, banned: Sequence[int]):
    src = np.asarray(src)
    if src.ndim != 2 or not np.issubdtype(src.dtype, np.integer):
        raise InputError(f"src: expected integer token ids of shape (batch, time), got {src.shape} {src.dtype}")
    if int(max_len) < 1:
        raise InputError(f"max_len: expected a positive number of tokens, got {max_len!r}")
    eos = getattr(model, "eos", None) if eos is None else int(eos)
    constraints = Constraints(model.out_vocab, banned=list(banned)) if banned else None
    return src, src_mask, eos, int(max_len), constraints


def greedy_decode(model, src: Any, src_mask: Any = None, *, max_len: int = 50, eos: int | None = None,
                  banned: Sequence[int] = (), sampling: Sampling = GREEDY, seed: int | None = 0,
                  stop: bool = True, return_attention: bool = False) -> Decoded:
    """One token per step, the most probable (or drawn with ``sampling``, seeded), fed back.

    ``stop=False``: exactly ``max_len`` tokens, ``eos`` not special (fixed-length targets)."""
    src, src_mask, eos, max_len, constraints = _setup(model, src, src_mask, eos, max_len, banned)
    if not stop:
        eos = None
    rng = np.random.default_rng(seed)
    n = len(src)
    ids = np.full((n, max_len), -1 if eos is None else eos, dtype=np.int64)
    scores = np.zeros(n)
    done = np.zeros(n, dtype=bool)
    alphas = []
    with inference_mode():
        state = model.decode_start(src, src_mask)
        tokens = np.full(n, model.bos, dtype=np.int64)
        for t in range(max_len):
            logits, state, alpha = model.decode_step(tokens, state)
            allowed = None if constraints is None else constraints.allowed(t, n)
            tokens = choose(logits, sampling, rng, allowed)
            with np.errstate(divide="ignore"):
                logp = np.log(distribution(logits, Sampling(), allowed)[np.arange(n), tokens])
            if eos is not None:
                tokens = np.where(done, eos, tokens)
                scores += np.where(done, 0.0, logp)
                done |= tokens == eos
            else:
                scores += logp
            ids[:, t] = tokens
            if return_attention and alpha is not None:
                alphas.append(alpha)
            if eos is not None and done.all():
                ids = ids[:, :t + 1]
                break
    att = np.stack(alphas, axis=1) if alphas else None
    return Decoded(ids, _lengths(ids, eos), scores, att)


def beam_search(model, src: Any, src_mask: Any = None, *, beam: int = 5, max_len: int = 50,
                eos: int | None = None, length_penalty: float = 1.0, banned: Sequence[int] = (),
                return_attention: bool = False) -> Decoded:
    """Batched beam search of width ``beam`` (see the module docstring); ``beam=1`` is greedy."""
    src, src_mask, eos, max_len, constraints = _setup(model, src, src_mask, eos, max_len, banned)
    k = int(beam)
    if k < 1:
        raise InputError(f"beam: expected a positive width, got {beam!r}")
    n, v = len(src), model.out_vocab
    rows = np.repeat(np.arange(n), k)
    scores = np.full((n, k), -np.inf)
    scores[:, 0] = 0.0
    finished = np.zeros(n * k, dtype=bool)
    lengths = np.zeros(n * k, dtype=np.int64)
    hist = np.zeros((n * k, 0), dtype=np.int64)
    att = None
    with inference_mode():
        state = take(model.decode_start(src, src_mask), rows)
        tokens = np.full(n * k, model.bos, dtype=np.int64)
        constant = set(state) if isinstance(state, dict) else set()
        for t in range(max_len):
            before = state
            logits, state, alpha = model.decode_step(tokens, state)
            constant = _passed_through(constant, before, state)
            allowed = None if constraints is None else constraints.allowed(t, n * k)
            with np.errstate(divide="ignore"):
                logp = np.log(distribution(logits, Sampling(), allowed))
            if eos is not None and finished.any():
                logp[finished] = -np.inf
                logp[finished, eos] = 0.0                              # a finished hypothesis only repeats eos
            cand = (scores.reshape(-1, 1) + logp).reshape(n, k * v)
            if k == 1:
                top = cand.argmax(axis=1)[:, None]
            else:
                part = np.argpartition(-cand, k - 1, axis=1)[:, :k]
                vals = np.take_along_axis(cand, part, axis=1)
                order = np.lexsort((part, -vals), axis=1)             # best first, ties: lower index
                top = np.take_along_axis(part, order, axis=1)
            scores = np.take_along_axis(cand, top, axis=1)
            src_rows = (np.arange(n)[:, None] * k + top // v).reshape(-1)
            tok = (top % v).reshape(-1)
            was_finished = finished[src_rows]
            lengths = lengths[src_rows] + ~was_finished
            finished = was_finished | (tok == eos) if eos is not None else was_finished
            hist = np.concatenate([hist[src_rows], tok[:, None]], axis=1)
            if return_attention and alpha is not None:
                step_att = alpha[src_rows][:, None, :]
                att = step_att if att is None else np.concatenate([att[src_rows], step_att], axis=1)
            state = _reorder(state, constant, src_rows)
            tokens = tok
            if finished.all():
                break
    norm = scores / np.maximum(lengths.reshape(n, k), 1) ** float(length_penalty)
    best = norm.argmax(axis=1)
    pick = np.arange(n) * k + best
    ids = hist[pick]
    return Decoded(ids, _lengths(ids, eos), norm[np.arange(n), best], None if att is None else att[pick])
