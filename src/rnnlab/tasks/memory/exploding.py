"""The other side of the lecture's product: exploding gradients, with and without clipping.

Recurrent weights ρ·Q (Q a random orthogonal matrix):

1. ‖∂L/∂h_t‖ of a tanh RNN at initialisation for ρ = 0.5, 1, 2, 3 (vanishing → exploding).
2. A ReLU RNN with ρ = 2 trained by plain SGD (lr 0.1) on the memory task: without clipping
   one update sends the weights so far that the next forward overflows and training dies
   (non-finite gradient); with ``clipnorm=1`` every update stays finite.
3. The same for a tanh RNN with ρ = 3: the loss stays finite without clipping (tanh is
   bounded) but the first update throws the recurrent weights from ~0.5 to ~10⁴.

A diagnostic of single updates: ``model.fit`` runs one fresh batch per epoch and a callback
records each update's loss, gradient norm (before clipping) and largest recurrent weight; the
update that fails (a non-finite loss or gradient, :class:`~rnnlab.errors.TrainingError`) is
the result.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ...builders import stacked_rnn
from ...callbacks import Callback
from ...errors import TrainingError
from ...gradflow import gradient_norms
from ...sequential import Sequential
from ..base import RunFolder
from .config import Config
from .data import remember_first


class UpdateRecorder(Callback):
    """Each update's loss and gradient norm, and the largest |W_hh| after it."""

    def __init__(self, model: Sequential) -> None:
        self.losses: list[float] = []
        self.norms: list[float] = []
        self.w_max = [self.largest_weight(model)]          # before any update

    @staticmethod
    def largest_weight(model: Sequential) -> float:
        return float(np.abs(model.layers[0].params["weight_hh"]).max())

    def on_batch_end(self, batch: int, logs: dict[str, float]) -> None:
        self.losses.append(logs["loss"])
        self.norms.append(logs["grad_norm"])
        self.w_max.append(self.largest_weight(self.model))


def exploding_demo(folder: RunFolder | None, cfg: Config, steps: int = 50, hidden: int = 32,
                   updates: int = 100) -> dict[str, Any]:
    """Gradient norms at initialisation and ``updates`` plain-SGD updates per (activation, ρ, clipping)."""
    from .plots import plot_exploding
    rng = np.random.default_rng([cfg.seed, 99])
    x, y = remember_first(256, steps, cfg.symbols, cfg.noise_symbols, rng, cfg.distractors)
    n_in = x.shape[2]
    q, _ = np.linalg.qr(np.random.default_rng([cfg.seed, 98]).standard_normal((hidden, hidden)))

    def rnn(rho: float, activation: str, clipnorm: float | None = None) -> Sequential:
        m = stacked_rnn("rnn", hidden, head=cfg.symbols, input_size=n_in, seed=cfg.seed, activation=activation)
        m.layers[0].params["weight_hh"][...] = rho * q
        m.compile(loss="categorical_crossentropy", optimizer="sgd", lr=0.1, clipnorm=clipnorm)
        return m

    out: dict[str, Any] = {"steps": steps, "hidden": hidden, "norms": {}, "training": {}}
    for rho in (0.5, 1.0, 2.0, 3.0):
        out["norms"][f"tanh rho={rho:g}"] = gradient_norms(rnn(rho, "tanh"), x, y).tolist()
    out["norms"]["relu rho=2"] = gradient_norms(rnn(2.0, "relu"), x, y).tolist()
    for act, rho in (("relu", 2.0), ("tanh", 3.0)):
        for clip in (None, 1.0):
            m = rnn(rho, act, clipnorm=clip)
            rec, error = UpdateRecorder(m), None

            def one_batch(epoch: int, r: np.random.Generator):     # a fresh batch per update
                return remember_first(cfg.batch_size, steps, cfg.symbols, cfg.noise_symbols, r, cfg.distractors)

            with np.errstate(all="ignore"):
                try:
                    m.fit(one_batch, epochs=updates, batch_size=cfg.batch_size, shuffle=False, verbose=0,
                          data_seed=[cfg.seed, 97], callbacks=[rec])
                except TrainingError as exc:                   # "epoch N, batch 1: the loss became nan: ..."
                    what = str(exc).split(": ", 1)[1].split(":")[0]
                    error = f"update {len(rec.norms) + 1}: {what}"
                    if "loss became" in what:
                        rec.losses.append(float("nan"))        # the failing update's loss
            losses, norms, w_max = rec.losses, rec.norms, rec.w_max
            key = f"{act} rho={rho:g} " + ("no clipping" if clip is None else f"clipnorm={clip:g}")
            out["training"][key] = {"loss": losses, "grad_norm": norms, "max_abs_weight_hh": w_max,
                                    "stopped": error, "updates_done": len(norms),
                                    "final_loss": losses[-1] if losses else None,
                                    "max_grad_norm": max(norms) if norms else None}
    if folder is not None:
        plot_exploding(folder.file("exploding.png"), out)
    return out


def exploding_md(ex: dict) -> str:
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
