"""The independently recurrent neural network (IndRNN, Li et al. 2018): a diagonal recurrence.

Forward, one step, in the lecture's row-vector notation — the simple RNN with its recurrent
matrix W replaced by a diagonal one, ``W = diag(u)``, so each unit sees only its own past::

    h_t = x_t·U + s_{t-1}·diag(u) + b      (= x_t·U + u ⊙ s_{t-1} + b)     pre-activation
    s_t = σ(h_t)                            σ = relu (the paper's) | tanh

In PyTorch-style names (what :class:`IndRNN` stores; PyTorch has no IndRNN module, so a twin
is three lines of autograd, see ``tests/test_indrnn.py``)::

    h' = σ(x·weight_ihᵀ + bias_ih + weight_hh ⊙ h + bias_hh)
    U = weight_ihᵀ      u = weight_hh      b = bias_ih + bias_hh

Backward, one step (δ = dLoss/d·)::

    δh_t     = δs_t ⊙ σ'(h_t)               σ'(h) = [h > 0] (relu), 1 - s² (tanh)
    δs_{t-1} = δh_t ⊙ u                      (the lecture's δh_t·Wᵀ with W = diag(u))
    du       = Σ_t Σ_batch δh_t ⊙ s_{t-1}    (the diagonal of Σ_t s_{t-1}ᵀ·δh_t)
    dU, db   = Σ_t x_tᵀ·δh_t, Σ_t δh_t       (formed by the runner, once)

Because ``δs_{t-1} = δh_t ⊙ u`` involves no matrix, how far a gradient travels back is set
unit by unit: ``|u_j| ≈ 1`` (with relu) carries it over long ranges; the paper bounds ``|u_j|``
to keep it from exploding (not done here).

Shapes (B batch, H hidden, F input features):

| name       | shape     | lecture               |
|------------|-----------|-----------------------|
| x_t        | (B, F)    | x_t                   |
| weight_ih  | (H, F)    | Uᵀ                    |
| weight_hh  | (H,)      | u, W = diag(u)        |
| bias_ih, bias_hh | (H,) | b (sum)              |
| h_t        | (B, H)    | s_t                   |

The element-wise part of a step is the simple RNN's (:class:`~rnnlab.cells.simple.SimpleRNNCell`:
the same NumPy reference lines and, in float32 with Numba, the same compiled kernels); only the
recurrent product and its gradients differ. A new cell is this file plus one import line in
:mod:`rnnlab.layers` (which registers the layer); it is not imported by :mod:`rnnlab.cells`
because its layer class needs the runner.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import InputError
from ..layers.recurrent import Recurrent
from ..registry import register_layer
from .base import ParamSpec
from .simple import SimpleRNNCell

ACTIVATIONS = ("relu", "tanh")


class IndRNNCell(SimpleRNNCell):
    """One IndRNN step on a batch; state ``(h,)``; ``weight_hh`` is the diagonal ``u`` (H,)."""

    gate_names = ("h",)

    def __init__(self, hidden_size: int, activation: str = "relu") -> None:
        if activation not in ACTIVATIONS:
            raise InputError(f"activation: IndRNN takes one of {ACTIVATIONS}, got {activation!r}")
        super().__init__(hidden_size, activation)

    def param_specs(self, input_size: int, use_bias: bool = True) -> tuple[ParamSpec, ...]:
        h = self.hidden_size
        return tuple(ParamSpec("weight_hh", (h,), "recurrent", h, h) if p.name == "weight_hh" else p
                     for p in super().param_specs(input_size, use_bias))

    def step_params(self, params: dict[str, np.ndarray], cache: dict[str, Any],
                    steps: int | None = None, batch: int | None = None) -> dict[str, np.ndarray]:
        return params                                           # u is used as it is: no transpose

    # -- the recurrence: diag(u) instead of W (the rest of the step is the simple RNN's) --------
    def recurrent_product(self, s_prev: np.ndarray, params: dict[str, np.ndarray], out: np.ndarray) -> None:
        np.multiply(s_prev, params["weight_hh"], out=out)       # u ⊙ s_{t-1}

    def recurrent_product_backward(self, dh: np.ndarray, params: dict[str, np.ndarray], out: np.ndarray) -> None:
        np.multiply(dh, params["weight_hh"], out=out)           # δs_{t-1} = δh_t ⊙ u

    def weight_hh_grad(self, dHP: np.ndarray, h_prev: np.ndarray, cache: dict[str, Any]) -> np.ndarray:
        """``du = Σ_t Σ_batch δh_t ⊙ s_{t-1}``, shape (H,)."""
        h = self.hidden_size
        return np.einsum("nj,nj->j", dHP.reshape(-1, h), h_prev.reshape(-1, h))


@register_layer(short="indrnn")
class IndRNN(Recurrent):
    """``IndRNN``: ``s_t = σ(x_t·U + u ⊙ s_{t-1} + b)``, σ = relu (default) or tanh.

    Parameters ``weight_ih (H, F)``, ``weight_hh (H,)`` (the diagonal u), ``bias_ih (H,)``,
    ``bias_hh (H,)``; ``recurrent_init`` draws u (a vector: ``"orthogonal"`` does not apply).

    >>> import numpy as np
    >>> from rnnlab.cells.indrnn import IndRNN
    >>> layer = IndRNN(4, return_sequences=True)
    >>> _ = layer.build(2, np.random.default_rng(0))
    >>> layer.params["weight_hh"].shape, layer.forward(np.zeros((3, 5, 2), np.float32)).shape
    ((4,), (3, 5, 4))
    """

    def __init__(self, hidden_size: int, activation: str = "relu", *, return_sequences: bool = False,
                 use_bias: bool = True, kernel_init: str = "uniform", recurrent_init: str = "uniform",
                 bias_init: str = "uniform", go_backwards: bool = False, stateful: bool = False,
                 name: str | None = None) -> None:
        super().__init__(IndRNNCell(hidden_size, activation), return_sequences=return_sequences,
                         use_bias=use_bias, kernel_init=kernel_init, recurrent_init=recurrent_init,
                         bias_init=bias_init, go_backwards=go_backwards, stateful=stateful, name=name)
