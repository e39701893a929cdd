"""The remember-the-first-symbol sequences and the seeded streams they are drawn from."""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ...errors import InputError
from .config import Config


def remember_first(n: int, steps: int, n_symbols: int, n_noise: int, rng: np.random.Generator,
                   distractors: str = "noise", dtype: Any = np.float32) -> tuple[np.ndarray, np.ndarray]:
    """``x (n, steps, F)`` one-hot and ``y (n,)`` int64: the symbol shown at step 0.

    ``distractors="noise"``: steps 1… hold one of ``n_noise`` noise symbols (indices
    ``n_symbols … n_symbols + n_noise - 1``, never an answer), F = n_symbols + n_noise.
    ``distractors="all"``: :func:`rnnlab.data.synthetic.first_symbol_task` (distractors from all
    ``n_symbols + 1`` symbols, answers included), F = n_symbols + 1.
    """
    if distractors == "all":
        from ...data.synthetic import first_symbol_task
        return first_symbol_task(n, steps, n_symbols, rng, dtype=dtype)
    if n_symbols < 2 or n_noise < 1 or steps < 1:
        raise InputError(f"remember_first: need n_symbols >= 2, n_noise >= 1, steps >= 1; got "
                         f"{n_symbols}, {n_noise}, {steps}")
    y = rng.integers(0, n_symbols, size=n)
    symbols = rng.integers(n_symbols, n_symbols + n_noise, size=(n, steps))
    symbols[:, 0] = y
    return np.eye(n_symbols + n_noise, dtype=dtype)[symbols], y.astype(np.int64)


#: The seeded streams, ``np.random.default_rng([seed, T, k])``: training data (owned by
#: ``model.fit`` as its ``data_seed``), validation set, test set, gate initialisation.
TRAIN, VAL, TEST, INIT = range(4)


def stream_seed(seed: int, steps: int, k: int) -> list[int]:
    """The seed of stream ``k``: it depends on (seed, T) only, so every cell sees the same data."""
    return [seed, steps, k]


def stream(seed: int, steps: int, k: int) -> np.random.Generator:
    return np.random.default_rng(stream_seed(seed, steps, k))


def sample(cfg: Config, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    return remember_first(n, cfg.steps, cfg.symbols, cfg.noise_symbols, rng, cfg.distractors)


def epoch_data(cfg: Config) -> Callable[[int, np.random.Generator], tuple[np.ndarray, np.ndarray]]:
    """``data(epoch, rng)`` for ``model.fit``: ``--batches-per-epoch`` fresh batches from ``rng``."""
    n = cfg.batch_size * cfg.batches_per_epoch

    def data(epoch: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        return sample(cfg, n, rng)
    return data
