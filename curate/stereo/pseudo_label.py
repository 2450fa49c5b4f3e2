"""A sample's IR pair -> ``depth_gt`` (``stereo_pseudo``) with range and confidence filters."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from depthcur.core.stereo import disparity_to_depth
from depthcur.core.validate import Checked
from depthcur.schemas import DepthGtKind, Intrinsics, Sample, SchemaError, with_stats

from .confidence import (local_texture, precision_curve, precision_stats, wls_confidence,
                         zncc_confidence)
from .images import to_gray_uint8
from .matchers import MATCHERS, StereoMatch, match_with_lr_check

#: provenance key of a pair whose principal points differ (Middlebury's ``doffs``, cx_right - cx_left, px):
#: the views' pixel shift d then means fx·B/Z = d + offset, and the pseudo-label adds it before dividing
DISPARITY_OFFSET_KEY = "disparity_offset_px"


@dataclass
class PseudoLabelConfig(Checked):
    #: sgbm or foundation-stereo
    matcher: str = field(default="sgbm", metadata={"choices": tuple(MATCHERS)})
    #: LR consistency threshold in pixels
    lr_threshold_px: float = field(default=1.0, metadata={"min": 0})
    #: range filter: kept depths (m)
    min_depth_m: float = field(default=0.1, metadata={"min": 0})
    max_depth_m: float = field(default=20.0, metadata={"above_field": "min_depth_m"})
    #: confidence: minimum local IR contrast (std of a 5×5 window, 0-255 units); flat patches are unreliable
    min_texture: float = field(default=2.0, metadata={"min": 0})
    #: confidence: minimum ZNCC of the 7×7 left window and the right window at the match (-1 keeps all)
    min_zncc: float = field(default=-1.0, metadata={"min": -1, "max": 1})
    #: confidence: minimum of OpenCV ximgproc's WLS-filter confidence map (0-255; 0 keeps all)
    min_wls_confidence: float = field(default=0.0, metadata={"min": 0, "max": 255})
    #: with GT disparity: sweep every confidence filter for the report's precision-density curve
    #: (the WLS map costs about one more match per pair); bad-2 and density are reported either way
    precision_curve: bool = False
    #: the backend's parameters (e.g. sgbm's uniqueness_ratio=12), recorded in provenance
    matcher_params: dict[str, Any] = field(default_factory=dict)

    def provenance(self) -> dict[str, Any]:
        out = asdict(self)
        out["matcher_params"] = {k: (str(v) if k in ("fs_repo", "ckpt") else v)
                                 for k, v in self.matcher_params.items()}
        return out


def nearly_equal(a: Any, b: Any) -> bool:
    """``np.allclose(a, b)``, quick when the two are exactly equal (the common identity pose and shared K)."""
    return bool(np.array_equal(a, b) or np.allclose(a, b))


def is_rescaled_same_camera(k_ir: Intrinsics, k_rgb: Intrinsics, t_rgb_from_ir: np.ndarray,
                            ir_shape: tuple[int, int], rgb_shape: tuple[int, int]) -> bool:
    """True when the RGB grid is the IR grid resized (same centre and pose, scaled intrinsics)."""
    scaled = k_ir.scaled(rgb_shape[1] / ir_shape[1], rgb_shape[0] / ir_shape[0])
    return bool(np.allclose(t_rgb_from_ir, np.eye(4), atol=1e-9)
                and np.allclose(scaled.as_list(), k_rgb.as_list(), rtol=1e-4, atol=1e-3))


def nearest_resize(depth: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Nearest-neighbour resize with pixel-centre alignment (never mixes depths across edges)."""
    h, w = depth.shape
    rows = np.minimum(((np.arange(shape[0]) + 0.5) * h / shape[0]).astype(np.int64), h - 1)
    cols = np.minimum(((np.arange(shape[1]) + 0.5) * w / shape[1]).astype(np.int64), w - 1)
    return depth[rows[:, None], cols[None, :]]


def register_depth(depth_ir: np.ndarray, k_ir: Intrinsics, k_rgb: Intrinsics, t_rgb_from_ir: np.ndarray,
                   rgb_shape: tuple[int, int]) -> np.ndarray:
    """IR-frame depth -> RGB-frame depth.

    A resized grid of the same camera is a nearest resize. Any other pose is back-projected and
    re-projected with the z-buffer; the IR map is first supersampled (nearest) past the RGB pixel
    density, so each IR pixel covers its whole footprint instead of leaving a lattice of gaps.
    """
    from depthcur.curate.lidar.projection import backproject_depth, project_points

    if is_rescaled_same_camera(k_ir, k_rgb, t_rgb_from_ir, depth_ir.shape, rgb_shape):
        return nearest_resize(depth_ir, rgb_shape)
    factor = int(np.ceil(max(k_rgb.fx / k_ir.fx, k_rgb.fy / k_ir.fy) * 1.5))
    h, w = depth_ir.shape
    dense = nearest_resize(depth_ir, (h * factor, w * factor))
    points = backproject_depth(dense, k_ir.scaled(factor, factor))
    return project_points(points, k_rgb, t_rgb_from_ir, rgb_shape)[0]


def check_stereo_fields(sample: Sample) -> None:
    for name in ("ir_left", "ir_right", "K_ir", "baseline_m"):
        if getattr(sample, name) is None:
            raise SchemaError("stereo pseudo-labelling needs the IR pair, K_ir and baseline_m", key=sample.key,
                              field=name)


def prior_gt_agreement(pseudo: np.ndarray, prior: np.ndarray) -> dict[str, float]:
    """AbsRel and coverage of the pseudo-label against a prior (e.g. rendered) depth_gt."""
    both = pseudo > 0
    both &= prior > 0
    n_both = np.count_nonzero(both)
    if not n_both:
        return {"pseudo_vs_prior_valid_ratio": 0.0}
    # whole-map arithmetic, then one selection: the same numbers as selecting both maps first
    with np.errstate(divide="ignore", invalid="ignore"):   # pixels outside `both` are never read
        absrel = np.subtract(pseudo, prior)
        np.abs(absrel, out=absrel)
        absrel /= prior
        ratio = np.divide(pseudo, prior)
        np.maximum(ratio, np.divide(prior, pseudo), out=ratio)
        close = ratio < 1.25
    close &= both
    return {"pseudo_vs_prior_absrel": float(absrel[both].mean()),
            "pseudo_vs_prior_delta1": np.count_nonzero(close) / n_both,
            "pseudo_vs_prior_valid_ratio": n_both / both.size}


def focal_baseline_disparity(pixel_shift: np.ndarray, sample: Sample) -> np.ndarray:
    """fx·B/Z of each matched pixel: the matched shift plus the pair's principal-point offset; 0 stays 0."""
    offset = float(sample.provenance.get(DISPARITY_OFFSET_KEY, 0.0))
    if offset == 0:
        return pixel_shift
    return np.where(pixel_shift > 0, pixel_shift + np.float32(offset), 0).astype(np.float32)


def confidence_scores(sample: Sample, match: StereoMatch, config: PseudoLabelConfig, every_score: bool
                      ) -> dict[str, np.ndarray]:
    """The confidence maps the config's thresholds need, or all three (for the precision curve)."""
    left = to_gray_uint8(sample.ir_left, name="ir_left")
    scores = {"texture": local_texture(left)}
    want_zncc, want_wls = every_score or config.min_zncc > -1, every_score or config.min_wls_confidence > 0
    if want_zncc or want_wls:
        right = to_gray_uint8(sample.ir_right, name="ir_right")
        if want_zncc:
            scores["zncc"] = zncc_confidence(left, right, match.raw)
        if want_wls:
            scores["wls"] = wls_confidence(left, right, match.raw, match.right)
    return scores


def confident_pixels(scores: dict[str, np.ndarray], config: PseudoLabelConfig) -> np.ndarray:
    """Where every enabled confidence filter passes (texture always; ZNCC above -1; WLS above 0)."""
    confident = scores["texture"] >= config.min_texture
    if config.min_zncc > -1:
        confident &= scores["zncc"] >= config.min_zncc
    if config.min_wls_confidence > 0:
        confident &= scores["wls"] >= config.min_wls_confidence
    return confident


def judge_against_gt(sample: Sample, match: StereoMatch, checked: np.ndarray, kept: np.ndarray,
                     scores: dict[str, np.ndarray], config: PseudoLabelConfig) -> tuple[dict[str, float], dict]:
    """(bad-2 and density of the label, the precision-curve counts or {}) against ``disparity_gt``."""
    disparity = focal_baseline_disparity(match.raw, sample)
    precision = precision_stats(kept, disparity, sample.disparity_gt)
    if not config.precision_curve:
        return precision, {}
    return precision, {"matcher": config.matcher,
                       **precision_curve(bare=match.matched, checked=checked, kept=kept, scores=scores,
                                         disparity=disparity, disparity_gt=sample.disparity_gt)}


def pseudo_label_sample(sample: Sample, config: PseudoLabelConfig = PseudoLabelConfig()) -> Sample:
    """Replace ``depth_gt`` with the stereo pseudo-label; record LR and prior-GT stats and provenance."""
    check_stereo_fields(sample)
    k_ir = Intrinsics.from_any(sample.K_ir)
    match = match_with_lr_check(sample.ir_left, sample.ir_right, config.matcher,
                                lr_threshold_px=config.lr_threshold_px, **config.matcher_params)
    depth_ir = disparity_to_depth(focal_baseline_disparity(match.disparity, sample), k_ir.fx,
                                  float(sample.baseline_m))
    in_range = (depth_ir >= config.min_depth_m) & (depth_ir <= config.max_depth_m)
    judged = sample.disparity_gt is not None and sample.disparity_gt.shape == depth_ir.shape
    scores = confidence_scores(sample, match, config, every_score=judged and config.precision_curve)
    kept = confident_pixels(scores, config)
    kept &= in_range
    np.copyto(depth_ir, 0, where=~kept)   # in place: depth_ir is this call's own float32 map
    labelled = depth_ir > 0

    t = np.eye(4) if sample.T_rgb_from_ir is None else np.asarray(sample.T_rgb_from_ir, dtype=np.float64)
    same_frame = nearly_equal(t, np.eye(4)) and depth_ir.shape == sample.rgb.shape[:2] \
        and nearly_equal(k_ir.as_list(), Intrinsics.from_any(sample.K_rgb).as_list())
    depth_gt = depth_ir if same_frame else register_depth(depth_ir, k_ir, Intrinsics.from_any(sample.K_rgb), t,
                                                          sample.rgb.shape[:2])
    stats = dict(sample.stats)
    stats["lr_consistent_ratio"] = match.lr_consistent_ratio
    stats["stereo_matched_ratio"] = np.count_nonzero(match.matched) / match.matched.size
    stats["pseudo_valid_ratio"] = np.count_nonzero(labelled) / labelled.size
    prior_kind = getattr(sample.depth_gt_kind, "value", sample.depth_gt_kind)
    if sample.depth_gt is not None and prior_kind in ("rendered", "lidar", "sensor"):
        stats.update(prior_gt_agreement(depth_gt, sample.depth_gt))
    provenance = dict(sample.provenance)
    provenance["stereo_pseudo_label"] = config.provenance()
    if judged:   # GT disparity (rendered or a public stereo set): how precise is the label, how dense
        precision, curve = judge_against_gt(sample, match, match.consistent & in_range, labelled, scores, config)
        stats.update(precision)
        if curve:
            provenance["stereo_pseudo_label"]["precision_vs_gt"] = curve
    if prior_kind:
        provenance["stereo_pseudo_label"]["replaced_depth_gt_kind"] = prior_kind
    labelled = sample.replace(depth_gt=depth_gt, depth_gt_kind=DepthGtKind.STEREO_PSEUDO, stats=stats,
                              provenance=provenance)
    return with_stats(labelled)
