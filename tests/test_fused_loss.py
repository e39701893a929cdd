"""The fused log-softmax + NLL of CategoricalCrossEntropy against the readable formula it replaced."""
from __future__ import annotations

import zlib

import numpy as np
import pytest

from rnnlab import losses


def reference(z: np.ndarray, y: np.ndarray, m: np.ndarray | None) -> tuple[float, np.ndarray]:
    """The readable formula: logp = log_softmax(z), p = exp(logp); labels: nll = -logp[label],
    grad = p - onehot; rows: nll = -sum(y logp), grad = p sum(y) - y; masked, divided by N."""
    logp = losses.log_softmax(z)
    p = np.exp(logp)
    if y.dtype == np.int64:
        nll = -np.take_along_axis(logp, y[..., None], axis=-1)[..., 0]
        grad = p - (np.arange(z.shape[-1]) == y[..., None])
    else:
        nll = -np.sum(y * logp, axis=-1)
        grad = p * y.sum(axis=-1, keepdims=True) - y
    grad = grad.astype(z.dtype, copy=False)
    n = nll.size if m is None else int(m.sum())
    keep = np.ones(nll.shape, bool) if m is None else m
    return float(np.where(keep, nll, 0).sum() / n), np.where(keep[..., None], grad, 0) * (1.0 / n)


def _case(rng, shape, form, masked):
    z = rng.standard_normal(shape) * 4
    k = shape[-1]
    if form == "labels":
        y = rng.integers(0, k, shape[:-1])
    elif form == "onehot":
        y = np.eye(k)[rng.integers(0, k, shape[:-1])]
    else:
        y = rng.dirichlet(np.ones(k), size=shape[:-1])
    m = None
    if masked and len(shape) == 3:
        lengths = rng.integers(1, shape[1] + 1, size=shape[0])
        lengths[0] = shape[1]
        m = np.arange(shape[1])[None, :] < lengths[:, None]
    return z, y, m


@pytest.mark.parametrize("shape", [(7, 5), (4, 6, 9), (3, 1, 2)])
@pytest.mark.parametrize("form", ["labels", "onehot", "probs"])
@pytest.mark.parametrize("masked", [False, True])
def test_equals_readable_formula_float64(shape, form, masked):
    rng = np.random.default_rng(zlib.crc32(repr((shape, form, masked)).encode()))
    z, y, m = _case(rng, shape, form, masked)
    loss = losses.CategoricalCrossEntropy()
    yc = loss.check_target(y, z.shape, mask=m, dtype=np.float64)
    value = loss.forward(z, y, m)
    ref_value, ref_grad = reference(z, yc, m if z.ndim == 3 else None)
    assert value == pytest.approx(ref_value, rel=1e-12, abs=1e-12)
    grad = loss.backward()
    assert grad.shape == z.shape and grad.dtype == np.float64
    np.testing.assert_allclose(grad, ref_grad, rtol=0, atol=1e-12)
    # the fast path (fit's check=False after its checked first step) gives the same numbers
    assert loss.forward(z, yc, m, check=False) == value
    np.testing.assert_array_equal(loss.backward(), grad)


def test_float32_stays_float32_and_close_to_float64():
    rng = np.random.default_rng(1)
    z, y, m = _case(rng, (5, 8, 50), "labels", True)
    loss = losses.CategoricalCrossEntropy()
    v64 = loss.forward(z, y, m)
    g64 = loss.backward().copy()
    v32 = loss.forward(z.astype(np.float32), y, m)
    g32 = loss.backward()
    assert g32.dtype == np.float32
    assert v32 == pytest.approx(v64, rel=1e-5)
    np.testing.assert_allclose(g32, g64, atol=1e-6)


def test_huge_logits_are_stable_and_exact():
    """Max subtraction: logits of 1e4 (exp would overflow) give the exact values of a shifted copy."""
    rng = np.random.default_rng(2)
    z, y, _ = _case(rng, (6, 10), "labels", False)
    loss = losses.CategoricalCrossEntropy()
    small = loss.forward(z, y)
    g_small = loss.backward().copy()
    big = loss.forward(z + 1e4, y)
    assert np.isfinite(big) and big == pytest.approx(small, rel=1e-9)
    np.testing.assert_allclose(loss.backward(), g_small, atol=1e-9)
    # a certain prediction: loss 0 and gradient 0 at the true class
    z = np.array([[1000.0, 0.0, -1000.0]])
    assert loss.forward(z, np.array([0])) == 0.0
    np.testing.assert_array_equal(loss.backward(), [[0.0, 0.0, 0.0]])
    assert loss.forward(z, np.array([2])) == pytest.approx(2000.0)


def test_padded_steps_with_nonfinite_logits_get_zero_gradient():
    z = np.zeros((2, 3, 4))
    z[1, 2] = [np.inf, np.nan, 1.0, 0.0]              # junk at a padded step
    m = np.array([[1, 1, 1], [1, 1, 0]], bool)
    y = np.array([[0, 1, 2], [3, 0, 0]])
    loss = losses.CategoricalCrossEntropy()
    with np.errstate(invalid="ignore"):
        value = loss.forward(z, y, m)
    assert value == pytest.approx(np.log(4.0))         # uniform over 4 classes at the 5 valid steps
    g = loss.backward()
    np.testing.assert_array_equal(g[1, 2], 0.0)
    np.testing.assert_allclose(g[0, 0], np.array([0.25 - 1, 0.25, 0.25, 0.25]) / 5)


def test_one_work_array_per_call():
    """The gradient is the only (positions × K) array left: memory of one logits-sized array."""
    import tracemalloc
    z = np.random.default_rng(3).standard_normal((16, 20, 2000)).astype(np.float32)   # 2.4 MiB
    y = np.random.default_rng(4).integers(0, 2000, (16, 20))
    loss = losses.CategoricalCrossEntropy()
    yc = loss.check_target(y, z.shape)
    loss.forward(z, yc, check=False)
    loss._grad = None
    tracemalloc.start()
    loss.forward(z, yc, check=False)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 1.2 * z.nbytes                        # the readable formula peaked at ~5 arrays
