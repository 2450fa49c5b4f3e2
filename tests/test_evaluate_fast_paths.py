"""evaluate: the compiled one-pass metric kernels give what the straightforward numpy definitions give.

The reference functions below are the plain implementations the fast paths replaced (one
full-map pass per term and threshold, one ``compute`` per region, no shared fits). Every count,
fraction, coverage, F1 and alignment coefficient must be *equal*; a mean of float terms may differ
only by summation order and numpy's own vectorised log10 (relative ``SUM_ORDER_TOLERANCE``).
"""

import math

import numpy as np
import pytest

from depthcur.core.stereo import depth_to_disparity
from depthcur.evaluate import metrics
from depthcur.evaluate.align import MIN_DEPTH, fit_alignment
from depthcur.evaluate.baselines import FillNearest, Inpaint
from depthcur.evaluate.protocols import ProtocolCase, fde_regions, make_case, protocol_rng
from depthcur.evaluate.runner import (
    DENSE_EVAL_FRACTION,
    FDE_METRICS,
    FDE_REGIONS,
    MISSED_METRICS,
    score,
    stereo_grid_matches,
)
from depthcur.synthetic import make_sample

#: a mean of float terms: the kernels add 128-pixel blocks, np.mean pairs recursively (and uses SVML's log10)
SUM_ORDER_TOLERANCE = 1e-12
#: the metrics that are such means; everything else is compared exactly
MEANS_OF_FLOAT_TERMS = {"absrel", "rmse", "mae", "log10", "irmse", "epe"}

# ---------------------------------------------------------------- reference implementations


def apply_alignment(pred, gt, fit, align):
    """The aligned map as numpy computes it (float32 arithmetic with the Python coefficients)."""
    alignment = fit_alignment(pred, gt, fit, align)
    if align == "none":
        return pred, {}
    s, t, has_pred = alignment.scale, alignment.shift, pred > 0
    out = np.zeros_like(pred, dtype=np.float32)
    if align in ("scale", "scale_l1"):
        out[has_pred] = s * pred[has_pred]
    elif align == "affine":
        out[has_pred] = np.maximum(s * pred[has_pred] + t, MIN_DEPTH)
    else:
        disparity = np.maximum(s / pred[has_pred].astype(np.float64) + t, alignment.floor)
        out[has_pred] = 1.0 / disparity
    return out, alignment.coefficients


def ref_check_maps(pred, gt, valid=None):
    gt_valid = np.isfinite(gt) & (gt > 0)
    if valid is not None:
        gt_valid &= valid.astype(bool)
    return pred.astype(np.float32, copy=False), np.where(gt_valid, gt, 0).astype(np.float32), gt_valid


def ref_depth_errors(pred, gt):
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


def ref_compute(pred, gt, valid=None, align="none"):
    pred, gt, gt_valid = ref_check_maps(pred, gt, valid)
    evaluated = gt_valid & (pred > 0)
    result = {"coverage": float(evaluated.sum()) / int(gt_valid.sum()), "n_pixels": int(evaluated.sum())}
    if not evaluated.any():
        return {**{name: math.nan for name in metrics.DEPTH_METRICS}, **result}
    aligned, coefficients = apply_alignment(pred, gt, evaluated, align)
    result.update(ref_depth_errors(aligned[evaluated], gt[evaluated]))
    result.update({f"align_{name}": value for name, value in coefficients.items()})
    return result


def ref_edge_strengths(depth, valid):
    """Ratios of 4-neighbours with non-maximum suppression against a zero-padded copy."""
    safe = np.where(valid, depth, 1.0).astype(np.float64)
    strengths = []
    for axis in (1, 0):
        n = safe.shape[axis]
        first, second = np.take(safe, range(0, n - 1), axis), np.take(safe, range(1, n), axis)
        pair_valid = np.take(valid, range(0, n - 1), axis) & np.take(valid, range(1, n), axis)
        for ratio in (first / second, second / first):
            padded = np.pad(ratio, [(1, 1) if a == axis else (0, 0) for a in range(2)], constant_values=0)
            m = ratio.shape[axis]
            before, after = np.take(padded, range(0, m), axis), np.take(padded, range(2, m + 2), axis)
            keep = pair_valid & (ratio >= before) & (ratio >= after)
            strengths.append(np.where(keep, ratio, 0.0))
    return strengths


def ref_f1_from_edges(pred_edges, gt_edges):
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


def ref_strength_pair(pred, gt, gt_valid):
    gt_valid = (gt > 0) if gt_valid is None else gt_valid
    return ref_edge_strengths(pred, (pred > 0) & gt_valid), ref_edge_strengths(gt, gt_valid)


def ref_boundary_f1(pred, gt, threshold, gt_valid=None):
    ps, gs = ref_strength_pair(pred, gt, gt_valid)
    return ref_f1_from_edges([s > threshold for s in ps], [s > threshold for s in gs])


def ref_scale_invariant_boundary_f1(pred, gt, gt_valid=None, thresholds=metrics.BOUNDARY_THRESHOLDS):
    ts = np.linspace(*thresholds)
    ps, gs = ref_strength_pair(pred, gt, gt_valid)
    scores = np.array([ref_f1_from_edges([s > t for s in ps], [s > t for s in gs]) for t in ts])
    keep = np.isfinite(scores)
    if not keep.any():
        return math.nan
    return float(np.sum(scores[keep] * (ts[keep] / ts[keep].sum())))


def ref_missed(pred, case, align):
    pred, gt, gt_valid = ref_check_maps(pred, case.gt, case.eval_mask)
    missed = gt_valid & ~(case.depth_in > 0)
    if not missed.any():
        return {}
    evaluated = gt_valid & (pred > 0)
    aligned, _ = apply_alignment(pred, gt, evaluated, align) if evaluated.any() else (pred, {})
    hit = missed & (aligned > 0)
    result = {"missed_coverage": float(hit.sum()) / float(missed.sum())}
    errors = ref_depth_errors(aligned[hit], gt[hit]) if hit.any() else {n: math.nan for n in metrics.DEPTH_METRICS}
    result.update({f"missed_{name}": errors[name] for name in MISSED_METRICS if name != "coverage"})
    return result


def ref_fde(pred, case):
    scores = []
    for target in case.targets or []:
        entry = {"id": target["id"]}
        for region in FDE_REGIONS:
            if target[region].any():
                m = ref_compute(pred, case.gt, target[region])
                entry[region] = {name: m[name] for name in FDE_METRICS}
        scores.append(entry)
    return scores


def ref_stereo_scores(pred, sample, case):
    if not stereo_grid_matches(pred, sample, case):   # which samples qualify is not the fast path under test
        return {}
    disparity = depth_to_disparity(pred, sample.K_ir.fx, sample.baseline_m)
    pred, gt, gt_valid = ref_check_maps(disparity, sample.disparity_gt)
    both = gt_valid & (pred > 0)
    density = float(both.sum()) / float(gt_valid.sum())
    if not both.any():
        return {"epe": math.nan, "bp1": math.nan, "bad2": math.nan, "density": density}
    error = np.abs(pred[both].astype(np.float64) - gt[both])
    return {"epe": float(error.mean()), "bp1": float(np.mean(error > 1.0)), "bad2": float(np.mean(error > 2.0)),
            "density": density}


def ref_score(pred, case, sample, align):
    result = ref_compute(pred, case.gt, case.eval_mask, align)
    result.update(ref_missed(pred, case, align))
    if case.eval_mask.mean() >= DENSE_EVAL_FRACTION * (case.gt > 0).mean():
        result["boundary_f1"] = ref_scale_invariant_boundary_f1(pred, case.gt, case.eval_mask)
    result.update(ref_stereo_scores(pred, sample, case))
    if case.targets is not None:
        result["fde"] = ref_fde(pred, case)
    return result


# ---------------------------------------------------------------- exact comparison


def assert_identical(fast, ref, path="result"):
    """Equal structure, keys and values; NaN equals NaN; only means of float terms may differ, by summation
    order."""
    assert type(fast) is type(ref) or (isinstance(fast, float) and isinstance(ref, float)), \
        f"{path}: {type(fast)} vs {type(ref)}"
    if isinstance(ref, dict):
        assert list(fast) == list(ref), f"{path}: keys {list(fast)} vs {list(ref)}"
        for key in ref:
            assert_identical(fast[key], ref[key], f"{path}.{key}")
    elif isinstance(ref, list):
        assert len(fast) == len(ref), path
        for i, (a, b) in enumerate(zip(fast, ref)):
            assert_identical(a, b, f"{path}[{i}]")
    elif isinstance(ref, float) and math.isnan(ref):
        assert math.isnan(fast), f"{path}: {fast} vs NaN"
    elif path.rsplit(".", 1)[-1].removeprefix("missed_") in MEANS_OF_FLOAT_TERMS:
        assert fast == pytest.approx(ref, rel=SUM_ORDER_TOLERANCE, abs=0), f"{path}: {fast!r} vs {ref!r}"
    else:
        assert fast == ref, f"{path}: {fast!r} vs {ref!r}"


def predictions(case, rng):
    """Models of different kinds: filled, copied input (holes), noisy, one with inverted scale."""
    fill = FillNearest().predict(case.rgb, case.depth_in, case.K)
    noisy = np.where(case.gt > 0, case.gt * rng.uniform(0.7, 1.4, case.gt.shape), 0).astype(np.float32)
    noisy[rng.random(case.gt.shape) < 0.05] = 0
    quantised = np.round(fill * 4) / 4   # ties between neighbour ratios exercise the non-maximum suppression
    return {"fill": fill, "raw": np.asarray(case.depth_in, np.float32), "noisy": noisy,
            "quantised": quantised.astype(np.float32), "far": (2.0 * fill + 0.3).astype(np.float64)}


@pytest.mark.parametrize("protocol", ["raw", "fde", "block-mask:hard", "points:50", "depthlm"])
@pytest.mark.parametrize("align", ["none", "affine", "scale_l1", "disparity_affine"])
def test_score_equals_reference_on_synthetic_samples(protocol, align):
    rng = np.random.default_rng(7)
    for seed in range(3):
        sample = make_sample(f"fast/{seed}", height=72, width=96, seed=seed)
        case = make_case(sample, protocol, protocol_rng(0, sample.key, protocol))
        for name, pred in predictions(case, rng).items():
            fast = score(pred, case, sample, align, name)   # the case's GT side is prepared once, then reused
            assert_identical(fast, ref_score(pred, case, sample, align), f"{protocol}/{align}/{seed}/{name}")


def test_fde_regions_outside_the_eval_mask_take_the_plain_path():
    sample = make_sample("fast/fde", height=72, width=96, seed=4)
    case = make_case(sample, "fde", protocol_rng(0, sample.key, "fde"))
    half = case.gt > 0
    half[:, : half.shape[1] // 2] = False     # an eval mask that cuts every target
    narrowed = ProtocolCase(rgb=case.rgb, K=case.K, gt=case.gt, depth_in=case.depth_in, eval_mask=half,
                            targets=fde_regions(sample.instance_mask, case.gt > 0))
    pred = Inpaint().predict(case.rgb, case.depth_in, case.K)
    for align in ("none", "affine"):
        assert_identical(score(pred, narrowed, sample, align, "t"), ref_score(pred, narrowed, sample, align))


def test_edge_strengths_and_boundary_f1_equal_reference_on_random_maps():
    rng = np.random.default_rng(3)
    for shape in [(1, 1), (1, 5), (5, 1), (2, 2), (17, 23), (40, 31)]:
        for _ in range(4):
            gt = np.round(rng.uniform(0.5, 4.0, shape) * 3) / 3     # plateaus and ties
            gt[rng.random(shape) < 0.2] = 0
            pred = np.where(rng.random(shape) < 0.8, gt * rng.uniform(0.8, 1.25, shape), 0)
            pred[rng.random(shape) < 0.1] = -1.0       # negative values are invalid, never an edge
            valid = gt > 0
            np.seterr(divide="ignore", invalid="ignore")   # the random masks include zero depths: inf/NaN ratios
            for fast, ref in zip(metrics.edge_strengths(pred, valid), ref_edge_strengths(pred, valid)):
                assert np.array_equal(fast, ref)
            for t in (1.05, 1.1, 1.3, 2.0, 10):
                assert_identical(metrics.boundary_f1(pred, gt, t), ref_boundary_f1(pred, gt, t))
            mask = rng.random(shape) < 0.9
            assert_identical(metrics.scale_invariant_boundary_f1(pred, gt, mask),
                             ref_scale_invariant_boundary_f1(pred, gt, mask))
            assert_identical(metrics.scale_invariant_boundary_f1(pred, gt, thresholds=(1.02, 3.0, 7)),
                             ref_scale_invariant_boundary_f1(pred, gt, thresholds=(1.02, 3.0, 7)))


def test_depth_errors_and_compute_equal_reference():
    rng = np.random.default_rng(11)
    gt = rng.uniform(0.3, 9.0, (50, 70)).astype(np.float32)
    gt[rng.random(gt.shape) < 0.1] = 0
    gt[0, 0] = np.nan
    pred = (gt * rng.uniform(0.5, 1.6, gt.shape)).astype(np.float32)
    pred[np.isnan(pred)] = 0
    valid = rng.random(gt.shape) < 0.7
    for align in ("none", "scale", "scale_l1", "affine", "disparity_affine"):
        assert_identical(metrics.compute(pred, gt, valid, align), ref_compute(pred, gt, valid, align))
    assert_identical(metrics.compute(np.zeros_like(gt), gt), ref_compute(np.zeros_like(gt), gt))
    disparity = np.where(rng.random(gt.shape) < 0.8, 40.0 / np.maximum(pred, 0.1) + rng.normal(0, 2, gt.shape), 0)
    ref = ref_check_maps(disparity, np.nan_to_num(40.0 / np.maximum(gt, 0.1)))
    expected_error = np.abs(ref[0][ref[2] & (ref[0] > 0)].astype(np.float64) - ref[1][ref[2] & (ref[0] > 0)])
    stereo = metrics.stereo_metrics(disparity, np.nan_to_num(40.0 / np.maximum(gt, 0.1)))
    assert stereo["epe"] == pytest.approx(float(expected_error.mean()), rel=SUM_ORDER_TOLERANCE, abs=0)
    assert stereo["bp1"] == float(np.mean(expected_error > 1.0))
    assert stereo["bad2"] == float(np.mean(expected_error > 2.0))
    ok = (gt > 0) & (pred > 0)
    assert_identical(metrics.depth_errors(pred[ok], gt[ok]), ref_depth_errors(pred[ok], gt[ok]))


@pytest.mark.parametrize("align", ["none", "affine"])
def test_score_equals_reference_at_full_size(align):
    """At 480×640 the kernels sum many blocks; the means still agree with numpy's to SUM_ORDER_TOLERANCE."""
    sample = make_sample("fast/full", height=480, width=640, seed=5)
    case = make_case(sample, "fde", protocol_rng(0, sample.key, "fde"))
    pred = predictions(case, np.random.default_rng(2))["noisy"]
    assert_identical(score(pred, case, sample, align, "full"), ref_score(pred, case, sample, align))


def test_a_prediction_equal_to_the_gt_has_exactly_zero_error():
    """Prediction and GT take their log10 from the same function, so no last-bit residue is left."""
    sample = make_sample("fast/exact", height=60, width=80, seed=6)
    case = make_case(sample, "fde", protocol_rng(0, sample.key, "fde"))
    result = score(case.gt.copy(), case, sample, "none", "exact")
    assert [result[name] for name in ("absrel", "rmse", "mae", "log10", "irmse")] == [0.0] * 5
    assert result["delta1"] == result["coverage"] == 1.0
    assert result["boundary_f1"] == 1.0
    assert all(target[region]["absrel"] == 0.0 for target in result["fde"] for region in FDE_REGIONS
               if region in target)


def test_a_non_finite_prediction_is_refused_naming_the_count():
    sample = make_sample("fast/nan", height=40, width=50, seed=7)
    case = make_case(sample, "raw", protocol_rng(0, sample.key, "raw"))
    pred = case.gt.copy()
    pred[3, 4], pred[5, 6] = np.nan, np.inf
    for align in ("none", "affine"):
        with pytest.raises(metrics.EvalInputError, match=r"pred: 2 NaN/inf value"):
            score(pred, case, sample, align, "bad")


def test_boundary_f1_keeps_tied_ratios_on_geometric_ramps():
    """Depths 8, 4, 2, 1 make equal neighbouring ratios: non-maximum suppression keeps ties (>=) on both axes."""
    ramp = np.array([8.0, 4.0, 2.0, 1.0, 1.0, 2.0, 4.0, 4.0])
    gt = np.tile(ramp, (5, 1))
    pred = gt.copy()
    pred[2, 5] = 3.0         # one pair breaks the tie
    for depth_pred, depth_gt in ((pred, gt), (pred.T.copy(), gt.T.copy())):
        for t in (1.05, 1.5, 1.9, 2.5):
            assert_identical(metrics.boundary_f1(depth_pred, depth_gt, t), ref_boundary_f1(depth_pred, depth_gt, t))
        assert metrics.boundary_f1(depth_gt, depth_gt, 1.5) == 1.0
        assert_identical(metrics.scale_invariant_boundary_f1(depth_pred, depth_gt),
                         ref_scale_invariant_boundary_f1(depth_pred, depth_gt))
