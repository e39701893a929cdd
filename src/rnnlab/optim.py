"""Optimizers (PyTorch update rules), global-norm gradient clipping and learning-rate schedules.

An optimizer updates parameters **in place**: ``step([(name, param, grad), ...])``. Its state
(velocities, moment estimates) is keyed by the parameter's name and kept in the parameter's dtype.
Per step, with g the gradient of parameter p:

1. global-norm clipping (``clipnorm``): g <- g * min(1, clipnorm / (||all g||_2 + 1e-6));
2. L2 weight decay (``weight_decay``, torch semantics, not AdamW): g <- g + weight_decay * p;
3. the update rule:

   * SGD:      p <- p - lr g
   * Momentum: v <- mu v + g;  p <- p - lr v       (nesterov: p <- p - lr (g + mu v))
   * RMSprop:  s <- alpha s + (1 - alpha) g^2;  p <- p - lr g / (sqrt(s) + eps)
   * Adam:     m <- b1 m + (1 - b1) g;  v <- b2 v + (1 - b2) g^2;  t <- t + 1;
               p <- p - (lr / (1 - b1^t)) m / (sqrt(v) / sqrt(1 - b2^t) + eps)

A schedule (:mod:`rnnlab.schedules`) maps (epoch, base_lr) to the learning rate, epochs counted
from 0; ``set_epoch(epoch)`` applies it (``fit`` calls it at the start of every epoch).
"""
from __future__ import annotations

import math
from typing import Any, Iterable

import numpy as np

from .errors import InputError, TrainingError
from .schedules import Constant, ExponentialDecay, Schedule, StepDecay, get_schedule  # noqa: F401  (re-exported)

__all__ = ["Optimizer", "SGD", "Momentum", "RMSprop", "Adam", "get", "clip_global_norm",
           "global_norm", "Schedule", "Constant", "StepDecay", "ExponentialDecay", "get_schedule"]

NamedParams = Iterable[tuple[str, np.ndarray, np.ndarray]]


# ----------------------------------------------------------------------------- clipping
def global_norm(grads: Iterable[np.ndarray]) -> float:
    """||g||_2 over all arrays together: sqrt(sum_i sum(g_i^2)) (float64 fallback on overflow)."""
    grads = grads if isinstance(grads, list) else list(grads)
    total = 0.0
    vdot = np.vdot
    for g in grads:   # np.vdot: the BLAS dot of np.dot over the flattened array (the same bits),
        total += float(vdot(g, g))   # without overflow warnings
    if not math.isfinite(total):  # float32 squares overflow past ~1.8e19: redo in float64
        total = sum(float(np.dot(g.ravel().astype(np.float64), g.ravel().astype(np.float64))) for g in grads)
    return math.sqrt(total)


def _check_max_norm(max_norm: Any, name: str) -> float:
    if isinstance(max_norm, bool) or not isinstance(max_norm, (int, float, np.floating, np.integer)) \
            or not math.isfinite(max_norm) or max_norm <= 0:
        raise InputError(f"{name}: expected a positive finite number (e.g. 1.0) or None, got {max_norm!r}")
    return float(max_norm)


def _clip_coef(norm: float, max_norm: float) -> float:
    """torch.nn.utils.clip_grad_norm_: min(1, max_norm / (norm + 1e-6))."""
    return min(1.0, max_norm / (norm + 1e-6))


def _raise_non_finite(norm: float) -> None:
    raise TrainingError(f"the gradient norm is {norm} (non-finite), training diverged: lower the learning "
                        "rate, set clipnorm=1.0, check the inputs are scaled (standardize features) "
                        "and contain no NaN")


def clip_global_norm(grads: list[np.ndarray], max_norm: float) -> float:
    """Scale ``grads`` in place so their global norm is at most ``max_norm``; return the norm before
    clipping. Same rule as ``torch.nn.utils.clip_grad_norm_``: g <- g * min(1, max_norm / (norm + 1e-6)).
    A non-finite norm raises TrainingError (nothing is modified)."""
    max_norm = _check_max_norm(max_norm, "max_norm")
    norm = global_norm(grads)
    if not math.isfinite(norm):
        _raise_non_finite(norm)
    coef = _clip_coef(norm, max_norm)
    if coef < 1.0:
        for g in grads:
            g *= coef
    return norm


# ----------------------------------------------------------------------------- optimizers
def _positive(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) \
            or not math.isfinite(value) or value <= 0:
        raise InputError(f"{name}: expected a positive finite number, got {value!r}")
    return float(value)


def _in_range(value: Any, name: str, lo: float, hi: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) or not lo <= value < hi:
        raise InputError(f"{name}: expected a number in [{lo:g}, {hi:g}), got {value!r}")
    return float(value)


class Optimizer:
    """Base class: clipping, weight decay, schedule, state keyed by parameter name.

    Subclasses implement ``_update(p, g, state)`` which changes ``p`` in place (and must not
    modify ``g``, which may be the caller's gradient array).
    """

    name = "optimizer"
    default_lr = 0.01

    def __init__(self, lr: float | None = None, *, clipnorm: float | None = None,
                 weight_decay: float = 0.0, schedule: Schedule | dict[str, Any] | str | None = None) -> None:
        self.base_lr = _positive(self.default_lr if lr is None else lr, "lr")
        self.lr = self.base_lr
        self.clipnorm = None if clipnorm is None else _check_max_norm(clipnorm, "clipnorm")
        self.weight_decay = _in_range(weight_decay, "weight_decay", 0.0, math.inf)
        self.schedule = get_schedule(schedule)
        self.state: dict[str, dict[str, Any]] = {}
        self.iterations = 0

    # -- schedule
    def set_epoch(self, epoch: int) -> float:
        """lr = schedule(epoch, base_lr); returns the new lr."""
        self.lr = float(self.schedule(epoch, self.base_lr))
        return self.lr

    # -- update
    def step(self, named_params: NamedParams, *, check: bool = True) -> float:
        """Update every parameter in place from its gradient; return the global gradient norm
        before clipping. Raises TrainingError (before any update) when that norm is not finite.

        ``check=False`` skips the checks of the triples (names unique, float arrays, gradients
        matching their parameters): ``fit`` checks its first step in full and then passes the
        same parameters again."""
        items = self._check(named_params) if check else \
            (named_params if isinstance(named_params, list) else list(named_params))
        norm = global_norm([g for _, _, g in items])
        if not math.isfinite(norm):
            _raise_non_finite(norm)
        coef = _clip_coef(norm, self.clipnorm) if self.clipnorm is not None else 1.0
        wd, states, update = self.weight_decay, self.state, self._update   # bound once per step
        for name, p, g in items:
            if coef < 1.0:
                g = g * coef
            if wd:
                g = g + p * wd
            state = states.get(name)
            if state is None:
                state = states[name] = self._init_state(p)
            update(p, g, state)
        self.iterations += 1
        return norm

    def _check(self, named_params: NamedParams) -> list[tuple[str, np.ndarray, np.ndarray]]:
        items = list(named_params)
        seen: set[str] = set()
        for item in items:
            if not (isinstance(item, (tuple, list)) and len(item) == 3):
                raise InputError(f"step: expected (name, param, grad) triples, got {type(item).__name__}")
            name, p, g = item
            if name in seen:
                raise InputError(f"step: parameter name {name!r} appears twice; names key the optimizer state")
            seen.add(name)
            if not isinstance(p, np.ndarray) or p.dtype not in (np.float32, np.float64):
                raise InputError(f"step: parameter {name!r} must be a float32 or float64 numpy array "
                                 "(updated in place)")
            if not isinstance(g, np.ndarray) or g.shape != p.shape or g.dtype != p.dtype:
                raise InputError(f"step: gradient of {name!r} must match its parameter: expected shape "
                                 f"{p.shape} dtype {p.dtype}, got shape {np.shape(g)} dtype "
                                 f"{getattr(g, 'dtype', type(g).__name__)}")
            state = self.state.get(name)
            if state is not None and any(isinstance(s, np.ndarray) and s.shape != p.shape for s in state.values()):
                raise InputError(f"step: parameter {name!r} changed shape to {p.shape} since the last step")
        return items

    def _init_state(self, p: np.ndarray) -> dict[str, Any]:
        return {}

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict[str, Any]) -> None:  # pragma: no cover
        raise NotImplementedError

    # -- (de)serialization
    def get_config(self) -> dict[str, Any]:
        """JSON-able hyper-parameters (not the state); ``from_config`` rebuilds the optimizer."""
        return {"name": self.name, "lr": self.base_lr, "clipnorm": self.clipnorm,
                "weight_decay": self.weight_decay, "schedule": self.schedule.get_config(),
                **self._hyper()}

    def _hyper(self) -> dict[str, Any]:
        return {}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "Optimizer":
        config = dict(config)
        name = config.pop("name", cls.name)
        target = _OPTIMIZERS.get(name) if cls is Optimizer else cls
        if target is None:
            raise InputError(f"optimizer: unknown name {name!r}; expected one of {sorted(_OPTIMIZERS)}")
        try:
            return target(**config)
        except TypeError as exc:
            raise InputError(f"optimizer: bad options for {target.__name__}: {exc}") from None

    def get_state(self) -> dict[str, np.ndarray]:
        """The state as flat arrays ``{"<param>/<slot>": array}`` (e.g. for a checkpoint file)."""
        flat = {"/iterations": np.asarray(self.iterations, dtype=np.int64)}
        for name, state in self.state.items():
            for slot, value in state.items():
                flat[f"{name}/{slot}"] = np.array(value)
        return flat

    def set_state(self, flat: dict[str, np.ndarray]) -> None:
        """Restore a ``get_state()`` dict."""
        self.state = {}
        for key, value in flat.items():
            value = np.asarray(value)
            name, _, slot = key.rpartition("/")
            if key == "/iterations":
                self.iterations = int(value)
            elif value.ndim == 0:
                self.state.setdefault(name, {})[slot] = value.item()
            else:
                self.state.setdefault(name, {})[slot] = np.array(value)
        expected = set(self._init_state(np.zeros(0)))       # the slots this optimizer keeps per parameter
        for name, slots in self.state.items():
            if set(slots) != expected:
                raise InputError(f"set_state: parameter {name!r} has the optimizer slots {sorted(slots)}; "
                                 f"{type(self).__name__} keeps {sorted(expected)} — the state comes from another "
                                 "optimizer or is incomplete")

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if k != "name")
        return f"{type(self).__name__}({args})"


class SGD(Optimizer):
    """Plain gradient descent: p <- p - lr g."""

    name = "sgd"

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict[str, Any]) -> None:
        p -= g * self.lr                  # array * float: a little cheaper than float * array, same bits


class Momentum(Optimizer):
    """SGD with momentum (torch.optim.SGD(momentum=mu)): v <- mu v + g; p <- p - lr v;
    Nesterov: p <- p - lr (g + mu v)."""

    name = "momentum"

    def __init__(self, lr: float | None = None, momentum: float = 0.9, nesterov: bool = False, **kw: Any) -> None:
        super().__init__(lr, **kw)
        self.momentum = _in_range(momentum, "momentum", 0.0, 1.0)
        self.nesterov = bool(nesterov)

    def _init_state(self, p: np.ndarray) -> dict[str, Any]:
        return {"velocity": np.zeros_like(p)}

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict[str, Any]) -> None:
        v = state["velocity"]
        v *= self.momentum
        v += g
        p -= self.lr * (g + self.momentum * v if self.nesterov else v)

    def _hyper(self) -> dict[str, Any]:
        return {"momentum": self.momentum, "nesterov": self.nesterov}


class RMSprop(Optimizer):
    """torch.optim.RMSprop: s <- alpha s + (1 - alpha) g^2; p <- p - lr g / (sqrt(s) + eps)."""

    name = "rmsprop"
    default_lr = 1e-3

    def __init__(self, lr: float | None = None, alpha: float = 0.99, eps: float = 1e-8, **kw: Any) -> None:
        super().__init__(lr, **kw)
        self.alpha = _in_range(alpha, "alpha", 0.0, 1.0)
        self.eps = _positive(eps, "eps")

    def _init_state(self, p: np.ndarray) -> dict[str, Any]:
        return {"square_avg": np.zeros_like(p)}

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict[str, Any]) -> None:
        s = state["square_avg"]
        s *= self.alpha
        s += (1 - self.alpha) * g * g
        p -= self.lr * g / (np.sqrt(s) + self.eps)

    def _hyper(self) -> dict[str, Any]:
        return {"alpha": self.alpha, "eps": self.eps}


class Adam(Optimizer):
    """torch.optim.Adam with bias correction:
    m <- b1 m + (1 - b1) g;  v <- b2 v + (1 - b2) g^2;  t <- t + 1;
    p <- p - (lr / (1 - b1^t)) m / (sqrt(v) / sqrt(1 - b2^t) + eps)."""

    name = "adam"
    default_lr = 1e-3

    def __init__(self, lr: float | None = None, beta1: float = 0.9, beta2: float = 0.999,
                 eps: float = 1e-8, **kw: Any) -> None:
        super().__init__(lr, **kw)
        self.beta1 = _in_range(beta1, "beta1", 0.0, 1.0)
        self.beta2 = _in_range(beta2, "beta2", 0.0, 1.0)
        self.eps = _positive(eps, "eps")

    def _init_state(self, p: np.ndarray) -> dict[str, Any]:
        return {"m": np.zeros_like(p), "v": np.zeros_like(p), "t": 0}

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict[str, Any]) -> None:
        m, v = state["m"], state["v"]
        state["t"] = t = state["t"] + 1
        m *= self.beta1
        m += (1 - self.beta1) * g
        v *= self.beta2
        v += (1 - self.beta2) * g * g
        step_size = self.lr / (1 - self.beta1 ** t)
        denom = np.sqrt(v) / math.sqrt(1 - self.beta2 ** t) + self.eps
        p -= step_size * m / denom

    def _hyper(self) -> dict[str, Any]:
        return {"beta1": self.beta1, "beta2": self.beta2, "eps": self.eps}


_OPTIMIZERS: dict[str, type[Optimizer]] = {"sgd": SGD, "momentum": Momentum, "rmsprop": RMSprop, "adam": Adam}


def get(name_or_optimizer: str | Optimizer | dict[str, Any], **kw: Any) -> Optimizer:
    """An Optimizer from a name ("sgd", "momentum", "rmsprop", "adam") plus keyword options,
    a ``get_config()`` dict, or an Optimizer (returned as is; no options allowed then)."""
    if isinstance(name_or_optimizer, Optimizer):
        if kw:
            raise InputError(f"optimizer: options {sorted(kw)} given with an Optimizer instance; "
                             "set them when constructing it")
        return name_or_optimizer
    if isinstance(name_or_optimizer, dict):
        return Optimizer.from_config({**name_or_optimizer, **kw})
    if not isinstance(name_or_optimizer, str) or name_or_optimizer.lower() not in _OPTIMIZERS:
        raise InputError(f"optimizer: expected one of {sorted(_OPTIMIZERS)} or an Optimizer, "
                         f"got {name_or_optimizer!r}")
    return Optimizer.from_config({"name": name_or_optimizer.lower(), **kw})
