"""Using a trained sentiment classifier: the model itself, the probability of "positive" for whole
texts, and for every prefix of one text (how the verdict forms word by word).

The classifier reads word ids (lower-cased text, the vocabulary saved with it) and ends in one
logistic unit: ``p(positive) = σ(z)``, read once, after the last word (many-to-one).

The verdict word by word is :func:`prefix_probabilities`: the classifier run on each prefix
``w_1 … w_t`` of the text as if the text ended there — for any model, whatever its pooling or
direction. For a unidirectional model that reads its last step (``--pool last``) this is
exactly the head ``σ(s_t·V + b)`` applied to the state after word ``t``; a bidirectional or
pooled model sees each prefix whole, so its curve says what it would conclude had the review
stopped there (not what one pass reads at step ``t``).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from ...data.text import tokenize
from ...errors import InputError, ModelFileError
from ...layers.dense import Dense
from ...text_model import TextModel
from .data import encode, normalize

LABELS = ("negative", "positive")


def check_classifier(model: object, where: str) -> TextModel:
    """``model`` if it is a sentiment classifier (a TextModel, one logistic output), else an error."""
    if not isinstance(model, TextModel) or model.vocab is None:
        raise ModelFileError(f"{where}: holds a {type(model).__name__}, expected a sentiment classifier "
                             "(a TextModel with its vocabulary, from rnnlab run sentiment)")
    last = model.layers[-1]
    loss = getattr(model.compiled_loss, "name", None)
    if not isinstance(last, Dense) or last.units != 1 or loss != "binary_crossentropy":
        raise ModelFileError(f"{where}: expected a classifier ending in Dense(1) with binary cross-entropy, "
                             f"got {type(last).__name__}({getattr(last, 'units', '?')}) with loss {loss!r} "
                             "(a language model? use rnnlab sample)")
    return model


def probabilities(model: TextModel, texts: Sequence[str], batch_size: int = 256) -> np.ndarray:
    """p(positive) of each text, ``(n,)`` float64; a text without a word is an :class:`InputError`."""
    if isinstance(texts, str):
        texts = [texts]
    if len(texts) == 0:
        raise InputError("texts: expected at least one text to classify")
    x, mask = encode(model.vocab, list(texts))
    return model.predict(x, mask=mask, batch_size=batch_size)[:, 0].astype(np.float64)


def prefix_probabilities(model: TextModel, text: str) -> tuple[list[str], np.ndarray]:
    """The words of ``text`` (as the model reads them) and p(positive) after each prefix ``w_1 … w_t``."""
    words = tokenize(normalize(text), "word")
    if not words:
        raise InputError(f"text: expected at least one word or punctuation mark, got {text!r}")
    ids = model.vocab.encode(normalize(text))
    n = len(ids)
    x = np.where(np.tri(n, dtype=bool), ids[None, :], model.vocab.pad_id).astype(np.int64)   # row t: w_1 … w_t+1
    mask = np.tri(n, dtype=bool)
    probs = model.predict(x, mask=mask)[:, 0].astype(np.float64)
    shown = [w if model.vocab.id(w) != model.vocab.unk_id else f"{w}?" for w in words]   # "?": an unknown word
    return shown, probs
