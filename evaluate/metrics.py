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

from . import kernels
from .align import NO_ALIGNMENT, Alignment, fit_alignment

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


def _check_gt_shape(gt: np.ndarray, where: str) -> None:
    if gt.ndim != 2:
        raise EvalInputError(f"expected an H×W depth map, got shape {gt.shape}", field="gt", where=where)


def check_pred(pred: np.ndarray, gt_shape: tuple[int, ...], *, where: str = "", finite: bool = True) -> np.ndarray:
    """Validate a prediction against the GT shape; return it as float32. ``finite=False`` leaves the NaN/inf
    check to the caller (the metric kernels count them in their pass)."""
    pred = np.asarray(pred)
    if pred.shape != gt_shape:
        raise EvalInputError(f"shape {pred.shape} does not match gt shape {gt_shape}", field="pred", where=where)
    if finite and not np.isfinite(pred).all():
        raise _non_finite_error(int((~np.isfinite(pred)).sum()), "pred", where)
    return pred.astype(np.float32, copy=False)


def _non_finite_error(count: int, field: str, where: str) -> EvalInputError:
    return EvalInputError(f"{count} NaN/inf value(s) in the prediction", field=field, where=where)


def check_reference(gt: np.ndarray, valid: np.ndarray | None = None, *, where: str = ""
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Validate the GT side; return (gt with invalid pixels 0 as float32, gt_valid mask)."""
    gt = np.asarray(gt)
    _check_gt_shape(gt, where)
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
    return np.where(gt_valid, gt, 0).astype(np.float32), gt_valid


def check_maps(pred: np.ndarray, gt: np.ndarray, valid: np.ndarray | None = None, *,
               where: str = "") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validate shapes and values; return (pred, gt, gt_valid mask)."""
    gt = np.asarray(gt)
    _check_gt_shape(gt, where)
    pred = check_pred(pred, gt.shape, where=where)
    gt, gt_valid = check_reference(gt, valid, where=where)
    return pred, gt, gt_valid


# ---------------------------------------------------------------- depth metrics


def _metric_from_sums(name: str, sums: np.ndarray, counts: np.ndarray) -> float:
    """One depth metric of a region from its term sums and counts (``kernels.region_sums``)."""
    n = int(counts[kernels.COUNT_PIXELS])
    if name in ("delta1", "delta2", "delta3"):
        return int(counts[(kernels.COUNT_D1, kernels.COUNT_D2, kernels.COUNT_D3)[int(name[-1]) - 1]]) / n
    column = {"absrel": kernels.SUM_ABS_REL, "rmse": kernels.SUM_SQ, "mae": kernels.SUM_ABS,
              "log10": kernels.SUM_LOG10, "irmse": kernels.SUM_INV_SQ}[name]
    mean = float(sums[column]) / n
    return math.sqrt(mean) if name in ("rmse", "irmse") else mean


def _log10(values: np.ndarray) -> np.ndarray:
    """log10 as float64 by numpy's vectorised log10 for prediction and GT alike (a prediction equal to the GT
    has a log error of exactly 0); -inf/NaN where values <= 0, which the metrics never read."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log10(values, dtype=np.float64)


def _thousand_over(values: np.ndarray) -> np.ndarray:
    """1000 / values as float64 (the inverse-depth term in 1/km); inf where values are 0, never read."""
    with np.errstate(divide="ignore"):
        return np.divide(1000.0, values, dtype=np.float64)


class DepthReference:
    """The GT side of the depth metrics, prepared once and reused for every prediction scored against it:
    the checked GT, its valid pixels, the GT parts of the error terms, and the labels of the regions
    scored besides all valid pixels (region 0).

    A region added with ``aligned=True`` (the missed-input pixels) is scored on the aligned prediction where
    that is > 0; one with ``aligned=False`` (FDE regions) on the prediction as given.
    """

    def __init__(self, gt: np.ndarray, gt_valid: np.ndarray):
        self.gt, self.gt_valid = gt, gt_valid
        self.n_valid = int(gt_valid.sum())
        self.gt_flat = np.ascontiguousarray(gt).ravel()
        self.log_gt, self.inv_gt = _log10(self.gt_flat), _thousand_over(self.gt_flat)
        self.labels = gt_valid.ravel().astype(np.uint64)
        self.region_sizes = [self.n_valid]
        self.aligned_regions = np.uint64(1)
        #: the region of all valid pixels scored on the prediction as given (0: none); it needs no label bit
        self.raw_all = 0
        self._known: dict[tuple[bool, bytes], int] = {}

    def add_region(self, pixels: np.ndarray, aligned: bool) -> int | None:
        """Label ``pixels`` (H×W bool within the valid pixels) as a region; its index (the same for a
        region added twice), or None when the labels are full (the caller scores it with :func:`compute`)."""
        key = (aligned, np.packbits(pixels).tobytes())
        if key in self._known:
            return self._known[key]
        index, size = len(self.region_sizes), int(pixels.sum())
        if index >= kernels.MAX_REGIONS:
            return None
        if size == self.n_valid and not aligned:     # all valid pixels, unaligned: region 0's twin
            self.raw_all = index
        else:
            np.bitwise_or(self.labels, np.uint64(1) << np.uint64(index), out=self.labels, where=pixels.ravel())
        self.region_sizes.append(size)
        if aligned:
            self.aligned_regions |= np.uint64(1) << np.uint64(index)
        self._known[key] = index
        return index

    def score(self, pred: np.ndarray, align: str, *, where: str = "") -> DepthScores:
        """Every region's sums for one prediction (shape-checked; NaN/inf refused), after fitting ``align``
        on its evaluated pixels (GT valid and a prediction present)."""
        pred = check_pred(pred, self.gt.shape, where=where, finite=align != "none")
        alignment, aligned = NO_ALIGNMENT, pred
        if align != "none":
            evaluated = self.gt_valid & (pred > 0)
            if evaluated.any():
                alignment = fit_alignment(pred, self.gt, evaluated, align)
                aligned = kernels.align_map(np.ascontiguousarray(pred), *alignment.kernel_args())
        flat, aligned_flat = np.ascontiguousarray(pred).ravel(), np.ascontiguousarray(aligned).ravel()
        sums, counts, non_finite = kernels.region_sums(
            flat, aligned_flat, _log10(aligned_flat), aligned is pred, self.gt_flat, self.log_gt, self.inv_gt,
            self.labels, len(self.region_sizes), self.aligned_regions, self.raw_all)
        if aligned is pred and self.raw_all:     # unaligned, the twin of region 0 has region 0's sums
            sums[self.raw_all], counts[self.raw_all] = sums[0], counts[0]
        if non_finite:
            raise _non_finite_error(non_finite, "pred", where)
        return DepthScores(self, alignment, sums, counts)


class DepthScores:
    """The depth-metric sums of one prediction over a reference's regions."""

    def __init__(self, reference: DepthReference, alignment: Alignment, sums: np.ndarray, counts: np.ndarray):
        self.reference, self.alignment, self.sums, self.counts = reference, alignment, sums, counts

    def n_scored(self, region: int = 0) -> int:
        """Pixels of ``region`` with a prediction (an aligned one > 0 in an aligned region)."""
        return int(self.counts[region, kernels.COUNT_PIXELS])

    def errors(self, region: int = 0, names: tuple[str, ...] = DEPTH_METRICS) -> dict[str, float]:
        """The metrics ``names`` over ``region``; NaN when it has no scored pixel."""
        if not self.n_scored(region):
            return {name: math.nan for name in names}
        return {name: _metric_from_sums(name, self.sums[region], self.counts[region]) for name in names}

    def coverage(self, region: int = 0) -> float:
        return self.n_scored(region) / self.reference.region_sizes[region]

    def metrics(self) -> dict[str, float]:
        """The depth metrics over all valid pixels, with ``coverage``, ``n_pixels`` and ``align_*``."""
        n = self.n_scored()
        result: dict[str, float] = {"coverage": float(n) / self.reference.n_valid, "n_pixels": n}
        if not n:
            return {**self.errors(), **result}
        result.update(self.errors())
        result.update({f"align_{name}": value for name, value in self.alignment.coefficients.items()})
        return result


def depth_errors(pred: np.ndarray, gt: np.ndarray) -> dict[str, float]:
    """The standard depth metrics on matching 1-D arrays of positive values."""
    gt = np.asarray(gt, dtype=np.float32)
    return DepthReference(gt, np.ones(gt.shape, dtype=bool)).score(np.asarray(pred), "none").errors()


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
    return DepthReference(gt, gt_valid).score(pred, align, where=where).metrics()


# ---------------------------------------------------------------- boundary F1 (DepthPro)


def edge_strengths(depth: np.ndarray, valid: np.ndarray) -> list[np.ndarray]:
    """DepthPro's foreground/background relations between 4-neighbours, as ratios.

    For each direction (left, right, top, bottom farther) the value at a neighbour pair is the
    depth ratio far/near; the pair is an occluding contour at threshold t when the ratio
    exceeds t. Pairs with an invalid pixel get 0 (never an edge). Non-maximum suppression
    along the direction keeps one edge per ramp, as DepthPro's thinned variant does.
    Computing the ratios once lets every threshold reuse them.
    """
    depth = np.asarray(depth)
    if depth.dtype not in (np.float32, np.float64):
        depth = depth.astype(np.float64)
    return list(kernels.edge_strength_maps(np.ascontiguousarray(depth), np.ascontiguousarray(valid, dtype=bool)))


def _f1_from_counts(n_preds: list[int], n_gts: list[int], hits: list[int]) -> float:
    """F1 from per-direction edge counts: precision and recall averaged over the directions
    where either map has an edge; NaN when neither has any."""
    precisions, recalls = [], []
    for n_pred, n_gt, n_hit in zip(n_preds, n_gts, hits):
        if n_pred == 0 and n_gt == 0:
            continue
        precisions.append(n_hit / max(n_pred, 1))
        recalls.append(n_hit / max(n_gt, 1))
    if not precisions:
        return math.nan
    precision, recall = float(np.mean(precisions)), float(np.mean(recalls))
    return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


def _counts_above(strength: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """How many strengths exceed each threshold: one sort of the few candidates instead of a
    full-map comparison per threshold (NaN exceeds nothing, as with ``>``)."""
    candidates = np.sort(strength[strength > thresholds.min()])
    return len(candidates) - np.searchsorted(candidates, thresholds, side="right")


def _counts_from_histogram(histogram: np.ndarray) -> np.ndarray:
    """Per direction, how many values exceed each threshold, from bins of how many thresholds each exceeds."""
    return np.cumsum(histogram[:, ::-1], axis=1)[:, ::-1][:, 1:]


class BoundaryReference:
    """The GT side of boundary F1, prepared once and reused for every prediction scored against it:
    GT edge strengths and their counts above each threshold. A pair is a hit at threshold t when
    both strengths exceed t, i.e. when their minimum does, so hits are counted like edges."""

    def __init__(self, gt: np.ndarray, gt_valid: np.ndarray | None, thresholds: np.ndarray):
        self.gt_valid = np.ascontiguousarray((gt > 0) if gt_valid is None else gt_valid, dtype=bool)
        self.thresholds = np.asarray(thresholds, dtype=np.float64)
        self.gt_strength = edge_strengths(gt, self.gt_valid)
        self.gt_counts = [_counts_above(s, self.thresholds) for s in self.gt_strength]

    def f1_per_threshold(self, pred: np.ndarray) -> np.ndarray:
        pred = np.asarray(pred)
        if pred.dtype not in (np.float32, np.float64):
            pred = pred.astype(np.float64)
        pred_hist, hit_hist = kernels.boundary_histograms(np.ascontiguousarray(pred), self.gt_valid,
                                                          *self.gt_strength, self.thresholds)
        pred_counts, hit_counts = _counts_from_histogram(pred_hist), _counts_from_histogram(hit_hist)
        return np.array([_f1_from_counts([int(c[i]) for c in pred_counts], [int(c[i]) for c in self.gt_counts],
                                         [int(c[i]) for c in hit_counts]) for i in range(len(self.thresholds))])

    def scale_invariant_f1(self, pred: np.ndarray) -> float:
        """F1 averaged over the thresholds, weighted by the threshold."""
        scores = self.f1_per_threshold(pred)
        keep = np.isfinite(scores)
        if not keep.any():
            return math.nan
        ts = self.thresholds
        weights = ts[keep] / ts[keep].sum()
        return float(np.sum(scores[keep] * weights))


def boundary_thresholds(thresholds: tuple[float, float, int] = BOUNDARY_THRESHOLDS) -> np.ndarray:
    t_min, t_max, count = thresholds
    return np.linspace(t_min, t_max, count)


def boundary_f1(pred: np.ndarray, gt: np.ndarray, threshold: float, gt_valid: np.ndarray | None = None) -> float:
    """F1 of predicted vs GT occluding contours at one depth-ratio threshold.

    Precision and recall are averaged over the four directions (as in DepthPro), skipping a
    direction where neither map has an edge so identical maps always score 1. Pairs touching
    an invalid GT pixel are ignored; a missing prediction (0) never makes an edge.
    Returns NaN when neither map has any edge.
    """
    return float(BoundaryReference(gt, gt_valid, np.array([threshold])).f1_per_threshold(pred)[0])


def scale_invariant_boundary_f1(pred: np.ndarray, gt: np.ndarray, gt_valid: np.ndarray | None = None,
                                thresholds: tuple[float, float, int] = BOUNDARY_THRESHOLDS) -> float:
    """DepthPro's boundary F1: F1 averaged over ratio thresholds, weighted by the threshold."""
    return BoundaryReference(gt, gt_valid, boundary_thresholds(thresholds)).scale_invariant_f1(pred)


# ---------------------------------------------------------------- stereo and FOV


def stereo_metrics(pred_disparity: np.ndarray, gt_disparity: np.ndarray, *, where: str = "") -> dict[str, float]:
    """EPE (px), BP-1.0 and bad-2.0 (fraction of pixels with error > 1 / 2 px) and density.

    Errors are over pixels where both disparities are valid (> 0); ``density`` is the
    fraction of valid-GT pixels that have a predicted disparity.
    """
    gt = np.asarray(gt_disparity)
    _check_gt_shape(gt, where)
    check_pred(pred_disparity, gt.shape, where=where)   # the prediction's errors first, as check_maps raises them
    return StereoReference(gt, where=where).metrics(pred_disparity, where=where)


class StereoReference:
    """The GT side of :func:`stereo_metrics`, checked once and reused for every prediction."""

    def __init__(self, gt_disparity: np.ndarray, *, where: str = ""):
        self.gt, self.gt_valid = check_reference(gt_disparity, where=where)
        self.n_valid = int(self.gt_valid.sum())
        self._gt_flat, self._valid_flat = self.gt.ravel(), self.gt_valid.ravel()

    def metrics(self, pred_disparity: np.ndarray, *, where: str = "") -> dict[str, float]:
        pred = check_pred(pred_disparity, self.gt.shape, where=where)
        return self._from_sums(np.ascontiguousarray(pred).ravel(), np.float32(1.0), False, where)

    def metrics_of_depth(self, depth: np.ndarray, fx: float, baseline_m: float, *, where: str = ""
                         ) -> dict[str, float]:
        """The metrics of ``depth`` turned into disparity fx·B/Z (``core.stereo.depth_to_disparity``)."""
        depth = np.asarray(depth)
        if depth.dtype not in (np.float32, np.float64):
            depth = depth.astype(np.float64)
        check_pred(depth, self.gt.shape, where=where, finite=False)
        return self._from_sums(np.ascontiguousarray(depth).ravel(), depth.dtype.type(fx * baseline_m), True, where)

    def _from_sums(self, values: np.ndarray, focal_baseline, convert: bool, where: str) -> dict[str, float]:
        total, n_both, n_bp1, n_bad2, non_finite = kernels.disparity_error_sums(
            values, focal_baseline, convert, self._gt_flat, self._valid_flat)
        if non_finite:
            raise _non_finite_error(non_finite, "pred", where)
        density = float(n_both) / float(self.n_valid)
        if not n_both:
            return {"epe": math.nan, "bp1": math.nan, "bad2": math.nan, "density": density}
        return {"epe": total / n_both, "bp1": n_bp1 / n_both, "bad2": n_bad2 / n_both, "density": density}


def field_of_view_deg(focal_px: float, size_px: int) -> float:
    return math.degrees(2.0 * math.atan(size_px / (2.0 * focal_px)))


def fov_error_deg(pred_focal_px: float, gt_focal_px: float, size_px: int) -> float:
    """|FOV(pred) - FOV(gt)| in degrees along one image axis of ``size_px`` pixels."""
    if pred_focal_px <= 0 or gt_focal_px <= 0:
        raise EvalInputError(f"focal lengths must be positive (pred {pred_focal_px}, gt {gt_focal_px})",
                             field="focal")
    return abs(field_of_view_deg(pred_focal_px, size_px) - field_of_view_deg(gt_focal_px, size_px))
