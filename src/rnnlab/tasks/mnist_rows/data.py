"""MNIST as sequences of pixel rows; the validation set is the last 5,000 training images."""
from __future__ import annotations

import numpy as np

from ...data.mnist import load_mnist
from ...errors import InputError

N_TRAIN_FULL = 60_000
N_VAL = 5_000


def split_indices(n_train_full: int = N_TRAIN_FULL, limit: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Indices into the official training set: (training, validation).

    Validation is the last 5,000 training images; training the rest (or, with ``limit``, the first
    ``limit`` images and a validation set of ``min(5000, max(500, limit // 5))`` from the end).
    The test set is never touched here.
    """
    n_val = N_VAL
    if limit is not None:
        if limit < 1:
            raise InputError(f"--limit: expected a positive number of images, got {limit}")
        n_val = min(N_VAL, max(500, limit // 5))
    val = np.arange(n_train_full - n_val, n_train_full)
    n_fit = n_train_full - N_VAL if limit is None else min(limit, n_train_full - N_VAL)
    return np.arange(n_fit), val


def as_sequences(images: np.ndarray) -> np.ndarray:
    """uint8 images (N, 28, 28) -> float32 sequences (N, 28 steps, 28 features) in [0, 1]."""
    return (images.astype(np.float32) / np.float32(255.0))


def load_data(limit: int | None = None):
    """((x_fit, y_fit), (x_val, y_val), (x_test, y_test)); labels int64."""
    x_all, y_all = load_mnist("train")
    x_test, y_test = load_mnist("test")
    fit, val = split_indices(len(x_all), limit)
    prep = lambda imgs, labels: (as_sequences(imgs), labels.astype(np.int64))  # noqa: E731
    return prep(x_all[fit], y_all[fit]), prep(x_all[val], y_all[val]), prep(x_test, y_test)
