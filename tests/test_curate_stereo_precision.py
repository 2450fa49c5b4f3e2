"""Pseudo-label precision against GT disparity: bad-2 and density, the ZNCC / WLS / texture confidence
filters, the precision-density curve and its report page."""

import numpy as np
import pytest

from depthcur.curate.report import precision_curves, write_report
from depthcur.curate.stereo import PseudoLabelConfig, pseudo_label_sample, raw_disparity
from depthcur.curate.stereo.confidence import (CURVE_THRESHOLDS, bad_counts, precision_curve, precision_stats,
                                               wls_confidence, zncc_confidence)
from depthcur.synthetic import make_stereo_pair_sample


def test_bad2_and_density_by_hand():
    gt = np.array([[10.0, 10.0, 10.0, 0.0], [20.0, 20.0, 20.0, 20.0]], np.float32)
    disparity = np.array([[10.5, 12.5, 7.0, 3.0], [20.0, 18.0, 0.0, 21.9]], np.float32)
    kept = np.array([[1, 1, 1, 1], [1, 1, 0, 1]], bool)
    # judged: kept with GT = 6 pixels (the GT-less (0, 3) is not); > 2 px off: 12.5 and 7.0 -> 2
    assert bad_counts(kept, disparity, gt) == (6, 2)
    stats = precision_stats(kept, disparity, gt)
    assert stats["stereo_bad2"] == pytest.approx(2 / 6) and stats["stereo_density"] == pytest.approx(6 / 7)


def test_bad_counts_skip_unknown_gt_and_unkept_pixels():
    gt = np.array([[10.0, np.inf, np.nan, -3.0, 10.0]], np.float32)
    disparity = np.array([[13.0, 5.0, 5.0, 5.0, np.nan]], np.float32)
    kept = np.array([[1, 1, 1, 1, 0]], bool)
    # judged: kept with GT > 0: 10 (3 px off, bad) and inf (infinitely off, bad); NaN, negative and unkept are not
    assert bad_counts(kept, disparity, gt) == (2, 2)


def test_curve_sweeps_each_score_alone_on_the_checked_pixels():
    gt = np.full((1, 4), 10.0, np.float32)
    disparity = np.array([[10.0, 15.0, 10.0, 10.0]], np.float32)
    checked = np.array([[1, 1, 1, 0]], bool)
    zncc = np.array([[0.9, 0.3, 0.5, 1.0]], np.float32)
    curve = precision_curve(bare=np.ones((1, 4), bool), checked=checked, kept=checked & (zncc >= 0.5),
                            scores={"zncc": zncc}, disparity=disparity, disparity_gt=gt)
    points = {t: (kept, bad) for t, kept, bad in curve["points"]["zncc"]}
    assert curve["n_gt"] == 4 and curve["points"]["bare"] == [[None, 4, 1]]
    assert curve["points"]["lr_check"] == [[None, 3, 1]] and curve["points"]["configured"] == [[None, 2, 0]]
    assert points[-1.0] == (3, 1) and points[0.2] == (3, 1) and points[0.4] == (2, 0) and points[0.95] == (0, 0)
    assert list(points) == list(CURVE_THRESHOLDS["zncc"])


def test_zncc_and_wls_confidence_single_out_bad_matches():
    rng = np.random.default_rng(0)
    left = rng.integers(0, 256, (40, 60), dtype=np.uint8)
    right = np.roll(left, -5, axis=1)                  # right(x) = left(x + 5): d = 5 everywhere
    good = np.full((40, 60), 5, np.float32)
    score = zncc_confidence(left, right, good)
    assert np.all(score[5:-5, 10:-5] > 0.99)   # x - 5 inside the right view, away from the border
    wrong = zncc_confidence(left, right, good + 3)
    assert np.abs(wrong[5:-5, 10:-5]).mean() < 0.2
    assert np.all(zncc_confidence(left, right, np.zeros_like(good)) == -1)   # unmatched: never kept
    right_disparity = good.copy()
    right_disparity[10:20, 20:30] = 9                  # these right pixels disagree with left x = 25..34
    confidence = wls_confidence(left, right, good, right_disparity)
    assert confidence[15, 29] == 0 and confidence[35, 29] == 255 and confidence[15, 50] == 255


@pytest.fixture(scope="module")
def hard_pairs():
    return [make_stereo_pair_sample(f"hard/p{seed}", height=96, width=128, seed=seed) for seed in range(3)]


def summed(samples, **options):
    """(density, bad-2) over the pairs of the labels with these options, and the labels."""
    config = PseudoLabelConfig(matcher_params={"num_disparities": 32}, **options)
    labels = [pseudo_label_sample(s, config) for s in samples]
    n_gt = sum(np.count_nonzero(s.disparity_gt > 0) for s in samples)
    kept = sum(lab.stats["stereo_density"] * np.count_nonzero(s.disparity_gt > 0) for lab, s in zip(labels, samples))
    bad = sum(lab.stats["stereo_bad2"] * lab.stats["stereo_density"] * np.count_nonzero(s.disparity_gt > 0)
              for lab, s in zip(labels, samples))
    return kept / n_gt, bad / kept, labels


def test_default_label_is_more_precise_than_bare_sgbm_and_keeps_most_of_its_density(hard_pairs):
    n_gt = kept = bad = 0
    for s in hard_pairs:
        bare = raw_disparity(s.ir_left, s.ir_right, "sgbm", num_disparities=32)
        n_kept, n_bad = bad_counts(bare > 0, bare, s.disparity_gt)
        n_gt, kept, bad = n_gt + np.count_nonzero(s.disparity_gt > 0), kept + n_kept, bad + n_bad
    density, bad2, labels = summed(hard_pairs)
    assert bad2 < 0.5 * (bad / kept) and density > 0.9 * (kept / n_gt)
    print(f"bare SGBM bad-2 {bad / kept:.4f} density {kept / n_gt:.3f}; default bad-2 {bad2:.4f} density {density:.3f}")
    # a filter trades density for precision
    zncc_density, zncc_bad2, _ = summed(hard_pairs, min_zncc=0.6)
    wls_density, wls_bad2, _ = summed(hard_pairs, min_wls_confidence=128)
    assert zncc_density < density and zncc_bad2 < bad2
    assert wls_density < density and wls_bad2 < bad2


def test_existing_options_keep_their_label_and_the_curve_costs_nothing_in_it(hard_pairs):
    s = hard_pairs[0]
    params = {"matcher_params": {"num_disparities": 32}}
    default = pseudo_label_sample(s, PseudoLabelConfig(precision_curve=True, **params))
    quiet = pseudo_label_sample(s, PseudoLabelConfig(**params))
    np.testing.assert_array_equal(default.depth_gt, quiet.depth_gt)
    assert "precision_vs_gt" in default.provenance["stereo_pseudo_label"]
    assert "precision_vs_gt" not in quiet.provenance["stereo_pseudo_label"]
    assert quiet.stats["stereo_bad2"] == default.stats["stereo_bad2"]
    no_gt = pseudo_label_sample(s.replace(disparity_gt=None), PseudoLabelConfig(precision_curve=True, **params))
    np.testing.assert_array_equal(no_gt.depth_gt, default.depth_gt)
    assert "stereo_bad2" not in no_gt.stats


def test_report_sums_the_curves_and_draws_them(hard_pairs, tmp_path):
    from depthcur.curate.report import sample_summary

    labels = [pseudo_label_sample(s, PseudoLabelConfig(matcher_params={"num_disparities": 32}, precision_curve=True))
              for s in hard_pairs]
    summaries = [sample_summary(lab) for lab in labels]
    totals = precision_curves(summaries)["sgbm"]
    per_pair = [lab.provenance["stereo_pseudo_label"]["precision_vs_gt"] for lab in labels]
    assert totals["n_gt"] == sum(c["n_gt"] for c in per_pair)
    zncc_row = [c["points"]["zncc"][3] for c in per_pair]
    assert totals["points"]["zncc"][3] == [zncc_row[0][0], sum(r[1] for r in zncc_row), sum(r[2] for r in zncc_row)]
    page = write_report(summaries, labels[:1], tmp_path)
    html = page.read_text()
    assert (tmp_path / "precision_density.png").stat().st_size > 10_000
    assert "Pseudo-label precision against GT disparity" in html and "LR + wls" in html


def test_right_view_disparity_lets_the_nearer_surface_win_and_marks_uncovered_pixels():
    from depthcur.synthetic import right_view_disparity

    # a box (d = 4) at left x 4..6 in front of a wall (d = 2): left x lands on right x - d
    left = np.array([[2, 2, 2, 2, 4, 4, 4, 2, 2, 2]], np.float32)
    right, uncovered = right_view_disparity(left)
    # right 0..2: the box (it hides the wall from left x 2, 3); 3, 4: wall the left view cannot see;
    # 5..7: wall from left x 7..9; 8, 9: beyond the left view's edge
    np.testing.assert_array_equal(right, [[4, 4, 4, 0, 0, 2, 2, 2, 0, 0]])
    np.testing.assert_array_equal(uncovered, right == 0)
