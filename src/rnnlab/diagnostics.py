"""Diagnostics: finite-difference gradient checks and gradient norms through time.

``gradcheck`` compares every analytic gradient (each parameter and the input) with central
differences in float64::

    ∂L/∂θ_i ≈ (L(θ + ε·e_i) - L(θ - ε·e_i)) / (2ε)

and reports, per array, the relative error ``‖g_analytic - g_numeric‖ / (‖g_analytic‖ + ‖g_numeric‖)``.
An array passes when that error is below ``tolerance`` (1e-6) — or, for a gradient so small that
rounding in the differences dominates (a vanished gradient, e.g. six sigmoid steps back), when
the absolute error ``‖g_analytic - g_numeric‖`` is below the rounding noise of the differences,
``atol = 10 · ε_machine · max(1, |L|) / ε · sqrt(size)`` (about 2e-9 per element for ε = 1e-6).
For a single layer the scalar is ``L = Σ y ⊙ R`` for a fixed random ``R`` (plus the same for
the final states when asked), so every output element and every path is exercised.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from .errors import InputError


@dataclass
class GradcheckResult:
    errors: dict[str, float] = field(default_factory=dict)
    abs_errors: dict[str, float] = field(default_factory=dict)
    tolerance: float = 1e-6
    atols: dict[str, float] = field(default_factory=dict)

    @property
    def max_error(self) -> float:
        return max(self.errors.values()) if self.errors else 0.0

    @property
    def failed(self) -> list[str]:
        return [k for k, v in self.errors.items()
                if not (v < self.tolerance or self.abs_errors[k] < self.atols.get(k, 0.0))]

    @property
    def ok(self) -> bool:
        return not self.failed

    def add(self, name: str, analytic: np.ndarray, numeric: np.ndarray, loss_scale: float, eps: float) -> None:
        self.errors[name] = _rel_error(analytic, numeric)
        self.abs_errors[name] = float(np.linalg.norm(analytic - numeric))
        noise = 10 * np.finfo(np.float64).eps * max(1.0, abs(loss_scale)) / eps
        self.atols[name] = float(noise * np.sqrt(analytic.size))

    def __str__(self) -> str:
        rows = [f"  {k:<28s} {v:.2e}  (abs {self.abs_errors.get(k, 0):.1e})" for k, v in self.errors.items()]
        return f"gradcheck {'passed' if self.ok else 'FAILED'} (max rel. error {self.max_error:.2e}, tol {self.tolerance:.0e})\n" + "\n".join(rows)


def _rel_error(a: np.ndarray, b: np.ndarray) -> float:
    denom = np.linalg.norm(a) + np.linalg.norm(b)
    return 0.0 if denom == 0 else float(np.linalg.norm(a - b) / denom)


def _numeric(f: Callable[[], float], arr: np.ndarray, eps: float) -> np.ndarray:
    g = np.zeros_like(arr)
    flat, gflat = arr.reshape(-1), g.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps; fp = f()
        flat[i] = old - eps; fm = f()
        flat[i] = old
        gflat[i] = (fp - fm) / (2 * eps)
    return g


def gradcheck(target: Any, x: np.ndarray, y: np.ndarray | None = None, *, mask: np.ndarray | None = None,
              initial_state: Any = None, check_final_state: bool = False, eps: float = 1e-6,
              tolerance: float = 1e-6, seed: int = 0) -> GradcheckResult:
    """Check a layer's or a compiled model's gradients against central differences (float64).

    Args:
        target: a built :class:`~rnnlab.layers.Layer` with float64 parameters, or a compiled
            :class:`~rnnlab.Model` built in float64 (then ``y`` is required; ``x`` and ``mask``
            as its ``fit`` takes them, e.g. tuples for a Seq2Seq).
        x: input, float64. y: targets (model only). mask: ``(B, T)`` bool.
        initial_state: passed to a recurrent layer's forward; its gradient is checked too.
        check_final_state: add ``Σ final_state ⊙ R'`` to the scalar (recurrent layers).
    """
    rng = np.random.default_rng(seed)
    result = GradcheckResult(tolerance=tolerance)
    if hasattr(target, "compiled_loss"):          # a Model: its own input checks (ids stay ints)
        from .training.engine import prepare
        x, y, mask = prepare(target, x, y, mask)
        return _gradcheck_model(target, x, y, mask, eps, result)
    x = np.array(x, dtype=np.float64)

    layer = target
    if layer.dtype != np.float64:
        raise InputError("gradcheck: build the layer with dtype=np.float64 (float32 is too coarse for differences)")
    states = None
    if initial_state is not None:
        states = [np.array(s, dtype=np.float64) for s in
                  ((initial_state,) if isinstance(initial_state, np.ndarray) else initial_state)]
    kw: dict[str, Any] = {"mask": mask} if mask is not None else {}
    if states is not None:
        kw["initial_state"] = tuple(states)
    out = layer.forward(x, **kw)
    r_out = rng.standard_normal(out.shape)
    r_fin = None
    if check_final_state:
        r_fin = [rng.standard_normal(s.shape) for s in layer.final_state]

    def loss() -> float:
        yv = layer.forward(x, **kw)
        val = float(np.sum(yv * r_out))
        if r_fin is not None:
            val += sum(float(np.sum(s * r)) for s, r in zip(layer.final_state, r_fin))
        return val

    scale = loss()
    layer.zero_grad()
    if r_fin is not None:
        dx = layer.backward(r_out, d_final_state=tuple(r_fin))
    else:
        dx = layer.backward(r_out)
    analytic = {name: g.copy() for name, _, g in layer.named_params()}
    d_init = getattr(layer, "d_initial_state", None)
    for name, p, _ in layer.named_params():
        result.add(name, analytic[name], _numeric(loss, p, eps), scale, eps)
    if dx is not None:  # an Embedding has no input gradient
        result.add("input", dx, _numeric(loss, x, eps), scale, eps)
    if states is not None:
        for k, s in enumerate(states):
            result.add(f"initial_state[{k}]", d_init[k], _numeric(loss, s, eps), scale, eps)
    return result


def _gradcheck_model(model: Any, x, y, mask, eps, result: GradcheckResult) -> GradcheckResult:
    if y is None:
        raise InputError("gradcheck(model, x, y): targets y are required for a model")

    def loss() -> float:
        return model.loss_value(x, y, mask=mask)

    model.zero_grad()
    scale = model.train_gradients(x, y, mask=mask)
    analytic = {name: g.copy() for name, _, g in model.named_params()}
    for name, p, _ in model.named_params():
        result.add(name, analytic[name], _numeric(loss, p, eps), scale, eps)
    return result


def gradient_norms(model: Any, x: Any, y: Any, mask: Any = None, **kw: Any) -> np.ndarray:
    """``‖∂L/∂h_t‖`` for every step of the model's first recurrent layer (see :mod:`rnnlab.gradflow`)."""
    from .gradflow import gradient_norms as _gradient_norms
    return _gradient_norms(model, x, y, mask, **kw)
