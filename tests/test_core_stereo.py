"""depthcur.core.stereo: SGBM with both presets, the LR check both ways, ZNCC and fx·B/x, with numbers."""

import numpy as np
import pytest

from depthcur.core.stereo import (SgbmParams, depth_to_disparity, disparity_to_depth, left_right_consistent,
                                  make_sgbm, right_disparity_by_swap_flip, sgbm_disparity, sgbm_right_disparity,
                                  zncc_score)
from depthcur.curate.stereo import PseudoLabelSgbm
from depthcur.render.config import SgmConfig
from depthcur.synthetic import make_sample

PRESETS = {"sensor": SgmConfig(), "pseudo_label": PseudoLabelSgbm()}
#: a layered scene: background at 6 px, a foreground band at 18 px over columns [70, 120)
D_BACK, D_FRONT, FRONT_START, FRONT_END = 6, 18, 70, 120
#: background pixels left of the foreground that the right camera cannot see
OCCLUDED = slice(FRONT_START - (D_FRONT - D_BACK), FRONT_START)


def layered_pair(height=96, width=160, seed=0):
    """Rectified uint8 speckle pair of the layered scene, rendered with the right view's occlusion."""
    import cv2

    rng = np.random.default_rng(seed)
    back, front = (cv2.GaussianBlur((rng.random((height, width + D_FRONT)) < 0.3).astype(np.float32), (3, 3), 0.7)
                   for _ in range(2))
    xs = np.arange(width)
    in_front = (xs >= FRONT_START) & (xs < FRONT_END)
    left = np.where(in_front, front[:, :width], back[:, :width])
    seen_front = (xs + D_FRONT >= FRONT_START) & (xs + D_FRONT < FRONT_END)   # right pixel x shows left x + d
    right = np.where(seen_front, front[:, xs + D_FRONT], back[:, xs + D_BACK])
    truth = np.broadcast_to(np.where(in_front, D_FRONT, D_BACK).astype(np.float32), (height, width))
    return [np.clip((0.1 + 0.8 * image) * 255, 0, 255).astype(np.uint8) for image in (left, right)] + [truth]


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_sgbm_disparity_is_fx_b_over_z_on_a_synthetic_pair(preset):
    sample = make_sample("t/sgbm", height=120, width=160, seed=3)
    params = PRESETS[preset]
    plain = sgbm_disparity(sample.ir_left, sample.ir_right, params, 48)
    padded = sgbm_disparity(sample.ir_left, sample.ir_right, params, 48, pad_left=True)
    assert plain.dtype == np.float32 and plain.shape == sample.disparity_gt.shape
    assert not plain[:, :40].any() and (padded[:, :40] > 0).mean() > 0.4    # padding matches the left strip
    for disparity in (plain, padded):
        valid = disparity > 0
        assert valid[:, 48:].mean() > 0.7
        assert np.median(np.abs(disparity - sample.disparity_gt)[valid]) < 0.3
        assert np.all(disparity >= 0) and np.all(disparity * 16 == np.rint(disparity * 16))  # 1/16 px steps


def test_sgbm_parameters_reach_opencv():
    matcher = make_sgbm(SgbmParams(uniqueness_ratio=12, disp12_max_diff=2, speckle_window_size=30,
                                   pre_filter_cap=25, block_size=7), 64)
    assert (matcher.getNumDisparities(), matcher.getBlockSize(), matcher.getP1(), matcher.getP2()) == (64, 7, 392, 1568)
    assert (matcher.getUniquenessRatio(), matcher.getDisp12MaxDiff(), matcher.getSpeckleWindowSize(),
            matcher.getPreFilterCap()) == (12, 2, 30, 25)
    with pytest.raises(ValueError, match="'fast'"):
        make_sgbm(SgbmParams(10, -1, 0, 0, mode="fast"), 16)


def test_lr_check_drops_the_occlusion_band_of_geometric_disparities():
    """Left map: a matcher's background guess inside the band; right map: what the right camera sees."""
    width = 160
    xs = np.arange(width)
    left = np.where((xs >= FRONT_START) & (xs < FRONT_END), D_FRONT, D_BACK).astype(np.float32)[None].repeat(4, 0)
    right = np.where((xs >= FRONT_START - D_FRONT) & (xs < FRONT_END - D_FRONT), D_FRONT,
                     D_BACK).astype(np.float32)[None].repeat(4, 0)
    for round_disparity in (False, True):
        consistent = left_right_consistent(left, right, 1.0, round_disparity=round_disparity)
        assert not consistent[:, OCCLUDED].any()
        assert not consistent[:, :D_BACK].any()                      # partner left of the right image
        kept = np.ones(width, bool)
        kept[OCCLUDED] = kept[:D_BACK] = False
        assert consistent[:, kept].all()


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_lr_check_drops_the_occlusion_band_of_a_matched_pair(preset):
    """Both ways of getting the right view: swap-and-flip and OpenCV's right matcher."""
    left, right, truth = layered_pair()
    params = PRESETS[preset]
    disparity = sgbm_disparity(left, right, params, 32, pad_left=True)
    by_flip = right_disparity_by_swap_flip(left, right, lambda a, b: sgbm_disparity(a, b, params, 32, pad_left=True))
    by_right_matcher = sgbm_right_disparity(left, right, params, 32)
    rows = slice(8, -8)
    visible = np.zeros(truth.shape, bool)
    visible[rows, 40:56] = visible[rows, 80:110] = True
    assert np.abs(disparity - truth)[visible].max() < 0.5
    assert (disparity[rows, OCCLUDED] > 0).mean() > 0.08        # SGBM guesses some of the band
    for consistent in (left_right_consistent(disparity, by_flip, 1.0),
                       left_right_consistent(disparity, by_right_matcher, 1.0, round_disparity=True)):
        assert consistent[rows, OCCLUDED].mean() < 0.04
        assert consistent[visible].all()


def test_lr_threshold_is_in_pixels_and_unmatched_is_never_consistent():
    left = np.full((3, 30), 7.0, np.float32)
    right = np.full((3, 30), 7.0, np.float32)
    left[0, 20] += 0.8
    left[1, 20] += 1.6
    right[2, 3] = np.nan                                      # unmatched right pixel
    left[2, 25] = 0.0                                         # unmatched left pixel
    assert left_right_consistent(left, right, 1.0)[0, 20] and not left_right_consistent(left, right, 1.0)[1, 20]
    assert left_right_consistent(left, right, 2.0)[1, 20]
    assert not left_right_consistent(left, right, 1.0)[2, 10] and not left_right_consistent(left, right, 1.0)[2, 25]


def test_lr_partner_rounding_at_a_half_pixel_tie():
    """d = 2.5 at x = 11: rint(x - d) = 8, x - rint(d) = 9 (the sensor preset's lookup)."""
    left = np.zeros((1, 16), np.float32)
    left[0, 11] = 2.5
    right = np.full((1, 16), 9.0, np.float32)
    right[0, 8] = 2.5
    assert left_right_consistent(left, right, 1.0)[0, 11]
    assert not left_right_consistent(left, right, 1.0, round_disparity=True)[0, 11]


def test_swap_and_flip_gives_the_right_view_disparity():
    """A 'matcher' that reads disparity off a known map: the trick must return the right view's map."""
    h, w = 8, 30
    true_right = np.tile(np.linspace(2, 5, w, dtype=np.float32), (h, 1))
    true_right[:, :3] = 0
    images = {"L": np.zeros((h, w), np.uint8), "R": np.ones((h, w), np.uint8)}

    def oracle(a, b):  # called as match(fliplr(R), fliplr(L)) -> mirrored right disparity
        assert a.mean() == 1 and b.mean() == 0
        return np.fliplr(true_right).copy()

    right = right_disparity_by_swap_flip(images["L"], images["R"], oracle)
    np.testing.assert_array_equal(right[:, 3:], true_right[:, 3:])
    assert np.isnan(right[:, :3]).all()                       # unmatched


def test_zncc_is_one_for_identical_windows_and_about_zero_for_noise():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (64, 96)).astype(np.uint8)
    assert np.allclose(zncc_score(image, image, np.zeros((64, 96), np.float32), 7), 1.0, atol=1e-3)
    other = rng.integers(0, 256, (64, 96)).astype(np.uint8)
    noise = zncc_score(image, other, np.zeros((64, 96), np.float32), 7)
    assert abs(noise.mean()) < 0.02 and 0.1 < noise.std() < 0.2           # about 1/7 for 49 pixels


def test_zncc_is_high_at_the_true_disparity_and_low_off_it():
    sample = make_sample("t/zncc", height=120, width=160, seed=5)
    truth = sample.disparity_gt
    right_ok = zncc_score(sample.ir_left, sample.ir_right, truth, 7)
    wrong = zncc_score(sample.ir_left, sample.ir_right, truth + 3.0, 7)
    inside = np.zeros_like(truth, bool)
    inside[10:-10, 40:-10] = True
    assert np.median(right_ok[inside]) > 0.8
    assert np.median(wrong[inside]) < 0.3


def test_disparity_and_depth_are_fx_b_over_x_with_zero_invalid():
    disparity = np.array([[0, -1.0, np.nan, 4.0, 8.0, 0.5]], np.float32)
    depth = disparity_to_depth(disparity, 100.0, 0.08)
    assert depth.dtype == np.float32
    np.testing.assert_allclose(depth, [[0, 0, 0, 2.0, 1.0, 16.0]])
    np.testing.assert_allclose(disparity_to_depth(disparity, 100.0, 0.08, max_depth_m=10.0), [[0, 0, 0, 2.0, 1.0, 0]])
    np.testing.assert_allclose(depth_to_disparity(np.array([[2.0, 0.0]]), 500.0, 0.1), [[25.0, 0.0]])
    sample = make_sample("t/roundtrip", height=48, width=64, seed=1)
    np.testing.assert_allclose(disparity_to_depth(sample.disparity_gt, sample.K_ir.fx, sample.baseline_m),
                               sample.depth_gt, rtol=1e-6)


# ---------------------------------------------------------------- fast paths against the plain definitions


def reference_fixed_point_to_pixels(fixed):
    disparity = fixed.astype(np.float32) / 16.0
    disparity[fixed <= 0] = 0.0
    return disparity


def reference_left_right_consistent(disp_left, disp_right, tolerance_px, round_disparity=False):
    height, width = disp_left.shape
    matched = np.isfinite(disp_left) & (disp_left > 0)
    left = np.where(matched, disp_left, 0).astype(np.float32)
    if round_disparity:
        partner_x = np.arange(width)[None, :] - np.rint(left).astype(np.int64)
    else:
        partner_x = np.rint(np.arange(width, dtype=np.float32)[None, :] - left).astype(np.int64)
    inside = matched & (partner_x >= 0) & (partner_x < width)
    partner = np.take_along_axis(disp_right, np.clip(partner_x, 0, width - 1), axis=1)
    return inside & (np.abs(left - partner) <= tolerance_px)


def test_fixed_point_and_lr_check_equal_their_plain_definitions():
    from depthcur.core.stereo import fixed_point_to_pixels

    rng = np.random.default_rng(5)
    fixed = rng.integers(-32768, 32767, (40, 70)).astype(np.int16)
    fast = fixed_point_to_pixels(fixed)
    assert fast.dtype == np.float32 and np.array_equal(fast, reference_fixed_point_to_pixels(fixed))
    assert not np.signbit(fast).any()                      # zeros are +0.0, as the masked assignment wrote
    for shape in [(1, 1), (3, 1), (37, 53)]:
        left = rng.uniform(-2, 30, shape).astype(np.float32)
        left[rng.random(shape) < 0.1] = np.nan
        left[rng.random(shape) < 0.1] = 2.5                # half-pixel ties for the two rounding rules
        right = np.where(rng.random(shape) < 0.8, left + rng.normal(0, 1, shape), np.nan).astype(np.float32)
        for tolerance in (0.5, 1.0):
            for round_disparity in (False, True):
                np.testing.assert_array_equal(
                    left_right_consistent(left, right, tolerance, round_disparity=round_disparity),
                    reference_left_right_consistent(left, right, tolerance, round_disparity))


@pytest.mark.parametrize("right_dtype", [np.float32, np.float64, np.int16])
def test_lr_check_of_infinite_huge_and_integer_disparities_equals_the_plain_definition(right_dtype):
    rng = np.random.default_rng(7)
    shape = (23, 41)
    left = rng.uniform(-2, 45, shape)
    left[rng.random(shape) < 0.05] = np.inf            # never matched
    left[rng.random(shape) < 0.05] = 1e6               # matched, but its partner is far left of the image
    left[rng.random(shape) < 0.05] = np.nan
    right = np.rint(left + rng.normal(0, 1, shape))
    right = np.clip(np.nan_to_num(right), -100, 100).astype(right_dtype)
    if right.dtype.kind == "f":
        right[rng.random(shape) < 0.1] = np.nan
    for left_dtype in (np.float32, np.float64):
        for round_disparity in (False, True):
            np.testing.assert_array_equal(
                left_right_consistent(left.astype(left_dtype), right, 1.0, round_disparity=round_disparity),
                reference_left_right_consistent(left.astype(left_dtype), right, 1.0, round_disparity))


def test_lr_check_of_a_map_wider_than_remap_reaches_takes_the_numpy_gather():
    from depthcur.core.stereo import _REMAP_MAX_SIDE

    width = _REMAP_MAX_SIDE + 10
    left = np.zeros((1, width), np.float32)
    right = np.full((1, width), np.nan, np.float32)
    left[0, [5, width - 1, width - 2]] = [6.0, 3.0, 2.0]   # partner left of the image; at width - 4; at width - 4
    right[0, width - 4] = 3.4
    assert np.flatnonzero(left_right_consistent(left, right, 1.0)).tolist() == [width - 1]
