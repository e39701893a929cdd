"""Model-level benchmarks: rnnlab against a PyTorch twin (CPU) with the same weights.

    python benchmarks/models_vs_torch.py --quick                 # all rows, short (a few minutes)
    python benchmarks/models_vs_torch.py --only charlm,wordlm --threads 2 --json out.json

Benchmarks (``--only``; helpers in ``_twins.py``):

* ``charlm``  character LM: Embedding(65→64) → LSTM 512 → LSTM 512 → Dense 65, softmax
  cross-entropy at every step, batch 64 × 100 steps; training (one Adam update, clipnorm 5, as
  ``fit`` runs it: ``train_step`` with the parameters listed once and checks after the first) and
  inference (``predict``: softmax probabilities), tokens/s;
* ``wordlm``  word LM: Embedding(10000→128) → LSTM 256 → Dense 10000, batch 32 × 35; tokens/s;
* ``mnist``   one epoch of ``mnist-rows --model lstm`` (the task's own model: LSTM 128 on 28 rows
  of 28 pixels → Dense 10, batch 64, Adam 2e-3, clipnorm 5, accuracy metric) over 12,800 rows:
  ``model.fit(epochs=1, shuffle=False)`` vs the same loop in PyTorch, wall time, at 1 and 2 threads
  (``--mnist-threads``). Real MNIST if ``$RNNLAB_DATA`` holds it, else random data of its shape;
* ``pm25``    one epoch of the PM2.5 regression shape (RNN and LSTM 32 over 24 steps × 15
  features → Dense 1, MSE, batch 128, Adam 2e-3, clipnorm 1) on 30,000 random windows, wall time;
* ``memory``  peak resident memory of a training step (Adam), char LM and rnn_vs_torch's ``large``
  (LSTM 512, input 128, 64 steps, batch 32): each library in its own subprocess, the peak RSS
  (VmHWM; see ``_twins._maxrss_mb`` for why not ru_maxrss) after warm-up + steps minus the
  baseline after imports and data creation; a second row subtracts the one-off runtime set-up too
  (one step of a tiny model first: Numba loading rnnlab's compiled kernels, torch's first op);
* ``seq2seq`` seq2seq with additive attention: ``rnnlab.seq2seq.Seq2Seq(attention="additive")``, LSTM
  encoder and decoder of 256, embeddings 128, 4,000-token vocabularies, batch 64, source 12, target 14
  (variable lengths, masks) against ``translate_twin.py``'s module with the same weights; a training
  update and a teacher-forced inference forward, pairs/s (``_seq2seq_bench.py``).

Method (as ``rnn_vs_torch.py``): rnnlab's weights are copied into torch; logits, loss, gradients
gradient norms and the loss after two Adam updates are checked equal (1e-4 relative; gradients 1e-3) before
timing; both libraries are pinned to ``--threads`` (threadpoolctl for NumPy's BLAS,
``torch.set_num_threads``); timed blocks alternate rnnlab / torch / …; medians. Ratio: rnnlab
speed ÷ torch speed (> 1: rnnlab faster); for memory rnnlab MB ÷ torch MB (< 1: rnnlab smaller).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _twins as tw                                                        # noqa: E402
from rnn_vs_torch import environment, gemm_peak, loadavg, spread, time_pair  # noqa: E402

LM_OPT = dict(lr=2e-3, clipnorm=5.0)
SPECS = {
    "charlm": dict(emb=(65, 64), cell="lstm", hidden=512, layers=2, head=65, per_step=True, loss="ce",
                   batch=64, steps=100, **LM_OPT),
    "wordlm": dict(emb=(10000, 128), cell="lstm", hidden=256, layers=1, head=10000, per_step=True, loss="ce",
                   batch=32, steps=35, **LM_OPT),
    "large": dict(input=128, cell="lstm", hidden=512, layers=1, head=1, per_step=False, loss="mse",
                  batch=32, steps=64, lr=1e-3),
}
MNIST_ROWS = 12_800
PM25_WINDOWS = 30_000


def mnist_spec() -> dict:
    from rnnlab.tasks.mnist_rows import build_model
    return dict(input=28, cell="lstm", hidden=128, layers=1, head=10, per_step=False, loss="ce", batch=64,
                steps=28, lr=2e-3, clipnorm=5.0, metrics=("accuracy",), builder=lambda: build_model("lstm"))


def pm25_spec(cell: str) -> dict:
    from rnnlab.tasks.pm25.model import build_model
    return dict(input=15, cell=cell, hidden=32, layers=1, head=1, per_step=False, loss="mse", batch=128,
                steps=24, lr=2e-3, clipnorm=1.0, builder=lambda: build_model(cell, 32, 1, 1, 15, 0))


def row(name, mode, threads, unit, r, t, ratio, **extra) -> dict:
    return {"benchmark": name, "mode": mode, "threads": str(threads), "unit": unit, "rnnlab": r, "torch": t,
            "ratio": None if ratio is None else round(ratio, 3), **extra}


# -- 1, 2: language models, tokens/s ----------------------------------------------------------
def bench_lm(name: str, args) -> list[dict]:
    import torch
    spec = SPECS[name]
    x, y = tw.make_data(spec)
    model = tw.build_rnnlab(spec)
    twin = tw.TorchTwin(spec, model)
    checks = tw.check_twins(model, twin, x, y, name)
    print(f"  {name}: twins agree {checks}", flush=True)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    tokens = spec["batch"] * spec["steps"]
    update = tw.fit_update(model)                      # check_twins made the checked first update
    fns = {"train": {"rnnlab": lambda: update(x, y), "torch": lambda: twin.train_step(xt, yt)},
           "infer": {"rnnlab": lambda: model.predict(x, batch_size=len(x)), "torch": lambda: twin.predict(xt)}}
    rows = []
    for mode in ("train", "infer"):
        rates = time_pair(fns[mode], tokens, args.repeats, args.block, args.warmup)
        r, t = statistics.median(rates["rnnlab"]), statistics.median(rates["torch"])
        rows.append(row(name, mode, args.threads, "tokens/s", round(r), round(t), r / t,
                        rnnlab_spread_pct=round(spread(rates["rnnlab"]), 1),
                        torch_spread_pct=round(spread(rates["torch"]), 1), blocks=args.repeats, checks=checks))
        print("  " + fmt(rows[-1]), flush=True)
    return rows


def bench_charlm(args):
    """character LM, Embedding(65→64) → 2 × LSTM 512 → Dense 65, batch 64 × 100 (tokens/s)."""
    return bench_lm("charlm", args)


def bench_wordlm(args):
    """word LM, Embedding(10000→128) → LSTM 256 → Dense 10000, batch 32 × 35 (tokens/s)."""
    return bench_lm("wordlm", args)


# -- 3, 4: one epoch of fit vs the same loop in torch -------------------------------------------
def torch_epoch(twin, xt, yt, batch: int, accuracy: bool) -> float:
    """The loop ``fit`` runs, in PyTorch: per batch zero_grad, forward, loss, backward, clip, step;
    the epoch's mean loss (and accuracy) accumulated per batch. Returns the mean loss."""
    total, correct, n = 0.0, 0, len(xt)
    for i in range(0, n, batch):
        xb, yb = xt[i:i + batch], yt[i:i + batch]
        loss, z = twin.train_step(xb, yb)
        total += loss.item() * len(xb)
        if accuracy:
            correct += int((z.detach().argmax(-1) == yb).sum())
    return total / n


def epoch_rows(name: str, spec: dict, x, y, threads_list, args, data_note: str) -> list[dict]:
    import torch
    rows = []
    for threads in threads_list:
        pinned = tw.pin_threads(threads)
        model = tw.build_rnnlab(spec)                      # fresh twins per thread count
        twin = tw.TorchTwin(spec, model)
        checks = tw.check_twins(model, twin, x[:spec["batch"]], y[:spec["batch"]], name)
        xt, yt = torch.from_numpy(x), torch.from_numpy(y)
        acc = bool(spec.get("metrics"))
        times = {"rnnlab": [], "torch": []}
        losses = {}
        for rep in range(args.epoch_repeats):              # interleaved: rnnlab, torch, rnnlab, ...
            t0 = time.perf_counter()
            hist = model.fit(x, y, epochs=1, batch_size=spec["batch"], shuffle=False, verbose=0)
            times["rnnlab"].append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            lt = torch_epoch(twin, xt, yt, spec["batch"], acc)
            times["torch"].append(time.perf_counter() - t0)
            if rep == 0:
                losses = {"rnnlab_epoch1_loss": round(float(hist.history["loss"][0]), 5),
                          "torch_epoch1_loss": round(lt, 5)}
        r, t = statistics.median(times["rnnlab"]), statistics.median(times["torch"])
        rows.append(row(name, f"epoch of {len(x):,}", threads, "s/epoch", round(r, 3), round(t, 3), t / r,
                        rnnlab_spread_pct=round(spread(times["rnnlab"]), 1),
                        torch_spread_pct=round(spread(times["torch"]), 1), blocks=args.epoch_repeats,
                        pinned=pinned, data=data_note, checks=checks, **losses))
        print("  " + fmt(rows[-1]) + f"   {data_note}; first-epoch loss rnnlab {losses['rnnlab_epoch1_loss']} "
              f"torch {losses['torch_epoch1_loss']}", flush=True)
    tw.pin_threads(args.threads)
    return rows


def bench_mnist(args):
    """one epoch of mnist-rows --model lstm (12,800 rows), fit vs the torch loop, 1 and 2 threads."""
    spec = mnist_spec()
    n = MNIST_ROWS
    if os.environ.get("RNNLAB_DATA"):
        from rnnlab.tasks.mnist_rows import load_data
        (x, y), _, _ = load_data(limit=n)
        x, y, note = x[:n], y[:n], "real MNIST"
    else:
        x, _ = tw.make_data(spec, n)
        x = np.random.default_rng(2).random(x.shape, dtype=np.float32)     # pixels in [0, 1)
        y = np.random.default_rng(3).integers(0, 10, n, dtype=np.int64)
        note = "random data, MNIST shape"
    print(f"  mnist: {note}", flush=True)
    threads = [int(v) if v != "auto" else v for v in args.mnist_threads.split(",")]
    return epoch_rows("mnist-lstm", spec, x, y, threads, args, note)


def bench_pm25(args):
    """one epoch of a PM2.5-sized regression (RNN / LSTM 32, 24 × 15, 30,000 windows), wall time."""
    rows = []
    for cell in ("rnn", "lstm"):
        spec = pm25_spec(cell)
        x, y = tw.make_data(spec, PM25_WINDOWS)
        rows += epoch_rows(f"pm25-{cell}", spec, x, y, [args.threads], args, "random data, PM2.5 shape")
    return rows


# -- 5: peak memory -----------------------------------------------------------------------------
def bench_memory(args):
    """peak resident memory of a training step, char LM and large, one subprocess per library."""
    rows = []
    for name in ("charlm", "large"):
        m = tw.measure_memory(name, args.threads, args.quick)
        for key, mode in (("step_mb", "train peak above imports"), ("step_warm_mb", "train peak above warm runtime")):
            r, t = m["rnnlab"][key], m["torch"][key]
            rows.append(row(f"memory-{name}", mode, args.threads, "MB", r, t, r / t if t > 0 else None, detail=m))
            print("  " + fmt(rows[-1]), flush=True)
        print(f"    baselines rnnlab {m['rnnlab']['baseline_mb']} MB, torch {m['torch']['baseline_mb']} MB; one-off "
              f"runtime set-up rnnlab {m['rnnlab']['runtime_init_mb']} MB, torch {m['torch']['runtime_init_mb']} MB",
              flush=True)
    return rows


# -- 6: seq2seq with additive attention ----------------------------------------------------------
def bench_seq2seq(args):
    """seq2seq, LSTM 256, additive attention, batch 64, source 12, target 14 (pairs/s; _seq2seq_bench.py)."""
    import _seq2seq_bench as s2s
    spec = s2s.SPEC
    model = s2s.build(spec)
    twin = s2s.Twin(model, spec)
    data = s2s.make_data(spec)
    checks = s2s.check(model, twin, data)
    print(f"  seq2seq-attn: twins agree {checks}", flush=True)
    fns = s2s.functions(model, twin, data)
    rows = []
    for mode in ("train", "infer"):
        rates = time_pair(fns[mode], spec["batch"], args.repeats, args.block, args.warmup)
        r, t = statistics.median(rates["rnnlab"]), statistics.median(rates["torch"])
        rows.append(row("seq2seq-attn", mode, args.threads, "pairs/s", round(r), round(t), r / t,
                        rnnlab_spread_pct=round(spread(rates["rnnlab"]), 1),
                        torch_spread_pct=round(spread(rates["torch"]), 1), blocks=args.repeats, checks=checks,
                        spec={k: v for k, v in spec.items()}))
        print("  " + fmt(rows[-1]), flush=True)
    return rows


BENCHES = {"charlm": bench_charlm, "wordlm": bench_wordlm, "mnist": bench_mnist, "pm25": bench_pm25,
           "memory": bench_memory, "seq2seq": bench_seq2seq}


# -- output -------------------------------------------------------------------------------------
def _val(v, unit: str) -> str:
    if v is None:
        return "n/a"
    if unit == "pairs/s":
        return f"{v:,.0f} pairs/s"
    return f"{v:,.0f} tok/s" if unit == "tokens/s" else f"{v:.2f} s" if unit == "s/epoch" else f"{v:,.0f} MB"


def fmt(r: dict) -> str:
    ratio = "n/a" if r["ratio"] is None else f"{r['ratio']:.2f}"
    return f"{r['benchmark']:<14s} {r['mode']:<30s} thr {r['threads']:<4s} rnnlab {_val(r['rnnlab'], r['unit']):>14s}" \
           f"  torch {_val(r['torch'], r['unit']):>14s}  ratio {ratio}"


def markdown(rows: list[dict]) -> str:
    lines = ["| benchmark | mode | threads | rnnlab | torch | ratio |", "|---|---|---|---:|---:|---:|"]
    for r in rows:
        spreads = ("", "") if "rnnlab_spread_pct" not in r else \
            (f" ±{r['rnnlab_spread_pct']:.0f}%", f" ±{r['torch_spread_pct']:.0f}%")
        ratio = r.get("status", "n/a") if r["ratio"] is None else f"{r['ratio']:.2f}"
        lines.append(f"| {r['benchmark']} | {r['mode']} | {r['threads']} | {_val(r['rnnlab'], r['unit'])}{spreads[0]} "
                     f"| {_val(r['torch'], r['unit'])}{spreads[1]} | {ratio} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    doc = __doc__.split("\n\n")
    p = argparse.ArgumentParser(description=doc[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="benchmarks (--only):\n" + "\n".join(
                                    f"  {k:<8s} {' '.join(f.__doc__.split())}" for k, f in BENCHES.items()))
    p.add_argument("--quick", action="store_true", help="short run: fewer, shorter blocks")
    p.add_argument("--json", metavar="FILE", help="write rows and environment as JSON")
    p.add_argument("--only", default=",".join(BENCHES), help=f"comma list of {','.join(BENCHES)} (default: all)")
    p.add_argument("--threads", default="1", help="threads for BOTH libraries: N (default 1) or 'auto'")
    p.add_argument("--mnist-threads", default="1,2", help="thread counts of the mnist epoch rows (default 1,2)")
    p.add_argument("--repeats", type=int, default=None, help="timed blocks per library (default 7, quick 3)")
    p.add_argument("--block", type=float, default=None, help="seconds per block (default 1.0, quick 0.3)")
    p.add_argument("--epoch-repeats", type=int, default=None, help="epochs per library (default 5, quick 3)")
    p.add_argument("--_mem", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args._mem:                                   # child process of the memory benchmark
        lib, name = args._mem.split(":")
        steps = (1, 2) if args.quick else (2, 5)
        print(json.dumps(tw.memory_child(lib, SPECS[name], args.threads, *steps)))
        return 0
    args.repeats = args.repeats or (3 if args.quick else 7)
    args.block = args.block or (0.3 if args.quick else 1.0)
    args.epoch_repeats = args.epoch_repeats or (3 if args.quick else 5)
    args.warmup = 0.3 if args.quick else 1.0
    only = [b for b in args.only.split(",") if b]
    unknown = [b for b in only if b not in BENCHES]
    if unknown:
        p.error(f"--only: unknown {unknown}; choose from {list(BENCHES)}")

    import torch
    torch.manual_seed(0)
    pinned = tw.pin_threads(args.threads)
    t_start = time.perf_counter()
    env = environment(args.threads)
    env.update(loadavg_start=loadavg(), pinned=pinned, mnist_data="real" if os.environ.get("RNNLAB_DATA") else "random",
               gemm_peak_gflops_start=round(gemm_peak(0.5), 1))
    print("rnnlab vs PyTorch (CPU), model level, float32, " + ("quick run" if args.quick else "full run"))
    for k in ("cpu", "cores", "numpy", "blas", "torch", "torch_threads", "rnnlab_blas_policy", "rnnlab_kernels",
              "pinned", "loadavg_start", "gemm_peak_gflops_start"):
        print(f"  {k}: {env[k]}")
    print(f"  {args.repeats} blocks x {args.block:g} s interleaved (LMs), {args.epoch_repeats} epochs per library "
          "interleaved (mnist, pm25); ratio = rnnlab speed / torch speed, memory rnnlab / torch", flush=True)
    rows: list[dict] = []
    for name in only:
        print(f"{name}:", flush=True)
        rows += BENCHES[name](args)
    env.update(loadavg_end=loadavg(), gemm_peak_gflops_end=round(gemm_peak(0.5), 1),
               seconds=round(time.perf_counter() - t_start, 1))
    print(f"done in {env['seconds']:.0f} s; load average {env['loadavg_start']} -> {env['loadavg_end']}; "
          f"GEMM peak {env['gemm_peak_gflops_start']} -> {env['gemm_peak_gflops_end']} GFLOP/s\n")
    print(markdown(rows))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"rows": rows, "env": env}, fh, indent=2, default=str)
            fh.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
