"""Stereo matcher backends behind one call: ``raw_disparity(left, right, matcher, **params)``.

``sgbm`` is OpenCV's semi-global matcher (its own LR check disabled; ours is applied on top).
``foundation-stereo`` runs the official NVlabs code and checkpoint from local paths.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from .consistency import lr_consistent_mask, right_disparity_by_swap_flip


def to_gray_uint8(image: np.ndarray, *, name: str = "image") -> np.ndarray:
    """uint8 grayscale from uint8/uint16 gray or RGB."""
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[2] == 3:
        import cv2

        image = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY) if image.dtype == np.uint8 else image.mean(axis=2)
    if image.ndim != 2:
        raise ValueError(f"{name}: expected an H×W or H×W×3 image, got shape {image.shape}")
    if image.dtype == np.uint8:
        return image
    if image.dtype == np.uint16 or np.issubdtype(image.dtype, np.floating):
        top = float(np.percentile(image, 99.5)) or 1.0
        return np.clip(image.astype(np.float32) / top * 255.0, 0, 255).astype(np.uint8)
    raise ValueError(f"{name}: unsupported dtype {image.dtype}; give uint8 or uint16")


def sgbm_params(num_disparities: int = 64, block_size: int = 5, uniqueness_ratio: int = 10,
                speckle_window: int = 100, speckle_range: int = 2, p1_scale: int = 8, p2_scale: int = 32,
                mode: str = "sgbm_3way") -> dict[str, Any]:
    """The full SGBM parameter set (recorded in provenance)."""
    return dict(num_disparities=int(np.ceil(num_disparities / 16) * 16), block_size=block_size,
                uniqueness_ratio=uniqueness_ratio, speckle_window=speckle_window,
                speckle_range=speckle_range, p1_scale=p1_scale, p2_scale=p2_scale, mode=mode)


def sgbm_disparity(left: np.ndarray, right: np.ndarray, **params: Any) -> np.ndarray:
    """Left-view disparity in pixels from OpenCV SGBM; 0 where unmatched."""
    import cv2

    p = sgbm_params(**params)
    modes = {"sgbm": cv2.STEREO_SGBM_MODE_SGBM, "sgbm_3way": cv2.STEREO_SGBM_MODE_SGBM_3WAY,
             "hh": cv2.STEREO_SGBM_MODE_HH}
    block = p["block_size"]
    matcher = cv2.StereoSGBM_create(minDisparity=0, numDisparities=p["num_disparities"], blockSize=block,
                                    P1=p["p1_scale"] * block * block, P2=p["p2_scale"] * block * block,
                                    disp12MaxDiff=-1, uniquenessRatio=p["uniqueness_ratio"],
                                    speckleWindowSize=p["speckle_window"], speckleRange=p["speckle_range"],
                                    mode=modes[p["mode"]])
    # Pad on the left so the first columns get a full search range (SGBM leaves a num_disparities strip
    # unmatched); matches that land in the padding fail the LR check.
    pad = p["num_disparities"]
    padded = [cv2.copyMakeBorder(image, 0, 0, pad, 0, cv2.BORDER_CONSTANT, value=0) for image in (left, right)]
    fixed = matcher.compute(*padded)[:, pad:]  # int16, 4 fractional bits; negative = unmatched
    disparity = fixed.astype(np.float32) / 16.0
    disparity[fixed <= 0] = 0.0
    return disparity


def foundation_stereo_disparity(left: np.ndarray, right: np.ndarray, **params: Any) -> np.ndarray:
    from .foundation_stereo import foundation_stereo_disparity as run

    return run(left, right, **params)


#: name -> backend(left_gray_or_rgb_uint8, right, **params) -> left-view disparity (0 = unmatched)
MATCHERS: dict[str, Callable[..., np.ndarray]] = {
    "sgbm": sgbm_disparity,
    "foundation-stereo": foundation_stereo_disparity,
}


def raw_disparity(left: np.ndarray, right: np.ndarray, matcher: str = "sgbm", **params: Any) -> np.ndarray:
    """Left-view disparity from the named backend, without any consistency check."""
    if matcher not in MATCHERS:
        raise ValueError(f"unknown matcher {matcher!r}; choose one of {', '.join(MATCHERS)}")
    if matcher == "sgbm":
        left, right = to_gray_uint8(left, name="left"), to_gray_uint8(right, name="right")
    if left.shape[:2] != right.shape[:2]:
        raise ValueError(f"left {left.shape} and right {right.shape} images differ in size")
    return MATCHERS[matcher](left, right, **params)


@dataclass
class StereoMatch:
    """Left-view disparity plus where the matcher found a match and where it passed the LR check."""

    disparity: np.ndarray      # float32 px, LR-checked: 0 where not consistent
    matched: np.ndarray        # bool, matcher gave a disparity
    consistent: np.ndarray     # bool, matched and LR-consistent

    @property
    def lr_consistent_ratio(self) -> float:
        matched = int(self.matched.sum())
        return float(self.consistent.sum()) / matched if matched else 0.0


def match_with_lr_check(left: np.ndarray, right: np.ndarray, matcher: str = "sgbm", *,
                        lr_threshold_px: float = 1.0, **params: Any) -> StereoMatch:
    """Match a rectified pair and LR-check it by swap-and-flip (threshold in pixels)."""
    def match(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return raw_disparity(a, b, matcher, **params)

    disp_left = match(left, right)
    disp_right = right_disparity_by_swap_flip(left, right, match)
    consistent = lr_consistent_mask(disp_left, disp_right, lr_threshold_px)
    return StereoMatch(np.where(consistent, disp_left, 0).astype(np.float32),
                       np.isfinite(disp_left) & (disp_left > 0), consistent)


def match_pair(left: np.ndarray, right: np.ndarray, matcher: str = "sgbm", *, lr_threshold_px: float = 1.0,
               **params: Any) -> tuple[np.ndarray, np.ndarray]:
    """(disparity_px float32, valid bool) for a rectified pair (uint8 gray or RGB), LR-checked."""
    result = match_with_lr_check(left, right, matcher, lr_threshold_px=lr_threshold_px, **params)
    return result.disparity, result.consistent
