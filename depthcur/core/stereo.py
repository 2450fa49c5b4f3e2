"""Stereo matching shared by render (sensor simulation) and curate (pseudo-labels).

One SGBM parameter set and matcher, a left-right consistency check with two ways to get the
right-view disparity (OpenCV's right matcher, or swap-and-flip for any matcher), the ZNCC
matching score, and fx·B/x between disparity and depth. Each stage keeps its own preset of
:class:`SgbmParams`. Disparities are float32 pixels, 0 = no match.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .validate import Checked

#: SgbmParams.mode -> the OpenCV constant's name
SGBM_MODES = {"sgbm": "STEREO_SGBM_MODE_SGBM", "sgbm_3way": "STEREO_SGBM_MODE_SGBM_3WAY",
              "hh": "STEREO_SGBM_MODE_HH"}


@dataclass
class SgbmParams(Checked):
    """OpenCV StereoSGBM settings. The search range (numDisparities) is chosen per pair by the caller.

    The first four have no default: render's sensor preset and curate's pseudo-label preset
    differ there on purpose.
    """

    #: margin (%) by which the best cost must beat the second best; higher drops ambiguous matches
    uniqueness_ratio: int = field(metadata={"min": 0, "max": 100})
    #: SGBM's internal left-right check (max difference in whole pixels); -1 turns it off
    disp12_max_diff: int = field(metadata={"min": -1})
    #: OpenCV speckle filter: largest blob (px) removed as a speckle; 0 turns it off
    speckle_window_size: int = field(metadata={"min": 0})
    #: OpenCV clamps the x-derivative prefilter at max(pre_filter_cap, 15)
    pre_filter_cap: int = field(metadata={"min": 0})
    #: matching window side (odd, px)
    block_size: int = field(default=5, metadata={"min": 1, "odd": True})
    #: P1/P2 = factor * block_size**2 (OpenCV's recommended smoothness penalties, one channel)
    p1_factor: int = field(default=8, metadata={"min": 0})
    p2_factor: int = field(default=32, metadata={"above_field": "p1_factor"})
    #: largest disparity step (px) inside one blob of the speckle filter
    speckle_range: int = field(default=2, metadata={"min": 0})
    #: OpenCV's SGBM variant: "sgbm" (5 paths), "sgbm_3way" (faster) or "hh" (8 paths, full)
    mode: str = field(default="sgbm_3way", metadata={"choices": tuple(SGBM_MODES)})

    @property
    def p1(self) -> int:
        return self.p1_factor * self.block_size ** 2

    @property
    def p2(self) -> int:
        return self.p2_factor * self.block_size ** 2


def make_sgbm(params: SgbmParams, num_disparities: int):
    """cv2.StereoSGBM searching disparities 0 .. num_disparities - 1 (a multiple of 16)."""
    import cv2

    if params.mode not in SGBM_MODES:
        raise ValueError(f"SGBM mode {params.mode!r} is not one of {sorted(SGBM_MODES)}")
    return cv2.StereoSGBM_create(
        minDisparity=0, numDisparities=num_disparities, blockSize=params.block_size, P1=params.p1, P2=params.p2,
        disp12MaxDiff=params.disp12_max_diff, preFilterCap=params.pre_filter_cap,
        uniquenessRatio=params.uniqueness_ratio, speckleWindowSize=params.speckle_window_size,
        speckleRange=params.speckle_range, mode=getattr(cv2, SGBM_MODES[params.mode]))


def fixed_point_to_pixels(fixed: np.ndarray) -> np.ndarray:
    """OpenCV's int16 disparity (4 fraction bits) -> float32 pixels; 0 where it is not positive."""
    disparity = np.maximum(fixed, 0).astype(np.float32)   # clamping first gives the same +0.0
    disparity /= 16.0
    return disparity


def sgbm_disparity(left: np.ndarray, right: np.ndarray, params: SgbmParams, num_disparities: int, *,
                   pad_left: bool = False) -> np.ndarray:
    """Left-view disparity of a rectified uint8 pair in pixels, 0 where unmatched.

    SGBM leaves the left ``num_disparities`` columns unmatched; ``pad_left`` pads both images with
    that many black columns first so those columns get a full search range.
    """
    import cv2

    matcher = make_sgbm(params, num_disparities)
    if not pad_left:
        return fixed_point_to_pixels(matcher.compute(left, right))
    padded = [cv2.copyMakeBorder(image, 0, 0, num_disparities, 0, cv2.BORDER_CONSTANT, value=0)
              for image in (left, right)]
    return fixed_point_to_pixels(matcher.compute(*padded)[:, num_disparities:])


def sgbm_right_disparity(left: np.ndarray, right: np.ndarray, params: SgbmParams, num_disparities: int
                         ) -> np.ndarray:
    """Right-view disparity (positive, right(x) <-> left(x + d)) from OpenCV's right matcher.

    Unmatched pixels keep OpenCV's invalid value, which here reads as ``num_disparities``.
    """
    import cv2

    right_matcher = cv2.ximgproc.createRightMatcher(make_sgbm(params, num_disparities))
    return -right_matcher.compute(right, left).astype(np.float32) / 16.0


#: dtypes cv2.flip copies as they are
_CV2_FLIP_DTYPES = frozenset(np.dtype(t) for t in (np.uint8, np.int8, np.uint16, np.int16, np.int32, np.float32,
                                                   np.float64))


def mirrored_columns(image: np.ndarray) -> np.ndarray:
    """``image`` mirrored left-right as a new C-contiguous array.

    cv2.flip's plain copy is several times quicker than numpy's reversed-stride copy; other dtypes
    and shapes (cv2 would drop a length-1 channel axis) take the numpy copy.
    """
    import cv2

    if image.ndim == 2 and image.dtype in _CV2_FLIP_DTYPES:
        return cv2.flip(image, 1)
    return np.ascontiguousarray(np.fliplr(image))


def right_disparity_by_swap_flip(left: np.ndarray, right: np.ndarray,
                                 match: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> np.ndarray:
    """Right-view disparity (positive, right(x) <-> left(x + d)) from any left-view matcher; NaN where unmatched.

    Mirroring both images and swapping them turns the right view into the "left" view of a
    mirrored rig, so ``fliplr(match(fliplr(R), fliplr(L)))`` is the right-view disparity.
    """
    disparity = mirrored_columns(match(mirrored_columns(np.asarray(right)), mirrored_columns(np.asarray(left))))
    if not np.issubdtype(disparity.dtype, np.floating):
        return np.where(disparity > 0, disparity, np.nan)
    np.copyto(disparity, np.nan, where=~(disparity > 0))   # in place: quicker than np.where's new array
    return disparity


def left_right_consistent(disp_left: np.ndarray, disp_right: np.ndarray, tolerance_px: float, *,
                          round_disparity: bool = False) -> np.ndarray:
    """True where the left disparity d at x agrees with the right disparity at x - d within ``tolerance_px``.

    The partner pixel is rint(x - d), or x - rint(d) with ``round_disparity`` (they differ only at
    half-pixel ties; the sensor simulation uses the latter). Left disparities <= 0 or non-finite,
    partners outside the image and NaN right disparities are never consistent.
    """
    return left_right_masks(disp_left, disp_right, tolerance_px, round_disparity=round_disparity)[1]


def left_right_masks(disp_left: np.ndarray, disp_right: np.ndarray, tolerance_px: float, *,
                     round_disparity: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(matched, consistent): where the left disparity is positive and finite, and where it also passes
    :func:`left_right_consistent`'s check."""
    width = disp_left.shape[1]
    matched = np.isfinite(disp_left) & (disp_left > 0)
    if not round_disparity and _remaps_exactly(disp_left, disp_right):
        return matched, _consistent_by_remap(disp_left, disp_right, tolerance_px, matched)
    # unmatched -> 0 (NaN too), and past the image width -> the width: such partners fall outside either way
    left = np.fmax(disp_left, 0, dtype=np.float32)
    np.fmin(left, np.float32(width), out=left)
    columns = np.arange(width, dtype=np.float32)[None, :]
    if round_disparity:
        partner = columns - np.rint(left)
    else:
        partner = np.subtract(columns, left)
        np.rint(partner, out=partner)
    difference = np.subtract(left, row_partner_values(disp_right, partner))
    consistent = np.abs(difference, out=difference) <= tolerance_px
    consistent &= matched
    return matched, consistent


#: cv2.remap reads source pixels by 16-bit coordinates
_REMAP_MAX_SIDE = 2 ** 15 - 1


def _remaps_exactly(disp_left: np.ndarray, disp_right: np.ndarray) -> bool:
    """Whether cv2.remap can read the partners of a float32 pair: its 16-bit coordinates reach every column."""
    return (disp_left.dtype == np.float32 and disp_right.dtype == np.float32
            and max(disp_right.shape) <= _REMAP_MAX_SIDE)


@functools.lru_cache(maxsize=8)
def _row_coordinates(height: int, width: int) -> np.ndarray:
    """Each pixel's row as float32 (cv2.remap's y map), made once per size; read-only because it is shared."""
    rows = np.empty((height, width), np.float32)
    rows[:] = np.arange(height, dtype=np.float32)[:, None]
    rows.flags.writeable = False
    return rows


def _consistent_by_remap(disp_left: np.ndarray, disp_right: np.ndarray, tolerance_px: float,
                         matched: np.ndarray) -> np.ndarray:
    """:func:`left_right_masks`' consistent mask of a float32 pair, without clamping or rounding passes.

    cv2.remap rounds the partner column x - d half to even itself (as np.rint does) and reads
    NaN outside the image; coordinates past its 16-bit range saturate outside too. So the left map
    needs no clamping: where it is unmatched (NaN, inf, <= 0) ``matched`` masks whatever was read.
    """
    import cv2

    height, width = disp_left.shape
    partner = np.subtract(np.arange(width, dtype=np.float32)[None, :], disp_left)
    partner_values = cv2.remap(disp_right, partner, _row_coordinates(height, width), cv2.INTER_NEAREST,
                               borderMode=cv2.BORDER_CONSTANT, borderValue=float("nan"))
    consistent = cv2.absdiff(disp_left, partner_values) <= tolerance_px   # |NaN| <= t is False
    consistent &= matched
    return consistent


def row_partner_values(values: np.ndarray, partner: np.ndarray) -> np.ndarray:
    """``values[y, partner[y, x]]`` (as a float of at least float32) for whole-number float32 columns
    ``partner`` below the width; NaN where a partner is left of the image.

    A float32 map takes cv2.remap's nearest-pixel read (an exact copy, NaN as its border) in one pass;
    other dtypes and huge maps take numpy's flat gather.
    """
    import cv2

    height, width = values.shape
    if values.dtype == np.float32 and max(height, width) <= _REMAP_MAX_SIDE:
        rows = np.empty((height, width), np.float32)
        rows[:] = np.arange(height, dtype=np.float32)[:, None]
        return cv2.remap(values, partner, rows, cv2.INTER_NEAREST, borderMode=cv2.BORDER_CONSTANT,
                         borderValue=float("nan"))
    flat_index = np.maximum(partner, 0).astype(np.int64)
    flat_index += np.arange(0, height * width, width)[:, None]   # row offsets: one flat gather
    gathered = np.take(values, flat_index).astype(np.result_type(values.dtype, np.float32))
    gathered[partner < 0] = np.nan
    return gathered


def zncc_score(left: np.ndarray, right: np.ndarray, disparity: np.ndarray, window: int) -> np.ndarray:
    """Zero-mean normalised cross-correlation of each left window with the right window at its disparity.

    1 for identical windows, about 0 for unrelated ones; the matching score real sensors threshold.
    """
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


def focal_baseline_over(values: np.ndarray, fx: float, baseline_m: float) -> np.ndarray:
    """fx·B/x as float32, 0 where x is not positive (disparity <-> depth, the same maths both ways)."""
    out = np.zeros_like(values, dtype=np.float32)
    np.divide(fx * baseline_m, values, out=out, where=values > 0)   # in place: no gather and scatter
    return out


def disparity_to_depth(disparity: np.ndarray, fx: float, baseline_m: float, max_depth_m: float = 0.0
                       ) -> np.ndarray:
    """Planar depth fx·B/d in metres, 0 where d <= 0 and, when ``max_depth_m`` > 0, beyond it."""
    depth = focal_baseline_over(disparity, fx, baseline_m)
    if max_depth_m > 0:
        depth[depth > max_depth_m] = 0.0
    return depth


def depth_to_disparity(depth: np.ndarray, fx: float, baseline_m: float) -> np.ndarray:
    """Disparity fx·B/Z in pixels, 0 where Z <= 0."""
    return focal_baseline_over(depth, fx, baseline_m)
