"""The acrostic-poem task: reading verse.jsonl (bad lines named by file and line), the baselines'
targets and contexts, shape constraints that hold even against a model that wants to break them,
and a short real run through ``rnnlab run poem`` + ``rnnlab poem`` (fails, never skips, under $CI
without the data)."""
from __future__ import annotations

import json
import re
import shlex

import numpy as np
import pytest

import rnnlab
from _datadir import use_real_data
from rnnlab.cli import main
from rnnlab.data.text import Vocabulary
from rnnlab.errors import InputError
from rnnlab.fonts import missing_glyphs
from rnnlab.generation import Sampling
from rnnlab.tasks import poem
from rnnlab.tasks.poem import acrostic, data, scoring
from rnnlab.text_model import language_model

VERSE = "poetry/verse.jsonl"
GOOD = {"title": "春晓", "author": "孟浩然", "chars": 5, "lines": ["春眠不觉晓", "处处闻啼鸟", "夜来风雨声", "花落知多少"]}
SHORT_RUN = ["--quiet", "--max-poems", "800", "--epochs", "2", "--hidden", "48", "--embedding", "16",
             "--min-count", "2", "--batch-size", "32", "--lr", "0.01"]


def line_of(doc) -> str:
    return json.dumps(doc, ensure_ascii=False)


# ----------------------------------------------------------------------------- reading the file
def test_format_and_read(tmp_path):
    f = tmp_path / "verse.jsonl"
    seven = {**GOOD, "chars": 7, "lines": ["朝辞白帝彩云间", "千里江陵一日还", "两岸猨声啼不尽", "轻舟已过万重山"]}
    f.write_text(line_of(GOOD) + "\n\n" + line_of(seven) + "\n", encoding="utf-8")
    poems, source = data.read_poems(str(f))
    assert source == f and len(poems) == 2
    assert poems[0].text == "春眠不觉晓，处处闻啼鸟。夜来风雨声，花落知多少。"
    assert poems[1].text == "朝辞白帝彩云间，千里江陵一日还。两岸猨声啼不尽，轻舟已过万重山。"


@pytest.mark.parametrize("bad, what", [
    ("{not json", "not valid JSON"),
    (line_of({**GOOD, "chars": 6}), '"chars" must be 5 or 7'),
    (line_of({k: v for k, v in GOOD.items() if k != "lines"}), "missing field"),
    (line_of({**GOOD, "lines": GOOD["lines"][:3]}), "4 or 8 strings"),
    (line_of({**GOOD, "lines": ["春眠不觉", *GOOD["lines"][1:]]}), "has 4 characters, expected 5"),
    (line_of({**GOOD, "lines": ["春眠不觉，", *GOOD["lines"][1:]]}), "Han characters only"),
    ("[1, 2]", "expected a JSON object"),
])
def test_bad_line_is_named_by_file_and_line(tmp_path, bad, what):
    f = tmp_path / "verse.jsonl"
    f.write_text(line_of(GOOD) + "\n" + line_of(GOOD) + "\n" + bad + "\n", encoding="utf-8")
    with pytest.raises(InputError, match=re.escape(f"{f}, line 3: ") + ".*" + re.escape(what)):
        data.read_poems(str(f))


def test_bad_file_through_the_command_line(tmp_path, capsys):
    f = tmp_path / "verse.jsonl"
    f.write_bytes(line_of(GOOD).encode() + b"\n\xff\xfe\n")
    assert main(["run", "poem", "--data", str(f), "--out", str(tmp_path / "run"), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and f"{f}, line 2: not UTF-8" in err


def test_split_is_by_poem_seeded_and_disjoint():
    a = data.split_poems(1000, 0.05, 0.05, seed=4)
    b = data.split_poems(1000, 0.05, 0.05, seed=4)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert [len(a[k]) for k in ("train", "val", "test")] == [900, 50, 50]
    assert np.array_equal(np.sort(np.concatenate(list(a.values()))), np.arange(1000))
    assert not np.array_equal(a["test"], data.split_poems(1000, 0.05, 0.05, seed=5)["test"])
    assert len(data.split_poems(36290, 0.05, 0.05, seed=0, max_poems=300)["train"]) == 270


# ----------------------------------------------------------------------------- scoring
def small_vocab() -> Vocabulary:
    return Vocabulary.from_text(["春眠不觉晓，处处闻啼鸟。", "夜来风雨声，花落知多少。"])


def test_stream_targets_are_the_model_targets():
    vocab = small_vocab()
    texts = ["春眠，处处。", "花落，知多。"]
    ids, targets = scoring.poem_stream(vocab, texts)
    x, y, mask = data.encode_poems(vocab, texts)
    assert np.array_equal(ids[targets], y[mask])                   # the same targets, in the same order
    assert targets.sum() == mask.sum() == 2 * (len("春眠，处处。") + 1)


def test_baselines_score_each_poem_in_its_own_context():
    vocab = small_vocab()
    train = ["春眠不觉晓，处处闻啼鸟。", "夜来风雨声，花落知多少。"] * 3
    kn = lambda texts: scoring.ngram_baselines(vocab, {"train": train, "val": texts, "test": texts}, 4)
    alone, after_other = kn(["花落知多少。"]), kn(["春眠不觉晓。", "花落知多少。"])
    first = kn(["春眠不觉晓。"])
    # the second poem's targets cost the same whatever came before it: mean over both = mean of the parts
    for name in ("unigram_add_one", "kneser_ney_2gram", "kneser_ney_3gram", "kneser_ney_4gram"):
        assert after_other[name]["test_nats"] == pytest.approx((alone[name]["test_nats"] + first[name]["test_nats"]) / 2)
    assert after_other["targets_scored"]["test"] == 14
    assert alone["kneser_ney_3gram"]["test_nats"] < alone["unigram_add_one"]["test_nats"]


def test_chunked_scoring_equals_the_engine():
    vocab = small_vocab()
    model = language_model(vocab, "gru", 12, embedding_dim=8, seed=1)
    model.compile(loss="categorical_crossentropy", optimizer="adam")
    x, y, mask = data.encode_poems(vocab, ["春眠不觉晓，", "花落知多少。处处闻啼鸟。", "夜来。"])
    chunked = scoring.target_log_probs(model, x, y, mask, batch_size=2)
    assert chunked.shape == (int(mask.sum()),)
    assert -chunked.mean() == pytest.approx(model.evaluate(x, y, mask=mask)["loss"], rel=1e-5)


# ----------------------------------------------------------------------------- the shape
def contrary_model():
    """An untrained model whose output bias makes <eos>, <unk>, punctuation and 'x' overwhelmingly likely."""
    vocab = Vocabulary.from_text(["春夏秋冬山水风月花鸟x，。"])
    model = language_model(vocab, "lstm", 8, embedding_dim=4, seed=0)
    bias = model.layers[-1].params["bias"]
    bias[[vocab.eos_id, vocab.unk_id, vocab.id("，"), vocab.id("。"), vocab.id("x")]] = 40.0
    return model


@pytest.mark.parametrize("heads, chars", [("春夏秋冬", 5), ("山水风月花鸟春秋", 7), ("春夏秋", 5)])
def test_constraints_impose_the_shape_on_a_contrary_model(heads, chars):
    model = contrary_model()
    for sampling in (Sampling(greedy=True), Sampling(temperature=2.0)):
        text = acrostic.write_acrostic(model, heads, chars, sampling=sampling, seed=3)
        lines = acrostic.split_lines(text)
        assert [line[0] for line in lines] == list(heads)
        assert [len(line) for line in lines] == [chars + 1] * len(heads)
        ends = "".join(line[-1] for line in lines)
        assert ends == ("，。" * 8)[:len(heads) - 1] + "。"
        assert "x" not in text and "<" not in text
        assert acrostic.check_acrostic(text, heads, chars)


def test_check_acrostic_finds_each_fault():
    good = "春眠不觉晓，夏来风雨声。"
    assert acrostic.check_acrostic(good, "春夏", 5)
    assert acrostic.acrostic_problems(good, "春秋", 5) == ["line 2 starts with '夏', expected the head '秋'"]
    assert not acrostic.check_acrostic("春眠不觉晓。夏来风雨声。", "春夏", 5)
    assert not acrostic.check_acrostic("春眠不觉，夏来风雨声。", "春夏", 5)
    assert not acrostic.check_acrostic("春眠<unk>晓，夏来风雨声。", "春夏", 5)


def test_heads_outside_the_vocabulary_are_named():
    vocab = small_vocab()
    with pytest.raises(InputError, match="'龘'.*not in the model's vocabulary"):
        acrostic.head_ids(vocab, "春龘")
    with pytest.raises(InputError, match="Han characters only, got 'a'"):
        acrostic.head_ids(vocab, "春a")


def test_config_errors_name_the_option():
    for options, flag in [({"max_poems": 10}, "--max-poems"), ({"lr": -1.0}, "--lr"), ({"hidden": 0}, "--hidden"),
                          ({"ngram": 9}, "--ngram"), ({"lr_decay": 0.0}, "--lr-decay"),
                          ({"test_fraction": 0.0}, "--test-fraction"), ({"top_k": 0}, "--top-k")]:
        with pytest.raises(InputError, match=flag):
            poem.check(poem.Config(**options))


# ----------------------------------------------------------------------------- a real short run
@pytest.fixture(scope="module")
def run_folder(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("poem")
    with pytest.MonkeyPatch.context() as mp:
        use_real_data(mp, tmp, VERSE)
        out = tmp / "run"
        assert main(["run", "poem", *SHORT_RUN, "--out", str(out)]) == 0
        yield out


def read_samples(folder):
    """samples.txt as (heads, chars, command, lines) per sample."""
    blocks = (folder / "samples.txt").read_text(encoding="utf-8").strip().split("\n\n")
    out = []
    for block in blocks:
        header, command, *lines = block.split("\n")
        m = re.fullmatch(r"--- sample \d+: heads (\S+), ([57]) characters per line ---", header)
        assert m and command.startswith("# rnnlab poem "), block
        out.append((m[1], int(m[2]), command[2:], lines))
    return out


def test_run_writes_its_folder(run_folder):
    names = {p.name for p in run_folder.iterdir()}
    assert {"metrics.json", "history.csv", "loss.png", "samples.txt", "samples.png", "model", "config.json"} <= names
    assert "INCOMPLETE" not in names
    doc = json.loads((run_folder / "metrics.json").read_text(encoding="utf-8"))
    m, base = doc["metrics"], doc["baselines"]
    assert m["poems"] == {"train": 720, "val": 40, "test": 40, "file": 36290}
    assert m["test_perplexity"] == pytest.approx(np.exp(m["test_nats_per_char"]))
    assert {"unigram_add_one", "kneser_ney_2gram", "kneser_ney_3gram"} <= set(base)
    assert m["test_targets_scored"] == base["targets_scored"]["test"] > 40 * 25
    assert m["shape_check"]["poems"] == 200 and m["shape_check"]["ok"] == 200 and m["shape_check"]["share_ok"] == 1.0
    assert m["samples"]["missing_glyphs"] == []
    history = (run_folder / "history.csv").read_text().splitlines()
    assert history[0].split(",")[:2] == ["epoch", "loss"] and "val_loss" in history[0] and len(history) == 3
    assert (run_folder / "samples.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_reported_perplexity_comes_back_from_the_saved_model(run_folder, monkeypatch, tmp_path):
    use_real_data(monkeypatch, tmp_path, VERSE)
    doc = json.loads((run_folder / "metrics.json").read_text(encoding="utf-8"))
    model = rnnlab.load(run_folder / "model")
    cfg = poem.Config(**doc["hyperparameters"])
    poems, source = data.read_poems(None)
    d = data.make_data(poems, source, min_count=cfg.min_count, val_fraction=cfg.val_fraction,
                       test_fraction=cfg.test_fraction, seed=cfg.seed, max_poems=cfg.max_poems)
    assert model.vocab == d.vocab
    assert scoring.mean_nats(model, *d.arrays["test"]) == pytest.approx(doc["metrics"]["test_nats_per_char"], rel=1e-9)


def test_samples_have_the_requested_shape_and_render(run_folder):
    samples = read_samples(run_folder)
    assert len(samples) == 20 and {c for _, c, _, _ in samples} == {5, 7}
    for heads, chars, _, lines in samples:
        assert len(lines) == len(heads) == 4
        for i, (line, head) in enumerate(zip(lines, heads)):
            assert len(line) == chars + 1 and line[0] == head and line[-1] == "，。"[i % 2]
            assert all(data.is_han(c) for c in line[:-1])
    assert missing_glyphs("".join(line for *_, lines in samples for line in lines)) == []


def test_saved_model_writes_the_same_poem_again(run_folder, capsys):
    heads, chars, command, lines = read_samples(run_folder)[0]
    argv = shlex.split(command)[1:]
    assert main(argv) == 0
    assert capsys.readouterr().out.strip().split("\n") == lines     # the in-memory model's poem, from disk
    again = [*argv[:argv.index("--seed")], "--seed", str(int(argv[argv.index("--seed") + 1]) + 1)]
    assert main(again) == 0
    assert capsys.readouterr().out.strip().split("\n") != lines
    assert main(["poem", str(run_folder), "--heads", heads, "--chars", str(chars), "--samples", "2", "--seed", "7"]) == 0
    two = capsys.readouterr().out.strip().split("\n\n")
    assert main(["poem", str(run_folder / "model"), "--heads", heads, "--chars", str(chars), "--seed", "8"]) == 0
    assert len(two) == 2 and capsys.readouterr().out.strip() == two[1]   # poem k uses seed S + k - 1


def test_unknown_head_is_one_line_and_status_2(run_folder, capsys):
    assert "龘" not in rnnlab.load(run_folder / "model").vocab
    assert main(["poem", str(run_folder), "--heads", "春龘秋冬"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1 and "'龘'" in captured.err
