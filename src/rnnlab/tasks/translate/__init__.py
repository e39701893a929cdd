"""Translation, Chinese → English (the lecture's example of sequence to sequence): 我们明天去北京。→ English.

Data: Tatoeba's cmn-eng pairs (``translation/cmn-eng.txt``, 29,155 pairs), split by connected
components (pairs sharing a Chinese or an English sentence stay together; :mod:`.data`).
Chinese by character, English by word with a reversible tokenisation. Model: :class:`rnnlab.Seq2Seq`
with every option on the command line (structure, context, attention, cell, depth, direction),
trained with the common ``fit`` (teacher forcing, padding masked, clipping, early stopping on the
validation loss). Test: greedy and beam-search translations of every test sentence, scored with
sacrebleu (corpus BLEU and chrF on the detokenised text), beside the retrieval baseline
(:mod:`.baselines`). ``rnnlab translate RUN "我们明天去北京。" --beam 5 --plot attention.png`` uses the
trained model (:mod:`.command`).
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from ... import threads
from ..base import RunContext
from ..config import option
from ..seq2seq_options import Seq2SeqConfig, build_model, describe, train
from .baselines import Retrieval, bleu_chrf
from .data import encode_pairs, make_vocabularies, read_pairs, split_pairs
from .predict import translate
from .report import examples_text, plot_attention

NAME = "translate"
SUMMARY = "Chinese → English translation with a seq2seq encoder-decoder (attention, beam search), BLEU/chrF"
LECTURE_SENTENCE = "我们明天去北京。"


@dataclass
class Config(Seq2SeqConfig):
    data: str | None = option(None, "the cmn-eng.txt file (English<TAB>Chinese<TAB>attribution) or a folder "
                                    "holding translation/cmn-eng.txt", none="translation/cmn-eng.txt from $RNNLAB_DATA")
    zh_min_count: int = option(1, "Chinese characters seen fewer times in training read as <unk>")
    en_min_count: int = option(2, "English tokens seen fewer times in training become <unk> targets")
    max_pairs: int | None = option(None, "use only this many pairs (a seeded subset, for short runs)", none="all")
    val_fraction: float = option(0.05, "validation share of the pairs (whole components)")
    test_fraction: float = option(0.1, "test share of the pairs (whole components)")
    examples: int = option(20, "test translations written to examples.txt")
    threads: int | None = option(None, "BLAS threads (0 leaves BLAS alone)", none="1, or $RNNLAB_BLAS_THREADS if set")


def run(config: Config, ctx: RunContext) -> dict:
    with threads.task_threads(config.threads):
        return _run(config, ctx)


def _run(config: Config, ctx: RunContext) -> dict:
    pairs, source = read_pairs(config.data)
    parts = split_pairs(pairs, config.val_fraction, config.test_fraction, config.seed, config.max_pairs)
    zh_vocab, en_vocab = make_vocabularies(parts["train"], config.zh_min_count, config.en_min_count)
    data = {p: encode_pairs(zh_vocab, en_vocab, v) for p, v in parts.items()}
    ctx.say(f"{source}: {len(pairs):,d} pairs; train/val/test {len(parts['train']):,d}/{len(parts['val']):,d}/"
            f"{len(parts['test']):,d} (whole components); vocabularies: {len(zh_vocab)} Chinese characters, "
            f"{len(en_vocab)} English tokens")
    model = build_model(config, zh_vocab, en_vocab)
    tr, va = data["train"], data["val"]
    history, best_epoch, train_seconds, train_cpu = train(model, config, ctx, tr, va)

    test = data["test"]
    timings, outputs = {}, {}
    for name, width in (("greedy", 1), ("beam", config.beam)):
        t0 = time.perf_counter()
        outputs[name] = [t.english for t in translate(model, test.zh, beam=width, length_penalty=config.length_penalty)]
        timings[f"{name}_seconds"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    outputs["retrieval"] = Retrieval(parts["train"]).translate(test.zh)
    timings["retrieval_seconds"] = time.perf_counter() - t0
    scores = {name: bleu_chrf(out, test.en) for name, out in outputs.items()}
    [lecture] = translate(model, [LECTURE_SENTENCE], beam=config.beam, return_attention=True)
    metrics = {
        "test_bleu_greedy": scores["greedy"]["bleu"], "test_chrf_greedy": scores["greedy"]["chrf"],
        f"test_bleu_beam{config.beam}": scores["beam"]["bleu"], f"test_chrf_beam{config.beam}": scores["beam"]["chrf"],
        "test_bleu": scores["beam"]["bleu"], "test_chrf": scores["beam"]["chrf"],
        "val_loss": float(min(history.history["val_loss"])), "best_epoch": best_epoch,
        "epochs_run": len(history.epochs), "train_seconds": train_seconds, "train_cpu_seconds": train_cpu,
        **timings, "updates": int(model.optimizer.iterations), "parameters": model.count_params(),
        "test_pairs": len(test.zh), "split_pairs": {p: len(v) for p, v in parts.items()},
        "vocabulary": {"zh": len(zh_vocab), "en": len(en_vocab)},
        "lecture_sentence": LECTURE_SENTENCE, "lecture_translation": lecture.english, "data": str(source)}
    baselines = {"retrieval": scores["retrieval"]}

    import sacrebleu
    pick = np.random.default_rng(config.seed).permutation(len(test.zh))[:config.examples]
    rows = [{"zh": test.zh[i], "reference": test.en[i], "beam": outputs["beam"][i], "greedy": outputs["greedy"][i],
             "retrieval": outputs["retrieval"][i],
             "chrf": sacrebleu.sentence_chrf(outputs["beam"][i], [test.en[i]]).score} for i in pick]
    folder = ctx.folder
    text = examples_text(rows, f"{LECTURE_SENTENCE} → {lecture.english}\n\n{len(rows)} random test pairs:")
    folder.write_text("examples.txt", text)
    folder.write_text("test_translations.tsv", "chinese\treference\tbeam\tgreedy\tretrieval\n" + "".join(
        f"{z}\t{r}\t{b}\t{g}\t{q}\n" for z, r, b, g, q in
        zip(test.zh, test.en, outputs["beam"], outputs["greedy"], outputs["retrieval"])))
    if lecture.attention is not None:
        try:
            plot_attention(LECTURE_SENTENCE, lecture.tokens, lecture.attention, folder.file("attention.png"),
                           title=f"{LECTURE_SENTENCE} → {lecture.english}")
        except Exception as exc:  # noqa: BLE001 - a missing font must not lose the run's results
            ctx.say(f"attention.png not drawn: {exc}")
    folder.write_history(history, title=f"translate ({describe(config)})")
    model.save(folder.file("model"))
    doc = folder.write_metrics(metrics, baselines, {"units": "sacrebleu corpus BLEU and chrF (0-100), "
                                                             "detokenised, case-sensitive, one reference"})
    ctx.say(text)
    ctx.result(f"translate ({describe(config)}): test BLEU {scores['beam']['bleu']:.2f} (beam {config.beam}), "
               f"{scores['greedy']['bleu']:.2f} (greedy), retrieval {scores['retrieval']['bleu']:.2f}; chrF "
               f"{scores['beam']['chrf']:.1f}; trained {train_seconds / 60:.1f} min; {LECTURE_SENTENCE} → "
               f"{lecture.english}  -> {folder.path}")
    return doc
