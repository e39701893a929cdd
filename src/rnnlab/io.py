"""Save and load any :class:`~rnnlab.Model`: a folder with ``model.json`` (class, architecture,
training config, checksums) and ``weights.safetensors`` (the parameters) — never pickle.

| file | what |
|---|---|
| ``model.json`` | ``format``, ``format_version``, the model's class and ``get_config()``, compile config, SHA-256 and spec (shape, dtype) of every tensor |
| ``weights.safetensors`` | parameters, PyTorch names (``layers.0.weight_ih`` …) |
| ``optimizer.safetensors`` | with ``save(..., include_optimizer=True)``: the optimizer state (Adam's m, v, t) |
| ``extras/`` | anything a model adds (e.g. a vocabulary), via ``Model.save_extras`` / ``load_extras`` |

Writes are atomic: the folder is written under a temporary name and renamed into place, so a
crash leaves either the old model or the new one, never a half-written mix. Loading checks the
format version, the SHA-256 of every file and every tensor's name, shape and dtype against
``model.json``, and raises :class:`~rnnlab.errors.ModelFileError` naming the file and the problem.
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
from .fileio import atomic_write_bytes, atomic_write_text, fsync_dir, umask_mode  # noqa: F401  (re-exported)
from .registry import class_key, model_class

FORMAT = "rnnlab-model"
VERSION = 2                      # 1: Sequential only, without "class"; still read
CONFIG_FILE = "model.json"
WEIGHTS_FILE = "weights.safetensors"
OPTIMIZER_FILE = "optimizer.safetensors"


def _blob(tensors: dict[str, np.ndarray]) -> tuple[bytes, dict[str, Any]]:
    from safetensors.numpy import save as st_save
    tensors = {k: np.array(v, order="C") for k, v in tensors.items()}       # (0-d stays 0-d)
    blob = st_save(tensors)
    return blob, {"sha256": hashlib.sha256(blob).hexdigest(),
                  "tensors": {k: {"shape": list(v.shape), "dtype": v.dtype.name} for k, v in tensors.items()}}


def save(model, path: str | os.PathLike, include_optimizer: bool = False) -> Path:
    path = Path(path)
    weights, wspec = _blob({name: p for name, p, _ in model.named_params()})
    meta: dict[str, Any] = {
        "format": FORMAT, "format_version": VERSION,
        "class": class_key(type(model)),
        "model": model.get_config(),
        "compile": model.compile_config(),
        "weights": {"file": WEIGHTS_FILE, **wspec},
    }
    files = {WEIGHTS_FILE: weights}
    if include_optimizer:
        if model.optimizer is None:
            raise ModelFileError(f"{path}: include_optimizer=True but the model has no optimizer (compile it)")
        state = {k: np.asarray(v) for k, v in model.optimizer.get_state().items()}
        files[OPTIMIZER_FILE], ospec = _blob(state)
        meta["optimizer"] = {"file": OPTIMIZER_FILE, **ospec}
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() and not path.is_dir():
        raise ModelFileError(f"{path}: exists and is a file, not a model folder; choose another path")
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    old = None
    try:
        os.chmod(tmp, umask_mode(0o777))
        for name, blob in files.items():
            atomic_write_bytes(tmp / name, blob)
        if hasattr(model, "save_extras"):
            model.save_extras(tmp / "extras")
        atomic_write_text(tmp / CONFIG_FILE, json.dumps(meta, indent=1))
        if path.exists():
            if not (path / CONFIG_FILE).exists() and any(path.iterdir()):
                raise ModelFileError(f"{path}: exists and is not an rnnlab model folder; refusing to overwrite")
            old = path.with_name(f".{path.name}.old-{os.getpid()}")
            os.replace(path, old)
        os.replace(tmp, path)
        fsync_dir(path.parent)
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
    except OSError as exc:                           # a folder, a file without read permission, ...
        raise ModelFileError(f"{cfg}: cannot read it ({exc.strerror or exc})") from None
    except (ValueError, RecursionError) as exc:     # e.g. an integer of more than 4,300 digits; deep nesting
        raise ModelFileError(f"{cfg}: not an rnnlab model description ({type(exc).__name__}: {exc})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        fmt = meta.get("format") if isinstance(meta, dict) else None
        raise ModelFileError(f"{cfg}: not an rnnlab model description (format field {fmt!r})")
    version = meta.get("format_version", meta.get("version"))
    if version not in (1, VERSION):
        raise ModelFileError(f"{cfg}: format version {version!r}; this rnnlab reads versions 1 and {VERSION}")
    if not isinstance(meta.get("model", {}), dict):
        raise ModelFileError(f"{cfg}: \"model\" should be the architecture (a JSON object), got {meta['model']!r:.80}")
    if version == 1:                              # first round: Sequential, compile by loss name
        meta = {**meta, "class": "Sequential", "compile": meta.get("model", {}).pop("compile", None)}
    return meta


def _read_tensors(folder: Path, entry: Any, cfg: Path) -> dict[str, np.ndarray]:
    """Read one safetensors file named in model.json and check it against its recorded spec."""
    from safetensors.numpy import load as st_load
    try:
        fname, expected, spec = entry["file"], entry["sha256"], entry["tensors"]
        if not isinstance(spec, dict):
            raise TypeError("tensors is not a dict")
    except (KeyError, TypeError) as exc:
        raise ModelFileError(f"{cfg}: bad file entry {entry!r} ({exc})") from None
    if not isinstance(fname, str) or fname in ("", ".", "..") or "/" in fname or "\\" in fname:
        raise ModelFileError(f"{cfg}: file entry {fname!r} should name a file inside the model folder")
    f = folder / fname
    if not f.exists():
        raise ModelFileError(f"{f}: missing")
    if not f.is_file():
        raise ModelFileError(f"{f}: not a regular file")
    blob = f.read_bytes()
    if hashlib.sha256(blob).hexdigest() != expected:
        raise ModelFileError(f"{f}: SHA-256 does not match {CONFIG_FILE} — the file is truncated, "
                             "corrupted or was changed after saving")
    try:
        tensors = st_load(blob)
    except Exception as exc:  # noqa: BLE001 - any parse failure is a bad file
        raise ModelFileError(f"{f}: not a readable safetensors file: {exc}") from None
    if set(tensors) != set(spec):
        raise ModelFileError(f"{f}: tensors {sorted(set(tensors) ^ set(spec))} differ from {CONFIG_FILE}")
    for name, s in spec.items():
        t = tensors[name]
        if not isinstance(s, dict) or list(t.shape) != s.get("shape") or t.dtype.name != s.get("dtype"):
            raise ModelFileError(f"{f}: tensor {name} is {list(t.shape)} {t.dtype.name}, {CONFIG_FILE} says {s!r}")
    return tensors


#: Config entries that are a size of some parameter tensor (so at most the largest axis in the
#: weights file), and entries that count layers (at most the number of tensors).
SIZE_KEYS = frozenset({"hidden_size", "units", "vocab_size", "dim", "input_size", "in_vocab", "out_vocab",
                       "hidden", "embed", "attention_units", "n_in", "n_out"})
COUNT_KEYS = frozenset({"layers", "n_layers", "num_layers"})


def check_claimed_sizes(config: Any, tensors: dict[str, np.ndarray], cfg: Path) -> None:
    """Refuse an architecture whose sizes the weights file cannot back, *before* building it: a
    ``model.json`` edited to say ``hidden_size: 10**9`` must not allocate (and randomly fill)
    gigabytes only to find that the weights do not fit. Every size entry (:data:`SIZE_KEYS`) is an
    axis of some parameter, so it may not exceed the largest axis in the file; every layer count
    (:data:`COUNT_KEYS`) the number of tensors."""
    if not tensors:                  # a model without parameters allocates nothing when built
        return
    largest = max(max(t.shape, default=1) for t in tensors.values())
    stack: list[tuple[str, Any]] = [("model", config)]
    while stack:
        where, node = stack.pop()
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        for key, value in items:
            if key in SIZE_KEYS or (key in COUNT_KEYS and not isinstance(value, list)):
                if value is None:
                    continue
                if not isinstance(value, int) or isinstance(value, bool):
                    raise ModelFileError(f"{cfg}: {where}.{key}: expected an integer size, got {value!r}")
                bound = largest if key in SIZE_KEYS else len(tensors)
                if value > bound:
                    raise ModelFileError(f"{cfg}: {where}.{key} is {value}, more than the weights file can hold "
                                         f"(its largest axis is {largest}, it has {len(tensors)} tensors) — "
                                         "the file was edited or belongs to another model")
            elif isinstance(value, (dict, list)):
                stack.append((f"{where}.{key}", value))


def load(path: str | os.PathLike):
    """Rebuild a model saved with ``model.save``: same class, architecture and weights, compiled
    again (and with its optimizer state, if it was saved)."""
    path = Path(path)
    meta = _read_meta(path)
    cfg = path / CONFIG_FILE
    try:
        cls = model_class(str(meta.get("class")))
    except ModelFileError as exc:
        raise ModelFileError(f"{cfg}: {exc}") from None
    if "weights" not in meta or "model" not in meta:
        raise ModelFileError(f"{cfg}: missing field {'weights' if 'weights' not in meta else 'model'!r}")
    tensors = _read_tensors(path, meta["weights"], cfg)
    check_claimed_sizes(meta["model"], tensors, cfg)
    try:
        model = cls.from_config(meta["model"])
    except ModelFileError as exc:
        raise ModelFileError(f"{cfg}: {exc}") from None
    except MemoryError:
        raise ModelFileError(f"{cfg}: the architecture is too large to build in memory") from None
    except Exception as exc:  # noqa: BLE001 - a config that does not build
        raise ModelFileError(f"{cfg}: cannot rebuild the {cls.__name__} architecture: {exc}") from None
    expected = {name: (list(p.shape), p.dtype.name) for name, p, _ in model.named_params()}
    found = {name: (list(t.shape), t.dtype.name) for name, t in tensors.items()}
    if expected != found:
        bad = sorted(k for k in set(expected) | set(found) if expected.get(k) != found.get(k))
        raise ModelFileError(f"{path / WEIGHTS_FILE}: weights do not fit the architecture in {CONFIG_FILE}: "
                             + "; ".join(f"{k}: expected {expected.get(k)}, file has {found.get(k)}" for k in bad[:5]))
    model.set_weights(tensors)
    comp = meta.get("compile")
    if comp:
        try:
            model.compile(loss=comp["loss"], optimizer=comp["optimizer"], metrics=comp["metrics"])
        except Exception as exc:  # noqa: BLE001
            raise ModelFileError(f"{cfg}: bad compile entry {comp!r}: {exc}") from None
    if "optimizer" in meta:
        if model.optimizer is None:
            raise ModelFileError(f"{cfg}: has optimizer state but no compile entry")
        model.optimizer.set_state(_read_tensors(path, meta["optimizer"], cfg))
    if hasattr(model, "load_extras"):
        model.load_extras(path / "extras")
    return model


def load_run_or_model(path: str | os.PathLike, kind: type | None = None):
    """:func:`load` a model folder, or the ``model/`` folder of a run folder (``rnnlab run`` output);
    with ``kind``, the model must be an instance of it (else a :class:`ModelFileError` saying what it is)."""
    path = Path(path)
    if not path.exists():
        raise ModelFileError(f"{path}: no such run or model folder")
    folder = path / "model" if (path / "model" / CONFIG_FILE).is_file() else path
    if not (folder / CONFIG_FILE).is_file():
        raise ModelFileError(f"{path}: neither a model folder (with {CONFIG_FILE}) nor a run folder holding model/")
    model = load(folder)
    if kind is not None and not isinstance(model, kind):
        raise ModelFileError(f"{folder}: holds a {type(model).__name__}, expected a {kind.__name__}")
    return model
