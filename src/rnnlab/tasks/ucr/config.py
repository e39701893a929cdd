"""``rnnlab run ucr`` options (the command line is generated from this dataclass)."""
from __future__ import annotations

from dataclasses import dataclass

from ..config import CELL_CHOICES, TaskConfig, option
from .published import DATASET_DEFAULTS

NAME = "ucr"
SUMMARY = "UCR/UEA time-series classification (JapaneseVowels, ...), beside published 1-NN DTW / FCN / ResNet"


@dataclass
class Config(TaskConfig):
    dataset: str = option("JapaneseVowels", "UCR/UEA data set name (any of rnnlab.data.available_ucr(): the "
                                            "*_TRAIN.ts files under $RNNLAB_DATA/ucr), or 'all'")
    cell: str = option("gru", "recurrent cell", choices=CELL_CHOICES)
    hidden: int = option(48, "hidden units per recurrent layer (per direction)")
    layers: int = option(1, "stacked recurrent layers")
    bidirectional: bool = option(True, "bidirectional recurrent layers, directions concatenated")
    dropout: float = option(0.0, "dropout rate between the layers and before the output")
    frame: int | None = option(None, "group K consecutive steps into one step of K*D features",
                               none="per data set: " + ", ".join(f"{k} {v['frame']}" for k, v in
                                                                 DATASET_DEFAULTS.items()) + ", else 1")
    val_fraction: float = option(0.2, "fraction of the TRAIN file held out for validation, stratified")
    epochs: int = option(200, "maximum training epochs")
    batch_size: int = option(16, "mini-batch size")
    lr: float = option(3e-3, "Adam learning rate")
    patience: int = option(30, "early stopping patience in epochs (validation loss)")
    clipnorm: float = option(1.0, "global gradient-norm clipping")
    refit: bool = option(True, "after early stopping, retrain on the whole TRAIN file for the best number of "
                               "epochs (--no-refit keeps the early-stopped model)")
    compare_depth: bool = option(False, "train a 1-layer and a 2-layer model of about equal parameter count and "
                                        "report both")
    repeats: int = option(3, "--compare-depth: seeds per model, seed, seed+1, ...")
    threads: int | None = option(None, "BLAS threads (0 leaves BLAS alone)", none="1, or $RNNLAB_BLAS_THREADS if set")
