"""Text as token ids: a :class:`Vocabulary` (characters or words), and the batch layouts text models train on.

>>> from rnnlab.data.text import Vocabulary
>>> vocab = Vocabulary.from_text("hello")
>>> vocab.tokens[vocab.first_token_id:]           # specials first, then the text's tokens, sorted
['e', 'h', 'l', 'o']
>>> ids = vocab.encode("hell")
>>> vocab.decode(ids), vocab.decode(vocab.encode("help"))     # 'p' was never seen: <unk>
('hell', 'hel<unk>')

Special symbols (each optional, chosen when the vocabulary is made):

| symbol  | id (default) | used for                                                   |
|---------|--------------|------------------------------------------------------------|
| <pad>   | 0            | filling short sequences of a batch (masked out of the loss) |
| <unk>   | 1            | any token not in the vocabulary (never seen in training)    |
| <bos>   | 2            | "begin": the input before the first token (generation starts here) |
| <eos>   | 3            | "end": the output after the last token (generation stops here) |

A vocabulary is built from **training text only** (validation and test text may hold tokens it
maps to <unk>), saved as JSON inside the model folder and loaded with it.

Stateful training with truncated BPTT (the character language model) reads one long text as
``batch`` parallel streams: :func:`stream_batches` lays them out so that row ``b`` of batch ``k+1``
continues row ``b`` of batch ``k`` — the order a stateful layer carries its state in.
"""
from __future__ import annotations

import json
import os
import re
from collections import Counter
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from ..errors import InputError, ModelFileError
from ..fileio import atomic_write_text

PAD, UNK, BOS, EOS = "<pad>", "<unk>", "<bos>", "<eos>"
SPECIALS = (PAD, UNK, BOS, EOS)
LEVELS = ("char", "word")
VOCAB_FILE = "vocabulary.json"

_WORD = re.compile(r"\w+(?:'\w+)*|[^\w\s]", re.UNICODE)


def tokenize(text: str, level: str = "char") -> list[str]:
    """Characters (every character, spaces and newlines included), or words: runs of letters and
    digits (with inner apostrophes: ``don't``) and single punctuation marks; spaces dropped."""
    if level == "char":
        return list(text)
    if level == "word":
        return _WORD.findall(text)
    raise InputError(f"level: expected one of {LEVELS}, got {level!r}")


class Vocabulary:
    """Token ↔ id: the specials first (in the order given), then the tokens.

    Args:
        tokens: the ordinary tokens, in id order (no duplicates, no specials among them).
        level: ``"char"`` (decode joins with ``""``) or ``"word"`` (joins with a space).
        specials: which of ``<pad> <unk> <bos> <eos>`` to reserve ids for, in id order.
    """

    def __init__(self, tokens: Sequence[str], *, level: str = "char", specials: Sequence[str] = SPECIALS) -> None:
        if level not in LEVELS:
            raise InputError(f"Vocabulary level: expected one of {LEVELS}, got {level!r}")
        specials = list(specials)
        unknown = [s for s in specials if s not in SPECIALS]
        if unknown or len(set(specials)) != len(specials):
            raise InputError(f"Vocabulary specials: expected distinct members of {SPECIALS}, got {specials}")
        tokens = list(tokens)
        for t in tokens:
            if not isinstance(t, str) or not t:
                raise InputError(f"Vocabulary: every token must be a non-empty string, got {t!r}")
        clash = set(tokens) & set(SPECIALS)
        if clash:
            raise InputError(f"Vocabulary: the tokens include special symbols {sorted(clash)}")
        if len(set(tokens)) != len(tokens):
            dup = [t for t, c in Counter(tokens).items() if c > 1][:5]
            raise InputError(f"Vocabulary: duplicate tokens {dup}")
        self.level = level
        self.specials = specials
        self.tokens: list[str] = specials + tokens
        self._ids = {t: i for i, t in enumerate(self.tokens)}

    # -- construction -------------------------------------------------------------------------
    @classmethod
    def from_text(cls, texts: str | Iterable[str], *, level: str = "char", min_count: int = 1,
                  max_size: int | None = None, specials: Sequence[str] = SPECIALS) -> "Vocabulary":
        """The tokens of ``texts`` (one string or several) seen at least ``min_count`` times, at most
        ``max_size`` of them (the most frequent). Order: characters sorted (a readable order for an
        alphabet); words, or characters cut by ``max_size``, by frequency, ties alphabetically."""
        counts: Counter = Counter()
        for text in ([texts] if isinstance(texts, str) else texts):
            if not isinstance(text, str):
                raise InputError(f"Vocabulary.from_text: expected strings, got {type(text).__name__}")
            counts.update(tokenize(text, level))
        if min_count < 1:
            raise InputError(f"min_count: expected a positive integer, got {min_count}")
        keep = [t for t, c in counts.items() if c >= min_count and t not in SPECIALS]
        if level == "char" and max_size is None:
            keep.sort()
        else:
            keep.sort(key=lambda t: (-counts[t], t))
            keep = keep[:max_size] if max_size is not None else keep
        if (min_count > 1 or max_size is not None) and UNK not in specials:
            raise InputError("a vocabulary that leaves tokens out (min_count / max_size) needs <unk> among its specials")
        return cls(keep, level=level, specials=specials)

    # -- lookups ------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.tokens)

    def __contains__(self, token: str) -> bool:
        return token in self._ids

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Vocabulary) and self.to_dict() == other.to_dict()

    def __repr__(self) -> str:
        return f"Vocabulary({len(self)} {self.level}s, specials={self.specials})"

    @property
    def first_token_id(self) -> int:
        """The id of the first ordinary token (= the number of specials)."""
        return len(self.specials)

    def _special(self, s: str) -> int | None:
        return self._ids.get(s) if s in self.specials else None

    @property
    def pad_id(self) -> int | None:
        return self._special(PAD)

    @property
    def unk_id(self) -> int | None:
        return self._special(UNK)

    @property
    def bos_id(self) -> int | None:
        return self._special(BOS)

    @property
    def eos_id(self) -> int | None:
        return self._special(EOS)

    def id(self, token: str) -> int:
        """The id of one token (a special symbol too); unknown → <unk>'s id, or an error without one."""
        i = self._ids.get(token)
        if i is None:
            if self.unk_id is None:
                raise InputError(f"token {token!r} is not in the vocabulary (which has no <unk>)")
            return self.unk_id
        return i

    def ids(self, tokens: Iterable[str]) -> list[int]:
        return [self.id(t) for t in tokens]

    # -- text <-> ids -----------------------------------------------------------------------------
    def encode(self, text: str, *, bos: bool = False, eos: bool = False) -> np.ndarray:
        """Token ids (int64) of ``text``; ``bos``/``eos`` add the begin / end symbols around it."""
        if not isinstance(text, str):
            raise InputError(f"encode: expected a string, got {type(text).__name__}")
        ids = self.ids(tokenize(text, self.level))
        for flag, sym, where in ((bos, BOS, 0), (eos, EOS, len(ids) + 1)):
            if flag:
                if sym not in self.specials:
                    raise InputError(f"encode: {sym} was asked for, but the vocabulary has no {sym}")
                ids.insert(where, self._ids[sym])
        return np.asarray(ids, dtype=np.int64)

    def decode(self, ids: Iterable[int], *, skip: Sequence[str] = (PAD, BOS, EOS), stop_at_eos: bool = True) -> str:
        """The text of ``ids``: specials in ``skip`` left out, and nothing after <eos>."""
        out = []
        eos = self.eos_id
        for i in np.asarray(list(ids) if not isinstance(ids, np.ndarray) else ids).reshape(-1):
            i = int(i)
            if not 0 <= i < len(self.tokens):
                raise InputError(f"decode: id {i} outside the vocabulary [0, {len(self.tokens) - 1}]")
            if stop_at_eos and eos is not None and i == eos:
                break
            tok = self.tokens[i]
            if tok not in skip:
                out.append(tok)
        return ("" if self.level == "char" else " ").join(out)

    def encode_batch(self, texts: Sequence[str], *, bos: bool = False, eos: bool = False,
                     length: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Several texts as one padded ``(batch, time)`` id array and its mask (True = a real token)."""
        if self.pad_id is None:
            raise InputError("encode_batch pads with <pad>, which this vocabulary has no id for")
        seqs = [self.encode(t, bos=bos, eos=eos) for t in texts]
        T = max((len(s) for s in seqs), default=0) if length is None else int(length)
        ids = np.full((len(seqs), T), self.pad_id, dtype=np.int64)
        mask = np.zeros((len(seqs), T), dtype=bool)
        for i, s in enumerate(seqs):
            if len(s) > T:
                raise InputError(f"encode_batch: text {i} has {len(s)} tokens, longer than length={T}")
            ids[i, :len(s)] = s
            mask[i, :len(s)] = True
        return ids, mask

    # -- files ------------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {"format": "rnnlab-vocabulary", "version": 1, "level": self.level,
                "specials": list(self.specials), "tokens": self.tokens[len(self.specials):]}

    @classmethod
    def from_dict(cls, doc: Any, where: str = "vocabulary") -> "Vocabulary":
        if not isinstance(doc, dict) or doc.get("format") != "rnnlab-vocabulary":
            raise ModelFileError(f"{where}: not an rnnlab vocabulary (expected a JSON object with "
                                 "\"format\": \"rnnlab-vocabulary\")")
        if doc.get("version") != 1:
            raise ModelFileError(f"{where}: vocabulary version {doc.get('version')!r} is not supported (expected 1)")
        tokens, specials, level = doc.get("tokens"), doc.get("specials"), doc.get("level")
        if not isinstance(tokens, list) or not isinstance(specials, list) or not isinstance(level, str):
            raise ModelFileError(f"{where}: expected lists \"tokens\" and \"specials\" and a string \"level\"")
        try:
            return cls(tokens, level=level, specials=specials)
        except InputError as exc:
            raise ModelFileError(f"{where}: {exc}") from None

    def save(self, path: str | os.PathLike) -> None:
        """Write the vocabulary as JSON (atomically: the old file stays whole until the new one is)."""
        atomic_write_text(path, json.dumps(self.to_dict(), ensure_ascii=False, indent=0) + "\n")

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Vocabulary":
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ModelFileError(f"{path}: vocabulary file not found") from None
        except UnicodeDecodeError as exc:
            raise ModelFileError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
        except OSError as exc:                       # a folder, no read permission, ...
            raise ModelFileError(f"{path}: cannot read the vocabulary ({exc.strerror or exc})") from None
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ModelFileError(f"{path}: not valid JSON (line {exc.lineno}: {exc.msg})") from None
        except (ValueError, RecursionError) as exc:   # e.g. an integer of more than 4,300 digits; deep nesting
            raise ModelFileError(f"{path}: not an rnnlab vocabulary ({type(exc).__name__}: {exc})") from None
        return cls.from_dict(doc, str(path))


# ------------------------------------------------------------------------------------ files
def decode_utf8(blob: bytes, file: str | os.PathLike, *, bom: bool = False) -> str:
    """The UTF-8 text of a file's bytes (``bom=True``: a leading byte-order mark dropped); bad
    bytes → :class:`InputError` naming the file, the line and the byte offset."""
    skip = 3 if bom and blob.startswith(b"\xef\xbb\xbf") else 0
    try:
        return (blob[skip:] if skip else blob).decode("utf-8")
    except UnicodeDecodeError as exc:
        start = exc.start + skip
        line = blob.count(b"\n", 0, start) + 1
        raise InputError(f"{file}, line {line}: not UTF-8 text ({exc.reason} at byte {start}); convert it, "
                         "e.g. iconv -f latin1 -t utf-8") from None


def read_text_file(relpath: str, path: str | os.PathLike | None, option: str) -> tuple[str, Path]:
    """A UTF-8 data file: ``path`` if it is a file, else :func:`~rnnlab.data.paths.find_data_file`
    (``relpath`` in ``path`` or the data folders; the not-found message names ``option``);
    returns the text and the file. Bad bytes → :class:`InputError` with their offset."""
    from .paths import find_data_file
    from ..errors import DataNotFoundError
    if path is not None and Path(path).is_file():
        file = Path(path)
    else:
        try:
            file = find_data_file(relpath, path)
        except DataNotFoundError as exc:
            raise DataNotFoundError(f"{exc}\nOr give the file with {option} PATH.") from None
    try:
        blob = file.read_bytes()
    except OSError as exc:
        raise InputError(f"{file}: cannot read it ({exc.strerror or exc})") from None
    return decode_utf8(blob, file), file


# ------------------------------------------------------------------------------------ layouts
def contiguous_split(text: str, val_fraction: float = 0.05, test_fraction: float = 0.05) -> tuple[str, str, str]:
    """Train / validation / test as three contiguous parts, in that order (the test text is the
    end of the file: never seen, not even as neighbours of training chunks)."""
    for name, f in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
        if not 0.0 <= f < 1.0:
            raise InputError(f"{name}: expected a fraction in [0, 1), got {f}")
    if val_fraction + test_fraction >= 1.0:
        raise InputError(f"val_fraction + test_fraction must leave training text, got {val_fraction + test_fraction}")
    n = len(text)
    a = int(round(n * (1.0 - val_fraction - test_fraction)))
    b = int(round(n * (1.0 - test_fraction)))
    return text[:a], text[a:b], text[b:]


def stream_batches(ids: np.ndarray, batch_size: int, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Inputs and next-token targets for stateful training with truncated BPTT.

    The text is cut into ``batch_size`` streams of equal length; each stream into chunks of
    ``steps`` tokens. Batch ``k`` (rows ``k·batch_size … (k+1)·batch_size - 1`` of the result)
    holds chunk ``k`` of every stream, so row ``b`` of batch ``k+1`` continues row ``b`` of batch
    ``k``: train with ``fit(x, y, batch_size=batch_size)`` (a stateful model keeps the order).
    The tail that does not fill a whole chunk of every stream is dropped.

    Returns ``x``, ``y``: int64 ``(chunks · batch_size, steps)``, ``y[., t] = x[., t+1]`` across
    chunk boundaries too.

    >>> x, y = stream_batches(np.arange(13), batch_size=2, steps=3)
    >>> x.tolist()
    [[0, 1, 2], [6, 7, 8], [3, 4, 5], [9, 10, 11]]
    >>> y[0].tolist(), y[2].tolist()
    ([1, 2, 3], [4, 5, 6])
    """
    ids = np.asarray(ids)
    if ids.ndim != 1 or not np.issubdtype(ids.dtype, np.integer):
        raise InputError(f"stream_batches: expected a 1-D integer id array, got {ids.dtype} of shape {ids.shape}")
    batch_size, steps = int(batch_size), int(steps)
    if batch_size < 1 or steps < 1:
        raise InputError(f"stream_batches: batch_size and steps must be positive, got {batch_size}, {steps}")
    per_stream = (len(ids) - 1) // batch_size
    chunks = per_stream // steps
    if chunks < 1:
        raise InputError(f"stream_batches: {len(ids)} tokens are too few for {batch_size} streams of at least "
                         f"{steps + 1} tokens; use a smaller batch_size or steps")
    used = chunks * steps
    streams = np.stack([ids[b * per_stream: b * per_stream + used + 1] for b in range(batch_size)])
    x = streams[:, :used].reshape(batch_size, chunks, steps).transpose(1, 0, 2).reshape(-1, steps)
    y = streams[:, 1:used + 1].reshape(batch_size, chunks, steps).transpose(1, 0, 2).reshape(-1, steps)
    return x.astype(np.int64), y.astype(np.int64)
