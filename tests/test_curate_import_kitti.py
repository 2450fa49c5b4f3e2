"""KITTI depth completion's val_selection_cropped importer (``--format kitti-dc``) on a fixture in the real layout.

Expected values come from the fixture's raw uint16 numbers and the devkit's formula (metres = value / 256,
0 = invalid), not from what the importer wrote.
"""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from depthcur.cli import app
from depthcur.schemas import read_sample
from tests.datasets import kitti_dc as fixture

runner = CliRunner()
SELECTION = "depth_selection/val_selection_cropped"


@pytest.fixture(scope="module", autouse=True)
def local_ray():
    from depthcur.core.ray_runner import init_ray, shutdown_ray

    init_ray("local")
    yield
    shutdown_ray()


def import_dc(root, out):
    return runner.invoke(app, ["curate", "import", "--format", "kitti-dc", "--in", str(root), "--out", str(out)])


def selection_file(root, folder: str, word: str, index: int = 0, suffix: str = "png"):
    drive, frame, camera = fixture.FRAMES[index]
    return root / SELECTION / folder / f"{fixture.frame_name(drive, word, frame, camera)}.{suffix}"


def test_val_selection_depths_intrinsics_and_split(tmp_path):
    result = import_dc(fixture.build(tmp_path / "kitti"), tmp_path / "out")
    assert result.exit_code == 0, result.output
    first = read_sample(tmp_path / "out" / "kitti" / "val_selection_cropped" / "2011_09_26_drive_0002_sync" /
                        "0000000005_image_02")
    assert (first.dataset, first.split.value, first.source.value, first.depth_gt_kind.value) == (
        "kitti", "val", "lidar", "lidar")
    assert (first.device, first.scene_id, first.width, first.height) == ("kitti_image_02",
                                                                         "2011_09_26_drive_0002_sync", 16, 12)
    assert first.K_rgb.as_list() == pytest.approx([721.5377, 721.5377, 7.5, 5.5])
    assert first.depth_gt[0, 0] == 10.0                              # 2560 / 256
    assert first.depth_gt[2, 3] == pytest.approx(19.53125)           # 5000 / 256
    assert first.depth_gt[11, 15] == 0 and first.depth_gt[6, 0] == 0
    assert (first.depth_gt > 0).sum() == 16 * 12 - 2
    assert first.depth_raw[3, 4] == pytest.approx(10.15625)          # 2600 / 256
    assert first.depth_raw[8, 10] == pytest.approx(0.00390625)       # 1 / 256, the smallest step
    assert (first.depth_raw > 0).sum() == 2
    second = read_sample(tmp_path / "out" / "kitti" / "val_selection_cropped" / "2011_10_03_drive_0047_sync" /
                         "0000000761_image_03")
    assert second.device == "kitti_image_03" and second.provenance["frame"] == "0000000761"


def test_missing_partner_file_is_named(tmp_path):
    root = fixture.build(tmp_path / "kitti")
    missing = selection_file(root, "groundtruth_depth", "groundtruth_depth")
    missing.unlink()
    result = import_dc(root, tmp_path / "out")
    assert result.exit_code == 1 and "1 done" in result.output
    assert missing.name in result.output and "does not exist" in result.output


def test_wrong_size_depth_is_named(tmp_path):
    root = fixture.build(tmp_path / "kitti")
    raw = selection_file(root, "velodyne_raw", "velodyne_raw", index=1)
    fixture.write_png(raw, fixture.depth_image(0, {})[:, :15].copy())
    result = import_dc(root, tmp_path / "out")
    assert result.exit_code == 1 and raw.name in result.output
    assert "size 15x12 does not match the RGB image" in result.output


def test_malformed_intrinsics_is_named(tmp_path):
    root = fixture.build(tmp_path / "kitti")
    intrinsics = selection_file(root, "intrinsics", "image", suffix="txt")
    intrinsics.write_text("7.215377e+02 0.000000e+00 7.500000e+00\n")
    result = import_dc(root, tmp_path / "out")
    assert result.exit_code == 1 and intrinsics.name in result.output
    assert "expected 9 numbers (3×3 K) or 4 (fx fy cx cy), found 3" in result.output


def test_foreign_image_name_is_named(tmp_path):
    root = fixture.build(tmp_path / "kitti")
    stray = root / SELECTION / "image" / "frame_0001.png"
    selection_file(root, "image", "image").rename(stray)
    result = import_dc(root, tmp_path / "out")
    assert result.exit_code == 1 and "frame_0001.png" in result.output and "DRIVE_image_FRAME_CAM" in result.output
