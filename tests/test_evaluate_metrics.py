"""evaluate: metrics against hand-computed values, exact alignments, boundary F1, bad input."""

import math

import numpy as np
import pytest

from depthcur.evaluate import align, metrics
from depthcur.evaluate.metrics import EvalInputError, compute


def small_maps():
    # GT has one invalid pixel (0); the prediction there must be ignored
    gt = np.array([[1.0, 2.0], [4.0, 0.0]], np.float32)
    pred = np.array([[1.1, 2.0], [3.0, 7.0]], np.float32)
    return pred, gt


def test_metrics_match_hand_computed_values():
    pred, gt = small_maps()
    m = compute(pred, gt)
    assert m["absrel"] == pytest.approx((0.1 / 1 + 0 + 1 / 4) / 3, rel=1e-5)
    assert m["rmse"] == pytest.approx(math.sqrt((0.01 + 0 + 1) / 3), rel=1e-5)
    assert m["mae"] == pytest.approx(1.1 / 3, rel=1e-5)
    assert m["log10"] == pytest.approx((math.log10(1.1) + math.log10(4 / 3)) / 3, rel=1e-4)
    assert m["delta1"] == pytest.approx(2 / 3)        # 4/3 > 1.25
    assert m["delta2"] == pytest.approx(1.0)          # 4/3 < 1.5625
    assert m["irmse"] == pytest.approx(math.sqrt(((1000 / 1.1 - 1000) ** 2 + (1000 / 3 - 250) ** 2) / 3), rel=1e-4)
    assert m["coverage"] == 1.0 and m["n_pixels"] == 3


def test_missing_predictions_lower_coverage_not_precision():
    pred, gt = small_maps()
    pred[1, 0] = 0                       # the worst pixel has no prediction
    m = compute(pred, gt)
    assert m["coverage"] == pytest.approx(2 / 3)
    assert m["absrel"] == pytest.approx(0.05, rel=1e-5)
    empty = compute(np.zeros_like(gt), gt)
    assert empty["coverage"] == 0 and math.isnan(empty["absrel"])


def test_valid_mask_restricts_pixels():
    pred, gt = small_maps()
    only_first = np.array([[True, False], [False, False]])
    assert compute(pred, gt, only_first)["absrel"] == pytest.approx(0.1, rel=1e-5)


@pytest.mark.parametrize("kind", ["scale", "scale_l1", "affine", "disparity_affine"])
def test_alignments_recover_known_scale_and_shift(kind):
    rng = np.random.default_rng(3)
    gt = rng.uniform(0.5, 5.0, (16, 20)).astype(np.float32)
    if kind in ("scale", "scale_l1"):
        pred, expected = gt / 2.5, {"scale": 2.5}
    elif kind == "affine":
        pred, expected = (gt - 0.7) / 1.8, {"scale": 1.8, "shift": 0.7}
    else:   # 1/gt = 0.5 * (1/pred) + 0.1
        pred = 1.0 / ((1.0 / gt - 0.1) / 0.5)
        expected = {"scale": 0.5, "shift": 0.1}
    m = compute(pred.astype(np.float32), gt, align=kind)
    for name, value in expected.items():
        assert m[f"align_{name}"] == pytest.approx(value, rel=1e-4, abs=1e-5)
    assert m["absrel"] < 1e-5 and m["delta1"] == 1.0
    assert compute(pred.astype(np.float32), gt)["absrel"] > 0.05   # unaligned it is wrong


def test_robust_scale_ignores_outliers_least_squares_does_not():
    gt = np.linspace(1, 3, 100)
    pred = gt / 2.0
    pred[:10] *= 5                       # 10% gross outliers
    assert align.solve_scale_l1(pred, gt) == pytest.approx(2.0)
    assert abs(align.solve_scale(pred, gt) - 2.0) > 0.3


def step_map(edge_col: int, h: int = 24, w: int = 32) -> np.ndarray:
    depth = np.full((h, w), 3.0, np.float32)
    depth[6:18, edge_col:edge_col + 10] = 1.5        # a box in front of a wall
    return depth


def test_boundary_f1_is_one_for_identical_maps_and_falls_for_shifted_edge():
    gt = step_map(8)
    assert metrics.boundary_f1(gt, gt, 1.1) == 1.0
    assert metrics.scale_invariant_boundary_f1(gt, gt) == pytest.approx(1.0)
    shifted_1 = metrics.scale_invariant_boundary_f1(step_map(9), gt)
    shifted_3 = metrics.scale_invariant_boundary_f1(step_map(11), gt)
    assert shifted_1 < 1.0 and shifted_3 <= shifted_1
    # a blurred edge spreads one contour over a ramp; non-maximum suppression keeps one edge
    assert metrics.boundary_f1(gt * 1.3, gt, 1.1) == 1.0      # scale invariant
    assert math.isnan(metrics.boundary_f1(np.full_like(gt, 2.0), np.full_like(gt, 2.0), 1.1))


def test_boundary_f1_ignores_pairs_with_invalid_gt():
    gt = step_map(8)
    pred = gt.copy()
    gt_with_hole = gt.copy()
    gt_with_hole[:, 8] = 0          # GT unknown at the left contour
    pred[:, 7:9] = 2.9              # prediction wrong exactly there
    assert metrics.boundary_f1(pred, gt_with_hole, 1.1) == 1.0


def test_stereo_metrics():
    gt = np.full((4, 5), 10.0, np.float32)
    pred = gt.copy()
    pred[0, :] = 11.5       # 5 px with error 1.5  (> 1, not > 2)
    pred[1, 0] = 13.0       # 1 px with error 3
    pred[2, :2] = 0         # 2 px missing
    s = metrics.stereo_metrics(pred, gt)
    assert s["density"] == pytest.approx(18 / 20)
    assert s["epe"] == pytest.approx((5 * 1.5 + 3) / 18)
    assert s["bp1"] == pytest.approx(6 / 18) and s["bad2"] == pytest.approx(1 / 18)


def test_fov_error():
    # fx = w/2 gives a 90° horizontal FOV
    assert metrics.field_of_view_deg(320, 640) == pytest.approx(90.0)
    assert metrics.fov_error_deg(320, 320, 640) == 0.0
    assert metrics.fov_error_deg(640 / (2 * math.tan(math.radians(30))), 320, 640) == pytest.approx(30.0)
    with pytest.raises(EvalInputError, match="focal"):
        metrics.fov_error_deg(0, 320, 640)


def test_bad_input_errors_name_the_field():
    pred, gt = small_maps()
    with pytest.raises(EvalInputError, match=r"s1: pred: shape \(2, 3\) does not match gt shape \(2, 2\)"):
        compute(np.zeros((2, 3), np.float32), gt, where="s1")
    with pytest.raises(EvalInputError, match="gt: no valid ground-truth pixel"):
        compute(pred, np.zeros_like(gt))
    with pytest.raises(EvalInputError, match="gt: no valid"):
        compute(pred, np.full_like(gt, np.nan))
    nan_pred = pred.copy()
    nan_pred[0, 0] = np.nan
    with pytest.raises(EvalInputError, match="pred: 1 NaN/inf value"):
        compute(nan_pred, gt)
    with pytest.raises(EvalInputError, match="valid: shape"):
        compute(pred, gt, np.ones((3, 3), bool))
    with pytest.raises(ValueError, match="unknown alignment 'median'"):
        compute(pred, gt, align="median")
