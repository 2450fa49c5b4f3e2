"""Confidence scores for stereo pseudo-labels, and their precision against GT disparity.

Each score is a map over the left view, higher = more trustworthy; a pseudo-label keeps a pixel
whose score reaches the config's threshold:

- ``zncc``: zero-mean normalised cross-correlation of the left window and the right window at
  the matched disparity (:func:`depthcur.core.stereo.zncc_score`, the score render's sensor uses);
- ``wls``: the confidence map of OpenCV ximgproc's disparity WLS filter (0-255), built from the
  left and right disparities (LR agreement, lowered near disparity discontinuities);
- ``texture``: local IR contrast, the standard deviation of a 5×5 window (0-255 units).

Precision is judged as the stereo benchmarks do: bad-2 is the share of kept pixels (with GT)
whose fx·B/Z disparity is more than 2 px off, density the share of GT pixels that were kept.
"""

from __future__ import annotations

import numpy as np

from depthcur.core.stereo import zncc_score

#: ZNCC window side (px); render's sensor uses the SGBM block + 2, i.e. 7 for the default block of 5
ZNCC_WINDOW = 7
#: bad-N threshold (px) of the reported precision
BAD_PX = 2.0
#: thresholds each filter is swept over for the precision-density curve (the first keeps every pixel)
CURVE_THRESHOLDS = {
    "zncc": (-1.0, 0.2, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95),
    "wls": (0.0, 64.0, 128.0, 192.0, 224.0, 240.0, 250.0, 254.0),
    "texture": (0.0, 1.0, 2.0, 4.0, 6.0, 8.0, 12.0, 16.0),
}


def local_texture(image: np.ndarray, window: int = 5) -> np.ndarray:
    """Standard deviation of intensity in a window around each pixel (a matching-confidence proxy)."""
    import cv2

    img = image.astype(np.float32)
    mean = cv2.blur(img, (window, window))
    variance = cv2.blur(np.square(img, out=img), (window, window))
    variance -= np.square(mean, out=mean)
    return np.sqrt(np.maximum(variance, 0, out=variance), out=variance)


def zncc_confidence(left: np.ndarray, right: np.ndarray, disparity: np.ndarray) -> np.ndarray:
    """ZNCC at each pixel's matched disparity; -1 (never kept by a threshold above -1) where unmatched."""
    score = zncc_score(left, right, disparity, ZNCC_WINDOW)
    return np.where(disparity > 0, score, -1.0).astype(np.float32)


def wls_confidence(left: np.ndarray, right: np.ndarray, disp_left: np.ndarray, disp_right: np.ndarray
                   ) -> np.ndarray:
    """ximgproc's WLS-filter confidence (0-255) of a left and a right (positive, NaN = none) disparity."""
    import cv2

    height, width = left.shape
    fixed_left = np.rint(np.nan_to_num(disp_left) * 16).astype(np.int16)
    fixed_right = np.rint(-np.nan_to_num(disp_right) * 16).astype(np.int16)  # OpenCV's right matcher: negative
    wls = cv2.ximgproc.createDisparityWLSFilterGeneric(True)
    colour = [cv2.cvtColor(image, cv2.COLOR_GRAY2BGR) for image in (left, right)]
    wls.filter(fixed_left, colour[0], disparity_map_right=fixed_right, ROI=(0, 0, width, height),
               right_view=colour[1])
    return wls.getConfidenceMap().astype(np.float32)


def bad_counts(kept: np.ndarray, disparity: np.ndarray, disparity_gt: np.ndarray) -> tuple[int, int]:
    """(kept pixels with GT, of those more than BAD_PX off) for fx·B/Z disparities."""
    judged = disparity_gt > 0
    judged &= kept
    # whole-map arithmetic and masked counts: the same counts as selecting first, without the selections
    error = np.subtract(disparity, disparity_gt)
    bad = np.abs(error, out=error) > BAD_PX
    bad &= judged
    return int(np.count_nonzero(judged)), int(np.count_nonzero(bad))


def precision_stats(kept: np.ndarray, disparity: np.ndarray, disparity_gt: np.ndarray) -> dict[str, float]:
    """``stereo_bad2`` (share of kept pixels with GT more than 2 px off) and ``stereo_density``."""
    n_gt = np.count_nonzero(disparity_gt > 0)
    n_kept, n_bad = bad_counts(kept, disparity, disparity_gt)
    return {"stereo_bad2": n_bad / n_kept if n_kept else 0.0, "stereo_density": n_kept / n_gt if n_gt else 0.0}


def precision_curve(*, bare: np.ndarray, checked: np.ndarray, kept: np.ndarray, scores: dict[str, np.ndarray],
                    disparity: np.ndarray, disparity_gt: np.ndarray) -> dict:
    """Counts for the precision-density curve of one pair (the report sums them over pairs).

    ``disparity``: fx·B/Z of the matcher's own output; ``bare``: where the matcher gave one;
    ``checked``: after the LR check and range filter, on which each score is swept alone; ``kept``:
    the configured label. ``points`` maps a label to rows [threshold or None, n_kept, n_bad], out of
    ``n_gt`` GT pixels.
    """
    points = {name: [[None, *bad_counts(mask, disparity, disparity_gt)]]
              for name, mask in (("bare", bare), ("lr_check", checked), ("configured", kept))}
    for name, score in scores.items():
        points[name] = [[t, *bad_counts(checked & (score >= t), disparity, disparity_gt)]
                        for t in CURVE_THRESHOLDS[name]]
    return {"n_gt": int(np.count_nonzero(disparity_gt > 0)), "points": points}
