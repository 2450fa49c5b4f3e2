"""Stereo pseudo-labels: the swap-and-flip LR check and sgbm accuracy on synthetic speckle pairs."""

import numpy as np
import pytest

from depthcur.curate.stereo import (PseudoLabelConfig, disparity_to_depth, lr_consistent_mask, match_pair,
                                    pseudo_label_sample, right_disparity_by_swap_flip)
from depthcur.curate.stereo.foundation_stereo import FoundationStereoUnavailable, check_paths
from depthcur.synthetic import make_sample


def consistent_pair(h=40, w=80, seed=0):
    """Left/right disparity maps of a fronto-parallel scene at 7 px: exactly consistent."""
    left = np.full((h, w), 7.0, np.float32)
    right = np.full((h, w), 7.0, np.float32)
    left[:, :7] = 0  # no right-view correspondence
    return left, right


def test_lr_check_removes_planted_inconsistencies_and_keeps_consistent():
    left, right = consistent_pair()
    rng = np.random.default_rng(1)
    rows, cols = rng.integers(0, 40, 60), rng.integers(10, 80, 60)
    planted = left.copy()
    planted[rows, cols] += rng.choice([-1, 1], 60) * rng.uniform(2.0, 5.0, 60)  # wrong by more than 1 px
    mask = lr_consistent_mask(planted, right, threshold_px=1.0)
    assert not mask[rows, cols].any()
    untouched = np.ones_like(mask)
    untouched[rows, cols] = False
    untouched[:, :7] = False
    assert mask[untouched].all()
    assert not mask[:, :7].any()  # unmatched never passes


def test_lr_threshold_is_in_pixels():
    left, right = consistent_pair()
    left[5, 40] += 0.8
    left[6, 40] += 1.6
    assert lr_consistent_mask(left, right, 1.0)[5, 40] and not lr_consistent_mask(left, right, 1.0)[6, 40]
    assert lr_consistent_mask(left, right, 2.0)[6, 40]


def test_swap_and_flip_gives_right_view_disparity():
    """A 'matcher' that reads disparity off a known map: the trick must return the right view's map."""
    h, w = 8, 30
    true_right = np.tile(np.linspace(2, 5, w, dtype=np.float32), (h, 1))
    images = {"L": np.zeros((h, w), np.uint8), "R": np.ones((h, w), np.uint8)}

    def oracle(a, b):  # called as match(fliplr(R), fliplr(L)) -> mirrored right disparity
        assert a.mean() == 1 and b.mean() == 0
        return np.fliplr(true_right).copy()

    np.testing.assert_array_equal(right_disparity_by_swap_flip(images["L"], images["R"], oracle), true_right)


def test_sgbm_recovers_synthetic_disparity_and_lr_check_helps():
    s = make_sample("t/a", height=96, width=128, seed=3)
    disparity, valid = match_pair(s.ir_left, s.ir_right, "sgbm", num_disparities=32)
    err = np.abs(disparity - s.disparity_gt)[valid]
    assert valid.mean() > 0.7
    assert np.median(err) < 0.5
    assert disparity.dtype == np.float32 and valid.dtype == bool
    # RGB input is accepted too
    rgb_disp, rgb_valid = match_pair(np.dstack([s.ir_left] * 3), np.dstack([s.ir_right] * 3), num_disparities=32)
    np.testing.assert_array_equal(rgb_valid, valid)


def test_disparity_to_depth_is_fx_b_over_d():
    d = np.array([[0, 4.0, 8.0]], np.float32)
    np.testing.assert_allclose(disparity_to_depth(d, 100.0, 0.08), [[0, 2.0, 1.0]])


def test_pseudo_label_sample_numbers_against_rendered_depth():
    """sgbm pseudo-labels vs the exact synthetic depth (the numbers are printed for the report)."""
    s = make_sample("t/b", height=120, width=160, seed=5)
    out = pseudo_label_sample(s, PseudoLabelConfig(matcher_params={"num_disparities": 32}))
    st = out.stats
    print(f"sgbm pseudo-label vs GT: AbsRel={st['pseudo_vs_prior_absrel']:.4f} "
          f"delta1={st['pseudo_vs_prior_delta1']:.3f} valid={st['pseudo_valid_ratio']:.3f} "
          f"LR-consistent={st['lr_consistent_ratio']:.3f}")
    assert out.depth_gt_kind.value == "stereo_pseudo"
    assert st["pseudo_vs_prior_absrel"] < 0.1 and st["pseudo_valid_ratio"] > 0.6
    assert 0 < st["lr_consistent_ratio"] <= 1
    assert out.provenance["stereo_pseudo_label"]["matcher"] == "sgbm"
    # range filter: a far limit below the scene removes everything beyond it
    near = pseudo_label_sample(s, PseudoLabelConfig(max_depth_m=2.0, matcher_params={"num_disparities": 32}))
    assert near.depth_gt.max() <= 2.0 and (near.depth_gt > 0).sum() < (out.depth_gt > 0).sum()


def test_pseudo_label_needs_ir_pair():
    s = make_sample("t/c", height=48, width=64).replace(ir_right=None)
    with pytest.raises(ValueError, match="ir_right"):
        pseudo_label_sample(s)


def test_foundation_stereo_missing_paths_say_what_to_supply(tmp_path):
    with pytest.raises(FoundationStereoUnavailable, match="--fs-repo and --ckpt"):
        check_paths(None, None)
    with pytest.raises(FoundationStereoUnavailable, match="not a FoundationStereo clone"):
        check_paths(tmp_path, tmp_path / "x.pth")
    (tmp_path / "core").mkdir()
    (tmp_path / "core" / "foundation_stereo.py").write_text("")
    with pytest.raises(FoundationStereoUnavailable, match="does not exist"):
        check_paths(tmp_path, tmp_path / "model_best_bp2.pth")
    (tmp_path / "model_best_bp2.pth").write_bytes(b"")
    with pytest.raises(FoundationStereoUnavailable, match="cfg.yaml"):
        check_paths(tmp_path, tmp_path / "model_best_bp2.pth")


def test_register_depth_resized_grid_and_moved_camera():
    from depthcur.curate.stereo.pseudo_label import register_depth
    from depthcur.schemas import Intrinsics

    ys, xs = np.mgrid[0:30, 0:40]
    depth_ir = (2.0 + 0.01 * xs).astype(np.float32)
    k_ir = Intrinsics(50.0, 50.0, 19.5, 14.5)
    # RGB = the same camera at twice the resolution: a nearest resize, complete and exact per pixel
    up = register_depth(depth_ir, k_ir, k_ir.scaled(2, 2), np.eye(4), (60, 80))
    assert (up > 0).all() and np.array_equal(up[::2, ::2], depth_ir)
    # RGB camera moved 5 cm sideways: projection + splat-gap filling; depths stay on the plane
    t = np.eye(4)
    t[0, 3] = -0.05
    moved = register_depth(depth_ir, k_ir, k_ir.scaled(2, 2), t, (60, 80))
    assert (moved > 0).mean() > 0.8
    v, u = np.nonzero(moved > 0)
    x_ir = ((u - k_ir.scaled(2, 2).cx) * moved[v, u] / 100.0) + 0.05  # back in IR-frame metres
    expected = 2.0 + 0.01 * (x_ir * 50.0 / moved[v, u] + 19.5)
    np.testing.assert_allclose(moved[v, u], expected, atol=0.012)
