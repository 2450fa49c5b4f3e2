"""Closed-form alignment of a prediction to ground truth (MoGe-style evaluation).

Every solver takes 1-D arrays of matching predicted and GT values (already restricted
to the pixels used for fitting) and returns the coefficients; :func:`apply_alignment`
turns a full prediction map into the aligned one. Least squares is the default; the
``scale_l1`` variant (weighted median) is the robust option for outlier-heavy maps.
"""

from __future__ import annotations

import numpy as np

MIN_DEPTH = 1e-4  # metres
ALIGNMENTS = ("none", "scale", "scale_l1", "affine", "disparity_affine")


def solve_scale(pred: np.ndarray, gt: np.ndarray) -> float:
    """s minimising sum (s*p - g)^2: s = <p, g> / <p, p>."""
    p, g = pred.astype(np.float64), gt.astype(np.float64)
    denom = float(np.dot(p, p))
    if denom <= 0:
        raise ValueError("scale alignment needs at least one non-zero prediction")
    return float(np.dot(p, g) / denom)


def solve_scale_l1(pred: np.ndarray, gt: np.ndarray) -> float:
    """s minimising sum |s*p - g| (p > 0): the p-weighted median of g / p."""
    p, g = pred.astype(np.float64), gt.astype(np.float64)
    ratios = g / p
    order = np.argsort(ratios)
    cumulative = np.cumsum(p[order])
    index = int(np.searchsorted(cumulative, 0.5 * cumulative[-1]))
    return float(ratios[order][index])


def solve_affine(pred: np.ndarray, gt: np.ndarray) -> tuple[float, float]:
    """(s, t) minimising sum (s*p + t - g)^2, solved from the centred normal equations."""
    p, g = pred.astype(np.float64), gt.astype(np.float64)
    p_mean, g_mean = p.mean(), g.mean()
    var = float(np.dot(p - p_mean, p - p_mean))
    if var <= 0:
        # a constant prediction: only a shift is determined
        return 0.0, float(g_mean)
    scale = float(np.dot(p - p_mean, g - g_mean) / var)
    return scale, float(g_mean - scale * p_mean)


def apply_alignment(pred: np.ndarray, gt: np.ndarray, fit: np.ndarray, align: str) -> tuple[np.ndarray, dict]:
    """Align ``pred`` (H×W metres) to ``gt`` using the pixels in ``fit``.

    Returns the aligned map (pixels that came in as 0 stay 0) and the solved
    coefficients. ``disparity_affine`` fits 1/pred to 1/gt and converts back, clamping
    the aligned disparity at 1/max(gt) so no depth becomes negative or infinite.
    """
    if align not in ALIGNMENTS:
        raise ValueError(f"unknown alignment {align!r}; choose one of {', '.join(ALIGNMENTS)}")
    if align == "none":
        return pred, {}
    has_pred = pred > 0
    p, g = pred[fit].astype(np.float64), gt[fit].astype(np.float64)
    out = np.zeros_like(pred, dtype=np.float32)
    if align == "scale":
        s = solve_scale(p, g)
        out[has_pred] = s * pred[has_pred]
        return out, {"scale": s}
    if align == "scale_l1":
        s = solve_scale_l1(p, g)
        out[has_pred] = s * pred[has_pred]
        return out, {"scale": s}
    if align == "affine":
        s, t = solve_affine(p, g)
        # an affine fit can cross zero on a few pixels; keep them positive so log metrics exist
        out[has_pred] = np.maximum(s * pred[has_pred] + t, MIN_DEPTH)
        return out, {"scale": s, "shift": t}
    s, t = solve_affine(1.0 / p, 1.0 / g)
    min_disparity = 1.0 / float(g.max())
    disparity = np.maximum(s / pred[has_pred].astype(np.float64) + t, min_disparity)
    out[has_pred] = 1.0 / disparity
    return out, {"scale": s, "shift": t}
