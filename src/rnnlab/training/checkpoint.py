"""Training checkpoints: one file, ``checkpoint.safetensors``, that resumes a run exactly.

What it holds (the tensors in safetensors, everything else as JSON in its metadata):

| part | where |
|---|---|
| weights | tensors ``model/<parameter name>`` |
| optimizer state (Adam's m, v, t; step count) | tensors ``optimizer/...`` |
| callback state (e.g. EarlyStopping's best weights) | tensors ``callbacks/<i>/...`` + JSON |
| carried states of stateful layers | tensors ``carry/<layer>/<k>`` |
| position: epoch, next batch, the epoch's partial sums | JSON |
| RNG states: shuffling and epoch data (as at the epoch's start), every layer's generator (now) | JSON |
| history; the fit's signature (model class, parameter shapes, samples, batch size, shuffle); format version; SHA-256 of the tensors | JSON |

Written atomically (temporary file, fsync, rename, fsync of the folder): at any instant the
file is the previous complete checkpoint or the new complete one. Reading checks the format,
the version and the SHA-256 over every tensor (name, dtype, shape, bytes), so a truncated,
corrupted or edited file raises :class:`~rnnlab.errors.CheckpointError` naming it — it never
loads silently.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from .. import locking
from ..errors import CheckpointError
from ..fileio import atomic_write_bytes

FORMAT = "rnnlab-checkpoint"
FORMAT_VERSION = 1
FILE_NAME = "checkpoint.safetensors"
_META_KEY = "rnnlab"


def checkpoint_path(checkpoint_dir: str | os.PathLike) -> Path:
    return Path(checkpoint_dir) / FILE_NAME


def tensors_digest(tensors: dict[str, np.ndarray]) -> str:
    """SHA-256 over every tensor's name, dtype, shape and bytes, in name order."""
    h = hashlib.sha256()
    for name in sorted(tensors):
        t = np.asarray(tensors[name], order="C")
        h.update(f"{name}|{t.dtype.str}|{t.shape}|".encode())
        h.update(t.tobytes())
    return h.hexdigest()


def write(checkpoint_dir: str | os.PathLike, state: dict[str, Any], tensors: dict[str, np.ndarray]) -> Path:
    """Write one checkpoint (atomically) and return its path.

    The first write locks ``checkpoint_dir`` for this process (:func:`rnnlab.locking.claim`): another
    process writing checkpoints there is refused with :class:`~rnnlab.locking.FolderInUseError`."""
    from safetensors.numpy import save as st_save

    locking.claim(checkpoint_dir, "checkpoint folder")
    tensors = {k: np.array(v, order="C") for k, v in tensors.items()}       # (0-d stays 0-d)
    doc = {"format": FORMAT, "format_version": FORMAT_VERSION, "sha256": tensors_digest(tensors), **state}
    blob = st_save(tensors, metadata={_META_KEY: json.dumps(doc)})
    path = checkpoint_path(checkpoint_dir)
    atomic_write_bytes(path, blob)
    return path


def read(path: str | os.PathLike) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Read and verify a checkpoint file: ``(state, tensors)``; any defect -> CheckpointError."""
    from safetensors.numpy import load as st_load

    path = Path(path)
    try:
        blob = path.read_bytes()
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no checkpoint file") from None
    except OSError as exc:
        raise CheckpointError(f"{path}: cannot read the checkpoint: {exc}") from None
    doc = _metadata(path, blob)
    try:
        tensors = st_load(blob)
    except Exception as exc:  # noqa: BLE001 - any parse failure means a bad file
        raise CheckpointError(f"{path}: not a readable safetensors file (truncated or corrupted?): {exc}") from None
    if tensors_digest(tensors) != doc.get("sha256"):
        raise CheckpointError(f"{path}: SHA-256 of the tensors does not match the one recorded — the file is "
                              "corrupted or was changed after it was written")
    _check_state(path, doc, tensors)
    return doc, tensors


_BIT_GENERATORS = ("PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64")


def _check_rng_state(path: Path, where: str, state: Any) -> None:
    """A generator state must be one NumPy accepts (tried on a fresh bit generator, not the fit's)."""
    name = state.get("bit_generator") if isinstance(state, dict) else None
    if name not in _BIT_GENERATORS:
        raise CheckpointError(f"{path}: {where}: expected a NumPy generator state, got {str(state)[:80]!r}")
    try:
        getattr(np.random, name)().state = state
    except (ValueError, TypeError, KeyError, OverflowError) as exc:
        raise CheckpointError(f"{path}: {where}: not a valid {name} state ({type(exc).__name__}: {exc})") from None


def _check_state(path: Path, doc: dict[str, Any], tensors: dict[str, np.ndarray]) -> None:
    """The JSON part (not covered by the tensors' digest) must have the shape a resume reads —
    checked here, so that a damaged or edited file is a CheckpointError naming it, never a
    KeyError or a NumPy error in the middle of a fit. Weights and optimizer state must be finite."""
    def bad(where: str, expected: str, got: Any) -> CheckpointError:
        return CheckpointError(f"{path}: {where}: expected {expected}, got {str(got)[:80]!r} — the file was "
                               "edited or damaged; start a new run folder")

    def is_int(v: Any) -> bool:
        return isinstance(v, int) and not isinstance(v, bool) and v >= 0

    def is_num(v: Any) -> bool:
        return isinstance(v, (int, float)) and not isinstance(v, bool)

    for key, kind in (("signature", dict), ("position", dict), ("rng", dict), ("history", dict),
                      ("callbacks", list), ("stop_training", bool)):
        if not isinstance(doc.get(key), kind):
            raise bad(key, f"a JSON {kind.__name__}", doc.get(key))
    pos = doc["position"]
    for key in ("epoch", "batch", "seen"):
        if not is_int(pos.get(key)):
            raise bad(f"position.{key}", "a non-negative integer", pos.get(key))
    for key in ("loss_sum", "seconds"):
        if not is_num(pos.get(key)):
            raise bad(f"position.{key}", "a number", pos.get(key))
    sums = pos.get("metric_sums")
    if not isinstance(sums, dict) or not all(is_num(v) for v in sums.values()):
        raise bad("position.metric_sums", "a JSON object of numbers", sums)
    rng = doc["rng"]
    start, layers = rng.get("epoch_start"), rng.get("layers")
    if not isinstance(start, dict) or set(start) != {"shuffle", "data"}:
        raise bad("rng.epoch_start", "the 'shuffle' and 'data' generator states", start)
    if not isinstance(layers, dict):
        raise bad("rng.layers", "a JSON object of generator states", layers)
    for where, state in [*((f"rng.epoch_start.{k}", v) for k, v in start.items()),
                         *((f"rng.layers.{k}", v) for k, v in layers.items())]:
        _check_rng_state(path, where, state)
    hist = doc["history"]
    if not isinstance(hist.get("epochs"), list) or not isinstance(hist.get("history"), dict) or \
            not all(isinstance(v, list) for v in hist["history"].values()):
        raise bad("history", "{'epochs': [...], 'history': {name: [...]}}", hist)
    if not all(isinstance(c, dict) for c in doc["callbacks"]):
        raise bad("callbacks", "a list of JSON objects", doc["callbacks"])
    params = doc["signature"].get("params")
    slots: dict[str, set[str]] = {}
    for name in tensors:
        if name.startswith("optimizer/") and not name.startswith("optimizer//"):
            param, _, slot = name[len("optimizer/"):].rpartition("/")
            slots.setdefault(param, set()).add(slot)
    if isinstance(params, dict) and slots:       # per-parameter optimizer state: whole, for every parameter
        kinds = {frozenset(s) for s in slots.values()}
        if set(slots) != set(params) or len(kinds) != 1:
            raise CheckpointError(f"{path}: the optimizer state is incomplete (parameters {sorted(set(params) ^ set(slots))[:4]}"
                                  f", slots {sorted(map(sorted, kinds))[:3]}) — the file was edited or damaged")
    for name, t in tensors.items():
        if name.startswith(("model/", "optimizer/")) and t.dtype.kind == "f" and not np.isfinite(t).all():
            raise CheckpointError(f"{path}: tensor {name} holds non-finite values — a checkpoint only ever "
                                  "holds finite weights; the file was edited or damaged")


def _metadata(path: Path, blob: bytes) -> dict[str, Any]:
    """The JSON document in the safetensors header, read without trusting the declared sizes."""
    if len(blob) < 8:
        raise CheckpointError(f"{path}: {len(blob)} bytes — too short for a checkpoint (truncated?)")
    n = int.from_bytes(blob[:8], "little")
    if n > len(blob) - 8:
        raise CheckpointError(f"{path}: the header claims {n} bytes but the file has {len(blob) - 8} after "
                              "the size field (truncated?)")
    try:
        header = json.loads(blob[8:8 + n].decode("utf-8"))
        doc = json.loads(header["__metadata__"][_META_KEY])
    except (ValueError, KeyError, TypeError, RecursionError) as exc:     # (ValueError: also bad UTF-8, JSON)
        raise CheckpointError(f"{path}: no rnnlab checkpoint header ({type(exc).__name__}: {exc})") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not an rnnlab checkpoint (format {doc.get('format') if isinstance(doc, dict) else None!r})")
    if doc.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(f"{path}: checkpoint format version {doc.get('format_version')!r}; this rnnlab "
                              f"reads version {FORMAT_VERSION}")
    return doc


def split_prefix(tensors: dict[str, np.ndarray], prefix: str) -> dict[str, np.ndarray]:
    """The tensors under ``prefix/``, with the prefix removed."""
    p = prefix + "/"
    return {k[len(p):]: v for k, v in tensors.items() if k.startswith(p)}


def with_prefix(tensors: dict[str, np.ndarray], prefix: str) -> dict[str, np.ndarray]:
    return {f"{prefix}/{k}": v for k, v in tensors.items()}
