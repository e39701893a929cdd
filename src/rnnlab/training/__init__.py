"""The one training engine of rnnlab: :func:`fit`, :func:`train_step`, checkpoints, clean stops.

Every model (:class:`rnnlab.Model` and its subclasses) trains through :func:`fit`; nothing else in
the library loops over epochs.
"""
from .engine import compute_gradients, evaluate, fit, loss_value, predict, train_step

__all__ = ["fit", "train_step", "compute_gradients", "loss_value", "evaluate", "predict"]
