"""Published test accuracies on the UCR/UEA sets, and the per-data-set defaults of this task."""
from __future__ import annotations

from typing import Any

#: Published test accuracies, copied from ``shared/data/ucr/README.md`` (fractions; None = no figure).
#: 1-NN ED / 1-NN DTW (full window; dependent multivariate DTW for JapaneseVowels and BasicMotions):
#: the UCR 2018 archive summary, Dau et al. (2019) and the UEA archive, Bagnall et al. (2018).
#: FCN / ResNet / TWIESN / MLP: Ismail Fawaz et al. (2019), "Deep learning for time series
#: classification: a review", DMKD 33(4):917-963, mean of 10 runs (hfawaz/dl-4-tsc results files
#: at commit eb2953eed95bc74dabf4ea61794dc16e5f6f8f1f).
PUBLISHED: dict[str, dict[str, float | None]] = {
    "GunPoint":         {"1nn_ed": 0.913, "1nn_dtw": 0.907, "fcn": 1.000, "resnet": 0.991, "twiesn": 0.961, "mlp": 0.927},
    "ItalyPowerDemand": {"1nn_ed": 0.955, "1nn_dtw": 0.950, "fcn": 0.961, "resnet": 0.963, "twiesn": 0.880, "mlp": 0.954},
    "ArrowHead":        {"1nn_ed": 0.800, "1nn_dtw": 0.703, "fcn": 0.843, "resnet": 0.845, "twiesn": 0.659, "mlp": 0.778},
    "JapaneseVowels":   {"1nn_ed": None, "1nn_dtw": 0.949, "fcn": 0.993, "resnet": 0.992, "twiesn": 0.965, "mlp": 0.976},
    "BasicMotions":     {"1nn_ed": None, "1nn_dtw": 0.975, "fcn": None, "resnet": None, "twiesn": None, "mlp": None},
}
PUBLISHED_SOURCE = ("shared/data/ucr/README.md: 1-NN ED/DTW from the UCR 2018 archive (Dau et al. 2019) and "
                    "the UEA multivariate archive (Bagnall et al. 2018, dependent full-window DTW); "
                    "FCN/ResNet/TWIESN/MLP from Ismail Fawaz et al. 2019 (DMKD 33:917-963), mean of 10 runs")

#: Per-data-set defaults for the options left unset on the command line.
#: (Chosen on the validation sets and a few seeds; see docs/tasks_mnist_ucr.md.)
DATASET_DEFAULTS: dict[str, dict[str, Any]] = {
    "JapaneseVowels": {"frame": 1},      # 7-29 steps x 12
    "BasicMotions": {"frame": 4},        # 100 x 6  -> 25 x 24
    "GunPoint": {"frame": 10},           # 150 x 1  -> 15 x 10
    "ItalyPowerDemand": {"frame": 1},    # 24 x 1
    "ArrowHead": {"frame": 8},           # 251 x 1  -> 32 x 8
}
FALLBACK_DEFAULTS: dict[str, Any] = {"frame": 1}
