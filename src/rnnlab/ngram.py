"""Count-based baselines for language models: add-one unigram and interpolated Kneser–Ney n-grams.

A recurrent language model is worth its cost only if it beats counting. Both baselines count on
the **training ids only** and give ``log p(token_t | previous tokens)`` for every position of a
test stream, in nats, over the same vocabulary as the model (so the numbers compare directly).

Interpolated Kneser–Ney (Chen & Goodman 1998, one discount per order), for a context ``h`` of
``k-1`` tokens and its shortening ``h'`` (the oldest token dropped):

    P_k(w | h) = max(c_k(h w) − D_k, 0) / c_k(h •)  +  D_k · N1+(h •) / c_k(h •) · P_{k-1}(w | h')
    P_k(w | h) = P_{k-1}(w | h')                      when h was never seen in training
    P_0(w)     = 1 / V                                (uniform: unseen tokens stay finite)

``c_k`` is the plain count at the highest order and the *continuation count* below it (the
number of distinct tokens seen before ``h w``: how many contexts a token completes, not how
often it occurs); ``N1+(h •)`` is the number of distinct tokens seen after ``h``;
``D_k = n1 / (n1 + 2 n2)`` from the numbers of k-grams seen once and twice.

>>> import numpy as np
>>> train = np.array([0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 3])
>>> kn = KneserNey(order=3, vocab_size=4).fit(train)
>>> p = np.exp(kn.log_probs(np.array([0, 1, 2])))[2]      # P(2 | 0 1): "0 1" was followed by 2 three times in four
>>> bool(0.5 < p < 0.75)
True
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import InputError


def _as_ids(ids, vocab_size: int, what: str) -> np.ndarray:
    ids = np.asarray(ids)
    if ids.ndim != 1 or not np.issubdtype(ids.dtype, np.integer):
        raise InputError(f"{what}: expected a 1-D integer id array, got {ids.dtype} of shape {ids.shape}")
    if ids.size and (ids.min() < 0 or ids.max() >= vocab_size):
        raise InputError(f"{what}: ids must lie in [0, {vocab_size - 1}], got {ids.min()}…{ids.max()}")
    return ids.astype(np.int64)


def _keys(ids: np.ndarray, k: int, base: int) -> np.ndarray:
    """The k-gram ending at each position t ≥ k-1 as one integer (oldest token most significant)."""
    n = len(ids) - k + 1
    key = np.zeros(max(n, 0), dtype=np.int64)
    for j in range(k):
        key = key * base + ids[j:j + n]
    return key


def _lookup(sorted_keys: np.ndarray, values: np.ndarray, query: np.ndarray) -> np.ndarray:
    """values[i] where sorted_keys[i] == query, else 0."""
    if sorted_keys.size == 0:
        return np.zeros(query.shape, dtype=values.dtype)
    i = np.minimum(np.searchsorted(sorted_keys, query), sorted_keys.size - 1)
    return np.where(sorted_keys[i] == query, values[i], 0)


@dataclass
class _Level:
    grams: np.ndarray       # sorted unique k-gram keys
    counts: np.ndarray      # their counts (plain or continuation)
    contexts: np.ndarray    # sorted unique (k-1)-gram context keys
    totals: np.ndarray      # Σ_w count(h w) per context
    types: np.ndarray       # N1+(h •) per context
    discount: float


def unigram_log_probs(train_ids, test_ids, vocab_size: int) -> np.ndarray:
    """Add-one unigram: ``log((c(w) + 1) / (N + V))`` for every test token."""
    train = _as_ids(train_ids, vocab_size, "train ids")
    test = _as_ids(test_ids, vocab_size, "test ids")
    counts = np.bincount(train, minlength=vocab_size).astype(np.float64)
    return np.log((counts[test] + 1.0) / (counts.sum() + vocab_size))


class KneserNey:
    """Interpolated Kneser–Ney n-gram model over ids ``0 … vocab_size-1``.

    Args:
        order: n (1 = unigram with continuation counts … 5); contexts are ``order-1`` tokens.
        vocab_size: V; ``V**order`` must fit in 62 bits (an n-gram is one integer key).
    """

    def __init__(self, order: int, vocab_size: int) -> None:
        if int(order) != order or order < 1:
            raise InputError(f"order: expected a positive integer, got {order!r}")
        if vocab_size < 1:
            raise InputError(f"vocab_size: expected a positive integer, got {vocab_size!r}")
        if float(vocab_size) ** order >= 2.0 ** 62:
            raise InputError(f"KneserNey: {vocab_size} tokens ** order {order} does not fit a 62-bit key; "
                             f"use order ≤ {int(62 * np.log(2) / np.log(vocab_size))}")
        self.order, self.vocab_size = int(order), int(vocab_size)
        self.levels: list[_Level] = []

    def fit(self, train_ids) -> "KneserNey":
        """Count every k-gram (k = 1 … order) of the training stream."""
        ids = _as_ids(train_ids, self.vocab_size, "train ids")
        if len(ids) < self.order:
            raise InputError(f"KneserNey.fit: {len(ids)} training tokens are fewer than the order {self.order}")
        V = self.vocab_size
        self.levels = []
        for k in range(1, self.order + 1):
            if k == self.order:                        # plain counts at the top
                grams, counts = np.unique(_keys(ids, k, V), return_counts=True)
            else:                                      # continuation counts: distinct left neighbours
                longer = np.unique(_keys(ids, k + 1, V))
                grams, counts = np.unique(longer % V ** k, return_counts=True)
            ctx = grams // V                           # drop the last token: the context
            contexts, start = np.unique(ctx, return_index=True)
            totals = np.add.reduceat(counts, start) if grams.size else counts
            types = np.diff(np.r_[start, grams.size])
            n1, n2 = int(np.sum(counts == 1)), int(np.sum(counts == 2))
            discount = n1 / (n1 + 2 * n2) if n1 + 2 * n2 > 0 else 0.5
            self.levels.append(_Level(grams, counts.astype(np.float64), contexts, totals.astype(np.float64),
                                      types.astype(np.float64), float(min(max(discount, 0.05), 0.95))))
        return self

    def log_probs(self, ids) -> np.ndarray:
        """``log P(ids[t] | ids[t-order+1 … t-1])`` for every position t (shorter contexts at the start)."""
        if not self.levels:
            raise InputError("KneserNey: call fit(train_ids) before log_probs")
        ids = _as_ids(ids, self.vocab_size, "ids")
        V = self.vocab_size
        p = np.full(len(ids), 1.0 / V)
        for k, level in enumerate(self.levels, start=1):
            if len(ids) < k:
                break
            key = _keys(ids, k, V)                     # k-gram ending at t = k-1 …
            ctx = key // V
            tot = _lookup(level.contexts, level.totals, ctx)
            typ = _lookup(level.contexts, level.types, ctx)
            cnt = _lookup(level.grams, level.counts, key)
            lower = p[k - 1:]
            seen = tot > 0
            safe = np.where(seen, tot, 1.0)
            mixed = np.maximum(cnt - level.discount, 0.0) / safe + level.discount * typ / safe * lower
            p[k - 1:] = np.where(seen, mixed, lower)
        return np.log(p)
