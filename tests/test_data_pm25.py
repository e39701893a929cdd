"""load_pm25 on small hand-written CSV files, and once on the real file."""
from __future__ import annotations

import math
import pathlib

import numpy as np
import pytest

from _datadir import isolated_env, use_real_data  # noqa: F401  (fixture)
from rnnlab.data import PM25Data, load_pm25
from rnnlab.data.pm25 import FEATURE_NAMES, cumulative_to_hourly
from rnnlab.errors import DataNotFoundError, InputError

HEADER = "No,year,month,day,hour,pm2.5,DEWP,TEMP,PRES,cbwd,Iws,Is,Ir"
# hour: pm2.5  cbwd  Iws    Is  Ir
ROWS = [
    "1,2010,1,1,0,NA,-21,-11,1021,NW,1.79,0,0",
    "2,2010,1,1,1,NA,-21,-12,1020,NW,4.92,0,0",
    "3,2010,1,1,2,10,-21,-11,1019,NW,6.71,0,0",
    "4,2010,1,1,3,NA,-20,-14,1019,SE,1.79,1,0",
    "5,2010,1,1,4,NA,-20,-12,1018,SE,2.68,2,0",
    "6,2010,1,1,5,40,-19,-10,1017,cv,0.89,0,1",
    "7,2010,1,1,6,50,-19,-10,1017,cv,1.78,13,2",
    "8,2010,1,1,7,NA,-18,-9,1016,NE,0.89,15,3",
    "9,2010,1,1,8,NA,-18,-9,1016,NE,1.78,1,0",
]


def write_csv(tmp: pathlib.Path, rows=ROWS, header=HEADER, name="pm.csv") -> pathlib.Path:
    p = tmp / name
    p.write_text("\n".join([header, *rows]) + "\n")
    return p


def col(data: PM25Data, name: str) -> np.ndarray:
    return data.values[:, data.feature_names.index(name)]


@pytest.fixture
def small(isolated_env) -> PM25Data:
    return load_pm25(write_csv(isolated_env))


def test_shapes_and_names(small):
    assert small.values.shape == (9, 15) and small.values.dtype == np.float64
    assert small.feature_names == list(FEATURE_NAMES)
    assert small.feature_names[:4] == ["pm2.5", "DEWP", "TEMP", "PRES"]
    np.testing.assert_array_equal(small.years, [2010] * 9)
    np.testing.assert_array_equal(small.hours, np.arange(9))
    np.testing.assert_array_equal(small.days, [1] * 9)
    np.testing.assert_array_equal(col(small, "TEMP"), [-11, -12, -11, -14, -12, -10, -10, -9, -9])


def test_gaps_interpolated_backfilled_and_forward_filled(small):
    # leading NA -> first value (10); 10 .. 40 over 3 h -> 20, 30; trailing NA -> last value (50)
    np.testing.assert_allclose(small.pm25, [10, 10, 10, 20, 30, 40, 50, 50, 50], rtol=0, atol=1e-12)
    np.testing.assert_array_equal(small.was_missing,
                                  [True, True, False, True, True, False, False, True, True])
    assert small.n_filled == 6
    np.testing.assert_array_equal(col(small, "pm2.5"), small.pm25)


def test_interpolation_uses_time_not_row_order(isolated_env):
    rows = ["1,2010,1,1,0,10,0,0,1000,cv,0.89,0,0",
            "2,2010,1,1,1,NA,0,0,1000,cv,1.78,0,0",
            "3,2010,1,1,4,40,0,0,1000,cv,2.67,0,0"]  # hours 2 and 3 absent from the file
    d = load_pm25(write_csv(isolated_env, rows))
    np.testing.assert_allclose(d.pm25, [10, 17.5, 40])
    assert d.n_filled == 1


def test_wind_one_hot(small):
    onehot = small.values[:, 4:8]
    assert small.feature_names[4:8] == ["wind_NE", "wind_NW", "wind_SE", "wind_cv"]
    expected_codes = [1, 1, 1, 2, 2, 3, 3, 0, 0]  # NW NW NW SE SE cv cv NE NE
    np.testing.assert_array_equal(onehot, np.eye(4)[expected_codes])


def test_cumulative_hours_become_increments(small):
    # Iws runs restart when the wind direction changes; Is/Ir when the total drops or was 0.
    np.testing.assert_allclose(col(small, "Iws_hourly"),
                               [1.79, 3.13, 1.79, 1.79, 0.89, 0.89, 0.89, 0.89, 0.89], atol=1e-9)
    np.testing.assert_allclose(col(small, "Is_hourly"), [0, 0, 0, 1, 1, 0, 13, 2, 1], atol=1e-12)
    np.testing.assert_allclose(col(small, "Ir_hourly"), [0, 0, 0, 0, 0, 1, 1, 1, 0], atol=1e-12)


def test_cumulative_rule_directly():
    np.testing.assert_allclose(cumulative_to_hourly([0, 1, 2, 5, 0, 3, 1, 2]),
                               [0, 1, 1, 3, 0, 3, 1, 1])
    same = np.array([False, True, False, True])
    np.testing.assert_allclose(cumulative_to_hourly([2.0, 5.0, 7.0, 8.0], same), [2, 3, 7, 1])


def test_calendar_features(isolated_env):
    rows = ["1,2010,1,1,6,1,0,0,1000,cv,0.89,0,0",     # doy 1, hour 6
            "2,2010,7,2,12,1,0,0,1000,cv,1.78,0,0",    # doy 183 of 365
            "3,2012,12,31,18,1,0,0,1000,cv,2.67,0,0"]  # doy 366 of 366 (leap year)
    d = load_pm25(write_csv(isolated_env, rows))
    np.testing.assert_allclose(col(d, "hour_sin"), [1, 0, -1], atol=1e-12)
    np.testing.assert_allclose(col(d, "hour_cos"), [0, -1, 0], atol=1e-12)
    angles = 2 * np.pi * np.array([0 / 365, 182 / 365, 365 / 366])
    np.testing.assert_allclose(col(d, "doy_sin"), np.sin(angles), atol=1e-12)
    np.testing.assert_allclose(col(d, "doy_cos"), np.cos(angles), atol=1e-12)


def test_wrong_header_names_the_columns(isolated_env):
    bad = HEADER.replace("DEWP", "DEW")
    with pytest.raises(InputError) as info:
        load_pm25(write_csv(isolated_env, header=bad))
    assert "'DEWP'" in str(info.value) and "'DEW'" in str(info.value)
    assert "pm.csv" in str(info.value)


def test_missing_column_named(isolated_env):
    header = HEADER.rsplit(",", 1)[0]  # drop Ir
    rows = [r.rsplit(",", 1)[0] for r in ROWS]
    with pytest.raises(InputError, match=r"missing column\(s\) \['Ir'\]"):
        load_pm25(write_csv(isolated_env, rows, header))


def test_non_numeric_cell_names_row_and_column(isolated_env):
    rows = list(ROWS)
    rows[2] = "3,2010,1,1,2,10,-21,abc,1019,NW,6.71,0,0"
    with pytest.raises(InputError) as info:
        load_pm25(write_csv(isolated_env, rows))
    msg = str(info.value)
    assert "line 4" in msg and "data row 3" in msg and "'TEMP'" in msg and "'abc'" in msg


def test_na_outside_pm25_rejected(isolated_env):
    rows = list(ROWS)
    rows[4] = "5,2010,1,1,4,NA,-20,-12,NA,SE,2.68,2,0"
    with pytest.raises(InputError, match=r"data row 5\), column 'PRES'.*only pm2.5 may be NA"):
        load_pm25(write_csv(isolated_env, rows))


def test_non_integer_hour_rejected(isolated_env):
    rows = list(ROWS)
    rows[1] = "2,2010,1,1,1.5,NA,-21,-12,1020,NW,4.92,0,0"
    with pytest.raises(InputError, match=r"data row 2\), column 'hour': expected an integer"):
        load_pm25(write_csv(isolated_env, rows))


def test_unknown_wind_code(isolated_env):
    rows = list(ROWS)
    rows[5] = "6,2010,1,1,5,40,-19,-10,1017,SW,0.89,0,1"
    with pytest.raises(InputError) as info:
        load_pm25(write_csv(isolated_env, rows))
    msg = str(info.value)
    assert "'cbwd'" in msg and "'SW'" in msg and "data row 6" in msg and "'cv'" in msg


def test_wrong_field_count(isolated_env):
    rows = list(ROWS)
    rows[3] = "4,2010,1,1,3,NA,-20,-14,1019,SE,1.79,1"
    with pytest.raises(InputError, match="line 5 .*expected 13 comma-separated fields, found 12"):
        load_pm25(write_csv(isolated_env, rows))


def test_time_order_and_dates_checked(isolated_env):
    rows = list(ROWS)
    rows[3], rows[4] = rows[4], rows[3]
    with pytest.raises(InputError, match="strictly increasing time"):
        load_pm25(write_csv(isolated_env, rows, name="a.csv"))
    rows = ["1,2010,2,30,0,1,0,0,1000,cv,0.89,0,0"]
    with pytest.raises(InputError, match="2010/2/30 is not a valid date"):
        load_pm25(write_csv(isolated_env, rows, name="b.csv"))


def test_empty_and_all_na_files(isolated_env):
    (isolated_env / "empty.csv").write_text("")
    with pytest.raises(InputError, match="empty"):
        load_pm25(isolated_env / "empty.csv")
    with pytest.raises(InputError, match="no data|at least one data row"):
        load_pm25(write_csv(isolated_env, [], name="hdr.csv"))
    rows = [r.replace(",10,", ",NA,").replace(",40,", ",NA,").replace(",50,", ",NA,") for r in ROWS]
    with pytest.raises(InputError, match="all 9 are NA"):
        load_pm25(write_csv(isolated_env, rows, name="na.csv"))


def test_missing_explicit_file(isolated_env):
    with pytest.raises(DataNotFoundError, match="nothere.csv"):
        load_pm25(isolated_env / "nothere.csv")


@pytest.fixture(scope="module")
def real(tmp_path_factory) -> PM25Data:
    with pytest.MonkeyPatch.context() as mp:
        use_real_data(mp, tmp_path_factory.mktemp("pm25"), "PM25_data.csv")
        return load_pm25()


def test_real_file_counts(real):
    assert real.values.shape == (43824, 15)
    assert real.n_filled == 2067 == int(real.was_missing.sum())
    assert np.all(np.isfinite(real.values))
    np.testing.assert_array_equal(np.bincount(real.years - 2010), [8760, 8760, 8784, 8760, 8760])
    # the first 24 hours are NA and back-filled with the first observation (129 at 2010-01-02 0h)
    assert real.was_missing[:24].all() and not real.was_missing[24]
    np.testing.assert_array_equal(real.pm25[:25], [129.0] * 25)
    np.testing.assert_array_equal(real.values[:, 4:8].sum(axis=0), [4997, 14150, 15290, 9387])
    assert math.isclose(real.values[1, 8], 4.92 - 1.79)  # NW 1.79 -> NW 4.92
