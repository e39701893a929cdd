"""The retrieval baseline of the sequence-to-sequence tasks: answer with the target side of the
training pair whose source side is most similar — TF-IDF vectors of character 1-, 2- and 3-grams,
cosine similarity, ties to the earlier training pair. No learning beyond counting.

Used by ``translate`` (Chinese sentence → the English of the nearest training sentence) and
``g2p`` (spelling → the pronunciation of the nearest training word).

>>> Retrieval([("abc", "first"), ("xyz", "second")]).translate(["abd", "xy"])
['first', 'second']
"""
from __future__ import annotations

from typing import Sequence

import numpy as np


def char_ngrams(text: str, n_max: int = 3) -> list[str]:
    """Every substring of 1 … ``n_max`` characters, in order."""
    return [text[i:i + n] for n in range(1, n_max + 1) for i in range(len(text) - n + 1)]


class Retrieval:
    """Nearest training source by character n-gram TF-IDF cosine (sparse matrices from scipy);
    ``train`` holds (source, target) pairs, :meth:`translate` maps sources to targets."""

    def __init__(self, train: Sequence[tuple[str, str]], n_max: int = 3) -> None:
        from scipy import sparse
        self.n_max, self.targets = n_max, [t for _, t in train]
        self.index: dict[str, int] = {}
        rows, cols = [], []
        for r, (source, _) in enumerate(train):
            for g in char_ngrams(source, n_max):
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
        for r, text in enumerate(texts):
            for g in char_ngrams(text, self.n_max):
                if g in self.index:
                    rows.append(r)
                    cols.append(self.index[g])
        counts = sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(texts), len(self.index)))
        return self._normalise(counts)

    def translate(self, texts: Sequence[str], chunk: int = 512) -> list[str]:
        out = []
        for i in range(0, len(texts), chunk):
            sims = (self.vectors(texts[i:i + chunk]) @ self.matrix.T).toarray()
            out.extend(self.targets[j] for j in sims.argmax(axis=1))
        return out
