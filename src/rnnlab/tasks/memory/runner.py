"""``rnnlab run memory``: one (cell, T), or the sweep."""
from __future__ import annotations

from ... import threads
from ..base import RunContext
from ..config import check_config
from .config import SOLVED, Config
from .plots import plot_grad_norms
from .sweep import run_sweep
from .train import train_one


def run(config: Config, ctx: RunContext) -> dict:
    """Train one cell (``config.sweep`` off) or the whole sweep; returns the metrics.json document."""
    check_config(config)
    with threads.task_threads(config.threads):
        return run_sweep(config, ctx) if config.sweep else run_single(config, ctx)


def run_single(cfg: Config, ctx: RunContext) -> dict:
    folder = ctx.folder
    ctx.say(f"memory: {cfg.cell}, T = {cfg.steps}, {cfg.symbols} symbols (chance {1 / cfg.symbols:.3f}), "
            f"distractors {cfg.distractors}, gate init {cfg.gate_init}")
    res = train_one(cfg, ctx.fit_options())
    folder.write_history(res["history"], title=f"memory {cfg.cell} T={cfg.steps}")
    plot_grad_norms(folder.file("gradient_norms.png"), {cfg.cell: res}, cfg.steps)
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
    ctx.result(f"memory ({cfg.cell}, T = {cfg.steps}): test accuracy {res['test_accuracy']:.4f} "
               f"(chance {1 / cfg.symbols:.3f}) after {res['updates']} updates, {res['train_seconds']:.1f} s; "
               f"||dL/dh_0|| / ||dL/dh_T-1|| = {res['grad_ratio_init']:.1e} at init, "
               f"{res['grad_ratio_trained']:.1e} trained  -> {folder.path}")
    return doc
