"""Data: loaders for the real data sets, windows and splits, scalers, padding, generated tasks.

Files are found with :func:`find_data_file` (explicit path, ``$RNNLAB_DATA``, the per-user cache,
then a checked download where the source allows it); the package ships no data.
"""
from __future__ import annotations

from .mnist import load_mnist
from .padding import bucket_batches, lengths_from_mask, pad_sequences
from .paths import cache_dir, find_data_file
from .pm25 import PM25Data, load_pm25
from .scaling import MinMaxScaler, StandardScaler
from .synthetic import (adding_problem, all_subtraction_pairs, binary_subtraction, echo_signal,
                        first_symbol_task, from_bits, to_bits)
from .ucr import available_ucr, load_ts, load_ucr
from .windows import (ChronoSplit, chronological_split, chronological_split_pm25, make_windows,
                      pm25_band, window_ends)

__all__ = [
    "find_data_file", "cache_dir",
    "load_pm25", "PM25Data",
    "make_windows", "window_ends", "chronological_split", "chronological_split_pm25",
    "ChronoSplit", "pm25_band",
    "StandardScaler", "MinMaxScaler",
    "load_ts", "load_ucr", "available_ucr",
    "load_mnist",
    "pad_sequences", "lengths_from_mask", "bucket_batches",
    "echo_signal", "binary_subtraction", "all_subtraction_pairs", "to_bits", "from_bits",
    "adding_problem", "first_symbol_task",
]
