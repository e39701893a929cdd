"""Losses: values and gradients against PyTorch autograd, finite differences, stability, input errors."""
from __future__ import annotations

import numpy as np
import pytest

from rnnlab import losses
from rnnlab.errors import InputError


TOL = {np.float64: 1e-9, np.float32: 1e-5}


def _prefix_mask(rng: np.random.Generator, b: int, t: int) -> np.ndarray:
    lengths = rng.integers(1, t + 1, size=b)
    lengths[0] = t
    return np.arange(t)[None, :] < lengths[:, None]


def _make_case(kind: str, shape: tuple[int, ...], dtype, rng, target_form: str):
    """Random logits and a target of the requested form ('float', 'labels', 'onehot', 'probs')."""
    z = (rng.standard_normal(shape) * 3).astype(dtype)
    k = shape[-1]
    if kind == "mse":
        y = rng.standard_normal(shape)
    elif kind == "bce":
        y = rng.uniform(0, 1, shape) if target_form == "probs" else rng.integers(0, 2, shape).astype(float)
    elif target_form == "labels":
        y = rng.integers(0, k, shape[:-1])
    elif target_form == "onehot":
        y = np.eye(k)[rng.integers(0, k, shape[:-1])]
    else:
        y = rng.dirichlet(np.ones(k), shape[:-1])
    return z, y


def _torch_reference(torch, kind: str, z: np.ndarray, y: np.ndarray, mask: np.ndarray | None):
    """torch loss on the valid positions and its gradient w.r.t. the full logits array."""
    zt = torch.tensor(z, requires_grad=True)
    zv, yv = zt, torch.tensor(y)
    if mask is not None:
        mt = torch.tensor(mask)
        zv, yv = zt[mt], yv[mt]
    if kind == "mse":
        loss = torch.nn.MSELoss()(zv, yv.to(zt.dtype))
    elif kind == "bce":
        loss = torch.nn.BCEWithLogitsLoss()(zv, yv.to(zt.dtype))
    else:
        zv = zv.reshape(-1, z.shape[-1])
        if np.issubdtype(y.dtype, np.integer):
            loss = torch.nn.CrossEntropyLoss()(zv, yv.reshape(-1))
        else:
            loss = torch.nn.CrossEntropyLoss()(zv, yv.reshape(-1, z.shape[-1]).to(zt.dtype))
    loss.backward()
    return loss.item(), zt.grad.numpy()


CASES = [("mse", "float"), ("bce", "labels"), ("bce", "probs"),
         ("ce", "labels"), ("ce", "onehot"), ("ce", "probs")]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("per_step,use_mask", [(False, False), (True, False), (True, True)])
@pytest.mark.parametrize("case", range(len(CASES)))
def test_matches_torch(torch, case, per_step, use_mask, dtype):
    kind, form = CASES[case]
    rng = np.random.default_rng([case, per_step, use_mask])
    b, t, k = int(rng.integers(2, 7)), int(rng.integers(2, 6)), int(rng.integers(2, 5))
    shape = (b, t, k) if per_step else (b, k)
    z, y = _make_case(kind, shape, dtype, rng, form)
    mask = _prefix_mask(rng, b, t) if use_mask else None
    loss = losses.get(kind)
    value = loss.forward(z, y, mask)
    grad = loss.backward()
    ref_value, ref_grad = _torch_reference(torch, kind, z, y, mask)
    tol = TOL[dtype]
    assert isinstance(value, float)
    assert value == pytest.approx(ref_value, rel=tol, abs=tol)
    assert grad.dtype == dtype and grad.shape == z.shape
    np.testing.assert_allclose(grad, ref_grad, rtol=tol, atol=tol * np.abs(ref_grad).max())
    if mask is not None:
        assert np.all(grad[~mask] == 0)


@pytest.mark.parametrize("kind,form", CASES)
@pytest.mark.parametrize("per_step", [False, True])
def test_gradient_central_differences(kind, form, per_step):
    rng = np.random.default_rng(7)
    shape = (3, 4, 3) if per_step else (3, 3)
    z, y = _make_case(kind, shape, np.float64, rng, form)
    mask = np.array([[1, 1, 1, 1], [1, 1, 0, 0], [1, 0, 0, 0]], bool) if per_step else None
    loss = losses.get(kind)
    loss.forward(z, y, mask)
    grad = loss.backward()
    num = np.zeros_like(z)
    h = 1e-6
    for idx in np.ndindex(z.shape):
        zp, zm = z.copy(), z.copy()
        zp[idx] += h
        zm[idx] -= h
        num[idx] = (loss.forward(zp, y, mask) - loss.forward(zm, y, mask)) / (2 * h)
    rel = np.linalg.norm(grad - num) / np.linalg.norm(grad + num)
    assert rel < 1e-6


def test_mse_half_and_exact_values():
    z = np.array([[1.0], [3.0]])
    y = np.array([0.0, 1.0])  # missing trailing 1 accepted
    assert losses.MSE().forward(z, y) == pytest.approx((1 + 4) / 2)
    half = losses.MSE(half=True)
    assert half.forward(z, y) == pytest.approx((1 + 4) / 4)
    np.testing.assert_allclose(half.backward(), [[0.5], [1.0]])
    assert half.get_config() == {"name": "mse", "half": True}
    assert losses.get({"name": "mse", "half": True}).half is True


def test_bce_and_ce_exact_values():
    assert losses.BinaryCrossEntropy().forward(np.zeros((2, 1)), [1, 0]) == pytest.approx(np.log(2))
    ce = losses.CategoricalCrossEntropy()
    assert ce.forward(np.zeros((2, 4)), [0, 3]) == pytest.approx(np.log(4))
    np.testing.assert_allclose(ce.backward(), [[-0.375, 0.125, 0.125, 0.125], [0.125, 0.125, 0.125, -0.375]])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kind,form", CASES)
def test_large_logits_stay_finite(torch, kind, form, dtype):
    rng = np.random.default_rng(3)
    z, y = _make_case(kind, (4, 3, 3), dtype, rng, form)
    z = (np.sign(z) * 1000).astype(dtype)
    loss = losses.get(kind)
    value = loss.forward(z, y)
    ref_value, ref_grad = _torch_reference(torch, kind, z, y, None)
    assert np.isfinite(value) and np.all(np.isfinite(loss.backward()))
    assert value == pytest.approx(ref_value, rel=1e-5)
    np.testing.assert_allclose(loss.backward(), ref_grad, rtol=1e-5, atol=1e-7)


def test_padded_steps_ignore_junk_targets():
    """Padded positions may hold any finite target, and out-of-range labels, without effect."""
    z = np.random.default_rng(0).standard_normal((2, 3, 4))
    mask = np.array([[1, 1, 1], [1, 0, 0]], bool)
    labels = np.array([[1, 2, 3], [0, -1, -1]])
    ce = losses.get("ce")
    v1 = ce.forward(z, labels, mask)
    g1 = ce.backward()
    v2 = ce.forward(z, np.where(mask, labels, 0), mask)
    assert v1 == v2 and np.array_equal(g1, ce.backward())
    onehot = np.eye(4)[np.where(mask, labels, 0)] * mask[..., None]  # padded rows all zero
    assert ce.forward(z, onehot, mask) == pytest.approx(v1, rel=1e-12)


def test_activate_and_dtype_preserved():
    z32 = np.array([[0.0, np.log(3.0)]], np.float32)
    for name, expected in [("mse", z32), ("bce", [[0.5, 0.75]]), ("ce", [[0.25, 0.75]])]:
        a = losses.get(name).activate(z32)
        assert a.dtype == np.float32
        np.testing.assert_allclose(a, expected, rtol=1e-6)
    loss = losses.get("bce")
    loss.forward(z32, np.array([[1.0, 0.0]], np.float64))  # float64 target does not upcast
    assert loss.backward().dtype == np.float32
    assert losses.get("sparse_categorical_crossentropy").name == "categorical_crossentropy"
    assert losses.get("binary_crossentropy").name == "binary_crossentropy"


def test_check_target_normalizes():
    assert losses.MSE().check_target(np.zeros((5, 4)), (5, 4, 1)).shape == (5, 4, 1)
    labels = losses.CategoricalCrossEntropy().check_target([[1.0], [2.0]], (2, 3))
    assert labels.dtype == np.int64 and labels.tolist() == [1, 2]
    assert losses.BinaryCrossEntropy().check_target([1, 0], (2, 1), dtype=np.float64).dtype == np.float64


BAD = [
    ("mse", (32, 4, 2), np.zeros((32, 4)), None, "expected shape (B, T, K) = (32, 4, 2) to match the per-step logits, got (32, 4)"),
    ("mse", (32, 4, 1), np.zeros((32, 1)), None, "one value per sequence"),
    ("bce", (8, 1), np.zeros((8, 5, 1)), None, "a value per step"),
    ("mse", (3, 1), [[0.0], [np.nan], [1.0]], None, "NaN"),
    ("bce", (3, 1), [0.0, 2.0, 1.0], None, "targets in [0, 1]"),
    ("bce", (3, 1), [0.0, -0.5, 1.0], None, "got values in [-0.5, 1]"),
    ("ce", (4, 3), [0, 1, 3, 2], None, "class labels must lie in [0, 3)"),
    ("ce", (4, 3), [0, 1, -1, 2], None, "got labels in [-1, 2]"),
    ("ce", (4, 3), [0, 1.5, 1, 2], None, "must be integers"),
    ("ce", (4, 3), np.zeros((4, 2)), None, "expected class labels of shape (B,) = (4,)"),
    ("ce", (2, 3), [[0.5, 0.2, 0.1], [1, 0, 0]], None, "sum to 1"),
    ("ce", (2, 1), [0, 0], None, "K >= 2"),
    ("ce", (2, 3, 4), np.zeros((2, 3), int), np.array([[1, 0, 1], [1, 1, 1]]), "prefix"),
    ("ce", (2, 3, 4), np.zeros((2, 3), int), np.ones((3, 2)), "mask: expected shape (batch, time) = (2, 3)"),
    ("mse", (2, 3), ["a", "b"], None, "numeric"),
]


@pytest.mark.parametrize("kind,shape,target,mask,fragment", BAD)
def test_bad_inputs_raise(kind, shape, target, mask, fragment):
    loss = losses.get(kind)
    with pytest.raises(InputError) as err:
        loss.forward(np.zeros(shape, np.float32), target, mask)
    assert fragment in str(err.value)


def test_bad_logits_and_names():
    with pytest.raises(InputError, match=r"\(B, K\) for last-step outputs or \(B, T, K\)"):
        losses.get("mse").forward(np.zeros(5), np.zeros(5))
    with pytest.raises(InputError, match="expected one of"):
        losses.get("hinge")
    with pytest.raises(Exception, match="before forward"):
        losses.MSE().backward()
