"""The memory task's figures: gradient norms over time, the sweep, exploding gradients."""
from __future__ import annotations

import math

import numpy as np

from .config import SOLVED, Config

#: Line colours of the cells (others get matplotlib's cycle).
COLORS = {"rnn": "tab:red", "lstm": "tab:blue", "gru": "tab:green"}


def plot_grad_norms(path, results: dict[str, dict], steps: int) -> None:
    from ...viz import pyplot, save_figure
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    t = np.arange(steps)
    for cell, r in results.items():
        col = COLORS.get(cell)
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


def plot_sweep(path, results, cells, steps_list, cfg: Config) -> None:
    from ...viz import pyplot, save_figure
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.3))
    for c in cells:
        ax.plot(steps_list, [results[(c, t)]["test_accuracy"] for t in steps_list], "o-",
                color=COLORS.get(c), label=c)
    ax.axhline(1.0 / cfg.symbols, color="gray", ls=":", label=f"chance 1/{cfg.symbols}")
    ax.axhline(SOLVED, color="gray", ls="--", lw=0.8, label=f"solved ≥ {SOLVED}")
    ax.set_xscale("log")
    ax.set_xticks(steps_list, [str(t) for t in steps_list])
    ax.set_ylim(0, 1.05)
    ax.set_xlabel("dependency length T (steps between the symbol and the answer)")
    ax.set_ylabel("held-out test accuracy")
    ax.set_title(f"remember the first symbol: at most {cfg.epochs * cfg.batches_per_epoch} updates per run")
    ax.grid(alpha=.3)
    ax.legend()
    save_figure(fig, path)


def plot_exploding(path, ex: dict) -> None:
    from ...viz import pyplot, save_figure
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
