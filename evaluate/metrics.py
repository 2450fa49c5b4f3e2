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


def _check_gt_shape(gt: np.ndarray, where: str) -> None:
    if gt.ndim != 2:
        raise EvalInputError(f"expected an H×W depth map, got shape {gt.shape}", field="gt", where=where)


def check_pred(pred: np.ndarray, gt_shape: tuple[int, ...], *, where: str = "") -> np.ndarray:
    """Validate a prediction against the GT shape; return it as float32."""
    pred = np.asarray(pred)
    if pred.shape != gt_shape:
        raise EvalInputError(f"shape {pred.shape} does not match gt shape {gt_shape}", field="pred", where=where)
    if not np.isfinite(pred).all():
        bad = int((~np.isfinite(pred)).sum())
        raise EvalInputError(f"{bad} NaN/inf value(s) in the prediction", field="pred", where=where)
    return pred.astype(np.float32, copy=False)


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


def _gt_terms(gt: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The GT-only parts of the error terms: g, log10 g, 1000 / g (float64)."""
    g = gt.astype(np.float64)
    return g, np.log10(g), 1000.0 / g


class ErrorTerms:
    """Per-pixel terms of the depth metrics, each computed when first asked for (``terms["sq"]``).

    A metric over any subset of the pixels is the mean of the subset's terms, so one set of
    terms serves several regions, and a caller that needs three metrics computes three terms.
    ``gt_terms``: the GT parts (g, log10 g, 1000 / g), when prepared already.
    """

    def __init__(self, pred: np.ndarray, gt: np.ndarray | None = None,
                 gt_terms: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None):
        self.p = pred.astype(np.float64)
        self.g, self.log_g, self.inv_g = gt_terms if gt_terms is not None else _gt_terms(gt)
        self._diff: np.ndarray | None = None
        self._terms: dict[str, np.ndarray] = {}

    def __getitem__(self, name: str) -> np.ndarray:
        if name not in self._terms:
            self._terms[name] = getattr(self, f"_{name}")()
        return self._terms[name]

    def diff(self) -> np.ndarray:
        if self._diff is None:
            self._diff = self.p - self.g
        return self._diff

    def _abs(self) -> np.ndarray:
        return np.abs(self.diff())

    def _abs_rel(self) -> np.ndarray:
        return self["abs"] / self.g

    def _sq(self) -> np.ndarray:
        return np.square(self.diff())

    def _abs_log10(self) -> np.ndarray:
        values = np.log10(self.p)
        values -= self.log_g
        return np.abs(values, out=values)

    def _ratio(self) -> np.ndarray:
        return np.maximum(self.p / self.g, self.g / self.p)

    def _inv_sq(self) -> np.ndarray:
        values = 1000.0 / self.p
        values -= self.inv_g
        return np.square(values, out=values)


def _fraction(flags: np.ndarray) -> float:
    """The mean of a boolean array (count / n, exactly what np.mean gives, without a float pass)."""
    return np.count_nonzero(flags) / flags.size if flags.size else math.nan


#: metric -> (its per-pixel term, how the term's values become the metric)
_METRIC_FROM_TERM = {
    "absrel": ("abs_rel", lambda v: float(np.mean(v))),
    "rmse": ("sq", lambda v: float(np.sqrt(np.mean(v)))),
    "mae": ("abs", lambda v: float(np.mean(v))),
    "log10": ("abs_log10", lambda v: float(np.mean(v))),
    "delta1": ("ratio", lambda v: _fraction(v < 1.25)),
    "delta2": ("ratio", lambda v: _fraction(v < 1.25 ** 2)),
    "delta3": ("ratio", lambda v: _fraction(v < 1.25 ** 3)),
    "irmse": ("inv_sq", lambda v: float(np.sqrt(np.mean(v)))),
}


def _errors_from_terms(terms: ErrorTerms | dict[str, np.ndarray], names: tuple[str, ...] = DEPTH_METRICS
                       ) -> dict[str, float]:
    return {name: _METRIC_FROM_TERM[name][1](terms[_METRIC_FROM_TERM[name][0]]) for name in names}


def depth_errors(pred: np.ndarray, gt: np.ndarray) -> dict[str, float]:
    """The standard depth metrics on matching 1-D arrays of positive values."""
    return _errors_from_terms(ErrorTerms(pred, gt))


class DepthReference:
    """The GT side of the depth metrics (checked GT, its valid pixels, the GT parts of the error
    terms), prepared once and reused for every prediction scored against it."""

    def __init__(self, gt: np.ndarray, gt_valid: np.ndarray):
        self.gt, self.gt_valid = gt, gt_valid
        self.n_valid = int(gt_valid.sum())
        self._valid_terms: tuple[np.ndarray, ...] | None = None   # over all valid pixels, once one needs them

    def gt_terms(self, pixels: np.ndarray, n_pixels: int) -> tuple[np.ndarray, ...]:
        """GT parts of the error terms on ``pixels`` (within the valid pixels, ``n_pixels`` of them)."""
        if n_pixels == self.n_valid:
            if self._valid_terms is None:
                self._valid_terms = _gt_terms(self.gt[self.gt_valid])
            return self._valid_terms
        if self._valid_terms is None:
            return _gt_terms(self.gt[pixels])
        chosen = pixels[self.gt_valid]
        return tuple(values[chosen] for values in self._valid_terms)


class DepthTerms:
    """The depth-metric terms of one (aligned) prediction on the pixels of ``pixels`` (H×W bool);
    :meth:`errors` gives the metrics over any subset of them without recomputing a term."""

    def __init__(self, pred: np.ndarray, reference: DepthReference, pixels: np.ndarray, n_pixels: int):
        self.pixels = pixels
        self.terms = ErrorTerms(pred[pixels], gt_terms=reference.gt_terms(pixels, n_pixels))

    def errors(self, subset: np.ndarray | None = None, names: tuple[str, ...] = DEPTH_METRICS) -> dict[str, float]:
        """The metrics ``names`` over ``subset`` (H×W bool within ``pixels``; all of them when None)."""
        if subset is None:
            return _errors_from_terms(self.terms, names)
        chosen = subset[self.pixels]
        needed = {_METRIC_FROM_TERM[name][0] for name in names}
        return _errors_from_terms({term: self.terms[term][chosen] for term in needed}, names)


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
    return AlignedPrediction(pred, DepthReference(gt, gt_valid), align).metrics()


class AlignedPrediction:
    """One checked prediction aligned on its evaluated pixels (GT valid and a prediction present),
    with the depth-metric terms there; regions and the missed-input pixels reuse the fit and terms."""

    def __init__(self, pred: np.ndarray, reference: DepthReference, align: str):
        self.evaluated = reference.gt_valid & (pred > 0)
        self.n_valid = reference.n_valid
        self.n_evaluated = int(self.evaluated.sum())
        self.aligned, self.coefficients = pred, {}
        self.depth_terms = None
        if self.n_evaluated:
            self.aligned, self.coefficients = apply_alignment(pred, reference.gt, self.evaluated, align)
            self.depth_terms = DepthTerms(self.aligned, reference, self.evaluated, self.n_evaluated)

    def metrics(self) -> dict[str, float]:
        result: dict[str, float] = {"coverage": float(self.n_evaluated) / self.n_valid, "n_pixels": self.n_evaluated}
        if self.depth_terms is None:
            return {**{name: math.nan for name in DEPTH_METRICS}, **result}
        result.update(self.depth_terms.errors())
        result.update({f"align_{name}": value for name, value in self.coefficients.items()})
        return result


# ---------------------------------------------------------------- boundary F1 (DepthPro)


def _along(array: np.ndarray, axis: int, start: int, stop: int | None) -> np.ndarray:
    """array[start:stop] along ``axis`` as a view (np.take would copy through fancy indexing)."""
    index = [slice(None)] * array.ndim
    index[axis] = slice(start, stop)
    return array[tuple(index)]


def _suppress_non_maxima(ratio: np.ndarray, axis: int) -> np.ndarray:
    """True where a neighbour-pair ratio is >= the ratios of the adjacent pairs along ``axis``;
    outside the map counts as 0, as in a zero-padded map (slices, not a padded copy: this runs per prediction)."""
    keep = np.ones(ratio.shape, dtype=bool)
    if ratio.shape[axis] == 0:
        return keep
    later, earlier = _along(ratio, axis, 1, None), _along(ratio, axis, 0, -1)
    _along(keep, axis, 1, None)[...] &= later >= earlier
    _along(keep, axis, 0, -1)[...] &= earlier >= later
    _along(keep, axis, 0, 1)[...] &= _along(ratio, axis, 0, 1) >= 0
    _along(keep, axis, -1, None)[...] &= _along(ratio, axis, -1, None) >= 0
    return keep


def _direction_ratios(depth: np.ndarray, valid: np.ndarray):
    """(axis, far/near ratio map, pair-valid map) of each direction (left, right, top, bottom)."""
    safe = np.where(valid, depth, 1.0).astype(np.float64)
    for axis in (1, 0):
        first, second = _along(safe, axis, 0, -1), _along(safe, axis, 1, None)
        pair_valid = _along(valid, axis, 0, -1) & _along(valid, axis, 1, None)
        yield axis, first / second, pair_valid   # the first pixel is farther
        yield axis, second / first, pair_valid   # the second pixel is farther


def edge_strengths(depth: np.ndarray, valid: np.ndarray) -> list[np.ndarray]:
    """DepthPro's foreground/background relations between 4-neighbours, as ratios.

    For each direction (left, top, right, bottom) the value at a neighbour pair is the
    depth ratio far/near; the pair is an occluding contour at threshold t when the ratio
    exceeds t. Pairs with an invalid pixel get 0 (never an edge). Non-maximum suppression
    along the direction keeps one edge per ramp, as DepthPro's thinned variant does.
    Computing the ratios once lets every threshold reuse them.
    """
    return [np.where(pair_valid & _suppress_non_maxima(ratio, axis), ratio, 0.0)
            for axis, ratio, pair_valid in _direction_ratios(depth, valid)]


def _strong_edges(depth: np.ndarray, valid: np.ndarray, floor: float) -> list[tuple[np.ndarray, np.ndarray]]:
    """The edges of :func:`edge_strengths` stronger than ``floor``, per direction, as (flat index
    into that direction's map, strength). Only these exceed a threshold >= ``floor``, so the
    non-maximum suppression is checked at them alone (with 0 outside the map, as there)."""
    edges = []
    for axis, ratio, pair_valid in _direction_ratios(depth, valid):
        flat = ratio.ravel()
        index = np.flatnonzero(ratio > floor)
        index = index[pair_valid.ravel()[index]]
        strength = flat[index]
        step = 1 if axis == 1 else ratio.shape[1]
        position = index % ratio.shape[1] if axis == 1 else index // ratio.shape[1]
        before = np.where(position > 0, flat[np.maximum(index - step, 0)], 0.0)
        after = np.where(position < ratio.shape[axis] - 1, flat[np.minimum(index + step, flat.size - 1)], 0.0)
        keep = (strength >= before) & (strength >= after)
        edges.append((index[keep], strength[keep]))
    return edges


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


class BoundaryReference:
    """The GT side of boundary F1, prepared once and reused for every prediction scored against it:
    GT edge strengths and their counts above each threshold. A pair is a hit at threshold t when
    both strengths exceed t, i.e. when their minimum does, so hits are counted like edges."""

    def __init__(self, gt: np.ndarray, gt_valid: np.ndarray | None, thresholds: np.ndarray):
        self.gt_valid = (gt > 0) if gt_valid is None else gt_valid
        self.thresholds = np.asarray(thresholds, dtype=np.float64)
        self.gt_strength = edge_strengths(gt, self.gt_valid)
        self.gt_counts = [_counts_above(s, self.thresholds) for s in self.gt_strength]

    def f1_per_threshold(self, pred: np.ndarray) -> np.ndarray:
        pred_edges = _strong_edges(pred, (pred > 0) & self.gt_valid, float(self.thresholds.min()))
        pred_counts = [_counts_above(strength, self.thresholds) for _, strength in pred_edges]
        hit_counts = [_counts_above(np.minimum(strength, gt_strength.ravel()[index]), self.thresholds)
                      for (index, strength), gt_strength in zip(pred_edges, self.gt_strength)]
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

    def metrics(self, pred_disparity: np.ndarray, *, where: str = "") -> dict[str, float]:
        pred = check_pred(pred_disparity, self.gt.shape, where=where)
        both = self.gt_valid & (pred > 0)
        n_both = int(both.sum())
        density = float(n_both) / float(self.n_valid)
        if not n_both:
            return {"epe": math.nan, "bp1": math.nan, "bad2": math.nan, "density": density}
        error = np.abs(pred[both].astype(np.float64) - self.gt[both])
        return {"epe": float(error.mean()), "bp1": _fraction(error > 1.0), "bad2": _fraction(error > 2.0),
                "density": density}


def field_of_view_deg(focal_px: float, size_px: int) -> float:
    return math.degrees(2.0 * math.atan(size_px / (2.0 * focal_px)))


def fov_error_deg(pred_focal_px: float, gt_focal_px: float, size_px: int) -> float:
    """|FOV(pred) - FOV(gt)| in degrees along one image axis of ``size_px`` pixels."""
    if pred_focal_px <= 0 or gt_focal_px <= 0:
        raise EvalInputError(f"focal lengths must be positive (pred {pred_focal_px}, gt {gt_focal_px})",
                             field="focal")
    return abs(field_of_view_deg(pred_focal_px, size_px) - field_of_view_deg(gt_focal_px, size_px))
