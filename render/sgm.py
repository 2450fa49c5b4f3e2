"""Simulated active-stereo sensor depth: OpenCV StereoSGBM on the rendered IR pair.

Pipeline: (optional extra IR noise) -> SGBM with uniqueness ratio, internal left-right check
(``disp12MaxDiff``) and speckle filter -> optional explicit left-right check against a right
matcher -> the unmatched left strip (no right-image partner for the full search range) masked
-> depth = fx·B/d -> nearest upsampling to the RGB grid. Every parameter goes to provenance.
The matcher, the checks and fx·B/d are :mod:`depthcur.core.stereo`, shared with curate.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from depthcur.core.stereo import (disparity_to_depth, left_right_consistent, sgbm_disparity, sgbm_right_disparity,
                                  zncc_score)

from .config import SgmConfig


def disparity_range(config: SgmConfig, fx_ir: float, baseline_m: float, width: int) -> int:
    """numDisparities: enough to see ``min_depth_m``, a multiple of 16, at most half the width."""
    wanted = math.ceil(fx_ir * baseline_m / config.min_depth_m / 16.0) * 16
    cap = max(16, (width // 2) // 16 * 16)
    return int(min(max(16, wanted), cap))


def add_ir_noise(image: np.ndarray, std: float, rng: np.random.Generator) -> np.ndarray:
    if std <= 0:
        return image
    noisy = image.astype(np.float32) + rng.normal(0.0, std, size=image.shape)
    return np.clip(np.rint(noisy), 0, 255).astype(np.uint8)


@dataclass
class SgmResult:
    disparity: np.ndarray        # float32 px at IR resolution, 0 = invalid
    depth_ir: np.ndarray         # float32 m at IR resolution, 0 = invalid
    num_disparities: int
    params: dict


def compute_disparity(left: np.ndarray, right: np.ndarray, config: SgmConfig, num_disparities: int
                      ) -> np.ndarray:
    """Sub-pixel disparity in pixels with every filter applied; 0 where the sensor has no value."""
    disparity = sgbm_disparity(left, right, config, num_disparities)
    if config.explicit_lr_check:
        right_disp = sgbm_right_disparity(left, right, config, num_disparities)
        consistent = left_right_consistent(disparity, right_disp, config.explicit_lr_tolerance_px,
                                           round_disparity=True)
        disparity[~consistent] = 0.0
    if config.min_match_correlation > 0:
        score = zncc_score(left, right, disparity, config.block_size + 2)
        disparity[score < config.min_match_correlation] = 0.0
    # the left strip has no partner in the right image for the full search range
    disparity[:, :num_disparities] = 0.0
    return disparity


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
              "P1": config.p1, "P2": config.p2, "masked_left_strip_px": num_disparities, "upsampling": "nearest",
              "opencv": __import__("cv2").__version__}
    return SgmResult(disparity=disparity, depth_ir=depth, num_disparities=num_disparities, params=params)
