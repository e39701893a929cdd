"""``rnnlab run mnist-rows`` options; options left unset take the chosen model's defaults."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from ..config import TaskConfig, option
from .models import INITS, MODELS, PER_MODEL

NAME = "mnist-rows"
SUMMARY = "MNIST read row by row (28 steps of 28 pixels), 10-class softmax at the last step (lecture 19.7)"


def _per_model(key: str) -> str:
    return "per model: " + ", ".join(f"{m} {d[key]:g}" for m, d in MODELS.items())


@dataclass
class Config(TaskConfig):
    model: str = option("lstm", "rnn | birnn (the reference's two) | lstm | bilstm | gru | bigru",
                        choices=tuple(sorted(MODELS)))
    hidden: int | None = option(None, "hidden units per direction", none=_per_model("hidden"))
    epochs: int | None = option(None, "maximum training epochs", none=_per_model("epochs"))
    batch_size: int | None = option(None, "mini-batch size", none=_per_model("batch_size"))
    lr: float | None = option(None, "Adam learning rate at the first epoch", none=_per_model("lr"))
    patience: int | None = option(None, "early stopping: epochs without a better validation accuracy",
                                  none=_per_model("patience"))
    dropout: float | None = option(None, "dropout rate on the final state, before the output layer",
                                   none=_per_model("dropout"))
    init: str = option("torch", "weight initialisation: torch (U(±1/sqrt(H)) everywhere) or keras (Glorot "
                                "input weights, orthogonal recurrent weights, zero biases)", choices=tuple(sorted(INITS)))
    clipnorm: float = option(5.0, "global gradient-norm clipping")
    lr_final: float = option(0.05, "the learning rate decays exponentially, by the same factor each epoch, from "
                                   "--lr to --lr x this at the last epoch (1 = constant)")
    limit: int | None = option(None, "quick run: train on the first N training images only and validate on the "
                                     "last min(5000, max(500, N // 5)) (the test set stays whole)", none="all")
    threads: int | None = option(None, "BLAS threads (0 leaves BLAS alone)", none="1, or $RNNLAB_BLAS_THREADS if set")


def resolved(cfg: Config) -> Config:
    """``cfg`` with every per-model option left unset (None) taken from ``MODELS[cfg.model]``."""
    spec = MODELS[cfg.model]
    return dataclasses.replace(cfg, **{k: spec[k] for k in PER_MODEL if getattr(cfg, k) is None})
