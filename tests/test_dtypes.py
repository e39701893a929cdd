"""float32 in -> float32 everywhere: parameters, activations, caches, gradients, optimizer state.

No silent upcasts: a float32 model fed float64 data casts the data once, at the door, and every
array it makes after that — outputs, per-step caches, state buffers, gradients, input gradients,
final states, optimizer slots — is float32. A float64 model stays float64 (gradient checks).
"""
from __future__ import annotations

import numpy as np
import pytest

from rnnlab import GRU, LSTM, Bidirectional, Dense, Dropout, Embedding, Sequential, SimpleRNN
from rnnlab.layers.recurrent import Recurrent, inference_mode

B, T, F, H = 3, 5, 4, 6


def arrays_in(obj, path="obj"):
    """Every numpy array reachable through dicts, lists and tuples, with a path for messages."""
    if isinstance(obj, np.ndarray):
        yield path, obj
    elif isinstance(obj, dict):
        for k, v in obj.items():
            yield from arrays_in(v, f"{path}[{k!r}]")
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            yield from arrays_in(v, f"{path}[{i}]")


def assert_float(dtype, *named):
    for name, obj in named:
        found = list(arrays_in(obj, name))
        for path, a in found:
            if a.dtype.kind == "f":
                assert a.dtype == dtype, f"{path}: {a.dtype}, expected {dtype}"


def recurrent_layers():
    return [
        ("rnn-tanh", lambda **kw: SimpleRNN(H, **kw)),
        ("rnn-relu", lambda **kw: SimpleRNN(H, activation="relu", **kw)),
        ("rnn-sigmoid", lambda **kw: SimpleRNN(H, activation="sigmoid", **kw)),
        ("lstm", lambda **kw: LSTM(H, **kw)),
        ("gru", lambda **kw: GRU(H, **kw)),
        ("gru-reset-before", lambda **kw: GRU(H, reset_after=False, **kw)),
    ]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("name,make", recurrent_layers())
def test_recurrent_layer_keeps_dtype(name, make, return_sequences, masked, dtype):
    layer = make(return_sequences=return_sequences)
    layer.build(F, np.random.default_rng(0), dtype)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((B, T, F))                      # float64 data into any model
    mask = np.arange(T)[None, :] < np.array([T, 3, 1])[:, None] if masked else None
    y = layer.forward(x, mask=mask, training=True)
    assert y.dtype == dtype
    dx = layer.backward(np.ones(y.shape))                   # float64 gradient in, too
    assert dx.dtype == dtype
    assert_float(dtype, ("params", layer.params), ("grads", layer.grads), ("cache", layer._cache),
                 ("final_state", layer.final_state), ("d_initial_state", layer.d_initial_state),
                 ("buffers", layer._bufs))
    with inference_mode():
        y2 = layer.forward(x, mask=mask)
    assert y2.dtype == dtype
    assert_float(dtype, ("final_state", layer.final_state), ("buffers", layer._bufs))


@pytest.mark.parametrize("merge", ["concat", "sum", "mul", "ave"])
@pytest.mark.parametrize("inner", [LSTM, GRU, SimpleRNN])
def test_bidirectional_keeps_float32(inner, merge):
    layer = Bidirectional(inner(H, return_sequences=True), merge=merge)
    layer.build(F, np.random.default_rng(0), np.float32)
    x = np.random.default_rng(1).standard_normal((B, T, F))
    y = layer.forward(x, training=True)
    assert y.dtype == np.float32
    dx = layer.backward(np.ones(y.shape))
    assert dx.dtype == np.float32
    assert_float(np.float32, ("params", [s.params for s in layer.sublayers()]),
                 ("grads", [s.grads for s in layer.sublayers()]),
                 ("caches", [s._cache for s in layer.sublayers()]),
                 ("final_state", layer.final_state), ("d_initial_state", layer.d_initial_state))


def test_dense_dropout_embedding_keep_float32():
    rng = np.random.default_rng(0)
    dense = Dense(3)
    dense.build(F, rng, np.float32)
    x = rng.standard_normal((B, T, F))
    y = dense.forward(x)
    assert y.dtype == np.float32 and dense.backward(np.ones(y.shape)).dtype == np.float32
    assert_float(np.float32, ("dense", dense.params), ("dense grads", dense.grads))
    drop = Dropout(0.5, seed=0)
    drop.build(F, rng, np.float32)
    y = drop.forward(x.astype(np.float32), training=True)
    assert y.dtype == np.float32 and drop.backward(np.ones(y.shape, np.float32)).dtype == np.float32
    emb = Embedding(10, 4)
    emb.build(1, rng, np.float32)
    y = emb.forward(np.array([[1, 2, 3]]))
    assert y.dtype == np.float32
    emb.backward(np.ones(y.shape))
    assert_float(np.float32, ("emb", emb.params), ("emb grads", emb.grads))


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "rmsprop", "adam"])
def test_sequential_float32_end_to_end(optimizer):
    """fit / evaluate / predict of a stacked model: params, grads, optimizer state stay float32."""
    model = Sequential([Bidirectional(LSTM(H, return_sequences=True)), GRU(H, return_sequences=True),
                        SimpleRNN(H), Dense(2)], input_size=F, seed=0)
    model.compile(loss="mse", optimizer=optimizer, clipnorm=1.0)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((8, T, F))                      # float64 data
    y = rng.standard_normal((8, 2))
    model.fit(x, y, epochs=2, batch_size=4, verbose=0, validation_data=(x, y))
    assert_float(np.float32, ("params+grads", model.named_params()), ("optimizer", model.optimizer.state))
    for layer in model.layers_flat():
        if isinstance(layer, Recurrent):
            assert_float(np.float32, (f"{layer.name} buffers", layer._bufs))
    assert model.predict(x).dtype == np.float32
    assert model.forward(x)[0].dtype == np.float32
    model.zero_grad()
    model.train_gradients(x, y)
    assert_float(np.float32, ("grads", [g for _, _, g in model.named_params()]))


def test_float64_model_stays_float64():
    model = Sequential([LSTM(H), Dense(1)], input_size=F, seed=0, dtype="float64")
    model.compile(loss="mse", optimizer="adam")
    x = np.random.default_rng(0).standard_normal((4, T, F)).astype(np.float32)   # float32 data
    model.fit(x, x[:, 0, :1], epochs=1, batch_size=4, verbose=0)
    assert_float(np.float64, ("params+grads", model.named_params()), ("optimizer", model.optimizer.state))
    assert model.predict(x).dtype == np.float64
