"""The G2P task: reading the CMU dictionary (alternates, comments, skipped words), a split by word,
WER/PER against several references, the retrieval baseline; a short run end to end through the
command line, then `rnnlab g2p` on the trained model."""
import json

import numpy as np
import pytest

import rnnlab
from rnnlab.cli import main
from rnnlab.errors import InputError
from rnnlab.tasks.g2p.baselines import NearestSpelling
from rnnlab.tasks.g2p.data import (encode_pairs, make_vocabularies, pairs, parse_dictionary, read_dictionary,
                                   split_words)
from rnnlab.tasks.g2p.scores import closest_reference, edit_distance, error_rates

from _datadir import use_real_data

DATA = "g2p/cmudict.dict"

SAMPLE = """\
'bout B AW1 T
either IY1 DH ER0
either(2) AY1 DH ER0
aalborg AO1 L B AO0 R G # place, danish
a.m. EY2 EH1 M
a-ok EY1 OW1 K EY1
a-ok(2) EY1 OW1 K EY0
Zyuganov's Z UW1 G AA0 N AA0 V Z
read R EH1 D
read(2) R IY1 D
"""


def test_reading_alternates_comments_and_skipped_words(tmp_path):
    f = tmp_path / "cmudict.dict"
    f.write_text(SAMPLE)
    d = read_dictionary(str(f))
    assert d.lexicon == {
        "'bout": [("B", "AW1", "T")],
        "either": [("IY1", "DH", "ER0"), ("AY1", "DH", "ER0")],
        "aalborg": [("AO1", "L", "B", "AO0", "R", "G")],                  # the comment is gone
        "zyuganov's": [("Z", "UW1", "G", "AA0", "N", "AA0", "V", "Z")],   # lower-cased
        "read": [("R", "EH1", "D"), ("R", "IY1", "D")]}
    assert (d.skipped_words, d.skipped_lines, d.repeated_lines, d.pronunciations) == (2, 3, 0, 7)   # a.m., a-ok (2 lines)
    assert d.file == f
    plain = parse_dictionary("ok OW2 K EY1\nok(2) OW0 K EY1\n", stress=False)
    assert plain.lexicon == {"ok": [("OW", "K", "EY")]} and plain.repeated_lines == 1  # identical once stripped
    with pytest.raises(InputError, match="expected 'word PH1 PH2"):
        parse_dictionary("lonely\n")
    with pytest.raises(InputError, match="ARPAbet"):
        parse_dictionary("cat K AE1 T9\n")


def test_split_keeps_every_pronunciation_of_a_word_together():
    lexicon = {f"w{i:03d}": [(f"P{i}",), (f"Q{i}",)] if i % 3 == 0 else [(f"P{i}",)] for i in range(300)}
    parts = split_words(lexicon, 0.1, 0.1, seed=0)
    assert [len(parts[p]) for p in ("train", "val", "test")] == [240, 30, 30]
    assert set().union(*parts.values()) == set(lexicon)
    for part in parts.values():
        for w, prons in part.items():
            assert prons == lexicon[w]                                 # all pronunciations, in one part
    assert split_words(lexicon, 0.1, 0.1, seed=0) == parts
    assert split_words(lexicon, 0.1, 0.1, seed=1)["test"] != parts["test"]
    small = split_words(lexicon, 0.1, 0.1, seed=0, max_words=50)
    assert sum(map(len, small.values())) == 50 and len(pairs(small["train"])) >= 40
    with pytest.raises(InputError, match="val_fraction"):
        split_words(lexicon, 0.5, 0.6, seed=0)


def test_encoding():
    train = {"ab": [("EY1", "B")], "ba": [("B", "AA1"), ("B", "AH0")]}
    letters, phonemes = make_vocabularies(train)
    assert letters.tokens[letters.first_token_id:] == ["a", "b"]
    assert phonemes.tokens[phonemes.first_token_id:] == ["AA1", "AH0", "B", "EY1"]
    e = encode_pairs(letters, phonemes, {**train, "c": [("K", "IY1")]})
    assert e.src.shape == (4, 2) and e.tgt.shape == (4, 3)
    assert phonemes.tokens[e.tgt[1, 1]] == "AA1" and e.tgt[1, 2] == phonemes.eos_id and e.tgt_mask[1].all()
    assert e.src[3, 0] == letters.unk_id and not e.src_mask[3, 1]
    assert list(e.tgt[3, :2]) == [phonemes.unk_id, phonemes.unk_id]     # K, IY1 never seen in training


def test_error_rates_on_hand_examples():
    assert edit_distance("kitten", "sitting") == 3 and edit_distance([], ["A", "B"]) == 2
    either = [("IY1", "DH", "ER0"), ("AY1", "DH", "ER0")]
    assert closest_reference(("AY1", "DH", "ER0"), either) == (0, 3)
    predictions = [("AY1", "DH", "ER0"),            # equals the alternate reference: correct
                   ("K", "AE1", "T", "S"),          # one insertion against K AE1 T
                   ("D", "AO1", "G")]               # exact
    references = [either, [("K", "AE1", "T")], [("D", "AO1", "G"), ("D", "AA1", "G")]]
    r = error_rates(predictions, references)
    assert r["wer"] == pytest.approx(1 / 3) and r["per"] == pytest.approx(1 / 9)
    assert error_rates([("B",)], [[("A", "B", "C"), ("B", "C")]]) == {"wer": 1.0, "per": 0.5}  # closest: B C
    with pytest.raises(InputError, match="2 predictions, 1 words"):
        error_rates([("A",), ("B",)], [[("A",)]])


def test_retrieval_baseline():
    train = {"nation": [("N", "EY1", "SH", "AH0", "N")], "cat": [("K", "AE1", "T")],
             "either": [("IY1", "DH", "ER0"), ("AY1", "DH", "ER0")]}
    r = NearestSpelling(train)
    assert r.pronounce(["nations", "cats", "neither"]) == [
        ("N", "EY1", "SH", "AH0", "N"), ("K", "AE1", "T"), ("IY1", "DH", "ER0")]   # first pronunciation


def test_whole_dictionary(monkeypatch, tmp_path):
    use_real_data(monkeypatch, tmp_path, DATA)
    d = read_dictionary()
    assert (d.skipped_words, d.skipped_lines, d.repeated_lines) == (1126, 1193, 2)  # mormonism, tribalism twice
    assert d.pronunciations + d.skipped_lines + d.repeated_lines == 135166
    assert "either" in d.lexicon and len(d.lexicon["either"]) == 2
    assert all(set(w) <= set("abcdefghijklmnopqrstuvwxyz'") for w in d.lexicon)
    phonemes = {p for prons in d.lexicon.values() for pron in prons for p in pron}
    assert len(phonemes) == 69                       # the README: 69 distinct symbols with stress


def test_short_run_and_g2p_command(monkeypatch, tmp_path, capsys):
    use_real_data(monkeypatch, tmp_path, DATA)
    out = tmp_path / "g2p"
    assert main(["run", "g2p", "--quiet", "--max-words", "1500", "--epochs", "2", "--hidden", "16",
                 "--embedding", "16", "--beam", "3", "--examples", "5", "--out", str(out)]) == 0
    doc = json.loads((out / "metrics.json").read_text())
    m = doc["metrics"]
    for key in ("test_word_error_rate", "test_phoneme_error_rate", "test_word_error_rate_greedy",
                "test_word_error_rate_beam3", "test_phoneme_error_rate_beam3", "train_seconds"):
        assert key in m and np.isfinite(m[key])
    assert 0 <= m["test_word_error_rate"] <= 1 and m["test_phoneme_error_rate"] >= 0
    assert m["split_words"] == {"test": 75, "val": 75, "train": 1350} and m["test_words"] == 75
    base = doc["baselines"]["retrieval"]
    assert 0 <= base["test_word_error_rate"] <= 1 and np.isfinite(base["test_phoneme_error_rate"])
    assert doc["units"]["test_word_error_rate"] == "fraction in [0, 1]"
    assert {"metrics.json", "history.csv", "examples.txt", "test_pronunciations.tsv", "model"} <= \
        {p.name for p in out.iterdir()}
    model = rnnlab.load(out / "model")
    assert model.src_vocab.level == "char" and len(model.tgt_vocab) > 40 and model.attention_kind == "additive"
    capsys.readouterr()

    assert main(["g2p", str(out), "Either", "cat", "--beam", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [ln.split("\t")[0] for ln in lines] == ["either", "cat"]
    assert all(set(ln.split("\t")[1].split()) <= set(model.tgt_vocab.tokens) for ln in lines)
    assert main(["g2p", str(out), "cat", "--beam", "0"]) == 2
    assert "--beam: expected a positive width" in capsys.readouterr().err
    assert main(["g2p", str(out), "x-ray"]) == 0
    assert "not in the model's letters" in capsys.readouterr().err
