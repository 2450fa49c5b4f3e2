"""evaluate: each protocol's documented masked fraction / point count, seeding, FDE regions."""

import numpy as np
import pytest

from depthcur.curate.exports.fde import FdeConfig
from depthcur.curate.lidar import VirtualLidarConfig, virtual_lidar
from depthcur.evaluate import priorda_prompts
from depthcur.evaluate import protocols as P
from depthcur.evaluate.metrics import EvalInputError
from depthcur.evaluate.runner import fde_scores, summarise_fde
from depthcur.schemas import Intrinsics
from depthcur.synthetic import make_sample


@pytest.fixture(scope="module")
def sample():
    return make_sample("proto/a", height=96, width=128, seed=5)


def case(sample, spec, seed=0):
    return P.make_case(sample, spec, P.protocol_rng(seed, sample.key, spec))


@pytest.mark.parametrize("level", list(P.BLOCK_MASK_LEVELS))
def test_block_mask_covers_its_documented_fraction(sample, level):
    params = P.BLOCK_MASK_LEVELS[level]
    c = case(sample, f"block-mask:{level}")
    short = min(sample.depth_gt.shape)
    largest_block = (params.block_max * short) ** 2 / sample.depth_gt.size
    assert params.mask_fraction <= c.info["block_fraction"] <= params.mask_fraction + largest_block
    assert c.info["mask_ratio"] >= c.info["block_fraction"]       # blocks plus GT holes
    kept = c.depth_in > 0
    assert np.all(sample.depth_gt[kept] > 0)
    # the noise is there but small: within 5 sigma of Gaussian + Kinect axial noise at this depth
    error = np.abs(c.depth_in[kept] - sample.depth_gt[kept])
    assert error.max() > 0
    assert np.median(error) < 5 * (params.gaussian_sigma_m + 0.01)


def test_block_mask_levels_increase(sample):
    fractions = [case(sample, f"block-mask:{level}").info["block_fraction"] for level in P.BLOCK_MASK_LEVELS]
    assert fractions == sorted(fractions)


def test_kinect_noise_follows_nguyen_axial_model():
    rng = np.random.default_rng(0)
    depth = np.full((200, 200), 3.0, np.float32)
    noisy = P.kinect_noise(depth, 580.0, rng)
    expected_sigma = 0.0012 + 0.0019 * (3.0 - 0.4) ** 2          # 0.0140 m
    # quantisation adds step²/12 variance: step in depth = z² · (1/8) / (f·B) at z = 3 m
    step = 3.0 ** 2 * (1 / 8) / (580 * 0.075)
    assert np.std(noisy) == pytest.approx(np.sqrt(expected_sigma ** 2 + step ** 2 / 12), rel=0.1)
    disparities = 580 * 0.075 / noisy
    assert np.allclose(disparities * 8, np.round(disparities * 8), atol=1e-3)   # 1/8-px quantised


@pytest.mark.parametrize("count", [100, 37])
def test_points_gives_exactly_n_valid_points(sample, count):
    c = case(sample, f"points:{count}")
    assert int((c.depth_in > 0).sum()) == count == c.info["n_points"]
    assert np.array_equal(c.depth_in[c.depth_in > 0], sample.depth_gt[c.depth_in > 0])
    assert c.prompt is not None and np.array_equal(c.prompt, c.depth_in)
    assert case(sample, "points:extreme").info["n_points"] == 100


def test_protocols_are_seeded(sample):
    a, b, other = case(sample, "points:50"), case(sample, "points:50"), case(sample, "points:50", seed=1)
    assert np.array_equal(a.depth_in, b.depth_in) and not np.array_equal(a.depth_in, other.depth_in)


@pytest.mark.parametrize("factor", [8, 16])
def test_downsample_keeps_one_pixel_per_cell(sample, factor):
    c = case(sample, f"downsample:{factor}")
    h, w = sample.depth_gt.shape
    assert c.info["grid_points"] == len(range(factor // 2, h, factor)) * len(range(factor // 2, w, factor))
    assert c.info["mask_ratio"] == pytest.approx(1 - c.info["n_points"] / (h * w))
    rows, cols = np.nonzero(c.depth_in)
    assert np.all(rows % factor == factor // 2) and np.all(cols % factor == factor // 2)


def test_lidar_has_one_return_per_beam_per_column(sample):
    c = case(sample, "lidar:16")
    per_column = (c.depth_in > 0).sum(axis=0)
    assert per_column.max() <= 16
    centre = sample.depth_gt.shape[1] // 2
    assert per_column[centre] == 16                  # the centre column sees every beam, GT is dense there
    assert c.info["n_points"] == int((c.depth_in > 0).sum())
    # the same pattern as `curate lidar --virtual --n-lines 16`
    assert np.array_equal(c.depth_in, virtual_lidar(sample.depth_gt, sample.K_rgb, VirtualLidarConfig(n_lines=16)))


def test_sfm_points_sit_on_orb_keypoints(sample):
    import cv2

    c = case(sample, "sfm:200")
    keypoints = cv2.ORB_create(nfeatures=200, edgeThreshold=8, patchSize=15).detect(
        cv2.cvtColor(sample.rgb, cv2.COLOR_RGB2GRAY), None)
    corners = {(round(k.pt[1]), round(k.pt[0])) for k in keypoints}
    rows, cols = np.nonzero(c.depth_in)
    assert 0 < len(rows) <= 200 and set(zip(rows.tolist(), cols.tolist())) <= corners


def test_raw_uses_sensor_depth_and_errors_without_it(sample):
    c = case(sample, "raw")
    assert np.array_equal(c.depth_in, sample.depth_raw)
    assert c.info["mask_ratio"] == pytest.approx(1 - (sample.depth_raw > 0).mean())
    with pytest.raises(EvalInputError, match="proto/a: depth_raw"):
        case(sample.replace(depth_raw=None), "raw")
    with pytest.raises(EvalInputError, match="instance_mask"):
        case(sample.replace(instance_mask=None), "fde")
    with pytest.raises(ValueError, match="unknown protocol 'blocks:easy'"):
        case(sample, "blocks:easy")
    with pytest.raises(ValueError, match="choose a level"):
        case(sample, "block-mask:insane")


def test_depthlm_normalises_focal_and_samples_ten_pixels(sample):
    c = case(sample, "depthlm")
    assert c.K.fx == pytest.approx(1000.0, rel=0.01)
    assert c.gt.shape[1] == round(sample.width * 1000 / sample.K_rgb.fx)
    assert int(c.eval_mask.sum()) == 10 and np.all(c.gt[c.eval_mask] > 0)
    # non-square pixels: each axis is scaled by its own focal length, as in the VQA export
    k = sample.K_rgb
    tall = case(sample.replace(K_rgb=Intrinsics(k.fx, 1.25 * k.fx, k.cx, k.cy)), "depthlm")
    assert tall.K.fx == pytest.approx(1000.0, rel=0.01) and tall.K.fy == pytest.approx(1000.0, rel=0.01)
    assert tall.gt.shape[0] == round(sample.height * 1000 / (1.25 * k.fx)) and tall.rgb.shape[:2] == tall.gt.shape


def test_fde_band_regions():
    inst = np.zeros((60, 60), np.uint16)
    inst[20:40, 20:40] = 3
    targets = P.fde_regions(inst, np.ones((60, 60), bool), FdeConfig(band_radius_px=5))
    assert len(targets) == 1
    band = targets[0]["boundary"]
    # r = 5 to both sides of the contour: rows 15..44 outside-inclusive, interior 25..34 excluded
    assert band[15, 30] and band[44, 30] and not band[14, 30] and not band[45, 30]
    assert band[24, 30] and not band[25, 30] and not band[30, 30]
    assert band[30, 15] and not band[30, 14]
    assert targets[0]["foreground"].sum() == 400 and targets[0]["global"].all()
    # a background instance larger than half the image is not a target
    inst[:] = 1
    inst[20:40, 20:40] = 3
    assert [t["id"] for t in P.fde_regions(inst, np.ones((60, 60), bool))] == [3]


def test_fde_averages_per_target_not_per_pixel():
    gt = np.full((60, 80), 2.0, np.float32)
    inst = np.zeros((60, 80), np.uint16)
    inst[5:15, 5:15] = 1          # small target: 100 px, 50% error
    inst[20:50, 30:70] = 2        # large target: 1200 px, exact
    pred = gt.copy()
    pred[inst == 1] = 3.0
    c = P.ProtocolCase(rgb=np.zeros((60, 80, 3), np.uint8), K=None, gt=gt, depth_in=gt, eval_mask=gt > 0,
                       targets=P.fde_regions(inst, gt > 0))
    per_target = fde_scores(pred, c, "t")
    assert [t["foreground"]["absrel"] for t in per_target] == pytest.approx([0.5, 0.0])
    summary = summarise_fde(per_target)
    assert summary["targets"] == 2
    assert summary["foreground"]["absrel"] == pytest.approx(0.25)          # mean of targets
    pooled = 100 * 0.5 / 1300                                               # what pixel pooling would give
    assert summary["foreground"]["absrel"] != pytest.approx(pooled)


# ---------------------------------------------------------------- Prior Depth Anything's prompts


def test_priorda_downsample_by_hand():
    gt = np.array([[1, 2, 3, 0],
                   [4, 5, 6, 7],
                   [0, 8, 9, 10],
                   [11, 12, 13, 14]], np.float32)
    # hole (0,3) is filled with the mean of its 5 nearest valid pixels: (0,2) (1,3) at 1, (1,2) at √2,
    # (0,1) (2,3) at 2 -> (3 + 7 + 6 + 2 + 10) / 5 = 5.6
    assert priorda_prompts.fill_holes_nearest_mean(gt)[0, 3] == pytest.approx(5.6)
    # ×2 with corners aligned samples source rows/cols 0 and 3, placed at the cells' top-left pixels
    # 0 and 2; (2,0) is a GT hole, so its value is dropped
    expected = np.zeros((4, 4), np.float32)
    expected[0, 0], expected[0, 2], expected[2, 2] = 1, 5.6, 14
    np.testing.assert_allclose(priorda_prompts.downscale_prompt(gt, 2), expected, rtol=1e-6)


def test_priorda_downsample_interpolates_between_pixels():
    ramp = (1 + np.arange(6)[:, None] + 10 * np.arange(6)[None, :]).astype(np.float32)
    # 6 -> 3 with corners aligned: source positions 0, 2.5, 5; bilinear is exact on a linear ramp
    sparse = priorda_prompts.downscale_prompt(ramp, 2)
    rows, cols = np.nonzero(sparse)
    assert set(rows.tolist()) == set(cols.tolist()) == {0, 2, 4}
    assert sparse[2, 2] == pytest.approx(1 + 2.5 + 25) and sparse[4, 0] == pytest.approx(6)


def test_priorda_downsample_protocol(sample):
    c = case(sample, "downsample-priorda:8")
    h, w = sample.depth_gt.shape                          # 96 × 128 -> 12 × 16 cells, origins at multiples of 8
    rows, cols = np.nonzero(c.depth_in)
    assert np.all(rows % 8 == 0) and np.all(cols % 8 == 0) and c.info["grid_points"] == 12 * 16
    assert c.info["n_points"] == int((sample.depth_gt[::8, ::8] > 0).sum())
    assert np.array_equal(c.prompt, c.depth_in)
    # a factor beyond the image keeps one cell: its top-left GT pixel
    coarsest = case(sample, "downsample-priorda:200")
    assert coarsest.info["grid_points"] == 1 and np.flatnonzero(coarsest.depth_in).tolist() == [0]
    assert coarsest.depth_in[0, 0] == sample.depth_gt[0, 0]


def test_priorda_lidar_lines_and_points_per_line(sample):
    # 16 × 32 image, f = 16, centre (16, 8); 5 lines at pitch -0.5, -0.25, 0, 0.25, 0.5.
    # At the centre column a line sits at row 8 + 16·tan(p): 8 ± 4.09 -> rows 4 and 12 for ±0.25,
    # 8 ± 8.74 -> -1 and 17 (outside) for ±0.5. Yaw steps are < 0.5 px apart, so each line in view
    # hits every column once: 3 lines × 32 points.
    dense = sample.replace(depth_gt=np.full((16, 32), 2.0, np.float32))
    c = case(dense, "lidar-priorda:5")
    assert c.info["lines"] == 5 and c.info["lines_in_view"] == 3
    hits = c.depth_in > 0
    assert c.info["n_points"] == 3 * 32 and np.all(hits.sum(axis=0) == 3)
    assert hits[8].all() and np.flatnonzero(hits[:, 16]).tolist() == [4, 8, 12]
    # GT holes get no return
    holed = dense.depth_gt.copy()
    holed[8, :10] = 0
    assert case(dense.replace(depth_gt=holed), "lidar-priorda:5").info["n_points"] == 3 * 32 - 10
    # the image's own intrinsics do not matter: f = H is synthetic
    k = dense.K_rgb
    other = case(dense.replace(K_rgb=Intrinsics(3 * k.fx, 3 * k.fy, 2.0, 2.0)), "lidar-priorda:5")
    assert np.array_equal(other.depth_in, c.depth_in)
