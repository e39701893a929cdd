"""Benchmark scripts whose output a decision rests on: the phase profile
(``benchmarks/rnn_vs_torch.py --profile``) attributes every phase — the per-step products are the
cells' ``np.dot`` calls (in the cells and their shared helpers), which a profile timing only
``np.matmul`` reported as 0 % and folded into the gate math —, and ``lstm_inference_bound.py``
runs its variants on identical weights with equal outputs."""
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
profile_step = pytest.importorskip("profile_step")


@pytest.mark.parametrize("spec", ["lstm:small", "gru:small:infer", "rnn:small"])
def test_profile_times_the_per_step_products(spec, capsys):
    args = SimpleNamespace(quick=True, repeats=1, block=0.01, lr=0.01)
    res = profile_step.profile_step(spec, args)
    ms = {r["phase"]: r["ms"] for r in res["phases"]}
    assert ms["rec_fwd"] > 0 and ms["gate_fwd"] > 0 and ms["input_fwd"] > 0
    if not spec.endswith(":infer"):
        assert ms["rec_bwd"] > 0 and ms["gate_bwd"] > 0 and ms["rec_wgrad"] > 0 and ms["optimizer"] > 0
    else:
        assert ms["rec_bwd"] == 0 and ms["optimizer"] == 0
    assert sum(res["groups"].values()) == pytest.approx(1.0)
    assert "recurrent products" in capsys.readouterr().out


def test_lstm_inference_bound_checks_its_variants_and_prints_them(capsys):
    bound = pytest.importorskip("lstm_inference_bound")
    pytest.importorskip("torch")
    assert bound.main(["--configs", "small", "--repeats", "1", "--block", "0.01"]) == 0
    out = capsys.readouterr().out
    for name in ("rnnlab", "torch, no oneDNN", "torch ÷ this"):
        assert name in out
