"""``rnnlab run memory`` options (the command line is generated from this dataclass)."""
from __future__ import annotations

import os
from dataclasses import dataclass

from ..config import CELL_CHOICES, TaskConfig, option

#: Test accuracy at which a (cell, T) counts as solved in the sweep table.
SOLVED = 0.9


@dataclass
class Config(TaskConfig):
    cell: str = option("lstm", "recurrent cell", choices=CELL_CHOICES)
    steps: int = option(100, "dependency length T: sequence steps")
    hidden: int = option(32, "hidden units")
    epochs: int = option(75, "maximum epochs (each of --batches-per-epoch fresh mini-batches)")
    batch_size: int = option(32, "mini-batch size")
    lr: float = option(0.002, "Adam learning rate")
    symbols: int = option(8, "K symbols to remember; chance = 1/K")
    noise_symbols: int = option(4, "distractor symbols that are never the answer (--distractors noise)")
    distractors: str = option("noise", "noise: distractors from the noise symbols; all: from all K+1 symbols "
                                       "(rnnlab.data.synthetic.first_symbol_task)", choices=("noise", "all"))
    batches_per_epoch: int = option(20, "mini-batches of fresh sequences per epoch")
    patience: int = option(40, "stop after this many epochs without a lower validation loss")
    target: float = option(0.99, "stop once validation accuracy reaches this")
    clipnorm: float = option(1.0, "global-norm gradient clipping")
    gate_init: str = option("chrono", "gate biases of gated cells (LSTM, GRU): chrono (remember ~T steps at "
                                      "the start) or standard", choices=("chrono", "standard"))
    val_samples: int = option(1000, "validation sequences")
    test_samples: int = option(2000, "held-out test sequences")
    sweep: bool = option(False, "train every cell of --sweep-cells for every T of --sweep-steps; table and plots")
    sweep_steps: str = option("10,20,50,100,200,400", "comma-separated dependency lengths for --sweep")
    sweep_cells: str = option("rnn,lstm,gru", "comma-separated cells for --sweep")
    grad_steps: int = option(100, "T of the gradient-norm figure in --sweep (one of --sweep-steps)")
    jobs: int = option(min(2, os.cpu_count() or 1), "parallel training processes for --sweep")
    threads: int | None = option(None, "BLAS threads per process (0 leaves BLAS alone)",
                                 none="1, or $RNNLAB_BLAS_THREADS if set")
