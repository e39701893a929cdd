"""Shared test setup. In CI (env CI set) optional packages must be present: tests run, never skip."""
import os

import numpy as np
import pytest

if os.environ.get("CI"):
    import torch  # noqa: F401  -- fail loudly in CI if the test extras were not installed


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


@pytest.fixture
def scaler_fits(monkeypatch) -> list:
    """Every array a StandardScaler is fitted on during the test, in order."""
    from rnnlab.data.scaling import StandardScaler
    seen: list = []
    orig_fit = StandardScaler.fit

    def spy(self, x):
        seen.append(np.array(x, copy=True))
        return orig_fit(self, x)

    monkeypatch.setattr(StandardScaler, "fit", spy)
    return seen
