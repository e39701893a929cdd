"""Scores and the retrieval baseline of the translation task.

**Scores** (:func:`bleu_chrf`): sacrebleu's corpus BLEU (13a tokenisation, case-sensitive) and chrF
of the detokenised outputs against the one reference of each test pair.

**Retrieval** (:class:`Retrieval`): translate a Chinese sentence by the English side of the
training pair whose Chinese side is most similar — TF-IDF vectors of character 1-, 2- and
3-grams, cosine similarity, ties to the earlier training pair. No learning beyond counting.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from ...errors import InputError


def bleu_chrf(hypotheses: Sequence[str], references: Sequence[str]) -> dict[str, float]:
    """``{"bleu", "chrf"}`` (sacrebleu, 0–100) of detokenised hypotheses against one reference each."""
    try:
        import sacrebleu
    except ImportError:
        raise InputError("scoring needs sacrebleu: pip install \"sacrebleu>=2.3\" "
                         "(part of rnnlab's test extra)") from None
    if len(hypotheses) != len(references):
        raise InputError(f"bleu_chrf: {len(hypotheses)} hypotheses, {len(references)} references")
    refs = [list(references)]
    return {"bleu": float(sacrebleu.corpus_bleu(list(hypotheses), refs).score),
            "chrf": float(sacrebleu.corpus_chrf(list(hypotheses), refs).score)}


def char_ngrams(text: str, n_max: int = 3) -> list[str]:
    return [text[i:i + n] for n in range(1, n_max + 1) for i in range(len(text) - n + 1)]


class Retrieval:
    """Nearest training sentence by character n-gram TF-IDF cosine (sparse matrices from scipy)."""

    def __init__(self, train: Sequence[tuple[str, str]], n_max: int = 3) -> None:
        from scipy import sparse
        self.n_max, self.english = n_max, [e for _, e in train]
        self.index: dict[str, int] = {}
        rows, cols = [], []
        for r, (zh, _) in enumerate(train):
            for g in char_ngrams(zh, n_max):
                rows.append(r)
                cols.append(self.index.setdefault(g, len(self.index)))
        counts = sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(train), len(self.index)))
        df = np.bincount(counts.indices, minlength=len(self.index))
        self.idf = np.log((1 + len(train)) / (1 + df)) + 1.0
        self.matrix = self._normalise(counts)

    def _normalise(self, counts):
        from scipy import sparse
        m = counts.multiply(self.idf[None, :]).tocsr()
        norms = np.sqrt(np.asarray(m.multiply(m).sum(axis=1)).ravel())
        return sparse.diags(1.0 / np.maximum(norms, 1e-12)) @ m

    def vectors(self, texts: Sequence[str]):
        from scipy import sparse
        rows, cols = [], []
        for r, zh in enumerate(texts):
            for g in char_ngrams(zh, self.n_max):
                if g in self.index:
                    rows.append(r)
                    cols.append(self.index[g])
        counts = sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(texts), len(self.index)))
        return self._normalise(counts)

    def translate(self, texts: Sequence[str], chunk: int = 512) -> list[str]:
        out = []
        for i in range(0, len(texts), chunk):
            sims = (self.vectors(texts[i:i + chunk]) @ self.matrix.T).toarray()
            out.extend(self.english[j] for j in sims.argmax(axis=1))
        return out
