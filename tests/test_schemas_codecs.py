"""Codec round trips (property tests) and the encoded form."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from depthcur.schemas import DepthEncoding, SchemaError, decode_sample, encode_sample
from depthcur.schemas.codecs import (decode_depth_png, decode_map, decode_png, decode_rgb, depth_to_units,
                                     encode_depth_png, encode_png, encode_rgb)
from depthcur.synthetic import make_sample

shapes = st.tuples(st.integers(1, 24), st.integers(1, 24))
scales = st.sampled_from([0.001, 0.0001, 0.005, 0.01, 0.25])


@settings(max_examples=60, deadline=None)
@given(st.data(), shapes, scales)
def test_depth_png_round_trips_integer_units_exactly(data, shape, scale):
    units = data.draw(arrays(np.uint16, shape))
    depth = units.astype(np.float64) * scale
    encoded = encode_depth_png(depth.astype(np.float32), scale)
    decoded = decode_depth_png(encoded, scale)
    assert decoded.dtype == np.float32
    np.testing.assert_array_equal(depth_to_units(decoded, scale), units)
    # invalid stays exactly 0
    assert np.array_equal(decoded == 0, units == 0)


@settings(max_examples=40, deadline=None)
@given(st.data(), shapes)
def test_float_depth_quantises_to_nearest_unit(data, shape):
    depth = data.draw(arrays(np.float32, shape, elements=st.floats(0, 60, width=32)))
    decoded = decode_depth_png(encode_depth_png(depth, 0.001), 0.001)
    assert np.abs(decoded - depth).max() <= 0.0005 + 1e-6


def test_depth_beyond_16_bit_range_is_refused_not_clipped():
    with pytest.raises(SchemaError, match="exceeds the 16-bit range"):
        encode_depth_png(np.array([[70.0]], np.float32), 0.001)
    # a larger scale serves outdoor LiDAR past 65 m
    out = decode_depth_png(encode_depth_png(np.array([[70.0]], np.float32), 0.01), 0.01)
    assert out[0, 0] == pytest.approx(70.0)


@settings(max_examples=30, deadline=None)
@given(st.data(), shapes, st.sampled_from([np.uint8, np.uint16]))
def test_ir_and_mask_pngs_keep_bit_depth(data, shape, dtype):
    image = data.draw(arrays(dtype, shape))
    out = decode_png(encode_png(image))
    assert out.dtype == dtype
    np.testing.assert_array_equal(out, image)


@settings(max_examples=20, deadline=None)
@given(arrays(np.uint8, st.tuples(st.integers(1, 16), st.integers(1, 16), st.just(3))))
def test_rgb_png_is_lossless_and_channel_order_is_rgb(rgb):
    np.testing.assert_array_equal(decode_rgb(encode_rgb(rgb, "png")), rgb)


def test_rgb_jpeg_is_close_and_keeps_channel_order():
    rgb = np.zeros((32, 32, 3), np.uint8)
    rgb[..., 0] = 220  # pure red must stay red, not become blue
    out = decode_rgb(encode_rgb(rgb, "jpeg"))
    assert out[..., 0].mean() > 200 and out[..., 2].mean() < 20


def test_sample_round_trip_is_exact_for_png_units_and_float_maps():
    sample = make_sample("sim/a/0001", seed=3)
    enc = encode_sample(sample)
    back = decode_sample(enc.meta, {k: v for k, (_, v) in enc.blobs.items()})
    scale = sample.encoding_of("depth_gt").scale
    np.testing.assert_array_equal(depth_to_units(back.depth_gt, scale), depth_to_units(sample.depth_gt, scale))
    np.testing.assert_array_equal(back.disparity_gt, sample.disparity_gt)  # float npy: bit exact
    np.testing.assert_array_equal(back.instance_mask, sample.instance_mask)
    np.testing.assert_array_equal(back.ir_left, sample.ir_left)
    np.testing.assert_array_equal(back.rgb, sample.rgb)
    assert back.K_rgb == sample.K_rgb and back.baseline_m == sample.baseline_m
    # re-encoding the decoded sample gives identical bytes: decoding is exact
    again = encode_sample(back)
    assert {k: v for k, (_, v) in again.blobs.items()} == {k: v for k, (_, v) in enc.blobs.items()}


def test_npy_depth_encoding_is_bit_exact():
    sample = make_sample("sim/a/0002", seed=4)
    sample = sample.replace(depth_encoding={"depth_gt": DepthEncoding("npy")})
    enc = encode_sample(sample)
    assert enc.meta["maps"]["depth_gt"] == "npy"
    back = decode_sample(enc.meta, {k: v for k, (_, v) in enc.blobs.items()})
    np.testing.assert_array_equal(back.depth_gt, sample.depth_gt)


def test_corrupt_map_bytes_name_the_field():
    with pytest.raises(SchemaError, match="depth_gt.*corrupt or truncated"):
        decode_map("depth_gt", encode_depth_png(np.ones((4, 4), np.float32), 0.001)[:40])
    with pytest.raises(SchemaError, match="'rgb'.*neither PNG nor JPEG"):
        decode_map("rgb", b"hello")


def test_eight_bit_png_for_depth_is_rejected():
    with pytest.raises(SchemaError, match="16-bit depth PNG"):
        decode_depth_png(encode_png(np.ones((4, 4), np.uint8)), 0.001)
