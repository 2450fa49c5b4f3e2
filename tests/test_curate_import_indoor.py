"""Importers of the public indoor/eval sets (NYUv2, iBims-1, DIODE, ETH3D) on fixtures in their real layouts.

Every expected value is computed here from the fixture's raw numbers and the dataset's documented
formula, not read back from what the importer wrote.
"""

from __future__ import annotations


import numpy as np
import pytest
from typer.testing import CliRunner

from depthcur.cli import app
from depthcur.schemas import MaterialClass, read_sample
from tests.datasets import diode as diode_fixture
from tests.datasets import eth3d as eth3d_fixture
from tests.datasets import ibims1 as ibims_fixture
from tests.datasets import nyuv2 as nyu_fixture

runner = CliRunner()


@pytest.fixture(scope="module", autouse=True)
def local_ray():
    from depthcur.core.ray_runner import init_ray, shutdown_ray

    init_ray("local")
    yield
    shutdown_ray()


def import_dataset(fmt: str, root, out):
    return runner.invoke(app, ["curate", "import", "--format", fmt, "--in", str(root), "--out", str(out)])


def imported(fmt: str, root, out):
    result = import_dataset(fmt, root, out)
    assert result.exit_code == 0, result.output
    return out


# ---------------------------------------------------------------- iBims-1


def test_ibims1_depth_units_masks_and_calib(tmp_path):
    out = imported("ibims1", ibims_fixture.build(tmp_path / "ibims"), tmp_path / "out")
    s = read_sample(out / "ibims1" / "corridor_01")
    assert (s.dataset, s.source.value, s.split.value, s.depth_gt_kind.value) == ("ibims1", "public", "test", "lidar")
    assert s.K_rgb.as_list() == [554.25, 553.5, 3.75, 2.5]
    assert s.depth_gt[1, 2] == pytest.approx(13107 * 50 / 65535, abs=1e-6)      # exactly 10 m
    assert s.depth_gt[4, 6] == pytest.approx(123 * 50 / 65535, abs=1e-6)
    assert s.depth_gt[3, 3] == pytest.approx(6554 * 50 / 65535, abs=1e-6)
    assert s.depth_gt[0, 0] == 0 and s.depth_gt[5, 7] == 0                     # mask_invalid = 0
    assert (s.depth_gt > 0).sum() == 48 - 2
    transparent = np.argwhere(s.material_mask == MaterialClass.TRANSPARENT).tolist()
    assert transparent == [[2, 3], [2, 4]] and s.material_mask.sum() == 2 * MaterialClass.TRANSPARENT
    assert s.depth_gt[2, 3] > 0                                                   # transparency is a label, not a hole


def test_ibims1_bad_items_name_the_file(tmp_path):
    root = ibims_fixture.build(tmp_path / "ibims")
    (root / "ibims1_core_raw" / "calib" / "corridor_01.txt").unlink()
    result = import_dataset("ibims1", root, tmp_path / "o1")
    assert result.exit_code == 1 and "calib/corridor_01.txt" in result.output and "does not exist" in result.output

    root = ibims_fixture.build(tmp_path / "ibims2")
    ibims_fixture.write_png(root / "ibims1_core_raw" / "depth" / "corridor_01.png", np.ones((5, 8), np.uint16))
    result = import_dataset("ibims1", root, tmp_path / "o2")
    assert result.exit_code == 1 and "depth/corridor_01.png" in result.output
    assert "size 8x5 does not match the RGB image" in result.output


# ---------------------------------------------------------------- DIODE


def test_diode_depth_mask_split_and_devkit_intrinsics(tmp_path):
    out = imported("diode", diode_fixture.build(tmp_path / "diode"), tmp_path / "out")
    indoor = read_sample(out / "diode" / "val" / "indoors" / "scene_00019" / "scan_00183" /
                         diode_fixture.INDOOR_NAME)
    outdoor = read_sample(out / "diode" / "train" / "outdoor" / "scene_00022" / "scan_00193" /
                          diode_fixture.OUTDOOR_NAME)
    assert (indoor.split.value, outdoor.split.value) == ("val", "train")
    assert (indoor.scene_category, outdoor.scene_category) == ("unknown", "outdoor")
    assert indoor.depth_gt_kind.value == "lidar" and indoor.device == "faro_focus_s350"
    sx, sy = 8 / 1024, 6 / 768    # devkit intrinsics at 1024×768, scaled about pixel centres to 8×6
    expected = [886.81 * sx, 927.06 * sy, (512 + 0.5) * sx - 0.5, (384 + 0.5) * sy - 0.5]
    np.testing.assert_allclose(indoor.K_rgb.as_list(), expected, rtol=1e-12)
    assert indoor.depth_gt[2, 5] == np.float32(7.5) and indoor.depth_gt[4, 4] == np.float32(3.25)
    assert indoor.depth_gt[0, 1] == 0 and indoor.depth_gt[3, 3] == 0 and (indoor.depth_gt > 0).sum() == 46


def test_diode_wrong_shape_depth_fails_that_scan(tmp_path):
    root = diode_fixture.build(tmp_path / "diode")
    np.save(root / diode_fixture.INDOOR / f"{diode_fixture.INDOOR_NAME}_depth.npy", np.ones((6, 7, 1), np.float32))
    result = import_dataset("diode", root, tmp_path / "o")
    assert result.exit_code == 1 and "1 done" in result.output
    assert f"{diode_fixture.INDOOR_NAME}_depth.npy" in result.output and "size 7x6 does not match" in result.output


# ---------------------------------------------------------------- ETH3D


def test_eth3d_laser_depth_and_sfm_points(tmp_path):
    out = imported("eth3d", eth3d_fixture.build(tmp_path / "eth3d"), tmp_path / "out")
    s = read_sample(out / "eth3d" / "courtyard" / "dsc_0286")
    assert s.K_rgb.as_list() == [20.0, 21.0, 8.0, 6.0]           # COLMAP cx, cy - 0.5
    assert s.split.value == "test" and s.depth_gt_kind.value == "lidar"
    assert s.provenance["depth_raw"] == "sfm_points"
    assert s.depth_gt[3, 4] == np.float32(6.25) and s.depth_gt[6, 6] == np.float32(4.5)
    assert s.depth_gt[0, 0] == 0 and s.depth_gt[11, 15] == 0     # +inf and 0: no laser depth
    # world (0.3, -0.4, 2.0) turned 90° about z -> (0.4, 0.3, 2.0), plus T (0.1, -0.2, 0.5) -> (0.5, 0.1, 2.5):
    # u = 20·0.5/2.5 + 8 = 12, v = 21·0.1/2.5 + 6 = 6.84 -> row 7, depth 2.5 m. Point 8 is not observed.
    assert np.argwhere(s.depth_raw > 0).tolist() == [[7, 12]]
    assert s.depth_raw[7, 12] == pytest.approx(2.5, abs=1e-6)


def test_eth3d_truncated_depth_is_named(tmp_path):
    root = eth3d_fixture.build(tmp_path / "eth3d")
    gt = root / "courtyard" / "ground_truth_depth" / "dslr_images" / "DSC_0286.JPG"
    gt.write_bytes(gt.read_bytes()[:100])
    result = import_dataset("eth3d", root, tmp_path / "o")
    assert result.exit_code == 1 and "ground_truth_depth/dslr_images/DSC_0286.JPG" in result.output
    assert "holds 100 bytes; a 16x12 float32 depth map has 768" in result.output


# ---------------------------------------------------------------- NYUv2


def test_nyuv2_labeled_frames_split_and_toolbox_intrinsics(tmp_path):
    out = imported("nyuv2", nyu_fixture.build(tmp_path / "nyu"), tmp_path / "out")
    frames = {n: read_sample(out / "nyuv2" / "labeled" / f"{n:04d}") for n in (1, 2, 3)}
    assert [frames[n].split.value for n in (1, 2, 3)] == ["train", "test", "train"]
    assert [frames[n].scene_id for n in (1, 2, 3)] == nyu_fixture.SCENES
    s = frames[2]
    # MATLAB's column-major arrays: pixel (row 3, col 10) of frame 2 = 2 + 0.25·3 + 0.125·10 m
    assert s.depth_gt[3, 10] == pytest.approx(2 + 0.75 + 1.25) and s.depth_raw[3, 10] == s.depth_gt[3, 10]
    assert s.depth_raw[5, 9] == 0 and s.depth_gt[5, 9] == pytest.approx(2 + 1.25 + 1.125)
    np.testing.assert_array_equal(s.rgb, nyu_fixture.labeled_rgb(2))
    assert s.depth_gt_kind.value == "sensor" and s.device == "kinect_v1"
    # camera_params.m at 640×480, 1-based principal point -> 0-based, then scaled about pixel centres to 16×12
    sx = sy = 16 / 640
    fx, fy, cx, cy = 5.1885790117450188e+02, 5.1946961112127485e+02, 3.2558244941119034e+02, 2.5373616633400465e+02
    expected = [fx * sx, fy * sy, (cx - 1 + 0.5) * sx - 0.5, (cy - 1 + 0.5) * sy - 0.5]
    np.testing.assert_allclose(s.K_rgb.as_list(), expected, rtol=1e-12)


# camera_params.m of the NYU toolbox: fx, fy, cx, cy (1-based principal points) and k1, k2, p1, p2, k3
K_RGB = (5.1885790117450188e+02, 5.1946961112127485e+02, 3.2558244941119034e+02 - 1, 2.5373616633400465e+02 - 1)
K_D = (5.8262448167737955e+02, 5.8269103270988637e+02, 3.1304475870804731e+02 - 1, 2.3844389626620386e+02 - 1)
DIST_D = (-9.9897236553084481e-02, 3.9065324602765344e-01, 1.9290592870229277e-03, -1.9422022475975055e-03,
          -5.1031725053400578e-01)
A = np.array([[9.9997798940829263e-01, 5.0518419386157446e-03, 4.3011152014118693e-03],
              [-5.0359919480810989e-03, 9.9998051861143999e-01, -3.6879781309514218e-03],
              [-4.3196624923060242e-03, 3.6662365748484798e-03, 9.9998394948385538e-01]])
T_XZY = np.array([2.5031875059141302e-02, -2.9342312935846411e-04, 6.6238747008330102e-04])


def distorted(u, v, k, dist):
    """Where the Brown model puts the ray of undistorted pixel (u, v): the pixel undistortion samples."""
    x, y = (u - k[2]) / k[0], (v - k[3]) / k[1]
    k1, k2, p1, p2, k3 = dist
    r2 = x * x + y * y
    radial = 1 + k1 * r2 + k2 * r2 ** 2 + k3 * r2 ** 3
    xd = x * radial + 2 * p1 * x * y + p2 * (r2 + 2 * x * x)
    yd = y * radial + p1 * (r2 + 2 * y * y) + 2 * p2 * x * y
    return k[0] * xd + k[2], k[1] * yd + k[3]


def rgb_pixel(u, v, z):
    """Depth-camera pixel (u, v) at depth z -> (RGB column, row, depth): toolbox R = inv(-A),
    T = [t_x; t_z; t_y]; projecting -(R·P + T) = inv(A)·P - T gives the same pixel."""
    p = np.linalg.solve(A, [(u - K_D[2]) * z / K_D[0], (v - K_D[3]) * z / K_D[1], z]) - T_XZY
    return round(K_RGB[0] * p[0] / p[2] + K_RGB[2]), round(K_RGB[1] * p[1] / p[2] + K_RGB[3]), p[2]


def test_nyuv2_raw_frame_is_converted_undistorted_and_registered(tmp_path):
    from depthcur.curate.io import nyuv2

    z = 351.3 / (1092.5 - 800)                      # depth_rel2depth_abs of disparity 800
    centre, corner = (237, 312), (100, 20)          # (row, col): at the depth camera's principal point, far off
    # undistortion moves the corner reading to every output pixel whose distorted position rounds to it
    rows, cols = np.mgrid[0:480, 0:640]
    du, dv = distorted(cols, rows, K_D, DIST_D)
    moved = np.argwhere((np.rint(dv) == corner[0]) & (np.rint(du) == corner[1])).tolist()
    assert moved and corner not in moved
    expected = {}
    for v, u in [centre, *moved]:
        col, row, depth = rgb_pixel(u, v, z)
        expected[(row, col)] = min(depth, expected.get((row, col), np.inf))
    assert rgb_pixel(312, 237, z)[:2] == (311, 254)  # the RGB camera sees the centre pixel 17 rows lower
    for order in ("<", ">"):               # the dumps' little-endian words, and a spec-following file
        scene = tmp_path / f"raw{order == '<'}" / "bedroom_0001"
        nyu_fixture.write_raw_scene(scene, byte_order=order, size=(640, 480), readings={centre: 800, corner: 800})
        [s] = nyuv2.import_item(scene.parent, nyuv2.find_items(scene.parent)[0])
        got = {tuple(p): float(s.depth_raw[tuple(p)]) for p in np.argwhere(s.depth_raw > 0).tolist()}
        assert got.keys() == expected.keys()
        np.testing.assert_allclose([got[p] for p in expected], list(expected.values()), atol=1e-6)
        assert s.provenance["files"] == [nyu_fixture.DEPTH_FRAME, nyu_fixture.RGB_FRAMES[0]]  # nearest in time
        assert s.rgb[240, 320, 0] == 40 and s.rgb[0, 0, 0] == 0 and s.depth_gt is None   # undistorted RGB


def test_nyuv2_saturated_depth_is_dropped(tmp_path):
    from depthcur.curate.io import nyuv2

    # 351.3 / (1092.5 - 1060) = 10.8 m: clamped to 10 m, then dropped like the toolbox's noise mask
    nyu_fixture.write_raw_scene(tmp_path / "s", readings={(6, 8): 1060, (3, 3): 2047})
    [s] = nyuv2.import_item(tmp_path, nyuv2.find_items(tmp_path)[0])
    assert not s.depth_raw.any()


def test_nyuv2_mat_without_raw_depths_is_a_usage_error(tmp_path):
    root = nyu_fixture.build(tmp_path / "nyu")
    nyu_fixture.write_labeled(root / "nyu_depth_v2_labeled.mat", arrays=("images", "depths"))
    result = import_dataset("nyuv2", root, tmp_path / "o")
    assert result.exit_code == 2 and "nyu_depth_v2_labeled.mat" in result.output
    assert "has no rawDepths array" in result.output

    root = nyu_fixture.build(tmp_path / "nyu2")
    (root / "splits.mat").unlink()
    result = import_dataset("nyuv2", root, tmp_path / "o2")
    assert result.exit_code == 2 and "splits.mat" in result.output


def test_nyuv2_pgm_outside_eleven_bits_is_named(tmp_path):
    from depthcur.curate.io import nyuv2
    from depthcur.schemas import SchemaError

    scene = tmp_path / "bedroom_0001"
    nyu_fixture.write_raw_scene(scene)
    pgm = scene / nyu_fixture.DEPTH_FRAME
    pgm.write_bytes(nyu_fixture.netpbm("P5", 16, 12, 65535, np.full(16 * 12, 0x0909, "<u2").tobytes()))
    with pytest.raises(SchemaError, match=f"{nyu_fixture.DEPTH_FRAME}.*11-bit range"):
        nyuv2.import_item(tmp_path, nyuv2.find_items(tmp_path)[0])


def test_exporting_to_an_import_only_layout_is_a_usage_error(tmp_path):
    out = imported("eth3d", eth3d_fixture.build(tmp_path / "eth3d"), tmp_path / "raw")
    result = runner.invoke(app, ["curate", "export", "--format", "eth3d", "--in", str(out), "--out",
                                 str(tmp_path / "o")])
    assert result.exit_code == 2 and "the eth3d layout can be imported, not exported" in result.output
    assert "lingbot" in result.output and not (tmp_path / "o" / "courtyard").exists()


@pytest.mark.parametrize("compressed", [False, True])
def test_matlab_v5_reader_matches_the_arrays_saved(tmp_path, compressed):
    from scipy.io import savemat

    from depthcur.curate.io.matlab_v5 import load_numeric
    from depthcur.schemas import SchemaError

    grid = np.array([[1.5, 2, 3], [4, 5, 6e5]])
    savemat(tmp_path / "a.mat", {"testNdxs": np.array([[2], [7]], float), "grid": grid, "label": "text",
                                 "small": np.array([[3]], np.uint16)}, do_compression=compressed)
    arrays = load_numeric(tmp_path / "a.mat")
    assert sorted(arrays) == ["grid", "small", "testNdxs"]            # the char array is not numeric
    np.testing.assert_array_equal(arrays["grid"], grid)                # column-major storage undone
    assert arrays["testNdxs"].shape == (2, 1) and arrays["testNdxs"].ravel().tolist() == [2, 7]
    assert arrays["small"].tolist() == [[3]]
    (tmp_path / "cut.mat").write_bytes((tmp_path / "a.mat").read_bytes()[:150])
    with pytest.raises(SchemaError, match="cut.mat"):
        load_numeric(tmp_path / "cut.mat")
