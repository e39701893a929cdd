"""Lecture 19.7: MNIST read row by row — 28 steps of 28 pixels, a 10-way softmax at the last step.

Each 28×28 image is a sequence: step t is pixel row t (28 values scaled to [0, 1]); the network
reads the rows top to bottom (and, bidirectionally, also bottom to top) and classifies the digit
from its final state. Structure: many-to-one, softmax + cross-entropy.

The reference implementation of the lecture reports 95.17% test accuracy for a simple RNN with 32
hidden units and 95.8% for a bidirectional one with 20 + 20. Here:

* training = the first 55,000 official training images, validation = the **last 5,000 training
  images** (early stopping on validation accuracy, best weights restored); the official 10,000
  test images are used once, at the end;
* the naive baseline (always the majority training class) and the reference's figures stand
  beside the result;
* the run folder gets ``metrics.json``, ``history.csv``, ``loss.png``, ``confusion.png``,
  ``errors.png`` (misclassified test digits) and ``model/``.

Models (``--model``; hidden units per direction default to the value in brackets):
``rnn`` (32) and ``birnn`` (20 + 20) as in the reference; ``lstm`` (128), ``bilstm`` (128 + 128),
``gru`` (128), ``bigru`` (64 + 64).

Modules: ``config`` (options; per-model defaults resolved by ``resolved``), ``models``, ``data``,
``schedule`` (the per-epoch learning rate), ``plots``, ``runner``.
"""
from __future__ import annotations

from .config import NAME, SUMMARY, Config, resolved
from .data import N_TRAIN_FULL, N_VAL, as_sequences, load_data, split_indices
from .models import CLASSES, INITS, MODELS, PER_MODEL, REFERENCE, build_model
from .runner import run
from .schedule import lr_sequence, schedule

__all__ = ["NAME", "SUMMARY", "Config", "run", "resolved", "split_indices", "as_sequences",
           "load_data", "build_model", "lr_sequence", "schedule", "MODELS", "PER_MODEL", "INITS", "REFERENCE",
           "CLASSES", "N_TRAIN_FULL", "N_VAL"]
