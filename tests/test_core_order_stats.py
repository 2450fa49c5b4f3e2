"""Exact order statistics (core/order_stats.py) against a plain sort: the percentile ranks of every
depth picture and the median of every sample's stats come from here."""

from __future__ import annotations

import numpy as np
import pytest

from depthcur.core.order_stats import BANDS_FROM, SAMPLE_STEP, _ranks_in_bands, partition_positive, ranked_values
from depthcur.schemas.stats import median_of_valid


def plain_ranked_values(values: np.ndarray, valid: np.ndarray, ranks: list[int]) -> dict[int, float]:
    ordered = np.sort(values[valid])
    return {rank: float(ordered[rank]) for rank in ranks}


def picture_ranks(count: int) -> list[int]:
    """The ranks a 1st-99th percentile range reads (core/pictures.py)."""
    below = [int(np.floor(p / 100.0 * (count - 1))) for p in (1.0, 99.0)]
    return sorted({*below, *(min(i + 1, count - 1) for i in below)})


def messy_map(rng: np.random.Generator, shape: tuple[int, int], dtype) -> np.ndarray:
    """Positive values with many ties, subnormals, and zeros, negatives, NaN and inf around them."""
    values = rng.uniform(0.2, 40.0, shape)
    values[rng.random(shape) < 0.3] = 3.0                            # a large tie
    values = np.round(values, 2).astype(dtype)                       # quantised like millimetre depth
    picks = rng.random(shape)
    values[picks < 0.01] = np.finfo(dtype).smallest_subnormal
    values[(picks >= 0.01) & (picks < 0.2)] = 0.0
    values[(picks >= 0.2) & (picks < 0.22)] = -1.0
    values[(picks >= 0.22) & (picks < 0.24)] = np.nan
    values[(picks >= 0.24) & (picks < 0.26)] = np.inf
    return values


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("seed", range(4))
def test_picture_ranks_from_bands_are_the_plain_sorts(dtype, seed):
    rng = np.random.default_rng(seed)
    values = messy_map(rng, (180 + 37 * seed, 240), dtype)
    valid = np.isfinite(values) & (values > 0)
    count = int(np.count_nonzero(valid))
    assert count >= BANDS_FROM
    ranks = picture_ranks(count)
    expected = plain_ranked_values(values, valid, ranks)
    # the bands answer these maps themselves (no fall-back), and to the bit
    assert _ranks_in_bands(values.reshape(-1), valid.reshape(-1), count, ranks) == expected
    assert ranked_values(values, valid, count, ranks) == expected


def test_a_misleading_sample_falls_back_to_the_whole_partition():
    """Every SAMPLE_STEP-th value is among the smallest, so the sample's low band misses the 1st percentile."""
    rng = np.random.default_rng(9)
    flat = rng.uniform(5.0, 10.0, 200 * 240).astype(np.float32)
    flat[::SAMPLE_STEP] = rng.uniform(0.1, 0.2, flat[::SAMPLE_STEP].size)   # 6 % of the values, all sampled
    values = flat.reshape(200, 240)
    valid = np.ones(values.shape, bool)
    count = values.size
    ranks = picture_ranks(count)
    assert _ranks_in_bands(values.reshape(-1), valid.reshape(-1), count, ranks) is None
    assert ranked_values(values, valid, count, ranks) == plain_ranked_values(values, valid, ranks)


@pytest.mark.parametrize("ranks", [[0], [5000], [0, 16999, 17000], [100, 34000]])
def test_any_ranks_of_views_and_small_maps_are_the_plain_sorts_too(ranks):
    rng = np.random.default_rng(1)
    values = messy_map(rng, (200, 240), np.float32)
    valid = np.isfinite(values) & (values > 0)
    count = int(np.count_nonzero(valid))
    for array, mask in ((values, valid), (values[:, ::2], valid[:, ::2]), (values[:60], valid[:60])):
        kept = [rank for rank in ranks if rank < np.count_nonzero(mask)]
        assert ranked_values(array, mask, int(np.count_nonzero(mask)), kept) == plain_ranked_values(array, mask, kept)
    assert count > max(ranks)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16, np.uint16])
def test_partition_of_positive_values_places_each_rank_like_a_sort(dtype):
    rng = np.random.default_rng(4)
    values = (rng.uniform(1e-3, 500.0, 2001) if dtype != np.uint16 else rng.integers(1, 600, 2001)).astype(dtype)
    values[::7] = values[3]
    kth = [0, 1, 1000, 1999, 2000]
    partitioned = values.copy()
    partition_positive(partitioned, kth)
    np.testing.assert_array_equal(partitioned[kth], np.sort(values)[kth])
    np.testing.assert_array_equal(np.sort(partitioned), np.sort(values))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("size", [BANDS_FROM, BANDS_FROM + 1, 57042, 90001])
def test_median_of_many_values_is_numpys_median_to_the_bit(dtype, size):
    """Medians of sample-sized maps come from a band around the middle: numpy's median, ties and all."""
    rng = np.random.default_rng(size)
    values = np.round(rng.uniform(0.3, 12.0, size), 3).astype(dtype)   # millimetre steps: many ties
    values[rng.random(size) < 0.2] = values[11]
    values[rng.random(size) < 0.01] = np.finfo(dtype).smallest_subnormal
    half = size // 2
    middle = [half] if size % 2 else [half - 1, half]
    assert _ranks_in_bands(values.copy(), None, size, middle) is not None   # the band route, not the fall-back
    assert median_of_valid(values.copy()) == float(np.median(values))


def test_a_median_band_that_misses_the_middle_falls_back():
    """The sampled values (every SAMPLE_STEP-th) all lie above the rest, so the band sits too high."""
    values = np.linspace(1.0, 2.0, 40000).astype(np.float32)
    values[::SAMPLE_STEP] += 5.0
    assert _ranks_in_bands(values.copy(), None, values.size, [19999, 20000]) is None
    assert median_of_valid(values.copy()) == float(np.median(values))


def test_valid_values_the_sample_never_sees_fall_back():
    values = np.full((200, 17 * 14), 2.0, np.float32)
    values[:, ::SAMPLE_STEP] = 0.0                       # every sampled position is invalid
    values[:, 1::SAMPLE_STEP] = np.arange(200, dtype=np.float32)[:, None] + 3.0
    valid = values > 0
    count = int(np.count_nonzero(valid))
    ranks = picture_ranks(count)
    assert _ranks_in_bands(values.reshape(-1), valid.reshape(-1), count, ranks) is None
    assert ranked_values(values, valid, count, ranks) == plain_ranked_values(values, valid, ranks)
