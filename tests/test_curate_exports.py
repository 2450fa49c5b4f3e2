"""VQA answers match GT at the marked pixel after focal normalisation; FDE band geometry and splits."""

import cv2
import numpy as np
import pytest

from depthcur.curate.exports.fde import FdeConfig, boundary_band, fde_targets, split_of, tight_box
from depthcur.curate.exports.vqa import VqaConfig, vqa_records
from depthcur.schemas.codecs import decode_rgb
from depthcur.synthetic import make_sample


@pytest.mark.parametrize("marker", ["circle", "cross", "dot"])
def test_vqa_answer_is_gt_depth_at_marked_pixel(tmp_path, marker):
    s = make_sample("syn/q", height=60, width=80, seed=1)
    records = vqa_records(s, tmp_path, VqaConfig(focal_px=300.0, points_per_image=3, marker=marker))
    assert len(records) == 3
    for rec in records:
        image = decode_rgb((tmp_path / rec["image"]).read_bytes())
        scale = 300.0 / s.K_rgb.fx
        assert image.shape[1] == round(80 * scale)  # focal normalised
        red = (image[..., 0] > 240) & (image[..., 1] < 20) & (image[..., 2] < 20)
        ys, xs = np.nonzero(red)
        cx, cy = xs.mean(), ys.mean()  # the marker's centre, found in the picture itself
        assert abs(cx - rec["pixel"][0]) <= 1.0 and abs(cy - rec["pixel"][1]) <= 1.0
        u = int(round((cx + 0.5) / scale - 0.5))
        v = int(round((cy + 0.5) / scale - 0.5))
        gt = s.depth_gt[v, u]
        assert rec["answer"] == f"The point is around {gt:.2f} meters away from the camera."
        assert rec["K"][0] == pytest.approx(300.0, rel=0.01)


def test_boundary_band_is_dilation_minus_erosion_of_radius():
    mask = np.zeros((80, 100), bool)
    mask[20:60, 30:75] = True
    r = 10
    band = boundary_band(mask, r)
    # distances from each pixel to the mask and to the background
    to_mask = cv2.distanceTransform((~mask).astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    to_bg = cv2.distanceTransform(mask.astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    near_edge = np.where(mask, to_bg <= r, to_mask <= r)
    assert np.array_equal(band, near_edge)
    assert not band[40, 50] and band[40, 30] and band[40, 29] and band[40, 20] and not band[40, 19]


def test_fde_targets_area_filter_box_text_and_per_image_splits():
    s = make_sample("syn/f", height=60, width=80, seed=2)
    s.provenance["instance_categories"] = {"1": "wall", "2": "box"}
    targets = fde_targets(s, FdeConfig())
    assert [t["text"] for t in targets] == ["box"]  # the wall covers > max_area_frac
    ys, xs = np.nonzero(s.instance_mask == 2)
    assert targets[0]["box"] == [xs.min(), ys.min(), xs.max(), ys.max()] == tight_box(s.instance_mask == 2)
    assert fde_targets(s, FdeConfig(min_area_frac=0.9, max_area_frac=1.0)) == []   # wall 85 %, box 15 %
    cfg = FdeConfig(val_frac=0.3, test_frac=0.3)
    splits = {split_of(f"k{i}", cfg) for i in range(50)}
    assert splits == {"train", "val", "test"}
    assert split_of("k7", cfg) == split_of("k7", cfg)
