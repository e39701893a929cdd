"""Text data: the vocabulary (specials, unknowns, files) and the stream layout of stateful training."""
import json

import numpy as np
import pytest

from rnnlab.data.text import (BOS, EOS, PAD, UNK, Vocabulary, contiguous_split, stream_batches, tokenize)
from rnnlab.errors import InputError, ModelFileError


def test_char_vocabulary_ids_and_round_trip():
    v = Vocabulary.from_text(["hello", "world"])
    assert v.tokens[:4] == [PAD, UNK, BOS, EOS] and v.pad_id == 0 and v.eos_id == 3
    assert v.tokens[4:] == sorted(set("helloworld"))
    ids = v.encode("low", bos=True, eos=True)
    assert ids.tolist() == [v.bos_id, v.id("l"), v.id("o"), v.id("w"), v.eos_id]
    assert v.decode(ids) == "low"
    assert v.encode("lox").tolist()[-1] == v.unk_id            # x never seen → <unk>
    assert v.decode([v.id("h"), v.eos_id, v.id("e")]) == "h"     # nothing after <eos>


def test_word_vocabulary_min_count_and_max_size():
    text = "the cat sat on the mat . the cat ran ."
    assert tokenize("don't stop.", "word") == ["don't", "stop", "."]
    v = Vocabulary.from_text(text, level="word", min_count=2)
    assert v.tokens[v.first_token_id:] == ["the", ".", "cat"]    # by frequency, ties alphabetical
    assert v.decode(v.encode("the dog")) == "the <unk>"
    assert len(Vocabulary.from_text(text, level="word", max_size=2)) == 4 + 2
    with pytest.raises(InputError, match="<unk>"):
        Vocabulary.from_text(text, level="word", min_count=2, specials=(PAD,))


def test_vocabulary_without_unk_refuses_unknown_tokens():
    v = Vocabulary.from_text("ab", specials=())
    assert len(v) == 2 and v.first_token_id == 0
    with pytest.raises(InputError, match="'c' is not in the vocabulary"):
        v.encode("abc")


def test_encode_batch_pads_and_masks():
    v = Vocabulary.from_text("abc")
    ids, mask = v.encode_batch(["ab", "c"], eos=True)
    assert ids.shape == (2, 3) and mask.tolist() == [[True, True, True], [True, True, False]]
    assert ids[1, 2] == v.pad_id and ids[1, 1] == v.eos_id


def test_vocabulary_file_round_trip_and_bad_files(tmp_path):
    v = Vocabulary.from_text("春眠不觉晓")
    path = tmp_path / "vocabulary.json"
    v.save(path)
    assert Vocabulary.load(path) == v and "春" in path.read_text(encoding="utf-8")
    doc = json.loads(path.read_text(encoding="utf-8"))
    for bad, match in ((b"{not json", "not valid JSON"), (b"\xff\xfe", "not UTF-8"),
                       (json.dumps({**doc, "tokens": ["a", "a"]}).encode(), "duplicate"),
                       (json.dumps({**doc, "version": 9}).encode(), "version"),
                       (json.dumps([1, 2]).encode(), "not an rnnlab vocabulary")):
        path.write_bytes(bad)
        with pytest.raises(ModelFileError, match=match):
            Vocabulary.load(path)
    with pytest.raises(ModelFileError, match="not found"):
        Vocabulary.load(tmp_path / "none.json")


def test_contiguous_split_keeps_order():
    text = "".join(chr(65 + i % 26) for i in range(1000))
    a, b, c = contiguous_split(text, 0.1, 0.05)
    assert a + b + c == text and (len(a), len(b), len(c)) == (850, 100, 50)
    with pytest.raises(InputError):
        contiguous_split(text, 0.6, 0.5)


def test_stream_batches_rows_continue_across_batches():
    ids = np.arange(1001)
    x, y = stream_batches(ids, batch_size=4, steps=10)
    assert x.shape == y.shape == (4 * 25, 10)
    assert np.array_equal(y[:, :-1], x[:, 1:])                 # next-token targets
    for k in range(24):                                        # row b of batch k+1 continues row b of batch k
        this, nxt = x[k * 4:(k + 1) * 4], x[(k + 1) * 4:(k + 2) * 4]
        assert np.array_equal(nxt[:, 0], this[:, -1] + 1)
        assert np.array_equal(y[k * 4:(k + 1) * 4, -1], nxt[:, 0])
    assert len(np.unique(x)) == x.size                         # every token used at most once
    with pytest.raises(InputError, match="too few"):
        stream_batches(np.arange(20), batch_size=4, steps=10)
