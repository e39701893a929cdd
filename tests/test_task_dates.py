"""The seq2seq dates task end to end (short run): folder written, beats the baselines, the saved
model reproduces the reported exact-match rate."""
import json

import numpy as np

import rnnlab
from rnnlab.cli import main
from rnnlab.tasks import dates
from rnnlab.tasks.dates import TGT_CHARS, decode, encode


def test_encode_decode_round_trip():
    ids, mask = encode(["2026-11-27", "1950-01-01"], TGT_CHARS, offset=1)
    assert mask.all() and decode(ids) == ["2026-11-27", "1950-01-01"]


def test_short_run(tmp_path):
    out = tmp_path / "dates"
    assert main(["run", "dates", "--quiet", "--epochs", "5", "--samples", "3000", "--hidden", "48",
                 "--structure", "context", "--out", str(out)]) == 0
    doc = json.loads((out / "metrics.json").read_text())
    assert {"metrics.json", "history.csv", "loss.png", "examples.txt", "model", "config.json"} <= \
        {p.name for p in out.iterdir()}
    assert not (out / "INCOMPLETE").exists()
    m = doc["metrics"]
    assert m["test_char_accuracy"] > doc["baselines"]["per_character_majority_char_accuracy"]
    assert doc["hyperparameters"]["structure"] == "context"
    header = (out / "history.csv").read_text().splitlines()[0].split(",")
    assert header[:2] == ["epoch", "loss"] and "val_sequence_accuracy" in header and len(header) > 3
    # the saved model, decoding the regenerated test dates, gives the reported numbers
    config = dates.Config(epochs=5, samples=3000, hidden=48, structure="context")
    tx, tm, ty = dates.make_data(config)["test"][:3]
    pred = rnnlab.load(out / "model").generate(tx, ty.shape[1], src_mask=tm)
    assert float(np.mean((pred == ty).all(axis=1))) == m["test_exact_match"]
    assert float(np.mean(pred == ty)) == m["test_char_accuracy"]


def test_short_run_with_attention_and_pooled_context(tmp_path):
    """The new pieces: c = tanh(W·mean h + b), additive attention, teacher forcing 0.8."""
    out = tmp_path / "dates-attn"
    assert main(["run", "dates", "--quiet", "--epochs", "3", "--samples", "2000", "--hidden", "32",
                 "--context", "pool", "--attention", "additive", "--teacher-forcing", "0.8", "--out", str(out)]) == 0
    doc = json.loads((out / "metrics.json").read_text())
    assert doc["hyperparameters"]["attention"] == "additive"
    back = rnnlab.load(out / "model")
    assert back.get_config()["context"] == "pool" and back.attn is not None
    assert doc["metrics"]["test_char_accuracy"] > doc["baselines"]["per_character_majority_char_accuracy"]
