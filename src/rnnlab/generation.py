"""Generation: one token at a time from a model's next-token logits (the lecture's one-to-many structure).

At each step the model's logits ``z`` (one row per sequence being generated) become a
distribution, from which the next token is chosen and fed back as the next input:

    allowed ← constraints at this position            (forced token, banned tokens, line shape)
    z_v ← -∞ for every v not allowed                  (applied to the distribution: no rejection loops)
    p = softmax(z / temperature)                      (temperature → 0: greedy)
    top-k:  keep the k most probable tokens            (the rest → 0, renormalise)
    top-p:  keep the smallest set of most probable tokens whose mass reaches p (nucleus sampling)
    next = argmax p (greedy) or a draw from p          (a seeded NumPy Generator: same seed, same text)

:class:`Sampling` holds the choice rule, :class:`Constraints` what may come where, and
:func:`generate` runs the loop for any ``step`` function (ids → next logits).
:class:`SequenceStepper` makes that step function from a model whose layers run forward in time
(a language model: embedding, stacked recurrent layers, dense output).

>>> import numpy as np
>>> logits = np.log(np.array([[0.5, 0.3, 0.2]]))
>>> choose(logits, Sampling(greedy=True), np.random.default_rng(0)).tolist()
[0]
>>> np.round(distribution(logits, Sampling(top_k=2)), 3).tolist()
[[0.625, 0.375, 0.0]]
>>> np.round(distribution(logits, Sampling(top_p=0.7)), 3).tolist()   # 0.5 + 0.3 reach 0.7
[[0.625, 0.375, 0.0]]
>>> distribution(logits, Sampling(), Constraints(3, banned=[0]).allowed(0, 1)).round(3).tolist()
[[0.0, 0.6, 0.4]]
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from .errors import InputError
from .layers.recurrent import inference_mode


@dataclass(frozen=True)
class Sampling:
    """How the next token is chosen from the model's distribution.

    Args:
        temperature: divides the logits; < 1 sharpens, > 1 flattens (must be > 0).
        top_k: keep only the k most probable tokens (None: all).
        top_p: nucleus sampling: keep the most probable tokens up to a total mass of p (None: all).
        greedy: always take the most probable token (the other settings are then irrelevant).
    """
    temperature: float = 1.0
    top_k: int | None = None
    top_p: float | None = None
    greedy: bool = False

    def __post_init__(self) -> None:
        if not (isinstance(self.temperature, (int, float)) and self.temperature > 0 and np.isfinite(self.temperature)):
            raise InputError(f"temperature: expected a positive number, got {self.temperature!r} "
                             "(for the most probable token every time: greedy=True, or --greedy on the command line)")
        if self.top_k is not None and (int(self.top_k) != self.top_k or self.top_k < 1):
            raise InputError(f"top_k: expected a positive integer or None, got {self.top_k!r}")
        if self.top_p is not None and not 0.0 < self.top_p <= 1.0:
            raise InputError(f"top_p: expected a probability mass in (0, 1], got {self.top_p!r}")


class Constraints:
    """What may be generated at each position (0 = the first generated token), per sequence.

    Args:
        vocab_size: the number of token ids.
        banned: ids never generated (e.g. <pad>, <unk>).
        forced: position → the one id allowed there; an int for every sequence, or one id per
            sequence (e.g. the head character of each poem's line).
        allowed: position → the ids allowed there (a sequence of ids or a boolean mask of length
            ``vocab_size``); ``default_allowed`` for positions not listed (None: every id).

    :meth:`allowed` gives the boolean mask ``(batch, vocab)`` of one position. A position where
    nothing is left is an error naming the position, not a silent fallback.
    """

    def __init__(self, vocab_size: int, *, banned: Sequence[int] = (),
                 forced: Mapping[int, int | Sequence[int]] | None = None,
                 allowed: Mapping[int, Any] | None = None, default_allowed: Any = None) -> None:
        self.vocab_size = int(vocab_size)
        self.banned = self._ids(banned, "banned")
        self.forced = {int(p): np.asarray(v, dtype=np.int64) for p, v in (forced or {}).items()}
        for p, v in self.forced.items():
            self._ids(v.reshape(-1), f"forced[{p}]")
        self.allowed_at = {int(p): self._mask(v, f"allowed[{p}]") for p, v in (allowed or {}).items()}
        self.default_allowed = None if default_allowed is None else self._mask(default_allowed, "default_allowed")

    def _ids(self, ids: Any, what: str) -> np.ndarray:
        ids = np.asarray(list(ids) if not isinstance(ids, np.ndarray) else ids, dtype=np.int64).reshape(-1)
        if ids.size and (ids.min() < 0 or ids.max() >= self.vocab_size):
            raise InputError(f"{what}: token ids must lie in [0, {self.vocab_size - 1}], got {ids.min()}…{ids.max()}")
        return ids

    def _mask(self, spec: Any, what: str) -> np.ndarray:
        arr = np.asarray(spec)
        if arr.dtype == bool:
            if arr.shape != (self.vocab_size,):
                raise InputError(f"{what}: a boolean mask must have shape ({self.vocab_size},), got {arr.shape}")
            return arr.copy()
        mask = np.zeros(self.vocab_size, dtype=bool)
        mask[self._ids(arr, what)] = True
        return mask

    def allowed(self, position: int, batch: int) -> np.ndarray:
        """Boolean ``(batch, vocab)``: the ids allowed at ``position``."""
        base = self.allowed_at.get(position, self.default_allowed)
        mask = np.ones((batch, self.vocab_size), dtype=bool) if base is None else np.repeat(base[None], batch, 0)
        mask[:, self.banned] = False
        forced = self.forced.get(position)
        if forced is not None:
            ids = np.broadcast_to(forced, (batch,)) if forced.ndim == 0 or forced.size == 1 else forced
            if ids.shape != (batch,):
                raise InputError(f"forced[{position}]: expected one id or {batch} (one per sequence), got {ids.shape}")
            clash = np.intersect1d(ids, self.banned)
            if clash.size:
                raise InputError(f"forced[{position}]: token id {int(clash[0])} is also banned")
            mask[:] = False
            mask[np.arange(batch), ids.reshape(-1)] = True
        if not mask.any(axis=1).all():
            raise InputError(f"constraints leave no token possible at position {position}")
        return mask


def line_constraints(vocab_size: int, line_lengths: Sequence[int], line_ends: Sequence[int], body: Any, *,
                     heads: Sequence[Any] | None = None, banned: Sequence[int] = ()) -> Constraints:
    """Fixed-shape lines: line ``l`` is ``line_lengths[l]`` tokens from ``body`` followed by the
    token ``line_ends[l]``; with ``heads``, line ``l`` starts with ``heads[l]`` (an id, or one id per
    sequence) — an acrostic. Positions count from the first generated token."""
    if len(line_ends) != len(line_lengths) or (heads is not None and len(heads) != len(line_lengths)):
        raise InputError(f"line_constraints: {len(line_lengths)} line lengths, {len(line_ends)} line ends"
                         + ("" if heads is None else f", {len(heads)} heads") + " — expected one of each per line")
    forced, allowed, pos = {}, {}, 0
    for line, (n, end) in enumerate(zip(line_lengths, line_ends)):
        if int(n) < 1:
            raise InputError(f"line_constraints: line {line} must have at least one token, got {n}")
        for k in range(int(n)):
            allowed[pos + k] = body
        if heads is not None:
            forced[pos] = heads[line]
        forced[pos + int(n)] = int(end)
        pos += int(n) + 1
    return Constraints(vocab_size, banned=banned, forced=forced, allowed=allowed)


# ------------------------------------------------------------------------------- one choice
def distribution(logits: np.ndarray, sampling: Sampling, allowed: np.ndarray | None = None) -> np.ndarray:
    """The probabilities ``(batch, vocab)`` the next token is drawn from (float64, rows sum to 1)."""
    z = np.asarray(logits, dtype=np.float64)
    if z.ndim != 2:
        raise InputError(f"logits: expected shape (batch, vocab), got {z.shape}")
    if not np.isfinite(z).all():
        raise InputError("logits hold NaN or infinity: the model's weights are not usable for generation")
    z = z / sampling.temperature
    if allowed is not None:
        z = np.where(allowed, z, -np.inf)
    if sampling.top_k is not None and sampling.top_k < z.shape[1]:
        kth = np.partition(z, -int(sampling.top_k), axis=1)[:, -int(sampling.top_k)][:, None]
        z = np.where(z >= kth, z, -np.inf)
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    if sampling.top_p is not None and sampling.top_p < 1.0:
        order = np.argsort(-p, axis=1, kind="stable")
        sorted_p = np.take_along_axis(p, order, axis=1)
        before = np.cumsum(sorted_p, axis=1) - sorted_p         # mass of the more probable tokens
        keep_sorted = before < sampling.top_p                   # the first token is always kept
        keep = np.zeros_like(keep_sorted)
        np.put_along_axis(keep, order, keep_sorted, axis=1)
        p = np.where(keep, p, 0.0)
        p /= p.sum(axis=1, keepdims=True)
    return p


def choose(logits: np.ndarray, sampling: Sampling, rng: np.random.Generator,
           allowed: np.ndarray | None = None) -> np.ndarray:
    """The next token id of each sequence: ``(batch,)`` int64."""
    if sampling.greedy:
        z = np.asarray(logits, dtype=np.float64)
        if allowed is not None:
            z = np.where(allowed, z, -np.inf)
        return z.argmax(axis=1).astype(np.int64)
    p = distribution(logits, sampling, allowed)
    u = rng.random((p.shape[0], 1))
    ids = (np.cumsum(p, axis=1) < u).sum(axis=1)              # inverse CDF, one uniform per row
    return np.minimum(ids, p.shape[1] - 1).astype(np.int64)


# ------------------------------------------------------------------------------- the loop
def generate(step: Callable[[np.ndarray], np.ndarray], first_logits: np.ndarray, length: int, *,
             sampling: Sampling = Sampling(), rng: np.random.Generator | int | None = 0,
             constraints: Constraints | None = None, stop_id: int | None = None) -> np.ndarray:
    """Generate ``length`` tokens per sequence: ``(batch, length)`` int64.

    ``first_logits``: the model's logits for the first token (after the prime). ``step(ids)``
    feeds the chosen ids ``(batch,)`` and returns the next logits. ``stop_id`` (e.g. <eos>): a
    sequence that produced it gets ``stop_id`` at every later position; the loop ends early when
    all have. ``rng``: a Generator or a seed (same seed, same tokens).
    """
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    logits = np.asarray(first_logits)
    if logits.ndim != 2:
        raise InputError(f"first_logits: expected shape (batch, vocab), got {logits.shape}")
    length = int(length)
    if length < 0:
        raise InputError(f"length: expected a non-negative number of tokens, got {length}")
    batch = logits.shape[0]
    out = np.full((batch, length), -1 if stop_id is None else stop_id, dtype=np.int64)
    done = np.zeros(batch, dtype=bool)
    for t in range(length):
        allowed = None if constraints is None else constraints.allowed(t, batch)
        ids = choose(logits, sampling, rng, allowed)
        if stop_id is not None:
            ids = np.where(done, stop_id, ids)
            done |= ids == stop_id
        out[:, t] = ids
        if t + 1 < length and not done.all():
            logits = step(ids)
        elif done.all():
            break
    return out


class SequenceStepper:
    """Runs a model forward one step at a time, carrying the recurrent states between calls.

    The model must map ids ``(batch, time)`` to logits ``(batch, time, vocab)`` with layers that
    run forward in time (no bidirectional layer: it would need the future). Inside the ``with``
    block the recurrent layers are stateful; the model's own settings and carried states come back
    afterwards.

    >>> # with SequenceStepper(model) as run:
    >>> #     logits = run.start(prime_ids)        # (batch, T) → logits of the next token
    >>> #     logits = run.step(next_ids)          # (batch,)   → logits of the one after
    """

    def __init__(self, model) -> None:
        from .layers.bidirectional import Bidirectional
        if any(isinstance(l, Bidirectional) for l in model.layers_flat()):
            raise InputError("this model has a bidirectional layer, which reads the whole sequence at once: "
                             "it cannot generate one token at a time")
        self.model = model
        self.recurrent = [l for l in model.layers_flat() if hasattr(l, "carried_state")]
        self._saved: list | None = None

    def __enter__(self) -> "SequenceStepper":
        self._saved = [(l, l.stateful, l.carried_state()) for l in self.recurrent]
        for l in self.recurrent:
            l.stateful = True
            l.reset_states()
        return self

    def __exit__(self, *exc: Any) -> None:
        for l, stateful, carry in self._saved or ():
            l.stateful = stateful
            l.set_carried_state(carry)
        self._saved = None

    def _logits(self, ids: np.ndarray) -> np.ndarray:
        with inference_mode():
            z, _ = self.model.forward(ids, None, training=False)
        if z.ndim != 3:
            raise InputError(f"generation needs logits at every step (batch, time, vocab); the model gives {z.shape}")
        return z[:, -1, :]

    def start(self, prime_ids: np.ndarray) -> np.ndarray:
        """Forget any state, read the prime ``(batch, T)``, return the next token's logits."""
        prime = np.asarray(prime_ids, dtype=np.int64)
        if prime.ndim != 2 or prime.shape[1] < 1:
            raise InputError(f"prime: expected ids of shape (batch, time ≥ 1), got {prime.shape}")
        for l in self.recurrent:
            l.reset_states()
        return self._logits(prime)

    def step(self, ids: np.ndarray) -> np.ndarray:
        return self._logits(np.asarray(ids, dtype=np.int64).reshape(-1, 1))

