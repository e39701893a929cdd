"""Chinese–English pairs: reading, a split without leakage, tokenisation, vocabularies, id arrays.

**Split.** Pairs that share an English sentence or a Chinese sentence are joined (union–find);
each connected component goes whole to train, validation or test (a seeded shuffle of the
components, test filled first, then validation). No sentence of the test set, on either side,
is seen in training.

**Chinese** is read character by character (every character, punctuation included).

**English** is split into words and punctuation marks, reversibly: a token written right after
the previous one, with no space between, carries the joiner ``￭`` (U+FFED) in front::

    "Tom's here, isn't he?"  ->  Tom's  here  ￭,  isn't  he  ￭?
    detokenize(tokenize(s)) == s      for every sentence with single spaces (all of cmn-eng.txt)

Words are runs of letters and digits with inner apostrophes (``don't``, ``Tom's``); every other
non-space character is a token of its own. Case is kept (BLEU is scored case-sensitively on the
detokenised text against the original sentence).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...data.paths import find_data_file
from ...data.text import Vocabulary, decode_utf8
from ...errors import InputError

DEFAULT_FILE = "translation/cmn-eng.txt"
JOINER = "\uffed"
_TOKEN = re.compile(r"\w+(?:'\w+)*|[^\w\s]", re.UNICODE)


def tokenize_en(text: str) -> list[str]:
    """English words and marks; a token glued to the previous one starts with :data:`JOINER`."""
    out, end = [], None
    for m in _TOKEN.finditer(text):
        tok = m.group()
        out.append(JOINER + tok if end is not None and m.start() == end else tok)
        end = m.end()
    return out


def detokenize_en(tokens: list[str]) -> str:
    """The inverse of :func:`tokenize_en`: a space before every token without the joiner."""
    parts = []
    for i, tok in enumerate(tokens):
        if tok.startswith(JOINER):
            parts.append(tok[len(JOINER):])
        else:
            parts.append((" " if i else "") + tok)
    return "".join(parts).strip()


def read_pairs(path: str | None = None) -> tuple[list[tuple[str, str]], Path]:
    """``[(chinese, english), ...]`` from the tab-separated file (English, Chinese, attribution)."""
    file = Path(path) if path is not None and Path(path).is_file() else find_data_file(DEFAULT_FILE, path)
    pairs = []
    try:
        blob = file.read_bytes()
    except OSError as exc:
        raise InputError(f"{file}: cannot read it ({exc.strerror or exc})") from None
    for n, line in enumerate(decode_utf8(blob, file).splitlines(), 1):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) < 2 or not fields[0].strip() or not fields[1].strip():
            raise InputError(f"{file}:{n}: expected English<TAB>Chinese[<TAB>attribution], got {line[:60]!r}")
        pairs.append((fields[1].strip(), " ".join(fields[0].split())))
    if not pairs:
        raise InputError(f"{file}: no sentence pairs")
    return pairs, file


def components(pairs: list[tuple[str, str]]) -> list[list[int]]:
    """Groups of pair indices linked by a shared Chinese or a shared English sentence."""
    parent = list(range(len(pairs)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for side in (0, 1):
        first: dict[str, int] = {}
        for i, p in enumerate(pairs):
            j = first.setdefault(p[side], i)
            ri, rj = find(i), find(j)
            if ri != rj:
                parent[ri] = rj
    groups: dict[int, list[int]] = {}
    for i in range(len(pairs)):
        groups.setdefault(find(i), []).append(i)
    return sorted(groups.values())


def split_pairs(pairs: list[tuple[str, str]], val_fraction: float, test_fraction: float, seed: int,
                max_pairs: int | None = None) -> dict[str, list[tuple[str, str]]]:
    """Train / val / test by whole components, seeded; ``max_pairs``: a seeded subset of components first."""
    if not (0 < val_fraction < 1 and 0 < test_fraction < 1 and val_fraction + test_fraction < 1):
        raise InputError(f"val_fraction + test_fraction: expected two shares in (0, 1) summing below 1, "
                         f"got {val_fraction}, {test_fraction}")
    groups = components(pairs)
    order = np.random.default_rng(seed).permutation(len(groups))
    chosen, total = [], 0
    for g in order:
        if max_pairs is not None and total >= max_pairs:
            break
        chosen.append(groups[g])
        total += len(groups[g])
    parts: dict[str, list[tuple[str, str]]] = {"test": [], "val": [], "train": []}
    for group in chosen:
        part = ("test" if len(parts["test"]) < test_fraction * total else
                "val" if len(parts["val"]) < val_fraction * total else "train")
        parts[part].extend(pairs[i] for i in group)
    return parts


def make_vocabularies(train: list[tuple[str, str]], zh_min_count: int, en_min_count: int) -> tuple[Vocabulary, Vocabulary]:
    """Source (Chinese characters) and target (English tokens) vocabularies from the training pairs."""
    zh = Vocabulary.from_text([z for z, _ in train], level="char", min_count=zh_min_count)
    counts: dict[str, int] = {}
    for _, e in train:
        for t in tokenize_en(e):
            counts[t] = counts.get(t, 0) + 1
    words = sorted((t for t, c in counts.items() if c >= en_min_count), key=lambda t: (-counts[t], t))
    return zh, Vocabulary(words, level="word")


@dataclass
class Encoded:
    src: np.ndarray         # (N, S) Chinese character ids, <pad> after the end
    src_mask: np.ndarray    # (N, S) bool
    tgt: np.ndarray         # (N, T) English token ids ending with <eos>
    tgt_mask: np.ndarray    # (N, T) bool
    zh: list[str]
    en: list[str]


def encode_zh(vocab: Vocabulary, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    return vocab.encode_batch(texts)


def encode_pairs(zh_vocab: Vocabulary, en_vocab: Vocabulary, pairs: list[tuple[str, str]]) -> Encoded:
    zh, en = [p[0] for p in pairs], [p[1] for p in pairs]
    src, src_mask = encode_zh(zh_vocab, zh)
    seqs = [en_vocab.ids(tokenize_en(e)) + [en_vocab.eos_id] for e in en]
    tgt = np.full((len(seqs), max(map(len, seqs))), en_vocab.pad_id, dtype=np.int64)
    tgt_mask = np.zeros(tgt.shape, dtype=bool)
    for i, s in enumerate(seqs):
        tgt[i, :len(s)], tgt_mask[i, :len(s)] = s, True
    return Encoded(src, src_mask, tgt, tgt_mask, zh, en)


def ids_to_english(vocab: Vocabulary, ids: np.ndarray) -> str:
    """Detokenised English of one row of ids (stops at <eos>; specials and <unk> left out)."""
    skip = {vocab.pad_id, vocab.bos_id, vocab.unk_id}
    toks = []
    for i in np.asarray(ids).reshape(-1):
        if int(i) == vocab.eos_id:
            break
        if int(i) not in skip:
            toks.append(vocab.tokens[int(i)])
    return detokenize_en(toks)
