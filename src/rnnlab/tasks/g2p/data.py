"""The CMU Pronouncing Dictionary: reading it, a split by word, vocabularies, id arrays.

**Reading** (:func:`read_dictionary`). One pronunciation a line, ``word PH1 PH2 ...``; alternates
are written ``word(2)``, ``word(3)`` ... and belong to ``word``; anything from ``" #"`` on is a
comment and dropped. Words are lower-cased; a word holding a character outside ``a``–``z`` and
the apostrophe (``-``, ``.``, digits) is skipped and counted. Phonemes are ARPAbet as the
dictionary writes them, vowels with their stress digit (``AH0``, ``EY1``); ``stress=False``
strips the digits. A line repeating a pronunciation its word already has is dropped and counted
(two in cmudict.dict: ``mormonism`` and ``tribalism``; more without stress).

**Split** (:func:`split_words`). By word, never by line: every pronunciation of a word goes to
the same part, so no test word is seen in training under another pronunciation. A seeded
permutation of the (sorted) words, cut into test, validation and train (test first);
``max_words`` keeps a seeded subset of the words first (short runs).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...data.paths import find_data_file
from ...data.text import Vocabulary, decode_utf8
from ...errors import InputError

DEFAULT_FILE = "g2p/cmudict.dict"
_WORD = re.compile(r"[a-z']+")
_ALTERNATE = re.compile(r"\(\d+\)$")
_PHONEME = re.compile(r"[A-Z]+[0-2]?")

#: word -> its pronunciations (each a tuple of phonemes), in the dictionary's order
Lexicon = dict[str, list[tuple[str, ...]]]


@dataclass
class Dictionary:
    """What :func:`read_dictionary` read: the lexicon, the words it skipped, and the file."""
    lexicon: Lexicon
    skipped_words: int          # distinct words with a character outside a-z and '
    skipped_lines: int          # their lines (alternates included)
    repeated_lines: int         # lines repeating a pronunciation the word already has (dropped)
    file: Path

    @property
    def pronunciations(self) -> int:
        return sum(map(len, self.lexicon.values()))


def strip_stress(phonemes: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """``AH0`` → ``AH``: the phonemes without their stress digits."""
    return tuple(p.rstrip("012") for p in phonemes)


def parse_dictionary(text: str, where: str = "cmudict.dict", stress: bool = True) -> Dictionary:
    """The lexicon of a dictionary's text (see the module docstring); ``where`` names it in errors."""
    lexicon: Lexicon = {}
    skipped: set[str] = set()
    skipped_lines = repeated = 0
    for n, line in enumerate(text.splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        fields = line.split()
        if len(fields) < 2:
            raise InputError(f"{where}:{n}: expected 'word PH1 PH2 ...', got {line[:60]!r}")
        word = _ALTERNATE.sub("", fields[0].lower())
        if not _WORD.fullmatch(word):
            skipped.add(word)
            skipped_lines += 1
            continue
        phonemes = tuple(fields[1:])
        bad = [p for p in phonemes if not _PHONEME.fullmatch(p)]
        if bad:
            raise InputError(f"{where}:{n}: expected ARPAbet phonemes (letters, optional stress 0/1/2), "
                             f"got {bad[0]!r} in {line[:60]!r}")
        if not stress:
            phonemes = strip_stress(phonemes)
        prons = lexicon.setdefault(word, [])
        if phonemes in prons:
            repeated += 1
        else:
            prons.append(phonemes)
    if not lexicon:
        raise InputError(f"{where}: no pronunciations (expected lines 'word PH1 PH2 ...')")
    return Dictionary(lexicon, len(skipped), skipped_lines, repeated, Path(where))


def read_dictionary(path: str | None = None, stress: bool = True) -> Dictionary:
    """Read ``g2p/cmudict.dict`` (from ``$RNNLAB_DATA``, ``--data``: a file or a folder, ...)."""
    file = find_data_file(DEFAULT_FILE, path)
    try:
        blob = file.read_bytes()
    except OSError as exc:
        raise InputError(f"{file}: cannot read it ({exc.strerror or exc})") from None
    doc = parse_dictionary(decode_utf8(blob, file), str(file), stress)
    doc.file = file
    return doc


def split_words(lexicon: Lexicon, val_fraction: float, test_fraction: float, seed: int,
                max_words: int | None = None) -> dict[str, Lexicon]:
    """``{"train", "val", "test"}`` sub-lexicons: whole words, seeded (see the module docstring)."""
    if not (0 < val_fraction < 1 and 0 < test_fraction < 1 and val_fraction + test_fraction < 1):
        raise InputError(f"val_fraction + test_fraction: expected two shares in (0, 1) summing below 1, "
                         f"got {val_fraction}, {test_fraction}")
    if max_words is not None and max_words < 3:
        raise InputError(f"--max-words: expected at least 3 words (one per part), got {max_words}")
    words = sorted(lexicon)
    order = np.random.default_rng(seed).permutation(len(words))
    if max_words is not None:
        order = order[:max_words]
    n = len(order)
    n_test = max(1, int(round(test_fraction * n)))
    n_val = max(1, int(round(val_fraction * n)))
    cuts = {"test": order[:n_test], "val": order[n_test:n_test + n_val], "train": order[n_test + n_val:]}
    return {part: {words[i]: lexicon[words[i]] for i in idx} for part, idx in cuts.items()}


def pairs(lexicon: Lexicon) -> list[tuple[str, tuple[str, ...]]]:
    """One ``(word, phonemes)`` pair per pronunciation: the training examples."""
    return [(w, p) for w, prons in lexicon.items() for p in prons]


def make_vocabularies(train: Lexicon) -> tuple[Vocabulary, Vocabulary]:
    """Letters (source) and phonemes (target) seen in the training words."""
    letters = Vocabulary.from_text(list(train), level="char")
    phonemes = sorted({p for prons in train.values() for pron in prons for p in pron})
    return letters, Vocabulary(phonemes, level="word")


@dataclass
class Encoded:
    src: np.ndarray         # (N, S) letter ids, <pad> after the end
    src_mask: np.ndarray    # (N, S) bool
    tgt: np.ndarray         # (N, T) phoneme ids ending with <eos>
    tgt_mask: np.ndarray    # (N, T) bool


def encode_pairs(letters: Vocabulary, phonemes: Vocabulary, lexicon: Lexicon) -> Encoded:
    """Id arrays of every (word, pronunciation) pair of ``lexicon``."""
    items = pairs(lexicon)
    if not items:
        raise InputError("encode_pairs: no words (is --max-words too small?)")
    src, src_mask = letters.encode_batch([w for w, _ in items])
    seqs = [phonemes.ids(p) + [phonemes.eos_id] for _, p in items]
    tgt = np.full((len(seqs), max(map(len, seqs))), phonemes.pad_id, dtype=np.int64)
    tgt_mask = np.zeros(tgt.shape, dtype=bool)
    for i, s in enumerate(seqs):
        tgt[i, :len(s)], tgt_mask[i, :len(s)] = s, True
    return Encoded(src, src_mask, tgt, tgt_mask)
