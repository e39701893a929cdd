"""Save and load models: a folder with ``model.json`` (architecture, training config, checksums)
and ``weights.safetensors`` (the parameters). Never pickle.

Writes are atomic: the folder is written under a temporary name and renamed into place, so a
crash leaves either the old model or the new one, never a half-written mix. Loading checks the
format version, the SHA-256 of the weights file, and every tensor's name, shape and dtype, and
raises :class:`~rnnlab.errors.ModelFileError` naming the file and the problem.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from .errors import ModelFileError
from .fileio import atomic_write_bytes, atomic_write_text  # noqa: F401  (re-exported)

FORMAT = "rnnlab-model"
VERSION = 1
CONFIG_FILE = "model.json"
WEIGHTS_FILE = "weights.safetensors"


def save(model, path: str | os.PathLike) -> Path:
    from safetensors.numpy import save as st_save

    if not model.built:
        raise ModelFileError(f"{path}: the model is not built yet (fit it or pass input_size) — nothing to save")
    path = Path(path)
    tensors = {name: np.ascontiguousarray(p) for name, p, _ in model.named_params()}
    blob = st_save(tensors)
    meta: dict[str, Any] = {
        "format": FORMAT, "version": VERSION,
        "model": model.get_config(),
        "weights": {"file": WEIGHTS_FILE, "sha256": hashlib.sha256(blob).hexdigest(),
                    "tensors": {k: {"shape": list(v.shape), "dtype": v.dtype.name} for k, v in tensors.items()}},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    old = None
    try:
        (tmp / WEIGHTS_FILE).write_bytes(blob)
        (tmp / CONFIG_FILE).write_text(json.dumps(meta, indent=1), encoding="utf-8")
        if path.exists():
            if not (path / CONFIG_FILE).exists() and any(path.iterdir()):
                raise ModelFileError(f"{path}: exists and is not an rnnlab model folder; refusing to overwrite")
            old = path.with_name(f".{path.name}.old-{os.getpid()}")
            os.replace(path, old)
        os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if old is not None and not path.exists():
            os.replace(old, path)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return path


def _read_meta(path: Path) -> dict[str, Any]:
    if not path.exists():
        raise ModelFileError(f"{path}: no such model folder")
    if path.is_file():
        raise ModelFileError(f"{path}: expected a model folder (with {CONFIG_FILE} and {WEIGHTS_FILE}), got a file")
    cfg = path / CONFIG_FILE
    if not cfg.exists():
        raise ModelFileError(f"{cfg}: missing — {path} is not an rnnlab model folder")
    try:
        meta = json.loads(cfg.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelFileError(f"{cfg}: not valid JSON (truncated or edited?): {exc}") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ModelFileError(f"{cfg}: not an rnnlab model description (format field {meta.get('format') if isinstance(meta, dict) else None!r})")
    if meta.get("version") != VERSION:
        raise ModelFileError(f"{cfg}: format version {meta.get('version')!r}, this rnnlab reads version {VERSION}")
    return meta


def load(path: str | os.PathLike):
    """Rebuild a model saved with :meth:`Sequential.save`: same architecture, same weights, compiled again."""
    from safetensors import SafetensorError
    from safetensors.numpy import load as st_load

    from .model import Sequential
    from .registry import layer_from_config

    path = Path(path)
    meta = _read_meta(path)
    wfile = path / WEIGHTS_FILE
    if not wfile.exists():
        raise ModelFileError(f"{wfile}: missing")
    blob = wfile.read_bytes()
    try:
        expected = meta["weights"]["sha256"]
        spec = meta["weights"]["tensors"]
        mcfg = meta["model"]
    except (KeyError, TypeError) as exc:
        raise ModelFileError(f"{path / CONFIG_FILE}: missing field {exc}") from None
    if hashlib.sha256(blob).hexdigest() != expected:
        raise ModelFileError(f"{wfile}: SHA-256 does not match {CONFIG_FILE} — the file is truncated, "
                             "corrupted or was changed after saving")
    try:
        tensors = st_load(blob)
    except (SafetensorError, Exception) as exc:  # noqa: BLE001 - any parse failure is a bad file
        raise ModelFileError(f"{wfile}: not a readable safetensors file: {exc}") from None
    for name, s in spec.items():
        t = tensors.get(name)
        if t is None or list(t.shape) != s["shape"] or t.dtype.name != s["dtype"]:
            raise ModelFileError(f"{wfile}: tensor {name} missing or of the wrong shape/dtype "
                                 f"(expected {s['shape']} {s['dtype']})")
    try:
        layers = [layer_from_config(spec_l) for spec_l in mcfg["layers"]]
        model = Sequential(layers, input_size=mcfg["input_size"], seed=mcfg.get("seed", 0),
                           dtype=mcfg.get("dtype", "float32"))
    except ModelFileError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise ModelFileError(f"{path / CONFIG_FILE}: cannot rebuild the architecture: {exc}") from None
    try:
        model.set_weights(tensors)
    except Exception as exc:  # noqa: BLE001
        raise ModelFileError(f"{wfile}: weights do not fit the architecture: {exc}") from None
    comp = mcfg.get("compile")
    if comp:
        from .optim import get as optim_get
        model.compile(loss=comp["loss"], optimizer=optim_get(comp["optimizer"]), metrics=comp["metrics"])
    return model
