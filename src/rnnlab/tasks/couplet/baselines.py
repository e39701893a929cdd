"""The couplet metrics and the two baselines they are compared with.

Metrics (on the same test pairs for every system):

* **character accuracy**: output characters equal to the true second line's, over all test
  characters. Characters are compared as characters: a true character outside the model's
  vocabulary can only be matched by a system that can write it (the copy baseline can; the
  model and the table, whose outputs never hold ``<unk>``, cannot — it counts as wrong).
* **perplexity**: exp of the mean nats per character of the true second line, over the model's
  vocabulary (characters rarer than ``min_count`` in training form one ``<unk>`` class, for the
  model and the table alike).
* **reduplication share**: of the first lines holding a reduplication AA at positions (i, i+1)
  (like 层层), the share whose output has a reduplication at all of those positions. Beside it,
  the **spurious reduplication share**: of the other first lines, the share whose output holds a
  reduplication anyway (a system that reduplicates everywhere would score 1 on the first).

Baselines:

* :class:`AlignedTable`: for each first-line character, the second-line character most often
  found at the same position in the training pairs (ties: the more frequent second-line
  character overall, then the lower code point); a first-line character never seen in training
  gets the most frequent second-line character overall. As a distribution (for perplexity):
  ``p(b | a) = (n(a, b) + β·u(b)) / (n(a) + β)``, ``u`` the add-one unigram of second-line tokens.
* :func:`copy_line`: the first line itself. It puts all its mass on one character, so its
  perplexity is infinite (``null`` in metrics.json).
"""
from __future__ import annotations

import math
from collections import Counter
from typing import Sequence

import numpy as np

from ...data.text import Vocabulary
from ...errors import InputError

Pair = tuple[str, str]


# ----------------------------------------------------------------------------------- metrics
def reduplication_positions(line: str) -> list[int]:
    """Every i with ``line[i] == line[i + 1]`` (层层 in 风吹水面层层浪 → [4])."""
    return [i for i in range(len(line) - 1) if line[i] == line[i + 1]]


def reduplication_share(first_lines: Sequence[str], outputs: Sequence[str]) -> tuple[float | None, int]:
    """(share, count): of the ``count`` first lines with a reduplication, the share whose output
    repeats its character at every one of those positions; ``None`` when ``count`` is 0."""
    hits = count = 0
    for first, out in zip(first_lines, outputs, strict=True):
        positions = reduplication_positions(first)
        if not positions:
            continue
        count += 1
        hits += all(i + 1 < len(out) and out[i] == out[i + 1] for i in positions)
    return (hits / count if count else None), count


def spurious_reduplication_share(first_lines: Sequence[str], outputs: Sequence[str]) -> float | None:
    """Of the first lines WITHOUT a reduplication, the share whose output holds one anyway."""
    plain = [out for first, out in zip(first_lines, outputs, strict=True) if not reduplication_positions(first)]
    return sum(bool(reduplication_positions(out)) for out in plain) / len(plain) if plain else None


def char_accuracy(outputs: Sequence[str], truths: Sequence[str]) -> float:
    """Share of characters equal to the true ones (lines compared position by position)."""
    right = total = 0
    for out, true in zip(outputs, truths, strict=True):
        if len(out) != len(true):
            raise InputError(f"char_accuracy: output {out!r} and true line {true!r} differ in length")
        right += sum(a == b for a, b in zip(out, true))
        total += len(true)
    if total == 0:
        raise InputError("char_accuracy: no characters to score")
    return right / total


def perplexity(nats_per_char: float) -> float:
    return float(math.exp(nats_per_char))


def scores(first_lines: Sequence[str], truths: Sequence[str], outputs: Sequence[str],
           nats_per_char: float | None) -> dict[str, float | int | None]:
    """The three metrics of one system (``nats_per_char`` None: not a distribution → perplexity None)."""
    share, count = reduplication_share(first_lines, outputs)
    return {"char_accuracy": char_accuracy(outputs, truths),
            "nats_per_char": nats_per_char,
            "perplexity": None if nats_per_char is None else perplexity(nats_per_char),
            "reduplication_share": share, "reduplication_lines": count,
            "spurious_reduplication_share": spurious_reduplication_share(first_lines, outputs)}


# ---------------------------------------------------------------------------------- baselines
def copy_line(first_lines: Sequence[str]) -> list[str]:
    """The copy baseline: the first line as its own second line."""
    return list(first_lines)


class AlignedTable:
    """First-line character → second-line character at the same position, counted on training pairs."""

    def __init__(self, train_pairs: Sequence[Pair]) -> None:
        if not train_pairs:
            raise InputError("AlignedTable: no training pairs")
        self.counts: dict[str, Counter] = {}
        self.second_counts: Counter = Counter()
        for first, second in train_pairs:
            if len(first) != len(second):
                raise InputError(f"AlignedTable: the lines of {first!r} / {second!r} differ in length")
            for a, b in zip(first, second):
                self.counts.setdefault(a, Counter())[b] += 1
            self.second_counts.update(second)
        self.fallback = self._most_frequent(self.second_counts)
        self.table = {a: self._most_frequent(c) for a, c in self.counts.items()}

    def _most_frequent(self, counts: Counter) -> str:
        return min(counts, key=lambda b: (-counts[b], -self.second_counts[b], b))

    def predict(self, first_lines: Sequence[str]) -> list[str]:
        return ["".join(self.table.get(a, self.fallback) for a in line) for line in first_lines]

    def nats_per_char(self, pairs: Sequence[Pair], vocab: Vocabulary, beta: float) -> float:
        """Mean −log p(true second-line token | first-line character) over ``pairs``, tokens of
        ``vocab`` (rare characters as ``<unk>``), smoothed with weight ``beta`` towards the
        add-one unigram of the training second lines' tokens (``<pad>`` gets no mass)."""
        if beta <= 0:
            raise InputError(f"beta: expected a positive smoothing weight, got {beta}")
        unigram = self._unigram(vocab)
        by_first = {a: self._token_counts(c, vocab) for a, c in self.counts.items()}
        total = 0.0
        n = 0
        for first, second in pairs:
            for a, b in zip(first, second):
                token = vocab.id(b)
                counts = by_first.get(a)
                n_ab, n_a = (counts[0].get(token, 0), counts[1]) if counts is not None else (0, 0)
                total -= math.log((n_ab + beta * unigram[token]) / (n_a + beta))
                n += 1
        if n == 0:
            raise InputError("AlignedTable.nats_per_char: no characters to score")
        return total / n

    def _unigram(self, vocab: Vocabulary) -> np.ndarray:
        counts = np.ones(len(vocab))
        if vocab.pad_id is not None:
            counts[vocab.pad_id] = 0.0
        for b, c in self.second_counts.items():
            counts[vocab.id(b)] += c
        return counts / counts.sum()

    @staticmethod
    def _token_counts(counts: Counter, vocab: Vocabulary) -> tuple[dict[int, int], int]:
        out: dict[int, int] = {}
        for b, c in counts.items():
            token = vocab.id(b)
            out[token] = out.get(token, 0) + c
        return out, sum(counts.values())


def best_beta(table: AlignedTable, val_pairs: Sequence[Pair], vocab: Vocabulary,
              grid: Sequence[float] = (1.0, 3.0, 10.0, 30.0, 100.0, 200.0, 300.0, 1000.0)) -> float:
    """The smoothing weight of the table's distribution with the lowest validation nats."""
    return min(grid, key=lambda beta: table.nats_per_char(val_pairs, vocab, beta))
