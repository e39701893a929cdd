"""Chinese text in, English text out, with a trained :class:`~rnnlab.Seq2Seq` that carries its vocabularies.

Sentences are decoded in batches of similar length (sorted by length, then put back in order);
``beam=1`` is greedy decoding, otherwise batched beam search (:mod:`rnnlab.decoding`). The output
never holds ``<pad>``, ``<bos>`` or ``<unk>`` (banned), and stops at ``<eos>`` or after
``max_len(S) = 1.5·S + 5`` tokens for a source of S characters.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ...errors import InputError
from ..seq2seq_options import decode_texts
from .data import ids_to_english


@dataclass
class Translation:
    english: str
    tokens: list[str]             # the target tokens (joiner marks kept), without <eos>
    attention: np.ndarray | None  # (len(tokens) + 1, len(source)): rows = outputs incl. <eos>


def max_len(source_length: int) -> int:
    return int(1.5 * source_length) + 5


def translate(model, texts: Sequence[str], *, beam: int = 1, length_penalty: float = 1.0,
              batch_size: int = 128, return_attention: bool = False) -> list[Translation]:
    """Translate every text (see the module docstring)."""
    if model.src_vocab is None or model.tgt_vocab is None:
        raise InputError("this Seq2Seq model carries no vocabularies: train it with `rnnlab run translate`")
    texts = list(texts)
    for t in texts:
        if not isinstance(t, str) or not t.strip():
            raise InputError(f"translate: expected non-empty Chinese sentences, got {t!r}")
    tgt_v = model.tgt_vocab
    return [Translation(ids_to_english(tgt_v, d.ids), [tgt_v.tokens[int(j)] for j in d.ids], d.attention)
            for d in decode_texts(model, texts, max_len, beam=beam, length_penalty=length_penalty,
                                  batch_size=batch_size, return_attention=return_attention)]


def unknown_characters(model, text: str) -> list[str]:
    """Characters of ``text`` the model's source vocabulary does not hold (read as <unk>)."""
    return sorted({c for c in text if c not in model.src_vocab})
