"""Learning-rate schedules: ``lr = schedule(epoch, base_lr)``, epochs counted from 0.

``fit`` applies the schedule at the start of every epoch, so epoch 0 (the first) trains at
``schedule(0, base_lr)`` — the base rate for every schedule here.

>>> StepDecay({1: 0.5})(0, 0.1), StepDecay({1: 0.5})(1, 0.1)
(0.1, 0.05)
>>> round(ExponentialDecay(0.5)(2, 0.1), 6)
0.025
"""
from __future__ import annotations

import math
from typing import Any, Iterable

import numpy as np

from .errors import InputError

__all__ = ["Schedule", "Constant", "StepDecay", "ExponentialDecay", "get_schedule"]


class Schedule:
    """lr = schedule(epoch, base_lr); epochs count from 0."""

    name = "schedule"

    def __call__(self, epoch: int, base_lr: float) -> float:  # pragma: no cover - abstract
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if k != "name")
        return f"{type(self).__name__}({args})"


class Constant(Schedule):
    """lr = base_lr."""

    name = "constant"

    def __call__(self, epoch: int, base_lr: float) -> float:
        return float(base_lr)


class StepDecay(Schedule):
    """Multiply the LR by a factor from given epochs on (the lecture's reference implementation
    decayed its LR at fixed epochs). lr(epoch) = base_lr * prod(factor_m for milestones m <= epoch).

    ``StepDecay({10: 0.5, 20: 0.2})``: x0.5 from epoch 10, x0.1 from epoch 20.
    ``StepDecay([10, 20], gamma=0.1)``: x0.1 from epoch 10, x0.01 from epoch 20 (torch MultiStepLR).
    """

    name = "step"

    def __init__(self, milestones: dict[int, float] | Iterable[int], gamma: float | None = None) -> None:
        if isinstance(milestones, dict):
            if gamma is not None:
                raise InputError("StepDecay: give either a dict {epoch: factor} or a list of epochs "
                                 "with gamma, not both")
            items = list(milestones.items())
        else:
            gamma = 0.1 if gamma is None else gamma
            items = [(m, gamma) for m in milestones]
        clean: dict[int, float] = {}
        for epoch, factor in items:
            if isinstance(epoch, bool) or not float(epoch).is_integer() or int(epoch) < 0:
                raise InputError(f"StepDecay: milestones must be epochs (integers >= 0), got {epoch!r}")
            if not (isinstance(factor, (int, float, np.number)) and math.isfinite(factor) and factor > 0):
                raise InputError(f"StepDecay: factors must be positive finite numbers, got {factor!r}")
            clean[int(epoch)] = clean.get(int(epoch), 1.0) * float(factor)
        self.milestones = dict(sorted(clean.items()))

    def __call__(self, epoch: int, base_lr: float) -> float:
        lr = float(base_lr)
        for m, factor in self.milestones.items():
            if epoch >= m:
                lr *= factor
        return lr

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "milestones": [[m, f] for m, f in self.milestones.items()]}


class ExponentialDecay(Schedule):
    """lr = base_lr * gamma^epoch (torch ExponentialLR)."""

    name = "exponential"

    def __init__(self, gamma: float) -> None:
        if not (isinstance(gamma, (int, float, np.number)) and 0 < gamma <= 1):
            raise InputError(f"ExponentialDecay: gamma must lie in (0, 1], got {gamma!r}")
        self.gamma = float(gamma)

    def __call__(self, epoch: int, base_lr: float) -> float:
        return float(base_lr) * self.gamma ** epoch

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "gamma": self.gamma}


_SCHEDULES: dict[str, type[Schedule]] = {"constant": Constant, "step": StepDecay,
                                         "exponential": ExponentialDecay}


def get_schedule(schedule: Schedule | dict[str, Any] | str | None) -> Schedule:
    """A Schedule from an instance, a ``get_config()`` dict, a name ("constant") or None (Constant)."""
    if schedule is None:
        return Constant()
    if isinstance(schedule, Schedule):
        return schedule
    if isinstance(schedule, str):
        schedule = {"name": schedule}
    if not isinstance(schedule, dict) or schedule.get("name") not in _SCHEDULES:
        raise InputError(f"schedule: expected a Schedule or a config with name in {sorted(_SCHEDULES)}, "
                         f"got {schedule!r}")
    config = dict(schedule)
    cls = _SCHEDULES[config.pop("name")]
    if cls is StepDecay and isinstance(config.get("milestones"), list) \
            and all(isinstance(x, (list, tuple)) for x in config["milestones"]):
        config["milestones"] = {int(m): float(f) for m, f in config["milestones"]}
    try:
        return cls(**config)
    except TypeError as exc:
        raise InputError(f"schedule: bad options for {cls.__name__}: {exc}") from None


