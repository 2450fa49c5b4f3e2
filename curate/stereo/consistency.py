"""Left-right consistency from the swap-and-flip trick.

A matcher only gives left-view disparity. Mirroring both images and swapping them turns the
right view into a "left" view of a mirrored rig, so ``fliplr(match(fliplr(R), fliplr(L)))``
is the right-view disparity without any matcher-specific support (FoundationStereo has none).
"""

from __future__ import annotations

from typing import Callable

import numpy as np


def right_disparity_by_swap_flip(left: np.ndarray, right: np.ndarray,
                                 match: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> np.ndarray:
    """Right-view disparity (positive, right(x) ↔ left(x + d)) from a left-view matcher."""
    mirrored = match(np.ascontiguousarray(np.fliplr(right)), np.ascontiguousarray(np.fliplr(left)))
    return np.ascontiguousarray(np.fliplr(mirrored))


def lr_consistent_mask(disp_left: np.ndarray, disp_right: np.ndarray, threshold_px: float = 1.0) -> np.ndarray:
    """True where the left disparity d at x agrees with the right disparity at x - d within the threshold.

    Disparities <= 0 or non-finite count as unmatched and are never consistent.
    """
    h, w = disp_left.shape
    xs = np.arange(w, dtype=np.float32)[None, :]
    matched = np.isfinite(disp_left) & (disp_left > 0)
    safe_left = np.where(matched, disp_left, 0).astype(np.float32)
    x_right = np.rint(xs - safe_left).astype(np.int64)
    inside = matched & (x_right >= 0) & (x_right < w)
    rows = np.broadcast_to(np.arange(h)[:, None], (h, w))
    back = disp_right[rows, np.clip(x_right, 0, w - 1)]
    back_ok = np.isfinite(back) & (back > 0)
    return inside & back_ok & (np.abs(safe_left - np.where(back_ok, back, 0)) <= threshold_px)
