"""Where one rnnlab training step's time goes: ``python benchmarks/rnn_vs_torch.py --profile CELL:CONFIG``
(``CELL:CONFIG:infer``: one ``predict`` batch instead, forward only).

The step (``rnnlab.training.train_step``) is timed by phase — input product, recurrent
products, gate math, output layer, loss, optimizer, and the rest (Python and bookkeeping) — by
wrapping the library's functions from here (nothing in ``src/`` is timed); the wrappers' own
cost is measured and taken off. Also printed: the FLOP rate of the whole step and of its matrix
products alone, as a fraction of a measured GEMM peak. Kept apart from ``rnn_vs_torch.py`` (which
calls it) so that each file stays one concept.
"""
from __future__ import annotations

import collections
import math
import statistics
import time

import numpy as np

from rnn_vs_torch import CONFIGS, TORCH_PEERS, calls_for, gates, gemm_peak, loadavg, matmul_flops, row_setup

MISSING = object()          # "the attribute was not in the object's own __dict__"


PHASES = [  # key, label, group
    ("input_fwd", "input product forward   XP = [X,1]·[W_ih,b]ᵀ", "input product"),
    ("input_bwd", "input side backward     dW_ih, db, dX (+ accumulation)", "input product"),
    ("rec_fwd", "recurrent products fwd  h_{t-1}·W_hhᵀ per step", "recurrent products"),
    ("rec_bwd", "recurrent products bwd  δa_t·W_hh per step", "recurrent products"),
    ("rec_wgrad", "recurrent weight grad   dW_hh, all steps at once", "recurrent products"),
    ("gate_fwd", "gate math forward       the cell's element-wise step", "gate math"),
    ("gate_bwd", "gate math backward", "gate math"),
    ("head", "output layer            Dense forward + backward", "output layer"),
    ("loss", "loss                    forward + backward", "loss"),
    ("optimizer", "optimizer               SGD step (+ gradient norm)", "optimizer"),
]


class _PhaseTimer:
    """Exclusive time per phase: a wrapped call's time minus the wrapped calls inside it. Counts,
    per phase, the wrapped calls made directly inside its calls (the wrappers' cost it carries)."""

    def __init__(self) -> None:
        self.stack: list[list] = []          # [phase, time of wrapped calls inside]
        self.reset()

    def reset(self) -> None:
        self.total: dict[str, float] = collections.defaultdict(float)
        self.children: dict[str, int] = collections.defaultdict(int)
        self.top = 0                         # wrapped calls made outside any other

    def wrap(self, fn, phase):
        def timed(*a, **kw):
            ph = phase(self.stack) if callable(phase) else phase
            self.stack.append([ph, 0.0])
            t0 = time.perf_counter()
            try:
                return fn(*a, **kw)
            finally:
                dt = time.perf_counter() - t0
                ph, inner = self.stack.pop()
                if ph is not None:
                    self.total[ph] += dt - inner
                if self.stack:
                    self.stack[-1][1] += dt if ph is not None else inner
                    self.children[self.stack[-1][0]] += 1   # its wrapper's cost is in the caller's time
                else:
                    self.top += 1
        return timed


def _wrapper_cost() -> float:
    """Seconds a wrapped call adds to its caller (a wrapped no-op inside a wrapped call, minus a plain one)."""
    timer = _PhaseTimer()

    def noop():
        return None
    inner = timer.wrap(noop, "inner")
    n = 20000

    def run(f):
        best = math.inf
        for _ in range(5):
            t0 = time.perf_counter()
            for _ in range(n):
                f()
            best = min(best, time.perf_counter() - t0)
        return best / n
    return max(0.0, run(inner) - run(noop))


class NumpyWith:
    """Stands for ``numpy`` in one module (patched in as its ``np``): every attribute is numpy's
    but the functions given, e.g. ``NumpyWith(dot=timed_dot)``."""

    def __init__(self, **functions) -> None:
        self.__dict__.update(functions)

    def __getattr__(self, name):
        return getattr(np, name)


def _matmul_phase(stack) -> str | None:
    """A product's phase follows the wrapped call it runs in."""
    inside = stack[-1][0] if stack else None
    return {"gate_fwd": "rec_fwd", "gate_bwd": "rec_bwd", "rec_wgrad": "rec_wgrad",
            None: None}.get(inside, "input_fwd" if inside == "runner_fwd" else None)


def profile_step(spec: str, args) -> dict:
    """Where one rnnlab training step's time goes (see the module docstring)."""
    import importlib
    from rnnlab import Dense
    from rnnlab.layers import recurrent as rec_mod
    from rnnlab.training import train_step
    cell, _, config = spec.partition(":")
    config, _, mode = config.partition(":")
    mode = mode or "train"
    if config not in CONFIGS or cell not in TORCH_PEERS and cell != "bilstm2" or mode not in ("train", "infer"):
        raise SystemExit(f"--profile: expected CELL:CONFIG[:MODE] with CELL in {sorted(TORCH_PEERS) + ['bilstm2']}, "
                         f"CONFIG in {sorted(CONFIGS)} and MODE train (default) or infer, got {spec!r}")
    cfg, x, y, model = row_setup(cell, config, args.lr)
    f, h, steps, batch = cfg

    params = model.named_params()
    train_step(model, x, y, params=params)

    def step():                              # an update as fit runs it after its first
        train_step(model, x, y, check=False, params=params)

    if mode == "infer":                      # what predict runs: forward only, nothing kept
        def step():                          # noqa: F811
            model.predict(x, batch_size=batch)

    for _ in range(3):                       # warm-up: buffers, compiled kernels
        step()
    n = calls_for(step, args.block)
    repeats = max(args.repeats, 5)

    def blocks() -> list[float]:
        out = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            for _ in range(n):
                step()
            out.append((time.perf_counter() - t0) / n)
        return out

    timer = _PhaseTimer()
    runner = rec_mod.Recurrent
    cell_cls = type(model.layers[0].forward_layer.cell if cell == "bilstm2" else model.layers[0].cell)
    cell_mod = importlib.import_module(cell_cls.__module__)
    patches = [(runner, "_forward_steps", timer.wrap(runner._forward_steps, "runner_fwd")),
               (runner, "_backward_steps", timer.wrap(runner._backward_steps, "input_bwd")),
               (cell_cls, "step_forward", timer.wrap(cell_cls.step_forward, "gate_fwd")),
               (cell_cls, "step_backward", timer.wrap(cell_cls.step_backward, "gate_bwd")),
               (cell_cls, "weight_hh_grad", timer.wrap(cell_cls.weight_hh_grad, "rec_wgrad")),
               (Dense, "forward", timer.wrap(Dense.forward, "head")),
               (Dense, "backward", timer.wrap(Dense.backward, "head")),
               (model.compiled_loss, "forward", timer.wrap(model.compiled_loss.forward, "loss")),
               (model.compiled_loss, "backward", timer.wrap(model.compiled_loss.backward, "loss")),
               (model.optimizer, "step", timer.wrap(model.optimizer.step, "optimizer"))]
    timed_np = NumpyWith(matmul=timer.wrap(np.matmul, _matmul_phase), dot=timer.wrap(np.dot, _matmul_phase))
    base_mod = importlib.import_module("rnnlab.cells.base")      # the cells' shared product helpers
    patches += [(rec_mod, "np", timed_np), (cell_mod, "np", timed_np), (base_mod, "np", timed_np)]
    saved = [(obj, name, obj.__dict__.get(name, MISSING) if hasattr(obj, "__dict__") else MISSING)
             for obj, name, _ in patches]
    plain = blocks()
    for obj, name, fn in patches:
        setattr(obj, name, fn)
    try:
        step()
        timer.reset()
        inst = blocks()
    finally:
        for obj, name, old in saved:
            if old is MISSING:
                delattr(obj, name)
            else:
                setattr(obj, name, old)
    plain_s, inst_s = statistics.median(plain), statistics.median(inst)
    calls = n * repeats
    cost = _wrapper_cost()
    # each phase's time, less the cost of the wrapped calls made inside it; shares of the plain step
    # (the forward runner's own work, "runner_fwd": its copies and loop, stays in the rest)
    per_step = {k: max(0.0, timer.total[k] - cost * timer.children[k]) / calls for k, _, _ in PHASES}
    mean_inst = statistics.mean(inst)
    rest = (mean_inst - sum(timer.total.values()) / calls - cost * timer.top / calls
            - cost * timer.children[None] / calls)    # untimed time, less the outermost wrappers' cost
    est = sum(per_step.values()) + rest             # the step without wrappers, from the phases
    peak = gemm_peak(0.5 if args.quick else 1.0)
    flops = matmul_flops(cell, cfg, mode)
    g = gates("lstm" if cell == "bilstm2" else cell)
    layers = [(f, 2), (2 * h, 2)] if cell == "bilstm2" else [(f, 1)]
    input_flops = sum((3 if mode == "train" else 1) * 2.0 * steps * batch * g * h * fi * d for fi, d in layers)
    rec_flops = flops - input_flops
    t_in = per_step["input_fwd"] + per_step["input_bwd"]
    t_rec = per_step["rec_fwd"] + per_step["rec_bwd"] + per_step["rec_wgrad"]
    what = "training step (SGD, MSE)" if mode == "train" else "inference batch (predict)"
    print(f"profile of one rnnlab {what}: {cell} {config} (input {f}, hidden {h}, steps {steps}, "
          f"batch {batch}), float32; {repeats} blocks of {n} calls; load average {loadavg()}")
    print(f"  step: {plain_s * 1e3:.3f} ms plain, {inst_s * 1e3:.3f} ms instrumented "
          f"({100 * (inst_s / plain_s - 1):+.1f} %), {est * 1e3:.3f} ms from the phases below (the wrappers' "
          f"measured cost, {cost * 1e6:.2f} µs per wrapped call, taken off; shares of that sum)")
    print(f"  {'phase':<56s} {'ms':>8s} {'share':>6s}")
    rows = []
    for key, label, group in PHASES:
        rows.append({"phase": key, "label": label, "group": group, "ms": per_step[key] * 1e3,
                     "share": per_step[key] / est})
    rows.append({"phase": "rest", "label": "Python overhead & rest  runner bookkeeping, zero_grad, copies",
                 "group": "Python overhead", "ms": rest * 1e3, "share": rest / est})
    for r in rows:
        print(f"  {r['label']:<56s} {r['ms']:>8.3f} {r['share']:>6.1%}")
    groups: dict[str, float] = {}
    for r in rows:
        groups[r["group"]] = groups.get(r["group"], 0.0) + r["share"]
    print("  shares: " + ", ".join(f"{k} {v:.1%}" for k, v in groups.items()))
    step_rate = flops / plain_s / 1e9
    prod_rate = (input_flops + rec_flops) / (t_in + t_rec) / 1e9 if t_in + t_rec > 0 else float("nan")
    print(f"  GEMM peak (1024³ sgemm, these threads): {peak:.1f} GFLOP/s")
    print(f"  matrix-product FLOPs per step {flops / 1e6:.4g} M: whole step {step_rate:.3g} GFLOP/s "
          f"({step_rate / peak:.1%} of peak); products alone {prod_rate:.3g} GFLOP/s ({prod_rate / peak:.1%}): "
          f"input side {input_flops / t_in / 1e9 if t_in else float('nan'):.3g}, recurrent "
          f"{rec_flops / t_rec / 1e9 if t_rec else float('nan'):.3g} GFLOP/s")
    return {"cell": cell, "config": config, "mode": mode, "step_ms_plain": round(plain_s * 1e3, 4),
            "step_ms_instrumented": round(inst_s * 1e3, 4),
            "step_ms_from_phases": round(est * 1e3, 4), "phases": rows, "groups": groups,
            "gemm_peak_gflops": round(peak, 1), "step_gflops": round(step_rate, 2),
            "products_gflops": round(prod_rate, 2), "wrapper_cost_us": round(cost * 1e6, 3), "fraction_of_peak_step": round(step_rate / peak, 3),
            "fraction_of_peak_products": round(prod_rate / peak, 3), "loadavg": loadavg()}
