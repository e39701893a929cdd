"""Helpers for comparing rnnlab layers with their PyTorch twins."""
from __future__ import annotations

import numpy as np

from rnnlab.interop.torch import copy_rnn_params  # noqa: F401  (moved there; tests import it from here)

TORCH_DTYPE = {np.float64: "float64", np.float32: "float32"}


def to_torch(a, requires_grad: bool = False):
    import torch
    t = torch.from_numpy(np.ascontiguousarray(a).copy())
    return t.requires_grad_(requires_grad)


def tolerances(dtype) -> dict:
    return {"rtol": 1e-9, "atol": 1e-9} if np.dtype(dtype) == np.float64 else {"rtol": 1e-4, "atol": 1e-4}
