"""The seq2seq dates task end to end (short run): folder written, beats the baselines."""
import json

from rnnlab.cli import main
from rnnlab.tasks.dates import decode, encode, TGT_CHARS


def test_encode_decode_round_trip():
    ids, mask = encode(["2026-11-27", "1950-01-01"], TGT_CHARS, offset=1)
    assert mask.all() and decode(ids) == ["2026-11-27", "1950-01-01"]


def test_short_run(tmp_path):
    out = tmp_path / "dates"
    assert main(["run", "dates", "--quiet", "--epochs", "5", "--samples", "3000", "--hidden", "48",
                 "--structure", "context", "--out", str(out)]) == 0
    doc = json.loads((out / "metrics.json").read_text())
    assert {"metrics.json", "history.csv", "loss.png", "examples.txt"} <= {p.name for p in out.iterdir()}
    assert doc["metrics"]["test_char_accuracy"] > doc["baselines"]["per_character_majority_char_accuracy"]
    assert doc["hyperparameters"]["structure"] == "context"
