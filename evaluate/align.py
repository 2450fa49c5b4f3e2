"""Closed-form alignment of a prediction to ground truth (MoGe-style evaluation).

Every solver takes 1-D arrays of matching predicted and GT values (already restricted
to the pixels used for fitting) and returns the coefficients; :func:`fit_alignment` fits
one alignment on a map's pixels, and ``kernels.align_map`` applies it. Least squares is the default; the
``scale_l1`` variant (weighted median) is the robust option for outlier-heavy maps.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MIN_DEPTH = 1e-4  # metres
ALIGNMENTS = ("none", "scale", "scale_l1", "affine", "disparity_affine")
#: the per-pixel arithmetic of each alignment, as ``kernels.aligned_value`` applies it
MODE_NONE, MODE_SCALE, MODE_AFFINE, MODE_DISPARITY_AFFINE = 0, 1, 2, 3
MODES = {"none": MODE_NONE, "scale": MODE_SCALE, "scale_l1": MODE_SCALE, "affine": MODE_AFFINE,
         "disparity_affine": MODE_DISPARITY_AFFINE}


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
    p, g = np.asarray(pred, dtype=np.float64), np.asarray(gt, dtype=np.float64)   # no copy when float64
    p_mean, g_mean = p.mean(), g.mean()
    centred = p - p_mean
    var = float(np.dot(centred, centred))
    if var <= 0:
        # a constant prediction: only a shift is determined
        return 0.0, float(g_mean)
    scale = float(np.dot(centred, g - g_mean) / var)
    return scale, float(g_mean - scale * p_mean)


@dataclass(frozen=True)
class Alignment:
    """A fitted alignment: ``kernels.aligned_value`` applies it per pixel."""

    align: str = "none"
    scale: float = 1.0
    shift: float = 0.0
    #: the lower clamp: MIN_DEPTH for affine depth, 1 / max(gt) for affine disparity
    floor: float = 0.0

    @property
    def coefficients(self) -> dict[str, float]:
        """What the metrics report as ``align_*``."""
        if self.align == "none":
            return {}
        if self.align in ("scale", "scale_l1"):
            return {"scale": self.scale}
        return {"scale": self.scale, "shift": self.shift}

    def kernel_args(self) -> tuple:
        """(mode, scale, shift, floor as float32, then as float64): float32 for the float32 arithmetic numpy
        does on a float32 map with Python coefficients, float64 for the disparity fit."""
        mode = MODES[self.align]
        return (mode, np.float32(self.scale), np.float32(self.shift), np.float32(self.floor),
                float(self.scale), float(self.shift), float(self.floor))


NO_ALIGNMENT = Alignment()


def fit_alignment(pred: np.ndarray, gt: np.ndarray, fit: np.ndarray, align: str) -> Alignment:
    """Fit ``align`` of ``pred`` (H×W metres) to ``gt`` on the pixels in ``fit``."""
    if align not in ALIGNMENTS:
        raise ValueError(f"unknown alignment {align!r}; choose one of {', '.join(ALIGNMENTS)}")
    if align == "none":
        return NO_ALIGNMENT
    p, g = pred[fit].astype(np.float64), gt[fit].astype(np.float64)
    if align == "scale":
        return Alignment(align, scale=solve_scale(p, g))
    if align == "scale_l1":
        return Alignment(align, scale=solve_scale_l1(p, g))
    if align == "affine":
        # an affine fit can cross zero on a few pixels; the floor keeps them positive so log metrics exist
        s, t = solve_affine(p, g)
        return Alignment(align, scale=s, shift=t, floor=MIN_DEPTH)
    s, t = solve_affine(1.0 / p, 1.0 / g)
    return Alignment(align, scale=s, shift=t, floor=1.0 / float(g.max()))
