"""Depth, boundary, stereo and FOV metrics (small functions; numpy only).

Conventions: depth maps are H×W float metres, 0 = invalid. A metric is computed on the
*evaluated* pixels: GT valid (``gt > 0``, finite, and inside the optional ``valid``
mask) **and** a prediction present (``pred > 0``). ``coverage`` is the fraction of the
GT-valid pixels that have a prediction, so a sensor with holes is scored on precision
*and* coverage, side by side.

- ``absrel`` mean |p-g|/g · ``rmse`` sqrt mean (p-g)² [m] · ``mae`` mean |p-g| [m]
- ``log10`` mean |log10 p - log10 g| · ``delta{1,2,3}`` fraction with max(p/g, g/p) < 1.25^k
- ``irmse`` sqrt mean (1/p - 1/g)² in 1/km (KITTI depth-completion convention)
"""

from __future__ import annotations

import math

import numpy as np

from .align import apply_alignment

DEPTH_METRICS = ("absrel", "rmse", "mae", "log10", "delta1", "delta2", "delta3", "irmse")
#: DepthPro's scale-invariant boundary F1 averages F1 over these depth-ratio thresholds
BOUNDARY_THRESHOLDS = (1.05, 1.25, 10)


class EvalInputError(ValueError):
    """Bad evaluation input; the message names the field (pred / gt / valid) and where it came from."""

    def __init__(self, message: str, *, field: str, where: str = ""):
        self.field = field
        self.where = where
        prefix = f"{where}: " if where else ""
        super().__init__(f"{prefix}{field}: {message}")


# ---------------------------------------------------------------- input checks


def check_maps(pred: np.ndarray, gt: np.ndarray, valid: np.ndarray | None = None, *,
               where: str = "") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validate shapes and values; return (pred, gt, gt_valid mask)."""
    pred = np.asarray(pred)
    gt = np.asarray(gt)
    if gt.ndim != 2:
        raise EvalInputError(f"expected an H×W depth map, got shape {gt.shape}", field="gt", where=where)
    if pred.shape != gt.shape:
        raise EvalInputError(f"shape {pred.shape} does not match gt shape {gt.shape}", field="pred", where=where)
    if not np.isfinite(pred).all():
        bad = int((~np.isfinite(pred)).sum())
        raise EvalInputError(f"{bad} NaN/inf value(s) in the prediction", field="pred", where=where)
    gt_valid = np.isfinite(gt) & (gt > 0)
    if valid is not None:
        valid = np.asarray(valid)
        if valid.shape != gt.shape:
            raise EvalInputError(f"shape {valid.shape} does not match gt shape {gt.shape}", field="valid",
                                 where=where)
        gt_valid &= valid.astype(bool)
    if not gt_valid.any():
        raise EvalInputError("no valid ground-truth pixel (all zero, non-finite or masked out)", field="gt",
                             where=where)
    return pred.astype(np.float32, copy=False), np.where(gt_valid, gt, 0).astype(np.float32), gt_valid


# ---------------------------------------------------------------- depth metrics


def depth_errors(pred: np.ndarray, gt: np.ndarray) -> dict[str, float]:
    """The standard depth metrics on matching 1-D arrays of positive values."""
    p, g = pred.astype(np.float64), gt.astype(np.float64)
    diff = p - g
    ratio = np.maximum(p / g, g / p)
    return {
        "absrel": float(np.mean(np.abs(diff) / g)),
        "rmse": float(np.sqrt(np.mean(diff ** 2))),
        "mae": float(np.mean(np.abs(diff))),
        "log10": float(np.mean(np.abs(np.log10(p) - np.log10(g)))),
        "delta1": float(np.mean(ratio < 1.25)),
        "delta2": float(np.mean(ratio < 1.25 ** 2)),
        "delta3": float(np.mean(ratio < 1.25 ** 3)),
        "irmse": float(np.sqrt(np.mean((1000.0 / p - 1000.0 / g) ** 2))),
    }


def compute(pred: np.ndarray, gt: np.ndarray, valid: np.ndarray | None = None, align: str = "none", *,
            where: str = "") -> dict[str, float]:
    """Depth metrics of ``pred`` against ``gt`` after the chosen alignment.

    ``align`` is one of ``none`` (metric), ``scale``, ``scale_l1``, ``affine``,
    ``disparity_affine``; it is fitted on the evaluated pixels. The result also has
    ``coverage``, ``n_pixels`` and the alignment coefficients (``align_scale``,
    ``align_shift``). With no prediction on any valid pixel the errors are NaN and
    coverage is 0.
    """
    pred, gt, gt_valid = check_maps(pred, gt, valid, where=where)
    evaluated = gt_valid & (pred > 0)
    n_valid = int(gt_valid.sum())
    result: dict[str, float] = {"coverage": float(evaluated.sum()) / n_valid, "n_pixels": int(evaluated.sum())}
    if not evaluated.any():
        return {**{name: math.nan for name in DEPTH_METRICS}, **result}
    aligned, coefficients = apply_alignment(pred, gt, evaluated, align)
    result.update(depth_errors(aligned[evaluated], gt[evaluated]))
    result.update({f"align_{name}": value for name, value in coefficients.items()})
    return result


# ---------------------------------------------------------------- boundary F1 (DepthPro)


def _along(array: np.ndarray, axis: int, start: int, stop: int | None) -> np.ndarray:
    """array[start:stop] along ``axis`` as a view (np.take would copy through fancy indexing)."""
    index = [slice(None)] * array.ndim
    index[axis] = slice(start, stop)
    return array[tuple(index)]


def _suppress_non_maxima(ratio: np.ndarray, axis: int) -> np.ndarray:
    """True where a neighbour-pair ratio is >= the ratios of the adjacent pairs along ``axis``."""
    padded = np.pad(ratio, [(1, 1) if a == axis else (0, 0) for a in range(ratio.ndim)], constant_values=0)
    before = _along(padded, axis, 0, ratio.shape[axis])
    after = _along(padded, axis, 2, None)
    return (ratio >= before) & (ratio >= after)


def edge_strengths(depth: np.ndarray, valid: np.ndarray) -> list[np.ndarray]:
    """DepthPro's foreground/background relations between 4-neighbours, as ratios.

    For each direction (left, top, right, bottom) the value at a neighbour pair is the
    depth ratio far/near; the pair is an occluding contour at threshold t when the ratio
    exceeds t. Pairs with an invalid pixel get 0 (never an edge). Non-maximum suppression
    along the direction keeps one edge per ramp, as DepthPro's thinned variant does.
    Computing the ratios once lets every threshold reuse them.
    """
    safe = np.where(valid, depth, 1.0).astype(np.float64)
    strengths = []
    for axis in (1, 0):
        first, second = _along(safe, axis, 0, -1), _along(safe, axis, 1, None)
        pair_valid = _along(valid, axis, 0, -1) & _along(valid, axis, 1, None)
        for ratio in (first / second, second / first):   # first pixel farther / second pixel farther
            keep = pair_valid & _suppress_non_maxima(ratio, axis)
            strengths.append(np.where(keep, ratio, 0.0))
    return strengths


def _f1_from_edges(pred_edges: list[np.ndarray], gt_edges: list[np.ndarray]) -> float:
    precisions, recalls = [], []
    for p, g in zip(pred_edges, gt_edges):
        n_pred, n_gt = int(p.sum()), int(g.sum())
        if n_pred == 0 and n_gt == 0:
            continue
        hits = int((p & g).sum())
        precisions.append(hits / max(n_pred, 1))
        recalls.append(hits / max(n_gt, 1))
    if not precisions:
        return math.nan
    precision, recall = float(np.mean(precisions)), float(np.mean(recalls))
    return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


def _strength_pair(pred: np.ndarray, gt: np.ndarray, gt_valid: np.ndarray | None):
    gt_valid = (gt > 0) if gt_valid is None else gt_valid
    return edge_strengths(pred, (pred > 0) & gt_valid), edge_strengths(gt, gt_valid)


def boundary_f1(pred: np.ndarray, gt: np.ndarray, threshold: float, gt_valid: np.ndarray | None = None) -> float:
    """F1 of predicted vs GT occluding contours at one depth-ratio threshold.

    Precision and recall are averaged over the four directions (as in DepthPro), skipping a
    direction where neither map has an edge so identical maps always score 1. Pairs touching
    an invalid GT pixel are ignored; a missing prediction (0) never makes an edge.
    Returns NaN when neither map has any edge.
    """
    pred_strength, gt_strength = _strength_pair(pred, gt, gt_valid)
    return _f1_from_edges([s > threshold for s in pred_strength], [s > threshold for s in gt_strength])


def scale_invariant_boundary_f1(pred: np.ndarray, gt: np.ndarray, gt_valid: np.ndarray | None = None,
                                thresholds: tuple[float, float, int] = BOUNDARY_THRESHOLDS) -> float:
    """DepthPro's boundary F1: F1 averaged over ratio thresholds, weighted by the threshold."""
    t_min, t_max, count = thresholds
    ts = np.linspace(t_min, t_max, count)
    pred_strength, gt_strength = _strength_pair(pred, gt, gt_valid)
    scores = np.array([_f1_from_edges([s > t for s in pred_strength], [s > t for s in gt_strength]) for t in ts])
    keep = np.isfinite(scores)
    if not keep.any():
        return math.nan
    weights = ts[keep] / ts[keep].sum()
    return float(np.sum(scores[keep] * weights))


# ---------------------------------------------------------------- stereo and FOV


def stereo_metrics(pred_disparity: np.ndarray, gt_disparity: np.ndarray, *, where: str = "") -> dict[str, float]:
    """EPE (px), BP-1.0 and bad-2.0 (fraction of pixels with error > 1 / 2 px) and density.

    Errors are over pixels where both disparities are valid (> 0); ``density`` is the
    fraction of valid-GT pixels that have a predicted disparity.
    """
    pred, gt, gt_valid = check_maps(pred_disparity, gt_disparity, where=where)
    both = gt_valid & (pred > 0)
    density = float(both.sum()) / float(gt_valid.sum())
    if not both.any():
        return {"epe": math.nan, "bp1": math.nan, "bad2": math.nan, "density": density}
    error = np.abs(pred[both].astype(np.float64) - gt[both])
    return {"epe": float(error.mean()), "bp1": float(np.mean(error > 1.0)), "bad2": float(np.mean(error > 2.0)),
            "density": density}


def field_of_view_deg(focal_px: float, size_px: int) -> float:
    return math.degrees(2.0 * math.atan(size_px / (2.0 * focal_px)))


def fov_error_deg(pred_focal_px: float, gt_focal_px: float, size_px: int) -> float:
    """|FOV(pred) - FOV(gt)| in degrees along one image axis of ``size_px`` pixels."""
    if pred_focal_px <= 0 or gt_focal_px <= 0:
        raise EvalInputError(f"focal lengths must be positive (pred {pred_focal_px}, gt {gt_focal_px})",
                             field="focal")
    return abs(field_of_view_deg(pred_focal_px, size_px) - field_of_view_deg(gt_focal_px, size_px))
