"""The training engine's behaviour, pinned: schedules from epoch 0, stateful order and zero start,
early stopping exactly at best + patience, callbacks that add to the logs, epoch-data callables."""
import numpy as np
import pytest

import rnnlab
from rnnlab.callbacks import Callback, EarlyStopping, StopAtValue
from rnnlab.errors import InputError, TrainingError
from rnnlab.optim import SGD, ExponentialDecay, StepDecay


def echo(n=64, seed=0):
    x = np.random.default_rng(seed).random((n, 3, 1)).astype(np.float32)
    return x, x[:, 0]


def small(seed=0, **layer_kw):
    return rnnlab.Sequential([rnnlab.SimpleRNN(4, **layer_kw), rnnlab.Dense(1)], input_size=1, seed=seed)


def test_schedules_count_epochs_from_zero():
    x, y = echo()
    m = small().compile(loss="mse", optimizer=SGD(0.1, schedule=StepDecay({1: 0.5, 3: 0.1})))
    h = m.fit(x, y, epochs=4, batch_size=16, verbose=0)
    assert h["lr"] == pytest.approx([0.1, 0.05, 0.05, 0.005])
    m = small().compile(loss="mse", optimizer=SGD(0.1, schedule=ExponentialDecay(0.5)))
    assert m.fit(x, y, epochs=3, batch_size=16, verbose=0)["lr"] == pytest.approx([0.1, 0.05, 0.025])


class Spy(Callback):
    """Records, at every forward in training mode, the batch and the carried state before it."""

    def __init__(self, model):
        self.calls = []
        layer = model.layers[0]
        original = model.forward

        def forward(x, mask=None, training=False):
            if training:
                carry = layer.carried_state()
                self.calls.append((x.copy(), None if carry is None else carry[0].copy()))
            return original(x, mask, training)
        model.forward = forward


def test_stateful_training_feeds_batches_in_order_and_starts_each_epoch_from_zero():
    x, y = echo(40)
    m = small(stateful=True).compile(loss="mse", optimizer="sgd", lr=0.01)
    spy = Spy(m)
    m.fit(x, y, epochs=2, batch_size=10, verbose=0, shuffle=True)     # shuffle is ignored: stateful
    assert len(spy.calls) == 8
    for k, (xb, carry) in enumerate(spy.calls):
        np.testing.assert_array_equal(xb, x[(k % 4) * 10:(k % 4 + 1) * 10])
        if k % 4 == 0:
            assert carry is None                                        # a fresh epoch: zero state
        else:
            assert carry is not None and np.abs(carry).sum() > 0        # the previous batch's state


class Scripted(Callback):
    """Adds a scripted 'score' to the logs and remembers the weights of every epoch."""

    def __init__(self, scores):
        self.scores, self.weights = scores, {}

    def on_epoch_end(self, epoch, logs):
        logs["score"] = self.scores[epoch - 1]
        self.weights[epoch] = self.model.get_weights()


@pytest.mark.parametrize("patience", [1, 2, 3])
def test_early_stopping_stops_exactly_at_best_plus_patience_and_restores_it(patience):
    x, y = echo()
    scores = [5.0, 4.0, 3.0, 3.5, 3.2, 3.1, 3.05, 3.01, 3.3, 3.4]
    script, es = Scripted(scores), EarlyStopping(monitor="score", patience=patience, mode="min")
    m = small().compile(loss="mse", optimizer="adam", lr=0.01)
    h = m.fit(x, y, epochs=10, batch_size=16, verbose=0, callbacks=[script, es])
    assert es.best_epoch == 3
    assert es.stopped_epoch == 3 + patience == len(h.epochs)
    assert h["score"] == scores[:3 + patience]                          # the callback's value is logged
    for name, w in m.get_weights().items():
        np.testing.assert_array_equal(w, script.weights[3][name])


def test_stop_at_value():
    x, y = echo()
    script = Scripted([0.5, 0.8, 0.95, 0.99, 1.0])
    stop = StopAtValue(monitor="score", value=0.95, mode="max")
    h = small().compile(loss="mse").fit(x, y, epochs=5, batch_size=16, verbose=0, callbacks=[script, stop])
    assert stop.stopped_epoch == 3 and h.epochs == [1, 2, 3]


def test_epoch_data_callable_draws_fresh_data_from_the_engine_rng():
    seen = []

    def data(epoch, rng):
        x = rng.random((32, 3, 1)).astype(np.float32)
        seen.append((epoch, x[0, 0, 0]))
        return x, x[:, 0]

    m = small().compile(loss="mse", optimizer="adam", lr=0.01)
    m.fit(data, epochs=3, batch_size=8, verbose=0, data_seed=[7, 3, 0])
    expected = np.random.default_rng([7, 3, 0])
    firsts = [expected.random((32, 3, 1)).astype(np.float32)[0, 0, 0] for _ in range(3)]
    assert [e for e, _ in seen] == [0, 1, 2]
    assert [v for _, v in seen] == firsts
    with pytest.raises(InputError, match="callable"):
        m.fit(data, np.zeros(3), epochs=1)


def test_same_seed_same_numbers_with_dropout_and_shuffling():
    x, y = echo(96)

    def run():
        m = rnnlab.Sequential([rnnlab.LSTM(5, return_sequences=True), rnnlab.Dropout(0.3, seed=1),
                               rnnlab.GRU(4), rnnlab.Dense(1)], input_size=1, seed=3)
        m.compile(loss="mse", optimizer="adam", lr=0.01)
        m.fit(x, y, epochs=3, batch_size=16, verbose=0)
        return m.get_weights()

    a, b = run(), run()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])


def test_argument_errors_name_the_argument():
    x, y = echo()
    m = small().compile(loss="mse")
    with pytest.raises(InputError, match="epochs: expected a positive integer, got -3"):
        m.fit(x, y, epochs=-3)
    with pytest.raises(InputError, match="batch_size: expected a positive integer, got 0"):
        m.fit(x, y, batch_size=0)
    with pytest.raises(InputError, match="checkpoint_dir"):
        m.fit(x, y, resume=True)
    with pytest.raises(InputError, match="targets disagree"):
        m.fit(x, y[:5])


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")  # the overflow is the point
def test_nonfinite_loss_names_epoch_and_batch():
    x, y = echo()
    m = small().compile(loss="mse", optimizer="sgd", lr=1e30)
    with pytest.raises(TrainingError, match=r"epoch 1, batch \d+: .*lower the learning rate"):
        m.fit(x, y * 1e20, epochs=3, batch_size=16, verbose=0)


def test_one_training_loop_in_src():
    """No other epoch loop, and no other optimizer step, anywhere in src/ (tasks call fit)."""
    import pathlib
    import re
    src = pathlib.Path(rnnlab.__file__).parent

    def where(pattern):
        return [f"{p.relative_to(src)}" for p in src.rglob("*.py")
                for line in p.read_text(encoding="utf-8").splitlines() if re.search(pattern, line)]

    assert where(r"for\s+epoch\s+in\s+range") == ["training/engine.py"]
    assert where(r"optimizer\.step\(") == ["training/engine.py"]


def test_batch_callbacks_see_every_update():
    class Batches(Callback):
        def __init__(self):
            self.logs = []

        def on_batch_end(self, batch, logs):
            self.logs.append((batch, logs["loss"], logs["grad_norm"]))

    x, y = echo(40)
    rec = Batches()
    h = small().compile(loss="mse", optimizer="sgd", lr=0.1).fit(x, y, epochs=2, batch_size=16, verbose=0,
                                                                shuffle=False, callbacks=[rec])
    assert [b for b, _, _ in rec.logs] == [1, 2, 3, 1, 2, 3]
    assert all(n > 0 for _, _, n in rec.logs)
    sizes = [16, 16, 8]
    first_epoch = sum(l * k for (_, l, _), k in zip(rec.logs[:3], sizes)) / 40
    assert h["loss"][0] == pytest.approx(first_epoch, rel=1e-12)


def test_dropout_without_a_seed_follows_the_model_seed():
    x, y = echo(64)

    def run(seed):
        m = rnnlab.Sequential([rnnlab.LSTM(5, return_sequences=True), rnnlab.Dropout(0.5),
                               rnnlab.SimpleRNN(3), rnnlab.Dense(1)], input_size=1, seed=seed)
        m.compile(loss="mse", optimizer="adam", lr=0.01)
        m.fit(x, y, epochs=2, batch_size=16, verbose=0)
        return m.get_weights()["layers.3.weight"]

    np.testing.assert_array_equal(run(4), run(4))
    assert not np.array_equal(run(4), run(5))


def test_a_stateful_model_fits_after_predicting_with_another_batch_size():
    x, y = echo(40)
    m = small(stateful=True).compile(loss="mse", optimizer="sgd", lr=0.01)
    m.predict(x[:7])                                   # leaves a carried state of batch 7
    assert m.layers[0].carried_state()[0].shape == (7, 4)
    m.fit(x, y, epochs=1, batch_size=10, verbose=0)


# --- argument checks once per fit: the trusted paths give the same numbers, the API still checks
def test_unchecked_loss_and_optimizer_give_the_same_numbers():
    rng = np.random.default_rng(3)
    z = rng.standard_normal((5, 4, 3)).astype(np.float32)
    mask = np.ones((5, 4), bool)
    mask[1, 2:] = False
    labels = rng.integers(0, 3, (5, 4))
    for loss, target in ((rnnlab.losses.MSE(), rng.standard_normal((5, 4, 3))),
                         (rnnlab.losses.BinaryCrossEntropy(), rng.random((5, 4, 3))),
                         (rnnlab.losses.CategoricalCrossEntropy(), labels)):
        y = loss.check_target(target, z.shape, mask=mask, dtype=z.dtype)
        checked = loss.forward(z, target, mask)
        g_checked = loss.backward().copy()
        assert loss.forward(z, y, mask, check=False) == checked
        assert np.array_equal(loss.backward(), g_checked)
    params = [(f"p{i}", rng.standard_normal((3, 2)).astype(np.float32), rng.standard_normal((3, 2)).astype(np.float32))
              for i in range(3)]
    a = [(n, p.copy(), g) for n, p, g in params]
    b = [(n, p.copy(), g) for n, p, g in params]
    opt_a, opt_b = rnnlab.optim.Adam(0.1, clipnorm=0.5), rnnlab.optim.Adam(0.1, clipnorm=0.5)
    for _ in range(3):
        assert opt_a.step(a) == opt_b.step(b, check=False)
    assert all(np.array_equal(pa, pb) for (_, pa, _), (_, pb, _) in zip(a, b))
    with pytest.raises(InputError, match="appears twice"):       # the public default still checks
        opt_a.step(a + a[:1])
    with pytest.raises(InputError, match="target"):
        rnnlab.losses.MSE().forward(z, np.zeros((5, 3)))


def test_full_argument_checks_run_once_per_fit(monkeypatch):
    """Batch 1 spent over half its step in argument checks: the loss and the optimizer check in
    full at the fit's first update only (validation trusts the targets ``fit`` checked)."""
    calls = {"optimizer": 0, "logits": 0}
    check_params, check_logits = rnnlab.optim.Optimizer._check, rnnlab.losses._check_logits

    def counting_params(self, items):
        calls["optimizer"] += 1
        return check_params(self, items)

    def counting_logits(z):
        calls["logits"] += 1
        return check_logits(z)
    monkeypatch.setattr(rnnlab.optim.Optimizer, "_check", counting_params)
    monkeypatch.setattr(rnnlab.losses, "_check_logits", counting_logits)
    x, y = echo(50)
    h = small().compile(loss="mse", optimizer="sgd").fit(x, y, epochs=2, batch_size=4, validation_split=0.2,
                                                         verbose=0)
    assert len(h["val_loss"]) == 2 and calls == {"optimizer": 1, "logits": 1}     # of 20 updates


def test_fit_zeroes_gradients_through_an_overridden_zero_grad():
    calls = []

    class Counting(rnnlab.Sequential):
        def zero_grad(self):
            calls.append(1)
            super().zero_grad()

    x, y = echo(12)
    m = Counting([rnnlab.SimpleRNN(4), rnnlab.Dense(1)], input_size=1, seed=0).compile(loss="mse", optimizer="sgd")
    ref = small().compile(loss="mse", optimizer="sgd")
    m.fit(x, y, epochs=2, batch_size=4, verbose=0)
    ref.fit(x, y, epochs=2, batch_size=4, verbose=0)
    assert len(calls) == 6
    assert all(np.array_equal(a, b) for a, b in zip(m.get_weights().values(), ref.get_weights().values()))


def test_fit_asks_an_overridden_named_params_at_every_update():
    calls = []

    class Tied(rnnlab.Sequential):          # e.g. a gradient computed per call (tied weights)
        def named_params(self, prefix=""):
            calls.append(1)
            return super().named_params(prefix)

    x, y = echo(12)
    m = Tied([rnnlab.SimpleRNN(4), rnnlab.Dense(1)], input_size=1, seed=0).compile(loss="mse", optimizer="sgd")
    ref = small().compile(loss="mse", optimizer="sgd")
    calls.clear()
    m.fit(x, y, epochs=2, batch_size=4, verbose=0)
    ref.fit(x, y, epochs=2, batch_size=4, verbose=0)
    assert len(calls) >= 2 * 6             # zero_grad and the optimizer step of every update
    assert all(np.array_equal(a, b) for a, b in zip(m.get_weights().values(), ref.get_weights().values()))


def test_validation_batch_size_reads_stateful_streams_in_their_own_layout():
    """A stateful model's validation streams may have their own width: val_loss equals an
    evaluation of the same layout with the state carried from batch to batch."""
    from rnnlab.data.text import stream_batches
    rng = np.random.default_rng(0)
    ids = rng.integers(0, 5, 2000)
    x, y = stream_batches(ids[:1500], batch_size=8, steps=10)
    vx, vy = stream_batches(ids[1500:], batch_size=2, steps=10)
    model = rnnlab.Sequential([rnnlab.Embedding(5, 4), rnnlab.GRU(6, return_sequences=True, stateful=True),
                               rnnlab.Dense(5)], seed=0)
    model.compile(loss="categorical_crossentropy", optimizer="adam", lr=0.01)
    hist = model.fit(x, y, epochs=1, batch_size=8, validation_data=(vx, vy), validation_batch_size=2, verbose=0)
    model.reset_states()
    assert hist.history["val_loss"][0] == pytest.approx(model.evaluate(vx, vy, batch_size=2)["loss"], rel=1e-6)
    with pytest.raises(rnnlab.InputError, match="validation_batch_size"):
        model.fit(x, y, epochs=1, batch_size=8, validation_batch_size=0, verbose=0)
