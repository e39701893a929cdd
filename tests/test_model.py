"""Sequential: model-level gradient checks for every head, training, evaluation, callbacks, errors."""
import numpy as np
import pytest

import rnnlab
from rnnlab.diagnostics import gradcheck
from rnnlab.errors import InputError, RnnlabError, TrainingError

torch = pytest.importorskip("torch")


def model64(layers, inp, loss, seed=0):
    m = rnnlab.Sequential(layers, input_size=inp, seed=seed, dtype="float64")
    m.compile(loss=loss, optimizer="sgd", lr=0.1)
    return m


LENGTHS = np.array([6, 3, 1, 5])
MASK = np.arange(6)[None] < LENGTHS[:, None]


@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("use_bias", [True, False])
@pytest.mark.parametrize("head", ["mse", "binary_crossentropy", "categorical_crossentropy"])
@pytest.mark.parametrize("per_step", [True, False])
def test_model_gradcheck_every_head(head, per_step, use_bias, masked, rng):
    k = 3 if head == "categorical_crossentropy" else (1 if head == "binary_crossentropy" else 2)
    m = model64([rnnlab.SimpleRNN(4, return_sequences=per_step, use_bias=use_bias),
                 rnnlab.Dense(k, use_bias=use_bias)], 3, head)
    x = rng.standard_normal((4, 6, 3))
    lead = (4, 6) if per_step else (4,)
    if head == "mse":
        y = rng.standard_normal(lead + (k,))
    elif head == "binary_crossentropy":
        y = (rng.random(lead + (1,)) > 0.5).astype(float)
    else:
        y = rng.integers(0, k, size=lead)
    res = gradcheck(m, x, y, mask=MASK if masked else None)
    assert res.ok, str(res)
    assert len(res.errors) == len(m.named_params())


def test_masked_loss_ignores_padding(rng):
    m = model64([rnnlab.SimpleRNN(4, return_sequences=True), rnnlab.Dense(1)], 2, "mse")
    x = rng.standard_normal((4, 6, 2))
    y = rng.standard_normal((4, 6, 1))
    base = m.loss_value(x, y, mask=MASK)
    x2, y2 = x.copy(), y.copy()
    x2[~MASK] = 99.0
    y2[~MASK] = -99.0
    assert m.loss_value(x2, y2, mask=MASK) == pytest.approx(base, rel=1e-12)


def test_matches_torch_training_step(rng):
    """One SGD step of SimpleRNN + Linear + MSE equals PyTorch's, weights after the update included."""
    m = rnnlab.Sequential([rnnlab.SimpleRNN(5), rnnlab.Dense(2)], input_size=3, seed=3, dtype="float64")
    m.compile(loss="mse", optimizer="sgd", lr=0.05)
    x, y = rng.standard_normal((8, 7, 3)), rng.standard_normal((8, 2))
    rnn = torch.nn.RNN(3, 5, batch_first=True).double()
    lin = torch.nn.Linear(5, 2).double()
    with torch.no_grad():
        for k, v in m.layers[0].params.items():
            getattr(rnn, k + "_l0").copy_(torch.from_numpy(v))
        lin.weight.copy_(torch.from_numpy(m.layers[1].params["weight"]))
        lin.bias.copy_(torch.from_numpy(m.layers[1].params["bias"]))
    opt = torch.optim.SGD(list(rnn.parameters()) + list(lin.parameters()), lr=0.05)
    out, hn = rnn(torch.from_numpy(x))
    loss = torch.nn.functional.mse_loss(lin(hn[0]), torch.from_numpy(y))
    loss.backward(); opt.step()
    hist = m.fit(x, y, epochs=1, batch_size=8, shuffle=False, verbose=0)
    assert hist["loss"][0] == pytest.approx(loss.item(), rel=1e-12)
    np.testing.assert_allclose(m.layers[0].params["weight_hh"], rnn.weight_hh_l0.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(m.layers[1].params["weight"], lin.weight.detach().numpy(), rtol=1e-12)


def _echo(n, rng):
    x = rng.random((n, 2, 1)).astype(np.float32)
    return x, x[:, 0].copy()


def test_fit_learns_and_reports(rng):
    x, y = _echo(512, rng)
    m = rnnlab.Sequential([rnnlab.SimpleRNN(6), rnnlab.Dense(1)], seed=1)
    m.compile(loss="mse", optimizer="adam", lr=0.02, metrics=["r2", "mae", "rmse"])
    h = m.fit(x, y, epochs=25, batch_size=32, validation_split=0.25, verbose=0)
    assert set(h.history) >= {"loss", "val_loss", "r2", "val_r2", "mae", "rmse", "lr", "time"}
    assert h["val_r2"][-1] > 0.95
    assert h["loss"][-1] < h["loss"][0] / 5
    ev = m.evaluate(x, y)
    assert ev["r2"] > 0.95 and ev["rmse"] == pytest.approx(np.sqrt(np.mean((m.predict(x) - y) ** 2)), rel=1e-4)
    assert "epoch,loss" in h.to_csv()


def test_same_seed_same_numbers(rng):
    x, y = _echo(128, rng)
    runs = []
    for _ in range(2):
        m = rnnlab.Sequential([rnnlab.SimpleRNN(4), rnnlab.Dense(1)], seed=7)
        m.compile(loss="mse", optimizer="adam", lr=0.01)
        runs.append(m.fit(x, y, epochs=3, batch_size=16, verbose=0)["loss"])
    assert runs[0] == runs[1]


def test_early_stopping_restores_best(rng):
    x, y = _echo(256, rng)
    m = rnnlab.Sequential([rnnlab.SimpleRNN(4), rnnlab.Dense(1)], seed=0)
    m.compile(loss="mse", optimizer="adam", lr=0.2)  # a rate that makes validation loss bounce
    stop = rnnlab.EarlyStopping(monitor="val_loss", patience=2)
    h = m.fit(x, y, epochs=30, batch_size=16, validation_split=0.25, callbacks=[stop], verbose=0)
    best = min(h["val_loss"])
    assert m.evaluate(x[-64:], y[-64:])["loss"] == pytest.approx(best, rel=1e-5)
    assert len(h["loss"]) <= 30


def test_checkpoint_saves_best(tmp_path, rng):
    x, y = _echo(128, rng)
    m = rnnlab.Sequential([rnnlab.SimpleRNN(4), rnnlab.Dense(1)], seed=0)
    m.compile(loss="mse", optimizer="adam", lr=0.01)
    ck = rnnlab.ModelCheckpoint(tmp_path / "best", monitor="val_loss")
    m.fit(x, y, epochs=4, batch_size=16, validation_split=0.25, callbacks=[ck], verbose=0)
    saved = rnnlab.load(tmp_path / "best")
    assert saved.evaluate(x[-32:], y[-32:])["loss"] == pytest.approx(ck.best, rel=1e-5)


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")  # the overflow is the point
def test_nonfinite_loss_is_caught_with_advice(rng):
    x = rng.random((64, 3, 1)).astype(np.float32) * 1e3
    y = x[:, 0] * 1e30
    m = rnnlab.Sequential([rnnlab.SimpleRNN(4, activation="relu"), rnnlab.Dense(1)], seed=0)
    m.compile(loss="mse", optimizer="sgd", lr=10.0)
    with pytest.raises(TrainingError, match="learning rate"):
        m.fit(x, y, epochs=5, verbose=0)


@pytest.mark.parametrize("x, y, match", [
    (np.zeros((4, 3)), np.zeros((4, 1)), r"\(batch, time, features\)"),
    (np.zeros((4, 3, 5)), np.zeros((4, 1)), "expected 2 features"),
    (np.zeros((4, 3, 2)), np.zeros((5, 1)), "4 samples in x, 5 in y"),
    (np.full((4, 3, 2), np.nan), np.zeros((4, 1)), "NaN"),
    (np.zeros((0, 3, 2)), np.zeros((0, 1)), "empty"),
    (np.zeros((4, 3, 2)), np.zeros((4, 7)), "target"),
])
def test_bad_input_fails_before_training(x, y, match):
    m = rnnlab.Sequential([rnnlab.SimpleRNN(3), rnnlab.Dense(1)], input_size=2)
    m.compile(loss="mse")
    before = m.get_weights()
    with pytest.raises(InputError, match=match):
        m.fit(x, y, epochs=1, verbose=0)
    for k, v in m.get_weights().items():
        np.testing.assert_array_equal(v, before[k])


def test_label_out_of_range_fails_before_training():
    m = rnnlab.Sequential([rnnlab.SimpleRNN(3), rnnlab.Dense(4)], input_size=2)
    m.compile(loss="categorical_crossentropy")
    with pytest.raises(InputError, match=r"\[0, 4\)"):
        m.fit(np.zeros((3, 5, 2)), np.array([0, 1, 4]), epochs=1, verbose=0)


def test_fit_before_compile():
    m = rnnlab.Sequential([rnnlab.Dense(1)])
    with pytest.raises(RnnlabError, match="compile"):
        m.fit(np.zeros((2, 3, 1)), np.zeros((2, 3, 1)), verbose=0)


def test_stateful_fit_keeps_batches_in_order(rng):
    x = rng.standard_normal((8, 5, 2)).astype(np.float32)
    y = rng.standard_normal((8, 5, 1)).astype(np.float32)
    m = rnnlab.Sequential([rnnlab.SimpleRNN(3, return_sequences=True, stateful=True), rnnlab.Dense(1)], seed=0)
    m.compile(loss="mse", optimizer="sgd", lr=0.01)
    h = m.fit(x, y, epochs=2, batch_size=4, verbose=0)
    assert np.isfinite(h["loss"]).all()
    m.reset_states()
    assert m.layers[0]._carry is None


def test_summary_and_count(rng):
    m = rnnlab.Sequential([rnnlab.SimpleRNN(4), rnnlab.Dense(1)], input_size=2)
    assert m.count_params() == (4 * 2 + 4 * 4 + 4 + 4) + (4 + 1)
    assert "total parameters: 37" in m.summary()
