"""UCR/UEA time-series classification with recurrent networks, beside the published results.

Data: the archive's own TRAIN/TEST files (``.ts``, :func:`rnnlab.data.load_ucr`), e.g.
JapaneseVowels (12 features, 7–29 steps, 9 speakers), BasicMotions (6 features, 100 steps),
GunPoint, ItalyPowerDemand, ArrowHead (univariate). Protocol:

1. a validation set is carved from the TRAIN file, stratified by class and seeded
   (``--val-fraction``); the TEST file is used once, at the end;
2. z-normalisation per feature, fitted on the training part only (valid steps, no padding);
3. variable lengths are right-padded with a mask (:func:`rnnlab.data.pad_sequences`), and
   training batches group sequences of similar length (``bucket=True``);
4. ``--frame K`` optionally turns K consecutive steps into one step of K·D features — a long
   univariate series (GunPoint 150, ArrowHead 251 steps) becomes a shorter multivariate one;
5. a stack of ``--layers`` recurrent layers (``--cell``, ``--bidirectional``) and Dense(classes)
   on the last valid state; softmax + cross-entropy; early stopping on the validation loss with
   the best weights restored; ``--refit`` then retrains on the whole TRAIN file for the best
   number of epochs (the validation set is tiny for most of these data sets).

``--compare-depth`` trains a 1-layer model and a 2-layer model whose hidden size is chosen so that
both have (about) the same number of parameters, ``--repeats`` seeds each, and reports both.
``--dataset all`` runs every data set found and writes a summary table.

The run folder gets ``metrics.json`` (test accuracy beside the published 1-NN ED / DTW, FCN,
ResNet, TWIESN and MLP figures and the majority-class baseline), ``history.csv``, ``loss.png``,
``confusion.png`` and ``model/`` (with ``scaler.json``, the fitted normalisation).

Modules: ``config``, ``published`` (the published figures, per-data-set defaults), ``data``,
``model``, ``train`` (one run), ``results`` (what a run writes), ``runner``.
"""
from __future__ import annotations

from .config import NAME, SUMMARY, Config
from .data import Prepared, frame_series, prepare, stratified_split
from .model import build_model, count_params, matched_hidden
from .published import DATASET_DEFAULTS, PUBLISHED, PUBLISHED_SOURCE
from .runner import run
from .train import train_and_test

__all__ = ["NAME", "SUMMARY", "Config", "run", "prepare", "Prepared", "stratified_split",
           "frame_series", "build_model", "count_params", "matched_hidden", "train_and_test", "PUBLISHED",
           "PUBLISHED_SOURCE", "DATASET_DEFAULTS"]
