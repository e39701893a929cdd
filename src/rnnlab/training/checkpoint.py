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
    """Write one checkpoint (atomically) and return its path."""
    from safetensors.numpy import save as st_save

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
    return doc, tensors


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
    except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as exc:
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
