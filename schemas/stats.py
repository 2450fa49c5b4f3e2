"""Per-sample statistics stored in ``Sample.stats``."""

from __future__ import annotations

import numpy as np

from .record import Sample


def valid_ratio(depth: np.ndarray) -> float:
    """Fraction of pixels with valid (positive, finite) depth."""
    return float(np.mean(np.isfinite(depth) & (depth > 0))) if depth.size else 0.0


def depth_summary(depth: np.ndarray, prefix: str) -> dict[str, float]:
    valid = depth[np.isfinite(depth) & (depth > 0)]
    out = {f"{prefix}_valid_ratio": valid_ratio(depth)}
    if valid.size:
        out.update({f"{prefix}_min": float(valid.min()), f"{prefix}_median": float(np.median(valid)),
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
