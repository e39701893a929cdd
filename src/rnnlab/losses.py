"""Losses fused with their output function.

The model's last Dense layer outputs *logits* ``z``; the loss applies the output function
(identity, sigmoid, softmax) itself, which gives the simple, numerically stable gradients

=============================  ================  ==========================================
loss                           output a = C(z)   d loss / d z (per valid element, before 1/N)
=============================  ================  ==========================================
``MSE``                        a = z             2 (z - y)
``BinaryCrossEntropy``         a = sigmoid(z)    sigmoid(z) - y
``CategoricalCrossEntropy``    a = softmax(z)    softmax(z) * sum(y) - y   (= p - onehot(y))
=============================  ================  ==========================================

Shapes
    * logits ``(B, K)``: one output per sequence (loss at the last step only);
    * logits ``(B, T, K)``: one output per step (loss at every step). A ``mask`` ``(B, T)``
      (True = valid step, a prefix of each row) drops padded steps from the loss and the
      gradient. For ``(B, K)`` logits the mask is ignored: the recurrent layer already picked
      each sequence's last valid step.

Reductions (they equal PyTorch's default ``reduction="mean"`` on the valid positions)
    * MSE  = mean over valid positions x K of (z - y)^2            (``nn.MSELoss``)
    * BCE  = mean over valid positions x K of
      max(z, 0) - z*y + log(1 + exp(-|z|))                          (``nn.BCEWithLogitsLoss``)
    * CE   = mean over valid positions of -sum_k y_k log softmax(z)_k,
      with log softmax(z) = z - max(z) - log(sum(exp(z - max(z))))  (``nn.CrossEntropyLoss``)

Outputs and gradients keep the logits' dtype (float32 or float64); float32 is never upcast.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .errors import InputError, RnnlabError
from .validation import as_float_array, check_mask

__all__ = ["Loss", "MSE", "BinaryCrossEntropy", "CategoricalCrossEntropy", "get",
           "sigmoid", "softmax", "log_softmax"]


# ----------------------------------------------------------------------------- output functions
def sigmoid(z: np.ndarray) -> np.ndarray:
    """sigmoid(z) = 1 / (1 + exp(-z)), computed as exp(-|z|) ratios so it never overflows."""
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))


def log_softmax(z: np.ndarray) -> np.ndarray:
    """log softmax(z) = z - m - log(sum(exp(z - m))), m = max(z) over the last axis."""
    shifted = z - z.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def softmax(z: np.ndarray) -> np.ndarray:
    """softmax(z)_k = exp(z_k - m) / sum_j exp(z_j - m), m = max(z) over the last axis."""
    e = np.subtract(z, z.max(axis=-1, keepdims=True))
    if e.dtype.kind != "f":
        e = e.astype(np.float64)
    np.exp(e, out=e)                                   # one array, in place
    e /= e.sum(axis=-1, keepdims=True)
    return e


# ----------------------------------------------------------------------------- input checks
def _check_logits(logits: Any) -> np.ndarray:
    """float32/float64 logits are kept as they are; other numeric input becomes float32."""
    z = logits if isinstance(logits, np.ndarray) else np.asarray(logits)
    if z.dtype not in (np.float32, np.float64):
        z = as_float_array(z, "logits")
    if z.ndim not in (2, 3) or z.size == 0:
        raise InputError("logits: expected shape (B, K) for last-step outputs or (B, T, K) "
                         f"for per-step outputs, got {z.shape}")
    return z


def _layouts(logits_shape: tuple[int, ...]) -> tuple[str, str, str]:
    """(layout of a full target, layout of a label target, 'per-step'/'last-step')."""
    k = "1" if logits_shape[-1] == 1 else "K"
    if len(logits_shape) == 3:
        return f"(B, T, {k})", "(B, T)", "per-step"
    return f"(B, {k})", "(B,)", "last-step"


def _shape_hint(got: tuple[int, ...], logits_shape: tuple[int, ...]) -> str:
    """Name the usual cause: a per-sequence target for per-step logits or the reverse."""
    if len(logits_shape) == 3 and len(got) >= 1 and got[0] == logits_shape[0] and len(got) <= 2 \
            and got[1:] in ((), (1,), (logits_shape[-1],)) and got != logits_shape[:2]:
        return ("; the target has one value per sequence: set return_sequences=False on the last "
                "recurrent layer, or give a target for every step")
    if len(logits_shape) == 2 and len(got) == 3 and got[0] == logits_shape[0]:
        return ("; the target has a value per step: set return_sequences=True on the last "
                "recurrent layer, or keep only the last step's target")
    return ""


def _mask_for(mask: Any, logits_shape: tuple[int, ...]) -> np.ndarray | None:
    """The validated (B, T) bool mask for per-step logits; None for last-step logits."""
    if mask is None or len(logits_shape) != 3:
        return None
    return check_mask(mask, logits_shape[0], logits_shape[1])


def _valid(values: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    """The valid positions of ``values`` (whose leading axes are (B, T)); all of them without a mask."""
    return values if mask is None else values[mask]


def _check_float_target(target: Any, logits_shape: tuple[int, ...], dtype: Any) -> np.ndarray:
    """Target of the logits' shape (a missing trailing 1 is added); finite; cast to ``dtype``."""
    shape = tuple(logits_shape)
    y = as_float_array(target, "target", dtype)
    if y.shape == shape:
        return y
    if shape[-1] == 1 and y.shape == shape[:-1]:
        return y.reshape(shape)
    layout, _, kind = _layouts(shape)
    raise InputError(f"target: expected shape {layout} = {shape} to match the {kind} logits, "
                     f"got {y.shape}{_shape_hint(y.shape, shape)}")


# ----------------------------------------------------------------------------- losses
class Loss:
    """A loss fused with its output function. Subclasses implement ``_compute`` and ``activate``.

    ``forward(logits, target, mask)`` returns the mean loss as a float and keeps the gradient
    d loss / d logits for ``backward()`` (same shape and dtype as the logits; zero on padded steps).
    """

    name: str = "loss"

    def __init__(self) -> None:
        self._grad: np.ndarray | None = None

    def forward(self, logits: np.ndarray, target: Any, mask: np.ndarray | None = None, *,
                check: bool = True) -> float:
        """``check=False`` trusts the arguments: float logits of rank 2 or 3 and a target that
        :meth:`check_target` already returned for them (``fit`` checks the whole data set before
        training and its first batch in full, then passes ``check=False``)."""
        if check:
            z = _check_logits(logits)
            m = _mask_for(mask, z.shape)
            y = self.check_target(target, z.shape, mask=m, dtype=z.dtype)
        else:
            z, y = logits, target
            m = None if mask is None or z.ndim != 3 else mask
            if m is not None and (m.dtype != bool or m.shape != z.shape[:2]):
                m = _mask_for(m, z.shape)
        n = z.shape[0] * (z.shape[1] if z.ndim == 3 else 1) if m is None else int(m.sum())
        loss, grad = self._compute(z, y, m, n)
        self._grad = grad
        return float(loss)

    __call__ = forward

    def value(self, logits: np.ndarray, target: Any, mask: np.ndarray | None = None, *,
              check: bool = True) -> float:
        """The mean loss only, as :meth:`forward` computes it, keeping no gradient (evaluation:
        no array of the logits' size outlives the call)."""
        loss = self.forward(logits, target, mask, check=check)
        self._grad = None
        return loss

    def backward(self) -> np.ndarray:
        """d loss / d logits for the last ``forward``."""
        if self._grad is None:
            raise RnnlabError(f"{type(self).__name__}.backward() called before forward()")
        return self._grad

    def activate(self, logits: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def check_target(self, target: Any, logits_shape: tuple[int, ...], mask: Any = None,
                     dtype: Any = np.float32) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def _compute(self, z: np.ndarray, y: np.ndarray, m: np.ndarray | None,
                 n: int) -> tuple[Any, np.ndarray]:  # pragma: no cover - abstract
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if k != "name")
        return f"{type(self).__name__}({args})"


def _masked(values: np.ndarray, m: np.ndarray | None) -> np.ndarray:
    """Zero the padded positions of a (B, T, ...) array (np.where, so non-finite junk cannot leak)."""
    if m is None:
        return values
    return np.where(m.reshape(m.shape + (1,) * (values.ndim - 2)), values, 0)


class MSE(Loss):
    """Mean squared error with identity output: L = (1/N) sum (z - y)^2, N = valid positions x K.

    dL/dz = 2 (z - y) / N. With ``half=True`` both are halved, L = (1/2N) sum (z - y)^2: the
    lecture's reference implementation reports this MSE/2 as its "loss" (e.g. for the echo case),
    so use ``MSE(half=True)`` to compare numbers with it.
    """

    name = "mse"

    def __init__(self, half: bool = False) -> None:
        super().__init__()
        self.half = bool(half)

    def activate(self, logits: np.ndarray) -> np.ndarray:
        """Identity: the predictions are the logits."""
        return np.asarray(logits)

    def check_target(self, target: Any, logits_shape: tuple[int, ...], mask: Any = None,
                     dtype: Any = np.float32) -> np.ndarray:
        """Real-valued target of the logits' shape (``(B,)``/``(B, T)`` accepted when K = 1)."""
        return _check_float_target(target, logits_shape, dtype)

    def _compute(self, z: np.ndarray, y: np.ndarray, m: np.ndarray | None, n: int) -> tuple[Any, np.ndarray]:
        d = _masked(z - y, m)
        scale = (1.0 if self.half else 2.0) / (n * z.shape[-1])
        loss = (d * d).sum() / (n * z.shape[-1]) * (0.5 if self.half else 1.0)
        return loss, d * scale

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "half": self.half}


class BinaryCrossEntropy(Loss):
    """Sigmoid + binary cross-entropy on logits, y in [0, 1]:

    L = (1/N) sum [max(z, 0) - z*y + log(1 + exp(-|z|))]  (= -y log s - (1-y) log(1-s), s = sigmoid(z)),
    dL/dz = (sigmoid(z) - y) / N,  N = valid positions x K.
    """

    name = "binary_crossentropy"

    def activate(self, logits: np.ndarray) -> np.ndarray:
        """sigmoid(z): the probability of class 1."""
        return sigmoid(np.asarray(logits))

    def check_target(self, target: Any, logits_shape: tuple[int, ...], mask: Any = None,
                     dtype: Any = np.float32) -> np.ndarray:
        """Target of the logits' shape (``(B,)``/``(B, T)`` accepted when K = 1), values in [0, 1]."""
        y = _check_float_target(target, logits_shape, dtype)
        valid = _valid(y, _mask_for(mask, tuple(logits_shape)))
        lo, hi = float(valid.min()), float(valid.max())
        if lo < 0 or hi > 1:
            raise InputError(f"target: binary cross-entropy expects targets in [0, 1] (0/1 labels or "
                             f"probabilities), got values in [{lo:g}, {hi:g}]")
        return y

    def _compute(self, z: np.ndarray, y: np.ndarray, m: np.ndarray | None, n: int) -> tuple[Any, np.ndarray]:
        nk = n * z.shape[-1]
        elem = _masked(np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z))), m)
        return elem.sum() / nk, _masked(sigmoid(z) - y, m) * (1.0 / nk)


class CategoricalCrossEntropy(Loss):
    """Softmax + cross-entropy over the K classes of the last axis:

    L = (1/N) sum_positions -sum_k y_k log softmax(z)_k,  N = valid positions,
    dL/dz = (softmax(z) * sum_k y_k - y) / N  (= (p - onehot) / N for labels).

    Targets are integer class labels ``(B,)`` / ``(B, T)`` in [0, K) or one-hot / probability
    rows ``(B, K)`` / ``(B, T, K)``.
    """

    name = "categorical_crossentropy"

    def activate(self, logits: np.ndarray) -> np.ndarray:
        """softmax(z) over the last axis: the class probabilities."""
        return softmax(np.asarray(logits))

    def check_target(self, target: Any, logits_shape: tuple[int, ...], mask: Any = None,
                     dtype: Any = np.float32) -> np.ndarray:
        """int64 labels of shape ``logits_shape[:-1]`` or probability rows of the logits' shape
        (in ``dtype``). Padded positions (``mask`` False) are not range-checked; their labels become 0."""
        shape = tuple(logits_shape)
        k = shape[-1]
        if k < 2:
            raise InputError("logits: categorical cross-entropy needs K >= 2 classes, got K = 1; "
                             "use binary_crossentropy for a single sigmoid output")
        m = _mask_for(mask, shape)
        t = as_float_array(target, "target", np.float64)
        if t.shape == shape:
            valid = _valid(t, m)
            sums = valid.sum(axis=-1)
            if valid.min() < 0 or np.max(np.abs(sums - 1)) > 1e-3:
                raise InputError("target: one-hot / probability rows must be non-negative and sum to 1, "
                                 f"got values in [{valid.min():g}, {valid.max():g}] and row sums in "
                                 f"[{sums.min():g}, {sums.max():g}]")
            return t.astype(dtype)
        if t.shape == shape[:-1] + (1,):
            t = t.reshape(shape[:-1])
        if t.shape != shape[:-1]:
            layout, labels, kind = _layouts(shape)
            raise InputError(f"target: expected class labels of shape {labels} = {shape[:-1]} or one-hot "
                             f"rows of shape {layout} = {shape} to match the {kind} logits, "
                             f"got {t.shape}{_shape_hint(t.shape, shape)}")
        valid = _valid(t, m)
        if np.any(valid != np.round(valid)):
            raise InputError("target: class labels must be integers in [0, "
                             f"{k}), got non-integer values such as {valid[valid != np.round(valid)][0]:g}")
        lo, hi = float(valid.min()), float(valid.max())
        if lo < 0 or hi >= k:
            raise InputError(f"target: class labels must lie in [0, {k}) for K = {k} logits, "
                             f"got labels in [{lo:g}, {hi:g}]")
        labels = t.astype(np.int64)
        if m is not None:
            labels[~m] = 0
        return labels

    def _compute(self, z: np.ndarray, y: np.ndarray, m: np.ndarray | None, n: int) -> tuple[Any, np.ndarray]:
        """Fused log-softmax + negative log-likelihood: one (positions, K) work array that becomes
        the gradient in place. Per position, with s = z - max(z) and S = sum(exp(s)):
        nll = sum(y) log S - y . s (labels: log S - s[label]); grad = exp(s) / S * sum(y) - y.
        Equal to the readable ``log_softmax``/``softmax`` formula (tests keep it as the reference)."""
        k = z.shape[-1]
        z2 = z.reshape(-1, k)
        rows = None if m is None else m.reshape(-1)
        work = np.subtract(z2, z2.max(axis=-1, keepdims=True))            # s = z - max(z)
        labels = y.dtype == np.int64
        if labels:                                                         # y . s for one-hot labels
            lab = y.reshape(-1)
            picked = work[np.arange(lab.size), lab]
        else:                                                              # probability rows
            y2 = y.reshape(-1, k)
            ysum = y2.sum(axis=-1)
            picked = np.einsum("ij,ij->i", y2, work)
        np.exp(work, out=work)
        total = work.sum(axis=-1)                                          # S
        nll = np.log(total) - picked if labels else np.log(total) * ysum - picked
        loss = (nll.sum() if rows is None else nll[rows].sum()) / n
        if labels:                                                         # (p - onehot) / N
            work *= (1.0 / (n * total))[:, None].astype(work.dtype, copy=False)
            work[np.arange(lab.size), lab] -= 1.0 / n
        else:                                                              # (p * sum(y) - y) / N (torch)
            work *= (ysum / (n * total))[:, None]
            work -= y2 * (1.0 / n)
        if rows is not None and not rows.all():
            work[~rows] = 0                                                # padded steps: no gradient
        return loss, work.reshape(z.shape)


_ALIASES: dict[str, type[Loss]] = {
    "mse": MSE, "mean_squared_error": MSE,
    "bce": BinaryCrossEntropy, "binary_crossentropy": BinaryCrossEntropy,
    "ce": CategoricalCrossEntropy, "categorical_crossentropy": CategoricalCrossEntropy,
    "sparse_categorical_crossentropy": CategoricalCrossEntropy,
}


def get(name_or_loss: str | Loss | dict[str, Any]) -> Loss:
    """A Loss from a name (aliases: mse; bce, binary_crossentropy; ce, categorical_crossentropy,
    sparse_categorical_crossentropy), a ``get_config()`` dict, or a Loss (returned as is)."""
    if isinstance(name_or_loss, Loss):
        return name_or_loss
    config: dict[str, Any] = {}
    name = name_or_loss
    if isinstance(name_or_loss, dict):
        config = dict(name_or_loss)
        name = config.pop("name", None)
    if not isinstance(name, str) or name.lower() not in _ALIASES:
        raise InputError(f"loss: expected one of {sorted(_ALIASES)} or a Loss instance, got {name_or_loss!r}")
    try:
        return _ALIASES[name.lower()](**config)
    except TypeError as exc:
        raise InputError(f"loss: bad options for {name!r}: {exc}") from None
