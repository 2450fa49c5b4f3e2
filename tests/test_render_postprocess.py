"""RealSense-style post-processing filters (render/postprocess.py) against hand-made cases."""

from __future__ import annotations

import numpy as np
import pytest

from depthcur.render.config import RenderConfig
from depthcur.render.postprocess import (PostProcessConfig, decimate, depth_to_disparity32, fill_holes,
                                         postprocess_depth, spatial_filter, speckle_filter)


def test_defaults_are_librealsense_and_off():
    config = PostProcessConfig()
    assert config.filters == [] and RenderConfig().postprocess.filters == []
    assert (config.decimation_magnitude, config.spatial_magnitude, config.spatial_alpha, config.spatial_delta,
            config.spatial_holes_fill, config.hole_filling_mode) == (2, 2, 0.5, 20, 0, "farest_from_around")
    with pytest.raises(ValueError, match="filters"):
        PostProcessConfig(filters=["temporal"])
    with pytest.raises(ValueError, match="spatial_alpha"):
        PostProcessConfig(spatial_alpha=0.2)


def test_decimation_median_mean_and_padding():
    depth = np.array([[1, 2, 0, 0, 7, 7],
                      [3, 4, 0, 5, 7, 0]], np.float32)
    out = decimate(depth, 2)
    # blocks: {1,2,3,4} -> lower median 2; {0,0,0,5} -> 5; {7,7,7,0} -> 7; output 1x3 padded to 4x4
    assert out.shape == (4, 4)
    assert out[0, :3].tolist() == [2, 5, 7] and not out[1:].any() and out[0, 3] == 0
    big = np.zeros((4, 4), np.float32)
    big[:2, :2] = [[1, 2], [3, 0]]
    assert decimate(big, 4)[0, 0] == pytest.approx(2.0)       # mean of the valid 1, 2, 3


def test_spatial_filter_smooths_within_a_surface_keeps_edges_and_holes():
    row = np.array([[10, 12, 0, 0, 30, 31]], np.float32)
    # left->right: 12 -> (12+10)/2 = 11, 31 -> 30.5; right->left: 30 -> 30.25, 10 -> 10.5
    assert spatial_filter(row, magnitude=1, alpha=0.5, delta=5).tolist() == [[10.5, 11, 0, 0, 30.25, 30.5]]
    # an edge (step >= delta) is never blended
    step = np.array([[10, 10, 40, 40]], np.float32)
    assert np.array_equal(spatial_filter(step, magnitude=2, alpha=0.5, delta=5), step)
    # holes_fill 1 (2 px): the two-pixel gap takes the last value before it
    assert spatial_filter(row, magnitude=1, alpha=0.5, delta=5, holes_fill=1).tolist() == [[10.5, 11, 11, 11,
                                                                                           30.25, 30.5]]
    assert spatial_filter(row, magnitude=1, alpha=1.0, delta=5).tolist() == row.tolist()   # alpha 1: no filter


def test_speckle_filter_drops_small_islands():
    disparity = np.full((20, 20), 10.0, np.float32)
    disparity[5:7, 5:7] = 20.0                       # a 4-pixel island of another disparity
    out = speckle_filter(disparity, max_size=10, max_diff_px=1.0)
    assert not out[5:7, 5:7].any() and (out[disparity == 10] == 10).all()
    assert np.array_equal(speckle_filter(disparity, max_size=3, max_diff_px=1.0), disparity)


def test_hole_filling_modes():
    depth = np.array([[1, 1, 1, 1],
                      [2, 0, 0, 3],
                      [4, 4, 4, 4]], np.float32)
    assert fill_holes(depth, "fill_from_left")[1].tolist() == [2, 2, 2, 3]
    # (1,1): up 1, up-left 1, left 2, down-left 4, down 4 -> farthest 4 / nearest 1; (1,2) then sees (1,1)
    assert fill_holes(depth, "farest_from_around")[1].tolist() == [2, 4, 4, 3]
    assert fill_holes(depth, "nearest_from_around")[1].tolist() == [2, 1, 1, 3]
    hole_above = depth.copy()
    hole_above[0, 1] = 0
    # librealsense's nearest starts from the upper neighbour: a hole there keeps the hole
    assert fill_holes(hole_above, "nearest_from_around")[1, 1] == 0


def test_pipeline_keeps_depth_through_the_disparity_domain():
    depth = np.full((8, 12), 2.0, np.float32)
    depth[3, 4] = 0.0
    config = PostProcessConfig(filters=["hole_filling", "spatial"])
    out, fx = postprocess_depth(depth, fx=100.0, baseline_m=0.05, config=config)
    assert fx == 100.0 and np.allclose(out, 2.0)                     # a flat wall stays 2 m, the hole filled
    assert depth_to_disparity32(np.array([[2.0]]), 100.0, 0.05)[0, 0] == pytest.approx(32 * 100 * 0.05 / 2)
    out, fx = postprocess_depth(depth, fx=100.0, baseline_m=0.05, config=PostProcessConfig(filters=["decimation"]))
    assert fx == 50.0 and out.shape == (4, 8) and np.allclose(out[:4, :6], 2.0)
