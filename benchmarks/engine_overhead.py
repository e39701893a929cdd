"""What the training engine, the loss and the generation loop cost around the model's own work.

    python benchmarks/engine_overhead.py                           # every case, this checkout
    python benchmarks/engine_overhead.py --cases ce,step --repeats 9
    python benchmarks/engine_overhead.py --compare /tmp/old/src    # interleaved: old / this / old / ...
    python benchmarks/engine_overhead.py --compare /tmp/old/src --after /tmp/new/src

Cases (single-threaded, float32, medians of ``--repeats`` runs):

* ``ce``: categorical cross-entropy forward + backward on text-model logits (64 × 30 × 5000),
  integer targets, 10 % padded steps (mask), in ms;
* ``step``: one training update of Embedding(5000→128) → LSTM 256 → Dense 5000 + cross-entropy,
  batch 64 × 30, Adam (``train_step``), in ms;
* ``val``: ``evaluate`` of that model on 1,024 sequences, batch 64: wall time (ms) and the peak of
  NumPy memory allocated during it (``tracemalloc``, MiB) — the whole set's logits are 586 MiB;
* ``gen``: 500 characters from Embedding(65→64) → 2-layer LSTM 384 → Dense 65 through
  :class:`rnnlab.generation.SequenceStepper` and :func:`rnnlab.generation.generate`, in ms;
* ``beam``: beam search (width 5, 14 tokens) of a GRU seq2seq with additive attention, hidden
  256, batch 64 × source 12, vocabularies 2,000, in ms;
* ``greedy``: greedy decoding (14 tokens, no early stop) of the same model and batch, in ms;
* ``b1``: the echo net (SimpleRNN 4, 2 steps), ``fit(batch_size=1)`` with SGD, µs per update.

``--compare DIR`` runs every case in a child process alternately with ``PYTHONPATH=DIR`` (e.g. a
``git archive`` of an older commit's ``src``) and with this checkout, so that a change of the
machine's load hits both, and prints the medians of both and their ratio.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

CASES = ("ce", "step", "val", "gen", "beam", "greedy", "b1")


def _text_model(seed: int = 0):
    import rnnlab
    m = rnnlab.Sequential([rnnlab.Embedding(5000, 128), rnnlab.LSTM(256, return_sequences=True),
                           rnnlab.Dense(5000)], input_size=1, seed=seed)
    return m.compile(loss="categorical_crossentropy", optimizer="adam")


def _text_batch(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 5000, size=(n, 30))
    y = rng.integers(0, 5000, size=(n, 30))
    lengths = rng.integers(24, 31, size=n)
    mask = np.arange(30)[None, :] < lengths[:, None]
    return x, y, mask


def case_ce(repeats: int) -> dict:
    from rnnlab.losses import CategoricalCrossEntropy
    rng = np.random.default_rng(0)
    z = rng.normal(size=(64, 30, 5000)).astype(np.float32)
    _, y, mask = _text_batch(64)
    loss = CategoricalCrossEntropy()
    yc = loss.check_target(y, z.shape, mask=mask, dtype=np.float32)
    times = []
    for _ in range(repeats + 1):
        t0 = time.perf_counter()
        loss.forward(z, yc, mask, check=False)
        loss.backward()
        times.append((time.perf_counter() - t0) * 1e3)
    return {"ce_ms": statistics.median(times[1:])}


def case_step(repeats: int) -> dict:
    from rnnlab.training.engine import prepare, train_step
    model = _text_model()
    x, y, mask = _text_batch(64)
    x, y, mask = prepare(model, x, y, mask)
    params = model.named_params()
    train_step(model, x, y, mask, params=params)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        train_step(model, x, y, mask, check=False, params=params)
        times.append((time.perf_counter() - t0) * 1e3)
    return {"step_ms": statistics.median(times)}


def case_val(repeats: int) -> dict:
    import tracemalloc
    model = _text_model()
    x, y, mask = _text_batch(1024, seed=1)
    model.evaluate(x[:64], y[:64], mask=mask[:64], batch_size=64)
    times, peaks = [], []
    for _ in range(max(1, repeats // 3)):
        tracemalloc.start()
        t0 = time.perf_counter()
        model.evaluate(x, y, mask=mask, batch_size=64)
        times.append((time.perf_counter() - t0) * 1e3)
        peaks.append(tracemalloc.get_traced_memory()[1] / 2 ** 20)
        tracemalloc.stop()
    return {"val_ms": statistics.median(times), "val_peak_mib": statistics.median(peaks)}


def case_gen(repeats: int) -> dict:
    import rnnlab
    from rnnlab.generation import Sampling, SequenceStepper, generate
    m = rnnlab.Sequential([rnnlab.Embedding(65, 64), rnnlab.LSTM(384, return_sequences=True),
                           rnnlab.LSTM(384, return_sequences=True), rnnlab.Dense(65)], input_size=1, seed=0)
    prime = np.arange(10)[None, :]
    times, first = [], None
    for _ in range(repeats + 1):
        t0 = time.perf_counter()
        with SequenceStepper(m) as run:
            ids = generate(run.step, run.start(prime), 500, sampling=Sampling(temperature=0.8), rng=0)
        times.append((time.perf_counter() - t0) * 1e3)
        first = ids if first is None else first
        assert np.array_equal(ids, first)
    return {"gen_ms": statistics.median(times[1:]), "gen_checksum": int(first.sum())}


def case_beam(repeats: int) -> dict:
    from rnnlab.decoding import beam_search
    from rnnlab.seq2seq import Seq2Seq
    m = Seq2Seq(2000, 2000, hidden=256, embed=64, attention="additive", bos=0, eos=1, seed=0)
    src = np.random.default_rng(0).integers(2, 2000, (64, 12))
    times, first = [], None
    for _ in range(max(1, repeats // 2) + 1):
        t0 = time.perf_counter()
        out = beam_search(m, src, beam=5, max_len=14)
        times.append((time.perf_counter() - t0) * 1e3)
        first = out.ids if first is None else first
        assert np.array_equal(out.ids, first)
    return {"beam_ms": statistics.median(times[1:]), "beam_checksum": int(first.sum())}


def case_greedy(repeats: int) -> dict:
    from rnnlab.decoding import greedy_decode
    from rnnlab.seq2seq import Seq2Seq
    m = Seq2Seq(2000, 2000, hidden=256, embed=64, attention="additive", bos=0, eos=1, seed=0)
    src = np.random.default_rng(0).integers(2, 2000, (64, 12))
    times, first = [], None
    for _ in range(repeats + 1):
        t0 = time.perf_counter()
        out = greedy_decode(m, src, max_len=14, stop=False)
        times.append((time.perf_counter() - t0) * 1e3)
        first = out.ids if first is None else first
        assert np.array_equal(out.ids, first)
    return {"greedy_ms": statistics.median(times[1:]), "greedy_checksum": int(first.sum())}


def case_b1(repeats: int) -> dict:
    import rnnlab
    from rnnlab.data.synthetic import echo_signal
    x, y = echo_signal(1000, 2, rng=np.random.default_rng(0))
    times = []
    for _ in range(repeats + 1):
        m = rnnlab.Sequential([rnnlab.SimpleRNN(4), rnnlab.Dense(1)], input_size=1, seed=0)
        m.compile(loss="mse", optimizer="sgd", lr=0.1)
        t0 = time.perf_counter()
        m.fit(x, y, epochs=1, batch_size=1, shuffle=False, verbose=0)
        times.append((time.perf_counter() - t0) / len(x) * 1e6)
    return {"b1_us": statistics.median(times[1:])}


def run_here(cases, repeats: int) -> dict:
    from rnnlab import threads
    threads.set_policy(1)
    out = {}
    for c in cases:
        out.update(globals()[f"case_{c}"](repeats))
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cases", default=",".join(CASES))
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--compare", metavar="SRC", help="an older checkout's src folder, run interleaved with this one")
    p.add_argument("--after", metavar="SRC", help="with --compare: the src folder of the newer side "
                   "(default: this checkout's), e.g. an old commit plus only some changed files")
    p.add_argument("--blocks", type=int, default=3, help="interleaved blocks per side with --compare")
    p.add_argument("--json", metavar="FILE")
    args = p.parse_args(argv)
    cases = [c for c in args.cases.split(",") if c]
    unknown = sorted(set(cases) - set(CASES))
    if unknown:
        p.error(f"unknown case(s) {unknown}; expected some of {list(CASES)}")
    load0 = os.getloadavg()[0]
    if not args.compare:
        res = run_here(cases, args.repeats)
        res["loadavg"] = [round(load0, 2), round(os.getloadavg()[0], 2)]
        print(json.dumps(res, indent=1))
    else:
        here = args.after or os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src")
        sides = {"before": os.path.abspath(args.compare), "after": os.path.abspath(here)}
        runs: dict[str, list[dict]] = {k: [] for k in sides}
        for _ in range(args.blocks):
            for side, src in sides.items():
                env = dict(os.environ, PYTHONPATH=src, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
                cmd = [sys.executable, os.path.abspath(__file__), "--cases", ",".join(cases),
                       "--repeats", str(args.repeats)]
                done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
                runs[side].append(json.loads(done.stdout))
        res = {"loadavg": [round(load0, 2), round(os.getloadavg()[0], 2)], "blocks": args.blocks,
               "repeats": args.repeats, "median": {}, "runs": runs}
        keys = [k for k in runs["after"][0] if k != "loadavg"]
        print(f"{'metric':<14s} {'before':>10s} {'after':>10s} {'after/before':>12s}")
        for k in keys:
            b = statistics.median(r[k] for r in runs["before"])
            a = statistics.median(r[k] for r in runs["after"])
            res["median"][k] = {"before": b, "after": a}
            print(f"{k:<14s} {b:>10.2f} {a:>10.2f} {a / b if b else float('nan'):>12.2f}")
        print(f"load average {res['loadavg'][0]} -> {res['loadavg'][1]}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(res, fh, indent=1)
            fh.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
