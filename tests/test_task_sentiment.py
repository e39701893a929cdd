"""Film-review sentiment end to end (a short run on a seeded subset), the data reader, the verdict
word by word, and ``rnnlab classify``."""
import json

import numpy as np
import pytest

import rnnlab
from rnnlab.cli import main
from rnnlab.data.text import PAD, UNK, Vocabulary
from rnnlab.errors import InputError, ModelFileError
from rnnlab.tasks.sentiment import Config, build_model
from rnnlab.tasks.sentiment.data import make_data, read_snippets
from rnnlab.tasks.sentiment.predict import check_classifier, prefix_probabilities, probabilities

from _datadir import use_real_data

REL = "sentiment/movieReviewSnippets_GroundTruth.txt"
QUICK = ["--samples", "3000", "--cell", "gru", "--no-bidirectional", "--pool", "mean", "--hidden", "16",
         "--embedding", "16", "--epochs", "3", "--lr", "0.01", "--quiet"]


@pytest.fixture
def snippets_file(monkeypatch, tmp_path):
    return use_real_data(monkeypatch, tmp_path, REL) / REL


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    """One short run shared by the tests below (real data; skipped, or failed under CI, without it)."""
    mp = pytest.MonkeyPatch()
    tmp = tmp_path_factory.mktemp("sentiment")
    use_real_data(mp, tmp, REL)
    out = tmp / "run"
    assert main(["run", "sentiment", *QUICK, "--out", str(out)]) == 0
    yield out
    mp.undo()


def test_reading_the_file_counts_and_drops_the_zeros(snippets_file):
    s = read_snippets(str(snippets_file))
    assert (len(s), s.dropped_zero) == (10605 - 37, 37)               # the README's counts
    assert int(s.labels.sum()) == 5242 and int((s.labels == 0).sum()) == 5326
    assert s.texts[0].startswith("The Rock is destined") and s.ratings[0] == pytest.approx(2.26666666667)
    assert not any(t.endswith("\r") for t in s.texts)


def test_split_and_vocabulary_from_the_training_part_only(snippets_file):
    data = make_data(read_snippets(str(snippets_file)), split_seed=0, min_count=2)
    p = data.parts
    assert [len(p[k]) for k in ("train", "val", "test")] == [8454, 1057, 1057]
    ids = [set(p[k].ids.tolist()) for k in ("train", "val", "test")]
    assert not (ids[0] & ids[1] or ids[0] & ids[2] or ids[1] & ids[2])
    assert data.vocab.tokens[:2] == [PAD, UNK] and all(t == t.lower() for t in data.vocab.tokens)
    from collections import Counter
    from rnnlab.data.text import tokenize
    counts = Counter(w for t in p["train"].texts for w in tokenize(t.lower(), "word"))
    assert set(data.vocab.tokens[2:]) == {w for w, c in counts.items() if c >= 2}
    assert data.counts["test"]["unknown_words"] == int(((p["test"].x == 1) & p["test"].mask).sum()) > 0
    again = make_data(read_snippets(str(snippets_file)), split_seed=0, min_count=2)
    assert np.array_equal(again.parts["test"].ids, p["test"].ids)   # seeded: the same split


@pytest.mark.parametrize("line, what", [
    ("7\t1.5", "expected 'id<TAB>mean rating<TAB>text'"),
    ("7\tgood\tfine film", "expected a mean rating"),
    ("7\t5.5\tfine film", "in [-4, 4]"),
    ("x\t1.0\tfine film", "integer snippet id"),
    ("7\t1.0\t  ", "has no text"),
    ("1\t1.0\trepeated id", "repeats the one on line 1"),
])
def test_a_bad_line_names_the_file_and_the_line(tmp_path, line, what):
    good = [f"{i}\t{(-1) ** i * 1.5}\tsnippet number {i}" for i in range(1, 13)]
    bad = tmp_path / "bad.txt"
    bad.write_bytes("\r\n".join(good[:2] + [line] + good[3:]).encode())
    with pytest.raises(InputError, match=rf"bad\.txt, line 3: .*{what.replace('[', '.').replace(']', '.')}"):
        read_snippets(str(bad))


def test_short_run_folder_and_metrics(quick_run):
    out = quick_run
    assert {"metrics.json", "history.csv", "loss.png", "model", "misclassified.txt", "verdict.png",
            "config.json"} <= {p.name for p in out.iterdir()}
    assert not (out / "INCOMPLETE").exists()
    doc = json.loads((out / "metrics.json").read_text())
    m, b = doc["metrics"], doc["baselines"]
    assert m["dropped_zero_ratings"] == doc["dropped_zero_ratings"] == 37
    assert m["snippets"]["test"]["snippets"] == 300 and m["snippets"]["train"]["snippets"] == 2400
    majority = b["majority_class"]["test_accuracy"]
    assert m["test_accuracy"] > majority + 0.05                        # learnt something in 3 epochs
    for bag in ("bag_of_words_logreg", "bag_of_bigrams_logreg"):
        assert b[bag]["test_accuracy"] > majority + 0.1 and b[bag]["C"] in (0.01, 0.03, 0.1, 0.3, 1, 3, 10, 30, 100)
        assert b[bag]["val_accuracy"] == max(b[bag]["val_accuracy_by_C"].values())
    assert b["bag_of_bigrams_logreg"]["features"] > b["bag_of_words_logreg"]["features"]
    assert doc["published"]["accuracy_percent"]["NBSVM (Wang & Manning 2012)"] == 79.4
    assert doc["published"]["accuracy_percent"]["CNN-non-static (word2vec, fine-tuned)"] == 81.5
    conf = m["test_confusion"]
    assert sum(conf.values()) == 300
    assert (conf["true_positive"] + conf["true_negative"]) / 300 == pytest.approx(m["test_accuracy"])
    assert m["cpu_seconds"] > 0 and len((out / "history.csv").read_text().splitlines()) == 1 + 3


def test_saved_model_loads_with_its_vocabulary_and_classifies_identically(quick_run, snippets_file):
    model = check_classifier(rnnlab.load(quick_run / "model"), "model")
    doc = json.loads((quick_run / "metrics.json").read_text())
    data = make_data(read_snippets(str(snippets_file)), split_seed=0, min_count=2, limit=3000)
    assert model.vocab == data.vocab
    test = data.parts["test"]
    assert model.evaluate(test.x, test.y, mask=test.mask)["accuracy"] == doc["metrics"]["test_accuracy"]
    probs = probabilities(model, test.texts)
    # misclassified.txt lists exactly the wrong ones, with the probabilities the loaded model gives
    rows = [l.split("\t") for l in (quick_run / "misclassified.txt").read_text().splitlines()
            if l.startswith("p=")]
    wrong = np.flatnonzero((probs >= 0.5) != (test.y > 0.5))
    assert len(rows) == len(wrong) == round((1 - doc["metrics"]["test_accuracy"]) * 300)
    by_id = {int(i): k for k, i in enumerate(test.ids)}
    for p, rating, sid, text in rows:
        k = by_id[int(sid[3:])]
        assert float(p[2:]) == pytest.approx(probs[k], abs=5e-4) and text == test.texts[k]
        assert float(rating[7:]) == pytest.approx(test.ratings[k], abs=5e-3)


def test_classify_command(quick_run, capsys):
    texts = ["a gorgeous, witty, seductive movie.", "Dull, lifeless and far too long."]
    capsys.readouterr()
    assert main(["classify", str(quick_run), *texts]) == 0
    lines = capsys.readouterr().out.splitlines()
    probs = probabilities(rnnlab.load(quick_run / "model"), texts)
    assert len(lines) == 2
    for line, text, p in zip(lines, texts, probs):
        label, shown, echoed = line.split("\t")
        assert echoed == text and float(shown) == pytest.approx(p, abs=5e-4)
        assert label == ("positive" if p >= 0.5 else "negative")
    assert main(["classify", str(quick_run / "model"), "--words", "a zxqv film"]) == 0
    assert capsys.readouterr().out.splitlines()[1] == "\twords: a zxqv? film"
    assert main(["classify", str(quick_run), "fine", ""]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "TEXT 2" in err and "at least one word" in err


def test_same_seed_same_numbers(quick_run, snippets_file, tmp_path):
    again = tmp_path / "again"
    assert main(["run", "sentiment", *QUICK, "--out", str(again)]) == 0
    first = json.loads((quick_run / "metrics.json").read_text())["metrics"]
    second = json.loads((again / "metrics.json").read_text())["metrics"]
    for key in ("test_accuracy", "test_loss", "val_loss", "test_confusion", "lecture_example"):
        assert second[key] == first[key], key
    def history(folder):                                   # every column but the epoch's wall time
        rows = [l.split(",") for l in (folder / "history.csv").read_text().splitlines()]
        keep = [i for i, name in enumerate(rows[0]) if name != "time"]
        return [[r[i] for i in keep] for r in rows]
    assert history(again) == history(quick_run) and len(history(again)) == 4
    assert (again / "misclassified.txt").read_text() == (quick_run / "misclassified.txt").read_text()


def tiny_vocab():
    return Vocabulary(["a", "good", "film", ",", "but", "dull", "."], level="word", specials=(PAD, UNK))


def test_verdict_word_by_word_is_the_head_at_every_step_of_a_unidirectional_last_model():
    vocab = tiny_vocab()
    config = Config(cell="lstm", bidirectional=False, pool="last", hidden=5, embedding=4, dropout=0.0, seed=3)
    model = build_model(config, len(vocab), vocab)
    words, probs = prefix_probabilities(model, "A good film, but dull plot.")
    assert words == ["a", "good", "film", ",", "but", "dull", "plot?", "."]      # "plot": not in the vocabulary
    # the same weights, every step's state through the same head
    emb, lstm, dense = model.layers
    every = rnnlab.LSTM(5, return_sequences=True)
    every.build(4, np.random.default_rng(0), np.float32)
    for k in lstm.params:
        every.params[k][...] = lstm.params[k]
    ids = vocab.encode("a good film, but dull plot.")
    z = dense.forward(every.forward(emb.forward(ids[None, :])))[0, :, 0]
    np.testing.assert_allclose(probs, 1 / (1 + np.exp(-z.astype(np.float64))), rtol=1e-5)
    assert probs[-1] == pytest.approx(probabilities(model, ["a good film, but dull plot."])[0], rel=1e-6)


@pytest.mark.parametrize("pool", ["last", "mean", "max"])
def test_verdict_of_the_whole_text_is_the_classifiers_verdict(pool):
    vocab = tiny_vocab()
    model = build_model(Config(pool=pool, hidden=4, embedding=3, seed=1), len(vocab), vocab)
    words, probs = prefix_probabilities(model, "good film, but dull.")
    assert len(words) == len(probs) == 6 and np.all((probs > 0) & (probs < 1))
    whole = probabilities(model, ["good", "good film", "good film, but dull."])
    assert probs[[0, 1, 5]] == pytest.approx(whole, rel=1e-6)
    with pytest.raises(InputError, match="at least one word"):
        prefix_probabilities(model, "   ")


def test_a_language_model_is_not_a_classifier():
    from rnnlab.text_model import language_model
    lm = language_model(tiny_vocab(), "gru", 4, seed=0)
    lm.compile(loss="categorical_crossentropy")
    with pytest.raises(ModelFileError, match="Dense\\(1\\)"):
        check_classifier(lm, "runs/charlm")
