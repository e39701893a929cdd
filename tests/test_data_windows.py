"""Windows, the chronological PM2.5 split, air-quality bands, and the scalers fitted on train rows."""
from __future__ import annotations

import json

import numpy as np
import pytest

from rnnlab.data import (MinMaxScaler, PM25Data, StandardScaler, chronological_split,
                         chronological_split_pm25, make_windows, pm25_band, window_ends)
from rnnlab.errors import InputError


def hourly_2010_2014() -> PM25Data:
    """A synthetic PM25Data whose every feature and target is the row's year (so leaks show)."""
    t = np.arange("2010-01-01T00", "2015-01-01T00", dtype="datetime64[h]")
    years = t.astype("datetime64[Y]").astype(np.int64) + 1970
    months = t.astype("datetime64[M]").astype(np.int64) % 12 + 1
    days = (t.astype("datetime64[D]") - t.astype("datetime64[M]")).astype(np.int64) + 1
    hours = (t - t.astype("datetime64[D]")).astype(np.int64)
    values = np.column_stack([years, np.arange(t.size)]).astype(np.float64)
    return PM25Data(values=values, feature_names=["year", "row"], pm25=years.astype(np.float64),
                    was_missing=np.zeros(t.size, bool), years=years, months=months, days=days,
                    hours=hours, n_filled=0)


def test_single_horizon_windows_exact():
    values = np.arange(40.0).reshape(20, 2)
    target = np.arange(20) * 10.0
    x, y = make_windows(values, target, steps=3, horizon=2)
    assert x.shape == (16, 3, 2) and y.shape == (16, 1)
    np.testing.assert_array_equal(x[0], values[0:3])
    assert y[0, 0] == target[4]
    ends = window_ends(20, 3, 2)
    np.testing.assert_array_equal(ends, np.arange(2, 18))
    np.testing.assert_array_equal(x[:, -1], values[ends])
    np.testing.assert_array_equal(y[:, 0], target[ends + 2])


def test_multi_horizon_targets_shift_exactly():
    target = np.arange(100.0) ** 2
    x, y = make_windows(target, target, steps=5, horizon=[1, 3, 6])
    assert x.shape == (100 - 4 - 6, 5, 1) and y.shape == (90, 3)
    ends = np.arange(4, 94)
    for k, h in enumerate((1, 3, 6)):
        np.testing.assert_array_equal(y[:, k], target[ends + h])
    x0, y0 = make_windows(target, target, steps=5, horizon=0)
    np.testing.assert_array_equal(y0[:, 0], x0[:, -1, 0])  # horizon 0 = the window's last value


def test_explicit_ends_and_dtype():
    v = np.arange(10.0)
    x, y = make_windows(v, v, 2, 1, ends=[1, 5], dtype=np.float32)
    assert x.dtype == y.dtype == np.float32
    np.testing.assert_array_equal(x[:, :, 0], [[0, 1], [4, 5]])
    np.testing.assert_array_equal(y[:, 0], [2, 6])


@pytest.mark.parametrize("kwargs, match", [
    (dict(steps=0, horizon=1), "steps"),
    (dict(steps=2, horizon=-1), "horizon"),
    (dict(steps=2, horizon=[]), "horizon"),
    (dict(steps=2, horizon=1.5), "horizon"),
    (dict(steps=2, horizon=1, ends=[0]), "ends"),
    (dict(steps=2, horizon=1, ends=[9]), "ends"),
])
def test_bad_window_arguments(kwargs, match):
    v = np.arange(10.0)
    with pytest.raises(InputError, match=match):
        make_windows(v, v, **kwargs)


def test_mismatched_lengths_rejected():
    with pytest.raises(InputError, match="same N"):
        make_windows(np.zeros((10, 2)), np.zeros(9), 2, 1)


def test_chronological_split_never_leaks_later_years():
    data = hourly_2010_2014()
    assert data.values.shape[0] == 43824
    split = chronological_split_pm25(data, steps=48, horizons=(1, 24))
    xtr, ytr = split.windows(data.values, data.pm25, "train")
    xva, yva = split.windows(data.values, data.pm25, "val")
    xte, yte = split.windows(data.values, data.pm25, "test")
    # train: no input and no target from 2013/2014
    assert xtr[..., 0].max() == 2012 and ytr.max() == 2012
    # val targets are 2013; its inputs may reach back into 2012 (context), never into 2014
    assert set(np.unique(yva[:, -1])) == {2013} and xva[..., 0].max() == 2013
    assert xva[..., 0].min() == 2012
    # test targets are 2014; windows straddling New Year 2014 go to test with 2013 context
    assert set(np.unique(yte[:, -1])) == {2014} and xte[..., 0].min() == 2013
    # every window lands in exactly one split, assigned by the year of its last target
    all_ends = window_ends(43824, 48, (1, 24))
    got = np.concatenate([split.train_ends, split.val_ends, split.test_ends])
    np.testing.assert_array_equal(np.sort(got), all_ends)
    # the horizons shift the targets exactly: feature 1 is the row index
    np.testing.assert_array_equal(xte[:, -1, 1] + 24, split.test_ends + 24)
    np.testing.assert_array_equal(data.pm25[split.test_ends + 24], yte[:, 1])
    # scaler-fit rows: [0, train_rows_end) are exactly 2010-2012 and cover every train window
    end = split.train_rows_end
    assert end == 3 * 8760 + 24
    assert data.years[:end].max() == 2012 and data.years[end] == 2013
    assert split.train_ends.max() + 24 < end
    scaler = StandardScaler().fit(data.values[:end])
    np.testing.assert_allclose(scaler.mean_[0], data.years[:end].mean())


def test_split_on_year_arrays_and_straddling_goes_later():
    years = np.repeat([2010, 2011, 2012], 10)
    split = chronological_split(years, steps=3, horizons=2, train_years=[2010],
                                val_years=[2011], test_years=[2012])
    # window ending at row 8 has target row 10 (2011) -> val, though its inputs are all 2010
    assert 8 in split.val_ends and 8 not in split.train_ends
    np.testing.assert_array_equal(split.train_ends, np.arange(2, 8))
    assert split.train_rows_end == 10


def test_split_rejects_unordered_years_and_sets():
    years = np.repeat([2010, 2011, 2012], 10)
    with pytest.raises(InputError, match="chronological"):
        chronological_split(years, 3, 1, [2012], [2011], [2010])
    with pytest.raises(InputError, match="chronological"):
        chronological_split(years, 3, 1, [2010, 2011], [2011], [2012])
    with pytest.raises(InputError, match="time order"):
        chronological_split(years[::-1].copy(), 3, 1, [2010], [2011], [2012])
    with pytest.raises(InputError, match="PM25Data"):
        chronological_split_pm25(np.zeros(3), 3, 1)


def test_pm25_bands_boundaries_go_up():
    vals = [0, 49.9, 50, 99.99, 100, 149, 150, 199.9, 200, 299.9, 300, 1000]
    np.testing.assert_array_equal(pm25_band(vals), [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5])
    assert pm25_band(50) == 1 and isinstance(pm25_band(50), int)
    assert pm25_band(np.array([[10.0, 350.0]])).shape == (1, 2)
    with pytest.raises(InputError, match="NaN"):
        pm25_band([1.0, np.nan])


# --- scalers --------------------------------------------------------------------------------

def test_standard_scaler_values_and_zero_variance():
    x = np.array([[1.0, 5.0, 2.0], [3.0, 5.0, 4.0], [5.0, 5.0, 9.0]])
    s = StandardScaler().fit(x)
    np.testing.assert_allclose(s.mean_, [3.0, 5.0, 5.0])
    np.testing.assert_allclose(s.scale_, [np.sqrt(8 / 3), 1.0, np.sqrt(26 / 3)])
    z = s.transform(x)
    np.testing.assert_allclose(z[:, 1], 0.0)
    np.testing.assert_allclose(z[:, [0, 2]].mean(0), 0.0, atol=1e-12)
    np.testing.assert_allclose(z[:, [0, 2]].std(0), 1.0)
    np.testing.assert_allclose(s.inverse_transform(z), x)


def test_scaler_works_on_windows_and_keeps_float32():
    x = np.random.default_rng(0).normal(3.0, 2.0, size=(50, 7, 4)).astype(np.float32)
    s = StandardScaler().fit(x)
    z = s.transform(x)
    assert z.dtype == np.float32 and z.shape == x.shape
    np.testing.assert_allclose(z.reshape(-1, 4).mean(0), 0.0, atol=1e-5)


def test_minmax_scaler_ranges():
    x = np.array([[0.0, 7.0, -1.0], [10.0, 7.0, 1.0], [5.0, 7.0, 0.0]])
    s = MinMaxScaler().fit(x)
    np.testing.assert_allclose(s.transform(x), [[0, 0, 0], [1, 0, 1], [0.5, 0, 0.5]])
    s2 = MinMaxScaler(feature_range=(-1, 1)).fit(x)
    np.testing.assert_allclose(s2.transform(x), [[-1, -1, -1], [1, -1, 1], [0, -1, 0]])
    np.testing.assert_allclose(s2.inverse_transform(s2.transform(x)), x)
    with pytest.raises(InputError, match="feature_range"):
        MinMaxScaler(feature_range=(1, 0))


@pytest.mark.parametrize("cls", [StandardScaler, MinMaxScaler])
def test_scaler_json_round_trip(cls):
    x = np.random.default_rng(1).normal(size=(20, 3)) * [1, 10, 100]
    s = cls().fit(x)
    restored = cls.from_dict(json.loads(json.dumps(s.to_dict())))
    np.testing.assert_array_equal(restored.transform(x), s.transform(x))


@pytest.mark.parametrize("cls", [StandardScaler, MinMaxScaler])
def test_scaler_errors(cls):
    with pytest.raises(InputError, match="NaN"):
        cls().fit(np.array([[1.0, np.nan]]))
    with pytest.raises(InputError, match="not fitted"):
        cls().transform(np.zeros((2, 2)))
    s = cls().fit(np.arange(6.0).reshape(3, 2))
    with pytest.raises(InputError, match="expected 2 features"):
        s.transform(np.zeros((3, 3)))
    with pytest.raises(InputError, match="NaN"):
        s.transform(np.array([[np.inf, 1.0]]))
    with pytest.raises(InputError, match="type"):
        cls.from_dict({"type": "Other", "offset": [0.0], "scale": [1.0]})
    with pytest.raises(InputError, match="positive 'scale'"):
        cls.from_dict({"type": cls.__name__, "offset": [0.0], "scale": [0.0]})
