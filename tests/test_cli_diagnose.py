"""``rnnlab diagnose MODEL_DIR DATA.npz``: gradient norms through time of a saved model."""
import json

import numpy as np
import pytest

import rnnlab
from rnnlab.cli import main
from rnnlab.diagnose import verdict
from rnnlab.diagnostics import gradient_norms


@pytest.fixture
def saved(tmp_path):
    model = rnnlab.Sequential([rnnlab.SimpleRNN(8), rnnlab.Dense(1)], input_size=1, seed=0)
    model.compile(loss="mse")
    model.save(tmp_path / "model")
    x = np.random.default_rng(0).random((16, 30, 1)).astype(np.float32)
    return tmp_path, x, x[:, 0]


def test_diagnose_writes_the_norms_and_the_ratio(saved, capsys):
    root, x, y = saved
    np.savez(root / "data.npz", x=x, y=y)
    assert main(["diagnose", str(root / "model"), str(root / "data.npz"), "--out", str(root / "diag")]) == 0
    doc = json.loads((root / "diag" / "gradient_norms.json").read_text())
    want = gradient_norms(rnnlab.load(root / "model"), x, y)
    assert doc["norms"] == want.tolist() and len(doc["norms"]) == 30
    assert doc["first_step"] == want[0] and doc["last_step"] == want[-1]
    assert doc["ratio_first_to_last"] == pytest.approx(want[0] / want[-1], rel=1e-12)
    # an untrained tanh RNN over 30 steps: the gradient reaching the first step has all but vanished
    assert doc["ratio_first_to_last"] < 1e-2 and doc["verdict"] == "vanishing"
    assert (doc["layer"], doc["hidden"], doc["samples"], doc["steps"]) == ("SimpleRNN", 8, 16, 30)
    assert (root / "diag" / "gradient_norms.png").stat().st_size > 1000
    line = capsys.readouterr().out.strip()
    assert line.startswith("diagnose: SimpleRNN(8) over 30 steps, 16 samples") and "(vanishing)" in line


def test_diagnose_with_a_mask_and_the_default_folder(saved):
    root, x, y = saved
    lengths = np.arange(16) % 30 + 15
    mask = np.arange(30)[None, :] < lengths[:, None]
    np.savez(root / "data.npz", x=x, y=y, mask=mask)
    assert main(["diagnose", str(root / "model"), str(root / "data.npz")]) == 0
    doc = json.loads((root / "diagnose" / "gradient_norms.json").read_text())
    want = gradient_norms(rnnlab.load(root / "model"), x, y, mask)
    assert doc["norms"] == want.tolist()
    assert doc["ratio_first_to_last"] == pytest.approx(want[0] / want[-1], rel=1e-12)


def test_diagnose_errors_name_the_file(saved, capsys):
    root, x, y = saved
    np.savez(root / "bad.npz", x=x, target=y)
    assert main(["diagnose", str(root / "model"), str(root / "bad.npz")]) == 2
    err = capsys.readouterr().err
    assert str(root / "bad.npz") in err and "expected arrays 'x' and 'y'" in err and "'target'" in err
    assert main(["diagnose", str(root / "model"), str(root / "missing.npz")]) == 2
    assert str(root / "missing.npz") in capsys.readouterr().err
    assert main(["diagnose", str(root / "nomodel"), str(root / "bad.npz")]) == 2
    assert str(root / "nomodel") in capsys.readouterr().err


def test_verdict():
    assert verdict(1e-3) == "vanishing" and verdict(1e3) == "exploding" and verdict(0.5) == "neither"
