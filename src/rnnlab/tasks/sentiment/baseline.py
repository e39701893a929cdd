"""What the recurrent classifier is measured against: the majority class, bag-of-words logistic
regressions on the same split, and the published figures on the same Pang & Lee sentences.

The two bag models (scikit-learn, the ``baselines`` extra) read the same lower-cased words as
the network (:func:`rnnlab.data.text.tokenize`), counted as 0/1 features: unigrams, and
unigrams + bigrams. The vocabulary comes from the training part; the inverse regularisation
strength ``C`` is the one of :data:`C_GRID` with the best validation accuracy (ties: the
smaller ``C``); the test part is scored once, with that ``C``.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ...data.text import tokenize
from .data import SentimentData, normalize

C_GRID = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0)
BAGS = {"bag_of_words_logreg": (1, 1), "bag_of_bigrams_logreg": (1, 2)}

#: Kim (2014), "Convolutional Neural Networks for Sentence Classification", EMNLP, Table 2, column
#: MR: accuracy (%) on Pang & Lee's sentence polarity data (10,662 snippets, original labels),
#: 10-fold cross-validation.
PUBLISHED = {
    "source": "Kim (2014), Convolutional Neural Networks for Sentence Classification, EMNLP, Table 2 (MR)",
    "protocol": "10-fold cross-validation on rt-polarity v1.0 (10,662 snippets, 5,331 per class, the "
                "original labels); ours: one seeded 80/10/10 split of VADER's copy (mean human rating "
                "> 0 vs < 0, zeros dropped) — close, not the same test",
    "accuracy_percent": {"NBSVM (Wang & Manning 2012)": 79.4, "MNB (Wang & Manning 2012)": 79.0,
                         "CNN-rand (random word vectors)": 76.1,
                         "CNN-non-static (word2vec, fine-tuned)": 81.5},
}


def majority(data: SentimentData) -> dict[str, Any]:
    """Always the most frequent training label."""
    label = float(data.parts["train"].y.mean() >= 0.5)
    return {"label": "positive" if label else "negative",
            "val_accuracy": float(np.mean(data.parts["val"].y == label)),
            "test_accuracy": float(np.mean(data.parts["test"].y == label))}


def _words(text: str) -> list[str]:
    return tokenize(normalize(text), "word")


def bag_logreg(data: SentimentData, ngram_range: tuple[int, int], grid: tuple[float, ...] = C_GRID) -> dict[str, Any]:
    """Logistic regression on 0/1 n-gram features; ``C`` chosen on the validation part."""
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_limits

    vec = CountVectorizer(tokenizer=_words, lowercase=False, token_pattern=None, ngram_range=ngram_range,
                          binary=True)
    p = data.parts
    xtr = vec.fit_transform(p["train"].texts)
    xva, xte = vec.transform(p["val"].texts), vec.transform(p["test"].texts)
    scores = {}
    # one thread for every library loaded by now (scipy's own OpenBLAS, sklearn's OpenMP): the fits
    # are small, and on a shared 2-core machine a second thread made them 25 times slower (CPU time)
    with threadpool_limits(1):
        for c in grid:
            clf = LogisticRegression(C=c, solver="liblinear", max_iter=1000, random_state=0).fit(xtr, p["train"].y)
            scores[c] = float(np.mean(clf.predict(xva) == p["val"].y))
        best = max(grid, key=lambda c: (scores[c], -c))
        clf = LogisticRegression(C=best, solver="liblinear", max_iter=1000, random_state=0).fit(xtr, p["train"].y)
    return {"test_accuracy": float(np.mean(clf.predict(xte) == p["test"].y)), "val_accuracy": scores[best],
            "C": best, "val_accuracy_by_C": {str(c): s for c, s in scores.items()},
            "features": int(xtr.shape[1]), "ngram_range": list(ngram_range)}


def baselines(data: SentimentData) -> dict[str, Any]:
    """The majority class and both bag models (skipped, with the reason, without scikit-learn)."""
    out: dict[str, Any] = {"majority_class": majority(data)}
    try:
        import sklearn  # noqa: F401
    except ImportError:
        for name in BAGS:
            out[name] = {"skipped": "scikit-learn is not installed: pip install 'rnnlab[baselines]'"}
        return out
    for name, ngrams in BAGS.items():
        out[name] = bag_logreg(data, ngrams)
    return out
