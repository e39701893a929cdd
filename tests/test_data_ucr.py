"""load_ts / load_ucr on small .ts files, and on the real UCR/UEA copies."""
from __future__ import annotations

import pathlib

import numpy as np
import pytest

from _datadir import isolated_env, use_real_data  # noqa: F401  (fixture)
from rnnlab.data import available_ucr, load_ts, load_ucr
from rnnlab.errors import DataNotFoundError, InputError

UNI = """# a comment
#another
@problemName Tiny
@timeStamps false
@univariate true
@equalLength true
@seriesLength 3
@classLabel true b a
@data
1,2,3:a
4.5,-5,6e1:b

7,8,9:a
"""

MULTI = """@problemName Multi
@univariate false
@dimensions 2
@equalLength false
@classLabel true x y z
@data
1,2:3,4:z
5,6,7:8,9,10:x
"""


def write(tmp: pathlib.Path, text: str, name: str = "t.ts") -> pathlib.Path:
    p = tmp / name
    p.write_text(text)
    return p


def test_univariate_values_labels_and_class_order(tmp_path):
    series, labels, names = load_ts(write(tmp_path, UNI))
    assert names == ["b", "a"]                       # order of @classLabel, not sorted
    np.testing.assert_array_equal(labels, [1, 0, 1])
    assert labels.dtype == np.int64
    assert [s.shape for s in series] == [(3, 1)] * 3
    np.testing.assert_array_equal(series[1][:, 0], [4.5, -5.0, 60.0])
    assert series[0].dtype == np.float64


def test_multivariate_unequal_lengths(tmp_path):
    series, labels, names = load_ts(write(tmp_path, MULTI))
    assert names == ["x", "y", "z"]
    np.testing.assert_array_equal(labels, [2, 0])
    np.testing.assert_array_equal(series[0], [[1, 3], [2, 4]])
    np.testing.assert_array_equal(series[1], [[5, 8], [6, 9], [7, 10]])


def test_missing_values_error_or_nan(tmp_path):
    p = write(tmp_path, UNI.replace("7,8,9:a", "7,?,9:a"))
    with pytest.raises(InputError, match=r"line 13, dimension 1: value 2 is missing"):
        load_ts(p)
    series, _, _ = load_ts(p, missing="nan")
    assert series[2][0, 0] == 7 and np.isnan(series[2][1, 0]) and series[2][2, 0] == 9
    with pytest.raises(InputError, match="missing"):
        load_ts(p, missing="zero")


@pytest.mark.parametrize("old, new, match", [
    ("4.5,-5,6e1:b", "4.5,abc,6:b", r"line 11, dimension 1: value 2 should be a number"),
    ("4.5,-5,6e1:b", "4.5,,6:b", r"line 11.*value 2"),
    ("4.5,-5,6e1:b", "4.5,-5,6e1:c", r"line 11: class label 'c' is not one of"),
    ("4.5,-5,6e1:b", "4.5,-5,6e1", r"line 11: expected .*no ':'"),
    ("4.5,-5,6e1:b", "4.5,-5:b", r"line 11: expected @seriesLength 3 values per dimension, found 2"),
    ("4.5,-5,6e1:b", "4.5,-5,6:1,2,3:b", r"line 11: expected 1 dimension\(s\), found 2"),
    ("4.5,-5,6e1:b", "4.5,nan,6:b", r"line 11.*'nan'"),
    ("@univariate true", "@univariate maybe", r"line 5: @univariate expects 'true' or 'false'"),
    ("@seriesLength 3", "@seriesLength three", r"line 7: @serieslength expects a positive integer"),
    ("@problemName Tiny", "@frobnicate Tiny", r"line 3: unknown header tag '@frobnicate'"),
    ("@classLabel true b a", "@classLabel false", r"line 8: expected '@classLabel true"),
    ("@classLabel true b a", "@classLabel true b b", r"line 8: expected distinct class labels"),
    ("@timeStamps false", "@timeStamps true", r"line 4: files with time stamps"),
    ("@classLabel true b a\n", "", r"line 8: expected '@classLabel true <labels...>' before @data"),
    ("@data\n", "", r"line 9: expected a '@tag' header line"),
])
def test_malformed_files_name_the_line(tmp_path, old, new, match):
    assert old in UNI
    with pytest.raises(InputError, match=match):
        load_ts(write(tmp_path, UNI.replace(old, new)))


def test_unequal_dimension_lengths_and_dimension_count(tmp_path):
    with pytest.raises(InputError, match=r"line 8: expected all dimensions .* lengths \[3, 2\]"):
        load_ts(write(tmp_path, MULTI.replace("5,6,7:8,9,10:x", "5,6,7:8,9:x")))
    with pytest.raises(InputError, match=r"line 8: expected 2 dimension\(s\), found 1"):
        load_ts(write(tmp_path, MULTI.replace("5,6,7:8,9,10:x", "5,6,7:x"), "b.ts"))


def test_no_data_section(tmp_path):
    with pytest.raises(InputError, match="@data"):
        load_ts(write(tmp_path, UNI.split("@data")[0]))
    with pytest.raises(InputError, match="at least one instance"):
        load_ts(write(tmp_path, UNI.split("@data")[0] + "@data\n", "b.ts"))


def test_load_ucr_resolution_and_errors(isolated_env, monkeypatch):
    root = isolated_env / "data"
    (root / "ucr").mkdir(parents=True)
    write(root / "ucr", UNI, "Tiny_TRAIN.ts")
    write(root / "ucr", MULTI, "Multi_TRAIN.ts")
    monkeypatch.setenv("RNNLAB_DATA", str(root))
    series, labels, names = load_ucr("Tiny")
    assert len(series) == 3 and names == ["b", "a"]
    assert available_ucr() == ["Multi", "Tiny"]
    # explicit folder, explicit file
    assert len(load_ucr("Multi", path=root / "ucr")[0]) == 2
    assert len(load_ucr("Multi", path=root / "ucr" / "Multi_TRAIN.ts")[0]) == 2
    with pytest.raises(DataNotFoundError) as info:
        load_ucr("Tiny", split="test")
    assert "Tiny_TEST.ts" in str(info.value) and "available: Multi, Tiny" in str(info.value)
    with pytest.raises(DataNotFoundError, match="available: Multi, Tiny"):
        load_ucr("Nope")
    with pytest.raises(InputError, match="split"):
        load_ucr("Tiny", split="val")
    with pytest.raises(InputError, match="name"):
        load_ucr("../Tiny")


@pytest.fixture
def real_ucr(monkeypatch, tmp_path):
    return use_real_data(monkeypatch, tmp_path, "ucr/JapaneseVowels_TRAIN.ts",
                         "ucr/JapaneseVowels_TEST.ts", "ucr/GunPoint_TRAIN.ts",
                         "ucr/GunPoint_TEST.ts")


def test_real_japanese_vowels(real_ucr):
    for split, n, longest, counts in [("train", 270, 26, [30] * 9),
                                      ("test", 370, 29, [31, 35, 88, 44, 29, 24, 40, 50, 29])]:
        series, labels, names = load_ucr("JapaneseVowels", split)
        assert len(series) == n == labels.size
        assert names == [str(k) for k in range(1, 10)]
        assert {s.shape[1] for s in series} == {12}
        lengths = [s.shape[0] for s in series]
        assert min(lengths) == 7 and max(lengths) == longest
        np.testing.assert_array_equal(np.bincount(labels), counts)
    series, _, _ = load_ucr("JapaneseVowels", "train")
    assert series[0][0, 0] == pytest.approx(1.860936)


def test_real_gunpoint(real_ucr):
    tr, ltr, names = load_ucr("GunPoint", "train")
    te, lte, _ = load_ucr("GunPoint", "test")
    assert names == ["1", "2"]
    assert np.stack(tr).shape == (50, 150, 1) and np.stack(te).shape == (150, 150, 1)
    np.testing.assert_array_equal(np.bincount(ltr), [24, 26])
    np.testing.assert_array_equal(np.bincount(lte), [76, 74])
    assert tr[0][0, 0] == pytest.approx(-0.6478854)
