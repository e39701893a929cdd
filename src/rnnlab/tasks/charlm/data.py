"""The character language model's data: the text, its contiguous split, the vocabulary, the streams,
and the count baselines scored on exactly the test characters the model is scored on."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...data.text import UNK, Vocabulary, contiguous_split, read_text_file, stream_batches
from ...errors import InputError
from ...ngram import KneserNey, unigram_log_probs

DEFAULT_TEXT = "text/shakespeare.txt"


def read_text(path: str | None) -> tuple[str, Path]:
    """The training text: ``path`` (a file, or a folder holding ``text/shakespeare.txt``), else
    Shakespeare from the data folders; UTF-8, decoding errors named with their byte offset."""
    text, file = read_text_file(DEFAULT_TEXT, path, "--text")
    if len(text) < 1000:
        raise InputError(f"{file}: {len(text)} characters is too little text for a language model (want ≥ 1000)")
    return text, file


@dataclass
class CharData:
    vocab: Vocabulary
    ids: dict[str, np.ndarray]                       # part -> the part's ids, whole
    streams: dict[str, tuple[np.ndarray, np.ndarray]]  # part -> (x, y) stream layout
    target_positions: dict[str, np.ndarray]          # part -> index into ids[part] of every y element
    source: Path


SPLITS = ("blocks", "end")


def split_text(text: str, val_fraction: float, test_fraction: float, split: str = "blocks",
               blocks: int = 10) -> dict[str, str]:
    """Train / validation / test text; every held-out piece is a contiguous stretch of the file.

    ``"end"``: the file's last ``test_fraction`` is the test part and the ``val_fraction`` before
    it the validation part. ``"blocks"``: the file is cut into ``blocks`` equal consecutive blocks
    and the same cut is made in each (its last ``test_fraction`` → test, the ``val_fraction``
    before → validation); each part is its pieces joined in file order. The held-out text then
    comes from the whole file — in shakespeare.txt from all nine plays — instead of the end of
    the last play alone.
    """
    if split not in SPLITS:
        raise InputError(f"split: expected one of {SPLITS}, got {split!r}")
    if split == "end":
        return dict(zip(("train", "val", "test"), contiguous_split(text, val_fraction, test_fraction)))
    if int(blocks) < 1:
        raise InputError(f"blocks: expected a positive integer, got {blocks}")
    edges = np.linspace(0, len(text), int(blocks) + 1).round().astype(int)
    cuts = [contiguous_split(text[a:b], val_fraction, test_fraction) for a, b in zip(edges[:-1], edges[1:])]
    return {part: "".join(c[i] for c in cuts) for i, part in enumerate(("train", "val", "test"))}


def make_data(text: str, source: Path, batch_size: int, steps: int, val_fraction: float,
              test_fraction: float, eval_streams: int | None = None, split: str = "blocks") -> CharData:
    """Split (:func:`split_text`), vocabulary from the training part only (<unk> for characters
    it lacks), and the stream layout of each part: ``batch_size`` streams for training,
    ``eval_streams`` (default the same) for validation and test — few long streams, so that few
    characters are read from a cold (zero) state."""
    parts = split_text(text, val_fraction, test_fraction, split)
    vocab = Vocabulary.from_text(parts["train"], specials=(UNK,))
    ids = {k: vocab.encode(v) for k, v in parts.items()}
    streams, positions = {}, {}
    for k, v in ids.items():
        streams_of_part = batch_size if k == "train" or eval_streams is None else eval_streams
        try:
            _, pos = stream_batches(np.arange(len(v)), streams_of_part, steps)
        except InputError as exc:
            raise InputError(f"the {k} part ({len(v)} characters): {exc}") from None
        positions[k] = pos
        streams[k] = (v[pos - 1], v[pos])           # inputs are the characters just before the targets
    return CharData(vocab, ids, streams, positions, source)


def baselines(data: CharData, max_order: int = 5) -> dict[str, dict[str, float]]:
    """Unigram (add-one) and Kneser–Ney n-grams (n = 2 … max_order), counted on the training part,
    scored in nats per character on the validation and test targets of the model."""
    V = len(data.vocab)
    out = {"unigram": {}}
    for part in ("val", "test"):
        pos = data.target_positions[part].reshape(-1)
        out["unigram"][f"{part}_nats"] = float(-unigram_log_probs(data.ids["train"], data.ids[part], V)[pos].mean())
    for n in range(2, max_order + 1):
        kn = KneserNey(n, V).fit(data.ids["train"])
        out[f"kneser_ney_{n}gram"] = {
            f"{part}_nats": float(-kn.log_probs(data.ids[part])[data.target_positions[part].reshape(-1)].mean())
            for part in ("val", "test")}
    best = min((k for k in out if k.startswith("kneser")), key=lambda k: out[k]["val_nats"], default=None)
    if best is not None:
        out["best_ngram_by_validation"] = {"name": best, **out[best]}
    for v in out.values():
        for key in [k for k in v if k.endswith("_nats")]:
            v[key.replace("_nats", "_bits")] = v[key] / np.log(2)
    return out
