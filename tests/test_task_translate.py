"""The translation task: reversible English tokenisation, a split without leakage, the retrieval
baseline and the scores; a short run end to end through the command line, then `rnnlab translate`
with beam search and an attention map whose Chinese characters are all drawn."""
import json

import numpy as np
import pytest

import rnnlab
from rnnlab.cli import main
from rnnlab.errors import InputError
from rnnlab.fonts import missing_glyphs
from rnnlab.tasks.translate.baselines import Retrieval, bleu_chrf
from rnnlab.tasks.translate.data import (JOINER, components, detokenize_en, encode_pairs, make_vocabularies,
                                         read_pairs, split_pairs, tokenize_en)

from _datadir import use_real_data

DATA = "translation/cmn-eng.txt"


@pytest.mark.parametrize("text, tokens", [
    ("Tom's here, isn't he?", ["Tom's", "here", JOINER + ",", "isn't", "he", JOINER + "?"]),
    ('He said "no".', ["He", "said", '"', JOINER + "no", JOINER + '"', JOINER + "."]),
    ("It costs $3.50.", ["It", "costs", "$", JOINER + "3", JOINER + ".", JOINER + "50", JOINER + "."]),
])
def test_tokenisation_is_reversible(text, tokens):
    assert tokenize_en(text) == tokens
    assert detokenize_en(tokens) == text


def test_whole_file_tokenises_reversibly_and_splits_without_leakage(monkeypatch, tmp_path):
    use_real_data(monkeypatch, tmp_path, DATA)
    pairs, _ = read_pairs()
    assert len(pairs) == 29155
    assert all(detokenize_en(tokenize_en(e)) == e for _, e in pairs)
    parts = split_pairs(pairs, 0.05, 0.1, seed=0)
    assert sum(map(len, parts.values())) == len(pairs)
    assert 0.09 < len(parts["test"]) / len(pairs) < 0.11
    for side in (0, 1):                         # no Chinese and no English sentence on two sides
        seen = {p[side] for p in parts["train"]}
        assert not seen & {p[side] for p in parts["test"] + parts["val"]}
    again = split_pairs(pairs, 0.05, 0.1, seed=0)
    assert again["test"] == parts["test"] and split_pairs(pairs, 0.05, 0.1, seed=1)["test"] != parts["test"]


def test_components_join_shared_sentences():
    pairs = [("你好", "Hi."), ("您好", "Hi."), ("您好", "Hello."), ("走", "Go.")]
    assert components(pairs) == [[0, 1, 2], [3]]


def test_encoding_and_vocabularies():
    train = [("我去。", "I go."), ("你去。", "You go.")]
    zh, en = make_vocabularies(train, 1, 1)
    d = encode_pairs(zh, en, train + [("他来。", "He comes.")])
    assert d.src.shape == (3, 3) and d.src_mask.all()
    assert (d.tgt[:, -1] == en.eos_id).all() and d.tgt_mask.all()
    assert (d.src[2, :2] == zh.unk_id).all()            # 他, 来 never seen: <unk>


def test_retrieval_and_scores():
    train = [("我们明天去北京。", "We're going to Beijing tomorrow."), ("我很累。", "I'm very tired."),
             ("他是老师。", "He's a teacher.")]
    r = Retrieval(train)
    assert r.translate(["我们明天去北京", "我累了。", "她是老师"]) == [
        "We're going to Beijing tomorrow.", "I'm very tired.", "He's a teacher."]
    perfect = bleu_chrf(["I'm very tired."], ["I'm very tired."])
    assert perfect["bleu"] == pytest.approx(100) and perfect["chrf"] == pytest.approx(100)
    with pytest.raises(InputError, match="2 hypotheses, 1 references"):
        bleu_chrf(["a", "b"], ["a"])


def test_short_run_and_translate_command(monkeypatch, tmp_path, capsys):
    use_real_data(monkeypatch, tmp_path, DATA)
    out = tmp_path / "tr"
    assert main(["run", "translate", "--quiet", "--max-pairs", "1500", "--epochs", "2", "--hidden", "16",
                 "--embedding", "16", "--beam", "3", "--examples", "5", "--out", str(out)]) == 0
    doc = json.loads((out / "metrics.json").read_text())
    m = doc["metrics"]
    for key in ("test_bleu_greedy", "test_bleu_beam3", "test_chrf", "train_seconds", "train_cpu_seconds"):
        assert key in m and np.isfinite(m[key])
    assert m["split_pairs"]["test"] == m["test_pairs"] and 0 <= doc["baselines"]["retrieval"]["bleu"] <= 100
    assert {"metrics.json", "history.csv", "examples.txt", "test_translations.tsv", "model", "attention.png"} <= \
        {p.name for p in out.iterdir()}
    model = rnnlab.load(out / "model")
    assert model.src_vocab is not None and model.tgt_vocab is not None and model.attention_kind == "additive"
    capsys.readouterr()

    png = tmp_path / "att.png"
    assert main(["translate", str(out), "我们明天去北京。", "你好吗？", "--beam", "3", "--plot", str(png)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    assert png.stat().st_size > 1000 and missing_glyphs("我们明天去北京。") == []
    assert main(["translate", str(out), "我们明天去北京。", "--beam", "1"]) == 0

    capsys.readouterr()
    assert main(["translate", str(out), "你好", "--beam", "0"]) == 2
    assert "--beam: expected a positive width" in capsys.readouterr().err
    assert main(["translate", str(tmp_path / "nothing"), "你好"]) == 2
    assert "no such run or model folder" in capsys.readouterr().err
    no_attention = tmp_path / "plain"
    assert main(["run", "translate", "--quiet", "--max-pairs", "300", "--epochs", "1", "--hidden", "4",
                 "--embedding", "4", "--attention", "none", "--examples", "2", "--out", str(no_attention)]) == 0
    capsys.readouterr()
    assert main(["translate", str(no_attention), "你好", "--plot", str(tmp_path / "x.png")]) == 2
    assert "has no attention" in capsys.readouterr().err
