"""``rnnlab run pm25`` options, their checks, and the reference implementation's figures."""
from __future__ import annotations

import datetime
import math
from dataclasses import dataclass

from ...errors import InputError
from ..config import CELL_CHOICES, TaskConfig, check_config, option

NAME = "pm25"
SUMMARY = ("Beijing PM2.5: regression or 6-band softmax h hours ahead, chronological split, "
           "baselines beside every number (lecture case 3)")
N_CLASSES = 6
BAND_NAMES = ("<50", "50-100", "100-150", "150-200", "200-300", ">=300")
#: The reference implementation's published figures (ai-edu ch. 19.4 table 19-8 and ch. 19.6).
#: Its "accuracy" for regression is R² on min-max-scaled values with scalers fitted on train +
#: test, forecasts made recursively with the observed future weather, and (as we read its code)
#: pooled over the lead times 1..h of each block of h hours.
REFERENCE = {
    "source": "ai-edu ch. 19.4 (single layer, hidden 4, 24 steps) and 19.6 (deep RNN)",
    "r2_single_layer": {"1": 0.940090, "2": 0.907291, "4": 0.846447, "8": 0.737769},
    "r2_deep": {"1": 0.946, "2": 0.915, "4": 0.856, "8": 0.741},
    "classification_accuracy_about": 0.60,
    "note": "leaky evaluation: scalers fitted on train + test, validation drawn from training "
            "windows; R² pooled over lead times 1..h with observed future weather",
}
WEATHER = ("DEWP", "TEMP", "PRES", "wind_NE", "wind_NW", "wind_SE", "wind_cv",
           "Iws_hourly", "Is_hourly", "Ir_hourly")
CALENDAR = ("hour_sin", "hour_cos", "doy_sin", "doy_cos")


@dataclass
class Config(TaskConfig):
    head: str = option("regression", "regression (MSE on pm2.5) or classification (6 bands, softmax + CE)",
                       choices=("regression", "classification"))
    cell: str = option("rnn", "recurrent cell", choices=CELL_CHOICES)
    hidden: int = option(32, "hidden units per recurrent layer")
    layers: int = option(1, "stacked recurrent layers (2 = deep)")
    steps: int = option(24, "time steps per window, hours")
    horizon: str = option("1 2 4 8", "hours ahead to predict and report, e.g. '1 2 4 8' or 1,2,4,8")
    strategy: str = option("direct", "regression: one output per lead time (direct) or a one-step model fed "
                                     "its own predictions (recursive, the reference's scheme); classification "
                                     "is always direct, one model per horizon", choices=("direct", "recursive"))
    recursive_weather: str = option("last", "recursive: future weather held at the last observed value (a real "
                                            "forecast), or read from the file as the reference did (not a "
                                            "forecast). Both rollouts are always scored; this picks the headline",
                                    choices=("last", "observed"))
    target: str = option("residual", "regression target: change from the last observed value, or the value",
                         choices=("residual", "level"))
    transform: str = option("none", "transform g of pm2.5 (input column and target) before scaling: none (MSE "
                                    "on pm2.5 is what RMSE in µg/m³ scores) or log1p (trains for the median)",
                            choices=("none", "log1p"))
    epochs: int = option(40, "maximum training epochs")
    batch_size: int = option(128, "mini-batch size")
    lr: float = option(2e-3, "Adam learning rate")
    patience: int = option(6, "early-stopping patience on val_loss (0: no early stopping)")
    clipnorm: float = option(1.0, "global gradient-norm clip")
    train_years: str = option("2010 2011 2012", "training years")
    val_years: str = option("2013", "validation years (early stopping, model selection)")
    test_years: str = option("2014", "test years")
    data: str | None = option(None, "the PM2.5 CSV or a folder holding PM25_data.csv", none="$RNNLAB_DATA")
    plot_start: str = option("2014-02-15", "first day of the prediction plot, YYYY-MM-DD")
    plot_days: int = option(14, "days in the prediction plot")
    report: bool = option(False, "run the full grid (heads x cells x horizons + deep + recursive) and write "
                                 "report.md; see --jobs")
    jobs: int = option(2, "--report: runs in parallel processes")
    threads: int | None = option(None, "BLAS threads (0 leaves BLAS alone)", none="1, or $RNNLAB_BLAS_THREADS if set")


def int_list(text: str | list | tuple, name: str) -> list[int]:
    """``"1 2 4"`` or ``"1,2,4"`` (or a list) -> ``[1, 2, 4]``; InputError naming the option."""
    items = text if isinstance(text, (list, tuple)) else str(text).replace(",", " ").split()
    try:
        out = [int(t) for t in items]
    except (TypeError, ValueError):
        raise InputError(f"--{name.replace('_', '-')}: expected integers like '1 2 4', got {text!r}") from None
    if not out:
        raise InputError(f"--{name.replace('_', '-')}: expected at least one value")
    return out


def horizons(cfg: Config) -> list[int]:
    return sorted(int_list(cfg.horizon, "horizon"))


def years(cfg: Config, split: str) -> list[int]:
    """``split`` in train/val/test: that split's years."""
    return int_list(getattr(cfg, f"{split}_years"), f"{split}_years")


def parse_day(text: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(str(text))
    except ValueError:
        raise InputError(f"--plot-start: expected a date YYYY-MM-DD, got {text!r}") from None


def check(cfg: Config) -> None:
    """Reject bad options with an InputError (naming the option) before any work starts."""
    check_config(cfg)

    def positive_int(name: str) -> None:
        v = getattr(cfg, name)
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise InputError(f"--{name.replace('_', '-')}: expected a positive integer, got {v!r}")
    for name in ("epochs", "batch_size", "hidden", "layers", "steps", "plot_days", "jobs"):
        positive_int(name)
    if cfg.threads is not None and cfg.threads < 0:
        raise InputError(f"--threads: expected an integer >= 0 (0 leaves BLAS alone), got {cfg.threads}")
    if cfg.patience < 0:
        raise InputError(f"--patience: expected an integer >= 0, got {cfg.patience}")
    for name in ("lr", "clipnorm"):
        v = getattr(cfg, name)
        if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
            raise InputError(f"--{name}: expected a finite number > 0, got {v!r}")
    h = int_list(cfg.horizon, "horizon")
    if any(x < 1 for x in h):
        raise InputError(f"--horizon: expected positive integers (hours ahead), got {h!r}")
    if len(set(h)) != len(h):
        raise InputError(f"--horizon: expected distinct hours, got {h!r}")
    if max(h) > 168:
        raise InputError(f"--horizon: at most 168 hours (a week) ahead, got {max(h)}")
    if cfg.steps > 24 * 14:
        raise InputError(f"--steps: at most {24 * 14} hours (two weeks) per window, got {cfg.steps}")
    ty, vy, sy = years(cfg, "train"), years(cfg, "val"), years(cfg, "test")
    if not (max(ty) < min(vy) and max(vy) < min(sy)):
        raise InputError(f"expected chronological year sets train < validation < test, got "
                         f"train {ty}, validation {vy}, test {sy}")
    parse_day(cfg.plot_start)
