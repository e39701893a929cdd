"""Words in, pronunciations out, with a trained :class:`~rnnlab.Seq2Seq` that carries its vocabularies.

Words are lower-cased and decoded in batches of similar length (sorted by length, put back in
order); ``beam=1`` is greedy decoding, otherwise batched beam search (:mod:`rnnlab.decoding`).
The output never holds ``<pad>``, ``<bos>`` or ``<unk>`` (banned) and stops at ``<eos>`` or after
``max_len(S) = 2·S + 4`` phonemes for a word of S letters (``x`` → ``EH1 K S``).
"""
from __future__ import annotations

from typing import Sequence

from ...errors import InputError
from ..seq2seq_options import decode_texts


def max_len(letters: int) -> int:
    return 2 * letters + 4


def check_model(model) -> None:
    if model.src_vocab is None or model.tgt_vocab is None:
        raise InputError("this Seq2Seq model carries no vocabularies: train it with `rnnlab run g2p`")


def pronounce(model, words: Sequence[str], *, beam: int = 1, length_penalty: float = 1.0,
              batch_size: int = 256) -> list[tuple[str, ...]]:
    """The phonemes of every word (see the module docstring)."""
    check_model(model)
    if int(beam) < 1:
        raise InputError(f"beam: expected a positive width, got {beam!r}")
    words = [w.strip().lower() if isinstance(w, str) else w for w in words]
    for w in words:
        if not isinstance(w, str) or not w:
            raise InputError(f"pronounce: expected non-empty words, got {w!r}")
    tokens = model.tgt_vocab.tokens
    return [tuple(tokens[int(j)] for j in d.ids)
            for d in decode_texts(model, words, max_len, beam=beam, length_penalty=length_penalty,
                                  batch_size=batch_size)]


def unknown_letters(model, word: str) -> list[str]:
    """Characters of ``word`` the model's letter vocabulary does not hold (read as <unk>)."""
    return sorted({c for c in word.lower() if c not in model.src_vocab})
