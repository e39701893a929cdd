"""The training engine: one ``train_step`` and one ``fit`` loop for every :class:`~rnnlab.Model`.

``fit`` per epoch: reset carried states (stateful layers), set the epoch's learning rate (the
schedule counts epochs from 0), draw the epoch's data (a callable's fresh data) and its batch
order, then per batch :func:`train_step` — forward, loss, ``backward``, optimizer step — and at
the epoch's end validation, callbacks (which may add to ``logs``), the history row, and a
checkpoint. Checkpoints (``checkpoint_dir``) are also written every ``checkpoint_every``
updates and when SIGINT/SIGTERM arrives (then :class:`~rnnlab.errors.TrainingInterrupted`);
``resume=True`` continues from one and ends bit-identical to a run never interrupted.
"""
from __future__ import annotations

import contextlib
import math
import time
import warnings
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from .. import locking
from .. import metrics as metrics_mod
from ..callbacks import Callback, History
from ..errors import InputError, RnnlabError, TrainingError, TrainingInterrupted
from ..layers.recurrent import inference_mode
from . import batches as B
from . import checkpoint as ckpt
from . import nonfinite, progress
from .signals import StopRequests


# ------------------------------------------------------------------------------------ data checks
def prepare(model, x: Any, y: Any, mask: Any, name: str = "x") -> tuple[Any, np.ndarray, Any]:
    """Check inputs, targets and masks before any work starts; targets converted for the loss."""
    if model.compiled_loss is None:
        raise RnnlabError("call model.compile(loss=..., optimizer=...) before fit/evaluate")
    x, mask = model.check_inputs(x, mask, name)
    n = B.num_samples(x)
    y_arr = np.asarray(y) if y is not None else None
    if y_arr is None or y_arr.ndim == 0 or y_arr.shape[0] != n:
        got = "no targets" if y_arr is None else (f"{y_arr.shape[0]}" if y_arr.ndim else "a scalar")
        raise InputError(f"{name} and its targets disagree: {n} samples in {name}, {got} in y")
    one = np.zeros(1, dtype=np.int64)
    carried = [(l, l.carried_state()) for l in progress.stateful_layers(model)]
    model.reset_states()                               # a probe of one sample: no carried state
    with inference_mode():
        logits, out_mask = model.forward(B.take(x, one), B.take(mask, one))
    for layer, state in carried:                       # ... and the probe leaves none behind
        layer.set_carried_state(state)
    full_out_mask = None
    if out_mask is not None:
        full_out_mask = model.output_mask(mask)
    y = model.compiled_loss.check_target(y, (n,) + logits.shape[1:], mask=full_out_mask, dtype=model.dtype)
    return x, y, mask


def _unpack(data: Any, what: str) -> tuple[Any, Any, Any]:
    if not isinstance(data, (tuple, list)) or len(data) not in (2, 3):
        raise InputError(f"{what}: expected (x, y) or (x, y, mask), got {type(data).__name__}"
                         + (f" of length {len(data)}" if isinstance(data, (tuple, list)) else ""))
    return data[0], data[1], data[2] if len(data) == 3 else None


# ------------------------------------------------------------------------------------ one update
def compute_gradients(model, xb: Any, yb: np.ndarray, mb: Any = None, *,
                      check: bool = True) -> tuple[float, np.ndarray, np.ndarray | None, np.ndarray]:
    """Zero the gradients, forward (training), loss, backward: ``(loss, logits, loss mask, targets)``.

    The gradients of the batch's mean loss are then in every layer's ``grads``. ``check=False``:
    the targets are already checked for the loss (``fit`` checks them all before training).
    """
    return _compute_gradients(model, xb, yb, mb, None, check)


def _compute_gradients(model, xb, yb, mb, params, check: bool):
    """:func:`compute_gradients`; ``params``: the model's ``named_params()`` whose gradients to
    zero (None, or a model with its own ``zero_grad``: ``model.zero_grad()``)."""
    if mb is not None:
        xb, mb = B.trim_padding(xb, mb)                # drop padding no sequence of the batch uses
    if params is None or not getattr(type(model).zero_grad, "fills_named_params", False):
        model.zero_grad()
    else:
        for _, _, g in params:                         # what Model.zero_grad does, without the walk
            g.fill(0)
    logits, out_mask = model.forward(xb, mb, training=True)
    yb = B.trim_target(yb, logits)
    lmask = out_mask if logits.ndim == 3 else None
    loss = model.compiled_loss.forward(logits, yb, lmask, check=check)
    if not math.isfinite(loss):                        # nothing updated: say where it went wrong
        raise TrainingError(nonfinite.loss_message(model, loss, model.named_params() if params is None else params))
    model.backward(model.compiled_loss.backward())
    return float(loss), logits, lmask, yb


def train_step(model, xb: Any, yb: np.ndarray, mb: Any = None, *, check: bool = True,
               params: list | None = None) -> tuple[float, np.ndarray, np.ndarray | None, np.ndarray, float]:
    """One update: :func:`compute_gradients`, then one optimizer step; its results and the
    global gradient norm before clipping.

    For a loop of updates (``fit``): ``params``, the model's ``named_params()`` listed once by the
    caller, and ``check=False`` once the targets and the first step have been checked (the loss
    and the optimizer then skip their argument checks)."""
    out = _compute_gradients(model, xb, yb, mb, params, check)
    items = model.named_params() if params is None else params
    try:
        norm = model.optimizer.step(items, check=check)
    except TrainingError:                              # a non-finite gradient norm, refused before any update
        raise TrainingError(nonfinite.gradient_message(model, items)) from None
    return out + (norm,)


def loss_value(model, x: Any, y: np.ndarray, mask: Any = None) -> float:
    """The loss of one batch (inference forward, nothing changes)."""
    logits, out_mask = model.forward(x, mask, training=False)
    return float(model.compiled_loss.forward(logits, y, out_mask if logits.ndim == 3 else None))


# ------------------------------------------------------------------------------------- inference
def _inference_batches(model, x: Any, mask: Any, batch_size: int, trim: bool = False):
    """Yield ``(rows, logits, output mask)`` batch by batch, in inference mode (nothing kept for
    backward); ``trim`` cuts each batch to its longest sequence first, as training does."""
    n = B.num_samples(x)
    with inference_mode():
        for i in range(0, n, batch_size):
            rows = slice(i, min(i + batch_size, n))
            xb, mb = B.take(x, rows), B.take(mask, rows)
            if trim:
                xb, mb = B.trim_padding(xb, mb)
            z, m = model.forward(xb, mb, training=False)
            yield rows, z, m
            del z, m                                   # not alive during the next batch's forward


def predict_logits(model, x: Any, mask: Any, batch_size: int) -> tuple[np.ndarray, np.ndarray | None]:
    """Logits and output mask in batches, keeping nothing for backward."""
    outs, masks = [], []
    for _, z, m in _inference_batches(model, x, mask, batch_size):
        outs.append(z)
        masks.append(m)
    z = outs[0] if len(outs) == 1 else np.concatenate(outs, axis=0)
    m = None if masks[0] is None else (masks[0] if len(masks) == 1 else np.concatenate(masks, axis=0))
    return z, m


def _loss_count(logits: np.ndarray, lmask: np.ndarray | None) -> int:
    """The number of positions a batch's mean loss is taken over (its weight in a data set's mean)."""
    if lmask is not None:
        return int(lmask.sum())
    return logits.shape[0] * (logits.shape[1] if logits.ndim == 3 else 1)


def evaluate_prepared(model, x: Any, y: np.ndarray, mask: Any, batch_size: int) -> dict[str, float]:
    """Loss and metrics of a checked data set, one batch at a time (each cut to its longest
    sequence): only one batch's logits and predictions exist at once. The loss is the mean over all valid positions (each batch's mean
    weighted by its number of valid positions); the built-in metrics add up their counts and sums
    (:class:`rnnlab.metrics.Running`), so both equal the values of the whole set at once."""
    loss_fn = model.compiled_loss
    running = [metrics_mod.Running(m) for m in model.metric_names]
    loss_sum, count = 0.0, 0
    for rows, z, out_mask in _inference_batches(model, x, mask, int(batch_size), trim=True):
        yb = B.trim_target(y[rows], z)
        lmask = out_mask if z.ndim == 3 else None
        k = _loss_count(z, lmask)
        loss_sum += loss_fn.value(z, yb, lmask, check=False) * k
        count += k
        if running:
            pred = loss_fn.activate(z)
            for r in running:
                r.add(pred, yb, lmask)
            del pred                                   # not alive during the next batch's forward
        del z
    out = {"loss": loss_sum / count}
    for name, r in zip(model.metric_names, running):
        out[name] = r.value()
    return out


def evaluate(model, x: Any, y: Any, *, mask: Any = None, batch_size: int = 1024) -> dict[str, float]:
    x, y, mask = prepare(model, x, y, mask)
    return evaluate_prepared(model, x, y, mask, batch_size)


def predict(model, x: Any, *, mask: Any = None, batch_size: int = 1024, logits: bool = False) -> np.ndarray:
    x, mask = model.check_inputs(x, mask)
    z, _ = predict_logits(model, x, mask, int(batch_size))
    return z if logits or model.compiled_loss is None else model.compiled_loss.activate(z)


# ------------------------------------------------------------------------------------------ fit
def _same_arrays_every_call(obj) -> bool:
    """``obj.named_params()`` and those of everything inside it are the library's own: the same
    arrays at every call (an override may compute a gradient per call, e.g. of tied weights)."""
    if not getattr(type(obj).named_params, "same_arrays_every_call", False):
        return False
    inner = [c for _, c in obj.children()] if hasattr(obj, "children") else obj.sublayers()
    return all(_same_arrays_every_call(c) for c in inner)


def _params_for_epoch(model) -> list | None:
    """``model.named_params()`` for every update of an epoch, or None: list them at every update."""
    return model.named_params() if _same_arrays_every_call(model) else None


def _progress_bar(total: int, initial: int, desc: str, enabled: bool):
    if not enabled:
        return None
    from tqdm.auto import tqdm
    return tqdm(total=total, initial=initial, desc=desc, leave=False, unit="batch", dynamic_ncols=True, disable=None)


def _positive_int(value: Any, name: str, allow_none: bool = False) -> int | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise InputError(f"{name}: expected a positive integer, got {value!r}")
    return int(value)


def fit(model, x: Any, y: Any = None, epochs: int = 10, batch_size: int = 32, *, mask: Any = None,
        shuffle: bool = True, validation_data: tuple | None = None, validation_split: float = 0.0,
        validation_batch_size: int | None = None, callbacks: Sequence[Callback] = (), verbose: int = 1,
        bucket: bool = False, data_seed: Any = None,
        checkpoint_dir: Any = None, checkpoint_every: int | None = None, resume: bool = False,
        on_nonfinite: str = "stop") -> History:
    """Train ``model``; returns the :class:`History` (also ``model.history``).

    ``x``: an array, a tuple of arrays (multi-input models), or a callable ``x(epoch, rng)``
    returning that epoch's ``(x, y)`` or ``(x, y, mask)`` (``epoch`` from 0; draw every random
    number from ``rng``, which the engine seeds with ``data_seed`` and checkpoints).
    ``validation_data``: ``(x, y)`` or ``(x, y, mask)``; ``validation_split`` holds out the LAST
    fraction of the samples (never shuffled away: right for time series); ``validation_batch_size``
    (default: ``batch_size`` for a stateful model, whose validation streams are laid out like the
    training ones, else ``max(batch_size, 256)``). ``bucket=True`` groups
    sequences of similar length (needs ``mask``). Stateful layers get the batches in order and
    start every epoch from a zero state. Callbacks see 1-based epochs; schedules 0-based ones.
    ``checkpoint_dir``: write ``checkpoint.safetensors`` there at every epoch's end, every
    ``checkpoint_every`` updates and on SIGINT/SIGTERM; ``resume=True`` continues from it.
    ``on_nonfinite``: when a batch's loss or gradient is NaN/infinite, ``"stop"`` raises
    TrainingError keeping the last good weights, ``"skip_batch"`` drops the batch, halves the
    learning rate and warns (:mod:`rnnlab.training.nonfinite`); both name epoch, batch and where.
    """
    if model.compiled_loss is None or model.optimizer is None:
        raise RnnlabError("call model.compile(loss=..., optimizer=...) before fit()")
    epochs, batch_size = _positive_int(epochs, "epochs"), _positive_int(batch_size, "batch_size")
    validation_batch_size = _positive_int(validation_batch_size, "validation_batch_size", allow_none=True)
    checkpoint_every = _positive_int(checkpoint_every, "checkpoint_every", allow_none=True)
    on_nonfinite = nonfinite.check_choice(on_nonfinite)
    if (checkpoint_every is not None or resume) and checkpoint_dir is None:
        raise InputError("checkpoint_every / resume need checkpoint_dir (the folder of the checkpoint)")
    if not 0.0 <= validation_split < 1.0:
        raise InputError(f"validation_split: expected a fraction in [0, 1), got {validation_split}")
    if validation_split and validation_data is not None:
        raise InputError("give validation_data or validation_split, not both")
    epoch_data: Callable | None = x if callable(x) else None
    if epoch_data is not None:
        if y is not None or mask is not None or validation_split:
            raise InputError("x is a callable giving each epoch's (x, y[, mask]): pass no y, mask or "
                             "validation_split beside it")
        n = None
    else:
        x, y, mask = prepare(model, x, y, mask)
        if validation_split:
            n_all = B.num_samples(x)
            n_val = max(1, int(round(n_all * validation_split)))
            if n_val >= n_all:
                raise InputError(f"validation_split={validation_split} leaves no training samples")
            tr, va = np.arange(n_all - n_val), np.arange(n_all - n_val, n_all)
            validation_data = (B.take(x, va), y[va], B.take(mask, va))
            x, y, mask = B.take(x, tr), y[tr], B.take(mask, tr)
        n = B.num_samples(x)
        if bucket and mask is None:
            raise InputError("bucket=True needs a mask (variable-length sequences)")
    if validation_data is not None:
        vx, vy, vmask = prepare(model, *_unpack(validation_data, "validation_data"), name="validation x")
    stateful = any(getattr(l, "stateful", False) for l in model.layers_flat())
    if stateful:
        shuffle = False                            # carried states need the batches in order
    if validation_batch_size is None:
        validation_batch_size = batch_size if stateful else max(batch_size, 256)
    data_rng = np.random.default_rng(data_seed if data_seed is not None else [model.seed, 1])
    callbacks = list(callbacks)
    history = History()
    model.history, model.stop_training = history, False
    for cb in callbacks:
        cb.set_model(model)
        cb.on_train_begin()

    signature = progress.fit_signature(model, n, batch_size, bool(shuffle), bool(bucket))
    def start_of(epoch: int) -> progress.Position:
        """A fresh epoch's position: no sums yet, the generators as they are now."""
        return progress.Position(epoch=epoch, rng_at_epoch_start={
            "shuffle": model.rng.bit_generator.state, "data": data_rng.bit_generator.state})

    pos, resume_point = start_of(0), None
    if resume and ckpt.checkpoint_path(checkpoint_dir).exists():
        pos, layer_states, carries = progress.load(ckpt.checkpoint_path(checkpoint_dir), model, history,
                                                   callbacks, signature)
        model.rng.bit_generator.state = pos.rng_at_epoch_start["shuffle"]
        data_rng.bit_generator.state = pos.rng_at_epoch_start["data"]
        resume_point = (layer_states, carries)

    def save_checkpoint():
        return progress.save(checkpoint_dir, model, pos, history, callbacks, signature)

    check = True                                  # full argument checks in loss and optimizer, once
    # a second process pointed at the same checkpoint folder is refused here, before it trains
    with StopRequests(checkpoint_dir is not None) as stop, (
            contextlib.nullcontext() if checkpoint_dir is None else locking.FolderLock(checkpoint_dir, "checkpoint folder")):
        for epoch in range(pos.epoch, epochs):
            if model.stop_training:
                break
            t0 = time.perf_counter()                # pos: start_of(epoch), or a resumed position
            model.reset_states()
            if model.optimizer.schedule is not None:
                model.optimizer.set_epoch(epoch)
            if epoch_data is not None:
                x, y, mask = prepare(model, *_unpack(epoch_data(epoch, data_rng), "the epoch data callable"))
                if bucket and mask is None:
                    raise InputError("bucket=True needs a mask (variable-length sequences)")
            lengths = None if B.first_mask(mask) is None else B.first_mask(mask).sum(axis=1)
            plan = B.plan(B.num_samples(x), batch_size, shuffle, model.rng, lengths, bucket)
            if resume_point is not None:
                progress.apply_resume_point(model, *resume_point)
                resume_point = None
            bar = _progress_bar(len(plan), pos.batch, f"epoch {epoch + 1}/{epochs}", verbose > 0)
            params = _params_for_epoch(model)          # listed once per epoch, reused by every update
            skipped, first = 0, pos.batch
            for b in range(first, len(plan)):
                idx = plan[b]
                try:
                    loss, logits, lmask, yb, grad_norm = train_step(
                        model, B.take(x, idx), y[idx], B.take(mask, idx), check=check, params=params)
                except TrainingError as exc:               # a non-finite loss or gradient: nothing updated
                    where = f"epoch {epoch + 1}, batch {b + 1}: {exc}"
                    if on_nonfinite == "stop" or skipped + 1 == len(plan) - first:
                        raise TrainingError(where if on_nonfinite == "stop" else
                                            f"{where} (every batch of the epoch was non-finite)") from None
                    nonfinite.skip_batch(model)
                    skipped += 1
                    warnings.warn(f"{where} — batch skipped, learning rate halved to {model.optimizer.lr:g}",
                                  RuntimeWarning, stacklevel=2)
                    pos.batch = b + 1
                    continue
                check = False                          # the first update of the fit checked everything
                values = {}
                if model.metric_names:
                    pred = model.compiled_loss.activate(logits)
                    values = {m: metrics_mod.get(m)(pred, yb, lmask) for m in model.metric_names}
                pos.add(loss, len(idx), values)
                pos.batch = b + 1
                for cb in callbacks:
                    cb.on_batch_end(b + 1, {"loss": loss, "grad_norm": grad_norm})
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(loss=f"{pos.loss_sum / pos.seen:.4g}", refresh=False)   # drawn at its own pace
                if stop.requested:
                    pos.seconds += time.perf_counter() - t0
                    path = save_checkpoint()
                    if bar is not None:
                        bar.close()
                    raise TrainingInterrupted(
                        f"training interrupted by {stop.requested} at epoch {epoch + 1}, batch {b + 1} of "
                        f"{len(plan)}; checkpoint written to {path}",
                        signal_name=stop.requested, exit_code=stop.exit_code, checkpoint=Path(path))
                if checkpoint_every and model.optimizer.iterations % checkpoint_every == 0:
                    pos.seconds += time.perf_counter() - t0
                    t0 = time.perf_counter()
                    save_checkpoint()
            if bar is not None:
                bar.close()
            logs = pos.logs()
            if on_nonfinite == "skip_batch":
                logs["skipped_batches"] = skipped
            model.reset_states()                       # validation starts from a zero state too
            if validation_data is not None:
                val = evaluate_prepared(model, vx, vy, vmask, validation_batch_size)
                logs.update({f"val_{k}": v for k, v in val.items()})
            logs["lr"] = model.optimizer.lr
            logs["time"] = pos.seconds + time.perf_counter() - t0
            for cb in callbacks:                       # may add to logs (e.g. a decoding metric)
                cb.on_epoch_end(epoch + 1, logs)
            history.append(epoch + 1, logs)
            if verbose > 0:
                shown = "  ".join(f"{k} {v:.4g}" for k, v in logs.items() if k != "lr")
                print(f"epoch {epoch + 1}/{epochs}  {shown}")
            pos = start_of(epoch + 1)
            if checkpoint_dir is not None:
                save_checkpoint()
    for cb in callbacks:
        cb.on_train_end()
    return history
