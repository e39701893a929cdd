"""load_mnist on tiny hand-made IDX files, and on the real MNIST copies."""
from __future__ import annotations

import gzip
import pathlib
import struct

import numpy as np
import pytest

from _datadir import isolated_env, use_real_data  # noqa: F401  (fixture)
from rnnlab.data import load_mnist
from rnnlab.errors import DataNotFoundError, InputError


def idx_bytes(magic: int, arr: np.ndarray, count: int | None = None) -> bytes:
    shape = list(arr.shape)
    if count is not None:
        shape[0] = count
    return struct.pack(f">{1 + len(shape)}I", magic, *shape) + arr.astype(np.uint8).tobytes()


def write_set(folder: pathlib.Path, prefix: str, images: np.ndarray, labels: np.ndarray,
              img_raw: bytes | None = None, lbl_raw: bytes | None = None) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    img_raw = idx_bytes(0x803, images) if img_raw is None else img_raw
    lbl_raw = idx_bytes(0x801, labels) if lbl_raw is None else lbl_raw
    (folder / f"{prefix}-images-idx3-ubyte.gz").write_bytes(gzip.compress(img_raw))
    (folder / f"{prefix}-labels-idx1-ubyte.gz").write_bytes(gzip.compress(lbl_raw))


@pytest.fixture
def tiny():
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, size=(3, 28, 28)).astype(np.uint8), np.array([7, 0, 9], np.uint8)


def test_reads_exact_arrays_from_a_folder(isolated_env, tiny):
    images, labels = tiny
    write_set(isolated_env / "m", "t10k", images, labels)
    got_img, got_lbl = load_mnist("test", path=isolated_env / "m")
    assert got_img.dtype == np.uint8 and got_lbl.dtype == np.uint8
    np.testing.assert_array_equal(got_img, images)
    np.testing.assert_array_equal(got_lbl, labels)
    got_img[0, 0, 0] = 1  # writable copy, not a view of a bytes buffer


def test_found_through_rnnlab_data(isolated_env, monkeypatch, tiny):
    write_set(isolated_env / "d" / "mnist", "train", *tiny)
    monkeypatch.setenv("RNNLAB_DATA", str(isolated_env / "d"))
    np.testing.assert_array_equal(load_mnist()[1], tiny[1])


def test_swapped_magic_number(isolated_env, tiny):
    images, labels = tiny
    write_set(isolated_env, "train", images, labels, img_raw=idx_bytes(0x801, images))
    with pytest.raises(InputError, match="magic number 0x00000803, found 0x00000801"):
        load_mnist("train", path=isolated_env)


def test_count_larger_than_data_is_truncation(isolated_env, tiny):
    images, labels = tiny
    write_set(isolated_env, "train", images, labels, img_raw=idx_bytes(0x803, images, count=5))
    with pytest.raises(InputError, match=r"\(5, 28, 28\) = 3920 bytes.*found 2352 bytes.*truncated"):
        load_mnist("train", path=isolated_env)


def test_truncated_gzip_stream(isolated_env, tiny):
    write_set(isolated_env, "train", *tiny)
    f = isolated_env / "train-images-idx3-ubyte.gz"
    f.write_bytes(f.read_bytes()[:-200])
    with pytest.raises(InputError, match="train-images-idx3-ubyte.gz.*truncated or corrupt"):
        load_mnist("train", path=isolated_env)
    f.write_bytes(b"not gzip at all")
    with pytest.raises(InputError, match="truncated or corrupt"):
        load_mnist("train", path=isolated_env)


def test_short_header(isolated_env, tiny):
    write_set(isolated_env, "train", *tiny, lbl_raw=b"\x00\x00")
    with pytest.raises(InputError, match="IDX header of 8 bytes, found only 2"):
        load_mnist("train", path=isolated_env)


def test_image_label_count_mismatch_and_bad_labels(isolated_env, tiny):
    images, labels = tiny
    write_set(isolated_env / "a", "train", images, labels[:2])
    with pytest.raises(InputError, match="3 images but .* 2 labels"):
        load_mnist("train", path=isolated_env / "a")
    write_set(isolated_env / "b", "train", images, np.array([1, 2, 12], np.uint8))
    with pytest.raises(InputError, match="labels 0..9, found 12"):
        load_mnist("train", path=isolated_env / "b")
    write_set(isolated_env / "c", "train", images[:, :, :14], labels)
    with pytest.raises(InputError, match="28x28 images, found 28x14"):
        load_mnist("train", path=isolated_env / "c")


def test_bad_split_and_missing_files(isolated_env):
    with pytest.raises(InputError, match="split"):
        load_mnist("validation")
    with pytest.raises(DataNotFoundError, match="mnist/train-images-idx3-ubyte.gz"):
        load_mnist("train")


def test_real_mnist(monkeypatch, tmp_path):
    use_real_data(monkeypatch, tmp_path, *(f"mnist/{p}-{k}-ubyte.gz" for p in ("train", "t10k")
                                           for k in ("images-idx3", "labels-idx1")))
    images, labels = load_mnist("train")
    assert images.shape == (60000, 28, 28) and labels.shape == (60000,)
    assert labels[0] == 5
    np.testing.assert_array_equal(np.bincount(labels),
                                  [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949])
    images, labels = load_mnist("test")
    assert images.shape == (10000, 28, 28) and labels[0] == 7
    assert images.max() == 255 and images.min() == 0
