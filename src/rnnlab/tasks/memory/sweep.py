"""``--sweep``: every cell of ``--sweep-cells`` for every T of ``--sweep-steps``; table and figures."""
from __future__ import annotations

import dataclasses
import json
import math
import time
from typing import Any, Callable

from ... import threads
from ...errors import InputError
from ...registry import recurrent_names
from ..base import RunContext
from .config import SOLVED, Config
from .exploding import exploding_demo, exploding_md
from .plots import plot_grad_norms, plot_sweep
from .train import sweep_job


def parse_list(text: str, kind: Callable[[str], Any], name: str) -> list:
    try:
        out = [kind(v.strip()) for v in str(text).split(",") if v.strip()]
    except ValueError:
        raise InputError(f"{name}: expected a comma-separated list, got {text!r}") from None
    if not out:
        raise InputError(f"{name}: empty list")
    return out


def sweep_plan(cfg: Config) -> tuple[list[str], list[int], int]:
    """(cells, sorted T values, T of the gradient figure) from the options; InputError if bad."""
    steps_list = sorted(set(parse_list(cfg.sweep_steps, int, "--sweep-steps")))
    cells = parse_list(cfg.sweep_cells, str, "--sweep-cells")
    known = recurrent_names()
    bad = [c for c in cells if c not in known]
    if bad:
        raise InputError(f"--sweep-cells: expected names from {known}, got {bad}")
    if min(steps_list) < 2:
        raise InputError("--sweep-steps: every T must be >= 2")
    grad_steps = cfg.grad_steps if cfg.grad_steps in steps_list else steps_list[len(steps_list) // 2]
    return cells, steps_list, grad_steps


def run_sweep(cfg: Config, ctx: RunContext) -> dict:
    cells, steps_list, grad_steps = sweep_plan(cfg)
    folder = ctx.folder
    t0 = time.perf_counter()
    specs = [dataclasses.replace(cfg, cell=c, steps=t) for c in cells for t in steps_list]
    # longest first (RNN last among equals: it is the cheapest per step) so the pool finishes together
    order = sorted(specs, key=lambda s: (-s.steps, s.cell == "rnn"))
    ctx.say(f"memory sweep: cells {cells}, T = {steps_list}, {len(specs)} runs on {cfg.jobs} process(es)")
    results: dict[tuple[str, int], dict] = {}

    def done(res: dict) -> None:
        results[(res["cell"], res["steps"])] = res
        ctx.say(f"  {res['cell']:>4s} T={res['steps']:<4d} test accuracy {res['test_accuracy']:.3f}  "
                f"{res['updates']:>5d} updates  {res['train_seconds']:6.1f} s  "
                f"grad ratio h0/hT init {res['grad_ratio_init']:.1e} trained {res['grad_ratio_trained']:.1e}")

    if cfg.jobs > 1:
        import concurrent.futures as cf
        import multiprocessing as mp
        with cf.ProcessPoolExecutor(max_workers=cfg.jobs, mp_context=mp.get_context("spawn"),
                                    initializer=threads.worker_init, initargs=(cfg.threads,)) as pool:
            futures = [pool.submit(sweep_job, s) for s in order]
            for f in cf.as_completed(futures):
                done(f.result())
    else:
        for s in order:
            done(sweep_job(s))

    exploding = exploding_demo(folder, cfg)
    wall = time.perf_counter() - t0
    table, summary = sweep_table(results, cells, steps_list, cfg)
    folder.write_text("sweep.md", table + "\n" + exploding_md(exploding)
                      + f"\nwall time of the sweep: {wall:.0f} s on {cfg.jobs} process(es)\n")
    plot_sweep(folder.file("sweep.png"), results, cells, steps_list, cfg)
    plot_grad_norms(folder.file("gradient_norms.png"), {c: results[(c, grad_steps)] for c in cells}, grad_steps)
    runs = [{k: v for k, v in r.items() if k != "history"} for r in
            (results[(c, t)] for c in cells for t in steps_list)]
    folder.write_text("sweep.json", json.dumps(runs, indent=1) + "\n")
    metrics = {"summary": summary, "grad_steps": grad_steps, "sweep_wall_seconds": round(wall, 1),
               "runs": [{k: v for k, v in r.items() if not k.startswith("grad_norms")} for r in runs]}
    baselines = {"chance": 1.0 / cfg.symbols, "chance_plus_3sd": runs[0]["baselines"]["chance_plus_3sd"],
                 "majority_class_test": {f"T={r['steps']}": r["baselines"]["majority_class_test"]
                                         for r in runs if r["cell"] == cells[0]}}
    doc = folder.write_metrics(metrics, baselines, {"exploding": exploding})
    ctx.say("", table)
    ctx.result(f"memory sweep: {len(runs)} runs, wall time {wall:.0f} s  -> {folder.path}")
    return doc


def sweep_table(results: dict, cells: list[str], steps_list: list[int], cfg: Config) -> tuple[str, dict]:
    chance = 1.0 / cfg.symbols
    sd3 = 3 * math.sqrt(chance * (1 - chance) / cfg.test_samples)
    lines = [f"# memory sweep: remember the first of {cfg.symbols} symbols across T steps",
             "",
             f"Held-out test accuracy ({cfg.test_samples} sequences; chance {chance:.3f}, "
             f"chance + 3 sd = {chance + sd3:.3f}). In brackets: mini-batch updates used (early stop at "
             f"validation accuracy {cfg.target}). Distractors: {cfg.distractors}; gate init: "
             f"{cfg.gate_init}; hidden {cfg.hidden}, batch {cfg.batch_size}, Adam lr {cfg.lr}, "
             f"clipnorm {cfg.clipnorm}, at most {cfg.epochs * cfg.batches_per_epoch} updates, seed {cfg.seed}.",
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
