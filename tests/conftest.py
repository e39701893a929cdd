"""Shared test setup. In CI (env CI set) optional packages must be present: tests run, never skip."""
import os

import numpy as np
import pytest

if os.environ.get("CI"):
    import torch  # noqa: F401  -- fail loudly in CI if the test extras were not installed


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)
