"""Loader for MNIST in its original gzip-compressed IDX files.

IDX (all integers big-endian): images have magic ``0x00000803``, then count, rows, cols (int32)
and ``count*rows*cols`` uint8 pixels; labels have magic ``0x00000801``, then count and ``count``
uint8 labels 0-9. Files: ``mnist/{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz``.
"""
from __future__ import annotations

import gzip
import os
import pathlib
import struct
import zlib

import numpy as np

from ..errors import InputError
from .paths import find_data_file

_PREFIX = {"train": "train", "test": "t10k"}
IMAGE_MAGIC = 0x00000803
LABEL_MAGIC = 0x00000801


def _read_gz(path: pathlib.Path) -> bytes:
    try:
        with gzip.open(path, "rb") as fh:
            return fh.read()
    except (EOFError, OSError, zlib.error) as exc:
        raise InputError(f"{path}: expected a complete gzip-compressed IDX file, found a truncated "
                         f"or corrupt one ({exc})") from None


def _parse_idx(path: pathlib.Path, magic: int, n_dims: int) -> np.ndarray:
    raw = _read_gz(path)
    header_len = 4 + 4 * n_dims
    if len(raw) < header_len:
        raise InputError(f"{path}: expected an IDX header of {header_len} bytes, found only "
                         f"{len(raw)} bytes")
    found_magic, *shape = struct.unpack(f">{1 + n_dims}I", raw[:header_len])
    if found_magic != magic:
        raise InputError(f"{path}: expected IDX magic number 0x{magic:08x}, found "
                         f"0x{found_magic:08x} (wrong file, or images/labels swapped?)")
    need = int(np.prod(shape, dtype=np.int64))
    have = len(raw) - header_len
    if have != need:
        state = "truncated" if have < need else "has trailing bytes"
        raise InputError(f"{path}: the header announces shape {tuple(shape)} = {need} bytes of "
                         f"data, found {have} bytes (the file {state})")
    return np.frombuffer(raw, dtype=np.uint8, offset=header_len).reshape(shape)


def load_mnist(split: str = "train",
               path: str | os.PathLike | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Load MNIST ``'train'`` (60,000) or ``'test'`` (10,000) images and labels.

    ``path`` is a folder holding the four ``.gz`` files (or an ``mnist/`` folder with them);
    without it they are looked up with :func:`find_data_file`. Returns ``images`` uint8
    ``(N, 28, 28)`` (0 = background, 255 = ink) and ``labels`` uint8 ``(N,)`` in 0..9.
    """
    if split not in _PREFIX:
        raise InputError(f"split: expected 'train' or 'test', got {split!r}")
    prefix = _PREFIX[split]
    img_file = find_data_file(f"mnist/{prefix}-images-idx3-ubyte.gz", path=path)
    lbl_file = find_data_file(f"mnist/{prefix}-labels-idx1-ubyte.gz", path=path)
    images = _parse_idx(img_file, IMAGE_MAGIC, 3)
    labels = _parse_idx(lbl_file, LABEL_MAGIC, 1)
    if images.shape[1:] != (28, 28):
        raise InputError(f"{img_file}: expected 28x28 images, found "
                         f"{images.shape[1]}x{images.shape[2]}")
    if images.shape[0] != labels.shape[0]:
        raise InputError(f"{img_file} holds {images.shape[0]} images but {lbl_file} holds "
                         f"{labels.shape[0]} labels; expected equal counts")
    if labels.size and labels.max() > 9:
        raise InputError(f"{lbl_file}: expected labels 0..9, found {int(labels.max())}")
    # The arrays view an immutable bytes buffer; copy so callers get ordinary writable arrays.
    return images.copy(), labels.copy()
