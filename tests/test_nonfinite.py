"""fit(on_nonfinite="stop" | "skip_batch"): a non-finite loss or gradient at a chosen batch."""
from __future__ import annotations

import numpy as np
import pytest

import rnnlab
from rnnlab.errors import InputError, TrainingError
from rnnlab.training import fit


def data(bad_batch: int | None = 3, n: int = 16):
    """Batches of 4 in order; the samples of ``bad_batch`` (1-based) overflow float32 in the net."""
    rng = np.random.default_rng(0)
    x = rng.random((n, 3, 2)).astype(np.float32)
    y = rng.random((n, 1)).astype(np.float32)
    if bad_batch is not None:
        x[4 * (bad_batch - 1):4 * bad_batch] = 3e38
    return x, y


def net(lr: float = 0.1):
    m = rnnlab.Sequential([rnnlab.SimpleRNN(4, activation="relu"), rnnlab.Dense(1)], input_size=2, seed=0)
    return m.compile(loss="mse", optimizer="sgd", lr=lr)


def run(m, x, y, **kw):
    with np.errstate(all="ignore"):
        return fit(m, x, y, batch_size=4, shuffle=False, verbose=0, **kw)


def test_stop_keeps_the_last_good_weights_and_names_where():
    x, y = data(bad_batch=3)
    m = net()
    with pytest.raises(TrainingError, match=r"^epoch 1, batch 3: the loss became (inf|nan), gradients non-finite "
                                            r"from layer layers\.1 \(parameter weight\)"):
        run(m, x, y, epochs=2)
    good = net()
    run(good, x[:8], y[:8], epochs=1)                   # batches 1 and 2 only
    for k, v in good.get_weights().items():
        np.testing.assert_array_equal(m.get_weights()[k], v)


def test_stop_is_the_default_and_names_the_loss_when_gradients_are_finite():
    x, y = data(bad_batch=None, n=8)
    y[4:] = 1e20                                        # (z - y)² overflows float32; z - y does not
    m = net()
    with pytest.raises(TrainingError, match=r"epoch 1, batch 2: the loss became inf with finite gradients"):
        run(m, x, y, epochs=1)


def test_nonfinite_gradient_with_finite_loss_names_the_layer():
    x, y = data(bad_batch=None, n=12)
    m = net()
    calls = []
    backward = m.backward

    def poisoned(dy):                                   # the recurrent layer's gradient breaks at batch 2
        out = backward(dy)
        calls.append(1)
        if len(calls) == 2:
            {n: g for n, _, g in m.named_params()}["layers.0.weight_hh"][0, 0] = np.inf
        return out
    m.backward = poisoned
    with pytest.raises(TrainingError, match=r"epoch 1, batch 2: the gradient norm is inf \(non-finite\) from "
                                            r"layer layers\.0 \(parameter weight_hh\)"):
        run(m, x, y, epochs=1)
    assert m.optimizer.iterations == 1                  # batch 2 changed nothing


def test_skip_batch_drops_it_and_halves_the_learning_rate():
    x, y = data(bad_batch=3)
    m = net(lr=0.1)
    with pytest.warns(RuntimeWarning, match=r"epoch 1, batch 3: .*layer layers\.1.* batch skipped, learning rate "
                                            r"halved to 0\.05"):
        h = run(m, x, y, epochs=1, on_nonfinite="skip_batch")
    assert h["skipped_batches"] == [1] and h["lr"] == [0.05]
    assert m.optimizer.iterations == 3 and m.optimizer.lr == 0.05
    ref = net(lr=0.1)                                   # batches 1, 2 at lr 0.1, then batch 4 at 0.05
    run(ref, x[:8], y[:8], epochs=1)
    ref.optimizer.lr = ref.optimizer.base_lr = 0.05
    run(ref, x[12:], y[12:], epochs=1)
    for k, v in ref.get_weights().items():
        np.testing.assert_array_equal(m.get_weights()[k], v)
    assert np.isfinite(h["loss"][0])                    # the mean over the three batches trained on


def test_skip_batch_halving_survives_the_schedule_and_all_bad_epochs_raise():
    x, y = data(bad_batch=2, n=8)
    m = net(lr=0.2)
    with pytest.warns(RuntimeWarning):
        h = run(m, x, y, epochs=2, on_nonfinite="skip_batch")
    assert h["lr"] == pytest.approx([0.1, 0.05]) and h["skipped_batches"] == [1, 1]
    x[:] = 3e38
    with pytest.warns(RuntimeWarning), pytest.raises(TrainingError, match="every batch of the epoch was non-finite"):
        run(net(), x, y, epochs=1, on_nonfinite="skip_batch")


@pytest.mark.parametrize("bad", ["skip", "", None, 1, "STOP"])
def test_invalid_choice_names_the_allowed_values(bad):
    x, y = data(bad_batch=None, n=4)
    m = net()
    before = m.get_weights()
    with pytest.raises(InputError, match=r"on_nonfinite: expected one of 'stop', 'skip_batch', got"):
        run(m, x, y, epochs=1, on_nonfinite=bad)
    assert m.optimizer.iterations == 0
    for k, v in before.items():
        np.testing.assert_array_equal(m.get_weights()[k], v)


def test_model_fit_passes_the_choice_on():
    """``model.fit(on_nonfinite=...)`` is the engine's option (the method forwards it)."""
    x, y = data(bad_batch=3)
    m = net(lr=0.1)
    with np.errstate(all="ignore"), pytest.warns(RuntimeWarning, match="batch skipped"):
        h = m.fit(x, y, epochs=1, batch_size=4, shuffle=False, verbose=0, on_nonfinite="skip_batch")
    assert h["skipped_batches"] == [1] and m.optimizer.lr == 0.05
