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

from typing import Any, Callable, Sequence

import numpy as np

from .errors import InputError
from .validation import as_float_array, check_mask

__all__ = ["accuracy", "step_accuracy", "r2", "mae", "rmse", "confusion_matrix", "macro_f1", "get",
           "Running"]

Metric = Callable[..., float]


def _metric(higher_is_better: bool) -> Callable[[Metric], Metric]:
    def mark(fn: Metric) -> Metric:
        fn.higher_is_better = higher_is_better  # type: ignore[attr-defined]
        return fn
    return mark


# ----------------------------------------------------------------------------- input checks
def _check_pred(pred: Any) -> np.ndarray:
    """float32 predictions stay float32 (no float64 copy of a big softmax; every use below is exact
    in either: argmax, or differences with float64 targets); anything else becomes float64."""
    dtype = pred.dtype if isinstance(pred, np.ndarray) and pred.dtype in (np.float32, np.float64) else np.float64
    p = as_float_array(pred, "pred", dtype)
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
# Each built-in metric is computed from sufficient statistics of its batch (counts and sums), so
# that :class:`Running` can feed a data set one batch at a time and get the whole set's value.
def _accuracy_stats(pred: Any, target: Any, mask: Any) -> np.ndarray:
    """[number right, number counted]: sequences for per-step binary, else valid positions."""
    p = _check_pred(pred)
    m = _mask(mask, p.shape)
    pl, tl = _labels(p, target, m)
    right = pl == tl
    if p.ndim == 3 and p.shape[-1] == 1:
        return np.array([np.all(right | ~m, axis=1).sum(), p.shape[0]], dtype=np.float64)
    return np.array([right[m].sum(), m.sum()], dtype=np.float64)


def _step_accuracy_stats(pred: Any, target: Any, mask: Any) -> np.ndarray:
    p = _check_pred(pred)
    m = _mask(mask, p.shape)
    pl, tl = _labels(p, target, m)
    return np.array([(pl == tl)[m].sum(), m.sum()], dtype=np.float64)


def _ratio(stats: np.ndarray) -> float:
    return float(stats[0] / stats[1])


@_metric(higher_is_better=True)
def accuracy(pred: Any, target: Any, mask: Any = None) -> float:
    """Fraction right; per-step binary (B, T, 1): a sequence is right only if all its valid steps are."""
    return _ratio(_accuracy_stats(pred, target, mask))


@_metric(higher_is_better=True)
def step_accuracy(pred: Any, target: Any, mask: Any = None) -> float:
    """Fraction of valid positions (sequence x step) whose class is right."""
    return _ratio(_step_accuracy_stats(pred, target, mask))


def _residuals(pred: Any, target: Any, mask: Any) -> tuple[np.ndarray, np.ndarray]:
    """(valid targets, valid residuals y - p), each of shape (n_valid, K)."""
    p = _check_pred(pred)
    m = _mask(mask, p.shape)
    y = _float_target(target, p.shape)
    return y[m], (y - p)[m]


def _r2_stats(pred: Any, target: Any, mask: Any) -> np.ndarray:
    """[count, mean of y, sum (y - mean)^2, sum (y - p)^2] over the valid values."""
    y, res = _residuals(pred, target, mask)
    mean = float(y.mean())
    return np.array([y.size, mean, float(np.sum((y - mean) ** 2)), float(np.sum(res * res))])


def _r2_combine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pooled statistics of two parts (Chan et al.'s update of the sum of squared deviations)."""
    n = a[0] + b[0]
    delta = b[1] - a[1]
    return np.array([n, a[1] + delta * b[0] / n, a[2] + b[2] + delta * delta * a[0] * b[0] / n, a[3] + b[3]])


def _r2_value(stats: np.ndarray) -> float:
    ss_tot, ss_res = float(stats[2]), float(stats[3])
    if ss_tot == 0.0:
        return 1.0 if ss_res == 0.0 else 0.0
    return 1.0 - ss_res / ss_tot


@_metric(higher_is_better=True)
def r2(pred: Any, target: Any, mask: Any = None) -> float:
    """R^2 = 1 - sum (y - p)^2 / sum (y - mean(y))^2 over all valid values (one pooled mean)."""
    return _r2_value(_r2_stats(pred, target, mask))


def _abs_error_stats(pred: Any, target: Any, mask: Any) -> np.ndarray:
    res = _residuals(pred, target, mask)[1]
    return np.array([np.sum(np.abs(res)), res.size], dtype=np.float64)


def _squared_error_stats(pred: Any, target: Any, mask: Any) -> np.ndarray:
    res = _residuals(pred, target, mask)[1]
    return np.array([np.sum(res * res), res.size], dtype=np.float64)


@_metric(higher_is_better=False)
def mae(pred: Any, target: Any, mask: Any = None) -> float:
    """Mean absolute error: mean |y - p| over all valid values."""
    return _ratio(_abs_error_stats(pred, target, mask))


@_metric(higher_is_better=False)
def rmse(pred: Any, target: Any, mask: Any = None) -> float:
    """Root mean squared error: sqrt(mean (y - p)^2) over all valid values."""
    return float(np.sqrt(_ratio(_squared_error_stats(pred, target, mask))))


def _add(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return a + b


# metric -> (statistics of one batch, combine two parts' statistics, value from the statistics)
_STREAMING: dict[Any, tuple[Callable, Callable, Callable]] = {
    accuracy: (_accuracy_stats, _add, _ratio),
    step_accuracy: (_step_accuracy_stats, _add, _ratio),
    r2: (_r2_stats, _r2_combine, _r2_value),
    mae: (_abs_error_stats, _add, _ratio),
    rmse: (_squared_error_stats, _add, lambda s: float(np.sqrt(_ratio(s)))),
}


def _join(parts: Sequence[np.ndarray], fill: Any) -> np.ndarray:
    """Batches along axis 0; per-step batches cut to different lengths are padded on the time
    axis (axis 1) with ``fill`` (padded steps, which the mask marks False)."""
    steps = max(a.shape[1] for a in parts) if parts[0].ndim >= 2 else None
    if steps is not None and any(a.shape[1] != steps for a in parts):
        parts = [np.pad(a, [(0, 0), (0, steps - a.shape[1])] + [(0, 0)] * (a.ndim - 2), constant_values=fill)
                 for a in parts]
    return np.concatenate(parts)


class Running:
    """A metric over a data set fed one batch at a time (``add``), equal to the metric of the whole
    set (``value``) without keeping the predictions: built-in metrics add up counts and sums.

    A custom callable metric is not decomposable in general: ``streaming`` is False and ``add``
    keeps the batches, which ``value`` joins (per-step batches of different lengths padded, the
    padding masked) and hands to the callable once.
    """

    def __init__(self, metric: str | Metric) -> None:
        self.metric = get(metric)
        self._parts = _STREAMING.get(self.metric)
        self._stats: np.ndarray | None = None
        self._kept: list[tuple[np.ndarray, np.ndarray, np.ndarray | None]] = []

    @property
    def streaming(self) -> bool:
        return self._parts is not None

    def add(self, pred: Any, target: Any, mask: Any = None) -> None:
        if self._parts is None:
            self._kept.append((np.asarray(pred), np.asarray(target), None if mask is None else np.asarray(mask)))
            return
        stats = self._parts[0](pred, target, mask)
        self._stats = stats if self._stats is None else self._parts[1](self._stats, stats)

    def value(self) -> float:
        if self._parts is None:
            if not self._kept:
                raise InputError("Running.value(): no batch was added")
            preds, targets, masks = zip(*self._kept)
            if any(m is not None for m in masks):          # a batch without a mask: all valid
                masks = tuple(np.ones(p.shape[:2], bool) if m is None else m for p, m in zip(preds, masks))
                return float(self.metric(_join(preds, 0), _join(targets, 0), _join(masks, False)))
            return float(self.metric(_join(preds, 0), _join(targets, 0), None))
        if self._stats is None:
            raise InputError("Running.value(): no batch was added")
        return float(self._parts[2](self._stats))


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
