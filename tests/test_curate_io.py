"""Layout importers/exporters: exact round trips and clear errors on bad input."""

import json

import cv2
import numpy as np
import pytest

from depthcur.curate.io import generic, kitti, lingbot, moge
from depthcur.schemas import DepthEncoding, SchemaError
from depthcur.synthetic import make_sample


def mm_sample(key="syn/a", seed=0):
    """A synthetic sample whose depths are whole millimetres (what a 16-bit mm layout can hold)."""
    s = make_sample(key, height=48, width=64, seed=seed)
    return s.replace(depth_gt=np.round(s.depth_gt * 1000).astype(np.float32) / 1000,
                     depth_raw=np.round(s.depth_raw * 1000).astype(np.float32) / 1000)


def roundtrip(module, sample, tmp_path):
    module.export_sample(sample, tmp_path)
    [item] = module.find_items(tmp_path)
    [back] = module.import_item(tmp_path, item)
    return back


def test_lingbot_layout_roundtrip_is_exact(tmp_path):
    s = mm_sample()
    back = roundtrip(lingbot, s, tmp_path / "a")
    assert (tmp_path / "a" / "synthetic_0" / "synthetic_0" / "intrinsic.txt").is_file()
    for name in ("rgb", "depth_raw", "depth_gt"):
        np.testing.assert_array_equal(getattr(back, name), getattr(s, name), err_msg=name)
    np.testing.assert_allclose(back.K_rgb.as_list(), s.K_rgb.as_list(), rtol=0, atol=1e-12)
    again = roundtrip(lingbot, back, tmp_path / "b")  # export -> import is a fixed point, files too
    np.testing.assert_array_equal(again.depth_gt, back.depth_gt)
    rel = "synthetic_0/synthetic_0/rawdepth/syn_a.png"
    assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes()


def test_moge_log_depth_roundtrip(tmp_path):
    s = make_sample("syn/m", height=48, width=64, seed=2)
    back = roundtrip(moge, s, tmp_path / "a")
    valid = s.depth_gt > 0
    near, far = s.depth_gt[valid].min(), s.depth_gt[valid].max()
    step = np.log(far / near) / 65533  # one log-quantisation level
    assert np.max(np.abs(np.log(back.depth_gt[valid] / s.depth_gt[valid]))) <= step / 2 + 1e-6
    np.testing.assert_allclose(back.K_rgb.as_list(), s.K_rgb.as_list(), atol=1e-9)
    again = roundtrip(moge, back, tmp_path / "b")  # decoded log depth re-encodes to the same file exactly
    np.testing.assert_array_equal(again.depth_gt, back.depth_gt)
    assert (tmp_path / "a/syn/m/depth.png").read_bytes() == (tmp_path / "b/moge/syn/m/depth.png").read_bytes()
    meta = json.loads((tmp_path / "a/syn/m/meta.json").read_text())
    assert meta["intrinsics"][0][0] == pytest.approx(s.K_rgb.fx / 64)
    psnr = 10 * np.log10(255 ** 2 / np.mean((back.rgb.astype(float) - s.rgb) ** 2))
    assert psnr > 30  # image.jpg is lossy by the layout's design


def test_kitti_and_generic_roundtrip(tmp_path):
    s = make_sample("syn/k", height=48, width=64, seed=4)
    s = s.replace(depth_gt=np.round(s.depth_gt * 256) / np.float32(256), depth_raw=None,
                  depth_encoding={"depth_gt": DepthEncoding("png16", 1 / 256)})
    back = roundtrip(kitti, s, tmp_path / "k")
    np.testing.assert_array_equal(back.depth_gt, s.depth_gt)
    np.testing.assert_array_equal(back.rgb, s.rgb)
    assert back.depth_gt_kind.value == "lidar"
    g = mm_sample("syn/g")
    gback = roundtrip(generic, g, tmp_path / "g")
    np.testing.assert_array_equal(gback.depth_raw, g.depth_raw)
    np.testing.assert_array_equal(gback.depth_gt, g.depth_gt)


def test_kitti_import_projects_velodyne_scan(tmp_path):
    s = mm_sample("syn/v")
    kitti.export_sample(s.replace(depth_gt=None, depth_raw=None).replace(depth_raw=s.depth_raw), tmp_path)
    drive = tmp_path / "export/synthetic_drive"
    for png in (drive / "proj_depth").rglob("*.png"):
        png.unlink()
    from depthcur.curate.lidar import backproject_depth

    points = backproject_depth(s.depth_gt, s.K_rgb).astype(np.float32)  # identity velo->cam in the export
    (drive / "velodyne_points/data").mkdir(parents=True)
    np.hstack([points, np.zeros((len(points), 1), np.float32)]).tofile(drive / "velodyne_points/data/syn_v.bin")
    [back] = kitti.import_item(tmp_path, kitti.find_items(tmp_path)[0])
    np.testing.assert_allclose(back.depth_gt, s.depth_gt, rtol=1e-5)


def write_lingbot_frame(root, rgb, depth_units):
    seq = root / "scene1" / "cam_0"
    for sub in ("color", "rawdepth"):
        (seq / sub).mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(seq / "color" / "f0.png"), rgb)
    cv2.imwrite(str(seq / "rawdepth" / "f0.png"), depth_units)
    (seq / "intrinsic.txt").write_text("100 0 31.5\n0 100 23.5\n0 0 1\n")
    return seq


def test_bad_lingbot_inputs_name_the_file(tmp_path):
    rgb = np.zeros((48, 64, 3), np.uint8)
    seq = write_lingbot_frame(tmp_path / "eight", rgb, np.full((48, 64), 200, np.uint8))
    with pytest.raises(SchemaError, match=r"rawdepth/f0\.png.*16-bit"):
        lingbot.import_item(tmp_path / "eight", lingbot.find_items(tmp_path / "eight")[0])
    seq = write_lingbot_frame(tmp_path / "size", rgb, np.full((40, 64), 2000, np.uint16))
    with pytest.raises(SchemaError, match=r"rawdepth/f0\.png.*does not match the RGB image"):
        lingbot.import_item(tmp_path / "size", lingbot.find_items(tmp_path / "size")[0])
    seq = write_lingbot_frame(tmp_path / "k", rgb, np.full((48, 64), 2000, np.uint16))
    (seq / "intrinsic.txt").write_text("100 0 31.5\n0 100\n")
    with pytest.raises(SchemaError, match=r"intrinsic\.txt.*found 5"):
        lingbot.import_item(tmp_path / "k", lingbot.find_items(tmp_path / "k")[0])
    (seq / "intrinsic.txt").write_text("100 0 31.5\n0 100 x\n0 0 1\n")
    with pytest.raises(SchemaError, match=r"intrinsic\.txt.*non-number"):
        lingbot.import_item(tmp_path / "k", lingbot.find_items(tmp_path / "k")[0])
