"""Exact order statistics of positive finite floats: the percentile ranks of every depth picture
(``core/pictures.py``) and the medians of every sample's stats (``schemas/stats.py``).

Positive finite IEEE floats order like their bit patterns read as signed integers of the same width,
and numpy partitions integers quicker than floats (no NaN handling), so an integer partition gives
numpy's own float result to the bit. Many values are not partitioned whole: a strided sample
suggests, for each group of nearby wanted ranks, two thresholds around them; the values between
them are exactly the ones of the ranks from (the count below the lower threshold) on, so partitioning
that small band gives each rank's value, whatever the sample was. A band that misses a rank (a
misleading sample) falls back to one partition of all values.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

#: float dtype -> the signed integer of its width
SAME_ORDER_INTEGER = {np.dtype(np.float32): np.int32, np.dtype(np.float64): np.int64}
#: with fewer values, one partition of them all is as quick as the bands
BANDS_FROM = 16384
#: every SAMPLE_STEP-th value guides the thresholds (a step that divides no common image width)
SAMPLE_STEP = 17
#: ranks closer than this share of the values share one band
GROUP_SHARE = 0.02
#: fewer sampled values than this say too little about where the ranks lie
MIN_SAMPLE = 64


def partition_positive(values: np.ndarray, kth: int | Sequence[int]) -> None:
    """``values.partition(kth)`` in place for a 1-D array of positive finite values (other dtypes: numpy's own)."""
    integer = SAME_ORDER_INTEGER.get(values.dtype)
    (values if integer is None else values.view(integer)).partition(kth)


def ranked_values(values: np.ndarray, valid: np.ndarray | None, count: int, ranks: Sequence[int]
                  ) -> dict[int, float]:
    """The value of each 0-based rank among the ``count`` values ``values[valid]`` (every value when
    ``valid`` is None; then ``values`` may be reordered in place), which are positive and finite."""
    ranks = sorted(set(ranks))
    if count >= BANDS_FROM and values.flags.c_contiguous and (valid is None or valid.flags.c_contiguous):
        found = _ranks_in_bands(values.reshape(-1), None if valid is None else valid.reshape(-1), count, ranks)
        if found is not None:
            return found
    kept = values.reshape(-1) if valid is None else values[valid]
    partition_positive(kept, ranks)
    return {rank: float(kept[rank]) for rank in ranks}


def _rank_groups(ranks: list[int], count: int) -> list[list[int]]:
    groups = [[ranks[0]]]
    for rank in ranks[1:]:
        if rank - groups[-1][-1] < GROUP_SHARE * count:
            groups[-1].append(rank)
        else:
            groups.append([rank])
    return groups


def _ranks_in_bands(values: np.ndarray, valid: np.ndarray | None, count: int, ranks: list[int]
                    ) -> dict[int, float] | None:
    """:func:`ranked_values` of 1-D maps from one band of values per group of ranks; None when a band
    would hold most values or missed a rank."""
    sample = np.array(values[::SAMPLE_STEP]) if valid is None else values[::SAMPLE_STEP][valid[::SAMPLE_STEP]]
    n = sample.size
    if n < MIN_SAMPLE:   # the valid values hide between the sampled positions
        return None
    groups = _rank_groups(ranks, count)
    bands = [_band(group, count, n) for group in groups]   # sample positions of each band's thresholds
    if sum((n if high is None else high) - (low or 0) for low, high in bands) > n // 2:
        return None
    partition_positive(sample, sorted({k for band in bands for k in band if k is not None}))
    found: dict[int, float] = {}
    for group, (low_k, high_k) in zip(groups, bands):
        inside = valid
        if low_k is not None:
            inside = _and(np.greater_equal(values, sample[low_k]), inside)
        if high_k is not None:
            inside = _and(np.less_equal(values, sample[high_k]), inside)
        below = 0 if low_k is None else (count - int(np.count_nonzero(inside)) if high_k is None
                                         else _count_below(values, valid, sample[low_k]))
        band = np.compress(inside, values)   # exactly the values of ranks below .. below + band.size - 1
        if below > group[0] or below + band.size <= group[-1]:
            return None
        offsets = [rank - below for rank in group]
        partition_positive(band, offsets)
        found.update((rank, float(band[offset])) for rank, offset in zip(group, offsets))
    return found


def _band(group: list[int], count: int, n: int) -> tuple[int | None, int | None]:
    """Sample positions of the thresholds around ``group``'s ranks: five standard errors of a sample
    rank (binomial) and a few for ties away from them. None for an open end: near an end of the
    values, one comparison less is worth the few more values in the band."""
    share = (group[0] + group[-1] + 1) / (2 * count)
    margin = 5 * math.sqrt(n * share * (1 - share)) + 8
    low_k, high_k = int(group[0] * n / count - margin), int((group[-1] + 1) * n / count + margin)
    return (low_k if low_k > margin else None), (high_k if high_k < n - 1 - margin else None)


def _and(mask: np.ndarray, other: np.ndarray | None) -> np.ndarray:
    if other is not None:
        mask &= other
    return mask


def _count_below(values: np.ndarray, valid: np.ndarray | None, threshold) -> int:
    below = np.less(values, threshold)
    if valid is not None:
        below &= valid
    return int(np.count_nonzero(below))
