"""Loader for UCR/UEA time-series classification files in the sktime/aeon ``.ts`` format.

Format: ``#`` comment lines; header tags (case-insensitive) ``@problemName``, ``@timeStamps``,
``@missing``, ``@univariate``, ``@dimensions``, ``@equalLength``, ``@seriesLength``,
``@classLabel true <labels...>``; then ``@data`` and one instance per line: the dimensions
separated by ``:``, the values within a dimension by ``,``, the last ``:``-field the class label.
``?`` marks a missing value. Only the classification form without time stamps is supported.
"""
from __future__ import annotations

import os
import pathlib
from typing import Any

import numpy as np

from ..errors import DataNotFoundError, InputError
from .paths import data_dirs, find_data_file
from .text import decode_utf8

_SPLITS = {"train": "TRAIN", "test": "TEST"}


def _parse_bool(value: str, tag: str, where: str) -> bool:
    v = value.strip().lower()
    if v not in ("true", "false"):
        raise InputError(f"{where}: {tag} expects 'true' or 'false', found {value!r}")
    return v == "true"


def _parse_int(value: str, tag: str, where: str) -> int:
    try:
        n = int(value.strip())
    except ValueError:
        n = 0
    if n < 1:
        raise InputError(f"{where}: {tag} expects a positive integer, found {value!r}")
    return n


def _parse_dimension(text: str, where: str, missing: str) -> np.ndarray:
    parts = text.split(",")
    try:
        values = np.asarray(parts, dtype=np.float64)
    except ValueError:
        values = None
    if values is not None:
        bad = np.flatnonzero(~np.isfinite(values))
        if bad.size == 0 or missing == "nan":
            return values
        raise InputError(f"{where}: value {bad[0] + 1} is {parts[bad[0]].strip()!r}; expected a "
                         "finite number ('?' marks a missing value)")
    out = np.empty(len(parts), dtype=np.float64)
    for j, p in enumerate(parts):
        p = p.strip()
        if p == "?":
            if missing == "error":
                raise InputError(f"{where}: value {j + 1} is missing ('?'); pass missing='nan' to "
                                 "load missing values as NaN")
            out[j] = np.nan
            continue
        try:
            out[j] = float(p)
        except ValueError:
            raise InputError(f"{where}: value {j + 1} should be a number or '?', "
                             f"found {p!r}") from None
    return out


def load_ts(path: str | os.PathLike,
            missing: str = "error") -> tuple[list[np.ndarray], np.ndarray, list[str]]:
    """Read a ``.ts`` classification file.

    Returns ``(series, labels, class_names)``: ``series[i]`` is a ``(T_i, D)`` float64 array,
    ``labels`` an int64 array of indices into ``class_names`` (ordered as in ``@classLabel``).
    ``missing='error'`` (default) rejects ``?`` values; ``missing='nan'`` loads them as NaN.
    Any malformed line raises :class:`InputError` naming the file and line number.
    """
    if missing not in ("error", "nan"):
        raise InputError(f"missing: expected 'error' or 'nan', got {missing!r}")
    path = pathlib.Path(path)
    if not path.is_file():
        raise DataNotFoundError(f"{path}: expected a .ts file, found nothing at that path")
    header: dict[str, Any] = {}
    class_names: list[str] | None = None
    series: list[np.ndarray] = []
    labels: list[int] = []
    in_data = False
    try:
        blob = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    lines = decode_utf8(blob, path).splitlines()
    for lineno, raw in enumerate(lines, start=1):
        line = raw.strip()
        where = f"{path}: line {lineno}"
        if not line or line.startswith("#"):
            continue
        if not in_data:
            if not line.startswith("@"):
                raise InputError(f"{where}: expected a '@tag' header line or '@data' before the "
                                 f"data, found {line[:40]!r}")
            tag, _, rest = line.partition(" ")
            tag = tag.lower()
            if tag == "@data":
                if class_names is None:
                    raise InputError(f"{where}: expected '@classLabel true <labels...>' before "
                                     "@data, found no @classLabel tag")
                in_data = True
            elif tag == "@classlabel":
                words = rest.split()
                if not words or not _parse_bool(words[0], "@classLabel", where):
                    raise InputError(f"{where}: expected '@classLabel true <labels...>' "
                                     f"(a classification file), found {line!r}")
                if len(words) < 2 or len(set(words[1:])) != len(words) - 1:
                    raise InputError(f"{where}: expected distinct class labels after "
                                     f"'@classLabel true', found {words[1:]}")
                class_names = words[1:]
            elif tag in ("@timestamps", "@univariate", "@equallength", "@missing"):
                header[tag] = _parse_bool(rest, tag, where)
                if tag == "@timestamps" and header[tag]:
                    raise InputError(f"{where}: files with time stamps are not supported")
            elif tag in ("@dimensions", "@serieslength"):
                header[tag] = _parse_int(rest, tag, where)
            elif tag in ("@problemname", "@targetlabel"):
                header[tag] = rest.strip()
            else:
                raise InputError(f"{where}: unknown header tag {tag!r}")
            continue
        fields = line.split(":")
        if len(fields) < 2:
            raise InputError(f"{where}: expected '<values>[:<values>...]:<label>', found no ':'")
        label = fields[-1].strip()
        if label not in class_names:
            raise InputError(f"{where}: class label {label!r} is not one of the @classLabel "
                             f"labels {class_names}")
        dims = [_parse_dimension(f, f"{where}, dimension {k + 1}", missing)
                for k, f in enumerate(fields[:-1])]
        n_dims = header.get("@dimensions") or (1 if header.get("@univariate") else None)
        if n_dims is None:  # no tag says: every instance must match the first one
            n_dims = series[0].shape[1] if series else len(dims)
        if len(dims) != n_dims:
            raise InputError(f"{where}: expected {n_dims} dimension(s), found {len(dims)}")
        lengths = {d.size for d in dims}
        if len(lengths) != 1:
            raise InputError(f"{where}: expected all dimensions of an instance to have the same "
                             f"length, found lengths {[d.size for d in dims]}")
        length = lengths.pop()
        if header.get("@equallength") and "@serieslength" in header \
                and length != header["@serieslength"]:
            raise InputError(f"{where}: expected @seriesLength {header['@serieslength']} "
                             f"values per dimension, found {length}")
        series.append(np.stack(dims, axis=1))
        labels.append(class_names.index(label))
    if not in_data:
        raise InputError(f"{path}: expected an '@data' line after the header, found none")
    if not series:
        raise InputError(f"{path}: expected at least one instance after @data, found none")
    return series, np.asarray(labels, dtype=np.int64), list(class_names)


def available_ucr(path: str | os.PathLike | None = None) -> list[str]:
    """Names of the data sets with a ``<name>_TRAIN.ts`` in ``path`` or the data folders' ``ucr/``."""
    folders = [pathlib.Path(path)] if path is not None else [d / "ucr" for d in data_dirs()]
    names = set()
    for folder in folders:
        if folder.is_dir():
            names.update(p.name[: -len("_TRAIN.ts")] for p in folder.glob("*_TRAIN.ts"))
    return sorted(names)


def load_ucr(name: str, split: str = "train", path: str | os.PathLike | None = None,
             missing: str = "error") -> tuple[list[np.ndarray], np.ndarray, list[str]]:
    """Load the archive's ``train`` or ``test`` split of UCR/UEA data set ``name``.

    The file ``ucr/{name}_{TRAIN|TEST}.ts`` is found with :func:`find_data_file`; ``path`` may be
    the file itself or a folder holding it. Returns what :func:`load_ts` returns.
    """
    if split not in _SPLITS:
        raise InputError(f"split: expected 'train' or 'test', got {split!r}")
    if not isinstance(name, str) or not name or any(c in name for c in "/\\:") or name.startswith("."):
        raise InputError(f"name: expected a data set name like 'GunPoint', got {name!r}")
    fname = f"{name}_{_SPLITS[split]}.ts"
    try:
        file = find_data_file(f"ucr/{fname}", path=path)
    except DataNotFoundError as exc:
        where = path if path is not None and pathlib.Path(path).is_dir() else None
        avail = available_ucr(where)
        listing = ", ".join(avail) if avail else "none found"
        raise DataNotFoundError(f"UCR data set {name!r} ({fname}) not found; available: "
                                f"{listing}.\n{exc}") from None
    return load_ts(file, missing=missing)
