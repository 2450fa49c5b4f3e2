"""Per-sample statistics: the quick median and summaries against plain numpy references."""

from __future__ import annotations

import numpy as np
import pytest

from depthcur.schemas.stats import depth_summary, median_of_valid, valid_ratio


def reference_summary(depth: np.ndarray, prefix: str) -> dict[str, float]:
    valid = depth[np.isfinite(depth) & (depth > 0)]
    out = {f"{prefix}_valid_ratio": float(np.mean(np.isfinite(depth) & (depth > 0))) if depth.size else 0.0}
    if valid.size:
        out.update({f"{prefix}_min": float(np.min(valid)), f"{prefix}_median": float(np.median(valid)),
                    f"{prefix}_max": float(np.max(valid))})
    return out


def messy_depth(rng: np.random.Generator, shape: tuple[int, int], dtype) -> np.ndarray:
    """Positive depths with repeats, tiny (subnormal for float32) values, zeros, negatives, NaN and inf."""
    depth = rng.uniform(-2.0, 30.0, shape)
    depth[rng.uniform(size=shape) < 0.2] = 7.5
    picks = rng.uniform(size=shape)
    depth[picks < 0.03] = 1e-40
    depth[(picks >= 0.03) & (picks < 0.08)] = 0.0
    depth[(picks >= 0.08) & (picks < 0.1)] = np.nan
    depth[(picks >= 0.1) & (picks < 0.12)] = np.inf
    return depth.astype(dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
@pytest.mark.parametrize("seed", range(12))
def test_median_is_numpys_median_to_the_bit(dtype, seed):
    rng = np.random.default_rng(seed)
    size = int(rng.integers(1, 2000)) if seed else 1
    values = rng.uniform(1e-3, 50.0, size).astype(dtype)
    values[: size // 3] = values[-1]   # ties around the middle
    rng.shuffle(values)
    expected = float(np.median(values))
    assert median_of_valid(values.copy()) == expected


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(48, 64), (1, 1), (7, 3), (0, 5)])
def test_summary_matches_a_plain_numpy_reference(dtype, shape):
    rng = np.random.default_rng(sum(shape))
    depth = messy_depth(rng, shape, dtype)
    before = depth.copy()
    assert depth_summary(depth, "d") == reference_summary(depth, "d")
    assert valid_ratio(depth) == reference_summary(depth, "d")["d_valid_ratio"]
    np.testing.assert_array_equal(depth, before)   # the caller's map is never reordered


def test_summary_of_a_map_without_valid_pixels_has_only_the_ratio():
    depth = np.array([[0.0, -1.0], [np.nan, np.inf]], np.float32)
    assert depth_summary(depth, "d") == {"d_valid_ratio": 0.0}
