"""Evaluation metrics: ``metric(pred, target, mask=None) -> float``.

``pred`` is the *activated* prediction (``Loss.activate``: identity, sigmoid or softmax output),
of shape ``(B, K)`` (one output per sequence) or ``(B, T, K)`` (one output per step). ``mask``
``(B, T)`` (True = valid step) only applies to per-step predictions; padded steps never count.
Every metric carries ``higher_is_better`` so early stopping knows the direction.

* ``accuracy``: K = 1 (binary): predicted class = pred > 0.5 (target 0/1, also thresholded at 0.5).
  Last-step ``(B, 1)``: fraction of sequences right. Per-step ``(B, T, 1)``: a sequence counts as
  right only if EVERY valid step is right (the lecture's rule, e.g. binary subtraction).
  K > 1: predicted class = argmax over K, target integer labels or one-hot rows; per-step: fraction
  of valid positions right.
* ``step_accuracy``: fraction of valid positions right (binary or multi-class).
* ``r2`` = 1 - SS_res / SS_tot, SS_res = sum (y - p)^2, SS_tot = sum (y - mean(y))^2 over all valid
  values pooled over the K output columns (one mean); 1.0 (perfect) or 0.0 when SS_tot = 0.
* ``mae`` = mean |y - p|, ``rmse`` = sqrt(mean (y - p)^2) over all valid values.
* ``confusion_matrix`` and ``macro_f1`` work on integer label arrays.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .errors import InputError
from .validation import as_float_array, check_mask

__all__ = ["accuracy", "step_accuracy", "r2", "mae", "rmse", "confusion_matrix", "macro_f1", "get"]

Metric = Callable[..., float]


def _metric(higher_is_better: bool) -> Callable[[Metric], Metric]:
    def mark(fn: Metric) -> Metric:
        fn.higher_is_better = higher_is_better  # type: ignore[attr-defined]
        return fn
    return mark


# ----------------------------------------------------------------------------- input checks
def _check_pred(pred: Any) -> np.ndarray:
    p = as_float_array(pred, "pred", np.float64)
    if p.ndim not in (2, 3):
        raise InputError("pred: expected shape (B, K) for last-step outputs or (B, T, K) for per-step "
                         f"outputs, got {p.shape}")
    return p


def _mask(mask: Any, shape: tuple[int, ...]) -> np.ndarray:
    """(B, T) bool mask for per-step predictions (all True without one); (B,) all True otherwise."""
    if len(shape) == 3 and mask is not None:
        return check_mask(mask, shape[0], shape[1])
    return np.ones(shape[:-1], dtype=bool)


def _layout(shape: tuple[int, ...]) -> str:
    k = "1" if shape[-1] == 1 else "K"
    return f"(B, T, {k})" if len(shape) == 3 else f"(B, {k})"


def _float_target(target: Any, shape: tuple[int, ...]) -> np.ndarray:
    """Target of the prediction's shape (a missing trailing 1 is added when K = 1)."""
    y = as_float_array(target, "target", np.float64)
    if y.shape == shape:
        return y
    if shape[-1] == 1 and y.shape == shape[:-1]:
        return y.reshape(shape)
    raise InputError(f"target: expected shape {_layout(shape)} = {shape} to match the predictions, got {y.shape}")


def _labels(pred: np.ndarray, target: Any, m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Predicted and true class per position, both of shape ``pred.shape[:-1]``."""
    shape, k = pred.shape, pred.shape[-1]
    if k == 1:
        return pred[..., 0] > 0.5, _float_target(target, shape)[..., 0] > 0.5
    y = as_float_array(target, "target", np.float64)
    if y.shape == shape:
        return pred.argmax(axis=-1), y.argmax(axis=-1)
    if y.shape == shape[:-1] + (1,):
        y = y[..., 0]
    if y.shape != shape[:-1]:
        lab = "(B, T)" if len(shape) == 3 else "(B,)"
        raise InputError(f"target: expected class labels of shape {lab} = {shape[:-1]} or one-hot rows of "
                         f"shape {_layout(shape)} = {shape} to match the predictions, got {y.shape}")
    valid = y[m]
    if np.any(valid != np.round(valid)) or valid.min() < 0 or valid.max() >= k:
        raise InputError(f"target: class labels must be integers in [0, {k}), got values in "
                         f"[{valid.min():g}, {valid.max():g}]")
    return pred.argmax(axis=-1), np.where(m, y, 0).astype(np.int64)


# ----------------------------------------------------------------------------- metrics
@_metric(higher_is_better=True)
def accuracy(pred: Any, target: Any, mask: Any = None) -> float:
    """Fraction right; per-step binary (B, T, 1): a sequence is right only if all its valid steps are."""
    p = _check_pred(pred)
    m = _mask(mask, p.shape)
    pl, tl = _labels(p, target, m)
    right = pl == tl
    if p.ndim == 3 and p.shape[-1] == 1:
        return float(np.mean(np.all(right | ~m, axis=1)))
    return float(np.mean(right[m]))


@_metric(higher_is_better=True)
def step_accuracy(pred: Any, target: Any, mask: Any = None) -> float:
    """Fraction of valid positions (sequence x step) whose class is right."""
    p = _check_pred(pred)
    m = _mask(mask, p.shape)
    pl, tl = _labels(p, target, m)
    return float(np.mean((pl == tl)[m]))


def _residuals(pred: Any, target: Any, mask: Any) -> tuple[np.ndarray, np.ndarray]:
    """(valid targets, valid residuals y - p), each of shape (n_valid, K)."""
    p = _check_pred(pred)
    m = _mask(mask, p.shape)
    y = _float_target(target, p.shape)
    return y[m], (y - p)[m]


@_metric(higher_is_better=True)
def r2(pred: Any, target: Any, mask: Any = None) -> float:
    """R^2 = 1 - sum (y - p)^2 / sum (y - mean(y))^2 over all valid values (one pooled mean)."""
    y, res = _residuals(pred, target, mask)
    ss_res = float(np.sum(res * res))
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    if ss_tot == 0.0:
        return 1.0 if ss_res == 0.0 else 0.0
    return 1.0 - ss_res / ss_tot


@_metric(higher_is_better=False)
def mae(pred: Any, target: Any, mask: Any = None) -> float:
    """Mean absolute error: mean |y - p| over all valid values."""
    return float(np.mean(np.abs(_residuals(pred, target, mask)[1])))


@_metric(higher_is_better=False)
def rmse(pred: Any, target: Any, mask: Any = None) -> float:
    """Root mean squared error: sqrt(mean (y - p)^2) over all valid values."""
    res = _residuals(pred, target, mask)[1]
    return float(np.sqrt(np.mean(res * res)))


# ----------------------------------------------------------------------------- label metrics
def _int_labels(x: Any, name: str, n_classes: int) -> np.ndarray:
    a = as_float_array(x, name, np.float64).ravel()
    if np.any(a != np.round(a)) or a.min() < 0 or a.max() >= n_classes:
        raise InputError(f"{name}: expected integer class labels in [0, {n_classes}), "
                         f"got values in [{a.min():g}, {a.max():g}]")
    return a.astype(np.int64)


def confusion_matrix(pred_labels: Any, true_labels: Any, n_classes: int) -> np.ndarray:
    """C[i, j] = number of samples of true class i predicted as class j; int64 (n_classes, n_classes)."""
    if isinstance(n_classes, bool) or not isinstance(n_classes, (int, np.integer)) or n_classes < 1:
        raise InputError(f"n_classes: expected a positive integer, got {n_classes!r}")
    if np.shape(pred_labels) != np.shape(true_labels):
        raise InputError(f"pred_labels: expected the shape of true_labels {np.shape(true_labels)}, "
                         f"got {np.shape(pred_labels)}")
    p = _int_labels(pred_labels, "pred_labels", n_classes)
    t = _int_labels(true_labels, "true_labels", n_classes)
    return np.bincount(t * n_classes + p, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def macro_f1(pred_labels: Any, true_labels: Any, n_classes: int) -> float:
    """Mean over classes of F1_c = 2 TP / (2 TP + FP + FN), over the classes that occur in the true
    or the predicted labels (as scikit-learn's ``f1_score(average="macro")``)."""
    c = confusion_matrix(pred_labels, true_labels, n_classes)
    tp = np.diag(c).astype(np.float64)
    denom = c.sum(axis=0) + c.sum(axis=1)  # (TP + FP) + (TP + FN)
    present = denom > 0
    return float(np.mean(2 * tp[present] / denom[present]))


macro_f1.higher_is_better = True  # type: ignore[attr-defined]

_METRICS: dict[str, Metric] = {"accuracy": accuracy, "acc": accuracy, "step_accuracy": step_accuracy,
                               "r2": r2, "mae": mae, "rmse": rmse}


def get(name: str | Metric) -> Metric:
    """A metric function by name (accuracy/acc, step_accuracy, r2, mae, rmse), or a callable
    ``(pred, target, mask=None) -> float`` that has a ``higher_is_better`` attribute."""
    if callable(name):
        if not hasattr(name, "higher_is_better"):
            raise InputError(f"metric: the callable {getattr(name, '__name__', name)!r} needs a "
                             "higher_is_better attribute (True or False) so early stopping knows the direction")
        return name
    if not isinstance(name, str) or name.lower() not in _METRICS:
        raise InputError(f"metric: expected one of {sorted(_METRICS)} or a callable, got {name!r}")
    return _METRICS[name.lower()]
