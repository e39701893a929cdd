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

Modules: ``config`` (the options), ``data`` (sequences and seeded streams), ``model``, ``train``
(one (cell, T) by one ``model.fit``), ``sweep``, ``exploding``, ``plots``, ``runner``.

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

from .config import SOLVED, Config
from .data import remember_first
from .model import build_model
from .runner import run
from .train import train_one

NAME = "memory"
SUMMARY = "remember the first symbol across T steps: RNN vs LSTM vs GRU, vanishing/exploding gradients (--sweep)"

__all__ = ["NAME", "SUMMARY", "Config", "run", "remember_first", "build_model", "train_one", "SOLVED"]
