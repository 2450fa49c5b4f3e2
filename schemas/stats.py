"""Per-sample statistics stored in ``Sample.stats``."""

from __future__ import annotations

import numpy as np

from depthcur.core.order_stats import SAME_ORDER_INTEGER, ranked_values

from .record import Sample


def _valid_mask(depth: np.ndarray) -> np.ndarray:
    return np.isfinite(depth) & (depth > 0)


def _fraction(mask: np.ndarray) -> float:
    # the count over the size is the same float as np.mean(mask): both are one correctly rounded division
    return np.count_nonzero(mask) / mask.size if mask.size else 0.0


def valid_ratio(depth: np.ndarray) -> float:
    """Fraction of pixels with valid (positive, finite) depth."""
    return _fraction(_valid_mask(depth))


def median_of_valid(valid: np.ndarray) -> float:
    """``np.median`` of positive finite values (1-D, not empty; may be reordered in place), to the bit.

    Quicker than ``np.median``: the middle values come from :func:`depthcur.core.order_stats.ranked_values`
    (an integer partition of a small band of the values), without the extra partition ``np.median``
    makes to look for NaNs, which ``valid`` cannot hold.
    """
    if valid.dtype not in SAME_ORDER_INTEGER:
        return float(np.median(valid))
    half = valid.size // 2
    middle = [half] if valid.size % 2 else [half - 1, half]
    ranked = ranked_values(valid, None, valid.size, middle)
    return float(np.mean(np.array([ranked[rank] for rank in middle], valid.dtype)))   # np.median's own mean


def depth_summary(depth: np.ndarray, prefix: str) -> dict[str, float]:
    mask = _valid_mask(depth)
    valid = depth[mask]
    out = {f"{prefix}_valid_ratio": _fraction(mask)}
    if valid.size:
        out.update({f"{prefix}_min": float(valid.min()), f"{prefix}_median": median_of_valid(valid),
                    f"{prefix}_max": float(valid.max())})
    return out


def compute_stats(sample: Sample) -> dict[str, float]:
    """Valid ratios, mask ratio (missing fraction of the sensor depth) and depth ranges.

    Keeps any stats already present that are not recomputed here (e.g. an LR-consistent
    ratio written by the stereo matcher)."""
    stats = dict(sample.stats)
    if sample.depth_raw is not None:
        stats.update(depth_summary(sample.depth_raw, "depth_raw"))
        stats["mask_ratio"] = 1.0 - stats["depth_raw_valid_ratio"]
    if sample.depth_gt is not None:
        stats.update(depth_summary(sample.depth_gt, "depth_gt"))
    return stats


def with_stats(sample: Sample) -> Sample:
    return sample.replace(stats=compute_stats(sample))
