"""Shared test setup.

PyTorch is needed only by the tests that compare with it: they take the ``torch`` fixture (the
module), which skips the test when torch is not installed. Everything else — gradient checks,
formulas, errors — runs without it. In CI (environment variable ``CI`` set) the optional test
packages must be present: a missing one stops the run with an error instead of skipping tests.
"""
import importlib.util
import os

import numpy as np
import pytest

#: What ``pip install -e ".[test]"`` installs besides pytest; CI must have all of it.
OPTIONAL_TEST_PACKAGES = ("torch", "numba", "onnx", "onnxruntime", "music21", "sklearn", "sacrebleu", "hypothesis")


def pytest_configure(config) -> None:
    if os.environ.get("CI"):
        missing = [p for p in OPTIONAL_TEST_PACKAGES if importlib.util.find_spec(p) is None]
        if missing:
            raise pytest.UsageError(f"CI is set but {', '.join(missing)} is not installed: tests would be "
                                    "skipped, not run. Install the test extras: pip install -e \".[test]\"")


@pytest.fixture
def torch():
    """The ``torch`` module; the test is skipped when it is missing (outside CI, see above)."""
    return pytest.importorskip("torch")


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
