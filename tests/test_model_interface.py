"""rnnlab.Model: a user's own encoder–decoder subclass gets fit, callbacks, save/load and predict."""
import numpy as np
import pytest

import rnnlab
from rnnlab.diagnostics import gradcheck
from rnnlab.errors import ModelFileError


class EncoderDecoder(rnnlab.Model):
    """Encoder LSTM reads the sequence; its final state starts a GRU-free decoder LSTM over the
    same inputs; a Dense head gives one output per step (many-to-many, equal length)."""

    def __init__(self, hidden=6, n_in=2, n_out=1, seed=0, dtype="float32"):
        super().__init__(seed=seed, dtype=dtype)
        self.hidden, self.n_in, self.n_out = hidden, n_in, n_out
        rng = np.random.default_rng(seed)
        self.encoder = rnnlab.LSTM(hidden)
        self.decoder = rnnlab.LSTM(hidden, return_sequences=True)
        self.head = rnnlab.Dense(n_out)
        for layer, size in ((self.encoder, n_in), (self.decoder, n_in), (self.head, hidden)):
            layer.build(size, rng, self.dtype)

    def forward(self, x, mask=None, training=False):
        self.encoder.forward(x, mask=mask, training=training)
        out = self.decoder.forward(x, mask=mask, training=training, initial_state=self.encoder.final_state)
        return self.head.forward(out), mask

    def backward(self, d_out):
        self.decoder.backward(self.head.backward(d_out))
        self.encoder.backward(np.zeros_like(self.encoder.final_state[0]),
                              d_final_state=self.decoder.d_initial_state)

    def get_config(self):
        return {"hidden": self.hidden, "n_in": self.n_in, "n_out": self.n_out, "seed": self.seed,
                "dtype": self.dtype.name}


def task(n=256, seed=0):
    """Output at every step: the running mean of the first feature (needs memory)."""
    x = np.random.default_rng(seed).standard_normal((n, 8, 2)).astype(np.float32)
    y = np.cumsum(x[:, :, :1], axis=1) / np.arange(1, 9)[None, :, None]
    return x, y.astype(np.float32)


def test_parameters_are_found_by_attribute():
    m = EncoderDecoder()
    names = [n for n, _, _ in m.named_params()]
    assert names[:4] == ["encoder.weight_ih", "encoder.weight_hh", "encoder.bias_ih", "encoder.bias_hh"]
    assert names[-2:] == ["head.weight", "head.bias"]
    assert m.count_params() == 2 * (4 * 6 * (2 + 6) + 2 * 4 * 6) + 6 + 1
    assert "encoder" in m.summary() and "total parameters" in m.summary()


def test_gradcheck_of_the_whole_custom_model(rng):
    m = EncoderDecoder(hidden=3, dtype="float64").compile(loss="mse")
    x = rng.standard_normal((3, 5, 2))
    mask = np.arange(5)[None] < np.array([5, 4, 2])[:, None]
    res = gradcheck(m, x, rng.standard_normal((3, 5, 1)), mask=mask)
    assert res.ok, str(res)
    assert res.errors.keys() == {n for n, _, _ in m.named_params()}


def test_custom_model_trains_saves_loads_and_predicts_identically(tmp_path):
    x, y = task()
    m = EncoderDecoder().compile(loss="mse", optimizer="adam", lr=0.02, metrics=["r2"])
    hist = m.fit(x[:200], y[:200], epochs=15, batch_size=32, verbose=0, validation_data=(x[200:], y[200:]),
                 callbacks=[rnnlab.EarlyStopping(patience=3)])
    assert hist["val_r2"][-1] > 0.9                                     # it learned the running mean
    m.save(tmp_path / "ed")
    back = rnnlab.load(tmp_path / "ed")
    assert type(back) is EncoderDecoder and back.get_config() == m.get_config()
    np.testing.assert_array_equal(back.predict(x), m.predict(x))
    assert back.evaluate(x, y) == m.evaluate(x, y)


def test_loading_an_unknown_model_class_names_the_file(tmp_path):
    m = rnnlab.Sequential([rnnlab.Dense(1)], input_size=2)
    m.save(tmp_path / "m")
    cfg = tmp_path / "m" / "model.json"
    cfg.write_text(cfg.read_text().replace('"class": "Sequential"', '"class": "Nope"'))
    with pytest.raises(ModelFileError, match=r"model\.json: unknown model class 'Nope'"):
        rnnlab.load(tmp_path / "m")
    cfg.write_text(cfg.read_text().replace('"class": "Nope"', '"class": "Sequential"')
                   .replace('"class": "Dense"', '"class": "Densest"'))
    with pytest.raises(ModelFileError, match=r"model\.json: layer 0: unknown layer class 'Densest'"):
        rnnlab.load(tmp_path / "m")


class Wrapper(rnnlab.Model):
    """A model holding another model: its parameters appear under the attribute's name."""

    def __init__(self, seed=0):
        super().__init__(seed=seed)
        self.inner = rnnlab.Sequential([rnnlab.GRU(3), rnnlab.Dense(2)], input_size=2, seed=seed)

    def forward(self, x, mask=None, training=False):
        return self.inner.forward(x, mask, training)

    def backward(self, d_out):
        self.inner.backward(d_out)

    def get_config(self):
        return {"seed": self.seed}


def test_sub_models_are_found_by_attribute(tmp_path):
    m = Wrapper(seed=4).compile(loss="categorical_crossentropy", optimizer="adam", lr=0.05)
    assert [n for n, _, _ in m.named_params()][:2] == ["inner.layers.0.weight_ih", "inner.layers.0.weight_hh"]
    assert m.count_params() == m.inner.count_params()
    x = np.random.default_rng(0).standard_normal((20, 4, 2)).astype(np.float32)
    before = m.inner.get_weights()
    m.fit(x, (x[:, 0, 0] > 0).astype(int), epochs=2, batch_size=5, verbose=0)
    assert any(not np.array_equal(before[k], v) for k, v in m.inner.get_weights().items())
    m.save(tmp_path / "w")
    np.testing.assert_array_equal(rnnlab.load(tmp_path / "w").predict(x), m.predict(x))


def test_same_class_name_in_another_module_does_not_collide(tmp_path):
    """A second class named EncoderDecoder (defined here, in a function) neither replaces the
    module-level one in the registry nor is loaded in its place."""
    class EncoderDecoder(rnnlab.Model):          # noqa: F811 - the point of the test
        def get_config(self):
            return {}

    original = globals()["EncoderDecoder"]
    m = original(hidden=3)
    m.save(tmp_path / "ed")
    assert type(rnnlab.load(tmp_path / "ed")) is original
    from rnnlab.registry import class_key
    assert class_key(EncoderDecoder) != class_key(original)
    assert class_key(rnnlab.Sequential) == "Sequential"
