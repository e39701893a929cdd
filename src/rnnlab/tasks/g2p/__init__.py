"""Grapheme to phoneme (G2P): spell a word, say how it is pronounced — ``either`` → ``IY1 DH ER0``.

Data: the CMU Pronouncing Dictionary (``g2p/cmudict.dict``: 126,052 words, 135,166
pronunciations; :mod:`.data`), split **by word** (all pronunciations of a word in the same part),
seeded, 90/5/5. Letters in, ARPAbet phonemes out (with the stress digits, or without them with
``--no-stress``). Model: :class:`rnnlab.Seq2Seq` — a bidirectional GRU over the letters, a GRU
decoder reading the context at every step (structure ``context``) with additive attention — trained
with the common ``fit`` (teacher forcing, padding masked, clipping, early stopping on the validation
loss). Test: greedy and beam-search pronunciations of every test word, scored by word error rate
and phoneme error rate against **any** of the word's reference pronunciations (:mod:`.scores`),
beside the retrieval baseline (:mod:`.baselines`). ``rnnlab g2p RUN word [word ...]`` pronounces
words with the trained model (:mod:`.command`).
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from ... import threads
from ..base import RunContext
from ..config import option
from ..seq2seq_options import Seq2SeqConfig, build_model, default, describe, train
from .baselines import NearestSpelling
from .data import encode_pairs, make_vocabularies, pairs, read_dictionary, split_words
from .predict import pronounce
from .scores import error_rates

NAME = "g2p"
SUMMARY = "grapheme → phoneme on the CMU dictionary (seq2seq with attention, beam search), word/phoneme error rate"


@dataclass
class Config(Seq2SeqConfig):
    data: str | None = option(None, "the cmudict.dict file or a folder holding g2p/cmudict.dict",
                              none="g2p/cmudict.dict from $RNNLAB_DATA")
    stress: bool = option(True, "keep the vowels' stress digits (AH0, EY1) as the dictionary gives them "
                          "(--no-stress: strip them, an easier task)")
    hidden: int = default(Seq2SeqConfig, "hidden", 128)
    embedding: int = default(Seq2SeqConfig, "embedding", 64)
    dropout: float = default(Seq2SeqConfig, "dropout", 0.1)
    epochs: int = default(Seq2SeqConfig, "epochs", 10)
    batch_size: int = default(Seq2SeqConfig, "batch_size", 128)
    max_words: int | None = option(None, "use only this many words (a seeded subset, for short runs)", none="all")
    val_fraction: float = option(0.05, "validation share of the words")
    test_fraction: float = option(0.05, "test share of the words")
    examples: int = option(30, "test words written to examples.txt")
    threads: int | None = option(None, "BLAS threads (0 leaves BLAS alone)", none="1, or $RNNLAB_BLAS_THREADS if set")


def describe_g2p(config: Config) -> str:
    return f"{describe(config)}, {'with' if config.stress else 'no'} stress"


def examples_text(rows: list[dict], title: str) -> str:
    lines = [title, ""]
    for i, r in enumerate(rows, 1):
        mark = "ok " if r["correct"] else "ERR"
        lines += [f"{i:2d}. {r['word']}  [{mark}]",
                  f"    reference: {' | '.join(' '.join(p) for p in r['references'])}",
                  f"    beam:      {' '.join(r['beam'])}",
                  f"    greedy:    {' '.join(r['greedy'])}",
                  f"    retrieval: {' '.join(r['retrieval'])}", ""]
    return "\n".join(lines)


def run(config: Config, ctx: RunContext) -> dict:
    with threads.task_threads(config.threads):
        return _run(config, ctx)


def _run(config: Config, ctx: RunContext) -> dict:
    book = read_dictionary(config.data, config.stress)
    parts = split_words(book.lexicon, config.val_fraction, config.test_fraction, config.seed, config.max_words)
    letters, phonemes = make_vocabularies(parts["train"])
    tr, va = encode_pairs(letters, phonemes, parts["train"]), encode_pairs(letters, phonemes, parts["val"])
    ctx.say(f"{book.file}: {len(book.lexicon):,d} words, {book.pronunciations:,d} pronunciations "
            f"({book.skipped_words:,d} words with characters outside a-z' skipped); words train/val/test "
            f"{len(parts['train']):,d}/{len(parts['val']):,d}/{len(parts['test']):,d} "
            f"({len(tr.src):,d} training pronunciations); {len(letters)} letters, {len(phonemes)} phonemes "
            f"(specials included)")
    model = build_model(config, letters, phonemes)
    history, best_epoch, train_seconds, train_cpu = train(model, config, ctx, tr, va)

    words = sorted(parts["test"])
    refs = [parts["test"][w] for w in words]
    outputs, timings = {}, {}
    for name, width in (("greedy", 1), ("beam", config.beam)):
        t0 = time.perf_counter()
        outputs[name] = pronounce(model, words, beam=width, length_penalty=config.length_penalty)
        timings[f"{name}_seconds"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    outputs["retrieval"] = NearestSpelling(parts["train"]).pronounce(words)
    timings["retrieval_seconds"] = time.perf_counter() - t0
    scores = {name: error_rates(out, refs) for name, out in outputs.items()}
    b = f"beam{config.beam}"
    metrics = {
        "test_word_error_rate": scores["beam"]["wer"], "test_phoneme_error_rate": scores["beam"]["per"],
        "test_word_error_rate_greedy": scores["greedy"]["wer"],
        "test_phoneme_error_rate_greedy": scores["greedy"]["per"],
        f"test_word_error_rate_{b}": scores["beam"]["wer"], f"test_phoneme_error_rate_{b}": scores["beam"]["per"],
        "val_loss": float(min(history.history["val_loss"])), "best_epoch": best_epoch,
        "epochs_run": len(history.epochs), "train_seconds": train_seconds, "train_cpu_seconds": train_cpu,
        **timings, "updates": int(model.optimizer.iterations), "parameters": model.count_params(),
        "test_words": len(words), "test_words_with_alternates": sum(len(r) > 1 for r in refs),
        "split_words": {p: len(v) for p, v in parts.items()},
        "split_pronunciations": {p: len(pairs(v)) for p, v in parts.items()},
        "skipped_words": book.skipped_words, "repeated_lines": book.repeated_lines, "stress": config.stress,
        "vocabulary": {"letters": len(letters), "phonemes": len(phonemes)}, "data": str(book.file)}
    baselines = {"retrieval": {"test_word_error_rate": scores["retrieval"]["wer"],
                               "test_phoneme_error_rate": scores["retrieval"]["per"]}}

    pick = np.random.default_rng(config.seed).permutation(len(words))[:config.examples]
    rows = [{"word": words[i], "references": refs[i], "beam": outputs["beam"][i], "greedy": outputs["greedy"][i],
             "retrieval": outputs["retrieval"][i], "correct": outputs["beam"][i] in refs[i]} for i in sorted(pick)]
    folder = ctx.folder
    text = examples_text(rows, f"{len(rows)} random test words (beam {config.beam}; ERR: matches no reference):")
    folder.write_text("examples.txt", text)
    folder.write_text("test_pronunciations.tsv", "word\treferences\tbeam\tgreedy\tretrieval\n" + "".join(
        f"{w}\t{' | '.join(' '.join(p) for p in r)}\t{' '.join(bm)}\t{' '.join(g)}\t{' '.join(q)}\n"
        for w, r, bm, g, q in zip(words, refs, outputs["beam"], outputs["greedy"], outputs["retrieval"])))
    folder.write_history(history, title=f"g2p ({describe_g2p(config)})")
    model.save(folder.file("model"))
    doc = folder.write_metrics(metrics, baselines, {"rule": "a prediction is correct if it equals any of the "
                                                            "word's reference pronunciations; PER against the "
                                                            "closest reference"})
    ctx.say(text)
    ctx.result(f"g2p ({describe_g2p(config)}): test WER {100 * scores['beam']['wer']:.1f} % / PER "
               f"{100 * scores['beam']['per']:.1f} % (beam {config.beam}), WER {100 * scores['greedy']['wer']:.1f} % "
               f"(greedy), retrieval WER {100 * scores['retrieval']['wer']:.1f} %; trained "
               f"{train_seconds / 60:.1f} min  -> {folder.path}")
    return doc
