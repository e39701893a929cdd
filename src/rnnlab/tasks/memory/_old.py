"""Long-range memory: remember the first symbol across T steps — simple RNN vs LSTM vs GRU.

The lecture's claim, with numbers. Backpropagated through time, the error reaching step k from a
loss at step t is ``δ_k = δ_t · Π_{i=k}^{t-1} diag[f'(z_i)]·W``: for a simple RNN that product
shrinks (or grows) geometrically with ``t - k``, so a dependency T steps long gets a gradient
``~ρ^T``. LSTM's cell state (``δc_{t-1} = δc_t ∘ f_t``) and GRU's update gate carry it through
a product of gates instead, which can stay near 1.

The task (Hochreiter & Schmidhuber 1997, experiment 2: "noise-free and noisy sequences")
    Step 0 shows one of ``--symbols`` K symbols (one-hot); steps 1 … T-1 show distractors; after
    step T-1 the network must name the first symbol (softmax over K at the last step, cross-
    entropy). Chance accuracy is 1/K. ``--distractors noise`` (default) draws the distractors
    from ``--noise-symbols`` extra symbols that are never the answer; ``--distractors all`` uses
    :func:`rnnlab.data.synthetic.first_symbol_task`, whose distractors include the K answer
    symbols (the network must also tell the first step apart: much slower for every cell).

Training
    Fresh sequences every epoch (``--batches-per-epoch`` mini-batches of ``--batch-size``), Adam,
    global-norm clipping ``--clipnorm``; a fixed validation set for early stopping — stop once its
    accuracy reaches ``--target`` (solved) or after ``--patience`` epochs without a lower
    validation loss; the weights with the lowest validation loss are restored — and a separate
    held-out test set for the reported accuracy. Validation and test sets depend only on
    (seed, T), so all three cells see the same ones.

Gate initialisation (``--gate-init``)
    ``chrono`` (default; Tallec & Ollivier 2018): LSTM forget-gate bias ``log U(1, T-1)`` and
    input-gate bias its negative; GRU update-gate bias (the gate that keeps the old state in
    PyTorch's convention) ``log U(1, T-1)``: the gates start out remembering for about T steps.
    ``standard``: LSTM ``forget_bias=1`` (Jozefowicz et al. 2015), GRU the library default. The
    simple RNN has no gate; it keeps the library's uniform ±1/√H initialisation either way.

``rnnlab run memory --cell lstm --steps 100`` trains one cell; ``rnnlab run memory --sweep``
trains all three for every T of ``--sweep-steps`` and writes the comparison:

| file                 | what                                                                 |
|----------------------|----------------------------------------------------------------------|
| sweep.md / sweep.json | test accuracy, updates, time, gradient ratio per (cell, T); the largest T each cell solves |
| sweep.png            | test accuracy against T, one line per cell, chance and target lines   |
| gradient_norms.png   | ‖∂L/∂h_t‖ against t (log scale), each cell at initialisation and trained (T = ``--grad-steps``) |
| exploding.png        | a tanh RNN's ‖∂L/∂h_t‖ for recurrent weights ρ·Q (ρ = 0.5 … 3); a ReLU RNN with ρ = 2 trained with and without clipping |
| metrics.json         | all of the above as numbers, baselines (chance, majority class), hyperparameters |
"""
from __future__ import annotations

import argparse
import json
import math
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from ..layers.dense import Dense
from ..model import Sequential
from .base import RunFolder, add_common_arguments, make_recurrent, say

NAME = "memory"
SUMMARY = "remember the first symbol across T steps: RNN vs LSTM vs GRU, vanishing/exploding gradients (--sweep)"

CELLS = ("rnn", "lstm", "gru")
SOLVED = 0.9          # test accuracy at which a (cell, T) counts as solved in the sweep table


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_common_arguments(p, epochs=75, batch_size=32, lr=0.002, hidden=32, cell="lstm")
    p.add_argument("--steps", type=int, default=100, help="dependency length T: sequence steps (default 100)")
    p.add_argument("--symbols", type=int, default=8, help="K symbols to remember; chance = 1/K (default 8)")
    p.add_argument("--noise-symbols", type=int, default=4,
                   help="distractor symbols that are never the answer (default 4; --distractors noise)")
    p.add_argument("--distractors", choices=["noise", "all"], default="noise",
                   help="noise: distractors from the noise symbols (default); all: from all K+1 symbols "
                        "(rnnlab.data.synthetic.first_symbol_task)")
    p.add_argument("--batches-per-epoch", type=int, default=20,
                   help="mini-batches of fresh sequences per epoch (default 20)")
    p.add_argument("--patience", type=int, default=40,
                   help="stop after this many epochs without a lower validation loss (default 40)")
    p.add_argument("--target", type=float, default=0.99,
                   help="stop once validation accuracy reaches this (default 0.99)")
    p.add_argument("--clipnorm", type=float, default=1.0, help="global-norm gradient clipping (default 1.0)")
    p.add_argument("--gate-init", choices=["chrono", "standard"], default="chrono",
                   help="LSTM/GRU gate biases: chrono (remember ~T steps at start, default) or standard")
    p.add_argument("--val-samples", type=int, default=1000, help="validation sequences (default 1000)")
    p.add_argument("--test-samples", type=int, default=2000, help="held-out test sequences (default 2000)")
    p.add_argument("--sweep", action="store_true",
                   help="train every cell of --sweep-cells for every T of --sweep-steps; table and plots")
    p.add_argument("--sweep-steps", default="10,20,50,100,200,400",
                   help="comma-separated dependency lengths for --sweep (default 10,20,50,100,200,400)")
    p.add_argument("--sweep-cells", default="rnn,lstm,gru", help="cells for --sweep (default rnn,lstm,gru)")
    p.add_argument("--grad-steps", type=int, default=100,
                   help="T of the gradient-norm figure in --sweep (must be one of --sweep-steps; default 100)")
    p.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1),
                   help="parallel training processes for --sweep (default: min(2, cores))")


# ------------------------------------------------------------------------------------------ data
def n_features(args) -> int:
    return args.symbols + (1 if args.distractors == "all" else args.noise_symbols)


def remember_first(n: int, steps: int, n_symbols: int, n_noise: int, rng: np.random.Generator,
                   distractors: str = "noise", dtype: Any = np.float32) -> tuple[np.ndarray, np.ndarray]:
    """``x (n, steps, F)`` one-hot and ``y (n,)`` int64: the symbol shown at step 0.

    ``distractors="noise"``: steps 1… hold one of ``n_noise`` noise symbols (indices
    ``n_symbols … n_symbols + n_noise - 1``, never an answer), F = n_symbols + n_noise.
    ``distractors="all"``: :func:`rnnlab.data.synthetic.first_symbol_task` (distractors from all
    ``n_symbols + 1`` symbols, answers included), F = n_symbols + 1.
    """
    if distractors == "all":
        from ..data.synthetic import first_symbol_task
        return first_symbol_task(n, steps, n_symbols, rng, dtype=dtype)
    from ..errors import InputError
    if n_symbols < 2 or n_noise < 1 or steps < 1:
        raise InputError(f"remember_first: need n_symbols >= 2, n_noise >= 1, steps >= 1; got "
                         f"{n_symbols}, {n_noise}, {steps}")
    y = rng.integers(0, n_symbols, size=n)
    symbols = rng.integers(n_symbols, n_symbols + n_noise, size=(n, steps))
    symbols[:, 0] = y
    return np.eye(n_symbols + n_noise, dtype=dtype)[symbols], y.astype(np.int64)


def _streams(seed: int, steps: int):
    """Independent generators for training, validation, test, init: depend on (seed, T) only."""
    return [np.random.default_rng([seed, steps, k]) for k in range(4)]


# ----------------------------------------------------------------------------------------- model
def build_model(cell: str, hidden: int, n_in: int, n_out: int, steps: int, seed: int,
                gate_init: str, lr: float, clipnorm: float | None) -> Sequential:
    kw: dict[str, Any] = {}
    if cell == "lstm" and gate_init == "standard":
        kw["forget_bias"] = 1.0
    model = Sequential([make_recurrent(cell, hidden, **kw), Dense(n_out)], input_size=n_in, seed=seed)
    if gate_init == "chrono" and cell in ("lstm", "gru"):
        chrono_init(model.layers[0], steps, _streams(seed, steps)[3])
    model.compile(loss="categorical_crossentropy", optimizer="adam", lr=lr, clipnorm=clipnorm,
                  metrics=["accuracy"])
    return model


def chrono_init(layer, steps: int, rng: np.random.Generator) -> None:
    """Chrono initialisation (Tallec & Ollivier 2018) of an LSTM or GRU layer's gate biases.

    ``b ~ log U(1, T_max - 1)`` per unit, so a gate σ(b) = u/(1+u) keeps the old state with a
    characteristic memory of u steps, u spread over [1, T_max - 1]:
    LSTM forget gate (block f) ``b_f = b``, input gate ``b_i = -b``; GRU (PyTorch convention
    ``h' = (1 - z)·n + z·h``, z keeps the old state) ``b_z = b``. The other biases are unchanged;
    the whole value goes into ``bias_ih`` and the block of ``bias_hh`` is zeroed.
    """
    h = layer.hidden_size
    b = np.log(rng.uniform(1.0, max(steps - 1, 2), size=h)).astype(layer.dtype)
    p = layer.params
    name = type(layer.cell).__name__
    if name == "LSTMCell":               # gate order i, f, g, o
        p["bias_ih"][h:2 * h], p["bias_hh"][h:2 * h] = b, 0.0
        p["bias_ih"][:h], p["bias_hh"][:h] = -b, 0.0
    elif name == "GRUCell":              # gate order r, z, n
        p["bias_ih"][h:2 * h], p["bias_hh"][h:2 * h] = b, 0.0
    else:
        from ..errors import InputError
        raise InputError(f"chrono_init: expected an LSTM or GRU layer, got {type(layer).__name__}")


# -------------------------------------------------------------------------------------- training
def train_one(spec: dict[str, Any], log=None) -> dict[str, Any]:
    """Train one (cell, T); return metrics, history and gradient norms. ``spec``: the CLI options."""
    from ..callbacks import History
    from ..gradflow import gradient_norms
    a = argparse.Namespace(**spec)
    cell, steps = a.cell, a.steps
    r_train, r_val, r_test, _ = _streams(a.seed, steps)
    gen = lambda n, rng: remember_first(n, steps, a.symbols, a.noise_symbols, rng, a.distractors)
    x_val, y_val = gen(a.val_samples, r_val)
    x_test, y_test = gen(a.test_samples, r_test)
    n_in = x_val.shape[2]
    model = build_model(cell, a.hidden, n_in, a.symbols, steps, a.seed, a.gate_init, a.lr, a.clipnorm)
    xg, yg = x_test[:256], y_test[:256]
    grad_init = gradient_norms(model, xg, yg)

    t0 = time.perf_counter()
    history = History()
    best_loss, best_weights, best_epoch, wait = math.inf, model.get_weights(), 0, 0
    solved_epoch = None
    for epoch in range(1, a.epochs + 1):
        x, y = gen(a.batch_size * a.batches_per_epoch, r_train)
        h = model.fit(x, y, epochs=1, batch_size=a.batch_size, validation_data=(x_val, y_val),
                      verbose=0, shuffle=False)
        logs = {k: v[-1] for k, v in h.history.items()}
        history.append(epoch, logs)
        if logs["val_loss"] < best_loss:
            best_loss, best_weights, best_epoch, wait = logs["val_loss"], model.get_weights(), epoch, 0
        else:
            wait += 1
        if log is not None and (epoch % 10 == 0 or epoch == 1):
            log(f"  {cell} T={steps} epoch {epoch}: loss {logs['loss']:.4f}  val_accuracy "
                f"{logs['val_accuracy']:.3f}")
        if logs["val_accuracy"] >= a.target:
            solved_epoch = epoch
            break
        if wait >= a.patience:
            break
    model.set_weights(best_weights)
    seconds = time.perf_counter() - t0
    test = model.evaluate(x_test, y_test)
    grad_trained = gradient_norms(model, xg, yg)
    return {
        "cell": cell, "steps": steps,
        "test_accuracy": test["accuracy"], "test_loss": test["loss"],
        "epochs": len(history.epochs), "updates": len(history.epochs) * a.batches_per_epoch,
        "best_epoch": best_epoch, "reached_target_epoch": solved_epoch, "train_seconds": seconds,
        "grad_norms_init": grad_init, "grad_norms_trained": grad_trained,
        "grad_ratio_init": float(grad_init[0] / grad_init[-1]),
        "grad_ratio_trained": float(grad_trained[0] / grad_trained[-1]),
        "history": history, "model": model, "n_features": n_in,
        "baselines": _baselines(y_test, a.symbols),
    }


def _baselines(y_test: np.ndarray, k: int) -> dict[str, float]:
    counts = np.bincount(y_test, minlength=k)
    return {"chance": 1.0 / k, "majority_class_test": float(counts.max() / counts.sum()),
            "chance_plus_3sd": 1.0 / k + 3 * math.sqrt((1 / k) * (1 - 1 / k) / len(y_test))}


def _worker_init() -> None:
    from .. import threads
    if not os.environ.get(threads.ENV_VAR):
        threads.set_policy(1)       # one BLAS thread per process: the jobs share the cores


def _sweep_job(spec: dict[str, Any]) -> dict[str, Any]:
    res = train_one(spec)
    res.pop("model")
    hist = res.pop("history")
    res["history"] = {"epochs": hist.epochs, **hist.history}
    for k in ("grad_norms_init", "grad_norms_trained"):
        res[k] = res[k].tolist()
    return res


# ------------------------------------------------------------------------------------ single run
def _one_blas_thread():
    """These models are tiny (H = 32): extra BLAS threads only add synchronisation, and on a
    shared 2-core machine they cost many times the product itself. One thread, unless the user
    chose a policy through ``RNNLAB_BLAS_THREADS``."""
    import contextlib
    from .. import threads
    return contextlib.nullcontext() if os.environ.get(threads.ENV_VAR) else threads.policy(1)


def run(args: argparse.Namespace) -> dict:
    with _one_blas_thread():
        return run_sweep(args) if args.sweep else run_single(args)


def run_single(args: argparse.Namespace) -> dict:
    spec = {k: v for k, v in vars(args).items() if k not in ("func", "out")}
    folder = RunFolder(NAME, args.out, args)
    say(args, f"memory: {args.cell}, T = {args.steps}, {args.symbols} symbols (chance {1 / args.symbols:.3f}), "
              f"distractors {args.distractors}, gate init {args.gate_init}")
    res = train_one(spec, log=None if args.quiet else print)
    folder.write_history(res["history"], title=f"memory {args.cell} T={args.steps}")
    _plot_grad_norms(folder.file("gradient_norms.png"), {args.cell: res}, args.steps)
    res["model"].save(folder.file("model"))
    metrics = {k: res[k] for k in ("test_accuracy", "test_loss", "epochs", "updates", "best_epoch",
                                   "reached_target_epoch", "train_seconds", "grad_ratio_init",
                                   "grad_ratio_trained")}
    metrics["solved"] = bool(res["test_accuracy"] >= SOLVED)
    extra = {"gradient_norms": {"init": res["grad_norms_init"].tolist(),
                                "trained": res["grad_norms_trained"].tolist(),
                                "what": "mean over 256 test sequences of ||dL_b/dh_t||, t = 0..T-1 "
                                        "(rnnlab.gradflow.gradient_norms)"}}
    doc = folder.write_metrics(metrics, res["baselines"], extra)
    say(args, f"memory ({args.cell}, T = {args.steps}): test accuracy {res['test_accuracy']:.4f} "
              f"(chance {1 / args.symbols:.3f}) after {res['updates']} updates, {res['train_seconds']:.1f} s; "
              f"||dL/dh_0|| / ||dL/dh_T-1|| = {res['grad_ratio_init']:.1e} at init, "
              f"{res['grad_ratio_trained']:.1e} trained  -> {folder.path}")
    return doc


# ------------------------------------------------------------------------------------------ sweep
def _parse_list(text: str, kind, name: str) -> list:
    from ..errors import InputError
    try:
        out = [kind(v.strip()) for v in str(text).split(",") if v.strip()]
    except ValueError:
        raise InputError(f"{name}: expected a comma-separated list, got {text!r}") from None
    if not out:
        raise InputError(f"{name}: empty list")
    return out


def run_sweep(args: argparse.Namespace) -> dict:
    from ..errors import InputError
    steps_list = sorted(set(_parse_list(args.sweep_steps, int, "--sweep-steps")))
    cells = _parse_list(args.sweep_cells, str, "--sweep-cells")
    bad = [c for c in cells if c not in CELLS]
    if bad or min(steps_list) < 2:
        raise InputError(f"--sweep-cells: expected names from {CELLS}, got {bad}" if bad
                         else "--sweep-steps: every T must be >= 2")
    grad_steps = args.grad_steps if args.grad_steps in steps_list else steps_list[len(steps_list) // 2]
    folder = RunFolder(NAME, args.out, args)
    t0 = time.perf_counter()
    base = {k: v for k, v in vars(args).items() if k not in ("func", "out")}
    specs = [{**base, "cell": c, "steps": t} for c in cells for t in steps_list]
    # longest first (RNN last among equals: it is the cheapest per step) so the pool finishes together
    order = sorted(specs, key=lambda s: (-s["steps"], s["cell"] == "rnn"))
    say(args, f"memory sweep: cells {cells}, T = {steps_list}, {len(specs)} runs on {args.jobs} process(es)")
    results: dict[tuple[str, int], dict] = {}

    def done(res):
        results[(res["cell"], res["steps"])] = res
        say(args, f"  {res['cell']:>4s} T={res['steps']:<4d} test accuracy {res['test_accuracy']:.3f}  "
                  f"{res['updates']:>5d} updates  {res['train_seconds']:6.1f} s  "
                  f"grad ratio h0/hT init {res['grad_ratio_init']:.1e} trained {res['grad_ratio_trained']:.1e}")

    if args.jobs > 1:
        import concurrent.futures as cf
        import multiprocessing as mp
        with cf.ProcessPoolExecutor(max_workers=args.jobs, mp_context=mp.get_context("spawn"),
                                    initializer=_worker_init) as pool:
            futures = [pool.submit(_sweep_job, s) for s in order]
            for f in cf.as_completed(futures):
                done(f.result())
    else:
        for s in order:
            done(_sweep_job(s))

    exploding = exploding_demo(folder, args)
    wall = time.perf_counter() - t0
    table, summary = _sweep_table(results, cells, steps_list, args)
    folder.write_text("sweep.md", table + "\n" + _exploding_md(exploding)
                      + f"\nwall time of the sweep: {wall:.0f} s on {args.jobs} process(es)\n")
    _plot_sweep(folder.file("sweep.png"), results, cells, steps_list, args)
    _plot_grad_norms(folder.file("gradient_norms.png"),
                     {c: results[(c, grad_steps)] for c in cells}, grad_steps)
    runs = [{k: v for k, v in r.items() if k != "history"} for r in
            (results[(c, t)] for c in cells for t in steps_list)]
    folder.write_text("sweep.json", json.dumps(runs, indent=1) + "\n")
    metrics = {"summary": summary, "grad_steps": grad_steps, "sweep_wall_seconds": round(wall, 1),
               "runs": [{k: v for k, v in r.items() if not k.startswith("grad_norms")} for r in runs]}
    baselines = {"chance": 1.0 / args.symbols, "chance_plus_3sd": runs[0]["baselines"]["chance_plus_3sd"],
                 "majority_class_test": {f"T={r['steps']}": r["baselines"]["majority_class_test"]
                                         for r in runs if r["cell"] == cells[0]}}
    doc = folder.write_metrics(metrics, baselines, {"exploding": exploding})
    say(args, "", table, f"sweep wall time {wall:.0f} s  -> {folder.path}")
    return doc


def _sweep_table(results, cells, steps_list, args) -> tuple[str, dict]:
    chance = 1.0 / args.symbols
    sd3 = 3 * math.sqrt(chance * (1 - chance) / args.test_samples)
    lines = [f"# memory sweep: remember the first of {args.symbols} symbols across T steps",
             "",
             f"Held-out test accuracy ({args.test_samples} sequences; chance {chance:.3f}, "
             f"chance + 3 sd = {chance + sd3:.3f}). In brackets: mini-batch updates used (early stop at "
             f"validation accuracy {args.target}). Distractors: {args.distractors}; gate init: "
             f"{args.gate_init}; hidden {args.hidden}, batch {args.batch_size}, Adam lr {args.lr}, "
             f"clipnorm {args.clipnorm}, at most {args.epochs * args.batches_per_epoch} updates, seed {args.seed}.",
             "",
             "| cell | " + " | ".join(f"T = {t}" for t in steps_list) + " | largest T solved | breaks down at |",
             "|------|" + "|".join("---:" for _ in steps_list) + "|---:|---:|"]
    summary = {}
    for c in cells:
        row, solved = [], []
        for t in steps_list:
            r = results[(c, t)]
            acc = r["test_accuracy"]
            mark = "**" if acc >= SOLVED else ""
            tag = " (chance)" if acc <= chance + sd3 else ""
            row.append(f"{mark}{acc:.3f}{mark} ({r['updates']}){tag}")
            if acc >= SOLVED:
                solved.append(t)
        broken = [t for t in steps_list if results[(c, t)]["test_accuracy"] < SOLVED]
        largest = max((t for t in steps_list if all(results[(c, u)]["test_accuracy"] >= SOLVED
                                                     for u in steps_list if u <= t)), default=None)
        first_broken = min(broken) if broken else None
        summary[c] = {"largest_T_solved": largest, "breaks_down_at_T": first_broken,
                      "at_chance_T": [t for t in steps_list if results[(c, t)]["test_accuracy"] <= chance + sd3]}
        lines.append(f"| {c} | " + " | ".join(row) + f" | {largest if largest is not None else '—'} | "
                     f"{first_broken if first_broken is not None else f'> {steps_list[-1]}'} |")
    lines += ["", f"Solved = test accuracy ≥ {SOLVED} (bold); (chance) = within 3 sd of 1/K.", "",
              "Gradient reaching the first step: ‖∂L/∂h_0‖ / ‖∂L/∂h_{T-1}‖ (mean over 256 test sequences), "
              "at initialisation → after training:", "",
              "| cell | " + " | ".join(f"T = {t}" for t in steps_list) + " |",
              "|------|" + "|".join("---:" for _ in steps_list) + "|"]
    for c in cells:
        lines.append(f"| {c} | " + " | ".join(
            f"{results[(c, t)]['grad_ratio_init']:.1e} → {results[(c, t)]['grad_ratio_trained']:.1e}"
            for t in steps_list) + " |")
    lines += ["", "Training time per run (s): ", "",
              "| cell | " + " | ".join(f"T = {t}" for t in steps_list) + " |",
              "|------|" + "|".join("---:" for _ in steps_list) + "|"]
    for c in cells:
        lines.append(f"| {c} | " + " | ".join(f"{results[(c, t)]['train_seconds']:.1f}" for t in steps_list) + " |")
    return "\n".join(lines) + "\n", summary


# ------------------------------------------------------------------------------------ exploding
def exploding_demo(folder: RunFolder | None, args, steps: int = 50, hidden: int = 32, updates: int = 100) -> dict:
    """The other side of the lecture's product: recurrent weights ρ·Q (Q a random orthogonal matrix).

    1. ‖∂L/∂h_t‖ of a tanh RNN at initialisation for ρ = 0.5, 1, 2, 3 (vanishing → exploding).
    2. A ReLU RNN with ρ = 2 trained by plain SGD (lr 0.1) on the memory task: without clipping
       one update sends the weights so far that the next forward overflows and training dies
       (non-finite gradient); with ``clipnorm=1`` every update stays finite.
    3. The same for a tanh RNN with ρ = 3: the loss stays finite without clipping (tanh is
       bounded) but the first update throws the recurrent weights from ~0.5 to ~10⁴.
    """
    from ..errors import TrainingError
    from ..gradflow import gradient_norms
    rng = np.random.default_rng([args.seed, 99])
    gen = lambda n: remember_first(n, steps, args.symbols, args.noise_symbols, rng, args.distractors)
    x, y = gen(256)
    n_in = x.shape[2]
    q, _ = np.linalg.qr(np.random.default_rng([args.seed, 98]).standard_normal((hidden, hidden)))

    def rnn(rho: float, activation: str, optimizer: str = "sgd", clipnorm=None) -> Sequential:
        m = Sequential([make_recurrent("rnn", hidden, activation=activation), Dense(args.symbols)],
                       input_size=n_in, seed=args.seed)
        m.layers[0].params["weight_hh"][...] = rho * q
        m.compile(loss="categorical_crossentropy", optimizer=optimizer, lr=0.1, clipnorm=clipnorm)
        return m

    out: dict[str, Any] = {"steps": steps, "hidden": hidden, "norms": {}, "training": {}}
    for rho in (0.5, 1.0, 2.0, 3.0):
        out["norms"][f"tanh rho={rho:g}"] = gradient_norms(rnn(rho, "tanh"), x, y).tolist()
    out["norms"]["relu rho=2"] = gradient_norms(rnn(2.0, "relu"), x, y).tolist()
    for act, rho in (("relu", 2.0), ("tanh", 3.0)):
        for clip in (None, 1.0):
            m = rnn(rho, act, clipnorm=clip)
            losses, norms, error = [], [], None
            w_max = [float(np.abs(m.layers[0].params["weight_hh"]).max())]     # before any update
            r = np.random.default_rng([args.seed, 97])
            with np.errstate(all="ignore"):
                for it in range(updates):
                    xb, yb = remember_first(args.batch_size, steps, args.symbols, args.noise_symbols, r,
                                            args.distractors)
                    m.zero_grad()
                    loss = m.train_gradients(xb, yb)
                    losses.append(float(loss))
                    try:
                        norms.append(m.optimizer.step(m.named_params()))
                    except TrainingError as exc:
                        error = f"update {it + 1}: {str(exc).split(':')[0]}"
                        break
                    w_max.append(float(np.abs(m.layers[0].params["weight_hh"]).max()))
            key = f"{act} rho={rho:g} " + ("no clipping" if clip is None else f"clipnorm={clip:g}")
            out["training"][key] = {"loss": losses, "grad_norm": norms, "max_abs_weight_hh": w_max,
                                    "stopped": error, "updates_done": len(norms),
                                    "final_loss": losses[-1] if losses else None,
                                    "max_grad_norm": max(norms) if norms else None}
    if folder is not None:
        _plot_exploding(folder.file("exploding.png"), out)
    return out


def _exploding_md(ex: dict) -> str:
    lines = [f"## Exploding gradients (T = {ex['steps']}, recurrent weights ρ·Q, Q orthogonal)", "",
             "‖∂L/∂h_0‖ and ‖∂L/∂h_{T-1}‖ at initialisation:", "", "| RNN | ‖∂L/∂h_0‖ | ‖∂L/∂h_T-1‖ | ratio |",
             "|-----|---:|---:|---:|"]
    for k, g in ex["norms"].items():
        lines.append(f"| {k} | {g[0]:.2e} | {g[-1]:.2e} | {g[0] / g[-1]:.1e} |")
    lines += ["", "Plain SGD, lr 0.1, batch of fresh sequences per update:", "",
              "| run | updates done | stopped | largest grad norm | final loss | max abs W_hh: start → end |",
              "|-----|---:|---|---:|---:|---:|"]
    for k, tr in ex["training"].items():
        w = tr["max_abs_weight_hh"]
        mg = tr["max_grad_norm"]
        lines.append(f"| {k} | {tr['updates_done']} | {tr['stopped'] or '—'} | "
                     f"{mg if mg is None else f'{mg:.2e}'} | {tr['final_loss']:.3g} | {w[0]:.3g} → {w[-1]:.3g} |")
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------------------ plots
_COLORS = {"rnn": "tab:red", "lstm": "tab:blue", "gru": "tab:green"}


def _plot_grad_norms(path, results: dict[str, dict], steps: int) -> None:
    from ..viz import pyplot, save_figure
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    t = np.arange(steps)
    for cell, r in results.items():
        col = _COLORS.get(cell)
        ax.plot(t, r["grad_norms_init"], "--", color=col, lw=1.2, label=f"{cell} at initialisation")
        ax.plot(t, r["grad_norms_trained"], "-", color=col, lw=1.8,
                label=f"{cell} trained (test acc {r['test_accuracy']:.2f})")
    ax.set_yscale("log")
    ax.set_xlabel("time step t (the loss is at the last step, t = T-1)")
    ax.set_ylabel("‖∂L/∂h_t‖ (mean over 256 sequences)")
    ax.set_title(f"gradient reaching each step, T = {steps}: the lecture's Π diag(f'(z_i))·W")
    ax.grid(alpha=.3, which="both")
    ax.legend(fontsize=8)
    save_figure(fig, path)


def _plot_sweep(path, results, cells, steps_list, args) -> None:
    from ..viz import pyplot, save_figure
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.3))
    for c in cells:
        ax.plot(steps_list, [results[(c, t)]["test_accuracy"] for t in steps_list], "o-",
                color=_COLORS.get(c), label=c)
    ax.axhline(1.0 / args.symbols, color="gray", ls=":", label=f"chance 1/{args.symbols}")
    ax.axhline(SOLVED, color="gray", ls="--", lw=0.8, label=f"solved ≥ {SOLVED}")
    ax.set_xscale("log")
    ax.set_xticks(steps_list, [str(t) for t in steps_list])
    ax.set_ylim(0, 1.05)
    ax.set_xlabel("dependency length T (steps between the symbol and the answer)")
    ax.set_ylabel("held-out test accuracy")
    ax.set_title(f"remember the first symbol: at most {args.epochs * args.batches_per_epoch} updates per run")
    ax.grid(alpha=.3)
    ax.legend()
    save_figure(fig, path)


def _plot_exploding(path, ex: dict) -> None:
    from ..viz import pyplot, save_figure
    plt = pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(18, 4.5))
    ax = axes[0]
    for k, g in ex["norms"].items():
        ax.plot(np.arange(len(g)), g, label=k, ls="--" if k.startswith("relu") else "-")
    ax.set_yscale("log")
    ax.set_xlabel("time step t (loss at t = T-1)")
    ax.set_ylabel("‖∂L/∂h_t‖")
    ax.set_title(f"at initialisation, W_hh = ρ·Q, T = {ex['steps']}")
    ax.grid(alpha=.3, which="both")
    ax.legend(fontsize=8)
    ax = axes[1]
    for k, tr in ex["training"].items():
        line, = ax.plot(np.arange(1, len(tr["loss"]) + 1), tr["loss"], label=k)
        if tr["stopped"]:
            finite = [v for v in tr["loss"] if math.isfinite(v)]
            y = finite[-1] if finite else 1.0
            ax.plot([len(tr["loss"])], [y], "x", ms=12, mew=3, color=line.get_color())
            ax.annotate(f"{k}: {tr['stopped'].split(':')[0]},\nnon-finite gradient", (len(tr["loss"]), y),
                        xytext=(12, -4), textcoords="offset points", fontsize=8, color=line.get_color())
    ax.set_yscale("log")
    ax.set_xlabel("update (plain SGD, lr 0.1)")
    ax.set_ylabel("training loss (cross-entropy)")
    ax.set_title("training loss (× = stopped: non-finite gradient)")
    ax.grid(alpha=.3, which="both")
    ax.legend(fontsize=8)
    ax = axes[2]
    for k, tr in ex["training"].items():
        ax.plot(np.arange(len(tr["max_abs_weight_hh"])), tr["max_abs_weight_hh"], ".-", ms=3, label=k)
    ax.set_yscale("log")
    ax.set_xlabel("update (plain SGD, lr 0.1)")
    ax.set_ylabel("max |W_hh| after the update (0 = initial)")
    ax.set_title("recurrent weights")
    ax.grid(alpha=.3, which="both")
    ax.legend(fontsize=8)
    save_figure(fig, path)
