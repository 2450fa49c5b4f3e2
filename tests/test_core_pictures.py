"""The shared picture primitives: the depth colour convention, the histogram and the HTML page builders."""

from __future__ import annotations

import numpy as np
import pytest

from depthcur.core.pages import cell, figure, page, row, text_table
from depthcur.core.pictures import (ERROR_INVALID_COLOUR, FALLBACK_RANGE_M, colormap, depth_colormap,
                                    error_colormap, histogram_counts, histogram_image, robust_range)


def ramp(near: float = 1.0, far: float = 5.0, width: int = 64) -> np.ndarray:
    """One row of depths from near (left) to far (right)."""
    return np.linspace(near, far, width, dtype=np.float32)[None, :]


def test_near_is_red_and_far_is_blue():
    image = depth_colormap(ramp()).astype(int)
    red, blue = image[0, :, 0], image[0, :, 2]
    assert red[0] > 100 and red[0] > 10 * blue[0]     # nearest pixel: turbo's dark red end
    assert blue[-1] > red[-1] and red[0] > red[-1]    # farthest pixel: turbo's blue-purple end
    near_half, far_half = image[0, :32], image[0, 32:]
    assert near_half[:, 0].mean() > far_half[:, 0].mean() and far_half[:, 2].mean() > near_half[:, 2].mean()


def test_invalid_depth_is_exactly_black():
    depth = ramp().copy()
    depth[0, :5] = [0.0, -1.0, np.nan, np.inf, 0.0]
    image = depth_colormap(depth)
    assert (image[0, :5] == 0).all()
    assert (image[0, 5:].sum(axis=1) > 0).all()
    assert (depth_colormap(np.zeros((4, 4), np.float32)) == 0).all()


def test_range_is_robust_to_outliers_and_falls_back_when_empty():
    depth = ramp(2.0, 4.0, 1000)
    with_outliers = depth.copy()
    with_outliers[0, :3] = 0.01
    with_outliers[0, -3:] = 1000.0
    near, far = robust_range(with_outliers)
    assert 1.9 < near < 2.1 and 3.9 < far < 4.1       # 1st/99th percentile ignore the 0.3 % outliers
    image, clean = depth_colormap(with_outliers), depth_colormap(depth)
    assert np.abs(image[0, 100:-100].astype(int) - clean[0, 100:-100]).max() <= 2
    assert robust_range(np.zeros((3, 3))) == FALLBACK_RANGE_M


@pytest.mark.parametrize("size", [1, 2, 3, 100, 4097])
def test_range_is_numpys_linear_percentile_of_the_valid_pixels(size):
    rng = np.random.default_rng(size)
    depth = rng.uniform(0.3, 9.0, size)
    depth[rng.random(size) < 0.2] = 0.0
    depth[rng.random(size) < 0.05] = np.nan
    valid = depth[np.isfinite(depth) & (depth > 0)]
    if valid.size:
        assert robust_range(depth) == pytest.approx(tuple(np.percentile(valid, (1.0, 99.0))), rel=1e-12)


def test_pictures_paint_every_invalid_pixel_and_only_those():
    depth = np.random.default_rng(0).uniform(0.5, 6.0, (40, 50))
    depth[::3, ::2] = 0.0
    depth[5, 5], depth[6, 6] = np.nan, np.inf
    invalid = ~(np.isfinite(depth) & (depth > 0))
    image = depth_colormap(depth)
    assert (image[invalid] == 0).all() and (image[~invalid].sum(axis=-1) > 0).all()
    error = error_colormap(np.abs(depth - 3.0), 1.0, ~invalid)
    assert (error[invalid] == ERROR_INVALID_COLOUR).all()


def test_given_range_clips_and_is_shared():
    depth = ramp(1.0, 9.0)
    image = depth_colormap(depth, near=3.0, far=5.0)
    nearest, farthest = depth_colormap(np.array([[3.0, 5.0]]), near=3.0, far=5.0)[0]
    assert (image[0, 0] == nearest).all() and (image[0, -1] == farthest).all()


def test_colormap_of_disparity_matches_the_depth_convention():
    disparity = 1.0 / ramp(1.0, 5.0)                   # large = near
    same_range = colormap(disparity, 1.0 / 5.0, 1.0).astype(int) - depth_colormap(ramp(1.0, 5.0), 1.0, 5.0)
    assert np.abs(same_range).max() <= 3              # at most one step of the 256-colour table


def test_error_colormap_dark_to_bright_and_grey_where_unknown():
    error = np.array([[0.0, 0.1, 0.2, 0.5]])
    valid = np.array([[True, True, True, False]])
    image = error_colormap(error, 0.2, valid).astype(int)
    brightness = image.sum(axis=2)[0]
    assert brightness[0] < 10 and brightness[0] < brightness[1] < brightness[2]
    assert tuple(image[0, 3]) == ERROR_INVALID_COLOUR


def test_histogram_counts_every_finite_value_once():
    values = [0.0, 0.05, 0.5, 0.999, 1.0, np.nan, 1.7, -0.2]
    counts, edges = histogram_counts(values, bins=10)
    assert counts.sum() == 7                           # every finite value; NaN dropped
    assert counts[0] == 3 and counts[-1] == 3          # 0, 0.05, -0.2 | 0.999, 1.0, 1.7 (clipped to the ends)
    assert edges[0] == 0.0 and edges[-1] == 1.0 and len(edges) == 11


def test_histogram_image_draws_each_series_in_its_own_colour():
    image = histogram_image({"a": [0.1, 0.1, 0.3], "b": [0.9]}, title="t", xlabel="x")
    assert image.shape == (320, 520, 3) and image.dtype == np.uint8
    colours = {tuple(c) for c in image.reshape(-1, 3)}
    assert (31, 119, 180) in colours and (255, 127, 14) in colours
    assert histogram_image({}).shape == (320, 520, 3)


def test_page_escapes_text_and_builds_tables_and_figures():
    text = page("a <b> & c", text_table(["x<y"], [["<i>1</i>"]]))
    assert text.startswith("<!doctype html>") and "<title>a &lt;b&gt; &amp; c</title>" in text
    assert "<th>x&lt;y</th>" in text and "<td><i>1</i></td>" in text    # cells are HTML, headers are text
    assert figure("img/a b.png", "it's <here>", link=True) == (
        "<figure><a href='img/a b.png'><img src='img/a b.png' alt='it&#x27;s &lt;here&gt;'></a>"
        "<figcaption>it&#x27;s &lt;here&gt;</figcaption></figure>")
    assert row([cell("1", classes=["best", "cov"])], classes=["baseline"]) == \
        "<tr class='baseline'><td class='best cov'>1</td></tr>"


@pytest.mark.parametrize("near,far", [(0.5, 0.5), (0.0, 2.0)])
def test_degenerate_ranges_still_draw(near, far):
    image = depth_colormap(ramp(), near=near, far=far)
    assert image.shape == (1, 64, 3) and np.isfinite(image).all()
