"""Stereo matcher backends behind one call: ``raw_disparity(left, right, matcher, **params)``.

``sgbm`` is OpenCV's semi-global matcher with the pseudo-label preset (its own LR check disabled;
the swap-and-flip check of :mod:`depthcur.core.stereo` is applied on top). ``foundation-stereo``
runs the official NVlabs code and checkpoint from local paths.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from depthcur.core.stereo import SgbmParams, left_right_masks, right_disparity_by_swap_flip, sgbm_disparity

from . import foundation_stereo
from .images import to_gray_uint8


@dataclass
class PseudoLabelSgbm(SgbmParams):
    """curate's SGBM preset (the ``sgbm`` backend's parameters and their defaults)."""

    uniqueness_ratio: int = 10
    #: OpenCV's own LR check is off: the swap-and-flip check replaces it
    disp12_max_diff: int = -1
    speckle_window_size: int = 100
    pre_filter_cap: int = 0
    #: disparity search range in pixels, rounded up to a multiple of 16
    num_disparities: int = 64

    @property
    def search_range(self) -> int:
        return int(np.ceil(self.num_disparities / 16) * 16)


def sgbm_backend(left: np.ndarray, right: np.ndarray, **params: Any) -> np.ndarray:
    """Left-view disparity in pixels from SGBM with :class:`PseudoLabelSgbm` (``params`` override it); 0 = unmatched.

    The pair is padded on the left so the first columns get a full search range; matches that
    land in the padding fail the LR check.
    """
    return sgbm_with_preset(left, right, PseudoLabelSgbm(**params))


def sgbm_with_preset(left: np.ndarray, right: np.ndarray, preset: PseudoLabelSgbm) -> np.ndarray:
    """:func:`sgbm_backend` with its parameters already checked (a pseudo-label checks them once for its two matches)."""
    return sgbm_disparity(left, right, preset, preset.search_range, pad_left=True)


#: name -> backend(left_gray_or_rgb_uint8, right, **params) -> left-view disparity (0 = unmatched)
MATCHERS: dict[str, Callable[..., np.ndarray]] = {
    "sgbm": sgbm_backend,
    "foundation-stereo": foundation_stereo.foundation_stereo_disparity,
}


def raw_disparity(left: np.ndarray, right: np.ndarray, matcher: str = "sgbm", **params: Any) -> np.ndarray:
    """Left-view disparity from the named backend, without any consistency check."""
    return prepared_matcher(matcher, **params)(left, right)


def prepared_matcher(matcher: str = "sgbm", **params: Any) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """``raw_disparity`` as a function of the pair, its parameters checked once (an LR check matches twice)."""
    if matcher not in MATCHERS:
        raise ValueError(f"unknown matcher {matcher!r}; choose one of {', '.join(MATCHERS)}")
    backend = MATCHERS[matcher]
    if backend is sgbm_backend:
        preset = PseudoLabelSgbm(**params)

        def match(left: np.ndarray, right: np.ndarray) -> np.ndarray:
            left, right = to_gray_uint8(left, name="left"), to_gray_uint8(right, name="right")
            _check_pair_size(left, right)
            return sgbm_with_preset(left, right, preset)
    else:
        def match(left: np.ndarray, right: np.ndarray) -> np.ndarray:
            _check_pair_size(left, right)
            return backend(left, right, **params)
    return match


def _check_pair_size(left: np.ndarray, right: np.ndarray) -> None:
    """The two views of a pair have one size (curate.io.files.check_same_size is the file readers' check)."""
    if left.shape[:2] != right.shape[:2]:
        raise ValueError(f"left {left.shape} and right {right.shape} images differ in size")


@dataclass
class StereoMatch:
    """Left-view disparity plus where the matcher found a match and where it passed the LR check (and the
    two unchecked disparities the confidence scores read)."""

    disparity: np.ndarray      # float32 px, LR-checked: 0 where not consistent
    matched: np.ndarray        # bool, matcher gave a disparity
    consistent: np.ndarray     # bool, matched and LR-consistent
    raw: np.ndarray            # float32 px, the matcher's left-view disparity before the LR check
    right: np.ndarray          # float32 px, right-view disparity from swap-and-flip, NaN = unmatched

    @property
    def lr_consistent_ratio(self) -> float:
        matched = np.count_nonzero(self.matched)
        return np.count_nonzero(self.consistent) / matched if matched else 0.0


def match_with_lr_check(left: np.ndarray, right: np.ndarray, matcher: str = "sgbm", *,
                        lr_threshold_px: float = 1.0, **params: Any) -> StereoMatch:
    """Match a rectified pair and LR-check it by swap-and-flip (threshold in pixels)."""
    match = prepared_matcher(matcher, **params)
    disp_left = match(left, right)
    disp_right = right_disparity_by_swap_flip(left, right, match)
    matched, consistent = left_right_masks(disp_left, disp_right, lr_threshold_px)
    checked = disp_left.astype(np.float32, copy=True)
    np.copyto(checked, 0, where=~consistent)   # quicker than np.where's select
    return StereoMatch(checked, matched, consistent, disp_left, disp_right)


def match_pair(left: np.ndarray, right: np.ndarray, matcher: str = "sgbm", *, lr_threshold_px: float = 1.0,
               **params: Any) -> tuple[np.ndarray, np.ndarray]:
    """(disparity_px float32, valid bool) for a rectified pair (uint8 gray or RGB), LR-checked."""
    result = match_with_lr_check(left, right, matcher, lr_threshold_px=lr_threshold_px, **params)
    return result.disparity, result.consistent
