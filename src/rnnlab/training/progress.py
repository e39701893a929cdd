"""Where a ``fit`` is: epoch, next batch, the epoch's running sums — and turning all of a run's
state into a checkpoint and back (:mod:`rnnlab.training.checkpoint` writes the file).

Exact resume rests on one rule: every random number of an epoch is drawn either from a
generator whose state is saved **as it was at the epoch's start** (shuffling, the epoch's fresh
data — replaying the epoch's start redraws the same batches) or from one saved **as it is now**
(every layer's generator, e.g. dropout's).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from ..errors import CheckpointError
from . import checkpoint as ckpt


@dataclass
class Position:
    """The running state of one epoch (what a mid-epoch checkpoint must carry)."""
    epoch: int = 0                     # 0-based index of the epoch
    batch: int = 0                     # index of the next batch of that epoch
    loss_sum: float = 0.0              # Σ batch loss × batch size, this epoch
    seen: int = 0                      # samples trained on, this epoch
    metric_sums: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0               # time spent in this epoch before the checkpoint
    rng_at_epoch_start: dict[str, Any] = field(default_factory=dict)   # shuffle / data states

    def add(self, loss: float, k: int, metric_values: dict[str, float]) -> None:
        self.loss_sum += loss * k
        self.seen += k
        for name, v in metric_values.items():
            self.metric_sums[name] = self.metric_sums.get(name, 0.0) + v * k

    def logs(self) -> dict[str, float]:
        out = {"loss": self.loss_sum / self.seen if self.seen else math.nan}
        out.update({m: s / self.seen for m, s in self.metric_sums.items()})
        return out


def layer_generators(model) -> dict[str, np.random.Generator]:
    """Every ``np.random.Generator`` a layer holds (dropout's), keyed by layer index and attribute."""
    return {f"{i}.{attr}": v for i, layer in enumerate(model.layers_flat())
            for attr, v in vars(layer).items() if isinstance(v, np.random.Generator)}


def stateful_layers(model) -> list:
    return [l for l in model.layers_flat() if getattr(l, "stateful", False) and hasattr(l, "carried_state")]


def fit_signature(model, n: int | None, batch_size: int, shuffle: bool, bucket: bool) -> dict[str, Any]:
    """What must match between the fit that wrote a checkpoint and the fit resuming it."""
    return {"model_class": type(model).__name__, "samples": n, "batch_size": batch_size,
            "shuffle": shuffle, "bucket": bucket,
            "params": {name: list(p.shape) for name, p, _ in model.named_params()}}


def save(checkpoint_dir, model, pos: Position, history, callbacks: Sequence, signature: dict[str, Any]) -> Any:
    """Write everything a resume needs; returns the checkpoint path."""
    tensors = ckpt.with_prefix({n: p for n, p, _ in model.named_params()}, "model")
    tensors.update(ckpt.with_prefix(model.optimizer.get_state(), "optimizer"))
    cb_json = []
    for i, cb in enumerate(callbacks):
        js, arrays = cb.get_state()
        cb_json.append(js)
        tensors.update(ckpt.with_prefix(arrays, f"callbacks/{i}"))
    for i, layer in enumerate(stateful_layers(model)):
        for k, s in enumerate(layer.carried_state() or ()):
            tensors[f"carry/{i}/{k}"] = s
    state = {
        "signature": signature,
        "position": {"epoch": pos.epoch, "batch": pos.batch, "loss_sum": pos.loss_sum, "seen": pos.seen,
                     "metric_sums": pos.metric_sums, "seconds": pos.seconds},
        "rng": {"epoch_start": pos.rng_at_epoch_start,
                "layers": {k: g.bit_generator.state for k, g in layer_generators(model).items()}},
        "history": {"epochs": history.epochs, "history": history.history},
        "callbacks": cb_json,
        "stop_training": bool(model.stop_training),
    }
    return ckpt.write(checkpoint_dir, state, tensors)


def load(path, model, history, callbacks: Sequence, signature: dict[str, Any]) -> tuple[Position, dict, dict]:
    """Restore weights, optimizer, history and callbacks from ``path``; return the position, the
    layer generator states and the carried states (applied by the loop at the resume point)."""
    doc, tensors = ckpt.read(path)
    saved = doc.get("signature", {})
    diff = {k: (saved.get(k), v) for k, v in signature.items() if saved.get(k) != v}
    if diff:
        what = "; ".join(f"{k}: checkpoint {a!r}, this fit {b!r}" for k, (a, b) in diff.items()
                         if k != "params") + ("; parameter shapes differ" if "params" in diff else "")
        raise CheckpointError(f"{path}: written by a different training setup ({what}) — resume with the "
                              "same model, data and batch size, or start a new run folder")
    try:
        model.set_weights(ckpt.split_prefix(tensors, "model"))
        model.optimizer.set_state(ckpt.split_prefix(tensors, "optimizer"))
        if len(doc["callbacks"]) != len(callbacks):
            raise CheckpointError(f"{path}: saved with {len(doc['callbacks'])} callback(s), this fit has "
                                  f"{len(callbacks)}")
        for i, (cb, js) in enumerate(zip(callbacks, doc["callbacks"])):
            cb.set_state(js, ckpt.split_prefix(tensors, f"callbacks/{i}"))
        history.epochs = list(doc["history"]["epochs"])
        history.history = {k: list(v) for k, v in doc["history"]["history"].items()}
        p = doc["position"]
        pos = Position(epoch=int(p["epoch"]), batch=int(p["batch"]), loss_sum=float(p["loss_sum"]),
                       seen=int(p["seen"]), metric_sums=dict(p["metric_sums"]), seconds=float(p["seconds"]),
                       rng_at_epoch_start=doc["rng"]["epoch_start"])
        model.stop_training = bool(doc["stop_training"])
        carries = {}
        for key, t in tensors.items():
            if key.startswith("carry/"):
                _, i, k = key.split("/")
                carries.setdefault(int(i), {})[int(k)] = t
    except CheckpointError:
        raise
    except Exception as exc:  # noqa: BLE001 - a well-formed file whose content does not fit
        raise CheckpointError(f"{path}: does not fit this model and fit ({type(exc).__name__}: {exc})") from None
    return pos, doc["rng"]["layers"], carries


def apply_resume_point(model, layer_states: dict, carries: dict) -> None:
    """At the batch where the checkpoint was taken: layer generators and carried states as saved."""
    gens = layer_generators(model)
    for key, state in layer_states.items():
        if key in gens:
            gens[key].bit_generator.state = state
    layers = stateful_layers(model)
    for i, states in carries.items():
        layers[i].set_carried_state(tuple(states[k] for k in sorted(states)))
