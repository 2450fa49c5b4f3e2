"""Middlebury 2014 and Booster importers (fixtures in their distributed layouts), the PFM reader, and
a Middlebury pair pseudo-labelled end to end by ``curate stereo`` (doffs honoured)."""

import numpy as np
import pytest
from typer.testing import CliRunner

from depthcur.cli import app
from depthcur.curate.io.files import header_tokens, read_pfm
from depthcur.curate.stereo import PseudoLabelConfig, pseudo_label_sample
from depthcur.schemas import SchemaError, read_sample, scan_samples
from tests.datasets import booster, middlebury2014

runner = CliRunner()
pytestmark = pytest.mark.usefixtures("ray_local")   # one local Ray for the session (conftest)


def curate(*args):
    return runner.invoke(app, ["curate", *map(str, args)])


def import_samples(layout, root, out):
    result = curate("import", "--format", layout, "--in", root, "--out", out)
    assert result.exit_code == 0, result.output
    return {s.key: s for s in map(read_sample, scan_samples(out).samples)}


# ---------------------------------------------------------------- PFM


def test_read_pfm_byte_order_row_order_and_colour(tmp_path):
    # big-endian (positive scale), 3 wide x 2 high; stored rows are bottom first
    path = tmp_path / "be.pfm"
    path.write_bytes(b"Pf\n3 2\n1.0\n" + np.array([[4, 5, 6], [1, 2, np.inf]], ">f4").tobytes())
    image = read_pfm(path, field="disparity_gt")
    assert image.dtype == np.float32 and image.shape == (2, 3)
    np.testing.assert_array_equal(image, [[1, 2, np.inf], [4, 5, 6]])
    colour = tmp_path / "rgb.pfm"
    colour.write_bytes(b"PF 1 1 -1\n" + np.array([7, 8, 9], "<f4").tobytes())
    np.testing.assert_array_equal(read_pfm(colour, field="x"), [[[7, 8, 9]]])


@pytest.mark.parametrize("data, message", [
    (b"Pf\n3 2\n-1\n" + bytes(20), "truncated PFM: 3x2x1 float32 needs 24 bytes after the header, found 20"),
    (b"P6\n3 2\n-1\n" + bytes(24), "not a PFM file"),
    (b"Pf\n3", "header ends after 2 of 4 tokens"),
    (b"Pf\nthree 2\n-1\n", "non-number size"),
])
def test_read_pfm_bad_files_name_the_file(tmp_path, data, message):
    path = tmp_path / "bad.pfm"
    path.write_bytes(data)
    with pytest.raises(SchemaError, match=message) as info:
        read_pfm(path, field="disparity_gt")
    assert str(path) in str(info.value)


def test_header_tokens_shared_by_pfm_and_netpbm(tmp_path):
    # the pixel data starts with a whitespace byte (0x0a): only one whitespace byte ends the header
    data = b"P5\n# made by hand\n3 2\n255\n\x0a\x0b"
    tokens, offset = header_tokens(data, 4, comments=True)
    assert tokens == [b"P5", b"3", b"2", b"255"] and data[offset:] == b"\x0a\x0b"
    assert header_tokens(data, 4)[0] == [b"P5", b"#", b"made", b"by"]     # PFM has no comments
    assert header_tokens(b"Pf 2", 4) == ([b"Pf", b"2"], 4)                 # the file ends early
    from depthcur.curate.io.nyuv2 import netpbm

    pgm = tmp_path / "d.pgm"
    pgm.write_bytes(data)
    assert netpbm(pgm, b"P5") == (3, 2, 255, b"\x0a\x0b")
    pgm.write_bytes(b"P5\nthree 2\n255\n")
    with pytest.raises(SchemaError, match="not a binary P5 Netpbm file") as info:
        netpbm(pgm, b"P5")
    assert str(pgm) in str(info.value)


# ---------------------------------------------------------------- Middlebury 2014


def test_middlebury_values_intrinsics_and_pair(tmp_path):
    m = middlebury2014
    samples = import_samples("middlebury2014", m.build(tmp_path / "mb"), tmp_path / "out")
    assert list(samples) == ["middlebury2014/fixture-perfect"]
    s = samples["middlebury2014/fixture-perfect"]
    # Z = baseline·f / (d + doffs): 120 mm · 100 px / (6 + 4.25) px = 1170.73 mm
    assert s.depth_gt[5, 9] == pytest.approx(0.120 * 100 / (6 + 4.25), rel=1e-6)
    assert s.depth_gt[3, 2] == pytest.approx(0.120 * 100 / (7.5 + 4.25), rel=1e-6)
    assert not s.depth_gt[0].any() and not s.disparity_gt[0].any()   # inf in disp0.pfm = unknown
    assert s.disparity_gt[5, 9] == pytest.approx(10.25)               # fx·B/Z, the schema's disparity
    assert s.K_ir.as_list() == [100.0, 100.0, 7.5, 5.5] and s.K_rgb == s.K_ir
    assert s.baseline_m == pytest.approx(0.12) and s.provenance["disparity_offset_px"] == 4.25
    assert s.split.value == "test" and s.source.value == "public" and s.depth_gt_kind.value == "sensor"
    im0 = m.texture(12, 16 + m.SHIFT_PX)[:, :16]
    np.testing.assert_array_equal(s.rgb, im0)
    assert s.ir_left.dtype == np.uint8 and s.ir_left.shape == (12, 16)


def test_middlebury_bad_scenes_fail_alone_and_name_the_file(tmp_path):
    root = tmp_path / "mb"
    for name in ("ok", "nocalib", "wrongsize", "truncated"):
        middlebury2014.build(root / name)
    (root / "nocalib" / middlebury2014.SCENE / "calib.txt").unlink()
    (root / "wrongsize" / middlebury2014.SCENE / "disp0.pfm").write_bytes(
        middlebury2014.pfm_bytes(np.ones((12, 15), np.float32)))
    truncated = root / "truncated" / middlebury2014.SCENE / "disp0.pfm"
    truncated.write_bytes(truncated.read_bytes()[:-7])
    result = curate("import", "--format", "middlebury2014", "--in", root, "--out", tmp_path / "out")
    assert result.exit_code == 1 and "1 done" in result.output, result.output
    out = result.output
    assert "nocalib/Fixture-perfect/calib.txt" in out and "calibration file is missing" in out
    assert "wrongsize/Fixture-perfect/disp0.pfm" in out and "size 15x12 does not match" in out
    assert "truncated/Fixture-perfect/disp0.pfm" in out and "truncated PFM" in out


def test_an_empty_root_is_a_usage_error(tmp_path):
    (tmp_path / "empty").mkdir()
    for layout in ("middlebury2014", "booster"):
        result = curate("import", "--format", layout, "--in", tmp_path / "empty", "--out", tmp_path / "o")
        assert result.exit_code == 2 and "found nothing to import" in result.output


# ---------------------------------------------------------------- Booster


def test_booster_values_masks_and_frames(tmp_path):
    b = booster
    samples = import_samples("booster", b.build(tmp_path / "bo"), tmp_path / "out")
    assert sorted(samples) == ["booster/train/balanced/bottle/im0", "booster/train/balanced/bottle/im1"]
    s = samples["booster/train/balanced/bottle/im0"]
    # d = 3 + 0.5·x px; Z = fx·B/d = 50 px · 0.08 m / d
    assert s.depth_gt[7, 10] == pytest.approx(50 * 0.080 / (3 + 0.5 * 10), rel=1e-6)
    assert s.depth_gt[4, 9] == 0 and s.disparity_gt[4, 9] == 0     # mask_00 drops it
    assert s.K_ir.as_list() == [50.0, 50.0, 7.5, 5.5] and s.baseline_m == pytest.approx(0.08)
    assert s.split.value == "train" and s.provenance["disparity_offset_px"] == 0.0
    assert s.material_mask[3, 4] == 2 and s.material_mask[10, 12] == 2 and s.material_mask[0, 0] == 1
    assert np.count_nonzero(s.material_mask == 2) == 3 * 4 + 1
    np.testing.assert_array_equal(samples["booster/train/balanced/bottle/im1"].rgb, b.middlebury2014.texture(12, 16, 1))


def test_booster_bad_inputs_name_the_file(tmp_path):
    root = tmp_path / "bo"
    booster.build(root / "a")
    booster.build(root / "b")
    booster.build(root / "c")
    scene = "train/balanced/Bottle"
    (root / "a" / scene / "calib_00-02.xml").unlink()
    booster.middlebury2014.write_png(root / "b" / scene / "mask_cat.png", np.zeros((5, 5), np.uint8))
    xml = root / "c" / scene / "calib_00-02.xml"
    xml.write_text(xml.read_text().replace("<baselineLR>80.</baselineLR>", ""))
    result = curate("import", "--format", "booster", "--in", root, "--out", tmp_path / "out")
    assert result.exit_code == 1 and "0 done" in result.output, result.output
    out = result.output
    assert f"a/{scene}/calib_00-02.xml" in out and "calibration file is missing" in out
    assert f"b/{scene}/mask_cat.png" in out and "size 5x5 does not match" in out
    assert f"c/{scene}/calib_00-02.xml" in out and "baselineLR" in out


# ---------------------------------------------------------------- end to end: import -> curate stereo


def test_middlebury_pair_pseudo_labels_to_the_gt_depth(tmp_path):
    """SGBM finds the pixel shift d; the label is fx·B/(d + doffs), not fx·B/d."""
    root = middlebury2014.build(tmp_path / "mb", width=96, height=64)
    import_samples("middlebury2014", root, tmp_path / "raw")
    result = curate("stereo", "--in", tmp_path / "raw", "--out", tmp_path / "st", "--num-disparities", 16)
    assert result.exit_code == 0, result.output
    assert "against GT disparity (mean of 1 pairs): bad-2 " in result.output
    labelled = read_sample(tmp_path / "st" / "middlebury2014" / "fixture-perfect")
    assert labelled.stats["stereo_bad2"] < 0.01 and labelled.stats["stereo_density"] > 0.5
    gt = read_sample(tmp_path / "raw" / "middlebury2014" / "fixture-perfect").depth_gt
    both = (labelled.depth_gt > 0) & (gt > 0)
    assert both.mean() > 0.5
    relative = np.abs(labelled.depth_gt[both] - gt[both]) / gt[both]
    assert np.median(relative) < 0.01
    # without the offset the same shift reads fx·B/6 instead of fx·B/10.25: 71 % too far
    raw = read_sample(tmp_path / "raw" / "middlebury2014" / "fixture-perfect")
    raw.provenance.pop("disparity_offset_px")
    no_offset = pseudo_label_sample(raw, PseudoLabelConfig(matcher_params={"num_disparities": 16})).depth_gt
    both = (no_offset > 0) & (gt > 0)
    assert np.median(no_offset[both] / gt[both]) == pytest.approx(10.25 / 6, rel=0.01)
