"""Regression targets in scaled space, and the recursive rollout of a one-step model."""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .config import WEATHER
from .data import Prepared, fwd, inv, windows_x


class TargetCoder:
    """Regression targets in scaled space and back: ``z = (g(pm[t+l]) - base - mean_l) / std_l``.

    ``base`` is ``g(pm_known[t])`` (residual target) or 0 (level target); the per-lead mean and
    std come from the training windows only.
    """

    def __init__(self, prep: Prepared, leads: Sequence[int], residual: bool) -> None:
        self.prep, self.leads, self.residual = prep, np.asarray(leads, dtype=np.int64), residual
        self.mean_: np.ndarray | None = None
        self.std_: np.ndarray | None = None

    def _raw(self, ends: np.ndarray) -> np.ndarray:
        g = fwd(self.prep.data.pm25[ends[:, None] + self.leads[None, :]], self.prep.transform)
        return g - self._base(ends)[:, None]

    def _base(self, ends: np.ndarray) -> np.ndarray:
        return self.prep.g_known[ends] if self.residual else np.zeros(len(ends))

    def fit(self, train_ends: np.ndarray) -> "TargetCoder":
        raw = self._raw(train_ends)
        self.mean_, self.std_ = raw.mean(axis=0), np.maximum(raw.std(axis=0), 1e-6)
        return self

    def encode(self, ends: np.ndarray) -> np.ndarray:
        return ((self._raw(ends) - self.mean_) / self.std_).astype(np.float32)

    def decode_g(self, z: np.ndarray, base_g: np.ndarray) -> np.ndarray:
        """Scaled outputs (n, L) -> g-space values, given g of the last known value (residual)."""
        g = np.asarray(z, np.float64) * self.std_ + self.mean_
        return g + (base_g[:, None] if self.residual else 0.0)

    def to_dict(self) -> dict[str, Any]:
        return {"leads": self.leads.tolist(), "residual": self.residual, "transform": self.prep.transform,
                "mean": self.mean_.tolist(), "std": self.std_.tolist()}


def recursive_rollout(model, prep: Prepared, coder: TargetCoder, ends: np.ndarray, max_lead: int,
                      weather: str) -> np.ndarray:
    """Feed a one-step model its own predictions for ``max_lead`` hours: (n, max_lead) µg/m³.

    The predicted pm2.5 enters the next window's pm2.5 column (in the input scaling); the
    calendar columns take the true (known in advance) hour and day; the weather columns hold
    their last observed value (``weather='last'``) or read the observed future (``'observed'``,
    the reference's scheme: it knows the future weather, so it is not a forecast).
    """
    names = prep.feature_names
    wcols = [names.index(c) for c in WEATHER if c in names]
    x = windows_x(prep, ends).copy()                       # (n, T, F)
    g_last = prep.g_known[ends].copy()
    out = np.empty((len(ends), max_lead))
    mu0, sd0 = prep.scaler.mean_[0], prep.scaler.scale_[0]
    for lead in range(1, max_lead + 1):
        z = model.predict(x, batch_size=4096)
        g_next = coder.decode_g(z[:, :1], g_last)[:, 0]
        out[:, lead - 1] = inv(g_next, prep.transform)
        if lead == max_lead:
            break
        row = prep.scaled[ends + lead].copy()              # calendar (and, if 'observed', weather)
        if weather == "last":
            row[:, wcols] = x[:, -1, wcols]
        row[:, 0] = (g_next - mu0) / sd0
        x = np.concatenate([x[:, 1:], row[:, None, :].astype(np.float32)], axis=1)
        g_last = g_next
    return out
