"""The learning-rate schedule: exponential decay from ``lr`` at the first epoch to ``lr·lr_final`` at the last.

The engine passes LR schedules 0-based epochs (epoch 0 is the first, at the base rate), so
``ExponentialDecay(gamma)`` on base ``lr`` gives ``lr·gamma^k`` in epoch k = 0 … E-1, and
``gamma = lr_final^(1/(E-1))`` puts ``lr·lr_final`` on the last one.

>>> [round(v, 6) for v in lr_sequence(0.01, 0.25, 3)]
[0.01, 0.005, 0.0025]
"""
from __future__ import annotations

from typing import Any

from ...errors import InputError


def decay_factor(lr_final: float, epochs: int) -> float:
    """``gamma`` with ``gamma^(epochs-1) = lr_final`` (1 for a single epoch)."""
    if not 0 < lr_final <= 1:
        raise InputError(f"--lr-final: expected a fraction in (0, 1], got {lr_final}")
    return lr_final ** (1.0 / max(epochs - 1, 1))


def schedule(lr_final: float, epochs: int) -> dict[str, Any]:
    """The ``compile(schedule=...)`` config: base lr at epoch 0, ``lr_final`` times it at the last."""
    return {"name": "exponential", "gamma": decay_factor(lr_final, epochs)}


def lr_sequence(lr: float, lr_final: float, epochs: int) -> list[float]:
    """The learning rate of each epoch (first to last) the schedule gives."""
    gamma = decay_factor(lr_final, epochs)
    return [float(lr) * gamma ** k for k in range(epochs)]
