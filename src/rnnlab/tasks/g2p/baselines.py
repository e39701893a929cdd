"""The retrieval baseline of the G2P task: pronounce a word like the training word spelled most like it.

The nearest training word by TF-IDF cosine of character 1-, 2- and 3-grams of ``^word$`` (the
marks make beginnings and endings count), its first pronunciation as the answer. It is the
shared :class:`~rnnlab.tasks.retrieval.Retrieval` (the translation task's baseline) applied to spellings.

A second baseline the brief suggested — the most frequent phoneme per letter — is **not** built:
letters and phonemes are not aligned one to one (``x`` → ``K S``, ``th`` → ``TH``, silent ``e``),
so "the phoneme of a letter" needs an alignment model first (an EM letter–phoneme aligner), which
would be a project of its own; retrieval is the honest no-learning reference.
"""
from __future__ import annotations

from typing import Sequence

from ..retrieval import Retrieval
from .data import Lexicon


def _marked(word: str) -> str:
    return f"^{word}$"


class NearestSpelling:
    """Retrieval by spelling over the training lexicon (see the module docstring)."""

    def __init__(self, train: Lexicon, n_max: int = 3) -> None:
        self._retrieval = Retrieval([(_marked(w), " ".join(prons[0])) for w, prons in train.items()], n_max=n_max)

    def pronounce(self, words: Sequence[str]) -> list[tuple[str, ...]]:
        return [tuple(p.split()) for p in self._retrieval.translate([_marked(w) for w in words])]
