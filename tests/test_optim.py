"""Optimizers against torch.optim, clipping against clip_grad_norm_, schedules, errors."""
from __future__ import annotations

import json

import numpy as np
import pytest

from rnnlab import optim
from rnnlab.errors import InputError, TrainingError


SHAPES = {"W": (4, 3), "b": (3,), "V": (3, 2, 2)}


def _params(rng, dtype=np.float64):
    return {k: rng.standard_normal(s).astype(dtype) for k, s in SHAPES.items()}


def _grad_sequence(rng, steps=5, scale=1.0):
    return [{k: rng.standard_normal(s) * scale for k, s in SHAPES.items()} for _ in range(steps)]


def _run_ours(opt, params, grads):
    params = {k: v.copy() for k, v in params.items()}
    norms = [opt.step([(k, params[k], g[k].astype(params[k].dtype)) for k in params]) for g in grads]
    return params, norms


def _run_torch(torch, make, params, grads, clipnorm=None):
    tp = {k: torch.tensor(v.copy(), requires_grad=True) for k, v in params.items()}
    opt = make(torch, list(tp.values()))
    norms = []
    for g in grads:
        for k, p in tp.items():
            p.grad = torch.tensor(g[k], dtype=p.dtype)
        if clipnorm is not None:
            norms.append(float(torch.nn.utils.clip_grad_norm_(list(tp.values()), clipnorm)))
        opt.step()
    return {k: p.detach().numpy() for k, p in tp.items()}, norms


CASES = [
    (lambda: optim.SGD(0.1), lambda torch, ps: torch.optim.SGD(ps, lr=0.1)),
    (lambda: optim.Momentum(0.05, momentum=0.9), lambda torch, ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9)),
    (lambda: optim.Momentum(0.05, momentum=0.8, nesterov=True),
     lambda torch, ps: torch.optim.SGD(ps, lr=0.05, momentum=0.8, nesterov=True)),
    (lambda: optim.RMSprop(0.01, alpha=0.9, eps=1e-6), lambda torch, ps: torch.optim.RMSprop(ps, lr=0.01, alpha=0.9, eps=1e-6)),
    (lambda: optim.Adam(0.01), lambda torch, ps: torch.optim.Adam(ps, lr=0.01)),
    (lambda: optim.Adam(0.02, beta1=0.8, beta2=0.99, eps=1e-7, weight_decay=0.1),
     lambda torch, ps: torch.optim.Adam(ps, lr=0.02, betas=(0.8, 0.99), eps=1e-7, weight_decay=0.1)),
    (lambda: optim.Momentum(0.05, weight_decay=0.01), lambda torch, ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9, weight_decay=0.01)),
    (lambda: optim.RMSprop(weight_decay=0.05), lambda torch, ps: torch.optim.RMSprop(ps, lr=1e-3, alpha=0.99, eps=1e-8, weight_decay=0.05)),
]


@pytest.mark.parametrize("case", range(len(CASES)))
def test_five_steps_match_torch(torch, case):
    ours, theirs = CASES[case]
    rng = np.random.default_rng(case)
    params, grads = _params(rng), _grad_sequence(rng)
    got, _ = _run_ours(ours(), params, grads)
    want, _ = _run_torch(torch, theirs, params, grads)
    for k in params:
        assert not np.allclose(got[k], params[k])  # the parameters really moved
        np.testing.assert_allclose(got[k], want[k], rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("case", [1, 4])
def test_clipnorm_matches_torch(torch, case):
    ours, theirs = CASES[case]
    rng = np.random.default_rng(10 + case)
    params, grads = _params(rng), _grad_sequence(rng, scale=3.0)
    opt = ours()
    opt.clipnorm = 1.0
    got, norms = _run_ours(opt, params, grads)
    want, torch_norms = _run_torch(torch, theirs, params, grads, clipnorm=1.0)
    np.testing.assert_allclose(norms, torch_norms, rtol=1e-12)
    assert min(norms) > 1.0  # clipping was active
    for k in params:
        np.testing.assert_allclose(got[k], want[k], rtol=1e-6, atol=1e-9)


def test_step_does_not_modify_grads_and_returns_preclip_norm():
    p, g = np.ones(4), np.full(4, 3.0)
    opt = optim.SGD(0.1, clipnorm=1.0)
    assert opt.step([("p", p, g)]) == pytest.approx(6.0)
    np.testing.assert_array_equal(g, 3.0)
    np.testing.assert_allclose(p, 1 - 0.1 * 0.5 / (1 + 1e-6 / 6), rtol=1e-12)


def test_clip_global_norm_matches_torch(torch):
    rng = np.random.default_rng(5)
    grads = [rng.standard_normal(s) * 2 for s in SHAPES.values()]
    tgrads = [torch.tensor(g) for g in grads]
    params = [torch.zeros_like(t, requires_grad=True) for t in tgrads]
    for p, t in zip(params, tgrads):
        p.grad = t.clone()
    ref = float(torch.nn.utils.clip_grad_norm_(params, 0.5))
    norm = optim.clip_global_norm(grads, 0.5)
    assert norm == pytest.approx(ref, rel=1e-12)
    for g, p in zip(grads, params):
        np.testing.assert_allclose(g, p.grad.numpy(), rtol=1e-12)
    assert optim.global_norm(grads) == pytest.approx(0.5, rel=1e-5)
    small = [np.array([0.3, 0.4])]
    assert optim.clip_global_norm(small, 1.0) == pytest.approx(0.5)
    np.testing.assert_array_equal(small[0], [0.3, 0.4])  # under the limit: untouched


def test_float32_state_and_params_keep_dtype():
    rng = np.random.default_rng(1)
    params = _params(rng, np.float32)
    opt = optim.Adam(0.01, clipnorm=0.5)
    got, _ = _run_ours(opt, params, _grad_sequence(rng))
    assert all(v.dtype == np.float32 for v in got.values())
    assert all(opt.state[k][s].dtype == np.float32 for k in SHAPES for s in ("m", "v"))
    big = np.full(3, 1e20, np.float32)  # squares overflow float32, the norm must not
    assert optim.global_norm([big]) == pytest.approx(np.sqrt(3) * 1e20, rel=1e-6)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_gradient_raises_before_updating(bad):
    p = np.ones(3)
    q = np.ones(2)
    opt = optim.Adam()
    with pytest.raises(TrainingError, match="lower the learning rate, set clipnorm=1.0") as err:
        opt.step([("q", q, np.ones(2)), ("p", p, np.array([1.0, bad, 0.0]))])
    assert "inputs are scaled" in str(err.value)
    np.testing.assert_array_equal(q, 1.0)
    np.testing.assert_array_equal(p, 1.0)
    with pytest.raises(TrainingError):
        optim.clip_global_norm([np.array([bad])], 1.0)


def test_step_decay_values_exact():
    s = optim.StepDecay({10: 0.5, 20: 0.2})
    assert [s(e, 0.1) for e in (0, 9, 10, 19, 20, 100)] == [0.1, 0.1, 0.1 * 0.5, 0.1 * 0.5, 0.1 * 0.5 * 0.2, 0.1 * 0.5 * 0.2]
    s = optim.StepDecay([2, 4], gamma=0.5)
    assert [s(e, 1.0) for e in range(6)] == [1.0, 1.0, 0.5, 0.5, 0.25, 0.25]
    assert optim.ExponentialDecay(0.5)(3, 2.0) == 0.25
    assert optim.Constant()(7, 0.3) == 0.3


def test_step_decay_matches_torch_multisteplr(torch):
    p = torch.zeros(1, requires_grad=True)
    topt = torch.optim.SGD([p], lr=0.3)
    sched = torch.optim.lr_scheduler.MultiStepLR(topt, milestones=[2, 5], gamma=0.1)
    ours = optim.SGD(0.3, schedule=optim.StepDecay([2, 5], gamma=0.1))
    for epoch in range(8):
        assert ours.set_epoch(epoch) == pytest.approx(topt.param_groups[0]["lr"], rel=1e-12)
        topt.step()
        sched.step()


def test_config_round_trip_is_json():
    opt = optim.get("momentum", lr=0.2, momentum=0.5, nesterov=True, clipnorm=2.0, weight_decay=1e-4,
                    schedule=optim.StepDecay({3: 0.5}))
    config = json.loads(json.dumps(opt.get_config()))
    again = optim.Optimizer.from_config(config)
    assert isinstance(again, optim.Momentum) and again.get_config() == opt.get_config()
    assert again.momentum == 0.5 and again.nesterov and again.clipnorm == 2.0
    assert again.set_epoch(3) == pytest.approx(0.1)
    assert optim.get(config).get_config() == opt.get_config()
    assert optim.get("adam").lr == 1e-3 and optim.get("sgd", lr=0.5).lr == 0.5
    assert optim.get(opt) is opt


def test_state_round_trip_continues_identically():
    rng = np.random.default_rng(2)
    params, grads = _params(rng), _grad_sequence(rng, steps=4)
    full, _ = _run_ours(optim.Adam(0.01), params, grads)
    first = optim.Adam(0.01)
    half, _ = _run_ours(first, params, grads[:2])
    second = optim.Adam(0.01)
    second.set_state(first.get_state())
    resumed, _ = _run_ours(second, half, grads[2:])
    for k in params:
        np.testing.assert_array_equal(resumed[k], full[k])


@pytest.mark.parametrize("make,fragment", [
    (lambda: optim.SGD(-1.0), "lr: expected a positive finite number"),
    (lambda: optim.Adam(clipnorm=0), "clipnorm: expected a positive finite number"),
    (lambda: optim.Momentum(momentum=1.5), "momentum: expected a number in [0, 1)"),
    (lambda: optim.get("adagrad"), "expected one of"),
    (lambda: optim.get(optim.SGD(), lr=1.0), "given with an Optimizer instance"),
    (lambda: optim.StepDecay([-1]), "integers >= 0"),
    (lambda: optim.StepDecay({2: 0.0}), "positive finite"),
    (lambda: optim.ExponentialDecay(2.0), "gamma must lie in (0, 1]"),
    (lambda: optim.SGD().step([("p", np.ones(3), np.ones(2))]), "expected shape (3,) dtype float64, got shape (2,)"),
    (lambda: optim.SGD().step([("p", np.ones(3, np.float32), np.ones(3))]), "dtype float32"),
    (lambda: optim.SGD().step([("p", np.ones(3), np.ones(3)), ("p", np.ones(2), np.ones(2))]), "appears twice"),
    (lambda: optim.SGD().step([("p", [1.0], [1.0])]), "numpy array"),
])
def test_bad_arguments_raise_input_error(make, fragment):
    with pytest.raises(InputError) as err:
        make()
    assert fragment in str(err.value)


def test_set_state_refuses_incomplete_or_foreign_slots():
    """An incomplete state used to fail later, inside the first step, with KeyError 'm'."""
    from rnnlab.optim import Adam, Momentum
    adam = Adam(lr=0.1)
    p, g = np.ones(3), np.full(3, 0.5)
    adam.step([("w", p, g)])
    state = adam.get_state()
    Adam(lr=0.1).set_state(state)                                   # complete: accepted
    del state["w/v"]
    with pytest.raises(InputError, match=r"parameter 'w' has the optimizer slots \['m', 't'\]; Adam keeps "
                                         r"\['m', 't', 'v'\]"):
        Adam(lr=0.1).set_state(state)
    with pytest.raises(InputError, match="Momentum keeps \\['velocity'\\]"):
        Momentum(lr=0.1).set_state(adam.get_state())
