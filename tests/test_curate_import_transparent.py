"""Importers of the transparent/specular-object and iPhone datasets (ClearGrasp, TransCG, HAMMER,
DREDS/STD, ScanNet++) and the LingBot-Depth release layout: values in metres at chosen pixels computed
by hand from each fixture's raw numbers and the dataset's documented units, intrinsics, masks, splits,
and the bad inputs that must name the file."""

from pathlib import Path

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from depthcur.cli import app
from depthcur.curate.io import LAYOUTS, lingbot
from depthcur.curate.io.files import exr_codec, read_exr_depth, write_exr_depth
from depthcur.schemas import MaterialClass, SchemaError, read_sample

from .datasets import cleargrasp, dreds, hammer, scannetpp, transcg


def import_all(layout: str, root: Path) -> dict:
    module = LAYOUTS[layout]
    return {s.key: s for item in module.find_items(root) for s in module.import_item(root, item)}


def cli_import(layout: str, root: Path, out: Path) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["curate", "import", "--format", layout, "--in", str(root), "--out", str(out)])
    return result.exit_code, " ".join(result.output.split())


# ---------------------------------------------------------------- EXR


def test_exr_reader_takes_r_and_names_a_truncated_file(tmp_path):
    cv2 = exr_codec()
    b, g, r = (np.full((3, 4), v, np.float32) for v in (7.0, 8.0, 1.25))
    ok, buf = cv2.imencode(".exr", np.dstack([b, g, r]))       # OpenCV writes channels B, G, R
    (tmp_path / "d.exr").write_bytes(buf.tobytes())
    assert read_exr_depth(tmp_path / "d.exr", field="depth_gt")[1, 2] == 1.25
    write_exr_depth(tmp_path / "one.exr", np.array([[0.5, np.inf]], np.float32))
    np.testing.assert_array_equal(read_exr_depth(tmp_path / "one.exr", field="depth_gt"), [[0.5, np.inf]])
    (tmp_path / "cut.exr").write_bytes(buf.tobytes()[: len(buf) // 2])
    with pytest.raises(SchemaError, match=r"cut\.exr.*depth_raw.*truncated"):
        read_exr_depth(tmp_path / "cut.exr", field="depth_raw")
    (tmp_path / "png.exr").write_bytes(b"\x89PNG\r\n\x1a\n")
    with pytest.raises(SchemaError, match=r"png\.exr.*not an OpenEXR"):
        read_exr_depth(tmp_path / "png.exr", field="depth_raw")


# ---------------------------------------------------------------- ClearGrasp


def test_cleargrasp_values_scaled_intrinsics_mask_and_split(tmp_path):
    samples = import_all("cleargrasp", cleargrasp.build(tmp_path))
    test = samples["cleargrasp/real-test/d435/000000080"]
    assert test.split.value == "test" and samples["cleargrasp/real-val/d435/000000123"].split.value == "val"
    assert test.device == "d435" and test.depth_gt_kind.value == "sensor" and test.source.value == "public"
    assert test.depth_raw[0, 5] == pytest.approx(0.5 + 0.01 * 5)       # EXR metres as stored
    assert test.depth_gt[4, 7] == pytest.approx(0.6 + 0.01 * 7)
    assert test.depth_raw[1, 2] == 0 and test.depth_raw[2, 3] == 0     # NaN and 0 -> invalid
    # yaml K is at 32x24, the images are 16x12: fx·0.5, cx' = (cx + 0.5)·0.5 - 0.5
    assert test.K_rgb.as_list() == pytest.approx([11.5, 11.75, (16.2 + 0.5) * 0.5 - 0.5, (11.8 + 0.5) * 0.5 - 0.5])
    assert test.material_mask[4, 6] == MaterialClass.TRANSPARENT and test.material_mask[0, 0] == MaterialClass.OPAQUE
    assert int((test.material_mask == MaterialClass.TRANSPARENT).sum()) == 3 * 5


def test_cleargrasp_cli_round_trip_and_bad_items(tmp_path, ray_local):
    root = cleargrasp.build(tmp_path / "cg")
    code, out = cli_import("cleargrasp", root, tmp_path / "out")
    assert code == 0, out
    back = read_sample(tmp_path / "out" / "cleargrasp" / "real-test" / "d435" / "000000080")
    assert back.depth_gt[4, 7] == pytest.approx(0.67) and back.material_mask[4, 6] == 2
    (root / "real-val" / "d435" / "camera_intrinsics.yaml").unlink()
    exr = root / "real-test" / "d435" / "000000080-opaque-depth-img.exr"
    exr.write_bytes(exr.read_bytes()[:200])
    code, out = cli_import("cleargrasp", root, tmp_path / "out2")
    assert code == 1
    assert "real-val/d435/camera_intrinsics.yaml" in out and "does not exist" in out
    assert "000000080-opaque-depth-img.exr" in out and "truncated" in out
    code, out = cli_import("cleargrasp", tmp_path / "nowhere", tmp_path / "out3")
    assert code == 2


# ---------------------------------------------------------------- TransCG


def test_transcg_units_per_camera_intrinsics_and_split(tmp_path):
    samples = import_all("transcg", transcg.build(tmp_path))
    assert sorted(samples) == ["transcg/scene1/0/d435", "transcg/scene1/0/l515", "transcg/scene2/3/d435"]
    d435, l515 = samples["transcg/scene1/0/d435"], samples["transcg/scene1/0/l515"]
    assert d435.depth_raw[3, 5] == pytest.approx((1000 + 10 * 5) / 1000)      # D435: units / 1000
    assert l515.depth_raw[3, 5] == pytest.approx((4000 + 40 * 5) / 4000)      # L515: units / 4000
    assert l515.depth_gt[3, 5] == pytest.approx((4000 + 20 + 40 * 5) / 4000)
    assert d435.K_rgb.as_list() == [9.0, 9.5, 7.5, 5.5] and l515.K_rgb.as_list() == [8.0, 8.5, 7.0, 6.0]
    assert d435.split.value == "train" and samples["transcg/scene2/3/d435"].split.value == "test"
    assert (d435.device, l515.device) == ("d435", "l515")
    assert l515.material_mask[3, 7] == MaterialClass.TRANSPARENT and l515.material_mask[8, 1] == MaterialClass.OPAQUE


def test_transcg_bad_inputs(tmp_path, ray_local):
    root = transcg.build(tmp_path / "t")
    cv2.imwrite(str(root / "scene1" / "0" / "depth1.png"), np.full((10, 16), 1000, np.uint16))
    code, out = cli_import("transcg", root, tmp_path / "o")
    assert code == 1 and "scene1/0/depth1.png" in out and "does not match the RGB image" in out
    (root / "metadata.json").unlink()
    code, out = cli_import("transcg", root, tmp_path / "o2")
    assert code == 2 and "metadata.json" in out


# ---------------------------------------------------------------- HAMMER


def test_hammer_one_sample_per_sensor_on_the_same_gt(tmp_path):
    samples = import_all("hammer", hammer.build(tmp_path))
    assert sorted(samples) == ["hammer/scene12_traj1_1/000000/d435", "hammer/scene12_traj1_1/000000/l515",
                               "hammer/scene12_traj1_1/000000/tof", "hammer/scene3_traj2_1/000000/d435"]
    for sensor, mm in (("d435", 830), ("l515", 790), ("tof", 900)):
        s = samples[f"hammer/scene12_traj1_1/000000/{sensor}"]
        assert s.depth_raw[0, 5] == pytest.approx((mm + 5) / 1000) and s.depth_raw[3, 4] == 0
        assert s.depth_gt[0, 5] == pytest.approx(0.805) and s.depth_gt_kind.value == "rendered"
        assert s.K_rgb.as_list() == [20.5, 21.0, 7.25, 5.75] and s.split.value == "test"
    assert samples["hammer/scene3_traj2_1/000000/d435"].split.value == "train"


def test_hammer_missing_intrinsics_names_the_file(tmp_path):
    root = hammer.build(tmp_path)
    (root / "scene12_traj1_1" / "polarization" / "intrinsics.txt").unlink()
    with pytest.raises(SchemaError, match=r"scene12_traj1_1/polarization/intrinsics\.txt.*does not exist"):
        LAYOUTS["hammer"].import_item(root, Path("scene12_traj1_1"))


# ---------------------------------------------------------------- DREDS / STD


def test_dreds_and_std_materials_intrinsics_and_grid(tmp_path):
    samples = import_all("dreds", dreds.build(tmp_path))
    sim, real = samples["dreds/dreds-catknown/test/00000/0000"], samples["dreds/std-catknown/test_0/0000"]
    assert (sim.device, real.device) == ("d415_sim", "d415")
    assert (sim.provenance["subset"], real.provenance["subset"]) == ("dreds", "std")
    for s in (sim, real):
        assert s.rgb.shape == (18, 32, 3)       # 64x36 colour resized onto the 32x18 depth grid
        assert s.depth_raw[5, 10] == pytest.approx(0.4 + 0.005 * 10)
        assert s.depth_gt[5, 10] == pytest.approx(0.45 + 0.005 * 10)
        # fx = 446.31 px at 640 wide -> ·32/640; centred principal point on 32x18
        assert s.K_rgb.as_list() == pytest.approx([446.31 / 20, 446.31 / 20, 15.5, 8.5])
        m = s.material_mask
        assert (m[3, 4], m[9, 13], m[14, 25], m[0, 0]) == (2, 3, 1, 0)   # glass, metal, diffuse box, background
        assert s.split.value == "test"


def test_dreds_bad_material_code_names_the_meta_file(tmp_path):
    root = dreds.build(tmp_path)
    meta = root / "STD-CatKnown" / "test_0" / "0000_meta.txt"
    meta.write_text("1 5 7\n")
    with pytest.raises(SchemaError, match=r"0000_meta\.txt.*unknown material code 7"):
        LAYOUTS["dreds"].import_item(root, Path("STD-CatKnown/test_0"))


# ---------------------------------------------------------------- ScanNet++


def test_scannetpp_arkit_depth_on_the_rgb_grid_and_render_gt(tmp_path):
    samples = import_all("scannetpp", scannetpp.build(tmp_path))
    first, second = samples["scannetpp/0a5c013435/frame_000000"], samples["scannetpp/0a5c013435/frame_000001"]
    # nearest with pixel centres: RGB (r, c) takes ARKit (floor((r+.5)·6/45), floor((c+.5)·8/60))
    assert first.depth_raw[44, 59] == pytest.approx((1500 + 100 * 5 + 7) / 1000)
    assert first.depth_raw[8, 8] == pytest.approx((1500 + 100 * 1 + 1) / 1000)
    assert first.depth_raw[0, 0] == pytest.approx(1.5)
    assert first.depth_gt[0, 5] == pytest.approx(1.405) and first.depth_gt[7, 11] == 0
    assert first.depth_gt_kind.value == "lidar" and second.depth_gt is None and second.depth_gt_kind is None
    assert first.K_rgb.as_list() == [47.0, 47.5, 29.75, 22.25] and first.split.value == "val"


def test_scannetpp_wrong_aspect_arkit_depth_is_refused(tmp_path):
    root = scannetpp.build(tmp_path)
    cv2.imwrite(str(root / "data" / scannetpp.SCENE / "iphone" / "depth" / "frame_000001.png"),
                np.full((8, 8), 1000, np.uint16))
    with pytest.raises(SchemaError, match=r"depth/frame_000001\.png.*aspect 8x8"):
        LAYOUTS["scannetpp"].import_item(root, Path("data") / scannetpp.SCENE)


# ---------------------------------------------------------------- LingBot-Depth release


def write_robbyreal_sequence(seq: Path) -> None:
    for sub in ("color", "rawdepth", "gtdepth"):
        (seq / sub).mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(seq / "color" / "000000.jpg"), np.zeros((6, 8, 3), np.uint8))
    cv2.imwrite(str(seq / "rawdepth" / "000000.png"), np.full((6, 8), 1234, np.uint16))
    cv2.imwrite(str(seq / "gtdepth" / "000000.png"), np.full((6, 8), 1250, np.uint16))
    (seq / "intrinsic.txt").write_text("6.0 0 3.5\n0 6.5 2.5\n0 0 1\n")


def test_lingbot_release_layout_from_the_subset_or_the_release_root(tmp_path):
    seq = tmp_path / "RobbyReal" / "00001_01_room" / "orbbec_335L_CP2L8530000E"
    write_robbyreal_sequence(seq)
    [item] = lingbot.find_items(tmp_path / "RobbyReal")
    [s] = lingbot.import_item(tmp_path / "RobbyReal", item)
    assert s.key == "lingbot/00001_01_room/orbbec_335l_cp2l8530000e/000000" and s.device == "orbbec_335L"
    assert s.depth_raw[2, 3] == pytest.approx(1.234) and s.depth_gt[2, 3] == pytest.approx(1.25)
    assert s.K_rgb.as_list() == [6.0, 6.5, 3.5, 2.5] and s.scene_id == "00001_01_room"
    [item] = lingbot.find_items(tmp_path)               # --in at the release root holding RobbyReal/
    [s] = lingbot.import_item(tmp_path, item)
    assert s.key == "lingbot/robbyreal/00001_01_room/orbbec_335l_cp2l8530000e/000000"
    assert s.scene_id == "00001_01_room" and s.device == "orbbec_335L"
