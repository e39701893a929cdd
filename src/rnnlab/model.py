"""``Model``: the one model interface — subclass it, compose layers, get fit / save / load for free.

In the spirit of ``torch.nn.Module`` and ``keras.Model``: a model holds layers (and other models)
as attributes, says how data flows forward and how gradients flow back, and inherits the rest:

| you write | you get |
|---|---|
| ``__init__`` (layers as attributes, lists of layers too) | ``named_params``, ``get_weights``/``set_weights``, ``count_params``, ``summary`` |
| ``forward(x, mask, training) -> (outputs, output_mask)`` | ``compile``, ``fit`` (:mod:`rnnlab.training`: callbacks, progress, checkpoints, resume), ``evaluate``, ``predict`` |
| ``backward(d_outputs)`` | BPTT through your layers (each layer's ``backward`` adds into its grads) |
| ``get_config()`` (constructor keyword arguments) | ``save(folder)``, ``rnnlab.load(folder)`` |

``forward`` returns the logits (before the loss's output function) and the mask that goes with
them (``None`` once the time axis is gone); the loss is masked with it.

A custom encoder–decoder in a few lines (the decoder reads the encoder's last state at every step):

>>> import numpy as np, rnnlab
>>> class EncoderDecoder(rnnlab.Model):
...     def __init__(self, hidden=8, n_in=2, n_out=1, seed=0, dtype="float32"):
...         super().__init__(seed=seed, dtype=dtype)
...         self.hidden, self.n_in, self.n_out = hidden, n_in, n_out
...         rng = np.random.default_rng(seed)
...         self.encoder = rnnlab.GRU(hidden)
...         self.decoder = rnnlab.GRU(hidden, return_sequences=True)
...         self.head = rnnlab.Dense(n_out)
...         for layer, size in ((self.encoder, n_in), (self.decoder, n_in), (self.head, hidden)):
...             layer.build(size, rng, self.dtype)
...     def forward(self, x, mask=None, training=False):
...         self.encoder.forward(x, mask=mask, training=training)
...         out = self.decoder.forward(x, mask=mask, training=training,
...                                    initial_state=self.encoder.final_state)
...         return self.head.forward(out), mask
...     def backward(self, d_out):
...         dx = self.decoder.backward(self.head.backward(d_out))
...         self.encoder.backward(np.zeros_like(self.encoder.final_state[0]),
...                               d_final_state=self.decoder.d_initial_state)
...     def get_config(self):
...         return {"hidden": self.hidden, "n_in": self.n_in, "n_out": self.n_out,
...                 "seed": self.seed, "dtype": self.dtype.name}
>>> m = EncoderDecoder().compile(loss="mse", optimizer="adam", lr=0.01)
>>> x = np.random.default_rng(1).random((32, 5, 2)).astype(np.float32)
>>> history = m.fit(x, x[:, :, :1], epochs=2, batch_size=8, verbose=0)
>>> m.predict(x).shape
(32, 5, 1)
"""
from __future__ import annotations

import os
from typing import Any, Iterable, Iterator, Sequence

import numpy as np

from . import losses as losses_mod
from . import metrics as metrics_mod
from . import optim as optim_mod
from .callbacks import Callback, History
from .errors import InputError, ModelFileError
from .layers.base import Layer
from .registry import register_model
from .training import engine


def wrap_description(text: str, width: int, indent: str = "    ") -> list[str]:
    """``text`` in lines of at most ``width`` characters where possible, broken only after a comma
    inside its brackets (a single argument longer than ``width`` stays whole on its line: a
    description is never cut).

    >>> wrap_description("GRU(hidden_size=6, use_bias=True, stateful=False)", 30)
    ['GRU(hidden_size=6,', '    use_bias=True,', '    stateful=False)']
    """
    if len(text) <= width:
        return [text]
    pieces, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "," and depth >= 1:
            pieces.append(text[start:i + 1])
            start = i + 1
    pieces.append(text[start:])
    lines = [pieces[0]]
    for piece in pieces[1:]:
        piece = piece.strip()
        if len(lines[-1]) + 1 + len(piece) <= width:
            lines[-1] += " " + piece
        else:
            lines.append(indent + piece)
    return lines


class Model:
    """Base class of every rnnlab model (see the module docstring for what a subclass writes).

    Args:
        seed: seeds weight initialisation (the subclass's), shuffling (``self.rng``) and dropout.
        dtype: ``"float32"`` (default) or ``"float64"`` (gradient checks).
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        register_model(cls)              # rnnlab.load finds every subclass by its class name

    def __init__(self, seed: int = 0, dtype: str | np.dtype = "float32") -> None:
        self.seed = int(seed)
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.float32, np.float64):
            raise InputError(f"dtype: expected float32 or float64, got {self.dtype}")
        self.rng = np.random.default_rng(self.seed)     # shuffling; checkpoints save its state
        self.compiled_loss: losses_mod.Loss | None = None
        self.optimizer: optim_mod.Optimizer | None = None
        self.metric_names: list[str] = []
        self.stop_training = False
        self.history: History | None = None

    # -- what a subclass writes ---------------------------------------------------------------
    def forward(self, x: Any, mask: Any = None, training: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
        """Logits (before the loss's output function) and the mask that goes with them."""
        raise NotImplementedError(f"{type(self).__name__} must define forward(x, mask=None, training=False)")

    def backward(self, d_outputs: np.ndarray) -> None:
        """Backpropagate ``dLoss/dlogits`` through the layers (their ``grads`` accumulate)."""
        raise NotImplementedError(f"{type(self).__name__} must define backward(d_outputs)")

    def get_config(self) -> dict[str, Any]:
        """The constructor's keyword arguments, JSON-serialisable: ``type(m)(**m.get_config())``."""
        raise NotImplementedError(f"{type(self).__name__} must define get_config() to be saved")

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "Model":
        return cls(**config)

    def check_inputs(self, x: Any, mask: Any = None, name: str = "x") -> tuple[Any, Any]:
        """Validate (and convert) inputs before any work starts; may build the model.

        The default accepts a float array or a tuple of arrays (ints stay ints) and checks masks.
        """
        from .validation import as_float_array, check_mask
        if isinstance(x, (tuple, list)):
            masks = mask if isinstance(mask, (tuple, list)) else (mask,) + (None,) * (len(x) - 1)
            xs = tuple(self.check_inputs(xi, mi, f"{name}[{i}]") for i, (xi, mi) in enumerate(zip(x, masks)))
            return tuple(a for a, _ in xs), (None if all(m is None for _, m in xs) else tuple(m for _, m in xs))
        arr = np.asarray(x)
        if not np.issubdtype(arr.dtype, np.integer):
            arr = as_float_array(x, name, self.dtype)
        if mask is not None:
            if arr.ndim < 2:
                raise InputError(f"{name}: a mask needs inputs of shape (batch, time, ...), got {arr.shape}")
            mask = check_mask(mask, arr.shape[0], arr.shape[1], f"{name} mask")
        return arr, mask

    def output_mask(self, mask: Any) -> np.ndarray | None:
        """The mask of the outputs for the given input mask(s), without computing anything
        (default: the first input's mask; override when the outputs follow another input)."""
        if isinstance(mask, (tuple, list)):
            return next((m for m in mask if m is not None), None)
        return mask

    @property
    def built(self) -> bool:
        return all(layer.built for layer in self.layers_flat())

    # -- sub-layers and sub-models, found by attribute ------------------------------------------
    def children(self) -> Iterator[tuple[str, "Layer | Model"]]:
        """``(attribute name, layer or model)`` in definition order; list items as ``name.i``."""
        for name, value in vars(self).items():
            if isinstance(value, (Layer, Model)):
                yield name, value
            elif isinstance(value, (list, tuple)) and value and all(isinstance(v, (Layer, Model)) for v in value):
                for i, v in enumerate(value):
                    yield f"{name}.{i}", v

    def layers_flat(self) -> list[Layer]:
        """Every layer inside, depth first, wrapped layers (Bidirectional's directions) included."""
        out: list[Layer] = []
        for _, child in self.children():
            if isinstance(child, Model):
                out.extend(child.layers_flat())
            else:
                out.append(child)
                out.extend(child.sublayers())
        return out

    def named_params(self, prefix: str = "") -> list[tuple[str, np.ndarray, np.ndarray]]:
        """``(name, parameter, gradient)`` triples; names follow the attributes (``layers.0.weight_ih``)."""
        out: list[tuple[str, np.ndarray, np.ndarray]] = []
        for name, child in self.children():
            out.extend(child.named_params(f"{prefix}{name}."))
        return out
    #: its children's arrays, the same at every call: ``fit`` lists them once per epoch (see
    #: ``Layer.named_params``); an override lacks this mark and is asked at every update
    named_params.same_arrays_every_call = True

    def count_params(self) -> int:
        return int(sum(p.size for _, p, _ in self.named_params()))

    def get_weights(self) -> dict[str, np.ndarray]:
        return {name: p.copy() for name, p, _ in self.named_params()}

    def set_weights(self, weights: dict[str, np.ndarray]) -> None:
        """Copy ``weights`` (name -> array, as :meth:`get_weights` gives) into the parameters."""
        params = {name: p for name, p, _ in self.named_params()}
        missing, extra = set(params) - set(weights), set(weights) - set(params)
        if missing or extra:
            raise InputError(f"set_weights: missing {sorted(missing)}, unexpected {sorted(extra)}")
        for name, p in params.items():
            w = np.asarray(weights[name])
            if w.shape != p.shape:
                raise InputError(f"set_weights: {name} expected shape {p.shape}, got {w.shape}")
            p[...] = w

    def zero_grad(self) -> None:
        for _, _, g in self.named_params():
            g.fill(0)
    #: the engine's updates may zero the gradients of a ``named_params()`` list they hold instead
    #: (the same arrays); an override of ``zero_grad`` lacks this mark and is called
    zero_grad.fills_named_params = True

    def reset_states(self) -> None:
        """Forget the state stateful recurrent layers carry between batches."""
        for layer in self.layers_flat():
            if hasattr(layer, "reset_states"):
                layer.reset_states()

    def summary(self, width: int = 60) -> str:
        """One row per child: name, what it is, output size, parameters. A long description wraps
        after a comma onto indented continuation lines — never cut — and the columns stay aligned."""
        rows = [(name, repr(child), str(getattr(child, "output_size", "")),
                 sum(p.size for _, p, _ in child.named_params())) for name, child in self.children()]
        lines = [f"{'layer':<{width}s} {'output':>8s} {'params':>10s}"]
        for name, desc, out, k in rows:
            chunks = wrap_description(f"{name} {desc}", width)
            lines.append(f"{chunks[0]:<{width}s} {out:>8s} {k:>10,d}")
            lines += chunks[1:]
        lines.append(f"total parameters: {self.count_params():,d}")
        return "\n".join(lines)

    # -- training and inference (one engine for every model: rnnlab.training) -------------------
    def compile(self, loss: str | losses_mod.Loss = "mse", optimizer: str | optim_mod.Optimizer = "adam",
                metrics: Iterable[str] = (), **optimizer_kwargs: Any) -> "Model":
        """Choose the loss (with its output function), the optimizer and the metrics to report."""
        self.compiled_loss = losses_mod.get(loss)
        self.optimizer = optim_mod.get(optimizer, **optimizer_kwargs)
        self.metric_names = list(metrics)
        for m in self.metric_names:
            metrics_mod.get(m)
        return self

    def fit(self, x: Any, y: Any = None, epochs: int = 10, batch_size: int = 32, *, mask: Any = None,
            shuffle: bool = True, validation_data: tuple | None = None, validation_split: float = 0.0,
            validation_batch_size: int | None = None, callbacks: Sequence[Callback] = (), verbose: int = 1,
            bucket: bool = False, data_seed: Any = None, checkpoint_dir: str | os.PathLike | None = None,
            checkpoint_every: int | None = None, resume: bool = False, on_nonfinite: str = "stop") -> History:
        """Train with mini-batches; returns the :class:`History`. See :func:`rnnlab.training.fit`."""
        return engine.fit(self, x, y, epochs, batch_size, mask=mask, shuffle=shuffle,
                          validation_data=validation_data, validation_split=validation_split,
                          validation_batch_size=validation_batch_size, callbacks=callbacks, verbose=verbose,
                          bucket=bucket, data_seed=data_seed,
                          checkpoint_dir=checkpoint_dir, checkpoint_every=checkpoint_every, resume=resume,
                          on_nonfinite=on_nonfinite)

    def evaluate(self, x: Any, y: Any, *, mask: Any = None, batch_size: int = 1024) -> dict[str, float]:
        """Loss and metrics on the given data, as a dict (no gradients, no weight change)."""
        return engine.evaluate(self, x, y, mask=mask, batch_size=batch_size)

    def predict(self, x: Any, *, mask: Any = None, batch_size: int = 1024, logits: bool = False) -> np.ndarray:
        """Predictions after the output function (identity, logistic or softmax), in batches.

        A model that was never built (no ``input_size``, never fitted, not loaded) is refused: its
        outputs would come from weights drawn just now. Build it explicitly (e.g. ``input_size=``)
        to look at an untrained model's outputs on purpose."""
        if not self.built:
            raise InputError(f"{type(self).__name__}.predict: the model has not been trained or built — its "
                             "outputs would come from random initial weights. Train it first (model.fit), "
                             "load a trained one (rnnlab.load), or build it explicitly (e.g. input_size=...) "
                             "to predict with untrained weights on purpose")
        return engine.predict(self, x, mask=mask, batch_size=batch_size, logits=logits)

    def train_gradients(self, x: Any, y: Any, mask: Any = None) -> float:
        """Forward + backward on one (already checked) batch; the gradients land in each layer's
        ``grads``; returns the loss. What :func:`rnnlab.diagnostics.gradcheck` differentiates."""
        return engine.compute_gradients(self, x, y, mask)[0]

    def loss_value(self, x: Any, y: Any, mask: Any = None) -> float:
        """The loss on one (already checked) batch, inference forward."""
        return engine.loss_value(self, x, y, mask)

    # -- persistence ----------------------------------------------------------------------------
    def compile_config(self) -> dict[str, Any] | None:
        if self.compiled_loss is None or self.optimizer is None:
            return None
        return {"loss": self.compiled_loss.get_config(), "optimizer": self.optimizer.get_config(),
                "metrics": list(self.metric_names)}

    def save(self, path: str | os.PathLike, include_optimizer: bool = False) -> None:
        """Save to the folder ``path`` (``model.json`` + ``weights.safetensors``), atomically;
        ``include_optimizer=True`` adds the optimizer's state (``optimizer.safetensors``)."""
        from .io import save
        if not self.built:
            raise ModelFileError(f"{path}: the model is not built yet (fit it or pass input_size) — nothing to save")
        save(self, path, include_optimizer=include_optimizer)

    def __repr__(self) -> str:
        try:
            args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        except NotImplementedError:
            args = ""
        return f"{type(self).__name__}({args})"
