"""What ``fit`` does when an update goes non-finite (``on_nonfinite``), and the message naming where.

An update fails when the batch's loss is not finite, or when the global norm of its gradients is
not (the optimizer refuses before changing anything). Either way no weight has moved yet:

* ``"stop"`` (default): raise :class:`~rnnlab.errors.TrainingError` — the model keeps the weights
  of the last good update;
* ``"skip_batch"``: drop the batch, halve the learning rate (``base_lr`` too, so a schedule keeps
  the halving at later epochs), reset carried states (a stateful layer's state went through the
  bad batch), warn, and go on. An epoch whose every batch fails raises instead.

The message names the epoch, the batch and where it went wrong: the first parameter whose gradient
is non-finite **in backward order** (backpropagation starts at the output layer, so that is the
layer nearest the output where it happened; its name, e.g. ``layers.0.weight_hh``, names the layer),
or the loss itself when the loss is non-finite but every gradient is finite (an overflow in the
loss's own sum, e.g. targets too large for float32).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import InputError
from ..optim import global_norm

CHOICES = ("stop", "skip_batch")

ADVICE = ("lower the learning rate (now {lr:g}), set clipnorm=1.0 in compile(), and check that the inputs "
          "are scaled (e.g. StandardScaler fitted on the training data)")


def check_choice(value: Any) -> str:
    """``on_nonfinite`` as given, or InputError naming the allowed values."""
    if not isinstance(value, str) or value not in CHOICES:
        raise InputError(f"on_nonfinite: expected one of {', '.join(repr(c) for c in CHOICES)}, got {value!r}")
    return value


def first_nonfinite_gradient(params: list) -> str | None:
    """Where the gradients first hold NaN or infinity, in backward order: ``"layer L (parameter P)"``
    from the parameter's name ``L.P`` (e.g. ``layer layers.0 (parameter weight_hh)``); None if nowhere."""
    for name, _, g in reversed(params):
        if not np.isfinite(g).all():
            layer, _, param = name.rpartition(".")
            return f"layer {layer} (parameter {param})" if layer else f"parameter {param}"
    return None


def loss_message(model, loss: float, params: list) -> str:
    """A non-finite loss: run the backward pass anyway (nothing is updated) to say where the
    gradients went non-finite, or that they did not (then the loss's own value overflowed)."""
    try:
        with np.errstate(all="ignore"):
            model.backward(model.compiled_loss.backward())
        where = first_nonfinite_gradient(params)
    except Exception as exc:  # noqa: BLE001 - a diagnosis only; the update fails either way
        return (f"the loss became {loss} (its gradients could not be computed: {type(exc).__name__}): "
                + ADVICE.format(lr=model.optimizer.lr))
    if where is None:
        return (f"the loss became {loss} with finite gradients (the loss's own sum overflowed): check that "
                "the targets are scaled, then " + ADVICE.format(lr=model.optimizer.lr))
    return (f"the loss became {loss}, gradients non-finite from {where} (first in backward order): "
            + ADVICE.format(lr=model.optimizer.lr))


def gradient_message(model, params: list) -> str:
    """A finite loss whose gradients are not (the optimizer refused the step)."""
    with np.errstate(all="ignore"):
        norm = global_norm([g for _, _, g in params])
    where = first_nonfinite_gradient(params)
    return (f"the gradient norm is {norm} (non-finite) from {where} (first in backward order), "
            "training diverged: " + ADVICE.format(lr=model.optimizer.lr))


def skip_batch(model) -> None:
    """``"skip_batch"``: halve the learning rate for the rest of the fit; forget carried states."""
    opt = model.optimizer
    opt.lr *= 0.5
    opt.base_lr *= 0.5
    model.reset_states()
