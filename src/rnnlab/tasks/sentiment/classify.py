"""``rnnlab classify RUN_OR_MODEL "a gorgeous, witty, seductive movie." ["another text" ...]``.

Judges each text with a saved sentiment classifier (a ``rnnlab run sentiment`` folder or its
``model/``): one line per text, ``label<TAB>p(positive)<TAB>text``, the label ``positive`` when
p(positive) ≥ 0.5. Texts are lower-cased and split into words like the training snippets; words
the vocabulary does not hold are read as ``<unk>`` (``--words`` lists them, marked ``?``).
"""
from __future__ import annotations

import argparse
from pathlib import Path

from ...data.text import tokenize
from ...errors import InputError
from ...io import load_run_or_model
from .data import normalize
from .predict import LABELS, check_classifier, probabilities

SUMMARY = "judge film-review texts positive or negative with a saved sentiment classifier (rnnlab run sentiment)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", type=Path, metavar="RUN_OR_MODEL", help="a run folder (runs/sentiment) or a model folder")
    p.add_argument("texts", nargs="+", metavar="TEXT", help="one or more texts to judge (quote each)")
    p.add_argument("--words", action="store_true",
                   help="also print the words as the model reads them (unknown ones marked '?')")


def main(args: argparse.Namespace) -> int:
    for i, text in enumerate(args.texts, start=1):
        if not tokenize(normalize(text), "word"):
            raise InputError(f"TEXT {i}: expected a text with at least one word, got {text!r}")
    model = check_classifier(load_run_or_model(args.model), str(args.model))
    probs = probabilities(model, args.texts)
    for text, p in zip(args.texts, probs):
        print(f"{LABELS[int(p >= 0.5)]}\t{p:.3f}\t{text}")
        if args.words:
            vocab = model.vocab
            words = [w if vocab.id(w) != vocab.unk_id else f"{w}?" for w in tokenize(normalize(text), "word")]
            print("\twords: " + " ".join(words))
    return 0
