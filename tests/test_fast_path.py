"""The fast path against the readable one.

* inference (``inference_mode``: nothing kept for backward) gives exactly the training forward;
* the compiled Numba kernels (if Numba is installed) give the NumPy reference steps, forward
  and backward, up to float32 rounding; without Numba everything runs the reference;
* reused work buffers never leak into what the caller keeps;
* the BLAS thread policy: integer override, auto, off, context manager, environment variable.
"""
from __future__ import annotations

import numpy as np
import pytest

from rnnlab import GRU, LSTM, Bidirectional, Dense, Sequential, SimpleRNN, threads
from rnnlab.cells import _kernels
from rnnlab.cells.indrnn import IndRNN
from rnnlab.errors import InputError
from rnnlab.layers.recurrent import inference_mode

B, T, F, H = 4, 6, 3, 5

LAYERS = [
    ("rnn-tanh", lambda **kw: SimpleRNN(H, **kw)),
    ("rnn-relu", lambda **kw: SimpleRNN(H, activation="relu", **kw)),
    ("rnn-sigmoid", lambda **kw: SimpleRNN(H, activation="sigmoid", **kw)),
    ("lstm", lambda **kw: LSTM(H, **kw)),
    ("gru", lambda **kw: GRU(H, **kw)),
    ("gru-reset-before", lambda **kw: GRU(H, reset_after=False, **kw)),
    ("indrnn-relu", lambda **kw: IndRNN(H, **kw)),
    ("indrnn-tanh", lambda **kw: IndRNN(H, activation="tanh", **kw)),
]

has_numba = _kernels._load() is not False


@pytest.fixture
def backend():
    """Restore the kernel backend after a test that switches it."""
    old = _kernels.get_backend()
    yield _kernels.set_backend
    _kernels.set_backend(old)


def data(seed=1, dtype=np.float32):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((B, T, F)).astype(dtype)
    mask = np.arange(T)[None, :] < np.array([T, 4, 1, 6])[:, None]
    return x, mask


def build(make, dtype=np.float32, **kw):
    layer = make(**kw)
    layer.build(F, np.random.default_rng(0), dtype)
    return layer


# -- inference path == training forward -----------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("name,make", LAYERS)
def test_inference_equals_training_forward(name, make, return_sequences, masked, go_backwards, dtype):
    layer = build(make, dtype, return_sequences=return_sequences, go_backwards=go_backwards)
    x, mask = data(dtype=dtype)
    mask = mask if masked else None
    y_train = layer.forward(x, mask=mask, training=True)
    final_train = layer.final_state
    with inference_mode():
        y_infer = layer.forward(x, mask=mask)
    np.testing.assert_array_equal(y_infer, y_train)
    for a, b in zip(layer.final_state, final_train):
        np.testing.assert_array_equal(a, b)
    assert layer._cache is None
    with pytest.raises(RuntimeError, match="inference mode"):
        layer.backward(np.ones_like(y_train))


def test_inference_mode_keeps_nothing_per_step():
    layer = build(lambda **kw: LSTM(H, **kw))
    with inference_mode():
        layer.forward(np.zeros((B, 50, F), np.float32))
    bufs = layer._bufs[False]
    assert bufs["cell"]["tc"].shape == (1, B, H)             # one step's scratch, not 50
    assert bufs["cell"]["gates"] is None                      # gates into the one-step scratch
    assert bufs["cell"]["hw"].shape == (B, 4 * H)
    assert all(s.shape[0] == 2 for s in bufs["hs"])           # states alternate two slots


def test_predict_evaluate_use_inference_and_match_forward():
    model = Sequential([Bidirectional(LSTM(H, return_sequences=True)), GRU(H), Dense(2)], input_size=F, seed=0)
    model.compile(loss="mse", optimizer="sgd")
    x, mask = data()
    y = np.zeros((B, 2), np.float32)
    ref = model.forward(x, mask)[0]
    np.testing.assert_array_equal(model.predict(x, mask=mask), ref)
    # two batches of 3 and 1: BLAS may round differently for a different batch size
    np.testing.assert_allclose(model.predict(x, mask=mask, batch_size=3), ref, rtol=1e-5, atol=1e-6)
    assert model.evaluate(x, y, mask=mask)["loss"] == pytest.approx(model.loss_value(x, y, mask))
    model.train_gradients(x, y, mask)                     # training still works after inference


# -- buffers are reused, outputs are not ------------------------------------------------------------
@pytest.mark.parametrize("name,make", LAYERS)
def test_reused_buffers_do_not_leak(name, make):
    layer = build(make, return_sequences=True)
    x1, _ = data(1)
    x2, _ = data(2)
    y1 = layer.forward(x1, training=True)
    y1_copy, fin1 = y1.copy(), [s.copy() for s in layer.final_state]
    keep_final = layer.final_state
    dx1 = layer.backward(np.ones_like(y1))
    dx1_copy, d0 = dx1.copy(), [d.copy() for d in layer.d_initial_state]
    keep_d0 = layer.d_initial_state
    g1 = {k: v.copy() for k, v in layer.grads.items()}
    layer.zero_grad()
    layer.forward(x2, training=True)
    layer.backward(np.full_like(y1, 2.0))
    np.testing.assert_array_equal(y1, y1_copy)
    np.testing.assert_array_equal(dx1, dx1_copy)
    for a, b in zip(keep_final, fin1):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(keep_d0, d0):
        np.testing.assert_array_equal(a, b)
    # the same batch again gives the same gradients
    layer.zero_grad()
    layer.forward(x1, training=True)
    layer.backward(np.ones_like(y1))
    for k in g1:
        np.testing.assert_array_equal(layer.grads[k], g1[k])


# -- contiguous weight_hhᵀ only where it pays ----------------------------------------------------
@pytest.mark.parametrize("name, make", [l for l in LAYERS if not l[0].startswith("indrnn")])
@pytest.mark.parametrize("batch, steps, copied", [(1, 6, False), (3, 2, False), (3, 6, True)])
def test_weight_transpose_copy_only_where_it_pays(name, make, batch, steps, copied, monkeypatch):
    """One row or fewer than COPY_MIN_STEPS steps read the transposed view; longer batches a
    contiguous copy (made in 64-row blocks). Same outputs and gradients either way."""
    from rnnlab.cells import base
    rng = np.random.default_rng(7)
    x = rng.standard_normal((batch, steps, F)).astype(np.float32)
    dy = rng.standard_normal((batch, steps, H)).astype(np.float32)
    runs, policy = [], base.COPY_MIN_STEPS
    for min_steps in (policy, 10 ** 9):                         # the policy, then "never copy"
        monkeypatch.setattr(base, "COPY_MIN_STEPS", min_steps)
        layer = build(make, return_sequences=True)
        y = layer.forward(x, training=True)
        dx = layer.backward(dy)
        runs.append((y, dx, {k: v.copy() for k, v in layer.grads.items()}))
        if min_steps == policy:
            assert ("weight_hh_t" in layer._bufs[True]["cell"]) == copied
    (y0, dx0, g0), (y1, dx1, g1) = runs
    np.testing.assert_allclose(y0, y1, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(dx0, dx1, rtol=1e-5, atol=1e-6)
    for k in g0:
        np.testing.assert_allclose(g0[k], g1[k], rtol=1e-5, atol=1e-6)


def test_blocked_transpose_copy_is_exact():
    from rnnlab.cells.lstm import LSTMCell
    cell = LSTMCell(40)                                         # 160 rows: blocks of 64, 64, 32
    w = np.random.default_rng(0).standard_normal((160, 40)).astype(np.float32)
    p = cell.step_params({"weight_hh": w}, {}, steps=10, batch=5)
    assert p["weight_hh_t"].flags.c_contiguous
    np.testing.assert_array_equal(p["weight_hh_t"], w.T)


# -- Numba kernels == NumPy reference ---------------------------------------------------------------
def run_layer(make, backend_name, set_backend, mask=None, **kw):
    set_backend(backend_name)
    layer = build(make, **kw)
    x, _ = data()
    y = layer.forward(x, mask=mask, training=True)
    dy = np.random.default_rng(3).standard_normal(y.shape).astype(np.float32)
    dx = layer.backward(dy)
    with inference_mode():
        y_inf = layer.forward(x, mask=mask)
    return y, y_inf, dx, dict(layer.grads), layer.final_state, layer.d_initial_state


@pytest.mark.skipif(not has_numba, reason="numba not installed")
@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("name,make", LAYERS)
def test_numba_kernels_match_numpy_reference(name, make, return_sequences, masked, backend):
    mask = data()[1] if masked else None
    ref = run_layer(make, "numpy", backend, mask=mask, return_sequences=return_sequences)
    fast = run_layer(make, "numba", backend, mask=mask, return_sequences=return_sequences)
    assert _kernels.backend() == "numba"
    for a, b in zip(ref[:3], fast[:3]):
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=2e-6)
    for k in ref[3]:
        np.testing.assert_allclose(fast[3][k], ref[3][k], rtol=1e-5, atol=5e-6, err_msg=k)
    for a, b in zip(ref[4] + ref[5], fast[4] + fast[5]):
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=2e-6)


@pytest.mark.skipif(not has_numba, reason="numba not installed")
def test_numba_tanh_accuracy_and_nan():
    x = np.concatenate([np.linspace(-12, 12, 200001), [0.0, -0.0, np.inf, -np.inf, 1e-30, 80.0]]).astype(np.float32)
    out = np.empty_like(x)
    _kernels.get("tanh")(x, out)
    np.testing.assert_allclose(out, np.tanh(x.astype(np.float64)), rtol=0, atol=4e-7)
    assert np.all(np.abs(out) <= 1.0)
    nan = np.array([np.nan, 1.0], np.float32)
    _kernels.get("tanh")(nan, out[:2])
    assert np.isnan(out[0])


def test_float64_and_numpy_backend_run_the_reference(backend):
    layer = build(lambda **kw: LSTM(H, **kw), np.float64)
    layer.forward(data(dtype=np.float64)[0])
    assert layer.cell.fused is False                 # float64: always the NumPy reference
    backend("numpy")
    assert _kernels.backend() == "numpy"
    layer = build(lambda **kw: LSTM(H, **kw))
    layer.forward(data()[0])
    assert layer.cell.fused is False


def test_backend_choice_errors(backend):
    with pytest.raises(InputError, match="expected 'auto', 'numba' or 'numpy'"):
        backend("fortran")
    if not has_numba:
        with pytest.raises(InputError, match="numba is not installed"):
            backend("numba")


# -- BLAS thread policy -------------------------------------------------------------------------------
def blas_counts():
    from threadpoolctl import threadpool_info
    return [d["num_threads"] for d in threadpool_info() if d["user_api"] == "blas"]


@pytest.fixture
def policy():
    old = threads.get_policy()
    yield threads.set_policy
    threads.set_policy(old)


def test_integer_policy_overrides_and_auto_restores(policy):
    policy("auto")
    before = blas_counts()
    policy(1)
    assert threads.get_policy() == 1
    assert all(n == 1 for n in blas_counts())
    policy("auto")
    assert blas_counts() == before
    with threads.policy(1):
        assert all(n == 1 for n in blas_counts())
    assert blas_counts() == before and threads.get_policy() == "auto"


def test_integer_policy_reaches_a_blas_loaded_after_the_first_look(policy, monkeypatch):
    """The BLAS libraries are looked up again when a count is set: one loaded after rnnlab first
    looked (e.g. scipy's OpenBLAS, imported after a first forward) is limited too."""
    import scipy.linalg  # noqa: F401  (a second OpenBLAS in this process)
    policy("auto")
    monkeypatch.setattr(threads, "_controllers", [])        # as if looked up before scipy was loaded
    policy(1)
    counts = blas_counts()
    assert len(counts) >= 1 and all(n == 1 for n in counts)


def test_auto_policy_measures_once_per_shape(policy, monkeypatch):
    """``layer_threads`` -> (threads of the time loop, threads of the all-steps products)."""
    policy("auto")
    threads.recalibrate()
    monkeypatch.setattr(threads, "_busy", lambda: False)
    assert threads.layer_threads(4, 8, 32, 4 * 8 * 32) == (None, None)   # small: OpenBLAS serial anyway
    assert threads.layer_threads(64, 8, 32, 10 ** 7) == (None, None)     # small steps; large all-steps on all threads
    monkeypatch.setattr(threads, "_busy", lambda: True)
    assert threads.layer_threads(64, 8, 32, 10 ** 7) == (None, 1)        # ... on one thread when the machine is busy
    monkeypatch.setattr(threads, "_busy", lambda: False)
    full = threads.blas_threads()
    calls = []

    def fake(b, h, gh, n):
        calls.append((b, h, gh, n))
        return 1 if h < 256 else None
    monkeypatch.setattr(threads, "_calibrate", fake)
    if not full or full < 2:
        assert threads.layer_threads(64, 128, 512) == (None, None)     # one BLAS thread: nothing to choose
        return
    # the loop keeps 1 thread where 2 did not pay; the all-steps products still get every thread
    assert threads.layer_threads(64, 128, 512, 10 ** 8) == (1, None)
    assert threads.layer_threads(64, 128, 512) == (1, None)            # remembered, not measured again
    assert threads.layer_threads(32, 512, 2048) == (None, None)
    assert calls == [(64, 128, 512, full), (32, 512, 2048, full)]
    assert threads.calibrations() == {(64, 128, 512, full): 1, (32, 512, 2048, full): None}
    monkeypatch.setattr(threads, "RECHECK_SECONDS", 0.0)               # stale: measured again
    threads.layer_threads(64, 128, 512)
    assert len(calls) == 3
    monkeypatch.setattr(threads, "_busy", lambda: True)                # busy machine: 1, unmeasured
    assert threads.layer_threads(32, 512, 2048, 10 ** 8) == (1, 1)
    assert len(calls) == 3
    threads.recalibrate()
    assert threads.calibrations() == {}
    policy("off")
    assert threads.layer_threads(64, 128, 512, 10 ** 8) == (None, None)
    policy(2)
    assert threads.layer_threads(64, 128, 512, 10 ** 8) == (None, None)   # already set process-wide


def test_a_layer_runs_its_loop_and_its_all_steps_products_under_their_own_limits(policy, monkeypatch):
    """A time loop limited to 1 BLAS thread leaves the all-steps products (XP, the weight
    gradients) on BLAS's full count, forward and backward; the numbers do not change."""
    policy(2)                                   # BLAS on 2 threads whatever ran before (restored after)
    full = threads.blas_threads()
    assert full == 2
    layer = LSTM(32, return_sequences=True)
    model = Sequential([layer, Dense(1)], input_size=8, seed=0).compile(loss="mse", optimizer="sgd")
    x = np.random.default_rng(0).standard_normal((16, 6, 8)).astype(np.float32)
    y = np.zeros((16, 6, 1), np.float32)
    cell, seen = layer.cell, []

    def spy(name, fn):
        def wrapped(*a, **k):
            seen.append((name, threads.blas_threads()))
            return fn(*a, **k)
        monkeypatch.setattr(cell if name.startswith("step") or name == "weight_hh_grad" else layer, name, wrapped)
    for name in ("step_forward", "step_backward", "weight_hh_grad", "_input_weights"):
        spy(name, getattr(cell if name != "_input_weights" else layer, name))
    results = []
    for choice in [(1, None), (None, None)]:
        monkeypatch.setattr(threads, "layer_threads", lambda *a, c=choice: c)
        seen.clear()
        model.zero_grad()
        xc, mc = model.check_inputs(x, None)
        loss = model.train_gradients(xc, y, mc)
        results.append((loss, {n: g.copy() for n, _, g in model.named_params()}, dict(seen)))
    (loss1, g1, seen1), (loss2, g2, seen2) = results
    assert seen1 == {"_input_weights": full, "step_forward": 1, "step_backward": 1, "weight_hh_grad": full}
    assert set(seen2.values()) == {full}
    assert loss1 == loss2 and all(np.array_equal(g1[n], g2[n]) for n in g1)


def test_real_calibration_returns_a_choice(policy):
    policy("auto")
    assert threads._calibrate(64, 64, 256, 2) in (1, None)


def test_limit_lowers_and_restores():
    before = blas_counts()
    with threads.limit(1):
        assert all(n == 1 for n in blas_counts())
    assert blas_counts() == before
    with threads.limit(None):
        assert blas_counts() == before


def test_policy_values_are_checked(policy):
    for bad in (0, -1, "many", 1.5, True):
        with pytest.raises(InputError, match="BLAS thread policy"):
            policy(bad)
    policy("2")
    assert threads.get_policy() == 2
    policy(None)
    assert threads.get_policy() == "off"


def test_environment_variable_sets_policy(monkeypatch):
    import subprocess
    import sys
    code = "from rnnlab import threads; print(threads.get_policy())"
    out = subprocess.run([sys.executable, "-c", code], env={**__import__("os").environ, "RNNLAB_BLAS_THREADS": "1"},
                         capture_output=True, text=True, check=True).stdout.strip()
    assert out == "1"


def test_results_do_not_depend_on_thread_policy(policy):
    model = Sequential([LSTM(64, return_sequences=True), GRU(64), Dense(1)], input_size=F, seed=0,
                       dtype="float64")
    x = np.random.default_rng(0).standard_normal((64, T, F))
    policy(1)
    a = model.predict(x)
    policy("auto")
    b = model.predict(x)
    np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
