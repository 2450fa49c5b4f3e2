"""Stereo pseudo-labels: sgbm + swap-and-flip LR check on synthetic speckle pairs, filters, registration.

The shared matcher, LR check and fx·B/x are tested in test_core_stereo.py."""

import numpy as np
import pytest

from depthcur.curate.stereo import PseudoLabelConfig, match_pair, pseudo_label_sample, raw_disparity
from depthcur.curate.stereo.foundation_stereo import FoundationStereoUnavailable, check_paths
from depthcur.synthetic import make_sample


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


def test_sgbm_backend_rounds_the_search_range_and_rejects_unknown_parameters():
    s = make_sample("t/params", height=64, width=96, seed=2)
    np.testing.assert_array_equal(raw_disparity(s.ir_left, s.ir_right, num_disparities=40),
                                  raw_disparity(s.ir_left, s.ir_right, num_disparities=48))
    with pytest.raises(TypeError, match="p1_scale"):
        raw_disparity(s.ir_left, s.ir_right, p1_scale=8)


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


def test_prior_agreement_equals_its_plain_definition():
    from depthcur.curate.stereo.pseudo_label import prior_gt_agreement

    rng = np.random.default_rng(2)
    prior = rng.uniform(0.5, 6, (50, 60)).astype(np.float32)
    pseudo = (prior * rng.uniform(0.6, 1.5, prior.shape)).astype(np.float32)
    prior[rng.random(prior.shape) < 0.2] = 0
    pseudo[rng.random(prior.shape) < 0.3] = 0
    both = (pseudo > 0) & (prior > 0)
    absrel = np.abs(pseudo[both] - prior[both]) / prior[both]
    expected = {"pseudo_vs_prior_absrel": float(absrel.mean()),
                "pseudo_vs_prior_delta1": float(np.mean(np.maximum(pseudo[both] / prior[both],
                                                                   prior[both] / pseudo[both]) < 1.25)),
                "pseudo_vs_prior_valid_ratio": float(both.mean())}
    assert prior_gt_agreement(pseudo, prior) == expected
    assert prior_gt_agreement(np.zeros_like(prior), prior) == {"pseudo_vs_prior_valid_ratio": 0.0}


def test_prior_agreement_skips_unknown_prior_depths_without_warnings():
    import warnings

    from depthcur.curate.stereo.pseudo_label import prior_gt_agreement

    prior = np.array([[2.0, 0.0, -1.0, np.nan], [2.8, 4.0, 1.0, 2.0]], np.float64)
    pseudo = np.array([[2.4, 3.0, 3.0, 3.0], [3.0, 0.0, 1.5, 1.0]], np.float32)
    # both positive at (0, 0) 2.4 vs 2, (1, 0) 3 vs 2.8, (1, 2) 1.5 vs 1, (1, 3) 1 vs 2 (zero, negative and
    # NaN priors are skipped): absrel .2, .2 / 2.8, .5, .5; ratios 1.2, 1.07, 1.5, 2
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        stats = prior_gt_agreement(pseudo, prior)
    assert stats["pseudo_vs_prior_valid_ratio"] == 4 / 8
    assert stats["pseudo_vs_prior_absrel"] == pytest.approx((0.2 + 0.2 / 2.8 + 0.5 + 0.5) / 4)
    assert stats["pseudo_vs_prior_delta1"] == 2 / 4
