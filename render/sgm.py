"""Simulated active-stereo sensor depth: OpenCV StereoSGBM on the rendered IR pair.

Pipeline: (optional extra IR noise) -> SGBM with uniqueness ratio, internal left-right check
(``disp12MaxDiff``) and speckle filter -> optional explicit left-right check against a right
matcher -> the unmatched left strip (no right-image partner for the full search range) masked
-> depth = fx·B/d -> nearest upsampling to the RGB grid. Every parameter goes to provenance.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from .config import SgmConfig

_MODES = {"sgbm": "STEREO_SGBM_MODE_SGBM", "sgbm_3way": "STEREO_SGBM_MODE_SGBM_3WAY",
          "hh": "STEREO_SGBM_MODE_HH"}


def disparity_range(config: SgmConfig, fx_ir: float, baseline_m: float, width: int) -> int:
    """numDisparities: enough to see ``min_depth_m``, a multiple of 16, at most half the width."""
    wanted = math.ceil(fx_ir * baseline_m / config.min_depth_m / 16.0) * 16
    cap = max(16, (width // 2) // 16 * 16)
    return int(min(max(16, wanted), cap))


def make_matcher(config: SgmConfig, num_disparities: int):
    import cv2

    if config.mode not in _MODES:
        raise ValueError(f"SGM mode {config.mode!r} is not one of {sorted(_MODES)}")
    block = config.block_size
    return cv2.StereoSGBM_create(
        minDisparity=0, numDisparities=num_disparities, blockSize=block,
        P1=config.p1_factor * block * block, P2=config.p2_factor * block * block,
        disp12MaxDiff=config.disp12_max_diff, preFilterCap=config.pre_filter_cap,
        uniquenessRatio=config.uniqueness_ratio, speckleWindowSize=config.speckle_window_size,
        speckleRange=config.speckle_range, mode=getattr(cv2, _MODES[config.mode]))


def add_ir_noise(image: np.ndarray, std: float, rng: np.random.Generator) -> np.ndarray:
    if std <= 0:
        return image
    noisy = image.astype(np.float32) + rng.normal(0.0, std, size=image.shape)
    return np.clip(np.rint(noisy), 0, 255).astype(np.uint8)


def left_right_consistent(left_disp: np.ndarray, right_disp: np.ndarray, tolerance: float) -> np.ndarray:
    """Pixels whose left disparity lands on a right pixel that agrees within ``tolerance``."""
    height, width = left_disp.shape
    xs = np.arange(width)[None, :] - np.rint(left_disp).astype(np.int64)
    inside = (xs >= 0) & (left_disp > 0)
    partner = np.take_along_axis(right_disp, np.clip(xs, 0, width - 1), axis=1)
    return inside & (np.abs(partner - left_disp) <= tolerance)


def match_correlation(left: np.ndarray, right: np.ndarray, disparity: np.ndarray, window: int) -> np.ndarray:
    """Zero-mean normalised cross-correlation of each left window with the right window at its
    disparity (the matching score real sensors threshold). View-dependent light (specular
    highlights, reflections, refraction) correlates poorly between the two cameras."""
    import cv2

    height, width = left.shape
    xs = np.arange(width, dtype=np.float32)[None, :] - disparity.astype(np.float32)
    ys = np.repeat(np.arange(height, dtype=np.float32)[:, None], width, axis=1)
    warped = cv2.remap(right.astype(np.float32), xs, ys, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    left = left.astype(np.float32)
    box = (window, window)
    mean_l, mean_r = cv2.blur(left, box), cv2.blur(warped, box)
    covariance = cv2.blur(left * warped, box) - mean_l * mean_r
    variance = (cv2.blur(left * left, box) - mean_l ** 2) * (cv2.blur(warped * warped, box) - mean_r ** 2)
    return covariance / np.sqrt(np.maximum(variance, 1e-6))


@dataclass
class SgmResult:
    disparity: np.ndarray        # float32 px at IR resolution, 0 = invalid
    depth_ir: np.ndarray         # float32 m at IR resolution, 0 = invalid
    num_disparities: int
    params: dict


def compute_disparity(left: np.ndarray, right: np.ndarray, config: SgmConfig, num_disparities: int
                      ) -> np.ndarray:
    """Sub-pixel disparity in pixels with every filter applied; 0 where the sensor has no value."""
    import cv2

    matcher = make_matcher(config, num_disparities)
    raw = matcher.compute(left, right)
    disparity = raw.astype(np.float32) / 16.0          # SGBM returns fixed point, 4 fraction bits
    disparity[raw <= 0] = 0.0
    if config.explicit_lr_check:
        right_matcher = cv2.ximgproc.createRightMatcher(matcher)
        right_disp = -right_matcher.compute(right, left).astype(np.float32) / 16.0
        disparity[~left_right_consistent(disparity, right_disp, config.explicit_lr_tolerance_px)] = 0.0
    if config.min_match_correlation > 0:
        score = match_correlation(left, right, disparity, config.block_size + 2)
        disparity[score < config.min_match_correlation] = 0.0
    # the left strip has no partner in the right image for the full search range
    disparity[:, :num_disparities] = 0.0
    return disparity


def disparity_to_depth(disparity: np.ndarray, fx: float, baseline_m: float, max_depth_m: float = 0.0) -> np.ndarray:
    depth = np.zeros_like(disparity, dtype=np.float32)
    valid = disparity > 0
    depth[valid] = fx * baseline_m / disparity[valid]
    if max_depth_m > 0:
        depth[depth > max_depth_m] = 0.0
    return depth


def upsample_nearest(depth: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Nearest-neighbour resize to (width, height): keeps holes as holes, never blends depths."""
    import cv2

    return cv2.resize(depth, size, interpolation=cv2.INTER_NEAREST)


def sensor_depth(left: np.ndarray, right: np.ndarray, *, fx_ir: float, baseline_m: float,
                 config: SgmConfig, rng: np.random.Generator | None = None) -> SgmResult:
    """Depth an active-stereo camera would report from the IR pair, at IR resolution."""
    rng = rng if rng is not None else np.random.default_rng(0)
    left = add_ir_noise(left, config.ir_noise_std, rng)
    right = add_ir_noise(right, config.ir_noise_std, rng)
    num_disparities = disparity_range(config, fx_ir, baseline_m, left.shape[1])
    disparity = compute_disparity(left, right, config, num_disparities)
    depth = disparity_to_depth(disparity, fx_ir, baseline_m, config.max_depth_m)
    disparity[depth == 0] = 0.0
    params = {**asdict(config), "num_disparities": num_disparities, "min_disparity": 0,
              "P1": config.p1_factor * config.block_size ** 2, "P2": config.p2_factor * config.block_size ** 2,
              "masked_left_strip_px": num_disparities, "upsampling": "nearest",
              "opencv": __import__("cv2").__version__}
    return SgmResult(disparity=disparity, depth_ir=depth, num_disparities=num_disparities, params=params)
