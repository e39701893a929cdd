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

from ...decoding import beam_search, greedy_decode
from ...errors import InputError
from .data import encode_zh, ids_to_english


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
    src_v, tgt_v = model.src_vocab, model.tgt_vocab
    banned = [i for i in (tgt_v.pad_id, tgt_v.bos_id, tgt_v.unk_id) if i is not None]
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    out: list[Translation | None] = [None] * len(texts)
    for start in range(0, len(order), batch_size):
        idx = order[start:start + batch_size]
        src, mask = encode_zh(src_v, [texts[i] for i in idx])
        steps = max_len(src.shape[1])
        if beam <= 1:
            dec = greedy_decode(model, src, mask, max_len=steps, banned=banned, return_attention=return_attention)
        else:
            dec = beam_search(model, src, mask, beam=beam, max_len=steps, length_penalty=length_penalty,
                              banned=banned, return_attention=return_attention)
        for row, i in enumerate(idx):
            ids = dec.ids[row]
            n = int(dec.lengths[row])
            tokens = [tgt_v.tokens[int(j)] for j in ids[:n]]
            att = None
            if dec.attention is not None:
                att = dec.attention[row, :min(n + 1, dec.attention.shape[1]), :int(mask[row].sum())]
            out[i] = Translation(ids_to_english(tgt_v, ids), tokens, att)
    return out  # type: ignore[return-value]


def unknown_characters(model, text: str) -> list[str]:
    """Characters of ``text`` the model's source vocabulary does not hold (read as <unk>)."""
    return sorted({c for c in text if c not in model.src_vocab})
