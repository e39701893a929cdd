"""Scale-out: to_torch → 2 CPU processes of DistributedDataParallel (gloo, torchrun) → from_torch →
rnnlab.load. One DDP step over 2 processes, each on half the batch, equals one single-process step
on the whole batch — in torch and in rnnlab's own gradients — and the model comes back into rnnlab
computing the same outputs."""
from __future__ import annotations

import os
import pathlib
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import rnnlab
from rnnlab import GRU, LSTM, Bidirectional, Dense, Sequential
from rnnlab.interop.check import max_abs_diff, torch_output
from rnnlab.interop.torch import from_torch, to_torch
from rnnlab.validation import lengths_to_mask

WORKER = pathlib.Path(__file__).with_name("ddp_worker.py")
LR = 0.5


def test_ddp_step_over_two_processes_equals_one_full_batch_step(torch, tmp_path):
    t0 = time.perf_counter()
    model = Sequential([LSTM(6, return_sequences=True), Bidirectional(GRU(5)), Dense(2)], input_size=3, seed=0,
                       dtype="float64").compile(loss="mse", optimizer="sgd", lr=LR)
    model.save(tmp_path / "model")
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((8, 7, 3)), rng.standard_normal((8, 2))
    lengths = np.array([7, 3, 5, 1, 7, 6, 2, 4])
    np.savez(tmp_path / "data.npz", x=x, y=y, lengths=lengths)

    # the single-process step on the whole batch, in torch ...
    module = to_torch(model).train()
    loss = torch.nn.functional.mse_loss(module(torch.from_numpy(x), torch.from_numpy(lengths)), torch.from_numpy(y))
    loss.backward()
    with torch.no_grad():
        for p in module.parameters():
            p -= LR * p.grad
    single = from_torch(module.eval())
    # ... and in rnnlab (its own BPTT gradients, the same SGD update)
    mask = lengths_to_mask(lengths, 7)
    rn_loss = model.train_gradients(x, y, mask)
    assert rn_loss == pytest.approx(loss.item(), rel=1e-12)
    stepped = {name: p - LR * g for name, p, g in model.named_params()}

    # two processes, each with half the batch
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nnodes=1", "--nproc_per_node=2",
           str(WORKER), str(tmp_path / "model"), str(tmp_path / "data.npz"), str(tmp_path / "ddp"), str(LR)]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
                            start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=300)            # ~6 s on an idle machine; a starved one is slower
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)                  # the launcher and its two workers
        out, _ = proc.communicate()
        pytest.fail(f"torchrun did not finish in 300 s:\n{out[-3000:]}")
    assert proc.returncode == 0, out[-3000:]
    assert "rank 0 done" in out and "rank 1 done" in out

    ddp = rnnlab.load(tmp_path / "ddp")                       # came back through from_torch + save
    w_ddp, w_single = ddp.get_weights(), single.get_weights()
    assert list(w_ddp) == list(w_single) == list(stepped)
    diff_torch = max(max_abs_diff(w_ddp[k], w_single[k]) for k in w_ddp)
    diff_rnnlab = max(max_abs_diff(w_ddp[k], stepped[k]) for k in w_ddp)
    moved = max(max_abs_diff(w_ddp[k], model.get_weights()[k]) for k in w_ddp)
    assert diff_torch < 1e-12 and diff_rnnlab < 1e-12 and moved > 1e-3, (diff_torch, diff_rnnlab, moved)
    # the model back in rnnlab computes what the trained torch module computes
    outputs = ddp.predict(x, mask=mask)
    assert max_abs_diff(outputs, torch_output(module.eval(), x, lengths)) < 1e-12
    assert max_abs_diff(outputs, single.predict(x, mask=mask)) < 1e-12
    print(f"DDP 2-process step vs single-process: max |Δw| = {diff_torch:.2g} (torch), {diff_rnnlab:.2g} "
          f"(rnnlab), {time.perf_counter() - t0:.1f} s")
