"""pad_sequences, lengths_from_mask and bucket_batches."""
from __future__ import annotations

import numpy as np
import pytest

from rnnlab.data import bucket_batches, lengths_from_mask, pad_sequences
from rnnlab.errors import InputError
from rnnlab.validation import check_mask


def seqs3():
    return [np.arange(6.0).reshape(3, 2), np.array([[10.0, 11.0]]), np.arange(8.0).reshape(4, 2) + 100]


def test_right_padding_exact():
    x, mask = pad_sequences(seqs3())
    assert x.shape == (3, 4, 2) and x.dtype == np.float32 and mask.dtype == bool
    np.testing.assert_array_equal(x[0], [[0, 1], [2, 3], [4, 5], [0, 0]])
    np.testing.assert_array_equal(x[1], [[10, 11], [0, 0], [0, 0], [0, 0]])
    np.testing.assert_array_equal(x[2], np.arange(8.0).reshape(4, 2) + 100)
    np.testing.assert_array_equal(mask, [[1, 1, 1, 0], [1, 0, 0, 0], [1, 1, 1, 1]])
    check_mask(mask, 3, 4)  # the layers' mask contract accepts it
    np.testing.assert_array_equal(lengths_from_mask(mask), [3, 1, 4])


def test_maxlen_truncation_post_and_pre_and_value():
    x, mask = pad_sequences(seqs3(), maxlen=2, value=-1.0, dtype=np.float64)
    assert x.dtype == np.float64
    np.testing.assert_array_equal(x[:, :, 0], [[0, 2], [10, -1], [100, 102]])
    np.testing.assert_array_equal(mask, [[1, 1], [1, 0], [1, 1]])
    x, _ = pad_sequences(seqs3(), maxlen=2, truncating="pre")
    np.testing.assert_array_equal(x[:, :, 0], [[2, 4], [10, 0], [104, 106]])
    x, mask = pad_sequences(seqs3(), maxlen=6)
    assert x.shape == (3, 6, 2) and mask.sum() == 8


def test_one_dimensional_token_sequences():
    x, mask = pad_sequences([[5, 6, 7], [8]], dtype=np.int64)
    np.testing.assert_array_equal(x, [[5, 6, 7], [8, 0, 0]])
    assert x.dtype == np.int64 and mask.sum() == 4


@pytest.mark.parametrize("seqs, kwargs, match", [
    ([], {}, "non-empty"),
    ([np.zeros((0, 2))], {}, r"seqs\[0\]: expected at least one time step"),
    ([np.zeros((2, 2)), np.zeros((2, 3))], {}, r"seqs\[1\]: expected trailing shape \(2,\)"),
    ([np.array(["a", "b"])], {}, "numeric"),
    ([np.zeros((2, 2))], {"maxlen": 0}, "maxlen"),
    ([np.zeros((2, 2))], {"truncating": "middle"}, "truncating"),
])
def test_pad_errors(seqs, kwargs, match):
    with pytest.raises(InputError, match=match):
        pad_sequences(seqs, **kwargs)


def test_lengths_from_bad_mask():
    with pytest.raises(InputError, match="prefix"):
        lengths_from_mask(np.array([[True, False, True]]))
    with pytest.raises(InputError, match="batch, time"):
        lengths_from_mask(np.ones(3, bool))


def test_buckets_cover_every_index_once_and_group_lengths():
    lengths = np.random.default_rng(5).permutation(400)
    batches = bucket_batches(lengths, batch_size=10, rng=np.random.default_rng(0), n_buckets=10)
    flat = np.concatenate(batches)
    np.testing.assert_array_equal(np.sort(flat), np.arange(400))
    assert all(1 <= b.size <= 10 for b in batches) and len(batches) == 40
    # 10 buckets of 40 consecutive lengths: each batch lies within one bucket
    spans = [lengths[b].max() - lengths[b].min() for b in batches]
    assert max(spans) < 40
    assert len({int(lengths[b].min()) // 40 for b in batches}) == 10
    # the order of batches is shuffled, not sorted by length
    means = [lengths[b].mean() for b in batches]
    assert means != sorted(means)


def test_buckets_are_reproducible_and_seed_dependent():
    lengths = np.random.default_rng(1).integers(1, 50, size=103)
    a = bucket_batches(lengths, 8, np.random.default_rng(42))
    b = bucket_batches(lengths, 8, np.random.default_rng(42))
    c = bucket_batches(lengths, 8, np.random.default_rng(43))
    assert len(a) == len(b) and all(np.array_equal(p, q) for p, q in zip(a, b))
    assert not all(np.array_equal(p, q) for p, q in zip(a, c))
    assert sum(x.size for x in a) == 103


def test_bucket_errors():
    with pytest.raises(InputError, match="Generator"):
        bucket_batches([1, 2, 3], 2, rng=0)
    with pytest.raises(InputError, match="batch_size"):
        bucket_batches([1, 2, 3], 0, np.random.default_rng(0))
    with pytest.raises(InputError, match="lengths"):
        bucket_batches([1.5, 2.0], 2, np.random.default_rng(0))
    with pytest.raises(InputError, match="n_buckets"):
        bucket_batches([1, 2, 3], 2, np.random.default_rng(0), n_buckets=0)
