"""MDM depth-token masking (LingBot-Depth §2).

Missing sensor depth is the natural mask: a depth patch without any valid pixel is always
masked; a patch with some holes is masked with probability 0.75; then random fully valid
patches are masked until the ratio reaches a target drawn from [0.6, 0.9]. RGB tokens are
never masked (the RGB stream has no mask at all). Masks are per depth token, True = masked.
"""

from __future__ import annotations

import numpy as np

from .config import MaskConfig


def patch_valid_fraction(depth: np.ndarray, patch: int) -> np.ndarray:
    """(gh, gw) fraction of valid (> 0) pixels per patch of an (H, W) depth map."""
    h, w = depth.shape
    gh, gw = h // patch, w // patch
    valid = (depth[: gh * patch, : gw * patch] > 0).reshape(gh, patch, gw, patch)
    return valid.mean(axis=(1, 3))


def depth_token_mask(depth: np.ndarray, patch: int, cfg: MaskConfig, rng: np.random.Generator) -> np.ndarray:
    """Flattened (gh*gw,) bool mask of depth tokens, True = masked."""
    frac = patch_valid_fraction(depth, patch).ravel()
    n = frac.size
    if cfg.monocular_prob > 0 and rng.random() < cfg.monocular_prob:
        return np.ones(n, dtype=bool)
    empty, full = frac == 0, frac == 1
    mixed = ~empty & ~full
    masked = empty | (mixed & (rng.random(n) < cfg.mixed_mask_prob))
    lo, hi = cfg.ratio_range
    target = mask_target(n, lo, hi, rng)
    if masked.sum() < target:
        # add random valid patches (fully valid first, then mixed) until the target is reached
        for pool in (full & ~masked, mixed & ~masked):
            need = target - int(masked.sum())
            idx = np.flatnonzero(pool)
            if need > 0 and idx.size:
                masked[rng.choice(idx, size=min(need, idx.size), replace=False)] = True
    elif masked.sum() > int(np.floor(hi * n)):
        # too many mixed patches masked: unmask some of them, never an empty patch
        excess = int(masked.sum()) - max(int(np.floor(hi * n)), int(empty.sum()))
        idx = np.flatnonzero(mixed & masked)
        if excess > 0 and idx.size:
            masked[rng.choice(idx, size=min(excess, idx.size), replace=False)] = False
    return masked


def mask_target(n: int, lo: float, hi: float, rng: np.random.Generator) -> int:
    """A masked-token count whose ratio lies in [lo, hi]; on grids too coarse for that, ceil(lo * n)."""
    low, high = int(np.ceil(lo * n - 1e-9)), int(np.floor(hi * n + 1e-9))
    return int(rng.integers(low, high + 1)) if low <= high else low


def sensor_hole_mask(depth: np.ndarray, patch: int) -> np.ndarray:
    """Inference mask: only depth tokens without any valid pixel are masked, nothing random."""
    return patch_valid_fraction(depth, patch).ravel() == 0
