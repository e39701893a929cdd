"""The couplet task (对联): the file format, the split by first line, the metrics and baselines on
hand-made pairs with known answers, a short end-to-end run, the saved model, and ``rnnlab couplet``."""
import json
import math

import numpy as np
import pytest

import rnnlab
from rnnlab.cli import main
from rnnlab.errors import InputError
from rnnlab.tasks.couplet import LECTURE_LINE
from rnnlab.tasks.couplet.baselines import (AlignedTable, char_accuracy, copy_line, reduplication_positions,
                                            reduplication_share, spurious_reduplication_share)
from rnnlab.tasks.couplet.data import (encode_pairs, make_vocabulary, parse_pairs, read_pairs,
                                       split_by_first_line)
from rnnlab.tasks.couplet.predict import check_first_line, second_lines

from _datadir import use_real_data

COUPLETS = "poetry/couplets.tsv"
SHORT = ["--max-pairs", "3000", "--epochs", "3", "--hidden", "64", "--embedding", "64", "--dropout", "0", "--embedding-dropout", "0",
         "--lr", "0.006", "--seed", "3"]


# ------------------------------------------------------------------------------- the file
@pytest.mark.parametrize("line, message", [
    ("风吹水面层层浪雨打沙滩点点坑", "expected 'first line<TAB>second line'"),
    ("风吹水面层层浪\t雨打\t沙滩点点坑", "2 tabs"),
    ("风吹水面层浪\t雨打沙滩点坑", "5 or 7 Han characters, got 6"),
    ("风吹水面层层浪\t雨打沙滩坑", "same length, got 7 and 5"),
    ("风吹水面,层浪\t雨打沙滩点点坑", "Han characters only in the first line, got ','"),
    ("风吹水面层层浪\t雨打沙滩点点k", "in the second line, got 'k'"),
    ("", "got 0 tabs"),
])
def test_malformed_line_names_file_and_line(tmp_path, line, message):
    path = tmp_path / "couplets.tsv"
    path.write_text(f"无边落木萧萧下\t不尽长江衮衮来\n春眠不觉晓\t处处闻啼鸟\n{line}\n", encoding="utf-8")
    with pytest.raises(InputError, match=rf"couplets\.tsv:3: .*{message}"):
        read_pairs(str(path))


def test_not_utf8_names_the_line(tmp_path):
    path = tmp_path / "couplets.tsv"
    path.write_bytes("春眠不觉晓\t处处闻啼鸟\n".encode() + "夜来风雨声\t花落知多少\n".encode("gb18030"))
    with pytest.raises(InputError, match=r"couplets\.tsv:2: not UTF-8"):
        read_pairs(str(path))


def test_parse_keeps_pairs_in_order():
    assert parse_pairs("春眠不觉晓\t处处闻啼鸟\r\n夜来风雨声\t花落知多少\n", "x") == \
        [("春眠不觉晓", "处处闻啼鸟"), ("夜来风雨声", "花落知多少")]


# ------------------------------------------------------------------------------- the split
def test_split_groups_pairs_by_first_line():
    pairs = [(f"{a}山水花月", f"{b}天地鸟风") for a in "一二三四五六七八九十" for b in "甲乙丙"]
    pairs += [(f"{a}石云雨雪", "风花雪月夜") for a in "春夏秋冬东西南北"]
    parts = split_by_first_line(pairs, 0.2, 0.2, seed=1)
    firsts = {k: {a for a, _ in v} for k, v in parts.items()}
    assert not firsts["train"] & firsts["test"] and not firsts["train"] & firsts["val"] \
        and not firsts["val"] & firsts["test"]
    assert sorted(p for v in parts.values() for p in v) == sorted(pairs)       # nothing lost, nothing twice
    assert len(firsts["test"]) == len(firsts["val"]) == round(18 * 0.2)        # fractions of the first lines
    for part in parts.values():                                                # a group stays whole
        assert all(sum(a == first for a, _ in part) in (1, 3) for first in {a for a, _ in part})
    assert split_by_first_line(pairs, 0.2, 0.2, seed=1) == parts               # seeded
    assert split_by_first_line(pairs, 0.2, 0.2, seed=2) != parts
    few = split_by_first_line(pairs, 0.2, 0.2, seed=1, max_pairs=20)
    assert 20 <= sum(map(len, few.values())) <= 22                             # whole groups until ≥ 20


def test_real_split_has_no_first_line_in_two_parts(monkeypatch, tmp_path):
    use_real_data(monkeypatch, tmp_path, COUPLETS)
    pairs, _ = read_pairs(None)
    assert len(pairs) == 43647 and {len(a) for a, _ in pairs} == {5, 7}
    parts = split_by_first_line(pairs, 0.05, 0.1, seed=0)
    firsts = {k: {a for a, _ in v} for k, v in parts.items()}
    assert not firsts["train"] & firsts["test"] and not firsts["train"] & firsts["val"]
    assert sum(map(len, parts.values())) == 43647
    assert 0.09 < len(parts["test"]) / 43647 < 0.11
    vocab = make_vocabulary(parts["train"], min_count=2)
    enc = encode_pairs(vocab, parts["test"][:3])
    assert enc.x.shape == (3, 7) and (enc.mask.sum(axis=1) == [len(a) for a, _ in parts["test"][:3]]).all()
    assert (enc.y[~enc.mask] == vocab.pad_id).all()


# ---------------------------------------------------------------------- metrics, baselines
TRAIN = [("山水", "天地"), ("山花", "天鸟"), ("山月", "水风"), ("花月", "鸟风"), ("云石", "风地"), ("石云", "地水")]


def test_aligned_table_and_copy_on_known_pairs():
    table = AlignedTable(TRAIN)
    assert table.table == {"山": "天", "水": "地", "花": "鸟", "月": "风", "石": "地",
                           "云": "风"}                 # 云: 风 and 水 once each; 风 is more frequent overall
    assert table.fallback == "地"                       # 地 and 风 three times each; 地 has the lower code point
    firsts, truths = ["山月", "雪云", "石花"], ["天风", "地水", "地鸟"]
    assert table.predict(firsts) == ["天风", "地风", "地鸟"]    # 雪 never seen: the fallback
    assert char_accuracy(table.predict(firsts), truths) == pytest.approx(5 / 6)
    assert copy_line(firsts) == firsts and char_accuracy(copy_line(firsts), truths) == 0.0
    # the smoothed distribution: p(b|a) = (n(a,b) + β u(b)) / (n(a) + β), u = add-one unigram of the
    # second-line tokens over <unk> and the 10 characters (<pad> gets none): 11 + 12 counts = 23
    vocab = make_vocabulary(TRAIN, min_count=1)
    assert len(vocab) == 12
    expected = -(math.log((2 + 3 / 23) / (3 + 1)) + math.log((2 + 4 / 23) / (2 + 1))) / 2
    assert table.nats_per_char([("山月", "天风")], vocab, beta=1.0) == pytest.approx(expected)
    assert table.nats_per_char([("雪雪", "天天")], vocab, beta=5.0) == pytest.approx(-math.log(3 / 23))


def test_reduplication_share_on_known_lines():
    assert reduplication_positions("风吹水面层层浪") == [4]
    assert reduplication_positions("年年岁岁花") == [0, 2] and reduplication_positions("啊啊啊") == [0, 1]
    firsts = ["风吹水面层层浪", "春眠不觉晓", "年年岁岁花", "处处闻啼鸟", "年年岁岁花", "啊啊啊"]
    outputs = ["雨打沙滩点点坑", "夜夜风雨声", "日日月月草", "人们说好话", "日日月星草", "哈哈哈"]
    # hits: 层层→点点, 年年岁岁→日日月月, 啊啊啊→哈哈哈; misses: 人们 (not AA), 月星 (only one of two);
    # 春眠不觉晓 has no reduplication and does not count, whatever its output holds
    assert reduplication_share(firsts, outputs) == (pytest.approx(3 / 5), 5)
    assert reduplication_share(["春眠不觉晓"], ["夜夜风雨声"]) == (None, 0)
    assert reduplication_share(["年年岁岁花"], ["日月月日草"]) == (0.0, 1)    # AA elsewhere does not count
    # the other side: of the first lines without AA, the share whose output has one anyway
    assert spurious_reduplication_share(firsts, outputs) == 1.0                 # 夜夜 for 春眠不觉晓
    assert spurious_reduplication_share(["春眠不觉晓", "夜来风雨声", "层层"], ["处处闻啼鸟", "花落知多少", "点点"]) == 0.5
    assert spurious_reduplication_share(["层层"], ["点点"]) is None


@pytest.mark.parametrize("text", ["", "   ", "hello", "风吹水面，层层浪", "风吹水面层层浪7"])
def test_first_line_must_be_han(text):
    with pytest.raises(InputError, match="first line: expected Han characters"):
        check_first_line(text)


# ------------------------------------------------------------------------ end to end
@pytest.fixture(scope="module")
def short_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("couplet")
    with pytest.MonkeyPatch.context() as mp:
        use_real_data(mp, tmp, COUPLETS)
        out = tmp / "run"
        assert main(["run", "couplet", "--quiet", *SHORT, "--out", str(out)]) == 0
        pairs, _ = read_pairs(None)
    parts = split_by_first_line(pairs, 0.05, 0.1, seed=3, max_pairs=3000)
    return out, json.loads((out / "metrics.json").read_text(encoding="utf-8")), parts


def test_short_run_folder_and_figures(short_run):
    out, doc, parts = short_run
    assert {"metrics.json", "history.csv", "loss.png", "examples.txt", "model", "config.json"} <= \
        {p.name for p in out.iterdir()}
    assert not (out / "INCOMPLETE").exists()
    m, base = doc["metrics"], doc["baselines"]
    test = parts["test"]
    assert m["test_pairs"] == len(test) and m["split_pairs"] == {k: len(v) for k, v in parts.items()}
    assert sum(m["split_pairs"].values()) >= 3000
    assert m["char_accuracy"] > base["copy_first_line"]["char_accuracy"] + 0.02        # even after 3 short epochs
    assert m["perplexity"] == pytest.approx(math.exp(m["nats_per_char"]))
    assert m["perplexity"] < len(rnnlab.load(out / "model").vocab) / 2               # uniform would be |V|
    # the baselines are what the baseline code gives on the regenerated split
    firsts, truths = [a for a, _ in test], [b for _, b in test]
    table = AlignedTable(parts["train"])
    assert base["aligned_table"]["char_accuracy"] == pytest.approx(char_accuracy(table.predict(firsts), truths))
    assert base["copy_first_line"]["perplexity"] is None and base["copy_first_line"]["reduplication_share"] == 1.0
    count = sum(bool(reduplication_positions(a)) for a in firsts)
    assert m["reduplication_lines"] == base["aligned_table"]["reduplication_lines"] == count > 0
    assert len(m["lecture_second_line"]) == 7
    header = (out / "history.csv").read_text().splitlines()[0].split(",")
    assert header[:2] == ["epoch", "loss"] and "val_loss" in header
    examples = (out / "examples.txt").read_text(encoding="utf-8")
    assert LECTURE_LINE in examples and m["lecture_second_line"] in examples
    assert all(f"{a}" in examples for a in firsts[:10])


def test_saved_model_gives_the_reported_outputs(short_run):
    out, doc, parts = short_run
    model = rnnlab.load(out / "model")
    firsts, truths = [a for a, _ in parts["test"]], [b for _, b in parts["test"]]
    outputs = second_lines(model, firsts)
    assert [len(o) for o in outputs] == [len(a) for a in firsts]
    assert char_accuracy(outputs, truths) == doc["metrics"]["char_accuracy"]
    assert reduplication_share(firsts, outputs)[0] == doc["metrics"]["reduplication_share"]
    assert second_lines(model, [LECTURE_LINE]) == [doc["metrics"]["lecture_second_line"]]


def test_command_writes_lines_of_the_input_length(short_run, capsys):
    out, doc, _ = short_run
    capsys.readouterr()
    assert main(["couplet", str(out), LECTURE_LINE, "春眠不觉晓"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [len(s) for s in lines] == [7, 5] and lines[0] == doc["metrics"]["lecture_second_line"]
    assert all(check_first_line(s) == s for s in lines)                     # Han only: no <unk>, no <pad>
    sampled = ["couplet", str(out / "model"), LECTURE_LINE, "--temperature", "1.5", "--seed", "4"]
    assert main(sampled) == 0
    first = capsys.readouterr().out
    assert main(sampled) == 0 and capsys.readouterr().out == first           # same seed, same line
    assert len(first.strip()) == 7 and first.strip() != lines[0]
    assert main(sampled + ["--greedy"]) == 0 and capsys.readouterr().out.strip() == lines[0]
    assert main(["couplet", str(out), "龘龘龘龘龘"]) == 0                      # not in the vocabulary
    captured = capsys.readouterr()
    assert len(captured.out.strip()) == 5 and "龘 not in the model's vocabulary, read as <unk>" in captured.err


@pytest.mark.parametrize("text", ["", "hello", "风吹水面，层层浪"])
def test_command_bad_input_is_one_line_and_status_2(short_run, capsys, text):
    out, _, _ = short_run
    capsys.readouterr()
    assert main(["couplet", str(out), text]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and len(captured.err.splitlines()) == 1
    assert captured.err.startswith("rnnlab: error: first line: expected Han characters")


def test_missing_model_or_bad_sampling_is_status_2(tmp_path, capsys):
    assert main(["couplet", str(tmp_path / "nothing"), LECTURE_LINE]) == 2
    assert "no such run or model folder" in capsys.readouterr().err
    assert main(["couplet", str(tmp_path / "nothing"), LECTURE_LINE, "--temperature", "0"]) == 2
    assert "temperature: expected a positive number" in capsys.readouterr().err
