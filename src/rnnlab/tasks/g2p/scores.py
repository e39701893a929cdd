"""Word and phoneme error rates of predicted pronunciations, against one or more references per word.

A word of the CMU dictionary may have several pronunciations (``either``: ``IY1 DH ER0`` and
``AY1 DH ER0``). The field's usual rule, used here:

- **WER** (word error rate): the share of test words whose prediction equals **none** of the
  word's reference pronunciations (a prediction equal to any of them is correct).
- **PER** (phoneme error rate): Σ over words of the edit distance (insertions, deletions,
  substitutions, each 1) between the prediction and the **closest** reference, divided by Σ of
  that reference's length (ties: the shorter reference).

Both are fractions in [0, 1] (PER can exceed 1 for very long wrong predictions); lower is better.
"""
from __future__ import annotations

from typing import Sequence

from ...errors import InputError


def edit_distance(a: Sequence[str], b: Sequence[str]) -> int:
    """Levenshtein distance between two token sequences (unit costs)."""
    prev = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        cur = [i]
        for j, y in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x != y)))
        prev = cur
    return prev[-1]


def closest_reference(prediction: Sequence[str], references: Sequence[Sequence[str]]) -> tuple[int, int]:
    """(edit distance, reference length) of the reference closest to ``prediction``."""
    if not references:
        raise InputError("closest_reference: expected at least one reference pronunciation, got none")
    return min((edit_distance(prediction, r), len(r)) for r in references)


def error_rates(predictions: Sequence[Sequence[str]], references: Sequence[Sequence[Sequence[str]]]) -> dict[str, float]:
    """``{"wer", "per"}`` of one prediction per word against that word's references (see above)."""
    if len(predictions) != len(references):
        raise InputError(f"error_rates: {len(predictions)} predictions, {len(references)} words of references")
    if not predictions:
        raise InputError("error_rates: no words to score")
    wrong, edits, length = 0, 0, 0
    for pred, refs in zip(predictions, references):
        pred = tuple(pred)
        wrong += not any(pred == tuple(r) for r in refs)
        d, n = closest_reference(pred, refs)
        edits, length = edits + d, length + n
    return {"wer": wrong / len(predictions), "per": edits / max(length, 1)}
