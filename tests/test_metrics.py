"""Metrics on small hand-computed cases."""
from __future__ import annotations

import numpy as np
import pytest

from rnnlab import metrics
from rnnlab.errors import InputError


def test_binary_last_step_accuracy():
    pred = np.array([[0.9], [0.2], [0.6], [0.4]])
    assert metrics.accuracy(pred, [1, 0, 0, 0]) == 0.75
    assert metrics.accuracy(pred, np.array([[1], [1], [1], [0]])) == 0.75
    assert metrics.accuracy(np.array([[0.5]]), [0]) == 1.0  # 0.5 is not > 0.5: class 0


def test_binary_per_step_all_steps_rule_and_mask():
    pred = np.array([[[0.9], [0.8], [0.1]],    # all right
                     [[0.9], [0.2], [0.1]],    # step 1 wrong
                     [[0.1], [0.9], [0.9]]])   # steps 1, 2 wrong but padded (length 1)
    target = np.array([[1, 1, 0], [1, 1, 0], [0, 0, 0]])
    assert metrics.accuracy(pred, target) == pytest.approx(1 / 3)
    assert metrics.step_accuracy(pred, target) == pytest.approx(6 / 9)
    mask = np.array([[1, 1, 1], [1, 1, 1], [1, 0, 0]], bool)
    assert metrics.accuracy(pred, target, mask) == pytest.approx(2 / 3)
    assert metrics.step_accuracy(pred, target, mask) == pytest.approx(6 / 7)
    mask2 = np.array([[1, 1, 1], [1, 0, 0], [1, 0, 0]], bool)
    assert metrics.accuracy(pred, target, mask2) == 1.0


def test_multiclass_accuracy_labels_onehot_and_per_step():
    pred = np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6], [0.3, 0.4, 0.3], [0.5, 0.1, 0.4]])
    labels = np.array([0, 2, 0, 0])
    assert metrics.accuracy(pred, labels) == 0.75
    assert metrics.accuracy(pred, np.eye(3)[labels]) == 0.75
    assert metrics.accuracy(pred, labels[:, None]) == 0.75
    per_step = pred.reshape(2, 2, 3)
    mask = np.array([[1, 1], [1, 0]], bool)
    step_labels = np.array([[0, 2], [1, -1]])  # padded label ignored
    assert metrics.accuracy(per_step, step_labels, mask) == pytest.approx(3 / 3)
    assert metrics.accuracy(per_step, np.array([[0, 2], [0, 0]])) == pytest.approx(3 / 4)
    assert metrics.step_accuracy(per_step, np.array([[0, 2], [0, 0]])) == pytest.approx(3 / 4)


def test_regression_metrics():
    pred = np.array([[[1.0], [2.0], [9.0]], [[3.0], [0.0], [9.0]]])
    target = np.array([[2.0, 2.0, 0.0], [1.0, 4.0, 0.0]])
    mask = np.array([[1, 1, 0], [1, 1, 0]], bool)
    # valid residuals y - p: 1, 0, -2, 4; valid targets 2, 2, 1, 4 (mean 2.25)
    assert metrics.mae(pred, target, mask) == pytest.approx(7 / 4)
    assert metrics.rmse(pred, target, mask) == pytest.approx(np.sqrt(21 / 4))
    ss_tot = 0.25 ** 2 * 2 + 1.25 ** 2 + 1.75 ** 2
    assert metrics.r2(pred, target, mask) == pytest.approx(1 - 21 / ss_tot)


def test_r2_pooled_over_columns_matches_formula():
    rng = np.random.default_rng(0)
    y = rng.standard_normal((6, 5, 2)) * [1.0, 10.0] + [0.0, 5.0]
    p = y + rng.standard_normal(y.shape)
    expected = 1 - np.sum((y - p) ** 2) / np.sum((y - y.mean()) ** 2)
    assert metrics.r2(p, y) == pytest.approx(expected, rel=1e-12)
    assert metrics.r2(y, y) == 1.0
    assert metrics.r2(np.ones((3, 1)), np.ones(3)) == 1.0
    assert metrics.r2(np.zeros((3, 1)), np.ones(3)) == 0.0


def test_confusion_matrix_and_macro_f1():
    pred = [0, 1, 1, 2, 2, 2]
    true = [0, 1, 2, 2, 2, 1]
    cm = metrics.confusion_matrix(pred, true, 4)
    np.testing.assert_array_equal(cm, [[1, 0, 0, 0], [0, 1, 1, 0], [0, 1, 2, 0], [0, 0, 0, 0]])
    # F1: class 0 = 1, class 1 = 2/(2+1+1) = 0.5, class 2 = 4/(4+1+1) = 2/3; class 3 absent
    assert metrics.macro_f1(pred, true, 4) == pytest.approx((1 + 0.5 + 2 / 3) / 3)


def test_registry_and_directions():
    assert metrics.get("acc") is metrics.accuracy and metrics.get("R2") is metrics.r2
    assert metrics.accuracy.higher_is_better and metrics.step_accuracy.higher_is_better
    assert metrics.r2.higher_is_better
    assert not metrics.mae.higher_is_better and not metrics.rmse.higher_is_better
    with pytest.raises(InputError, match="expected one of"):
        metrics.get("auc")
    with pytest.raises(InputError, match="higher_is_better"):
        metrics.get(lambda p, t, m=None: 0.0)


@pytest.mark.parametrize("call,fragment", [
    (lambda: metrics.accuracy(np.zeros((4, 3)), [0, 1, 3, 0]), "integers in [0, 3)"),
    (lambda: metrics.accuracy(np.zeros((4, 3)), np.zeros((4, 2))), "expected class labels of shape (B,) = (4,)"),
    (lambda: metrics.mae(np.zeros((2, 3, 1)), np.zeros((2, 4))), "expected shape (B, T, 1) = (2, 3, 1)"),
    (lambda: metrics.rmse(np.zeros(3), np.zeros(3)), "(B, K) for last-step outputs"),
    (lambda: metrics.r2(np.zeros((2, 1)), [np.nan, 1.0]), "NaN"),
    (lambda: metrics.accuracy(np.zeros((2, 2, 1)), np.zeros((2, 2)), np.ones((2, 3))), "mask: expected shape"),
    (lambda: metrics.confusion_matrix([0, 5], [0, 1], 3), "integer class labels in [0, 3)"),
    (lambda: metrics.confusion_matrix([0], [0, 1], 3), "expected the shape of true_labels"),
])
def test_bad_inputs_raise(call, fragment):
    with pytest.raises(InputError) as err:
        call()
    assert fragment in str(err.value)
