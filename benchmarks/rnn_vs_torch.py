"""rnnlab against PyTorch (CPU) on identical recurrent models with identical weights.

    python benchmarks/rnn_vs_torch.py                 # full run (a few minutes)
    python benchmarks/rnn_vs_torch.py --quick         # short run (under 2 minutes)
    python benchmarks/rnn_vs_torch.py --json out.json --threads 1
    python benchmarks/rnn_vs_torch.py --profile lstm:medium   # where a training step's time goes
    python benchmarks/rnn_vs_torch.py --profile lstm:large:infer   # ... or an inference batch's

For every cell (SimpleRNN tanh, LSTM, GRU) and configuration (input, hidden, steps, batch) it
times, in this one process and with the same number of threads for both libraries:

* ``train``: one training step — forward, loss (MSE of a Dense(1) head on the last step),
  backward, plain SGD update — through each library's ordinary API
  (rnnlab: ``rnnlab.training.train_step``, the update ``fit`` runs; torch: ``nn.LSTM`` + ``nn.Linear``,
  ``loss.backward()``, ``torch.optim.SGD``);
* ``infer``: forward only (rnnlab: ``Sequential.predict``; torch: under ``torch.inference_mode``).

Both models get the same weights (rnnlab's are copied into torch) and their outputs are checked
equal (float32 tolerance) before anything is timed. Timing: a warm-up, then ``repeats`` blocks
per library, interleaved rnnlab / torch / rnnlab / … so that a change in machine load hits both;
each block runs the step enough times to last ``block`` seconds. Reported: median sequences per
second over the blocks, the spread (min–max of the blocks, as ± half-range in percent), and the
ratio rnnlab / torch of the medians (> 1: rnnlab is faster). Timing never enters a test.

``--profile CELL:CONFIG[:infer]`` (e.g. ``lstm:medium``, ``bilstm2:medium``, ``rnn:tiny``,
``lstm:large:infer``) times one rnnlab training step (``train_step``; with ``:infer`` one
``predict`` batch) by phase instead: the input product (XP = [X, 1]·[W_ih, b]ᵀ forward; dW_ih, db and dX backward, with their accumulation), the recurrent products (h·W_hhᵀ and
δa·W_hh per step, dW_hh over all steps), the gate math (the cell's element-wise step), the output
layer, the loss, the optimizer, and the rest (Python and bookkeeping: total minus the phases). It
wraps the library's functions from this script (nothing in ``src/`` is timed), and prints the
instrumented step's time beside the plain one (the wrappers' own cost), the matrix-product FLOP
rate of the whole step and of its products alone, and their fraction of a measured GEMM peak.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time

import numpy as np

CONFIGS = {  # name: (input, hidden, steps, batch)
    "tiny": (2, 4, 4, 1),        # the lecture's subtraction net
    "small": (8, 32, 24, 64),
    "medium": (32, 128, 32, 64),
    "large": (128, 512, 64, 32),
}
#: torch module class name per registered recurrent layer that PyTorch has a peer for
TORCH_PEERS = {"rnn": "RNN", "lstm": "LSTM", "gru": "GRU"}
BILSTM = ("bilstm2", "medium")     # 2-layer bidirectional LSTM on the medium config


def registered_cells() -> tuple[str, ...]:
    """The registry's recurrent layers that have a PyTorch peer (IndRNN, e.g., has none)."""
    from rnnlab.registry import recurrent_names
    return tuple(c for c in recurrent_names() if c in TORCH_PEERS)


def gates(cell: str) -> int:
    """Fused gate blocks of a cell, as the cell itself declares them."""
    from rnnlab.registry import recurrent_class
    return recurrent_class("lstm" if cell == "bilstm2" else cell)(1).cell.gates


def matmul_flops(cell: str, cfg, mode: str) -> float:
    """FLOPs of the matrix products of one batch: 2·T·B·G·H·(F + H) per layer and direction
    forward; training adds the same twice (input/recurrent gradients and weight gradients)."""
    f, h, t, b = cfg
    layers = [(f, 2), (2 * h, 2)] if cell == "bilstm2" else [(f, 1)]
    fwd = sum(2.0 * t * b * gates(cell) * h * (fi + h) * dirs for fi, dirs in layers)
    return fwd * (3 if mode == "train" else 1)


def gemm_peak(seconds: float = 1.0) -> float:
    """Median GFLOP/s of a 1024³ float32 NumPy matmul at the current thread settings."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((1024, 1024)).astype(np.float32)
    out = np.empty_like(a)
    np.matmul(a, a, out=out)
    rates, t_end = [], time.perf_counter() + seconds
    while time.perf_counter() < t_end or len(rates) < 5:
        t0 = time.perf_counter()
        np.matmul(a, a, out=out)
        rates.append(2 * 1024 ** 3 / (time.perf_counter() - t0) / 1e9)
    return statistics.median(rates)


def thread_sweep(quick: bool) -> list[dict]:
    """The per-step recurrent products of each configuration (B × H × G·H, forward and backward)
    and a few larger ones, timed at 1 thread and at BLAS's full count: where does threading pay?"""
    from rnnlab import threads
    full = threads.blas_threads() or 1
    shapes = sorted({(b, h, g * h) for (_, h, _, b) in CONFIGS.values() for g in (1, 3, 4)}
                    | {(64, 256, 1024), (128, 256, 1024), (64, 512, 2048), (128, 512, 2048), (256, 1024, 4096)},
                    key=lambda s: s[0] * s[1] * s[2])
    rng = np.random.default_rng(0)
    out = []
    print(f"per-step product h·Wᵀ (B × H × G·H) and δa·W, µs per pair, 1 thread vs {full} "
          f"(median of interleaved blocks)")
    print(f"{'B':>5s} {'H':>5s} {'G·H':>6s} {'B·H·G·H':>12s} {'1 thread':>10s} {f'{full} threads':>11s} {'speed-up':>9s}")
    for b, h, gh in shapes:
        hh = rng.standard_normal((b, h)).astype(np.float32)
        w_t = rng.standard_normal((h, gh)).astype(np.float32)
        w = np.ascontiguousarray(w_t.T)
        a = np.empty((b, gh), np.float32)
        d = np.empty((b, h), np.float32)

        def pair():
            np.matmul(hh, w_t, out=a)
            np.matmul(a, w, out=d)
        n = max(3, int((2e7 if quick else 6e7) / (4 * b * h * gh)))
        times = {1: [], full: []}
        for _ in range(3 if quick else 7):
            for k in times:
                with threads.limit(k) if k == 1 else _nullcontext():
                    pair()
                    t0 = time.perf_counter()
                    for _ in range(n):
                        pair()
                    times[k].append((time.perf_counter() - t0) / n * 1e6)
        t1, tn = statistics.median(times[1]), statistics.median(times[full])
        out.append({"batch": b, "hidden": h, "gh": gh, "mnk": b * h * gh, "us_1_thread": round(t1, 1),
                    f"us_{full}_threads": round(tn, 1), "speedup": round(t1 / tn, 2)})
        print(f"{b:>5d} {h:>5d} {gh:>6d} {b * h * gh:>12,d} {t1:>10.1f} {tn:>11.1f} {t1 / tn:>9.2f}")
    return out


class _nullcontext:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def loadavg() -> str:
    try:
        return " ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        return "n/a"


# -- models -----------------------------------------------------------------------------------
def build_rnnlab(cell: str, cfg: tuple[int, int, int, int], lr: float):
    import rnnlab
    from rnnlab.registry import make_recurrent
    f, h, _, _ = cfg
    if cell == "bilstm2":
        layers = [rnnlab.Bidirectional(rnnlab.LSTM(h, return_sequences=True)),
                  rnnlab.Bidirectional(rnnlab.LSTM(h)), rnnlab.Dense(1)]
    else:
        layers = [make_recurrent(cell, h), rnnlab.Dense(1)]
    model = rnnlab.Sequential(layers, input_size=f, seed=0, dtype="float32")
    model.compile(loss="mse", optimizer="sgd", lr=lr)
    return model


class TorchNet:
    """torch twin: nn.RNN/LSTM/GRU (batch_first) + nn.Linear on the last step's state (h_n)."""

    def __init__(self, cell: str, cfg, model, lr: float) -> None:
        import torch
        f, h, _, _ = cfg
        kind = getattr(torch.nn, TORCH_PEERS.get(cell, "LSTM"))          # bilstm2: a 2-layer nn.LSTM
        kw = dict(num_layers=2, bidirectional=True) if cell == "bilstm2" else {}
        self.rnn = kind(f, h, batch_first=True, **kw)
        self.lin = torch.nn.Linear(2 * h if cell == "bilstm2" else h, 1)
        self.bi = cell == "bilstm2"
        with torch.no_grad():
            for name, value, _ in model.named_params():
                t = self._torch_param(name)
                t.copy_(torch.from_numpy(np.ascontiguousarray(value)))
        self.params = list(self.rnn.parameters()) + list(self.lin.parameters())
        self.opt = torch.optim.SGD(self.params, lr=lr)
        self.torch = torch

    def _torch_param(self, name: str):
        parts = name.split(".")           # layers.<i>.[forward|backward.]<param>
        i = int(parts[1])
        if parts[-1] in ("weight", "bias"):
            return getattr(self.lin, parts[-1])
        suffix = f"_l{i}" + ("_reverse" if "backward" in parts else "")
        return getattr(self.rnn, parts[-1] + suffix)

    def logits(self, x):
        out, hn = self.rnn(x)
        if isinstance(hn, tuple):
            hn = hn[0]
        last = self.torch.cat([hn[-2], hn[-1]], dim=1) if self.bi else hn[-1]
        return self.lin(last)

    def train_step(self, x, y):
        self.opt.zero_grad(set_to_none=True)
        loss = self.torch.nn.functional.mse_loss(self.logits(x), y)
        loss.backward()
        self.opt.step()
        return loss

    def infer(self, x):
        with self.torch.inference_mode():
            return self.logits(x)


# -- profile of one training step ---------------------------------------------------------------
# -- timing -----------------------------------------------------------------------------------
def calls_for(fn, block: float) -> int:
    """How many calls of ``fn`` last about ``block`` seconds (at least 1)."""
    n, t = 1, 0.0
    while True:
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        t = time.perf_counter() - t0
        if t >= block / 4 or n >= 1 << 20:
            break
        n *= 2
    return max(1, int(round(n * block / max(t, 1e-9))))


def time_pair(fns: dict, batch: int, repeats: int, block: float, warmup: float) -> dict:
    """Interleaved blocks; returns per library the list of sequences/second of each block."""
    for fn in fns.values():                      # warm-up (JIT, allocator, caches)
        t_end = time.perf_counter() + warmup
        fn()
        while time.perf_counter() < t_end:
            fn()
    counts = {k: calls_for(fn, block) for k, fn in fns.items()}
    rates = {k: [] for k in fns}
    for _ in range(repeats):
        for k, fn in fns.items():
            n = counts[k]
            t0 = time.perf_counter()
            for _ in range(n):
                fn()
            rates[k].append(n * batch / (time.perf_counter() - t0))
    return rates


def spread(values: list[float]) -> float:
    """Half the min–max range, in percent of the median."""
    med = statistics.median(values)
    return 100.0 * (max(values) - min(values)) / 2 / med if med else 0.0


def row_setup(cell: str, config: str, lr: float):
    """A row's configuration, its data (x, y; seeded) and the rnnlab model."""
    cfg = CONFIGS[config]
    f, h, steps, batch = cfg
    rng = np.random.default_rng(1)
    x = rng.standard_normal((batch, steps, f)).astype(np.float32)
    y = rng.standard_normal((batch, 1)).astype(np.float32)
    return cfg, x, y, build_rnnlab(cell, cfg, lr)


def run_row(cell: str, config: str, modes, args, out_rows: list) -> None:
    import torch
    cfg, x, y, model = row_setup(cell, config, args.lr)
    f, h, steps, batch = cfg
    net = TorchNet(cell, cfg, model, args.lr)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)

    # identical models: same outputs before timing
    ref = net.infer(xt).numpy()
    got = model.predict(x, batch_size=batch)
    err = float(np.max(np.abs(ref - got)))
    if not err < 1e-4:
        raise SystemExit(f"{cell} {config}: rnnlab and torch disagree (max |diff| {err:.2e})")

    from rnnlab.training import train_step
    params = model.named_params()
    train_step(model, x, y, params=params)                # fit's first update checks everything ...

    def rn_train():                                       # ... and the others run as fit runs them
        train_step(model, x, y, check=False, params=params)

    fns = {"train": ({"rnnlab": rn_train, "torch": lambda: net.train_step(xt, yt)}),
           "infer": ({"rnnlab": lambda: model.predict(x, batch_size=batch), "torch": lambda: net.infer(xt)})}
    for mode in modes:
        rates = time_pair(fns[mode], batch, args.repeats, args.block, args.warmup)
        r, t = statistics.median(rates["rnnlab"]), statistics.median(rates["torch"])
        row = {"cell": cell, "config": config, "mode": mode, "input": f, "hidden": h, "steps": steps,
               "batch": batch, "rnnlab_seq_per_s": round(r, 1), "torch_seq_per_s": round(t, 1),
               "ratio": round(r / t, 3), "rnnlab_spread_pct": round(spread(rates["rnnlab"]), 1),
               "torch_spread_pct": round(spread(rates["torch"]), 1), "max_abs_diff_outputs": err}
        fl = matmul_flops(cell, cfg, mode) / batch
        row["rnnlab_matmul_gflops"] = round(r * fl / 1e9, 2)
        row["torch_matmul_gflops"] = round(t * fl / 1e9, 2)
        out_rows.append(row)
        print(format_row(row), flush=True)


HEADER = (f"{'cell':<8s} {'config':<7s} {'mode':<5s} {'rnnlab seq/s':>16s} {'torch seq/s':>16s} {'ratio':>6s}")


def format_row(r: dict) -> str:
    a = f"{r['rnnlab_seq_per_s']:>9,.0f} ±{r['rnnlab_spread_pct']:>3.0f}%"
    b = f"{r['torch_seq_per_s']:>9,.0f} ±{r['torch_spread_pct']:>3.0f}%"
    return f"{r['cell']:<8s} {r['config']:<7s} {r['mode']:<5s} {a:>16s} {b:>16s} {r['ratio']:>6.2f}"


def markdown(rows: list[dict]) -> str:
    lines = ["| cell | config (in, hid, steps, batch) | mode | rnnlab seq/s | torch seq/s | ratio |",
             "|---|---|---|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['cell']} | {r['config']} ({r['input']}, {r['hidden']}, {r['steps']}, {r['batch']}) "
                     f"| {r['mode']} | {r['rnnlab_seq_per_s']:,.0f} ±{r['rnnlab_spread_pct']:.0f}% "
                     f"| {r['torch_seq_per_s']:,.0f} ±{r['torch_spread_pct']:.0f}% | {r['ratio']:.2f} |")
    return "\n".join(lines)


def environment(threads) -> dict:
    import torch
    import rnnlab
    from rnnlab import threads as rthreads
    from threadpoolctl import threadpool_info
    blas = [{k: d.get(k) for k in ("internal_api", "version", "num_threads", "architecture", "threading_layer")}
            for d in threadpool_info() if d.get("user_api") == "blas"]
    try:
        from rnnlab.cells import _kernels
        kernels = _kernels.backend()
    except Exception:   # pragma: no cover
        kernels = "numpy"
    return {
        "machine": platform.machine(), "cpu": cpu_name(), "cores": os.cpu_count(),
        "python": platform.python_version(), "numpy": np.__version__, "blas": blas,
        "torch": torch.__version__, "torch_threads": torch.get_num_threads(),
        "torch_mkldnn": bool(torch.backends.mkldnn.is_available()),
        "rnnlab": rnnlab.__version__, "rnnlab_blas_policy": str(rthreads.get_policy()),
        "rnnlab_kernels": kernels, "threads_requested": str(threads),
        "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"),
        "OPENBLAS_L2_SIZE": os.environ.get("OPENBLAS_L2_SIZE"),
    }


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="short run: fewer and shorter repeats")
    p.add_argument("--json", metavar="FILE", help="write the results as JSON")
    p.add_argument("--threads", default="1",
                   help="threads for BOTH libraries: a number (default 1), or 'auto' (torch's default, "
                        "rnnlab's automatic BLAS policy)")
    p.add_argument("--cells", default=",".join(registered_cells() + ("bilstm2",)),
                   help="comma list of registered cells with a torch peer (rnn,lstm,gru) and bilstm2")
    p.add_argument("--configs", default=",".join(CONFIGS), help="comma list of tiny,small,medium,large")
    p.add_argument("--modes", default="train,infer")
    p.add_argument("--repeats", type=int, default=None, help="timed blocks per library (default 7, quick 3)")
    p.add_argument("--block", type=float, default=None, help="seconds per block (default 0.25, quick 0.08)")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--thread-sweep", action="store_true",
                   help="only time the per-step products at 1 thread vs all threads (the data behind "
                        "rnnlab.threads.AUTO_MIN_MNK) and exit")
    p.add_argument("--profile", metavar="CELL:CONFIG[:infer]",
                   help="only profile one rnnlab training step (or predict batch, ':infer') by phase "
                        "(e.g. lstm:medium, lstm:large:infer) and exit")
    args = p.parse_args(argv)
    args.repeats = args.repeats or (3 if args.quick else 7)
    args.block = args.block or (0.08 if args.quick else 0.25)
    args.warmup = 0.1 if args.quick else 0.3

    import torch
    from rnnlab import threads as rthreads
    if args.thread_sweep:
        rthreads.set_policy("off")
        print(f"load average {loadavg()}")
        res = thread_sweep(args.quick)
        print(f"load average {loadavg()}")
        if args.json:
            with open(args.json, "w") as fh:
                json.dump({"thread_sweep": res, "loadavg": loadavg()}, fh, indent=2)
        return 0
    if args.threads == "auto":
        rthreads.set_policy("auto")
    else:
        n = int(args.threads)
        torch.set_num_threads(n)
        rthreads.set_policy(n)
    torch.manual_seed(0)
    if args.profile:
        from profile_step import profile_step           # benchmarks/profile_step.py
        res = profile_step(args.profile, args)
        if args.json:
            with open(args.json, "w") as fh:
                json.dump({"profile": res, "env": environment(args.threads)}, fh, indent=2)
                fh.write("\n")
        return 0

    t_start = time.perf_counter()
    env = environment(args.threads)
    env["loadavg_start"] = loadavg()
    env["gemm_peak_gflops_start"] = round(gemm_peak(0.5 if args.quick else 1.0), 1)
    print("rnnlab vs PyTorch (CPU), float32, " + ("quick run" if args.quick else "full run"))
    for k in ("cpu", "cores", "python", "numpy", "blas", "torch", "torch_threads", "torch_mkldnn",
              "rnnlab_blas_policy", "rnnlab_kernels", "OPENBLAS_CORETYPE", "loadavg_start",
              "gemm_peak_gflops_start"):
        print(f"  {k}: {env[k]}")
    print(f"  repeats {args.repeats} x {args.block:g} s blocks, interleaved; ratio = rnnlab / torch (medians)")
    print(HEADER)
    rows: list[dict] = []
    cells = [c for c in args.cells.split(",") if c]
    configs = [c for c in args.configs.split(",") if c]
    modes = [m for m in args.modes.split(",") if m]
    for cell in cells:
        if cell == "bilstm2":
            continue
        for config in configs:
            run_row(cell, config, modes, args, rows)
    if "bilstm2" in cells:
        run_row(*BILSTM, modes, args, rows)
    env["loadavg_end"] = loadavg()
    env["gemm_peak_gflops_end"] = round(gemm_peak(0.5 if args.quick else 1.0), 1)
    env["seconds"] = round(time.perf_counter() - t_start, 1)
    print(f"done in {env['seconds']:.0f} s; load average {env['loadavg_start']} -> {env['loadavg_end']}; "
          f"GEMM peak (1024³ sgemm) {env['gemm_peak_gflops_start']} -> {env['gemm_peak_gflops_end']} GFLOP/s")
    peak = max(env["gemm_peak_gflops_start"], env["gemm_peak_gflops_end"])
    print("matrix-product GFLOP/s reached (model FLOPs x batches/s), fraction of the GEMM peak:")
    for r in rows:
        if r["config"] in ("medium", "large"):
            print(f"  {r['cell']:<8s} {r['config']:<7s} {r['mode']:<5s} rnnlab {r['rnnlab_matmul_gflops']:6.1f} "
                  f"({r['rnnlab_matmul_gflops'] / peak:4.0%})  torch {r['torch_matmul_gflops']:6.1f} "
                  f"({r['torch_matmul_gflops'] / peak:4.0%})")
    print()
    print(markdown(rows))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"rows": rows, "env": env}, fh, indent=2)
            fh.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
