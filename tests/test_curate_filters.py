"""Filters: each rejection reason, duplicates by perceptual hash, glass/mirror review flags."""

import numpy as np

from depthcur.curate.filters import FilterConfig, near_duplicates, sample_verdict
from depthcur.schemas import DepthGtKind
from depthcur.synthetic import make_sample


def base(key="syn/a", seed=0):
    return make_sample(key, height=48, width=64, seed=seed)


def test_good_sample_passes():
    assert not sample_verdict(base()).rejected


def test_constant_sparse_and_out_of_range_are_rejected():
    s = base()
    flat = sample_verdict(s.replace(depth_gt=np.full_like(s.depth_gt, 2.0)))
    assert any("constant" in r for r in flat.reasons)
    sparse_depth = np.zeros_like(s.depth_gt)
    sparse_depth[0, :5] = 2.0
    assert any("valid ratio" in r for r in sample_verdict(s.replace(depth_gt=sparse_depth)).reasons)
    far = sample_verdict(s, FilterConfig(max_depth_m=2.0))
    assert any("outside" in r for r in far.reasons)


def test_near_duplicates_keep_the_first():
    a, b, c = base("syn/a", 0), base("syn/b", 0), base("syn/c", 7)
    b = b.replace(rgb=np.clip(b.rgb.astype(int) + 2, 0, 255).astype(np.uint8))  # tiny brightness change
    verdicts = [sample_verdict(x) for x in (c, b, a)]
    assert near_duplicates(verdicts, 4) == {"syn/b": "syn/a"}


def test_glass_mirror_suspicion_flags_for_review_without_rejecting():
    s = base()
    gt = s.depth_gt.copy()
    raw = gt.copy()
    raw[10:30, 10:40] *= 1.6  # "valid" sensor depth behind a mirror
    suspect = s.replace(depth_gt=gt, depth_raw=raw, depth_gt_kind=DepthGtKind.STEREO_PSEUDO)
    verdict = sample_verdict(suspect)
    assert verdict.review and not verdict.rejected
    clean = s.replace(depth_gt=gt, depth_raw=gt.copy(), depth_gt_kind=DepthGtKind.STEREO_PSEUDO)
    assert not sample_verdict(clean).review
