"""``Sequential``: a stack of layers with fit / evaluate / predict, like Keras, on hand-written BPTT.

>>> import numpy as np, rnnlab
>>> model = rnnlab.Sequential([rnnlab.SimpleRNN(8), rnnlab.Dense(1)], seed=0)
>>> _ = model.compile(loss="mse", optimizer="adam", metrics=["r2"])
>>> x = np.random.default_rng(0).random((64, 2, 1)).astype(np.float32)
>>> history = model.fit(x, x[:, 0], epochs=2, batch_size=16, verbose=0)
>>> model.predict(x).shape
(64, 1)
"""
from __future__ import annotations

import math
import os
import time
from typing import Any, Iterable, Sequence

import numpy as np

from . import losses as losses_mod
from . import metrics as metrics_mod
from . import optim as optim_mod
from .callbacks import Callback, History
from .errors import InputError, RnnlabError, TrainingError
from .layers.base import Layer
from .validation import as_float_array, check_mask


def _progress(total: int, desc: str, enabled: bool):
    if not enabled:
        return None
    from tqdm.auto import tqdm
    return tqdm(total=total, desc=desc, leave=False, unit="batch", dynamic_ncols=True, disable=None)


class Sequential:
    """Layers applied in order; the last one outputs logits, the loss applies the output function.

    Args:
        layers: the layers, first to last.
        input_size: feature size of the input; if omitted the model is built on the first data.
        seed: seeds weight initialisation, shuffling and dropout (same seed, same numbers).
        dtype: ``"float32"`` (default) or ``"float64"`` (gradient checks).
    """

    def __init__(self, layers: Sequence[Layer], input_size: int | None = None, seed: int = 0,
                 dtype: str | np.dtype = "float32") -> None:
        if not layers:
            raise InputError("Sequential: expected at least one layer")
        for i, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise InputError(f"Sequential: item {i} is a {type(layer).__name__}, not an rnnlab layer")
        self.layers = list(layers)
        self.seed = int(seed)
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.float32, np.float64):
            raise InputError(f"dtype: expected float32 or float64, got {self.dtype}")
        self.input_size: int | None = None
        self.compiled_loss: losses_mod.Loss | None = None
        self.optimizer: optim_mod.Optimizer | None = None
        self.metric_names: list[str] = []
        self.stop_training = False
        self.rng = np.random.default_rng(self.seed)
        if input_size is not None:
            self.build(input_size)

    # -- construction ---------------------------------------------------------------------------
    @property
    def built(self) -> bool:
        return self.input_size is not None

    @property
    def takes_ids(self) -> bool:
        return type(self.layers[0]).__name__ == "Embedding"

    def build(self, input_size: int) -> "Sequential":
        init_rng = np.random.default_rng(self.seed)
        size = int(input_size)
        self.input_size = size
        for i, layer in enumerate(self.layers):
            if layer.name is None:
                layer.name = f"{i}"
            size = layer.build(size, init_rng, self.dtype)
        return self

    def compile(self, loss: str | losses_mod.Loss = "mse", optimizer: str | optim_mod.Optimizer = "adam",
                metrics: Iterable[str] = (), **optimizer_kwargs: Any) -> "Sequential":
        """Choose the loss (with its output function), the optimizer and the metrics to report."""
        self.compiled_loss = losses_mod.get(loss)
        self.optimizer = optim_mod.get(optimizer, **optimizer_kwargs)
        self.metric_names = list(metrics)
        for m in self.metric_names:
            metrics_mod.get(m)
        return self

    def named_params(self) -> list[tuple[str, np.ndarray, np.ndarray]]:
        out = []
        for i, layer in enumerate(self.layers):
            out.extend(layer.named_params(f"layers.{i}."))
        return out

    def count_params(self) -> int:
        return int(sum(p.size for _, p, _ in self.named_params()))

    def get_weights(self) -> dict[str, np.ndarray]:
        return {name: p.copy() for name, p, _ in self.named_params()}

    def set_weights(self, weights: dict[str, np.ndarray]) -> None:
        params = {name: p for name, p, _ in self.named_params()}
        missing = set(params) - set(weights)
        extra = set(weights) - set(params)
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

    def reset_states(self) -> None:
        for layer in self._all_layers():
            if hasattr(layer, "reset_states"):
                layer.reset_states()

    def _all_layers(self) -> list[Layer]:
        out = []
        for layer in self.layers:
            out.append(layer)
            out.extend(layer.sublayers())
        return out

    def summary(self) -> str:
        lines = [f"{'layer':<40s} {'output':>8s} {'params':>10s}"]
        for i, layer in enumerate(self.layers):
            n = sum(p.size for _, p, _ in layer.named_params())
            lines.append(f"{i:>2d} {layer!r:<37.37s} {layer.output_size!s:>8s} {n:>10,d}")
        lines.append(f"total parameters: {self.count_params():,d}")
        return "\n".join(lines)

    # -- input checks -------------------------------------------------------------------------------
    def _check_x(self, x: Any, name: str = "x") -> np.ndarray:
        if self.takes_ids:
            arr = np.asarray(x)
            if arr.ndim != 2 or not np.issubdtype(arr.dtype, np.integer):
                raise InputError(f"{name}: an Embedding model expects integer ids of shape (batch, time), "
                                 f"got shape {arr.shape}, dtype {arr.dtype}")
            if arr.size == 0:
                raise InputError(f"{name}: the array is empty (shape {arr.shape})")
            return arr
        arr = as_float_array(x, name, self.dtype)
        if arr.ndim != 3:
            raise InputError(f"{name}: expected shape (batch, time, features), got {arr.shape}"
                             + (" — add a feature axis: x[..., None]" if arr.ndim == 2 else ""))
        if not self.built:
            self.build(arr.shape[2])
        if arr.shape[2] != self.input_size:
            raise InputError(f"{name}: expected {self.input_size} features per step (the model was built "
                             f"for that), got {arr.shape[2]} (shape {arr.shape})")
        return arr

    def _check_xy(self, x, y, mask, name="x"):
        x = self._check_x(x, name)
        if self.takes_ids and not self.built:
            self.build(1)
        n = x.shape[0]
        if y is not None:
            y_arr = np.asarray(y)
            if y_arr.ndim == 0 or y_arr.shape[0] != n:
                raise InputError(f"{name} and its targets disagree: {n} samples in {name}, "
                                 f"{y_arr.shape[0] if y_arr.ndim else 'a scalar'} in y")
        if mask is not None:
            mask = check_mask(mask, n, x.shape[1])
        if y is not None:
            if self.compiled_loss is None:
                raise RnnlabError("call model.compile(loss=..., optimizer=...) before fit/evaluate")
            out_shape = self.forward(x[:1], None if mask is None else mask[:1]).shape
            self._output_ndim = len(out_shape)
            y = self.compiled_loss.check_target(y, (n,) + out_shape[1:], mask=mask, dtype=self.dtype)
        return x, y, mask

    # -- computation ---------------------------------------------------------------------------------
    def forward(self, x: np.ndarray, mask: np.ndarray | None = None, training: bool = False) -> np.ndarray:
        """Logits of the last layer (before the output function)."""
        self._out_mask = mask
        for layer in self.layers:
            x = layer.forward(x, mask=mask, training=training)
            mask = layer.output_mask(mask)
        self._out_mask = mask
        return x

    def backward(self, dlogits: np.ndarray) -> None:
        d = dlogits
        for layer in reversed(self.layers):
            d = layer.backward(d)

    def _loss_mask(self, logits: np.ndarray) -> np.ndarray | None:
        return self._out_mask if logits.ndim == 3 else None

    def train_gradients(self, x, y, mask=None) -> float:
        """Forward + backward on one batch; gradients are added into each layer's ``grads``."""
        logits = self.forward(x, mask, training=True)
        loss = self.compiled_loss.forward(logits, y, self._loss_mask(logits))
        self.backward(self.compiled_loss.backward())
        return loss

    def loss_value(self, x, y, mask=None) -> float:
        logits = self.forward(x, mask, training=False)
        return float(self.compiled_loss.forward(logits, y, self._loss_mask(logits)))

    # -- batching -------------------------------------------------------------------------------------
    def _batches(self, n: int, batch_size: int, shuffle: bool, lengths: np.ndarray | None, bucket: bool):
        if bucket and lengths is not None:
            from .data.padding import bucket_batches
            return bucket_batches(lengths, batch_size, self.rng)
        order = self.rng.permutation(n) if shuffle else np.arange(n)
        return [order[i:i + batch_size] for i in range(0, n, batch_size)]

    @staticmethod
    def _take(arr, idx):
        return None if arr is None else arr[idx]

    # -- training -------------------------------------------------------------------------------------
    def fit(self, x: Any, y: Any, epochs: int = 10, batch_size: int = 32, *, mask: Any = None,
            shuffle: bool = True, validation_data: tuple | None = None, validation_split: float = 0.0,
            callbacks: Sequence[Callback] = (), verbose: int = 1, bucket: bool = False) -> History:
        """Train with mini-batch gradient descent; returns the :class:`History`.

        ``validation_data`` is ``(x, y)`` or ``(x, y, mask)``; ``validation_split`` holds out the
        LAST fraction of the samples (in the given order; shuffle beforehand if that is wrong for
        your data, never for time series). ``bucket=True`` groups sequences of similar length
        (needs ``mask``). Stateful recurrent layers get the batches in order and their state is
        reset at each epoch's start.
        """
        if self.compiled_loss is None:
            raise RnnlabError("call model.compile(loss=..., optimizer=...) before fit()")
        if int(epochs) < 1 or int(batch_size) < 1:
            raise InputError(f"epochs and batch_size must be positive integers, got {epochs}, {batch_size}")
        x, y, mask = self._check_xy(x, y, mask)
        if not 0.0 <= validation_split < 1.0:
            raise InputError(f"validation_split: expected a fraction in [0, 1), got {validation_split}")
        if validation_split and validation_data is not None:
            raise InputError("give validation_data or validation_split, not both")
        if validation_split:
            n_val = max(1, int(round(len(x) * validation_split)))
            if n_val >= len(x):
                raise InputError(f"validation_split={validation_split} leaves no training samples")
            validation_data = (x[-n_val:], y[-n_val:]) + ((mask[-n_val:],) if mask is not None else ())
            x, y = x[:-n_val], y[:-n_val]
            mask = None if mask is None else mask[:-n_val]
        if validation_data is not None:
            if len(validation_data) not in (2, 3):
                raise InputError("validation_data: expected (x, y) or (x, y, mask)")
            vx, vy, vmask = self._check_xy(validation_data[0], validation_data[1],
                                           validation_data[2] if len(validation_data) == 3 else None, "validation x")
        stateful = any(getattr(l, "stateful", False) for l in self._all_layers())
        if stateful:
            shuffle = False
        if bucket and mask is None:
            raise InputError("bucket=True needs a mask (variable-length sequences)")
        lengths = None if mask is None else mask.sum(axis=1)

        history = History()
        self.history = history
        self.stop_training = False
        for cb in callbacks:
            cb.set_model(self)
            cb.on_train_begin()
        n = len(x)
        for epoch in range(1, int(epochs) + 1):
            t0 = time.perf_counter()
            if stateful:
                self.reset_states()
            if self.optimizer.schedule is not None:
                self.optimizer.set_epoch(epoch)
            batches = self._batches(n, int(batch_size), shuffle, lengths, bucket)
            bar = _progress(len(batches), f"epoch {epoch}/{epochs}", verbose > 0)
            total_loss, seen = 0.0, 0
            metric_sums = {m: 0.0 for m in self.metric_names}
            for idx in batches:
                xb, yb, mb = x[idx], y[idx], self._take(mask, idx)
                if mb is not None:  # trim padding no sequence in this batch uses
                    tmax = int(mb.sum(axis=1).max())
                    xb, mb = xb[:, :tmax], mb[:, :tmax]
                    if self._output_ndim == 3:  # per-step targets follow the time axis
                        yb = yb[:, :tmax]
                self.zero_grad()
                logits = self.forward(xb, mb, training=True)
                loss = self.compiled_loss.forward(logits, yb, self._loss_mask(logits))
                if not math.isfinite(loss):
                    raise TrainingError(
                        f"the loss became {loss} at epoch {epoch}: lower the learning rate "
                        f"(now {self.optimizer.lr:g}), set clipnorm=1.0 in compile(), and check that the "
                        "inputs are scaled (e.g. StandardScaler fitted on the training data)")
                self.backward(self.compiled_loss.backward())
                self.optimizer.step(self.named_params())
                k = len(idx)
                total_loss += loss * k
                seen += k
                if self.metric_names:
                    pred = self.compiled_loss.activate(logits)
                    for m in self.metric_names:
                        metric_sums[m] += metrics_mod.get(m)(pred, yb, self._loss_mask(logits)) * k
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(loss=f"{total_loss / seen:.4g}")
            if bar is not None:
                bar.close()
            logs = {"loss": total_loss / seen}
            logs.update({m: s / seen for m, s in metric_sums.items()})
            if validation_data is not None:
                val = self.evaluate(vx, vy, mask=vmask, batch_size=max(int(batch_size), 256), _checked=True)
                logs.update({f"val_{k}": v for k, v in val.items()})
            logs["lr"] = self.optimizer.lr
            logs["time"] = time.perf_counter() - t0
            history.append(epoch, logs)
            if verbose > 0:
                shown = "  ".join(f"{k} {v:.4g}" for k, v in logs.items() if k not in ("lr",))
                print(f"epoch {epoch}/{epochs}  {shown}")
            for cb in callbacks:
                cb.on_epoch_end(epoch, logs)
            if self.stop_training:
                break
        for cb in callbacks:
            cb.on_train_end()
        return history

    # -- evaluation -----------------------------------------------------------------------------------
    def _predict_logits(self, x, mask, batch_size):
        from .layers.recurrent import inference_mode
        outs = []
        with inference_mode():          # recurrent layers keep nothing for backward
            for i in range(0, len(x), batch_size):
                mb = None if mask is None else mask[i:i + batch_size]
                outs.append(self.forward(x[i:i + batch_size], mb, training=False))
        return outs[0] if len(outs) == 1 else np.concatenate(outs, axis=0)

    def evaluate(self, x: Any, y: Any, *, mask: Any = None, batch_size: int = 1024,
                 _checked: bool = False) -> dict[str, float]:
        """Loss and metrics on the given data, as a dict (no gradients, no weight change)."""
        if not _checked:
            x, y, mask = self._check_xy(x, y, mask)
        logits = self._predict_logits(x, mask, int(batch_size))
        lmask = mask if logits.ndim == 3 else None
        out = {"loss": float(self.compiled_loss.forward(logits, y, lmask))}
        pred = self.compiled_loss.activate(logits)
        for m in self.metric_names:
            out[m] = float(metrics_mod.get(m)(pred, y, lmask))
        return out

    def predict(self, x: Any, *, mask: Any = None, batch_size: int = 1024, logits: bool = False) -> np.ndarray:
        """Predictions after the output function (identity, logistic or softmax), in batches."""
        x = self._check_x(x)
        if mask is not None:
            mask = check_mask(mask, x.shape[0], x.shape[1])
        z = self._predict_logits(x, mask, int(batch_size))
        if logits or self.compiled_loss is None:
            return z
        return self.compiled_loss.activate(z)

    # -- persistence ----------------------------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        from .registry import layer_to_config
        cfg: dict[str, Any] = {"layers": [layer_to_config(l) for l in self.layers],
                               "input_size": self.input_size, "seed": self.seed, "dtype": self.dtype.name}
        if self.compiled_loss is not None:
            cfg["compile"] = {"loss": self.compiled_loss.name, "optimizer": self.optimizer.get_config(),
                              "metrics": self.metric_names}
        return cfg

    def save(self, path: str | os.PathLike) -> None:
        """Save to the folder ``path`` (``model.json`` + ``weights.safetensors``), atomically."""
        from .io import save
        save(self, path)
