"""Per-feature scalers, fitted on training rows only and saved as plain JSON-able dicts.

Both scalers work on the last axis: ``(N, F)``, ``(N, T, F)`` or ``(F,)`` arrays all hold ``F``
features. A column with zero spread gets scale 1 (so it maps to a constant, not to inf/NaN).
NaN or infinite input is rejected. Outputs keep a float32 input's dtype; others become float64.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import InputError
from ..validation import as_float_array


def _float_input(x: Any, name: str) -> np.ndarray:
    arr = np.asarray(x)
    dtype = np.float32 if arr.dtype == np.float32 else np.float64
    arr = as_float_array(arr, name, dtype=dtype)
    if arr.ndim == 0:
        raise InputError(f"{name}: expected an array whose last axis holds the features, got a scalar")
    return arr


class _Scaler:
    """Shared plumbing: ``x_scaled = (x - offset) / scale`` per feature."""

    kind = "_Scaler"

    def __init__(self) -> None:
        self.offset_: np.ndarray | None = None
        self.scale_: np.ndarray | None = None

    @property
    def n_features(self) -> int | None:
        return None if self.offset_ is None else int(self.offset_.size)

    def _stats(self, flat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def fit(self, x: Any) -> "_Scaler":
        """Learn the per-feature statistics from ``x`` (the training rows only)."""
        arr = _float_input(x, f"{self.kind}.fit")
        flat = arr.reshape(-1, arr.shape[-1]).astype(np.float64)
        offset, scale = self._stats(flat)
        scale = np.where(scale > 0, scale, 1.0)
        self.offset_, self.scale_ = offset, scale
        return self

    def _checked(self, x: Any, what: str) -> np.ndarray:
        if self.offset_ is None:
            raise InputError(f"{self.kind}.{what}: the scaler is not fitted; "
                             "call fit(train_rows) first")
        arr = _float_input(x, f"{self.kind}.{what}")
        if arr.shape[-1] != self.offset_.size:
            raise InputError(f"{self.kind}.{what}: expected {self.offset_.size} features on the last "
                             f"axis, got shape {arr.shape}")
        return arr

    def transform(self, x: Any) -> np.ndarray:
        """Scale ``x`` with the fitted statistics."""
        arr = self._checked(x, "transform")
        return ((arr - self.offset_) / self.scale_).astype(arr.dtype, copy=False)

    def inverse_transform(self, x: Any) -> np.ndarray:
        """Undo :meth:`transform`."""
        arr = self._checked(x, "inverse_transform")
        return (arr * self.scale_ + self.offset_).astype(arr.dtype, copy=False)

    def fit_transform(self, x: Any) -> np.ndarray:
        """``fit(x)`` then ``transform(x)``."""
        return self.fit(x).transform(x)

    def _extra(self) -> dict[str, Any]:
        return {}

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable description (plain lists and floats)."""
        if self.offset_ is None:
            raise InputError(f"{self.kind}.to_dict: the scaler is not fitted; call fit first")
        return {"type": self.kind, "offset": self.offset_.tolist(), "scale": self.scale_.tolist(),
                **self._extra()}

    @classmethod
    def _from_parts(cls, d: dict[str, Any]) -> "_Scaler":
        raise NotImplementedError

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "_Scaler":
        """Rebuild a scaler saved with :meth:`to_dict`."""
        if not isinstance(d, dict) or d.get("type") != cls.kind:
            found = d.get("type") if isinstance(d, dict) else type(d).__name__
            raise InputError(f"{cls.kind}.from_dict: expected a dict with type={cls.kind!r}, "
                             f"found {found!r}")
        try:
            offset = np.asarray(d["offset"], dtype=np.float64)
            scale = np.asarray(d["scale"], dtype=np.float64)
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(f"{cls.kind}.from_dict: expected numeric lists 'offset' and 'scale' "
                             f"({exc!r})") from None
        if (offset.ndim != 1 or offset.shape != scale.shape or offset.size == 0
                or not np.all(np.isfinite(offset)) or not np.all(np.isfinite(scale))
                or np.any(scale <= 0)):
            raise InputError(f"{cls.kind}.from_dict: expected equal-length finite 'offset' and "
                             f"positive 'scale' lists, got shapes {offset.shape} and {scale.shape}")
        obj = cls._from_parts(d)
        obj.offset_, obj.scale_ = offset, scale
        return obj


class StandardScaler(_Scaler):
    """``(x - mean) / std`` per feature (population std; zero std -> scale 1)."""

    kind = "StandardScaler"

    @property
    def mean_(self) -> np.ndarray | None:
        return self.offset_

    def _stats(self, flat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return flat.mean(axis=0), flat.std(axis=0)

    @classmethod
    def _from_parts(cls, d: dict[str, Any]) -> "StandardScaler":
        return cls()


class MinMaxScaler(_Scaler):
    """Map each feature's training ``[min, max]`` to ``feature_range`` (zero range -> scale 1)."""

    kind = "MinMaxScaler"

    def __init__(self, feature_range: tuple[float, float] = (0.0, 1.0)) -> None:
        super().__init__()
        try:
            lo, hi = (float(v) for v in feature_range)
        except (TypeError, ValueError):
            lo, hi = np.nan, np.nan
        if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
            raise InputError(f"MinMaxScaler: feature_range must be (low, high) with low < high, "
                             f"got {feature_range!r}")
        self.feature_range = (lo, hi)

    def _stats(self, flat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        lo, hi = self.feature_range
        data_min, data_max = flat.min(axis=0), flat.max(axis=0)
        span = (data_max - data_min) / (hi - lo)
        span = np.where(span > 0, span, 1.0)
        # x_scaled = (x - data_min) / span + lo  ==  (x - offset) / span
        return data_min - lo * span, span

    def _extra(self) -> dict[str, Any]:
        return {"feature_range": list(self.feature_range)}

    @classmethod
    def _from_parts(cls, d: dict[str, Any]) -> "MinMaxScaler":
        try:
            return cls(tuple(d.get("feature_range", (0.0, 1.0))))
        except (TypeError, ValueError) as exc:
            raise InputError(f"MinMaxScaler.from_dict: bad feature_range ({exc!r})") from None
