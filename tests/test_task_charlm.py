"""The character language model end to end (short run on one scene), and ``rnnlab sample``."""
import json

import numpy as np
import pytest

import rnnlab
from rnnlab.cli import main
from rnnlab.data.text import contiguous_split
from rnnlab.tasks.charlm.data import baselines, make_data, read_text, split_text

from _datadir import use_real_data


@pytest.fixture
def tiny(monkeypatch, tmp_path):
    root = use_real_data(monkeypatch, tmp_path, "text/tiny.txt", "text/shakespeare.txt")
    return root / "text" / "tiny.txt"


def test_split_streams_and_baselines_score_the_same_characters(tiny):
    text, source = read_text(str(tiny))
    data = make_data(text, source, batch_size=4, steps=20, val_fraction=0.1, test_fraction=0.1)
    x, y = data.streams["test"]
    pos = data.target_positions["test"]
    assert np.array_equal(y, data.ids["test"][pos]) and np.array_equal(x, data.ids["test"][pos - 1])
    assert set(data.vocab.tokens) - {"<unk>"} == set(split_text(text, 0.1, 0.1)["train"])
    base = baselines(data, 4)
    assert base["unigram"]["test_nats"] > base["kneser_ney_2gram"]["test_nats"] > 0
    assert base["best_ngram_by_validation"]["name"].startswith("kneser_ney_")
    assert base["unigram"]["test_bits"] == pytest.approx(base["unigram"]["test_nats"] / np.log(2))


def test_splits_hold_out_contiguous_pieces():
    text = "".join(chr(65 + i % 26) for i in range(2000))
    parts = split_text(text, 0.05, 0.1, "blocks", blocks=4)
    assert {k: len(v) for k, v in parts.items()} == {"train": 1700, "val": 100, "test": 200}
    for b in range(4):                                    # block b: [500b, 500b + 500)
        assert text[500 * b + 450: 500 * b + 500] in parts["test"]
        assert text[500 * b + 425: 500 * b + 450] in parts["val"]
    assert sorted(parts["train"] + parts["val"] + parts["test"]) == sorted(text)
    assert tuple(split_text(text, 0.05, 0.1, "end").values()) == contiguous_split(text, 0.05, 0.1)
    with pytest.raises(rnnlab.InputError, match="split"):
        split_text(text, 0.05, 0.1, "random")


def test_short_run_and_sample(tiny, tmp_path, capsys):
    out = tmp_path / "charlm"
    args = ["run", "charlm", "--text", str(tiny), "--quiet", "--epochs", "2", "--hidden", "32", "--layers", "1",
            "--batch-size", "8", "--steps", "25", "--eval-streams", "2", "--lr", "0.01", "--ngram", "3", "--out", str(out)]
    assert main(args) == 0
    assert {"metrics.json", "history.csv", "loss.png", "samples.txt", "model", "config.json"} <= \
        {p.name for p in out.iterdir()}
    assert not (out / "INCOMPLETE").exists()
    doc = json.loads((out / "metrics.json").read_text())
    m, b = doc["metrics"], doc["baselines"]
    assert m["test_nats_per_char"] < b["unigram"]["test_nats"]            # learnt something in 2 epochs
    assert m["test_bits_per_char"] == pytest.approx(m["test_nats_per_char"] / np.log(2))
    assert doc["units"] == "nats per character"
    samples = (out / "samples.txt").read_text()
    assert samples.count("--- sample") == 3 and samples.count("---\nROMEO:") == 3
    # the saved model reproduces the reported test loss on the regenerated streams
    model = rnnlab.load(out / "model")
    text, source = read_text(str(tiny))
    data = make_data(text, source, 8, 25, 0.05, 0.05, eval_streams=2)
    model.reset_states()
    assert model.evaluate(*data.streams["test"], batch_size=2)["loss"] == pytest.approx(m["test_nats_per_char"],
                                                                                         rel=1e-6)
    capsys.readouterr()
    cmd = ["sample", str(out), "--prime", "JULIET:", "--length", "60", "--temperature", "0.8", "--seed", "5"]
    assert main(cmd) == 0
    first = capsys.readouterr().out
    assert main(cmd) == 0 and capsys.readouterr().out == first           # same seed, same text
    assert first.startswith("JULIET:") and len(first.rstrip("\n")) >= len("JULIET:") + 40
    assert main(cmd[:-1] + ["6"]) == 0 and capsys.readouterr().out != first
    assert main(["sample", str(out / "model"), "--top-k", "0"]) == 2
    assert "top_k" in capsys.readouterr().err


def test_not_utf8_text_is_one_clear_error(tmp_path, capsys):
    bad = tmp_path / "latin1.txt"
    bad.write_bytes("caf\xe9 ".encode("latin1") * 400)
    assert main(["run", "charlm", "--text", str(bad), "--quiet", "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert "not UTF-8" in err and "byte 3" in err and len(err.strip().splitlines()) == 1
