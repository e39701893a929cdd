"""Helpers for comparing rnnlab layers with their PyTorch twins."""
from __future__ import annotations

import numpy as np

TORCH_DTYPE = {np.float64: "float64", np.float32: "float32"}


def to_torch(a, requires_grad: bool = False):
    import torch
    t = torch.from_numpy(np.ascontiguousarray(a).copy())
    return t.requires_grad_(requires_grad)


def copy_rnn_params(layer, module, suffix: str = "_l0") -> None:
    """Copy weight_ih/weight_hh/bias_ih/bias_hh of an rnnlab Recurrent into a torch RNN module."""
    import torch
    with torch.no_grad():
        for name, value in layer.params.items():
            getattr(module, name + suffix).copy_(torch.from_numpy(value))


def tolerances(dtype) -> dict:
    return {"rtol": 1e-9, "atol": 1e-9} if np.dtype(dtype) == np.float64 else {"rtol": 1e-4, "atol": 1e-4}
