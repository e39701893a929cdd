"""Words in, pronunciations out, with a trained :class:`~rnnlab.Seq2Seq` that carries its vocabularies.

Words are lower-cased and decoded in batches of similar length (sorted by length, put back in
order); ``beam=1`` is greedy decoding, otherwise batched beam search (:mod:`rnnlab.decoding`).
The output never holds ``<pad>``, ``<bos>`` or ``<unk>`` (banned) and stops at ``<eos>`` or after
``max_len(S) = 2·S + 4`` phonemes for a word of S letters (``x`` → ``EH1 K S``).
"""
from __future__ import annotations

from typing import Sequence

from ...decoding import beam_search, greedy_decode
from ...errors import InputError


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
    src_v, tgt_v = model.src_vocab, model.tgt_vocab
    banned = [i for i in (tgt_v.pad_id, tgt_v.bos_id, tgt_v.unk_id) if i is not None]
    order = sorted(range(len(words)), key=lambda i: len(words[i]))
    out: list[tuple[str, ...]] = [()] * len(words)
    for start in range(0, len(order), batch_size):
        idx = order[start:start + batch_size]
        src, mask = src_v.encode_batch([words[i] for i in idx])
        steps = max_len(src.shape[1])
        if beam == 1:
            dec = greedy_decode(model, src, mask, max_len=steps, banned=banned)
        else:
            dec = beam_search(model, src, mask, beam=beam, max_len=steps, length_penalty=length_penalty,
                              banned=banned)
        for row, i in enumerate(idx):
            n = int(dec.lengths[row])
            out[i] = tuple(tgt_v.tokens[int(j)] for j in dec.ids[row, :n])
    return out


def unknown_letters(model, word: str) -> list[str]:
    """Characters of ``word`` the model's letter vocabulary does not hold (read as <unk>)."""
    return sorted({c for c in word.lower() if c not in model.src_vocab})
